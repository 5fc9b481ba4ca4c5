//! The Linux sandbox: Landlock for files (and signals and abstract sockets), user, mount and
//! pid namespaces for the read-only pins and the line's lifetime, and a seccomp filter (or, on
//! kernels whose Landlock cannot scope abstract sockets, a network namespace) for the network cut.
//!
//! It runs in the line's init, which guard clones straight into the line's namespaces: from
//! guard itself for a shell line ([`clone_line`], when guard runs one thread), else from a
//! fresh exec of guard (`guard __contain SPEC PROGRAM ARGS…`, how brokered terraform is
//! started). Either caller is single-threaded, and a restriction taken in the init binds only
//! it and what it starts. The steps:
//! 1. user, mount and pid namespaces (the caller's uid and gid mapped to themselves), plus a
//!    network namespace when the profile has no network and Landlock is older than ABI 6
//!    (otherwise the seccomp filter of step 4 cuts the network: nothing outside is reachable,
//!    the host's loopback included);
//! 2. `/dev/null` over the masked unix sockets (container daemons, the system bus), and
//!    read-only bind mounts over the pins (`.git/hooks`, `.git/config`, harness settings), and
//!    `.git` bound onto itself so it cannot be renamed away and rebuilt, and the approved
//!    copies of the scripts the request binds over the scripts ([`crate::scripts`]);
//! 3. Landlock: reads everywhere except the hidden trees (Landlock only grants, so a grant that
//!    must not cover `~/.ssh` becomes grants on each sibling along the way down), writes only in
//!    the profile's trees, and signals and abstract unix sockets scoped to the sandbox;
//!    `no_new_privs`. A sandboxed process cannot mount, unmount or remount (Landlock denies it),
//!    so the pins hold even for root inside.
//! 4. a seccomp filter refusing `TIOCSTI`/`TIOCLINUX` (no typing into the human's terminal) and,
//!    without the network, every socket but unix and netlink ones, and io_uring;
//! 5. run the program: the init is pid 1 of the line's pid namespace; it takes steps 3 and 4
//!    for itself and the program, checks each bound script's path is its copy, and starts the
//!    program — where the line binds scripts, under the script supervisor ([`super::notify`]),
//!    which answers the program's opens and execs of the scripts' names and watches the names
//!    while it runs: when it ends, every process of the line ends with it.
//!
//! The init goes no further than its mounts and its built ruleset until guard's word to go
//! ([`send_go`]), which only `sandbox::run` sends, with the gate's `Authorized`: so guard may
//! start it before its decision record (`sandbox::start_early`). It reports how the program
//! ended before it ends itself.
//!
//! It must never fall back to running uncontained: any failure is a `guard:` line and exit 77
//! (70 when guard itself is gone or gave up).

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, LandlockStatus, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope,
};
use serde::{Deserialize, Serialize};

use super::{Profile, within};

/// The newest Landlock ABI guard is tested with; newer kernels are used at this level.
const TARGET_ABI: ABI = ABI::V7;

/// Character devices a contained process may open (read and write); every other device node,
/// disks included, is neither readable nor writable.
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx"];
/// Device directories that stay usable: terminals and POSIX shared memory.
const DEVICE_DIRS: &[&str] = &["/dev/pts", "/dev/shm"];

/// What the helper is told: the profile and the line's private temp dir.
#[derive(Debug, Serialize, Deserialize)]
pub struct Spec {
    pub profile: Profile,
    /// The exec'd helper's temp dir, which guard claimed for it; a line's init that guard
    /// clones gets its temp dir with the word to go instead ([`send_go`]).
    #[serde(default)]
    pub temp: Option<PathBuf>,
    /// The bound scripts' copies, each mounted read-only over its script's path.
    #[serde(default)]
    pub scripts: Vec<crate::scripts::Snapshot>,
    /// Only a user and mount namespace with the scripts' copies (no pid namespace, Landlock or
    /// seccomp, the network kept): for a `terraform apply` that runs uncontained.
    #[serde(default)]
    pub mounts_only: bool,
}

/// The helper's entry point: contains the line, runs `program` with `args` as the only child of
/// the line's own init, and returns the exit code (128+N when the program died of signal N).
pub fn helper_main(argv: &[OsString]) -> u8 {
    let (Some(spec), Some(program)) = (argv.get(2), argv.get(3)) else {
        eprintln!("guard: {} is guard's own sandbox helper, not a command", super::HELPER_ARG);
        return 64;
    };
    let spec: Spec = match spec.to_str().map(serde_json::from_str) {
        Some(Ok(s)) => s,
        _ => {
            eprintln!("guard: the sandbox helper was given a profile it cannot read; nothing ran");
            return 70;
        }
    };
    contain_and_run(&spec, Path::new(program), argv.get(4..).unwrap_or_default())
}

/// Starts the line's init as a child of this process (see [`start_init`]), not through a new
/// exec of guard (that exec, the C library's and Rust's start-up and the profile's JSON were
/// ~0.6 ms of every line); the caller waits for the init, whose exit code is the line's.
/// `None` when this process has more than one thread: a clone copies only the calling thread,
/// whose locks another may hold, so the caller then starts the helper as an exec
/// ([`super::run`]). The init sets itself up and then waits on `go` for the word to go, which
/// brings the line's temp dir and the program's whole environment ([`send_go`]), before it
/// takes Landlock; the caller writes the decision record, passes the gate, claims the temp dir
/// and makes the broker meanwhile. The init reports how the program ended through `report`
/// before it ends itself ([`crate::exec::report_outcome`]).
pub fn clone_line(
    spec: &Spec,
    program: &Path,
    args: &[OsString],
    report: std::os::fd::OwnedFd,
    go: std::os::fd::OwnedFd,
) -> Option<Result<rustix::process::Pid, String>> {
    if !single_threaded() {
        return None;
    }
    let cpus = rustix::thread::sched_getaffinity(None).ok();
    Some(start_init(spec, program, args, Some(Handoff { report, go, cpus })))
}

/// The most [`send_go`] sends (the kernel takes at most 2 MiB of arguments and environment
/// for an exec anyway).
const MAX_GO: usize = 8 << 20;

/// Tells the line's init (its `go` in [`clone_line`]) to go on, with its temp dir, the hidden
/// paths as guard resolved them ([`resolved_outside`]) and the program's whole environment:
/// the length of what follows, the temp dir, the number of paths, each path, then each name
/// and value — each a length and its bytes (lengths and the number as little-endian u32s).
pub fn send_go(go: &std::os::unix::net::UnixStream, temp: &Path, hidden: &[PathBuf], env: &[(OsString, OsString)]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    let count = u32::try_from(hidden.len()).map_err(|_| std::io::Error::other("too many hidden paths to send"))?;
    let put = |body: &mut Vec<u8>, part: &[u8]| -> std::io::Result<()> {
        let len = u32::try_from(part.len()).map_err(|_| std::io::Error::other("a variable too long to send"))?;
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(part);
        Ok(())
    };
    let mut body = Vec::new();
    put(&mut body, temp.as_os_str().as_bytes())?;
    body.extend_from_slice(&count.to_le_bytes());
    for part in hidden.iter().map(|h| h.as_os_str().as_bytes()).chain(env.iter().flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()])) {
        put(&mut body, part)?;
    }
    if body.len() > MAX_GO {
        return Err(std::io::Error::other("an environment too large to send"));
    }
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("an environment too large to send"))?;
    let mut go = go;
    go.write_all(&len.to_le_bytes())?;
    go.write_all(&body)
}

/// What [`send_go`] sent, or `None` when it sent less (the init holds a copy of guard's end of
/// the socket too, so guard giving up shows as the init's death, not as the socket's end).
fn receive_go(go: &std::os::fd::OwnedFd) -> Option<Go> {
    use std::io::Read;
    use std::os::unix::ffi::OsStringExt;
    let mut from = std::fs::File::from(go.try_clone().ok()?);
    let mut len = [0u8; 4];
    from.read_exact(&mut len).ok()?;
    let len = usize::try_from(u32::from_le_bytes(len)).ok().filter(|n| *n <= MAX_GO)?;
    let mut body = vec![0u8; len];
    from.read_exact(&mut body).ok()?;
    let mut rest = body.as_slice();
    let temp = PathBuf::from(OsString::from_vec(take_part(&mut rest)?));
    let mut hidden = Vec::new();
    for _ in 0..take_u32(&mut rest)? {
        hidden.push(PathBuf::from(OsString::from_vec(take_part(&mut rest)?)));
    }
    let mut env = Vec::new();
    while let Some(k) = take_part(&mut rest) {
        env.push((OsString::from_vec(k), OsString::from_vec(take_part(&mut rest)?)));
    }
    Some(Go { temp, hidden, env })
}

/// The little-endian u32 at the start of `rest`, taken off it.
fn take_u32(rest: &mut &[u8]) -> Option<u32> {
    let (n, tail) = rest.split_first_chunk::<4>()?;
    *rest = tail;
    Some(u32::from_le_bytes(*n))
}

/// The length-prefixed bytes at the start of `rest` ([`send_go`]), taken off it.
fn take_part(rest: &mut &[u8]) -> Option<Vec<u8>> {
    let n = usize::try_from(take_u32(rest)?).ok()?;
    let (bytes, tail) = (rest.get(..n)?, rest.get(n..)?);
    *rest = tail;
    Some(bytes.to_vec())
}

/// Guard's word to go ([`send_go`]).
struct Go {
    temp: PathBuf,
    hidden: Vec<PathBuf>,
    env: Vec<(OsString, OsString)>,
}

/// The init's two sockets to the guard that forked it (see [`clone_line`]), and the CPUs it
/// may run on.
struct Handoff {
    report: std::os::fd::OwnedFd,
    go: std::os::fd::OwnedFd,
    cpus: Option<rustix::thread::CpuSet>,
}

/// Keeps the just-cloned init off this CPU until guard's word to go (the init then takes all of
/// `cpus` back: the line runs where it may, see [`init`]). The scheduler often queues a new
/// child on its parent's CPU, where it then waits for guard's own set-up (the broker, the temp
/// dir) instead of doing its own alongside; on this project's 2-CPU test machine that was half
/// the runs, 0.3 ms each.
fn elsewhere(init: rustix::process::Pid, cpus: &rustix::thread::CpuSet) {
    let here = rustix::thread::sched_getcpu();
    if cpus.count() > 1 && cpus.is_set(here) {
        let mut others = *cpus;
        others.unset(here);
        let _ = rustix::thread::sched_setaffinity(Some(init), &others);
    }
}

