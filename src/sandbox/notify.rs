//! The script supervisor: a seccomp user-notification listener in the line's init, only for a
//! line that binds scripts (README, Containment → *scripts*).
//!
//! The approved copy mounted over a script's path ([`super::linux`]) holds against rewrites in
//! place, but a rename from outside the line's mount namespace detaches it (Linux ≥ 3.18), and
//! the name then is the new file. So the program's process takes, right before its exec, a
//! second seccomp filter that hands every `open`, `openat`, `openat2`, `creat`, `execve` and
//! `execveat` of the line to the init (`SECCOMP_RET_USER_NOTIF`), and sends the init the
//! filter's listener. The init itself is never under that filter. For each call the init
//! 1. drains the inotify watch on the scripts' names ([`super::linux::ScriptWatch`]): a rename
//!    already done stops the line before the call goes on;
//! 2. reads the path from the caller's memory (`/proc/<pid>/mem`), checks the notification is
//!    still live (`SECCOMP_IOCTL_NOTIF_ID_VALID`, after the read, as seccomp_unotify(2) asks),
//!    and resolves the path itself as the caller would — from its cwd or directory descriptor,
//!    following symlinks unless asked not to, with `openat2`'s resolve flags, `/proc/self`
//!    meaning the caller — to an `O_PATH` descriptor;
//! 3. when the call names a bound script — by its names (the path they spell from where the
//!    lookup starts, or that last name in the script's directory), whatever file is there now,
//!    or as the mounted copy itself (device and inode) — answers an open with a fresh
//!    descriptor of the approved copy (`SECCOMP_IOCTL_NOTIF_ADDFD` with
//!    `SECCOMP_ADDFD_FLAG_SEND`): the kernel looks no name up again, so no rename can win; a
//!    write open gets `EROFS`, as the read-only mount gives;
//! 4. lets an exec of a bound script go on only while its name is the copy, with the caller
//!    stopped until the init has checked that what the kernel started is what the copy's `#!`
//!    line names ([`Supervisor::exec_bound`]: the kernel reads that line itself, so no
//!    descriptor can be handed over there);
//! 5. lets every other call go on (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`) after one more look at
//!    the watch (the window that leaves is in the README, Still open).
//!
//! A kernel without it is refused (77): the supervisor is the closure, not an option.

use std::cell::OnceCell;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::event::epoll;
use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

/// The calls handed to the init, per architecture (x32 calls are refused outright: see
/// [`program`]).
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const OPEN: i32 = 2;
    pub const CREAT: i32 = 85;
    pub const OPENAT: i32 = 257;
    pub const OPENAT2: i32 = 437;
    pub const EXECVE: i32 = 59;
    pub const EXECVEAT: i32 = 322;
    pub const NOTIFIED: &[i32] = &[OPEN, CREAT, OPENAT, OPENAT2, EXECVE, EXECVEAT];
    /// `AUDIT_ARCH_X86_64`.
    pub const ARCH: u32 = 0xC000_003E;
}
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
mod nr {
    /// No such calls here (the generic syscall table has only `openat`).
    pub const OPEN: i32 = -1;
    pub const CREAT: i32 = -2;
    pub const OPENAT: i32 = 56;
    pub const OPENAT2: i32 = 437;
    pub const EXECVE: i32 = 221;
    pub const EXECVEAT: i32 = 281;
    pub const NOTIFIED: &[i32] = &[OPENAT, OPENAT2, EXECVE, EXECVEAT];
    #[cfg(target_arch = "aarch64")]
    pub const ARCH: u32 = 0xC000_00B7;
    #[cfg(target_arch = "riscv64")]
    pub const ARCH: u32 = 0xC000_00F3;
}

/// `SECCOMP_ADDFD_FLAG_SEND` is Linux 5.14's, `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` 5.19's.
const MIN_KERNEL: (u32, u32) = (5, 19);

/// A bound script as the supervisor knows it.
pub struct Bound {
    /// Its canonical path inside the line (the mount's path).
    path: Vec<u8>,
    /// Its directory's device and inode, and its canonical path, and its name there: an open
    /// of that name in that directory is an open of the script, whatever file is there now.
    dir_id: (u64, u64),
    dir_path: Vec<u8>,
    name: Vec<u8>,
    /// The mounted copy's device and inode.
    id: (u64, u64),
    /// The mounted copy, `O_PATH`: each open gets a description of its own reopened from it
    /// (one shared description would share the read offset between every open).
    copy: OwnedFd,
}

/// Opens each bound script's mounted copy, last before the program starts: the name must be
/// the copy (`id`) — the check `scripts_in_place` makes, now on the descriptor kept.
pub fn bind(scripts: &[(PathBuf, (u64, u64))]) -> Result<Vec<Bound>, String> {
    scripts
        .iter()
        .map(|(path, id)| {
            let replaced = || {
                format!(
                    "guard: {} was replaced while the line started (it is no longer the approved copy); nothing ran. Run the line again",
                    crate::display::escape(&path.to_string_lossy())
                )
            };
            let copy = rustix::fs::openat(CWD, path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).map_err(|_| replaced())?;
            if identity(&copy) != Some(*id) {
                return Err(replaced());
            }
            let path = fd_path(&copy).ok_or_else(replaced)?;
            let (dir_path, name) = split(&path);
            let dir = rustix::fs::openat(
                CWD,
                std::ffi::OsStr::from_bytes(dir_path),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|_| replaced())?;
            let dir_id = identity(&dir).ok_or_else(replaced)?;
            let (dir_path, name) = (fd_path(&dir).ok_or_else(replaced)?, name.to_vec());
            Ok(Bound { path, dir_id, dir_path, name, id: *id, copy })
        })
        .collect()
}

