//! One integration-test binary that runs the real built `guard` (ripgrep's layout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod agent_lines;
mod approvals;
mod audit;
mod audit_verify;
mod catalogue;
mod cli;
mod cli_output;
mod corpus;
mod environment;
mod explain;
mod hook;
mod install;
mod kube_api;
mod kubectl;
mod mcp;
mod never_panics;
mod passphrase;
mod policy;
mod project_delete;
mod real_binaries;
mod review;
mod sandbox;
mod scripts;
mod shell_bash;
mod shell_exec;
mod shell_table;
mod support;
mod terraform;
mod terraform_cases;
mod terraform_integrity;