/// Clones the line's init straight into its namespaces (user, mount, pid and, where
/// the profile has no network and the seccomp filter cannot cut it, network):
/// pid 1 of the line's pid namespace and a child of this process, which dies with this process
/// (`PR_SET_PDEATHSIG`), and the line with it. One process fewer than an `unshare` would need
/// (a pid namespace takes only the unsharer's children), and so one fork and one exit fewer on
/// every line. Returns the init's pid; the init's own failures are its exit code (77: nothing
/// ran; 70: guard was gone or gave up first).
fn start_init(spec: &Spec, program: &Path, args: &[OsString], handoff: Option<Handoff>) -> Result<rustix::process::Pid, String> {
    let mut basis = basis(spec)?;
    // A guard that forks the init sends these with its word to go, resolved while the init
    // sets itself up ([`send_go`]); the exec'd helper has the time.
    if handoff.is_none() {
        basis.resolved = resolved_outside(spec);
    }
    // The init's way to tell whether this process is still there once its death signal is set:
    // its parent is outside its pid namespace, so `getppid` says 0 either way.
    let parent = rustix::process::pidfd_open(rustix::process::getpid(), rustix::process::PidfdFlags::empty())
        .map_err(|e| format!("cannot open guard's own pidfd: {e}"))?;
    match clone_init(basis.namespaces())? {
        Some(init) => {
            if let Some(cpus) = handoff.as_ref().and_then(|h| h.cpus.as_ref()) {
                elsewhere(init, cpus);
            }
            Ok(init)
        }
        None => std::process::exit(i32::from(init(spec, &basis, &parent, program, args, handoff.as_ref()))),
    }
}

/// In a forked child: takes `SIGKILL` as its death signal, and says whether its parent is still
/// `parent` (it may have died before the signal was set, and nobody would then wait for it).
/// Not for a pid namespace's init, whose parent's pid it sees as 0 (see [`init`]).
fn dies_with(parent: rustix::process::Pid) -> bool {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).is_ok()
        && rustix::process::getppid() == Some(parent)
}

/// Whether this process runs one thread (unknown is "no"). procfs counts a process's threads
/// in the links of its task directory (`proc_task_getattr`: 2, and one per thread, since Linux
/// 2.6): one `statx`, where reading `/proc/self/stat` has the kernel write out fifty fields.
fn single_threaded() -> bool {
    match rustix::fs::statx(rustix::fs::CWD, "/proc/self/task", rustix::fs::AtFlags::empty(), rustix::fs::StatxFlags::NLINK) {
        Ok(s) => s.stx_nlink == 3,
        // No statx (a container's seccomp profile, Linux < 4.11): the thread count's field.
        Err(_) => std::fs::read_to_string("/proc/self/stat").is_ok_and(|stat| {
            // The command name (field 2) is in parentheses and may hold spaces: count from its end.
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(17)).is_some_and(|n| n == "1")
        }),
    }
}

/// The exec'd helper's work ([`helper_main`]): starts the line's init ([`start_init`]), waits
/// for it and returns its exit code.
fn contain_and_run(spec: &Spec, program: &Path, args: &[OsString]) -> u8 {
    if spec.mounts_only {
        return mounts_only(spec, program, args);
    }
    match start_init(spec, program, args, None) {
        Ok(init) => crate::exec::wait_for_pid(init).unwrap_or_else(|e| {
            eprintln!("guard: the sandbox helper lost its line: {e}");
            70
        }),
        Err(cause) => {
            eprintln!("{}", super::unavailable(&cause));
            77
        }
    }
}

/// A bound script's path and the device and inode of the approved copy mounted over it.
type BoundScript = (PathBuf, (u64, u64));

/// What the line's init restricts itself to, read by the init once its ids are mapped ([`rules`]).
pub struct Rules {
    /// The hidden paths, symlinks resolved.
    hidden: Vec<PathBuf>,
    reads: Vec<(PathBuf, bool)>,
    listable: Vec<PathBuf>,
    writes: Vec<Tree>,
    /// The pins and the masked sockets that exist, mounted over in the line's mount namespace.
    pins: Vec<PathBuf>,
    masks: Vec<PathBuf>,
}

/// A tree the line may write, as the init opened it: its bind and its Landlock rule are made
/// through the descriptor, never the name again (another line may change what the name leads to).
struct Tree {
    path: PathBuf,
    is_dir: bool,
    fd: std::os::fd::OwnedFd,
}

impl Tree {
    /// `path` opened (`O_PATH`, following symlinks), and where that led; `None` where it is not.
    fn open(path: &Path) -> Option<(Tree, PathBuf)> {
        use rustix::fs::{Mode, OFlags};
        use std::os::fd::AsFd;
        let fd = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok()?;
        let is_dir = rustix::fs::fstat(&fd).ok()?.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let real = super::fd_path(fd.as_fd())?;
        Some((Tree { path: path.to_path_buf(), is_dir, fd }, real))
    }
}

/// The symlink on the way to `path` that a line may have made, or `path` itself when it no
/// longer leads to `real` (what the init opened); `None`: the links on the way, if any, are
/// the human's. A line makes links where it may write, and another line's project may hold
/// this one's cache — `~/go` the project, `~/go/pkg/mod` a cache: a line there made `pkg/mod`
/// a link to `~/.ssh`, and every later line could read the key, `chmod` it and write
/// `authorized_keys`. Only a directory that holds a hidden path (`hidden`, resolved: `~`,
/// `~/.config`, `/`, `/dev`) is no line's to write — no project, cache or approved tree may
/// hold one — so a link elsewhere on the way makes the tree no tree of the line's.
fn planted_link(path: &Path, real: &Path, hidden: &[PathBuf]) -> Option<PathBuf> {
    use std::ffi::OsString;
    use std::path::Component;
    /// Puts `p`'s names on `rest` (a stack: the first name last); false for a name no Linux path has.
    fn push(rest: &mut Vec<OsString>, p: &Path) -> bool {
        for c in p.components().rev() {
            match c {
                Component::Normal(n) => rest.push(n.to_os_string()),
                Component::ParentDir => rest.push(OsString::from("..")),
                Component::RootDir | Component::CurDir => {}
                Component::Prefix(_) => return false,
            }
        }
        true
    }
    let refused = Some(path.to_path_buf());
    // Walked as the kernel walks it, each link's target name by name (a link the human made
    // may lead to one a line made): `at` is always a path without links.
    let mut at = PathBuf::from("/");
    let mut rest = Vec::new();
    if !push(&mut rest, path) {
        return refused;
    }
    let mut links = 0;
    while let Some(name) = rest.pop() {
        if name == ".." {
            at.pop();
            continue;
        }
        let next = at.join(&name);
        match std::fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 40 || !hidden.iter().any(|h| within(h, &at)) {
                    return Some(next);
                }
                let Ok(target) = std::fs::read_link(&next) else { return refused };
                if target.is_absolute() {
                    at = PathBuf::from("/");
                }
                if !push(&mut rest, &target) {
                    return refused;
                }
            }
            Ok(_) => at = next,
            Err(_) => return refused,
        }
    }
    (at != real).then_some(refused).flatten()
}

/// What is settled before the line's init is cloned: its namespaces and its ids.
struct Basis {
    /// A network namespace of the line's own: the profile has no network and the filter cannot
    /// cut it.
    own_network: bool,
    /// The caller's uid and gid outside, mapped to themselves inside.
    ids: (u32, u32),
    /// The hidden paths as the caller resolves them, where it searches further than the init
    /// ([`resolved_outside`]): here for the exec'd helper, with the word to go from guard.
    resolved: Vec<PathBuf>,
    /// The seccomp program the line runs under ([`seccomp_program`]), which cuts the network
    /// where no network namespace of the line's own does. io_uring's own `openat` would pass
    /// the script supervisor by: refused where it serves.
    seccomp: seccompiler::BpfProgram,
}

impl Basis {
    /// The namespaces the line's init is cloned into.
    fn namespaces(&self) -> i32 {
        let own_network = if self.own_network { libc::CLONE_NEWNET } else { 0 };
        libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID | own_network
    }
}

/// A user and mount namespace with the scripts' copies mounted over them, then exec: a
/// `terraform apply` whose `local-exec` provisioners run the approved scripts.
fn mounts_only(spec: &Spec, program: &Path, args: &[OsString]) -> u8 {
    let mounted = mount_namespace().and_then(|()| spec.scripts.iter().map(mount_snapshot).collect::<Result<Vec<_>, _>>());
    let scripts = match mounted {
        Ok(s) => s,
        Err(cause) => {
            eprintln!(
                "guard: cannot mount the approved copies of the scripts over them: {cause}; nothing ran. With `[sandbox] mode = \"off\"` guard checks their hashes only"
            );
            return 77;
        }
    };
    // Watched from before the check on, and supervised as in a contained line: a rename from
    // outside while terraform applies does not re-point a script's name.
    let watch = match ScriptWatch::new(&scripts) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("guard: cannot watch the approved scripts' names: {e}; nothing ran");
            return 77;
        }
    };
    if let Err(why) = scripts_in_place(&scripts) {
        eprintln!("{why}");
        return 77;
    }
    if let Some(watch) = &watch {
        return supervised(watch, &scripts, program, args, None).code;
    }
    let err = std::process::Command::new(program).args(args).exec();
    eprintln!("guard: cannot run {}: {err}", program.display());
    if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 }
}

/// Last before the program starts: each script's path is its copy. A rename over the path from
/// outside the namespace detaches the mount (see [`mount_snapshot`]); after this check the
/// line's init watches for one (README, Containment → scripts).
fn scripts_in_place(scripts: &[(PathBuf, (u64, u64))]) -> Result<(), String> {
    match scripts.iter().find(|(path, id)| file_id(path) != Some(*id)) {
        Some((path, _)) => Err(format!(
            "guard: {} was replaced while the line started (it is no longer the approved copy); nothing ran. Run the line again",
            crate::display::escape(&path.to_string_lossy())
        )),
        None => Ok(()),
    }
}

