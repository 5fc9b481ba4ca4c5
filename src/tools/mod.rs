//! Per-tool classifiers: argv or line in, facts and a verdict out. Pure.

pub mod harness;
pub mod kubectl;
pub mod mcp;
pub mod shell;
pub mod terraform;
