//! Platforms without a sandbox implementation yet (a macOS Seatbelt one would sit here): guard
//! compiles, and refuses to run anything it was asked to contain.

use std::ffi::OsString;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Profile;

#[derive(Debug, Serialize, Deserialize)]
pub struct Spec {
    pub profile: Profile,
    #[serde(default)]
    pub temp: Option<PathBuf>,
    #[serde(default)]
    pub scripts: Vec<crate::scripts::Snapshot>,
    /// Only a user and mount namespace with the scripts' copies (no Landlock, no seccomp, the
    /// network kept): for `terraform apply`, which runs outside the sandbox.
    #[serde(default)]
    pub mounts_only: bool,
}

pub fn helper_main(_argv: &[OsString]) -> u8 {
    eprintln!("{}", super::unavailable("guard has no sandbox for this operating system yet"));
    77
}

/// No clone here: [`super::run`] starts the helper by exec, which refuses.
pub fn clone_line(
    _spec: &Spec,
    _program: &std::path::Path,
    _args: &[OsString],
    _report: std::os::fd::OwnedFd,
    _go: std::os::fd::OwnedFd,
) -> Option<Result<rustix::process::Pid, String>> {
    None
}

/// Never reached: [`clone_line`] starts no init here to tell.
pub fn send_go(
    _go: &std::os::unix::net::UnixStream,
    _temp: &std::path::Path,
    _hidden: &[PathBuf],
    _env: &[(OsString, OsString)],
) -> std::io::Result<()> {
    Err(std::io::Error::other("this operating system has no sandbox in guard yet"))
}

/// Nothing to resolve: nothing is contained here.
pub fn resolved_outside(_spec: &Spec) -> Vec<PathBuf> {
    Vec::new()
}

pub fn landlock_abi() -> Result<i32, String> {
    Err("Landlock is Linux's; this operating system has no sandbox in guard yet".into())
}

/// No finisher here: the caller syncs the record itself.
pub fn start_finisher(_sock: std::os::fd::OwnedFd, _ours: std::os::fd::BorrowedFd<'_>) -> bool {
    false
}

/// Nothing is left behind here (see [`start_finisher`]).
pub fn orphans_reaped() -> bool {
    false
}