/// Mounts a script's copy read-only over the script's path: what bash (`source`, `bash x.sh`),
/// the kernel's `#!` loader and the interpreter it starts open by that name is the copy, and a
/// rewrite of the original file in place (`cat > x.sh`, an editor that truncates) no longer
/// reaches this namespace. The way round it is a rename from outside this namespace: over the
/// path (the kernel detaches the mount, Linux ≥ 3.18), of the script away or of a directory on
/// the path (the mount moves with its entry). The check before the program starts catches one
/// up to that moment; after it, the script supervisor ([`super::notify`]) hands the line the
/// copy on every open of the name and [`ScriptWatch`] stops the line.
fn mount_snapshot(snap: &crate::scripts::Snapshot) -> Result<(PathBuf, (u64, u64)), String> {
    let id = file_id(&snap.copy).ok_or_else(|| format!("the copy of {} is gone", snap.path.display()))?;
    bind_read_only(&snap.copy, &snap.path).map_err(|e| format!("cannot put the approved copy over {}: {e}", snap.path.display()))?;
    Ok((snap.path.clone(), id))
}

/// The line's init: pid 1 of its own pid namespace, so when it ends — after the program — the
/// kernel kills every process the line left behind (a daemon, a `setsid … &`): nothing of a
/// line outlives it. It mounts the namespace's own `/proc`, takes Landlock and the seccomp
/// filter (the program inherits both), and runs the program, relaying the signals guard relays.
/// It dies with its parent (`PR_SET_PDEATHSIG`; `parent` is its pidfd), and the line with it.
fn init(spec: &Spec, basis: &Basis, parent: &std::os::fd::OwnedFd, program: &Path, args: &[OsString], handoff: Option<&Handoff>) -> u8 {
    use rustix::event::{PollFd, PollFlags, Timespec};
    use std::os::fd::AsFd;
    // Said before the init ends: its end (the kernel killing what the line left, the mount
    // namespace's teardown) then overlaps guard's exec record, and where the program's process
    // was the line's last, guard's own end too (see `alone`).
    let ended = |outcome: crate::exec::Outcome| {
        if let Some(h) = handoff {
            let over = alone();
            if over {
                // Whoever reads guard's output through a pipe waits for every copy of its
                // write end: the init's would hold it open until the init has ended.
                stdio_to_null(false);
            }
            crate::exec::report_outcome(h.report.as_fd(), &outcome, over);
        }
        outcome.code
    };
    use rustix::mount::MountFlags as M;
    if rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).is_err() {
        return 77;
    }
    // The parent died before the death signal was set (its pidfd is readable once it has):
    // nobody would wait for, relay or audit the line.
    let mut gone = [PollFd::new(parent, PollFlags::IN)];
    if rustix::event::poll(&mut gone, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })).map_or(true, |n| n > 0) {
        eprintln!("guard: the line's init lost guard before it started the program; nothing ran");
        return 70;
    }
    let (rules, scripts) = match enter(spec, basis) {
        Ok(entered) => entered,
        Err(cause) => {
            eprintln!("{}", super::unavailable(&cause));
            return 77;
        }
    };
    // Best effort: where the kernel refuses a new procfs (a host /proc with parts masked), the
    // line sees the host's pids, which Landlock's scoping already keeps it from signalling.
    if rustix::mount::mount("proc", "/proc", "proc", M::NOSUID | M::NODEV | M::NOEXEC, None).is_err() {
        // The host's, made writable for the line's own (see `read_only_but`): read-only again.
        let _ = mount_setattr(None, Path::new("/proc"), false, libc::MOUNT_ATTR_RDONLY, 0);
    }
    // Built while guard may still be writing the decision record and claiming the temp dir
    // (added and taken after its word).
    let mut rules = rules;
    let mut landlock = match ruleset(&rules.reads, &rules.listable, &rules.writes) {
        Ok(r) => r,
        Err(cause) => {
            eprintln!("{}", super::unavailable(&cause));
            return 77;
        }
    };
    // Guard's word that the line's decision record is written, its temp dir claimed (see
    // `sandbox::pool`) and the broker listening, with the program's environment. Guard gives
    // up by killing the init (`sandbox::Init`'s drop) or by dying (the death signal); a word
    // cut short is the same.
    let received = match handoff.map(|h| receive_go(&h.go)) {
        Some(None) => {
            eprintln!("guard: the line's init got no word to go from guard; nothing ran");
            return 70;
        }
        Some(Some(go)) => Some(go),
        None => None,
    };
    let Some(temp) = received.as_ref().map(|go| go.temp.as_path()).or(spec.temp.as_deref()) else {
        eprintln!("guard: the line's init was given no temp dir; nothing ran");
        return 70;
    };
    let env = received.as_ref().map(|go| go.env.as_slice());
    // Hidden as guard resolved them too (see `resolved_outside`): the ruleset again if that
    // hid more.
    if received.as_ref().is_some_and(|go| rules.hide(&go.hidden, &spec.profile)) {
        landlock = match ruleset(&rules.reads, &rules.listable, &rules.writes) {
            Ok(r) => r,
            Err(cause) => {
                eprintln!("{}", super::unavailable(&cause));
                return 77;
            }
        };
    }
    // Guard moved it off its own CPU before the word (see `elsewhere`): the line runs anywhere.
    if let Some(cpus) = handoff.and_then(|h| h.cpus.as_ref()) {
        let _ = rustix::thread::sched_setaffinity(None, cpus);
    }
    let taken = open_temp(temp)
        .and_then(|fd| writable(temp, fd.as_fd()).and_then(|()| mounts_done()).and_then(|()| restrict(landlock, &fd)))
        .and_then(|()| seccompiler::apply_filter(&basis.seccomp).map_err(|e| format!("cannot install the seccomp filter: {e}")));
    if let Err(cause) = taken {
        eprintln!("{}", super::unavailable(&cause));
        return 77;
    }
    // Watched from before the check on: a rename after it stops the line (see `ScriptWatch`).
    let watch = match ScriptWatch::new(&scripts) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("guard: cannot watch the approved scripts' names: {e}; nothing ran");
            return 77;
        }
    };
    if let Err(why) = scripts_in_place(&scripts) {
        eprintln!("{why}");
        return 77;
    }
    if let Some(watch) = &watch {
        return ended(supervised(watch, &scripts, program, args, env));
    }
    let mut command = std::process::Command::new(program);
    command.args(args);
    if let Some(env) = env {
        command.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    }
    match crate::exec::run_command(command, program, None, None, None) {
        Ok(outcome) => ended(outcome),
        Err(crate::error::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("guard: cannot run {}: {source}", program.display());
            127
        }
        Err(e) => {
            eprintln!("guard: cannot run {}: {e}", program.display());
            126
        }
    }
}

/// In the line's init, once its program's process is reaped: whether no other process of the
/// line is left, reaping those that ended. Every process of the line's pid namespace descends
/// from its init (orphans are given to it, or to a subreaper below it), so an init without
/// children is the line's last process, and nothing of the line can run again: the init starts
/// nothing more.
fn alone() -> bool {
    loop {
        match rustix::process::wait(rustix::process::WaitOptions::NOHANG) {
            Ok(Some(_)) => {}
            Ok(None) => return false,
            Err(e) => return e == rustix::io::Errno::CHILD,
        }
    }
}

/// The init's run of a program whose line binds scripts, under the script supervisor
/// ([`super::notify`]): the init forks the program's process itself, which takes the notifying
/// filter and hands its listener to the init last before its exec (std's `spawn` would wait
/// for an exec the init itself must answer). The init never runs under that filter.
fn supervised(
    watch: &ScriptWatch,
    scripts: &[(PathBuf, (u64, u64))],
    program: &Path,
    args: &[OsString],
    env: Option<&[(OsString, OsString)]>,
) -> crate::exec::Outcome {
    use super::notify;
    if let Err(cause) = notify::available() {
        eprintln!("{}", super::unavailable(&cause));
        return crate::exec::Outcome::exited(77);
    }
    let bound = match notify::bind(scripts) {
        Ok(b) => b,
        Err(why) => {
            eprintln!("{why}");
            return crate::exec::Outcome::exited(77);
        }
    };
    let (ours, theirs) = match notify::handoff() {
        Ok(pair) => pair,
        Err(cause) => {
            eprintln!("{}", super::unavailable(&cause));
            return crate::exec::Outcome::exited(77);
        }
    };
    let supervisor_pid = rustix::process::getpid();
    match fork() {
        Err(cause) => {
            eprintln!("{}", super::unavailable(&cause));
            crate::exec::Outcome::exited(77)
        }
        Ok(None) => {
            drop(ours);
            // Where there is no pid namespace to end with the supervisor (`mounts_only`), the
            // program ends with it; what it started can then open and exec nothing (a filter
            // whose listener is gone fails those calls with ENOSYS).
            if !dies_with(supervisor_pid) {
                std::process::exit(77);
            }
            // The init is not dumpable (its memory is guard's); this copy of it must be, for the
            // init to read its exec's path (`/proc/<pid>/mem`) — nothing of the line exists yet
            // to read it, and the exec makes the program as dumpable as its binary allows.
            let dumpable = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable);
            if let Err(cause) =
                dumpable.map_err(|e| format!("cannot make the program's process dumpable: {e}")).and_then(|()| notify::install(&theirs))
            {
                eprintln!("{}", super::unavailable(&cause));
                std::process::exit(77);
            }
            drop(theirs);
            let mut command = std::process::Command::new(program);
            command.args(args);
            if let Some(env) = env {
                command.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
            }
            let err = command.exec();
            eprintln!("guard: cannot run {}: {err}", program.display());
            std::process::exit(if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 })
        }
        Ok(Some(pid)) => {
            drop(theirs);
            let supervisor = match notify::Supervisor::new(watch, ours, bound) {
                Ok(s) => s,
                Err(cause) => {
                    eprintln!("{}", super::unavailable(&cause));
                    // The program waits at its first call for an answer that never comes.
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                    return crate::exec::Outcome::exited(77);
                }
            };
            crate::exec::wait_for_forked(pid, None, Some(&supervisor), None).map(|(o, _)| o).unwrap_or_else(|e| {
                eprintln!("guard: the line's init lost its program: {e}");
                crate::exec::Outcome::exited(70)
            })
        }
    }
}

