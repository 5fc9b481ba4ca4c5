//! Contained lines' private temp dirs, kept for the next line rather than made and removed.
//!
//! A line's temp dir is its own while the line runs: guard holds an exclusive lock on the
//! directory (`flock` on its descriptor) from before its word to go (so before the line's
//! program can start) until the line is over (its init reaped, or its program's process
//! reported as the line's last), and no other line is given a held one,
//! nor one whose name no longer names the directory locked. When the line is over guard empties
//! it through that descriptor (never through its path, which the line may have swapped for a
//! symlink where it can write the pool's parent) and lets go, and the next line takes it. A
//! directory made and removed per line cost ext4 two metadata updates, ~0.13 ms of every line
//! on this project's test machine; a claim is an `open`, a lock and a listing.
//!
//! The pool is `$TMPDIR/guard-<uid>`: a directory of this user's (0700) holding `t-<random>`
//! directories (0700 each, checked on every claim). Where `$TMPDIR` is no system temp dir
//! ([`base`]), or a tree the line may write holds it (`~/.cache/tmp`), `/tmp` is used instead.
//! Where that name is taken by anything
//! else (another user could make it first in a shared `/tmp`), each line gets a fresh
//! `guard-<random>` of its own there, removed after it, as before the pool. A temp dir the line
//! left not 0700, or could not be emptied (a tree deeper than [`MAX_DEPTH`]), is removed, or
//! shut (mode 0) and never given out again.

use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A line's temp dir, held until dropped; then emptied for the next line.
pub struct Claimed {
    path: PathBuf,
    /// The directory's own descriptor, which holds the lock (close-on-exec: the line's
    /// programs never have it).
    held: File,
    /// In the pool (kept), or a line's own (removed).
    pooled: bool,
}

impl Claimed {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        // Emptied through the held descriptor, never through a path: the line may have swapped
        // a name on the way (its temp dir, the pool) for a symlink, where `TMPDIR` lies in a
        // tree it can write (`~/.cache`), and guard would empty what the symlink names.
        use std::os::fd::AsFd;
        let fd = self.held.as_fd();
        let private = rustix::fs::fstat(fd).is_ok_and(|m| m.st_mode & 0o7777 == 0o700);
        if !private {
            // Opened up (or shut) by the line: emptied and removed, never given out again.
            let _ = rustix::fs::fchmod(fd, rustix::fs::Mode::from_raw_mode(0o700));
        }
        let empty = emptied(fd, 0);
        if !self.pooled || !private || !empty {
            // Only an empty directory goes; one left (not emptied, or not the line's any more)
            // is shut, never given out (`hold` takes only 0700 ones).
            if std::fs::remove_dir(&self.path).is_err() && (!private || !empty) {
                let _ = rustix::fs::fchmod(fd, rustix::fs::Mode::empty());
            }
        }
        // Unlocked explicitly, not by the close: the audit log's finisher, started while the
        // line ran, shares the descriptor until it closes its copies.
        let _ = self.held.unlock();
    }
}

/// The pool's directory under the temp root ([`base`]).
pub fn root() -> PathBuf {
    root_in(&base())
}

/// Where guard makes temp dirs: `$TMPDIR` where it resolves into a system temp root (`/tmp`,
/// `/var/tmp`, `/dev/shm`, and so `pam_tmpdir`'s `/tmp/user/1000` too) outside the home
/// directory, else `/tmp`. `TMPDIR` is the agent's to set: guard, which runs unsandboxed, would
/// otherwise make its `guard-*` directories wherever it pointed, and give the line a writable
/// directory there (`~/.local/share/applications`, whose `.desktop` files a desktop reads at
/// any depth; `~/.ssh`).
pub fn base() -> PathBuf {
    base_resolved().0.clone()
}

/// [`base`] and its symlinks resolved, worked out once per process: a line's start asks for it
/// twice (the project check's [`root`], the [`claim`]), and both get the same answer.
fn base_resolved() -> &'static (PathBuf, PathBuf) {
    static BASE: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let tmp = || {
            let tmp = PathBuf::from("/tmp");
            let real = std::fs::canonicalize(&tmp).unwrap_or_else(|_| tmp.clone());
            (tmp, real)
        };
        let Some(asked) = std::env::var_os("TMPDIR").filter(|t| !t.is_empty()).map(PathBuf::from) else { return tmp() };
        let Ok(real) = std::fs::canonicalize(&asked) else { return tmp() };
        let home = std::env::var_os("HOME").and_then(|h| std::fs::canonicalize(h).ok());
        let system = ["/tmp", "/var/tmp", "/dev/shm"].iter().any(|r| real.starts_with(r));
        if system && !home.is_some_and(|h| real.starts_with(h)) { (asked, real) } else { tmp() }
    })
}

/// The pool's directory under `base`: `guard-<uid>`.
fn root_in(base: &Path) -> PathBuf {
    base.join(format!("guard-{}", rustix::process::geteuid().as_raw()))
}

