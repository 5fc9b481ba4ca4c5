//! The one error type and the one place exit codes are decided.
//!
//! Every failure in guard becomes an [`Error`]; [`Error::code`] maps it to the contract's
//! sysexits code with a single `match`. Nothing else in the crate picks exit codes.

use std::path::PathBuf;

/// Everything that can stop guard, each with the exit code the contract gives it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, unknown subcommand, malformed argv.
    #[error("{0}")]
    Usage(String),

    /// Unknown plan or request id, corrupt state file, broken audit chain on verify.
    #[error("{0}")]
    Data(String),

    /// The policy does not parse, has an unknown key or a failing example.
    #[error("{0}")]
    Config(String),

    /// Refused by policy or by an integrity check. The message names the rule and what to do next.
    #[error("{0}")]
    Blocked(String),

    /// A human approval is needed and has not (yet) been given.
    #[error("{0}")]
    NeedsApproval(String),

    /// Reading or writing one of guard's own files failed.
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A bug or an environment guard cannot work in.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The exit code the contract assigns to this error.
    #[must_use]
    pub fn code(&self) -> u8 {
        match self {
            Error::Usage(_) => 64,
            Error::Data(_) => 65,
            Error::Internal(_) | Error::Io { .. } => 70,
            Error::NeedsApproval(_) => 75,
            Error::Blocked(_) => 77,
            Error::Config(_) => 78,
        }
    }

    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { context, path: path.into(), source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