/// `path` split as the kernel looks it up: the directory part (empty: the start directory)
/// and the last name (empty after a trailing `/`).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", path.get(1..).unwrap_or_default()),
        Some(i) => (path.get(..i).unwrap_or_default(), path.get(i + 1..).unwrap_or_default()),
        None => (b"", path),
    }
}

/// Whether this kernel can run the supervisor, or why not (the line is then refused, 77): user
/// notification with `SECCOMP_ADDFD_FLAG_SEND`, structures no larger than guard's, and a
/// `/proc` of the line's own pid namespace (the pids the kernel reports are the init's).
pub fn available() -> Result<(), String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if version < MIN_KERNEL {
        return Err(format!(
            "a line that runs bound scripts needs Linux {}.{} or later (seccomp user notification with SECCOMP_ADDFD_FLAG_SEND and SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, so the line reads only the approved copies); this kernel is {}",
            MIN_KERNEL.0,
            MIN_KERNEL.1,
            release.trim()
        ));
    }
    let mut sizes = libc::seccomp_notif_sizes { seccomp_notif: 0, seccomp_notif_resp: 0, seccomp_data: 0 };
    seccomp(Seccomp::Sizes(&mut sizes)).map_err(|e| format!("the kernel has no seccomp user notification ({e})"))?;
    let fits = usize::from(sizes.seccomp_notif) <= size_of::<libc::seccomp_notif>()
        && usize::from(sizes.seccomp_notif_resp) <= size_of::<libc::seccomp_notif_resp>();
    if !fits {
        return Err("the kernel's seccomp notification structures are larger than the ones guard knows".into());
    }
    // The kernel names callers by their pids in the init's pid namespace: `/proc` must be that
    // namespace's (where the kernel refused a new procfs, it is the host's).
    let me = rustix::process::getpid().as_raw_nonzero().to_string();
    if std::fs::read_link("/proc/self").ok().as_deref() != Some(Path::new(&me)) {
        return Err("the line has no /proc of its own (the kernel refused a new procfs), so its processes cannot be told apart".into());
    }
    Ok(())
}

/// The pair of sockets the program's process sends its listener over (made before the fork).
pub fn handoff() -> Result<(OwnedFd, OwnedFd), String> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    rustix::net::socketpair(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None)
        .map_err(|e| format!("cannot make the supervisor's socket pair: {e}"))
}

/// In the program's process, last before its exec: takes the notifying filter and sends its
/// listener to the init over `sock`.
pub fn install(sock: &OwnedFd) -> Result<(), String> {
    let mut filter = program();
    let prog = libc::sock_fprog {
        len: u16::try_from(filter.len()).map_err(|_| "the supervisor's filter is too long".to_string())?,
        filter: filter.as_mut_ptr(),
    };
    let listener = seccomp(Seccomp::Filter(&prog))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EBUSY) => {
                "the line already runs under a seccomp supervisor (a contained line inside a line that binds scripts)".to_string()
            }
            _ => format!("cannot install the script supervisor's seccomp filter: {e}"),
        })?
        .ok_or_else(|| "the kernel gave no seccomp listener".to_string())?;
    let fds = [listener.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    control.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(sock, &[IoSlice::new(b"L")], &mut control, SendFlags::empty())
        .map_err(|e| format!("cannot hand the seccomp listener to the line's init: {e}"))?;
    Ok(())
}

/// io_uring's three calls (the same numbers on every architecture guard builds for): its own
/// `openat` would pass the supervisor by.
const IO_URING_CALLS: [i32; 3] = [425, 426, 427];

/// The notifying filter (classic BPF): the native architecture only (anything else kills the
/// process: the call numbers below would not be its), x32 calls refused (`ENOSYS`), io_uring
/// refused (`EPERM`), the open and exec calls to the listener, everything else allowed (guard's
/// first filter, where there is one, still applies).
fn program() -> Vec<libc::sock_filter> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JSET_K: u16 = 0x45;
    const RET_K: u16 = 0x06;
    #[derive(Clone, Copy)]
    enum To {
        Notify = 1,
        Eperm = 2,
        Enosys = 3,
    }
    let stmt = |code, k| libc::sock_filter { code, jt: 0, jf: 0, k };
    let mut checks: Vec<(u16, u32, To)> = Vec::new();
    if cfg!(target_arch = "x86_64") {
        checks.push((JSET_K, 0x4000_0000, To::Enosys));
    }
    checks.extend(nr::NOTIFIED.iter().map(|&c| (JEQ_K, c.cast_unsigned(), To::Notify)));
    checks.extend(IO_URING_CALLS.iter().map(|&c| (JEQ_K, c.cast_unsigned(), To::Eperm)));
    // After the checks (from index 3) come ALLOW, NOTIFY, EPERM, ENOSYS, KILL.
    let allow = 3 + checks.len();
    let offset = |from: usize, to: usize| u8::try_from(to - from - 1).unwrap_or(u8::MAX);
    let mut p = vec![stmt(LD_W_ABS, 4), libc::sock_filter { code: JEQ_K, jt: 0, jf: offset(1, allow + 4), k: nr::ARCH }, stmt(LD_W_ABS, 0)];
    for (i, (code, k, to)) in checks.into_iter().enumerate() {
        p.push(libc::sock_filter { code, jt: offset(3 + i, allow + to as usize), jf: 0, k });
    }
    p.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
    p.push(stmt(RET_K, libc::SECCOMP_RET_USER_NOTIF));
    p.push(stmt(RET_K, libc::SECCOMP_RET_ERRNO | libc::EPERM.cast_unsigned()));
    p.push(stmt(RET_K, libc::SECCOMP_RET_ERRNO | libc::ENOSYS.cast_unsigned()));
    p.push(stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS));
    p
}

