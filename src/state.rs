//! Guard's own files: where they live, how they are created, written and locked.
//!
//! Owns the state directory (0700), atomic writes (temp file, fsync, rename, fsync dir) and
//! advisory locks through std's `File::lock`. It must never decide anything about a request.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where guard's state and policy live, resolved once per process from flags and environment.
#[derive(Clone, Debug)]
pub struct Paths {
    pub home: PathBuf,
    /// The policy file in force, or `None` for the built-in default.
    pub policy: Option<PathBuf>,
}

/// The environment guard reads for its own configuration, passed in so resolution stays testable.
pub struct Env<'a> {
    pub get: &'a dyn Fn(&str) -> Option<OsString>,
}

impl Paths {
    /// Resolves the state dir and policy per the contract: flag, `$GUARD_HOME` / `$GUARD_POLICY`,
    /// XDG variables, then `~/.local/state/guard` and `~/.config/guard/policy.toml`.
    pub fn resolve(home_flag: Option<PathBuf>, policy_flag: Option<PathBuf>, env: &Env) -> Result<Paths> {
        let var = |k: &str| (env.get)(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let user_home = var("HOME");
        let home = home_flag
            .or_else(|| var("GUARD_HOME"))
            .or_else(|| var("XDG_STATE_HOME").map(|p| p.join("guard")))
            .or_else(|| user_home.as_ref().map(|h| h.join(".local/state/guard")))
            .ok_or_else(|| Error::Config("guard: cannot find a state directory: set GUARD_HOME or HOME".into()))?;
        let policy = match policy_flag.or_else(|| var("GUARD_POLICY")) {
            Some(p) => Some(p),
            None => var("XDG_CONFIG_HOME")
                .map(|p| p.join("guard/policy.toml"))
                .or_else(|| user_home.map(|h| h.join(".config/guard/policy.toml")))
                .filter(|p| p.is_file()),
        };
        Ok(Paths { home: absolute(&home), policy: policy.map(|p| absolute(&p)) })
    }

    pub fn audit_log(&self) -> PathBuf {
        self.home.join("audit.jsonl")
    }
    pub fn audit_head(&self) -> PathBuf {
        self.home.join("audit.head")
    }
    pub fn audit_lock(&self) -> PathBuf {
        self.home.join("audit.lock")
    }

    /// Creates the state directory with mode 0700 (tightening it if it already exists).
    pub fn ensure_home(&self) -> Result<()> {
        ensure_private_dir(&self.home)
    }
}

/// Makes `p` absolute against the current directory without touching the file system.
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()) }
}

/// Creates `dir` (and parents) as 0700; an existing dir is tightened to 0700.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    match fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) => return Err(Error::io("cannot create state directory", dir, e)),
    }
    let meta = fs::metadata(dir).map_err(|e| Error::io("cannot read state directory", dir, e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("cannot make state directory private", dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, rename over
/// the target, fsync the directory. Readers see the old or the new content, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", crate::digest::random_hex(8)?));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io("cannot create temp file", &tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io("cannot write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("cannot sync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io("cannot replace", path, e))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("cannot sync directory", dir, e))
}

/// Opens `path` to read a file the agent may have planted (a script, `.git/index`): following
/// symlinks, but never blocking on a FIFO or a device (`O_NONBLOCK`); `None` when it is not a
/// regular file.
pub fn open_regular(path: &Path) -> std::io::Result<Option<File>> {
    let f = OpenOptions::new().read(true).custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32).open(path)?;
    Ok(f.metadata()?.is_file().then_some(f))
}

/// An exclusive advisory lock on a lock file, held until dropped.
///
/// std's `File::lock` (flock on Linux) is used rather than the `fs2` crate: it is in the
/// standard library since Rust 1.89, maintained with it, and `fs2` has had no release since 2018.
pub struct Lock {
    /// `None` once [`Lock::close_keeping_lock`] closed it.
    file: Option<File>,
}

impl Drop for Lock {
    /// Unlocked explicitly, not by the close: a lock belongs to the open file description, which
    /// a cloned process (the line's init, see `sandbox::linux::clone_line`) shares until it
    /// ends, and a close here would leave the log locked for the whole line.
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            let _ = file.unlock();
        }
    }
}

impl Lock {
    /// The lock's descriptor, for handing it to another process (`audit::Finisher`).
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.file.as_ref().map(std::os::fd::AsFd::as_fd)
    }

    /// Closes this process's descriptor and leaves the lock held: by the process it was handed
    /// to, which shares the open file description and unlocks it when done.
    pub fn close_keeping_lock(mut self) {
        drop(self.file.take());
    }

    pub fn exclusive(path: &Path) -> Result<Lock> {
        let file = open_lock_file(path)?;
        file.lock().map_err(|e| Error::io("cannot lock", path, e))?;
        Ok(Lock { file: Some(file) })
    }

    pub fn shared(path: &Path) -> Result<Lock> {
        let file = open_lock_file(path)?;
        file.lock_shared().map_err(|e| Error::io("cannot lock", path, e))?;
        Ok(Lock { file: Some(file) })
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("cannot open lock file", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let p = dir.path().join("x");
        atomic_write(&p, b"one").ok();
        atomic_write(&p, b"two").ok();
        assert_eq!(fs::read(&p).ok(), Some(b"two".to_vec()));
        assert_eq!(fs::read_dir(dir.path()).map(|d| d.count()).ok(), Some(1));
    }

    #[test]
    fn home_is_created_private() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let home = dir.path().join("a/b");
        ensure_private_dir(&home).ok();
        let mode = fs::metadata(&home).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode, Some(0o700));
    }
}