/// Every name on the way to each bound script, watched by the line's init while the line runs.
/// A rename from outside the line's mount namespace — over the script, of the script away, of a
/// directory on its path — makes that name stop resolving to the mounted copy (see
/// [`mount_snapshot`]); the init then ends, and with it, pid 1 of the line's pid namespace, the
/// whole line (the kernel kills every process in it). The script supervisor
/// ([`super::notify`]) drains it before it answers each open or exec, and hands the line the
/// approved copy on the opens the watch has not yet seen.
pub(super) struct ScriptWatch {
    fd: std::os::fd::OwnedFd,
    /// (watch descriptor of a directory, the name in it that leads to `script`, script)
    names: Vec<(i32, Vec<u8>, PathBuf)>,
}

impl ScriptWatch {
    /// `None` without scripts.
    fn new(scripts: &[(PathBuf, (u64, u64))]) -> Result<Option<ScriptWatch>, String> {
        use rustix::fs::inotify::{CreateFlags, WatchFlags as W};
        use std::os::unix::ffi::OsStrExt;
        if scripts.is_empty() {
            return Ok(None);
        }
        let fd = rustix::fs::inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).map_err(|e| e.to_string())?;
        let mut names = Vec::new();
        for (script, _) in scripts {
            // The names on the way to the script as named, and to what it links to (a rename
            // over a symlink's target detaches the mount as one over the script does).
            let real = std::fs::canonicalize(script).ok().filter(|r| r != script);
            for path in std::iter::once(script).chain(real.as_ref()) {
                for dir in path.ancestors().skip(1) {
                    let Some(name) = path.strip_prefix(dir).ok().and_then(|rest| rest.components().next()) else { continue };
                    let wd = rustix::fs::inotify::add_watch(&fd, dir, W::MOVED_FROM | W::MOVED_TO | W::DELETE | W::CREATE | W::ONLYDIR)
                        .map_err(|e| format!("{}: {e}", dir.display()))?;
                    names.push((wd, name.as_os_str().as_bytes().to_vec(), script.clone()));
                }
            }
        }
        Ok(Some(ScriptWatch { fd, names }))
    }

    fn stop(&self, script: Option<&Path>) -> ! {
        let what =
            script.map_or_else(|| "an approved script's name".to_string(), |s| crate::display::escape(&s.to_string_lossy()).into_owned());
        eprintln!(
            "guard: {what} was renamed, replaced or removed from outside the line while it ran; the line was stopped (it runs only the approved copy). Run it again to have the new content judged"
        );
        std::process::exit(77)
    }

    pub(super) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.fd)
    }

    /// Reads every event queued; ends the line (77) on one that touches a script's names.
    pub(super) fn drain(&self) {
        use rustix::fs::inotify::ReadFlags;
        let mut buf = [std::mem::MaybeUninit::uninit(); 4096];
        let mut events = rustix::fs::inotify::Reader::new(&self.fd, &mut buf);
        loop {
            match events.next() {
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => return,
                // Events lost or unreadable: what happened to the names is unknown.
                Err(_) => self.stop(None),
                Ok(e) if e.events().contains(ReadFlags::QUEUE_OVERFLOW) => self.stop(None),
                Ok(e) => {
                    let (wd, name) = (e.wd(), e.file_name().map(|n| n.to_bytes().to_vec()));
                    if let Some((_, _, script)) = self.names.iter().find(|(w, n, _)| *w == wd && name.as_ref() == Some(n)) {
                        self.stop(Some(script));
                    }
                }
            }
        }
    }
}

/// The finisher's stack (it needs a few kilobytes), above one guard page.
const FINISHER_STACK: usize = 64 * 1024;
const GUARD_PAGE: usize = 4096;

/// The seventh unsafe call in guard: `clone(2)` with `CLONE_VM`, to start the audit log's
/// finisher (`audit::Finisher`) on `sock`. A process that shares guard's memory costs guard
/// neither a copy of its page tables nor a copied page on its next writes (a `fork` here was
/// ~0.15 ms and ~100 page faults between guard and the copy), and outlives it: guard's exit
/// leaves the memory to it. Sound because the finisher touches only its own stack (mapped here
/// and never unmapped), the descriptors in its own table (the clone copies the table) and
/// static bytes: it calls no allocator, takes no lock, and reads and writes no thread-local
/// (rustix's calls are raw system calls, which set no `errno`), so nothing guard does — with
/// one thread or several, until and through its exit — can race it; and guard writes nothing
/// it reads. The C library's `clone` runs [`finisher`] on that stack and ends the process with
/// its return value. `false` where nothing would reap it ([`orphans_reaped`]) or the kernel
/// refuses.
#[allow(unsafe_code)]
pub fn start_finisher(sock: std::os::fd::OwnedFd, ours: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    if !orphans_reaped() {
        return false;
    }
    let len = FINISHER_STACK + GUARD_PAGE;
    // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return false;
    }
    // SAFETY: the mapping's lowest page (`base` is page-aligned and `len` covers it), as the
    // stack's guard: an overflow faults instead of writing below it.
    if unsafe { libc::mprotect(base, GUARD_PAGE, libc::PROT_NONE) } != 0 {
        return false;
    }
    // SAFETY: `len` bytes from `base` are the mapping; its end is page-aligned, so 16-aligned.
    let top = unsafe { base.cast::<u8>().add(len) }.cast::<libc::c_void>();
    let (Ok(fd), Ok(other)) = (u32::try_from(sock.as_raw_fd()), u32::try_from(ours.as_raw_fd())) else { return false };
    let arg = (u64::from(other) << 32) | u64::from(fd);
    // SAFETY: see above; both descriptors are open here, and so in the child's copy of the table.
    let pid = unsafe { libc::clone(finisher, top, libc::CLONE_VM | libc::SIGCHLD, arg as usize as *mut libc::c_void) };
    // guard's own copy of the finisher's end goes; the finisher's stays open in its table.
    drop(sock);
    pid > 0
}

/// The finisher's life (see [`start_finisher`]): every signal blocked but `SIGKILL` (guard's
/// handlers, copied into it, are guard's business); every descriptor of the copied table
/// closed but stdio and its socket — guard's end of that socket above all, or the finisher
/// would never see it end when guard dies before the hand-over, and would keep guard's locks'
/// and pipes' open file descriptions for good; its own session (a terminal's Ctrl-C is not for
/// it); `/dev/null` for stdin and stdout, and for stderr unless that is a terminal (whoever
/// reads guard's pipes would otherwise wait for its end as well as guard's); then the word
/// that it is ready, then `audit::finish_handed`. Descriptors are closed with raw system calls
/// only (the C library's `close` touches the calling thread's data, which is guard's).
#[allow(unsafe_code)]
extern "C" fn finisher(arg: *mut libc::c_void) -> libc::c_int {
    let arg = arg as usize as u64;
    let (fd, guards) = ((arg & 0xffff_ffff) as std::os::fd::RawFd, (arg >> 32) as std::os::fd::RawFd);
    // SAFETY: a local set, filled, then made this process's mask; nothing else is touched.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
    }
    // SAFETY: guard's end of the socket, open in this process's own table and not used here.
    unsafe { rustix::io::close(guards) };
    close_all_but(fd);
    // SAFETY: the socket's descriptor, open in this process's table (see `start_finisher`).
    let sock = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let _ = rustix::process::setsid();
    stdio_to_null(true);
    if rustix::io::write(sock, &[1]).is_err() {
        return 0;
    }
    crate::audit::finish_handed(sock)
}

/// `/dev/null` for stdin, stdout and stderr (stderr kept where `keep_terminal` and it is a
/// terminal, which no reader waits on to end), for a process that is done with guard's stdio:
/// a finished line's init, the finisher. `/dev/null`'s own descriptor is left open (the process
/// ends soon): closing it through std would call the C library's `close`, which the finisher
/// must not.
fn stdio_to_null(keep_terminal: bool) {
    use rustix::fs::{Mode, OFlags};
    let Ok(null) = rustix::fs::open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()) else { return };
    let null = std::mem::ManuallyDrop::new(null);
    let _ = rustix::stdio::dup2_stdin(&*null);
    let _ = rustix::stdio::dup2_stdout(&*null);
    if !(keep_terminal && rustix::termios::isatty(rustix::stdio::stderr())) {
        let _ = rustix::stdio::dup2_stderr(&*null);
    }
}

/// In the finisher: closes every descriptor above stdio but `keep`, as `/proc/self/fd` lists
/// them (read into a buffer on the stack, in rounds, until a round finds none to close).
/// Without procfs they stay open until the finisher ends, which it does once guard's end of
/// its socket is gone.
#[allow(unsafe_code)]
fn close_all_but(keep: std::os::fd::RawFd) {
    use rustix::fs::{Mode, OFlags};
    for _ in 0..64 {
        let Ok(dir) = rustix::fs::open("/proc/self/fd", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) else {
            return;
        };
        let dir = std::mem::ManuallyDrop::new(dir);
        let own = std::os::fd::AsRawFd::as_raw_fd(&*dir);
        let mut found = [0 as std::os::fd::RawFd; 256];
        let mut n = 0;
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
        let mut entries = rustix::fs::RawDir::new(&*dir, &mut buf);
        while let Some(Ok(entry)) = entries.next() {
            let fd = entry.file_name().to_bytes().iter().try_fold(0 as std::os::fd::RawFd, |v, d| {
                d.is_ascii_digit().then(|| v.checked_mul(10).and_then(|v| v.checked_add(std::os::fd::RawFd::from(d - b'0')))).flatten()
            });
            if let (Some(fd), Some(slot)) = (fd.filter(|fd| *fd > 2 && *fd != keep && *fd != own), found.get_mut(n)) {
                *slot = fd;
                n += 1;
            }
        }
        // SAFETY: descriptors of this process's own table that nothing here uses (the kept
        // socket, stdio and the listing's own excepted).
        for fd in found.iter().take(n) {
            unsafe { rustix::io::close(*fd) };
        }
        // SAFETY: the listing's own descriptor, not used after this.
        unsafe { rustix::io::close(own) };
        if n == 0 {
            return;
        }
    }
}