/// A free temp dir from the pool, or a new one: empty, 0700, this user's, and held. Under
/// `$TMPDIR`, unless a tree in `writable` (the line's) holds it (`TMPDIR=~/.cache/tmp`): every
/// line that may write there could reach other lines' temp dirs, and swap their names, so the
/// pool is then `/tmp`'s, which no line's project or grant may hold.
pub fn claim(writable: &[PathBuf]) -> Result<Claimed> {
    let (temp, real) = base_resolved();
    let reachable = writable.iter().any(|w| temp.starts_with(w) || real.starts_with(w));
    let base = if reachable { PathBuf::from("/tmp") } else { temp.clone() };
    claim_in(&root_in(&base)).or_else(|_| fresh(&base, "guard-", false))
}

/// A new directory `<prefix><random>` in `dir` (0700), held.
fn fresh(dir: &Path, prefix: &str, pooled: bool) -> Result<Claimed> {
    let path = dir.join(format!("{prefix}{}", crate::digest::random_hex(8)?));
    DirBuilder::new().mode(0o700).create(&path).map_err(|e| Error::io("cannot make a temp dir", &path, e))?;
    hold(path.clone(), pooled).ok_or_else(|| Error::Internal(format!("cannot hold the new temp dir {}", path.display())))
}

fn claim_in(root: &Path) -> Result<Claimed> {
    let private = |p: &Path| {
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == rustix::process::geteuid().as_raw() && m.mode() & 0o077 == 0)
    };
    if !private(root) {
        match DirBuilder::new().mode(0o700).create(root) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("cannot make the temp dirs' pool", root, e)),
        }
        if !private(root) {
            return Err(Error::Internal(format!(
                "{} is not a directory of this user's that only they can enter (0700); guard keeps its lines' temp dirs there: remove it",
                root.display()
            )));
        }
    }
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            if entry.file_name().as_encoded_bytes().starts_with(b"t-")
                && let Some(held) = hold(entry.path(), true)
                && emptied(std::os::fd::AsFd::as_fd(&held.held), 0)
            {
                return Ok(held);
            }
        }
    }
    fresh(root, "t-", true)
}

/// `path` held, if no other line holds it and it is a directory of this user's only (0700).
fn hold(path: PathBuf, pooled: bool) -> Option<Claimed> {
    let dir = OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW).open(&path).ok()?;
    dir.try_lock().ok()?;
    let m = dir.metadata().ok()?;
    // Still under its name (not removed, nor renamed away and the name given to another
    // directory, by the line that let it go): the name the line is told is the one held.
    let named = std::fs::symlink_metadata(&path).is_ok_and(|n| (n.dev(), n.ino()) == (m.dev(), m.ino()));
    let private = m.uid() == rustix::process::geteuid().as_raw() && m.mode() & 0o7777 == 0o700;
    // Built only when taken: a `Claimed` dropped empties its directory.
    (named && private).then(|| Claimed { path, held: dir, pooled })
}

/// How deep [`emptied`] goes: a tree deeper than this (a line can make one as deep as it
/// likes) is not emptied, and its temp dir is shut rather than given out again.
const MAX_DEPTH: u32 = 128;

/// Removes everything in the directory `dir` (a descriptor: nothing on the way is looked up
/// by a path, and no symlink in it is followed); says whether it is empty now. A directory
/// in it the line shut (`chmod 0`) is opened up to this user first.
fn emptied(dir: std::os::fd::BorrowedFd<'_>, depth: u32) -> bool {
    use rustix::fs::{AtFlags, FileType};
    let Ok(entries) = rustix::fs::Dir::read_from(dir) else { return false };
    let mut empty = true;
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let removed = match entry.file_type() {
            FileType::Directory => {
                depth < MAX_DEPTH && subdir_emptied(dir, name, depth) && rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR).is_ok()
            }
            FileType::Unknown => match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                Err(rustix::io::Errno::ISDIR) => {
                    depth < MAX_DEPTH && subdir_emptied(dir, name, depth) && rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR).is_ok()
                }
                r => r.is_ok(),
            },
            _ => rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok(),
        };
        empty &= removed;
    }
    empty
}

/// [`emptied`] for the directory `name` in `dir`, opened without following a symlink.
fn subdir_emptied(dir: std::os::fd::BorrowedFd<'_>, name: &std::ffi::CStr, depth: u32) -> bool {
    use std::os::fd::AsFd;
    opened_up(dir, name).is_some_and(|sub| emptied(sub.as_fd(), depth + 1))
}

/// The directory `name` in `dir`, opened to be listed and changed (not through a symlink). One
/// of this user's that it cannot list or change (the line's `chmod 0`) is opened up first,
/// through the descriptor's own name in /proc, which names the directory, not a symlink.
#[cfg(target_os = "linux")]
fn opened_up(dir: std::os::fd::BorrowedFd<'_>, name: &std::ffi::CStr) -> Option<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let at = rustix::fs::openat(dir, name, flags | OFlags::PATH, Mode::empty()).ok()?;
    if rustix::fs::fstat(&at).is_ok_and(|m| m.st_mode & 0o700 != 0o700) {
        use std::os::fd::AsRawFd;
        let _ = rustix::fs::chmod(format!("/proc/self/fd/{}", at.as_raw_fd()).as_str(), Mode::from_raw_mode(0o700));
    }
    rustix::fs::openat(&at, c".", OFlags::RDONLY | flags, Mode::empty()).ok()
}

