//! One integration-test binary that runs the real built `guard` (ripgrep's layout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod approvals;
mod audit;
mod cli;
mod corpus;
mod explain;
mod hook;
mod install;
mod kube_api;
mod kubectl;
mod mcp;
mod never_panics;
mod policy;
mod sandbox;
mod shell_exec;
mod shell_table;
mod support;
mod terraform;