/// Whether a process guard leaves behind (the finisher, a finished line's init) will be reaped
/// once it ends. Not where guard's parent is pid 1 (or guard was orphaned): an agent run as a
/// container's first process without an init (`docker run` without `--init`) reaps only the
/// children it started, and every line would leave two zombies, each holding a pid and the
/// init's namespaces. There guard waits for what it started, as it did before it left anything.
pub fn orphans_reaped() -> bool {
    rustix::process::getppid().is_some_and(|p| !p.is_init())
}

/// The second unsafe call in guard: `fork(2)`, to make the program's process under the script
/// supervisor (from the line's init, or from the helper for `mounts_only`). `None` in the
/// child. Sound here: the caller is single-threaded — the init starts no thread, and the helper
/// unshared a user namespace, which the kernel refuses to multi-threaded callers — so no lock
/// can be held by a thread that does not exist in the child.
#[allow(unsafe_code)]
fn fork() -> Result<Option<rustix::process::Pid>, String> {
    // SAFETY: single-threaded caller (see above); the child only runs guard's own code.
    match unsafe { libc::fork() } {
        -1 => Err(format!("cannot fork the line's program: {}", std::io::Error::last_os_error())),
        0 => Ok(None),
        pid => Ok(rustix::process::Pid::from_raw(pid)),
    }
}

/// The fifth unsafe call in guard: `clone(2)` with `flags` (new namespaces) and `SIGCHLD`, no
/// stack (the child runs on a copy of the caller's, as after a fork), to make the line's init:
/// from guard, which checks it runs one thread ([`single_threaded`]), or from the exec'd
/// helper, which starts none. `None` in the child. Sound here as [`fork`] is — no lock can be
/// held by a thread the child lacks — and the C library's state holds: without `CLONE_VM` the
/// child's memory is a copy, as after `fork(2)`. What the C library's own `fork` would do
/// besides is run `pthread_atfork` handlers (guard registers none) and put the child's tid in
/// its thread block, which only mutex ownership and `pthread_kill` of another thread read: the
/// init is single-threaded, and `raise`/`abort` on the calling thread ask the kernel for its
/// tid (glibc ≥ 2.34). bubblewrap makes its pid 1 the same way.
#[allow(unsafe_code)]
fn clone_init(flags: i32) -> Result<Option<rustix::process::Pid>, String> {
    let flags = libc::c_ulong::try_from(flags | libc::SIGCHLD).map_err(|e| format!("bad clone flags: {e}"))?;
    // SAFETY: single-threaded caller, no CLONE_VM (see above); the child only runs guard's code.
    match unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) } {
        -1 => Err(refused(std::io::Error::last_os_error())),
        0 => Ok(None),
        pid => i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw).map(Some).ok_or_else(|| format!("clone(2) returned {pid}")),
    }
}

/// The line's namespaces and ids, or why it cannot be contained.
fn basis(spec: &Spec) -> Result<Basis, String> {
    if std::env::var_os(super::SIMULATE_UNAVAILABLE_ENV).is_some_and(|v| !v.is_empty()) {
        return Err(format!("Landlock is not available (simulated by {})", super::SIMULATE_UNAVAILABLE_ENV));
    }
    let network = spec.profile.network;
    // A network namespace costs more than anything else the line's set-up does (the kernel
    // registers a loopback device and its sysctls: ~0.7 ms of CPU per line, and more to tear
    // down). Where Landlock scopes abstract unix sockets (ABI 6) — the one reach of the host's
    // network namespace a socket filter cannot see — the seccomp filter cuts the network instead.
    let cut_network_by_filter = !network && abstract_sockets_scoped();
    // Built before the clone: the same work in the init would first copy every page it writes.
    let seccomp = seccomp_program(cut_network_by_filter, cut_network_by_filter || !spec.scripts.is_empty())?;
    Ok(Basis { own_network: !network && !cut_network_by_filter, ids: own_ids(), resolved: Vec::new(), seccomp })
}

/// What the line's init restricts itself to, read in the init once its ids are mapped (they
/// map to themselves) and before it mounts anything but its `/dev/pts`; `resolved` are the hidden paths as the
/// caller resolved them ([`resolved_outside`]), hidden as well.
fn rules(spec: &Spec, resolved: &[PathBuf]) -> Rules {
    let p = &spec.profile;
    let pins = p.pinned.iter().filter(|f| std::fs::symlink_metadata(f).is_ok()).cloned().collect();
    let mut parents = Resolved::default();
    let mut hidden: Vec<PathBuf> = p.hidden.iter().map(|h| canonical(h, &mut parents)).collect();
    hidden.push(PathBuf::from("/dev"));
    for r in resolved {
        if !hidden.contains(r) {
            hidden.push(r.clone());
        }
    }
    let (reads, listable) = reads(&hidden, p, &mut parents);
    // The temp dir is added last (see `restrict`): guard claims it while the init starts.
    let device_dirs = DEVICE_DIRS.iter().map(Path::new);
    let mut writes = Vec::new();
    for (tree, real) in p.write.iter().map(PathBuf::as_path).chain(device_dirs).filter_map(Tree::open) {
        match planted_link(&tree.path, &real, &hidden) {
            None => writes.push(tree),
            Some(link) => eprintln!(
                "guard: {} is not writable in this line: the way to it leads through {}, a symlink where a line may write",
                crate::display::escape(&tree.path.to_string_lossy()),
                crate::display::escape(&link.to_string_lossy())
            ),
        }
    }
    let masks = p.masked.iter().filter(|m| std::fs::symlink_metadata(m).is_ok_and(|t| !t.is_dir())).cloned().collect();
    Rules { hidden, reads, listable, writes, pins, masks }
}

/// The read grants and the listable directories: everything but `hidden` ([`split_reads`],
/// with the directories `resolved` listed already), and the profile's `readable` inside it.
fn reads(hidden: &[PathBuf], p: &Profile, resolved: &mut Resolved) -> (Vec<(PathBuf, bool)>, Vec<PathBuf>) {
    let (mut reads, mut listable) = (Vec::new(), vec![PathBuf::from("/")]);
    split_reads(Path::new("/"), hidden, &mut reads, &mut listable, 0, resolved);
    for r in &p.readable {
        if let Ok(m) = std::fs::metadata(r) {
            reads.push((r.clone(), m.is_dir()));
        }
    }
    (reads, listable)
}

impl Rules {
    /// Hides `more` as well: the reads are split again only when one of them is new (guard's
    /// resolution reached what the init's could not, see [`resolved_outside`]).
    /// Says whether it did.
    fn hide(&mut self, more: &[PathBuf], p: &Profile) -> bool {
        let new: Vec<PathBuf> = more.iter().filter(|h| !self.hidden.contains(h)).cloned().collect();
        if new.is_empty() {
            return false;
        }
        self.hidden.extend(new);
        (self.reads, self.listable) = reads(&self.hidden, p, &mut Resolved::default());
        true
    }
}

/// The hidden paths with symlinks resolved by the caller, outside the line's user namespace
/// (while the init sets itself up, sent with the word to go; before the clone in the exec'd
/// helper), where the caller can search directories the init cannot: the init is root in a user namespace that
/// maps only the caller's ids, and its capabilities reach only inodes of mapped owners, while
/// a caller with `CAP_DAC_OVERRIDE` or `CAP_DAC_READ_SEARCH` (root, `sudo`) searches every
/// directory. A secret that is a symlink behind another user's 0700 home (`sudo` keeping that
/// user's `HOME`; `~/.kube` → `/etc/kubernetes`) would otherwise be hidden by its name only,
/// and its target, which root inside can read, not at all. Without those capabilities the init
/// searches all the caller can (and its own ids' unsearchable directories besides): nothing to
/// do here.
pub fn resolved_outside(spec: &Spec) -> Vec<PathBuf> {
    use rustix::thread::CapabilitySet as C;
    let privileged = rustix::thread::capabilities(None).map_or(true, |c| c.effective.intersects(C::DAC_OVERRIDE | C::DAC_READ_SEARCH));
    if !privileged {
        return Vec::new();
    }
    let mut parents = Resolved::default();
    spec.profile.hidden.iter().map(|h| canonical(h, &mut parents)).collect()
}

/// In the line's init, just cloned into its namespaces: maps the caller's uid and gid to
/// themselves, reads the rules, makes the init non-dumpable, and mounts (step 2); returns the
/// rules and each bound script's path and the device and inode of its mounted copy.
///
/// Not dumpable from the id maps on (which a non-dumpable process cannot write: its /proc files
/// belong to root): the init is the program's parent, and its memory and `/proc/1/environ` —
/// guard's own environment, credentials included — are no line's to read. The program's exec
/// makes it dumpable again, as it was.
fn enter(spec: &Spec, basis: &Basis) -> Result<(Rules, Vec<BoundScript>), String> {
    map_ids(basis.ids)?;
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| format!("cannot make the line's init non-dumpable: {e}"))?;
    // Before the rules, which open the writable trees: `/dev/pts` is the private one's.
    private_ptys()?;
    let rules = rules(spec, &basis.resolved);
    read_only_but(&rules.writes)?;
    for pin in &rules.pins {
        pin_read_only(pin)?;
    }
    for socket in &rules.masks {
        rustix::mount::mount_bind("/dev/null", socket).map_err(|e| format!("cannot mask {}: {e}", socket.display()))?;
    }
    Ok((rules, spec.scripts.iter().map(mount_snapshot).collect::<Result<_, _>>()?))
}

/// Whether this kernel's Landlock scopes abstract unix sockets (ABI 6), so that a line without a
/// network namespace of its own still cannot connect to the host's abstract sockets.
fn abstract_sockets_scoped() -> bool {
    Ruleset::default().set_compatibility(CompatLevel::HardRequirement).scope(Scope::from_all(ABI::V6)).and_then(|r| r.create()).is_ok()
}

/// `ioctl(2)`'s syscall number, per architecture the filter is built for.
#[cfg(target_arch = "x86_64")]
const SYS_IOCTL: i64 = 16;
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
const SYS_IOCTL: i64 = 29;
/// Push a byte into a terminal's input queue; write to a Linux console's selection buffer.
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;