/// Elsewhere (no `O_PATH`): a directory the line shut is not emptied, and its temp dir is shut.
#[cfg(not(target_os = "linux"))]
fn opened_up(dir: std::os::fd::BorrowedFd<'_>, name: &std::ffi::CStr) -> Option<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T>(r: Result<T>) -> T {
        r.unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// Two claims at once get two directories; one let go is emptied and taken again, and a
    /// directory someone else opened up (0755) is never given out.
    #[test]
    fn aheld_temp_dir_is_no_other_lines_and_comes_back_empty() {
        let t = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let root = t.path().join("guard-pool");
        let a = ok(claim_in(&root));
        let b = ok(claim_in(&root));
        assert_ne!(a.path(), b.path());
        std::fs::create_dir_all(a.path().join("deep/er")).unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::write(a.path().join("deep/er/f"), "x").unwrap_or_else(|e| unreachable!("{e}"));
        let a_path = a.path().to_path_buf();
        drop(a);
        let c = ok(claim_in(&root));
        assert_eq!(c.path(), a_path, "a free temp dir is taken again");
        assert_eq!(std::fs::read_dir(c.path()).map(Iterator::count).unwrap_or(1), 0, "and given out empty");
        let b_path = b.path().to_path_buf();
        drop(b);
        std::fs::set_permissions(&b_path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap_or_else(|e| unreachable!("{e}"));
        let d = ok(claim_in(&root));
        assert_ne!(d.path(), b_path, "an opened-up temp dir is not given out");
        assert_ne!(d.path(), c.path());
    }

    /// A pool root someone else could enter is refused, not used; a line's own temp dir is
    /// removed after it.
    #[test]
    fn a_pool_others_can_enter_is_refused() {
        let t = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let root = t.path().join("guard-pool");
        std::fs::create_dir(&root).unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(claim_in(&root).is_err());
        let own = ok(fresh(t.path(), "guard-", false));
        let path = own.path().to_path_buf();
        std::fs::write(path.join("f"), "x").unwrap_or_else(|e| unreachable!("{e}"));
        drop(own);
        assert!(!path.exists());
    }

    /// Emptying follows no symlink and reaches no hard link's other name; a `t-` directory
    /// refused (opened up) is left as it is, not emptied.
    #[test]
    fn emptying_a_temp_dir_deletes_nothing_outside_it() {
        let t = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let put = |r: std::io::Result<()>| r.unwrap_or_else(|e| unreachable!("{e}"));
        let (root, outside) = (t.path().join("guard-pool"), t.path().join("outside"));
        put(std::fs::create_dir_all(outside.join("dir")));
        put(std::fs::write(outside.join("dir/canary"), "c"));
        put(std::fs::write(outside.join("file"), "f"));
        let a = ok(claim_in(&root));
        put(std::os::unix::fs::symlink(outside.join("dir"), a.path().join("link")));
        put(std::fs::hard_link(outside.join("file"), a.path().join("hard")));
        put(std::fs::create_dir(a.path().join("shut")));
        put(std::os::unix::fs::symlink(outside.join("dir"), a.path().join("shut/link")));
        put(std::fs::set_permissions(a.path().join("shut"), std::os::unix::fs::PermissionsExt::from_mode(0o000)));
        let a_path = a.path().to_path_buf();
        drop(a);
        assert_eq!(std::fs::read_dir(&a_path).map(Iterator::count).unwrap_or(1), 0, "emptied");
        assert!(outside.join("dir/canary").exists() && outside.join("file").exists(), "emptying reached outside");
        let opened = root.join("t-opened");
        put(std::fs::create_dir(&opened));
        put(std::fs::write(opened.join("f"), "x"));
        put(std::fs::set_permissions(&opened, std::os::unix::fs::PermissionsExt::from_mode(0o755)));
        let b = ok(claim_in(&root));
        assert_eq!(b.path(), a_path);
        let c = ok(claim_in(&root));
        assert_ne!(c.path(), opened);
        assert!(opened.join("f").exists(), "a refused directory was emptied");
        // The claimed name swapped for a symlink to a tree outside (by a line that could write
        // the pool): the held directory is emptied, not what the name now points at.
        let swapped = ok(claim_in(&root));
        put(std::fs::write(swapped.path().join("f"), "x"));
        put(std::fs::rename(swapped.path(), t.path().join("away")));
        put(std::os::unix::fs::symlink(outside.join("dir"), swapped.path()));
        drop(swapped);
        assert!(outside.join("dir/canary").exists(), "emptying followed a swapped name");
        assert_eq!(std::fs::read_dir(t.path().join("away")).map(Iterator::count).unwrap_or(1), 0, "the held directory emptied");
    }
}