/// The `seccomp(2)` operations guard uses, each with the one argument type the kernel takes.
enum Seccomp<'a> {
    /// `SECCOMP_SET_MODE_FILTER` with `SECCOMP_FILTER_FLAG_NEW_LISTENER`: returns the listener.
    Filter(&'a libc::sock_fprog),
    /// `SECCOMP_GET_NOTIF_SIZES`.
    Sizes(&'a mut libc::seccomp_notif_sizes),
}

/// The third unsafe call in guard: `seccomp(2)` itself. std, rustix and seccompiler have no
/// way to ask for a listener (seccompiler has no user-notification action and installs without
/// flags).
#[allow(unsafe_code)]
fn seccomp(op: Seccomp<'_>) -> std::io::Result<Option<OwnedFd>> {
    use std::os::fd::FromRawFd;
    let returns_fd = matches!(op, Seccomp::Filter(_));
    let (operation, flags, arg): (libc::c_uint, libc::c_ulong, *mut libc::c_void) = match op {
        Seccomp::Filter(prog) => {
            (
                libc::SECCOMP_SET_MODE_FILTER,
                // Killable only once received: a signal cannot withdraw a call the init answers
                // (the stop of `exec_bound` waits for the call's end).
                libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                std::ptr::from_ref(prog).cast_mut().cast(),
            )
        }
        Seccomp::Sizes(sizes) => (libc::SECCOMP_GET_NOTIF_SIZES, 0, std::ptr::from_mut(sizes).cast()),
    };
    // SAFETY: `arg` points at the live structure the operation reads (`sock_fprog`, whose
    // `filter` points at a live `Vec` of `len` instructions) or writes (`seccomp_notif_sizes`,
    // exactly its size); the kernel keeps no pointer after the call. A filter's result is a new
    // descriptor no one else owns, taken into an `OwnedFd` once, here.
    unsafe {
        let r = libc::syscall(libc::SYS_seccomp, operation, flags, arg);
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(if returns_fd { Some(OwnedFd::from_raw_fd(i32::try_from(r).map_err(std::io::Error::other)?)) } else { None })
    }
}

/// The listener's `ioctl(2)`s, each with the one argument type the kernel reads or writes.
enum Ioctl<'a> {
    Recv(&'a mut libc::seccomp_notif),
    Send(&'a libc::seccomp_notif_resp),
    IdValid(&'a u64),
    AddFd(&'a libc::seccomp_notif_addfd),
    /// `SECCOMP_IOCTL_NOTIF_SET_FLAGS` (its argument is the flags themselves, not a pointer).
    SetFlags(u64),
}

/// The fourth unsafe call in guard: the seccomp listener's `ioctl(2)`s (rustix has none for
/// them, and its generic `ioctl` is as unsafe).
#[allow(unsafe_code)]
fn ioctl(listener: BorrowedFd<'_>, op: Ioctl<'_>) -> std::io::Result<i32> {
    let (request, arg): (libc::Ioctl, *mut libc::c_void) = match op {
        Ioctl::Recv(n) => (libc::SECCOMP_IOCTL_NOTIF_RECV, std::ptr::from_mut(n).cast()),
        Ioctl::Send(r) => (libc::SECCOMP_IOCTL_NOTIF_SEND, std::ptr::from_ref(r).cast_mut().cast()),
        Ioctl::IdValid(id) => (libc::SECCOMP_IOCTL_NOTIF_ID_VALID, std::ptr::from_ref(id).cast_mut().cast()),
        Ioctl::AddFd(a) => (libc::SECCOMP_IOCTL_NOTIF_ADDFD, std::ptr::from_ref(a).cast_mut().cast()),
        // The kernel reads the flags from the argument itself and dereferences nothing.
        Ioctl::SetFlags(flags) => (libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, std::ptr::without_provenance_mut(flags as usize)),
    };
    // SAFETY: each request is paired with the live structure of the type its number encodes
    // (the kernel writes only `Recv`'s, whose size `available` checked is no larger than
    // guard's), or for `SetFlags` with a plain value the kernel never dereferences; the kernel
    // keeps no pointer after the call; `listener` is open.
    let r = unsafe { libc::ioctl(listener.as_raw_fd(), request, arg) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(r) }
}

/// Device and inode of a descriptor.
fn identity(fd: &OwnedFd) -> Option<(u64, u64)> {
    rustix::fs::fstat(fd).ok().map(|s| (s.st_dev, s.st_ino))
}

/// The path the kernel has for a descriptor (in this mount namespace).
fn fd_path(fd: &OwnedFd) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    super::fd_path(fd.as_fd()).map(|p| p.into_os_string().into_vec())
}

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`.
const SYNC_WAKE_UP: u64 = 1;

/// epoll tokens.
const WATCH: u64 = 0;
const HANDOFF: u64 = 1;
const LISTENER: u64 = 2;

/// What the init serves while the program runs: the scripts' names' watch, the socket the
/// listener arrives on, and then the listener, behind one epoll descriptor (the init's wait
/// loop polls one descriptor per service).
pub struct Supervisor<'a> {
    epoll: OwnedFd,
    watch: &'a super::linux::ScriptWatch,
    handoff: OwnedFd,
    listener: OnceCell<OwnedFd>,
    scripts: Vec<Bound>,
    /// `/proc/<pid>/mem` of the callers, kept between calls (an open per call was a third of
    /// the supervisor's cost per open).
    memories: std::cell::RefCell<std::collections::HashMap<u32, std::fs::File>>,
}

/// How the init answers one call.
enum Answer {
    /// The call goes on in the kernel.
    Continue,
    /// The call fails with this errno.
    Errno(i32),
    /// The call returns this descriptor (a fresh open of an approved copy) in the caller, with
    /// `O_CLOEXEC` when asked for.
    Fd(OwnedFd, bool),
    /// The caller is gone (the notification is no longer live): nothing to answer.
    Gone,
    /// An exec of the bound script with this index, by the path at this address: it goes on,
    /// and what the kernel ran is checked before it runs ([`Supervisor::exec_bound`]).
    Exec(usize, u64),
}

impl<'a> Supervisor<'a> {
    pub fn new(watch: &'a super::linux::ScriptWatch, handoff: OwnedFd, scripts: Vec<Bound>) -> Result<Supervisor<'a>, String> {
        let err = |e: rustix::io::Errno| format!("cannot set up the script supervisor: {e}");
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(err)?;
        epoll::add(&epoll, watch.fd(), epoll::EventData::new_u64(WATCH), epoll::EventFlags::IN).map_err(err)?;
        epoll::add(&epoll, &handoff, epoll::EventData::new_u64(HANDOFF), epoll::EventFlags::IN).map_err(err)?;
        Ok(Supervisor { epoll, watch, handoff, listener: OnceCell::new(), scripts, memories: Default::default() })
    }

    /// The listener, from the program's process (which sent it just before its exec).
    fn receive(&self) {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut byte = [0u8; 1];
        let got = rustix::net::recvmsg(&self.handoff, &mut [std::io::IoSliceMut::new(&mut byte)], &mut control, RecvFlags::CMSG_CLOEXEC);
        if let Some(listener) = control.drain().find_map(|m| match m {
            RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
            _ => None,
        }) && self.listener.get().is_none()
            && epoll::add(&self.epoll, &listener, epoll::EventData::new_u64(LISTENER), epoll::EventFlags::IN).is_ok()
        {
            // The caller waits while the init answers: waking the init on the caller's CPU (and
            // the caller on the init's) halves each round trip (Linux 6.6; best effort).
            let _ = ioctl(listener.as_fd(), Ioctl::SetFlags(SYNC_WAKE_UP));
            let _ = self.listener.set(listener);
        }
        // One message only: after it (or the end of the stream, when the process failed
        // before its exec) the socket is done with.
        if !matches!(got, Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN)) {
            let _ = epoll::delete(&self.epoll, &self.handoff);
        }
    }

    /// Answers one call of the line's.
    fn serve(&self, listener: BorrowedFd<'_>) {
        let mut req = libc::seccomp_notif {
            id: 0,
            pid: 0,
            flags: 0,
            data: libc::seccomp_data { nr: 0, arch: 0, instruction_pointer: 0, args: [0; 6] },
        };
        if ioctl(listener, Ioctl::Recv(&mut req)).is_err() {
            // ENOENT: the caller died (or was interrupted) before the call was read.
            return;
        }
        // A rename already done stops the line before the call goes on.
        self.watch.drain();
        let answer = self.decide(listener, &req);
        let mut resp = libc::seccomp_notif_resp { id: req.id, val: 0, error: 0, flags: 0 };
        match answer {
            Answer::Gone => return,
            Answer::Exec(i, path_ptr) => {
                if let Some(bound) = self.scripts.get(i) {
                    self.exec_bound(listener, &req, bound, path_ptr);
                }
                return;
            }
            Answer::Continue => {
                // The kernel looks the path up again after this answer: a rename since the
                // first look ends the line now rather than at the next call.
                self.watch.drain();
                resp.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32;
            }
            Answer::Errno(e) => resp.error = -e,
            Answer::Fd(fd, cloexec) => {
                let add = libc::seccomp_notif_addfd {
                    id: req.id,
                    flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
                    srcfd: u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX),
                    newfd: 0,
                    newfd_flags: if cloexec { libc::O_CLOEXEC.cast_unsigned() } else { 0 },
                };
                // With SEND the call returns the new descriptor; on failure it still waits.
                match ioctl(listener, Ioctl::AddFd(&add)) {
                    Ok(_) => return,
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return,
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                        self.stop(&format!("the kernel refused to hand the line the approved copy (SECCOMP_IOCTL_NOTIF_ADDFD: {e})"))
                    }
                    Err(e) => resp.error = -e.raw_os_error().unwrap_or(libc::EIO),
                }
            }
        }
        let _ = ioctl(listener, Ioctl::Send(&resp));
    }

    /// An exec of a bound script's name. The kernel reads the `#!` line (or the ELF headers)
    /// itself, from whatever file the name is when it looks it up after the answer, so no
    /// descriptor can be handed over. Instead the caller is stopped (`SIGSTOP`, pending while
    /// it waits in the call: the filter's wait is killable only) before the call goes on; the
    /// stop lands on the way back to user space, before the first instruction of whatever the
    /// kernel started. The init then checks that it is what the approved copy names — the
    /// interpreter and argument of its `#!` line as the kernel passes them (`argv[0]`,
    /// `argv[1]`), or for a binary the copy itself — and lets it go on (`SIGCONT`), or ends
    /// the line. An exec that failed leaves the old program, which goes on.
    fn exec_bound(&self, listener: BorrowedFd<'_>, req: &libc::seccomp_notif, bound: &Bound, path_ptr: u64) {
        use rustix::process::{PidfdFlags, Signal};
        let Some(tgid) = thread_group(req.pid) else { return };
        let proc_file = |name: &str| std::fs::read(format!("/proc/{tgid}/{name}")).ok();
        let exe = || rustix::fs::openat(CWD, format!("/proc/{tgid}/exe"), OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok();
        let pidfd =
            rustix::process::Pid::from_raw(tgid.cast_signed()).and_then(|p| rustix::process::pidfd_open(p, PidfdFlags::empty()).ok());
        let (Some(pidfd), Ok(mem)) = (pidfd, std::fs::File::open(format!("/proc/{tgid}/mem"))) else {
            if self.live(listener, req.id) {
                self.stop(&format!("cannot watch the line's process {tgid} run a bound script"));
            }
            return;
        };
        let (comm, exe_id) = (proc_file("comm"), exe().as_ref().and_then(identity));
        if rustix::process::pidfd_send_signal(&pidfd, Signal::STOP).is_err() {
            return;
        }
        let resp = libc::seccomp_notif_resp { id: req.id, val: 0, error: 0, flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32 };
        if ioctl(listener, Ioctl::Send(&resp)).is_err() {
            let _ = rustix::process::pidfd_send_signal(&pidfd, Signal::CONT);
            return;
        }
        // Until the stop lands (an exec takes a fraction of a millisecond) or the process ends.
        let t0 = std::time::Instant::now();
        loop {
            match proc_file("stat").and_then(|s| s.iter().rposition(|&b| b == b')').and_then(|i| s.get(i + 2).copied())) {
                Some(b'T' | b't') => break,
                None | Some(b'Z' | b'X') => return,
                Some(_) if t0.elapsed() > std::time::Duration::from_secs(10) => {
                    self.stop(&format!("the line's process {tgid} did not stop after it ran a bound script"))
                }
                Some(_) => std::thread::sleep(std::time::Duration::from_micros(50)),
            }
        }
        // A rename meanwhile: the line ends (and the stopped process with it).
        self.watch.drain();
        let mut byte = [0u8; 1];
        let old_memory_gone = mem.read_at(&mut byte, path_ptr).map_or(true, |n| n == 0);
        let ran = old_memory_gone || proc_file("comm") != comm || exe().as_ref().and_then(identity) != exe_id;
        if ran && !approved_exec(bound, proc_file("cmdline").unwrap_or_default(), exe().as_ref().and_then(identity)) {
            self.stop(&format!(
                "{} was replaced from outside the line while it ran (the kernel started what the new file names, not what the approved copy does)",
                crate::display::escape(&String::from_utf8_lossy(&bound.path))
            ));
        }
        let _ = rustix::process::pidfd_send_signal(&pidfd, Signal::CONT);
    }

    fn stop(&self, why: &str) -> ! {
        eprintln!("guard: {why}; the line was stopped (it runs only the approved copies of its scripts)");
        std::process::exit(77)
    }

    fn decide(&self, listener: BorrowedFd<'_>, req: &libc::seccomp_notif) -> Answer {
        let a = req.data.args;
        let at = |i: usize| a.get(i).copied().unwrap_or(0);
        // The low 32 bits: the kernel reads descriptors and flags as ints.
        let fd_arg = |i: usize| (at(i) as u32).cast_signed();
        let nr = req.data.nr;
        // (dirfd, path pointer, open flags, openat2's `how`, exec's AT_* flags)
        let (dirfd, path_ptr, mut flags, how, at_flags) = match nr {
            n if n == nr::OPEN => (libc::AT_FDCWD, at(0), at(1), None, 0),
            n if n == nr::CREAT => (libc::AT_FDCWD, at(0), (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64, None, 0),
            n if n == nr::OPENAT => (fd_arg(0), at(1), at(2), None, 0),
            n if n == nr::OPENAT2 => (fd_arg(0), at(1), 0, Some((at(2), at(3))), 0),
            n if n == nr::EXECVE => (libc::AT_FDCWD, at(0), 0, None, 0),
            n if n == nr::EXECVEAT => (fd_arg(0), at(1), 0, None, fd_arg(4)),
            _ => return Answer::Continue,
        };
        let mut memories = self.memories.borrow_mut();
        let mut path = None;
        for fresh in [false, true] {
            if fresh || !memories.contains_key(&req.pid) {
                let opened = match std::fs::File::open(format!("/proc/{}/mem", req.pid)) {
                    Ok(m) => m,
                    Err(e) if self.live(listener, req.id) => {
                        self.stop(&format!("cannot read what the line's process {} asked to open ({e})", req.pid))
                    }
                    Err(_) => return Answer::Gone,
                };
                if memories.len() >= 64 {
                    memories.clear();
                }
                memories.insert(req.pid, opened);
            }
            path = memories.get(&req.pid).and_then(|m| read_c_string(m, path_ptr));
            // A kept descriptor of a process that has since exec'd or died (its pid reused)
            // reads nothing, never another process's memory: read it again, afresh.
            if path.is_some() || fresh {
                break;
            }
        }
        let (Some(path), Some(mem)) = (path, memories.get(&req.pid)) else {
            // An unreadable or overlong path: the kernel fails the call the same way.
            return if self.live(listener, req.id) { Answer::Continue } else { Answer::Gone };
        };
        let mut resolve = ResolveFlags::empty();
        if let Some((how_ptr, size)) = how {
            let mut buf = [0u8; 24];
            if size < 24 || mem.read_exact_at(&mut buf, how_ptr).is_err() {
                return if self.live(listener, req.id) { Answer::Continue } else { Answer::Gone };
            }
            let word = |i: usize| buf.get(i * 8..i * 8 + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map_or(0, u64::from_ne_bytes);
            flags = word(0);
            resolve = ResolveFlags::from_bits_retain(word(2));
        }
        drop(memories);
        if !self.live(listener, req.id) {
            return Answer::Gone;
        }
        let exec = nr == nr::EXECVE || nr == nr::EXECVEAT;
        let oflags = OFlags::from_bits_retain((flags as u32) & !OFlags::CLOEXEC.bits());
        let follow = if exec { at_flags & libc::AT_SYMLINK_NOFOLLOW == 0 } else { !oflags.contains(OFlags::NOFOLLOW) };
        let empty_path = exec && path.is_empty() && at_flags & libc::AT_EMPTY_PATH != 0;
        let Some(place) = resolve_as(req.pid, dirfd, &path, follow, empty_path, resolve) else { return Answer::Continue };
        let Some(bound) = self.bound(&place) else { return Answer::Continue };
        let target = place.target;
        if exec {
            // The kernel reads the `#!` line itself: it goes on only while the name is the copy,
            // and what it starts is checked before it runs.
            return match self.scripts.iter().position(|b| std::ptr::eq(b, bound)) {
                Some(i) if target.as_ref().and_then(identity) == Some(bound.id) => Answer::Exec(i, path_ptr),
                _ => self.stop(&format!(
                    "{} was replaced from outside the line while it ran (it is no longer the approved copy)",
                    crate::display::escape(&String::from_utf8_lossy(&bound.path))
                )),
            };
        }
        let cloexec = (flags as u32) & OFlags::CLOEXEC.bits() != 0;
        match open_copy(bound, oflags) {
            Ok(fd) => Answer::Fd(fd, cloexec),
            Err(Refusal::Errno(e)) => Answer::Errno(e),
            // The copy's mount was detached (Landlock then refuses the reopen: the copy is no
            // longer below any granted tree): a rename from outside, which the watch reports.
            Err(Refusal::Detached) => self.stop(&format!(
                "{} was renamed, replaced or removed from outside the line while it ran",
                crate::display::escape(&String::from_utf8_lossy(&bound.path))
            )),
        }
    }

    fn live(&self, listener: BorrowedFd<'_>, id: u64) -> bool {
        ioctl(listener, Ioctl::IdValid(&id)).is_ok()
    }

    /// The bound script a call names, if any: by its name — that name in that directory, by
    /// the directory's identity or, when it was renamed in since, its path — whatever file is
    /// there now or none, so no rename of files can change the answer between this look and
    /// the caller's use; or the mounted copy itself, however reached.
    fn bound(&self, place: &Place) -> Option<&Bound> {
        // By its names first: a directory on the way swapped since (renamed away and another
        // put in its place) changes no name.
        if let Some((_, path)) = &place.names
            && self.scripts.iter().any(|b| b.name == split(path).1)
        {
            let path = place.by_names();
            if let Some(b) = self.scripts.iter().find(|b| Some(&b.path) == path.as_ref()) {
                return Some(b);
            }
        }
        if let Some((dir, name)) = &place.name {
            let named = || self.scripts.iter().filter(|b| b.name == *name);
            if named().next().is_some() {
                let dir_id = identity(dir);
                if let Some(b) = named().find(|b| Some(b.dir_id) == dir_id) {
                    return Some(b);
                }
                let dir_path = fd_path(dir);
                if let Some(b) = named().find(|b| Some(&b.dir_path) == dir_path.as_ref()) {
                    return Some(b);
                }
            }
        }
        let id = place.target.as_ref().and_then(identity)?;
        self.scripts.iter().find(|b| b.id == id)
    }
}

impl crate::exec::Service for Supervisor<'_> {
    fn fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }

    fn ready(&self) {
        let mut events = Vec::with_capacity(3);
        let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
        if epoll::wait(&self.epoll, rustix::buffer::spare_capacity(&mut events), Some(&zero)).is_err() {
            return;
        }
        for event in events {
            // Copied out: the event is a packed structure on x86_64.
            let (flags, data) = (event.flags, event.data);
            match data.u64() {
                WATCH => self.watch.drain(),
                HANDOFF => self.receive(),
                _ => {
                    let Some(listener) = self.listener.get() else { continue };
                    if flags.contains(epoll::EventFlags::IN) {
                        self.serve(listener.as_fd());
                    } else {
                        // Every process under the filter is gone.
                        let _ = epoll::delete(&self.epoll, listener);
                    }
                }
            }
        }
    }
}

/// Reads the NUL-terminated string at `addr` in the caller's memory, a page at a time (a read
/// across into an unmapped page fails); `None` when unreadable or longer than `PATH_MAX`.
fn read_c_string(mem: &std::fs::File, addr: u64) -> Option<Vec<u8>> {
    const PAGE: u64 = 4096;
    const PATH_MAX: usize = 4096;
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < PATH_MAX {
        let len = usize::try_from(PAGE - at % PAGE).ok()?;
        let mut buf = vec![0u8; len];
        let n = mem.read_at(&mut buf, at).ok().filter(|&n| n > 0)?;
        let chunk = buf.get(..n)?;
        if let Some(end) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(chunk.get(..end)?);
            return Some(out);
        }
        out.extend_from_slice(chunk);
        at = at.checked_add(n as u64)?;
    }
    None
}

/// Where a call's path leads: the directory and last name it is looked up by (none for a
/// descriptor's own file), and what is there now (`O_PATH`), if anything.
struct Place {
    name: Option<(OwnedFd, Vec<u8>)>,
    target: Option<OwnedFd>,
    /// The directory the last lookup started from and the path looked up from it, when that
    /// path's directories were no symlinks: its names, from there, are where it leads.
    names: Option<(OwnedFd, Vec<u8>)>,
}

impl Place {
    /// The absolute path the call names, by its names (`.` and `..` folded), when
    /// [`Place::names`] holds.
    fn by_names(&self) -> Option<Vec<u8>> {
        let (at, path) = self.names.as_ref()?;
        let mut full = if path.first() == Some(&b'/') { Vec::new() } else { fd_path(at)? };
        full.push(b'/');
        full.extend_from_slice(path);
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in full.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        let mut out = Vec::new();
        for p in parts {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        Some(out)
    }
}

/// The caller's `path` as the kernel would look it up for the caller: relative to its cwd or
/// its `dirfd`, with `/proc/self` (and the links into it) meaning the caller, through symlinks
/// (one at the end only when `follow`, as the kernel does, up to its 40); `O_PATH`, so nothing
/// is opened for reading and a FIFO does not block. `None` when its directory does not resolve.
fn resolve_as(pid: u32, dirfd: i32, path: &[u8], follow: bool, empty_path: bool, resolve: ResolveFlags) -> Option<Place> {
    let base = if dirfd == libc::AT_FDCWD { format!("/proc/{pid}/cwd") } else { format!("/proc/{pid}/fd/{dirfd}") };
    // The directory part, and whether it was reached without symlinks (then its names are the
    // path's own, and the path can be compared by its names).
    let open_dir = |at: BorrowedFd<'_>, dir: &[u8]| {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if dir.is_empty() {
            return rustix::fs::openat(at, ".", flags, Mode::empty()).ok().map(|d| (d, true));
        }
        let dir = std::ffi::OsStr::from_bytes(dir);
        match rustix::fs::openat2(at, dir, flags, Mode::empty(), resolve | ResolveFlags::NO_SYMLINKS) {
            Ok(d) => Some((d, true)),
            Err(rustix::io::Errno::LOOP) => rustix::fs::openat2(at, dir, flags, Mode::empty(), resolve).ok().map(|d| (d, false)),
            Err(_) => None,
        }
    };
    if empty_path {
        let target = rustix::fs::openat(CWD, &base, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok();
        return Some(Place { name: None, target, names: None });
    }
    let mut path = as_caller(pid, path);
    // The start directory: `/` for an absolute path (the caller's root is the init's).
    let mut at = if path.first() == Some(&b'/') && resolve.is_empty() {
        rustix::fs::openat(CWD, "/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()?
    } else {
        rustix::fs::openat(CWD, &base, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()?
    };
    for _ in 0..40 {
        let (dir, name) = split(&path);
        let Some((dir, plain)) = open_dir(at.as_fd(), dir) else {
            // No such directory (yet): only the names can tell.
            return Some(Place { name: None, target: None, names: Some((at, path)) });
        };
        let name = name.to_vec();
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let target = rustix::fs::openat2(&dir, std::ffi::OsStr::from_bytes(&name), flags, Mode::empty(), resolve).ok();
        let is_link = target.as_ref().and_then(|t| rustix::fs::fstat(t).ok()).map(|s| rustix::fs::FileType::from_raw_mode(s.st_mode))
            == Some(rustix::fs::FileType::Symlink);
        if !(follow && is_link && !resolve.contains(ResolveFlags::NO_SYMLINKS)) || name.is_empty() {
            let names = plain.then_some((at, path));
            return Some(Place { name: Some((dir, name)), target, names });
        }
        // The last name is a symlink the kernel follows: its target, from its directory.
        let link = rustix::fs::readlinkat(&dir, std::ffi::OsStr::from_bytes(&name), Vec::new()).ok()?;
        path = as_caller(pid, link.as_bytes());
        at = if path.first() == Some(&b'/') {
            rustix::fs::openat(CWD, "/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()?
        } else {
            dir
        };
    }
    None
}

/// `path` with the names that mean "the calling process" (`/proc/self`, `/proc/thread-self`,
/// and `/dev/fd`, `/dev/stdin`… which link into it) spelled with the caller's pid: resolved by
/// the init they would mean the init.
fn as_caller(pid: u32, path: &[u8]) -> Vec<u8> {
    let me = format!("/proc/{pid}");
    let thread = format!("/proc/{pid}/task/{pid}");
    let rules: [(&[u8], String); 6] = [
        (b"/proc/self", me.clone()),
        (b"/proc/thread-self", thread),
        (b"/dev/fd", format!("{me}/fd")),
        (b"/dev/stdin", format!("{me}/fd/0")),
        (b"/dev/stdout", format!("{me}/fd/1")),
        (b"/dev/stderr", format!("{me}/fd/2")),
    ];
    for (prefix, with) in rules {
        if let Some(rest) = path.strip_prefix(prefix)
            && (rest.is_empty() || rest.first() == Some(&b'/'))
        {
            let mut out = with.into_bytes();
            out.extend_from_slice(rest);
            return out;
        }
    }
    path.to_vec()
}

/// The thread group (process) of a thread the kernel names.
fn thread_group(tid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// Whether what the kernel started on an exec of `bound` (its `argv`, NUL-separated, and the
/// executable's identity) is what the approved copy names: the `#!` line's interpreter and
/// optional argument as the kernel splits them (binfmt_script: up to the first newline within
/// its 256-byte buffer, blanks trimmed, the interpreter up to a blank, the rest one argument),
/// or, for an ELF binary, the copy itself.
fn approved_exec(bound: &Bound, cmdline: Vec<u8>, exe: Option<(u64, u64)>) -> bool {
    let Ok(copy) = reopen(bound, OFlags::RDONLY) else { return false };
    let mut head = [0u8; 256];
    let n = std::fs::File::from(copy).read_at(&mut head, 0).unwrap_or(0);
    let head = head.get(..n).unwrap_or_default();
    if head.starts_with(b"\x7fELF") {
        return exe == Some(bound.id);
    }
    let Some((interp, arg)) = shebang(head) else { return false };
    let mut argv = cmdline.split(|&b| b == 0);
    argv.next() == Some(interp) && (arg.is_empty() || argv.next() == Some(arg))
}

/// A `#!` line's interpreter and argument (empty: none), split as binfmt_script does.
fn shebang(head: &[u8]) -> Option<(&[u8], &[u8])> {
    let line = head.strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let line = line.trim_ascii_start();
    let (interp, rest) = line.split_at(line.iter().position(blank).unwrap_or(line.len()));
    Some((interp, rest.trim_ascii())).filter(|(i, _)| !i.is_empty())
}

/// Why an open of a bound script gets no copy.
enum Refusal {
    /// The errno the read-only mount would give.
    Errno(i32),
    /// The copy can no longer be reopened.
    Detached,
}

/// A fresh description of an approved copy for an open with `flags`, or the errno the
/// read-only mount would give.
fn open_copy(bound: &Bound, flags: OFlags) -> Result<OwnedFd, Refusal> {
    let access = flags.bits() & OFlags::ACCMODE.bits();
    if flags.contains(OFlags::PATH) {
        return reopen(bound, OFlags::PATH);
    }
    if flags.contains(OFlags::DIRECTORY) {
        return Err(Refusal::Errno(libc::ENOTDIR));
    }
    if flags.contains(OFlags::CREATE | OFlags::EXCL) {
        return Err(Refusal::Errno(libc::EEXIST));
    }
    if access != OFlags::RDONLY.bits() || flags.contains(OFlags::TRUNC) {
        return Err(Refusal::Errno(libc::EROFS));
    }
    reopen(bound, OFlags::RDONLY | (flags & (OFlags::NONBLOCK | OFlags::NOATIME | OFlags::NOCTTY)))
}

fn reopen(bound: &Bound, flags: OFlags) -> Result<OwnedFd, Refusal> {
    let at = format!("/proc/self/fd/{}", bound.copy.as_raw_fd());
    rustix::fs::openat(CWD, &at, flags | OFlags::CLOEXEC, Mode::empty()).map_err(|_| Refusal::Detached)
}

#[cfg(test)]
mod tests {
    use super::{as_caller, shebang, split};

    #[test]
    fn a_shebang_line_splits_as_the_kernel_splits_it() {
        let none: &[u8] = b"";
        for (head, want) in [
            (&b"#!/bin/bash\necho\n"[..], Some((&b"/bin/bash"[..], none))),
            (b"#! /usr/bin/env -S touch pwned \n", Some((b"/usr/bin/env", b"-S touch pwned"))),
            (b"#!/bin/sh\t-e\t\n", Some((b"/bin/sh", b"-e"))),
            (b"#!/bin/sh", Some((b"/bin/sh", none))),
            (b"#!\n", None),
            (b"echo no\n", None),
        ] {
            assert_eq!(shebang(head), want, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn a_path_splits_into_its_directory_and_last_name() {
        let none: &[u8] = b"";
        for (path, want) in [
            (&b"x.sh"[..], (none, &b"x.sh"[..])),
            (b"/x.sh", (b"/", b"x.sh")),
            (b"sub/x.sh", (b"sub", b"x.sh")),
            (b"/a/b/", (b"/a/b", none)),
        ] {
            assert_eq!(split(path), want, "{}", String::from_utf8_lossy(path));
        }
    }

    #[test]
    fn the_names_of_the_calling_process_are_spelled_with_its_pid() {
        for (path, want) in [
            ("/proc/self/fd/3", "/proc/42/fd/3"),
            ("/proc/self", "/proc/42"),
            ("/proc/selfish", "/proc/selfish"),
            ("/proc/thread-self/fd/0", "/proc/42/task/42/fd/0"),
            ("/dev/fd/63", "/proc/42/fd/63"),
            ("/dev/stdin", "/proc/42/fd/0"),
            ("/dev/stdinx", "/dev/stdinx"),
            ("x.sh", "x.sh"),
        ] {
            assert_eq!(as_caller(42, path.as_bytes()), want.as_bytes(), "{path}");
        }
    }
}