/// `socket(2)` and `socketpair(2)`, and io_uring's three calls, per architecture; on x86_64 also
/// their x32 numbers (the same with bit 30 set: the filter's architecture check lets them by).
#[cfg(target_arch = "x86_64")]
const SOCKET_CALLS: &[i64] = &[41, 53, 41 | X32, 53 | X32];
#[cfg(target_arch = "x86_64")]
const IO_URING_CALLS: &[i64] = &[425, 426, 427, 425 | X32, 426 | X32, 427 | X32];
#[cfg(target_arch = "x86_64")]
const X32: i64 = 0x4000_0000;
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
const SOCKET_CALLS: &[i64] = &[198, 199];
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
const IO_URING_CALLS: &[i64] = &[425, 426, 427];
/// `AF_UNIX` and `AF_NETLINK`: the only socket families a line without the network may open.
const LOCAL_FAMILIES: [u64; 2] = [1, 16];

/// The seccomp filter every contained process runs under. It refuses `TIOCSTI` and `TIOCLINUX`
/// on any descriptor: with the human's terminal as stdin (`guard run`, an interactive line), a
/// contained process could otherwise type a command into that terminal's input queue, which the
/// human's shell runs, uncontained, once guard exits (bubblewrap's CVE-2017-5226;
/// `dev.tty.legacy_tiocsti` is still 1 on many kernels). With `cut_network` it also refuses
/// every socket but a unix or netlink one, and io_uring (whose `IORING_OP_SOCKET` makes sockets
/// without `socket(2)`): no connection outside the sandbox, the host's loopback included — what
/// a network namespace of the line's own gives, at a fraction of its cost. Everything else is
/// allowed: Landlock and the namespaces are the sandbox.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"))]
fn seccomp_program(cut_network: bool, no_io_uring: bool) -> Result<seccompiler::BpfProgram, String> {
    use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule};
    let err = |e: seccompiler::Error| format!("cannot build the seccomp filter: {e}");
    let backend = |e| err(seccompiler::Error::Backend(e));
    // The kernel reads the request as an unsigned int: compare the low 32 bits only.
    let on = |request: u64| {
        SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, request)
            .and_then(|c| SeccompRule::new(vec![c]))
            .map_err(backend)
    };
    let mut rules = std::collections::BTreeMap::from([(SYS_IOCTL, vec![on(TIOCSTI)?, on(TIOCLINUX)?])]);
    if cut_network {
        for &call in SOCKET_CALLS {
            // Any family but the local ones (the conditions of one rule all hold together).
            let family_is_not_local = LOCAL_FAMILIES
                .iter()
                .map(|&f| SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, f))
                .collect::<Result<Vec<_>, _>>()
                .and_then(SeccompRule::new)
                .map_err(backend)?;
            rules.insert(call, vec![family_is_not_local]);
        }
    }
    if no_io_uring {
        for &call in IO_URING_CALLS {
            // An empty rule list matches every use of the call.
            rules.insert(call, Vec::new());
        }
    }
    let arch = std::env::consts::ARCH.try_into().map_err(|e| err(seccompiler::Error::Backend(e)))?;
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(1), arch).map_err(|e| err(seccompiler::Error::Backend(e)))?;
    filter.try_into().map_err(|e| err(seccompiler::Error::Backend(e)))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
fn seccomp_program(_cut_network: bool, _no_io_uring: bool) -> Result<seccompiler::BpfProgram, String> {
    Err("guard has no seccomp filter against terminal injection for this architecture".into())
}

/// `p` with symlinks resolved; a path that does not exist is its parent's resolved path joined
/// with its name. The policy's secrets share a few parents (`~`, `~/.config`) and most of them
/// do not exist on a given machine, so each directory on the way is resolved once and kept in
/// `resolved` (a `realpath` is a `readlink` per component, and the secrets' ~20 parents would
/// repeat `/home` and `~` each time), and each is listed once: a name is looked up in its
/// parent's listing, whose entry types tell a symlink, which alone is resolved further. Where
/// a directory cannot be listed, each name in it is one `lstat`; below a parent that does not
/// exist, none.
fn canonical(p: &Path, resolved: &mut Resolved) -> PathBuf {
    resolve(p, resolved).0
}

/// What [`canonical`] found: each path's resolution and whether it exists, and the listings of
/// the directories it looked in (`None`: not listable).
#[derive(Default)]
struct Resolved {
    paths: std::collections::HashMap<PathBuf, (PathBuf, bool)>,
    listings: std::collections::HashMap<PathBuf, Option<std::collections::HashMap<OsString, std::fs::FileType>>>,
}

/// Whether `name` in the directory `dir` is a symlink: `None` when it is not there, from the
/// directory's listing (made once) or, where it cannot be listed, an `lstat`.
fn entry_is_symlink(dir: &Path, name: &std::ffi::OsStr, resolved: &mut Resolved) -> Option<bool> {
    match listing(dir, resolved) {
        Some(entries) => entries.get(name).map(std::fs::FileType::is_symlink),
        None => std::fs::symlink_metadata(dir.join(name)).ok().map(|m| m.file_type().is_symlink()),
    }
}

/// The names in the directory `dir` and their types, listed once (`None`: not listable).
fn listing<'a>(dir: &Path, resolved: &'a mut Resolved) -> Option<&'a std::collections::HashMap<OsString, std::fs::FileType>> {
    resolved
        .listings
        .entry(dir.to_path_buf())
        .or_insert_with(|| {
            std::fs::read_dir(dir)
                .ok()
                .map(|entries| entries.flatten().filter_map(|e| Some((e.file_name(), e.file_type().ok()?))).collect())
        })
        .as_ref()
}

fn resolve(p: &Path, resolved: &mut Resolved) -> (PathBuf, bool) {
    use std::path::Component;
    if let Some(r) = resolved.paths.get(p) {
        return r.clone();
    }
    let r = match (p.parent(), p.components().next_back()) {
        (Some(parent), Some(Component::Normal(name))) if parent.is_absolute() => {
            let (parent, found) = resolve(parent, resolved);
            let joined = parent.join(name);
            match found.then(|| entry_is_symlink(&parent, name, resolved)).flatten() {
                Some(true) => (std::fs::canonicalize(&joined).unwrap_or(joined), true),
                Some(false) => (joined, true),
                None => (joined, false),
            }
        }
        _ => match std::fs::canonicalize(p) {
            Ok(r) => (r, true),
            Err(_) => (p.to_path_buf(), false),
        },
    };
    resolved.paths.insert(p.to_path_buf(), r.clone());
    r
}

/// Landlock grants whole trees and cannot take a subtree back, so a read grant on `dir` that
/// must not cover a hidden path below it becomes a grant on each of its entries, recursing only
/// along the way to the hidden paths. A symlink is granted by its target, and skipped when the
/// target is, holds or lies inside a hidden tree (the real path is split where it lies).
/// The directories split this way stay listable (their entries' names are no secret; their
/// contents are only readable where granted).
fn split_reads(
    dir: &Path,
    hidden: &[PathBuf],
    out: &mut Vec<(PathBuf, bool)>,
    listable: &mut Vec<PathBuf>,
    depth: usize,
    resolved: &mut Resolved,
) {
    if depth > 32 {
        return;
    }
    // The entries' types come with the directory listing: no stat per entry.
    let Some(entries) = listing(dir, resolved).map(|l| l.iter().map(|(n, t)| (n.clone(), *t)).collect::<Vec<_>>()) else { return };
    for (name, kind) in entries {
        let path = dir.join(name);
        // Compared as bytes: `PathBuf`'s `==` walks components, for every entry and hidden path.
        if hidden.iter().any(|h| h.as_os_str() == path.as_os_str()) {
            continue;
        }
        let (real, is_dir) = if kind.is_symlink() {
            match std::fs::canonicalize(&path) {
                Ok(t) => {
                    let is_dir = t.is_dir();
                    (t, is_dir)
                }
                Err(_) => continue,
            }
        } else {
            (path.clone(), kind.is_dir())
        };
        if hidden.iter().any(|h| within(&real, h)) {
            continue;
        }
        if hidden.iter().any(|h| within(h, &real)) {
            if !kind.is_symlink() && is_dir {
                listable.push(path.clone());
                split_reads(&path, hidden, out, listable, depth + 1, resolved);
            }
            continue;
        }
        out.push((real, is_dir));
    }
}

/// The first unsafe call in guard, isolated here: `unshare(2)`, for `mounts_only`. rustix marks
/// it unsafe only because `CLONE_FILES` could leave other threads with stale descriptors;
/// guard never passes `CLONE_FILES`, and this runs in the single-threaded exec'd helper before
/// anything else.
#[allow(unsafe_code)]
fn unshare(flags: rustix::thread::UnshareFlags) -> rustix::io::Result<()> {
    // SAFETY: no CLONE_FILES in `flags` (see above); the process has one thread.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}

/// A user and mount namespace for this process (`mounts_only`), its uid and gid mapped to
/// themselves.
fn mount_namespace() -> Result<(), String> {
    use rustix::thread::UnshareFlags;
    let ids = own_ids();
    unshare(UnshareFlags::NEWUSER | UnshareFlags::NEWNS).map_err(refused)?;
    map_ids(ids)
}

/// This process's uid and gid, as its parent user namespace knows them: read before it enters
/// a user namespace of its own, where they are unmapped (65534) until [`map_ids`].
fn own_ids() -> (u32, u32) {
    (rustix::process::getuid().as_raw(), rustix::process::getgid().as_raw())
}

/// Why the kernel gave no user namespace.
fn refused(e: impl std::fmt::Display) -> String {
    format!(
        "the kernel refused a user namespace ({e}; unprivileged user namespaces may be disabled, e.g. kernel.unprivileged_userns_clone=0 or an AppArmor restriction)"
    )
}

/// Maps this process's uid and gid, in the user namespace it just entered, to themselves.
///
/// No `mount --make-rprivate /` is needed (it walks every mount, a cost on each line): a mount
/// namespace made in a new user namespace is less privileged, and the kernel turns its shared
/// mounts into slaves of the host's, so nothing mounted in here propagates out
/// (mount_namespaces(7), "Restrictions on mount namespaces").
fn map_ids((uid, gid): (u32, u32)) -> Result<(), String> {
    let write = |file: &str, text: String| std::fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"));
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))
}

/// A devpts of the sandbox's own on `/dev/pts` (and `/dev/ptmx` pointing into it): terminals
/// the line opens are its own, and the human's other terminals — where `guard approve` asks
/// for the passphrase — are not even visible. The line's own terminal stays reachable through
/// its descriptors and `/dev/tty`.
fn private_ptys() -> Result<(), String> {
    use rustix::mount::MountFlags as M;
    if !Path::new("/dev/pts").is_dir() {
        return Ok(());
    }
    let data = c"newinstance,ptmxmode=0666,mode=0620";
    rustix::mount::mount("devpts", "/dev/pts", "devpts", M::NOSUID | M::NOEXEC, data)
        .map_err(|e| format!("cannot mount a private /dev/pts: {e}"))?;
    if Path::new("/dev/ptmx").exists() {
        rustix::mount::mount_bind("/dev/pts/ptmx", "/dev/ptmx")
            .map_err(|e| format!("cannot point /dev/ptmx at the private /dev/pts: {e}"))?;
    }
    Ok(())
}

/// Every mount of the line's namespace read-only, but for the trees it may write, each bound
/// onto itself (with the mounts below it) and made writable again. Landlock governs a file's
/// content and its directory's entries, not its mode, owner, times or extended attributes:
/// without this a line could `chmod 644 ~/.ssh/id_rsa`, `touch -d` guard's state or take
/// another line's temp dir with `chmod 0` — and, run as root, `chmod` any file on the machine.
/// Devices and sockets are used through a read-only mount all the same. The temp dir, which
/// guard claims while the init sets itself up, is made writable with the word to go.
fn read_only_but(writes: &[Tree]) -> Result<(), String> {
    use std::os::fd::AsFd;
    mount_setattr(None, Path::new("/"), true, libc::MOUNT_ATTR_RDONLY, 0)
        .map_err(|e| format!("cannot make the line's mounts read-only: {e}"))?;
    // The kernel mounts the line's own procfs only where the one it covers is as writable.
    let _ = mount_setattr(None, Path::new("/proc"), false, 0, libc::MOUNT_ATTR_RDONLY);
    writes.iter().try_for_each(|t| writable(&t.path, t.fd.as_fd()))
}

/// Last of the init's mounts (the temp dir's), before Landlock: the working directory entered
/// again, and the mount rights given up for good.
///
/// The working directory is still the one of the mounts guard's namespace had: a name relative
/// to it is looked up below every mount made since, when it lies at or below one — so a line
/// started in the project's `.git` (or `.git/hooks`) wrote `hooks/pre-commit` and `config`
/// through the read-only pins, and a line in a writable tree wrote through the read-only mount.
/// Entered again by its name, it is the topmost mount's: the pin, the writable bind.
///
/// A line run by root is root in its user namespace, with `CAP_SYS_ADMIN` over the line's mount
/// namespace, which Landlock does not keep from `mount_setattr(2)`: one call cleared the
/// read-only flag on `/`, and `open_tree(2)` gave a writable copy of any tree. Out of the
/// bounding set, the program's exec gives it none (the init keeps its own, for nothing more);
/// a user namespace of the line's own gives it that namespace's, over a copy of the mounts
/// whose read-only flags the kernel then locks.
fn mounts_done() -> Result<(), String> {
    if let Ok(cwd) = std::env::current_dir() {
        let _ = std::env::set_current_dir(cwd);
    }
    rustix::thread::remove_capability_from_bounding_set(rustix::thread::CapabilitySet::SYS_ADMIN)
        .map_err(|e| format!("cannot take the mount rights from the line: {e}"))
}

/// Binds the tree `at` (`path`'s descriptor; with the mounts below it) onto itself, writable:
/// a copy of it made writable, then put where `at` is — not where its name leads by then.
/// A mount in it that is read-only outside the line stays so: the kernel locks that flag, and
/// refuses to clear it on the whole tree at once, so then each of the copy's mounts is cleared
/// by itself — and where the tree's own mount is read-only outside (a project on a read-only
/// file system), it stays read-only too, as the line found it before: the line runs, and its
/// writes there fail as they always did.
fn writable(path: &Path, at: std::os::fd::BorrowedFd<'_>) -> Result<(), String> {
    use rustix::mount::{MoveMountFlags as M, OpenTreeFlags as T};
    use std::os::fd::AsFd;
    let tree = rustix::mount::open_tree(at, "", T::OPEN_TREE_CLONE | T::OPEN_TREE_CLOEXEC | T::AT_RECURSIVE | T::AT_EMPTY_PATH)
        .map_err(|e| format!("cannot bind {} onto itself: {e}", path.display()))?;
    let empty = Path::new("");
    let whole = mount_setattr(Some(tree.as_fd()), empty, true, 0, libc::MOUNT_ATTR_RDONLY).is_ok();
    if !whole {
        match mount_setattr(Some(tree.as_fd()), empty, false, 0, libc::MOUNT_ATTR_RDONLY) {
            // Locked: read-only outside the line. Leaving a mount read-only gives nothing away.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            r => r.map_err(|e| format!("cannot make {} writable: {e}", path.display()))?,
        }
    }
    rustix::mount::move_mount(&tree, "", at, "", M::MOVE_MOUNT_F_EMPTY_PATH | M::MOVE_MOUNT_T_EMPTY_PATH)
        .map_err(|e| format!("cannot bind {} onto itself: {e}", path.display()))?;
    // The kernel changes a detached copy's mounts only all at once: the others one by one once
    // it is in place (listed only then: reading `mountinfo` is ~30 µs a tree).
    let below = if whole { Vec::new() } else { mounts_below(at) };
    for below in &below {
        // Looked up in the copy itself, beneath its root and through no symlink: whatever a
        // rename on the way did, what is cleared is one of the copy's own mounts (a locked one
        // refuses, and stays read-only).
        let how = rustix::fs::ResolveFlags::BENEATH | rustix::fs::ResolveFlags::NO_SYMLINKS;
        let flags = rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC;
        if let Ok(m) = rustix::fs::openat2(&tree, below, flags, rustix::fs::Mode::empty(), how) {
            let _ = mount_setattr(Some(m.as_fd()), empty, false, 0, libc::MOUNT_ATTR_RDONLY);
        }
    }
    Ok(())
}

/// The mount points strictly below the tree `at`, relative to it, from this namespace's
/// `/proc/self/mountinfo` (its fifth field, with `\ooo` escapes for space, tab, newline and `\\`).
fn mounts_below(at: std::os::fd::BorrowedFd<'_>) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let Some(root) = super::fd_path(at) else { return Vec::new() };
    let Ok(info) = std::fs::read("/proc/self/mountinfo") else { return Vec::new() };
    let unescape = |field: &[u8]| {
        let mut out = Vec::with_capacity(field.len());
        let mut i = 0;
        while let Some(&b) = field.get(i) {
            let code = field.get(i + 1..i + 4).filter(|d| b == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
            match code.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
                Some(c) => {
                    out.push(c);
                    i += 4;
                }
                None => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        PathBuf::from(std::ffi::OsString::from_vec(out))
    };
    info.split(|b| *b == b'\n')
        .filter_map(|line| line.split(|b| *b == b' ').nth(4).map(unescape))
        .filter_map(|m| m.strip_prefix(&root).ok().filter(|rel| !rel.as_os_str().is_empty()).map(Path::to_path_buf))
        .collect()
}

/// `mount_setattr(2)` (Linux 5.12), which rustix does not wrap: sets and clears the `MOUNT_ATTR_*`
/// flags `set` and `clear` of the mount at `path` (from `dir`, the mount `dir` itself where
/// `path` is empty; else from the working directory) and, with `recursive`, of every mount
/// below it, all or none.
#[allow(unsafe_code)]
fn mount_setattr(dir: Option<std::os::fd::BorrowedFd<'_>>, path: &Path, recursive: bool, set: u64, clear: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let dfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    let empty = if path.as_os_str().is_empty() { libc::AT_EMPTY_PATH } else { 0 };
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let attr = libc::mount_attr { attr_set: set, attr_clr: clear, propagation: 0, userns_fd: 0 };
    let flags = empty | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `path` is a NUL-terminated string and `attr` a `mount_attr` whose size is passed;
    // both outlive the call, which only reads them.
    let r = unsafe {
        libc::syscall(libc::SYS_mount_setattr, dfd, path.as_ptr(), flags, &raw const attr, std::mem::size_of::<libc::mount_attr>())
    };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Binds `path` onto itself read-only (a `.git` directory read-write: pinned in place only).
fn pin_read_only(path: &Path) -> Result<(), String> {
    if path.file_name().is_some_and(|n| n == ".git") && path.is_dir() {
        return rustix::mount::mount_bind(path, path).map_err(|e| format!("cannot pin {}: {e}", path.display()));
    }
    bind_read_only(path, path).map_err(|e| format!("cannot pin {}: {e}", path.display()))
}

/// Binds `source` over `path`, read-only.
fn bind_read_only(source: &Path, path: &Path) -> Result<(), String> {
    use rustix::fs::StatVfsMountFlags as V;
    use rustix::mount::MountFlags as M;
    rustix::mount::mount_bind(source, path).map_err(|e| e.to_string())?;
    // A remount must keep the flags the kernel locked on the original mount.
    let kept = rustix::fs::statvfs(path).map(|s| s.f_flag).unwrap_or(V::empty());
    let mut flags = M::BIND | M::RDONLY;
    for (v, m) in
        [(V::NOSUID, M::NOSUID), (V::NODEV, M::NODEV), (V::NOEXEC, M::NOEXEC), (V::NOATIME, M::NOATIME), (V::NODIRATIME, M::NODIRATIME)]
    {
        if kept.contains(v) {
            flags |= m;
        }
    }
    rustix::mount::mount_remount(path, flags, "").map_err(|e| format!("cannot make it read-only: {e}"))
}

/// The line's Landlock ruleset, every rule in it but the temp dir's (which guard may still be
/// claiming: see [`restrict`]).
fn ruleset(reads: &[(PathBuf, bool)], listable: &[PathBuf], writes: &[Tree]) -> Result<landlock::RulesetCreated, String> {
    let err = landlock_refused;
    let all = AccessFs::from_all(TARGET_ABI);
    let file_rights = AccessFs::from_file(TARGET_ABI);
    let read = AccessFs::from_read(TARGET_ABI);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(err)?
        .scope(Scope::from_all(TARGET_ABI))
        .map_err(err)?
        .create()
        .map_err(err)?;
    let mut add = |path: &Path, is_dir: bool, rights: BitFlags<AccessFs>| -> Result<(), String> {
        let Ok(fd) = PathFd::new(path) else { return Ok(()) };
        let rights = if is_dir { rights } else { rights & file_rights };
        (&mut ruleset).add_rule(PathBeneath::new(fd, rights)).map_err(err)?;
        Ok(())
    };
    for (r, is_dir) in reads {
        add(r, *is_dir, read)?;
    }
    for l in listable {
        add(l, true, AccessFs::ReadDir.into())?;
    }
    for d in DEVICES {
        add(Path::new(d), false, all & file_rights)?;
    }
    // By the descriptors the binds were made through (see `Tree`).
    for t in writes {
        let rights = if t.is_dir { all } else { all & file_rights };
        (&mut ruleset).add_rule(PathBeneath::new(&t.fd, rights)).map_err(err)?;
    }
    Ok(ruleset)
}

fn landlock_refused(e: landlock::RulesetError) -> String {
    format!("Landlock refused the ruleset: {e}")
}

/// The line's temp dir, opened for its bind and its rule: a directory of this user's under
/// that name itself, not a symlink — where `TMPDIR` lies in a tree another line may write,
/// that line could swap the name for a link to `~/.ssh` while this one starts, and this one
/// would have had the bind and the grant there.
fn open_temp(temp: &Path) -> Result<std::os::fd::OwnedFd, String> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(temp, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| format!("cannot open the line's temp dir {}: {e}", temp.display()))?;
    let m = rustix::fs::fstat(&fd).map_err(|e| format!("cannot open the line's temp dir {}: {e}", temp.display()))?;
    if m.st_uid != rustix::process::geteuid().as_raw() {
        return Err(format!("the line's temp dir {} is no longer a directory of this user's", temp.display()));
    }
    Ok(fd)
}

/// Adds the temp dir's rule (a writable tree, `temp` its descriptor) to `ruleset` and takes it
/// for this process.
fn restrict(mut ruleset: landlock::RulesetCreated, temp: &std::os::fd::OwnedFd) -> Result<(), String> {
    let err = landlock_refused;
    (&mut ruleset).add_rule(PathBeneath::new(temp, AccessFs::from_all(TARGET_ABI))).map_err(err)?;
    let status = ruleset.restrict_self().map_err(err)?;
    match (status.ruleset, status.landlock) {
        (RulesetStatus::NotEnforced, _) | (_, LandlockStatus::NotEnabled | LandlockStatus::NotImplemented) => {
            Err("Landlock is not enabled in this kernel (Linux 5.13 or later with `landlock` in the lsm= boot list)".into())
        }
        _ if !status.no_new_privs => Err("no_new_privs could not be set".into()),
        _ => Ok(()),
    }
}

/// What the kernel offers, for `guard doctor`: the effective Landlock ABI, or why there is none.
pub fn landlock_abi() -> Result<i32, String> {
    // Probing creates rulesets and restricts nothing.
    let mut found = 0;
    for (n, abi) in [(1, ABI::V1), (2, ABI::V2), (3, ABI::V3), (4, ABI::V4), (5, ABI::V5), (6, ABI::V6)] {
        let ok = Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::from_all(abi))
            .and_then(|r| if n >= 6 { r.scope(Scope::from_all(abi)) } else { Ok(r) })
            .and_then(|r| r.create())
            .is_ok();
        if !ok {
            break;
        }
        found = n;
    }
    if found == 0 { Err("Landlock is not available in this kernel".into()) } else { Ok(found) }
}

/// Device and inode of a path, to tell whether two names are one file.
pub fn file_id(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::{Resolved, canonical, within};
    use std::path::{Path, PathBuf};

    fn ok<T>(r: std::io::Result<T>) -> T {
        r.unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// A secret named through a symlinked directory, or itself a symlink, is hidden where it
    /// really lies; one that does not exist is its resolved parent's.
    #[test]
    fn canonical_resolves_like_realpath_and_names_what_does_not_exist() {
        let t = ok(tempfile::tempdir());
        let real = ok(std::fs::canonicalize(t.path()));
        ok(std::fs::create_dir(real.join("dir")));
        ok(std::fs::write(real.join("dir/key"), "k"));
        ok(std::os::unix::fs::symlink(real.join("dir"), real.join("via")));
        ok(std::os::unix::fs::symlink(real.join("dir/key"), real.join("dir/alias")));
        ok(std::os::unix::fs::symlink(real.join("nowhere"), real.join("dangling")));
        let mut parents = Resolved::default();
        for (asked, expected) in [
            ("via/key", "dir/key"),
            ("dir/alias", "dir/key"),
            ("via/alias", "dir/key"),
            ("via/missing", "dir/missing"),
            ("via/missing/deeper", "dir/missing/deeper"),
            ("dir/../dir/key", "dir/key"),
            ("via", "dir"),
            ("dangling/x", "dangling/x"),
            ("missing/x/y", "missing/x/y"),
        ] {
            assert_eq!(canonical(&real.join(asked), &mut parents), real.join(expected), "{asked}");
        }
        let gone = real.join("nowhere/deeper/x");
        assert_eq!(canonical(&gone, &mut parents), gone);
    }

    /// Guard's word to go carries the temp dir, the hidden paths and every variable byte for
    /// byte: `=` in a value, empty ones, names, values and paths that are not UTF-8, one larger
    /// than the socket's buffer; a word cut short is no word.
    #[test]
    fn the_word_to_go_carries_paths_and_odd_variables_intact() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        use std::path::PathBuf;
        let os = |b: &[u8]| OsString::from_vec(b.to_vec());
        let temp = PathBuf::from(os(b"/tmp/guard-1000/t-\xff"));
        let hidden = vec![PathBuf::from("/home/u/.ssh"), PathBuf::from(os(b"/home/u/\xff\xfe")), PathBuf::new()];
        let env: Vec<(OsString, OsString)> =
            [(&b"A"[..], &b"b=c="[..]), (b"EMPTY", b""), (b"\xffNAME", b"\xfe\x01value"), (b"BIG", &[b'x'; 300_000][..])]
                .iter()
                .map(|(k, v)| (os(k), os(v)))
                .collect();
        let (to, from) = std::os::unix::net::UnixStream::pair().unwrap_or_else(|e| unreachable!("{e}"));
        let (t, h, e) = (temp.clone(), hidden.clone(), env.clone());
        let sender = std::thread::spawn(move || super::send_go(&to, &t, &h, &e));
        let got = super::receive_go(&from.into()).unwrap_or_else(|| unreachable!("nothing received"));
        assert!(sender.join().is_ok_and(|r| r.is_ok()));
        assert_eq!((got.temp, got.hidden, got.env), (temp, hidden, env));
        let (to, from) = std::os::unix::net::UnixStream::pair().unwrap_or_else(|e| unreachable!("{e}"));
        // Says 8 bytes follow, of which the temp dir's length (5) and 2 of its bytes.
        let cut = [8u32.to_le_bytes().as_slice(), 5u32.to_le_bytes().as_slice(), b"ab\0\0"].concat();
        std::io::Write::write_all(&mut &to, &cut).unwrap_or_else(|e| unreachable!("{e}"));
        drop(to);
        assert!(super::receive_go(&from.into()).is_none());
    }

    /// A writable tree reached through a link is the line's only where each link on the way
    /// lies in a directory that holds a hidden path (no line may write one): the human's
    /// `~/.cache` on another disk is, a cache below another line's project that line linked
    /// elsewhere is not — nor one the human's link leads into such a link, nor one whose name
    /// no longer leads where the init opened.
    #[test]
    fn a_tree_reached_through_a_link_a_line_may_have_made_is_refused() {
        use std::os::unix::fs::symlink;
        let t = ok(tempfile::tempdir());
        let root = ok(std::fs::canonicalize(t.path()));
        let (home, disk, proj) = (root.join("home"), root.join("disk"), root.join("proj"));
        for d in [home.join(".ssh"), home.join("go/pkg.old/mod"), home.join("plain"), disk.join("cache"), proj.clone()] {
            ok(std::fs::create_dir_all(d));
        }
        ok(symlink(disk.join("cache"), home.join(".cache")));
        ok(std::fs::create_dir_all(home.join("go/pkg")));
        ok(symlink(home.join(".ssh"), home.join("go/pkg/mod")));
        ok(symlink(home.join(".ssh"), proj.join("c")));
        ok(symlink(proj.join("c"), home.join(".cache2")));
        let hidden = [home.join(".ssh"), PathBuf::from("/dev")];
        for (tree, leads_to, refused) in [
            ("plain", home.join("plain"), None),
            (".cache", disk.join("cache"), None),
            (".cache/../plain", disk.join("plain"), Some(home.join(".cache/../plain"))),
            (".cache/x/..", disk.join("cache"), Some(home.join(".cache/x/.."))),
            ("go/pkg/mod", home.join(".ssh"), Some(home.join("go/pkg/mod"))),
            (".cache2", home.join(".ssh"), Some(proj.join("c"))),
            ("plain", home.join(".ssh"), Some(home.join("plain"))),
        ] {
            assert_eq!(super::planted_link(&home.join(tree), &leads_to, &hidden), refused, "{tree}");
        }
    }

    #[test]
    fn within_agrees_with_path_starts_with_on_canonical_paths() {
        for (p, r) in [
            ("/home/u/.ssh", "/home/u/.ssh"),
            ("/home/u/.ssh/id", "/home/u/.ssh"),
            ("/home/u/.sshx", "/home/u/.ssh"),
            ("/home/u", "/home/u/.ssh"),
            ("/etc", "/"),
            ("/", "/"),
            ("/home/u/.aws/c", "/home/u/.aws/"),
            ("/homeless", "/home"),
        ] {
            assert_eq!(within(Path::new(p), Path::new(r)), Path::new(p).starts_with(r), "{p} in {r}");
        }
    }
}
