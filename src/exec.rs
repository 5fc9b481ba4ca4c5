//! Running the real binary: finding it (never a shim, never guard itself), passing the
//! terminal, stdio, environment, exit status (128+N for signal N) and signals through.
//!
//! Signals: the child stays in guard's process group, so a terminal's Ctrl-C reaches it
//! directly; guard survives it and does not forward it again (a second SIGINT makes terraform
//! abort at once). Signals another process sends to guard alone (`kill -INT <guard>`) are
//! forwarded to the child — the approach sudo takes when it runs without a pty.
//! It must only be reached through the gate in `lib.rs` (an [`crate::gate::Authorized`] value).

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::{Cause, Sent};

use crate::error::{Error, Result};

/// The marker every guard shim carries, so guard never mistakes one for the real tool.
pub const SHIM_MARKER: &str = "guard-shim";

/// Whether `path` is a guard shim or guard itself.
pub fn is_guard_or_shim(path: &Path, guard_exe: Option<&Path>) -> bool {
    use std::os::unix::fs::MetadataExt;
    // The same file, however it is reached: through symlinks or as a hard link.
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    if let Some(g) = guard_exe
        && id(path).is_some_and(|p| Some(p) == id(g))
    {
        return true;
    }
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    let head = head.get(..n).unwrap_or_default();
    head.starts_with(b"#!") && head.windows(SHIM_MARKER.len()).any(|w| w == SHIM_MARKER.as_bytes())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds the real `name`: the policy path (a human wrote it), else `$override_var`, else the
/// first match on `PATH` that is neither a shim nor guard — and, for those two, only in a place
/// the agent cannot change (see [`untrusted`]): a fake `terraform` in `~/.local/bin` could
/// otherwise lie in `show -json` to the human who approves.
pub fn find_real(
    name: &str,
    configured: Option<&Path>,
    override_var: Option<OsString>,
    path_var: Option<OsString>,
    guard_exe: Option<&Path>,
) -> Result<PathBuf> {
    find_real_explained(name, configured, override_var, path_var, guard_exe).0
}

/// Like [`find_real`], also returning the `PATH` candidates it passed over and why (for doctor).
pub fn find_real_explained(
    name: &str,
    configured: Option<&Path>,
    override_var: Option<OsString>,
    path_var: Option<OsString>,
    guard_exe: Option<&Path>,
) -> (Result<PathBuf>, Vec<(PathBuf, String)>) {
    let mut skipped = Vec::new();
    if let Some(p) = configured {
        return (explicit(name, p, guard_exe, "the policy's [tools]", None), skipped);
    }
    let trust = Trust::of_process();
    if let Some(p) = override_var.filter(|v| !v.is_empty()).map(PathBuf::from) {
        let var = format!("${}", override_var_name(name));
        return (explicit(name, &p, guard_exe, &var, Some(trust)), skipped);
    }
    for dir in std::env::split_paths(&path_var.unwrap_or_default()) {
        if dir.as_os_str().is_empty() || !dir.is_absolute() {
            // Relative PATH entries would make the binary depend on the cwd: skip them.
            continue;
        }
        let cand = dir.join(name);
        if !is_executable(&cand) || is_guard_or_shim(&cand, guard_exe) {
            continue;
        }
        match trust.untrusted(&cand) {
            None => return (Ok(cand), skipped),
            Some(why) => skipped.push((cand, why)),
        }
    }
    let passed = if skipped.is_empty() {
        String::new()
    } else {
        format!("; passed over {}", skipped.iter().map(|(p, why)| format!("{} ({why})", p.display())).collect::<Vec<_>>().join(", "))
    };
    (
        Err(Error::Config(format!(
            "guard: no real {name} found on PATH in a directory the agent cannot write (shims and guard itself are skipped{passed}); install it there or name it in the policy's [tools] table"
        ))),
        skipped,
    )
}

fn override_var_name(name: &str) -> String {
    format!("GUARD_{}", name.to_ascii_uppercase())
}

/// A binary named explicitly: by the policy (`trust` None: the human's choice) or by an
/// environment variable (which the agent may have set: checked like a `PATH` match).
fn explicit(name: &str, p: &Path, guard_exe: Option<&Path>, by: &str, trust: Option<&Trust>) -> Result<PathBuf> {
    if is_guard_or_shim(p, guard_exe) {
        return Err(Error::Blocked(format!(
            "guard: the {name} named by {by} ({}) is a guard shim or guard itself; point it at the real binary",
            p.display()
        )));
    }
    if !is_executable(p) {
        return Err(Error::Config(format!("guard: the {name} named by {by} ({}) is not an executable file", p.display())));
    }
    if let Some(why) = trust.and_then(|t| t.untrusted(p)) {
        return Err(Error::Blocked(format!(
            "guard: the {name} named by {by} ({}) is refused: {why}; name it in the policy's [tools] table if it is really yours",
            p.display()
        )));
    }
    Ok(p.to_path_buf())
}

/// Who the agent is, for deciding what it can write: guard runs as the agent's user.
struct Trust {
    euid: u32,
    groups: Vec<u32>,
    /// `$HOME` and the user's home in /etc/passwd (the agent sets `$HOME`), canonical.
    homes: Vec<PathBuf>,
}

impl Trust {
    /// This process's: read once (a line looks up bash, then the broker `sh`, each with the
    /// same ids and homes).
    fn of_process() -> &'static Trust {
        static TRUST: std::sync::OnceLock<Trust> = std::sync::OnceLock::new();
        TRUST.get_or_init(Trust::read)
    }

    fn read() -> Trust {
        use rustix::process::{getegid, geteuid, getgid, getgroups};
        let euid = geteuid().as_raw();
        let mut groups: Vec<u32> = getgroups().unwrap_or_default().into_iter().map(|g| g.as_raw()).collect();
        groups.extend([getegid().as_raw(), getgid().as_raw()]);
        let mut homes: Vec<PathBuf> = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from).into_iter().collect();
        homes.extend(passwd_home(euid));
        let homes =
            homes.into_iter().filter(|h| h.is_absolute() && h != Path::new("/")).filter_map(|h| std::fs::canonicalize(h).ok()).collect();
        Trust { euid, groups, homes }
    }

    /// Why the agent could change what `file` runs, if it could: it lies under a home
    /// directory, or the file, or a directory on the way to it (through the symlink and to its
    /// target), is one the agent can write or rename. For a non-root agent "can write" is the
    /// file mode for its uid and groups; for root everything is writable, so there only
    /// root-owned entries that no group or other user can write count as system files.
    fn untrusted(&self, file: &Path) -> Option<String> {
        let real = match std::fs::canonicalize(file) {
            Ok(r) => r,
            Err(e) => return Some(format!("cannot resolve it: {e}")),
        };
        // The name's own directory (where a symlink sits) and the target's directories.
        let link_dir = file.parent().and_then(|d| std::fs::canonicalize(d).ok());
        let mut paths = vec![real.clone()];
        if let Some(d) = link_dir.filter(|d| Some(d.as_path()) != real.parent()) {
            paths.push(d);
        }
        for p in &paths {
            if let Some(h) = self.homes.iter().find(|h| p.starts_with(h)) {
                return Some(format!("it is under the home directory {}", h.display()));
            }
            if let Some(why) = self.replaceable(p) {
                return Some(why);
            }
        }
        None
    }

    /// Whether the agent can modify `path` (canonical) or replace it or any directory above it.
    fn replaceable(&self, path: &Path) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let meta = |p: &Path| std::fs::metadata(p).map_err(|e| format!("cannot stat {}: {e}", p.display()));
        let m = match meta(path) {
            Ok(m) => m,
            Err(e) => return Some(e),
        };
        if self.can_write(&m) {
            return Some(format!("{} is writable by this user", path.display()));
        }
        let mut child = path.to_path_buf();
        let mut child_meta = m;
        while let Some(parent) = child.parent() {
            let pm = match meta(parent) {
                Ok(m) => m,
                Err(e) => return Some(e),
            };
            let sticky = pm.mode() & 0o1000 != 0;
            // A sticky directory (like /tmp) lets only an entry's owner, or its own, rename it.
            let owns = |uid: u32| if self.euid == 0 { uid != 0 } else { uid == self.euid };
            if self.can_write(&pm) && (!sticky || owns(child_meta.uid()) || owns(pm.uid())) {
                return Some(format!("{} can be renamed by this user ({} is writable)", child.display(), parent.display()));
            }
            child = parent.to_path_buf();
            child_meta = pm;
        }
        None
    }

    fn can_write(&self, m: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        let mode = m.mode();
        if self.euid == 0 {
            // root can write anything: only root-owned entries no one else can write count.
            return m.uid() != 0 || mode & 0o022 != 0;
        }
        m.uid() == self.euid || mode & 0o002 != 0 || (mode & 0o020 != 0 && self.groups.contains(&m.gid()))
    }
}

/// The home directory of `uid` in /etc/passwd.
fn passwd_home(uid: u32) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.get(2)?.parse::<u32>().ok()? != uid {
            return None;
        }
        f.get(5).map(PathBuf::from)
    })
}

/// The real `terraform`, `kubectl` or `bash` guard runs: the policy's `[tools]` path, else
/// `$GUARD_TERRAFORM`/`$GUARD_KUBECTL`/`$GUARD_BASH`, else `PATH` (see [`find_real`]).
pub fn real_tool(tool: crate::policy::ToolName, policy: &crate::policy::Policy) -> Result<PathBuf> {
    use crate::policy::ToolName;
    let (name, configured, var) = match tool {
        ToolName::Terraform => ("terraform", policy.tools.terraform.as_deref(), "GUARD_TERRAFORM"),
        ToolName::Kubectl => ("kubectl", policy.tools.kubectl.as_deref(), "GUARD_KUBECTL"),
        ToolName::Shell => ("bash", policy.tools.bash.as_deref(), "GUARD_BASH"),
    };
    find_real(name, configured, std::env::var_os(var), std::env::var_os("PATH"), own_exe().ok())
}

/// This binary's path as the kernel has it (`/proc/self/exe`, free of symlinks), read once:
/// every use in guard goes through here (a contained line asked for it five times).
pub fn own_exe() -> std::io::Result<&'static Path> {
    static EXE: std::sync::OnceLock<std::result::Result<PathBuf, std::io::ErrorKind>> = std::sync::OnceLock::new();
    match EXE.get_or_init(|| std::env::current_exe().map_err(|e| e.kind())) {
        Ok(p) => Ok(p.as_path()),
        Err(kind) => Err(std::io::Error::from(*kind)),
    }
}

/// How a child ended, in the contract's terms.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub code: u8,
    pub signal: Option<i32>,
}

impl Outcome {
    /// A process that exited with `code`.
    pub fn exited(code: u8) -> Outcome {
        Outcome { code, signal: None }
    }
}

/// Work to finish once the child has started, before guard waits for it: the decision record's
/// fdatasync, which so overlaps the child's start. If it fails, the child is killed.
pub type OnStart<'a> = Option<Box<dyn FnOnce() -> Result<()> + 'a>>;

/// Runs the request's own argv with `program`, in `cwd`, inheriting stdio and environment.
/// A request the gate authorized with a sandbox profile is never run here: only
/// [`crate::sandbox::run`] runs those.
pub fn run(authorized: &crate::gate::Authorized<'_>, program: &Path, cwd: Option<&Path>, on_start: OnStart<'_>) -> Result<Outcome> {
    run_args(authorized, program, &authorized.request.argv, cwd, on_start)
}

/// Runs `program` with `args` that guard derived from an authorized request (e.g. terraform
/// with guard's own `-out` file, kubectl with its manifests' snapshots).
pub fn run_args(
    authorized: &crate::gate::Authorized<'_>,
    program: &Path,
    args: &[String],
    cwd: Option<&Path>,
    on_start: OnStart<'_>,
) -> Result<Outcome> {
    let (mut command, _temp) = tool_command(authorized, program, args)?;
    if let Some(d) = cwd {
        command.current_dir(d);
    }
    run_command(command, program, None, on_start, None)
}

/// Like [`run_args`], with the child's stdout sent to guard's stderr: for `--json`, where
/// guard's stdout carries only the JSON document.
pub fn run_args_stdout_to_stderr(authorized: &crate::gate::Authorized<'_>, program: &Path, args: &[String]) -> Result<Outcome> {
    let (mut command, _temp) = tool_command(authorized, program, args)?;
    command.stdout(std::io::stderr());
    run_command(command, program, None, None, None)
}

/// Like [`run_args`], with the child's stderr read line by line and handed to `tap` (which
/// passes it on), so guard can notice what terraform says.
pub fn run_args_with_stderr(
    authorized: &crate::gate::Authorized<'_>,
    program: &Path,
    args: &[String],
    cwd: Option<&Path>,
    tap: impl FnMut(&[u8]) + Send + 'static,
) -> Result<Outcome> {
    let (mut command, _temp) = tool_command(authorized, program, args)?;
    if let Some(d) = cwd {
        command.current_dir(d);
    }
    run_command(command, program, Some(Box::new(tap)), None, None)
}

/// The command for a tool the gate authorized: contained under the authorized profile when it
/// has one (a brokered terraform, see `sandbox::tool_profile`), with the temp dir to keep until
/// it ends. A shell line authorized with a profile never runs here: only `sandbox::run`
/// (broker, filtered environment) runs those.
pub(crate) fn tool_command(
    authorized: &crate::gate::Authorized<'_>,
    program: &Path,
    args: &[String],
) -> Result<(std::process::Command, Option<crate::sandbox::TempDir>)> {
    contained_command(authorized.profile(), authorized.request.tool, program, args)
}

/// [`tool_command`] for a profile decided before the gate (`terraform show` while deciding).
pub(crate) fn contained_command(
    profile: Option<&crate::sandbox::Profile>,
    tool: crate::policy::ToolName,
    program: &Path,
    args: &[String],
) -> Result<(std::process::Command, Option<crate::sandbox::TempDir>)> {
    match profile {
        None => {
            let mut command = std::process::Command::new(program);
            command.args(args);
            Ok((command, None))
        }
        Some(_) if tool == crate::policy::ToolName::Shell => {
            Err(Error::Internal("a request authorized to run contained reached the uncontained runner".into()))
        }
        Some(p) => crate::sandbox::tool_command(p, program, args, Vec::new()).map(|(c, t)| (c, Some(t))),
    }
}

type Tap = Box<dyn FnMut(&[u8]) + Send>;

/// Something served while the child runs (the sandbox's broker): polled with the child.
pub trait Service {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_>;
    /// Called when `fd` is readable.
    fn ready(&self);
}

/// Spawns a prepared command (`name` for messages), relays signals, serves `service`, and
/// returns how the child ended. Only this module and the sandbox runner call it.
pub(crate) fn run_command(
    mut command: std::process::Command,
    name: &Path,
    tap: Option<Tap>,
    on_start: OnStart<'_>,
    service: Option<&dyn Service>,
) -> Result<Outcome> {
    // Signals reach a socket that this thread polls together with the child's pidfd: no relay
    // thread, and the child's exit wakes the same poll.
    let (read, write) = UnixStream::pair().map_err(|e| Error::Internal(format!("cannot make a socket pair: {e}")))?;
    let mut signals = SignalDelivery::with_pipe(read, write, WithOrigin::default(), [SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::Internal(format!("cannot install signal handlers: {e}")))?;
    let mut tap_thread = None;
    if let Some(mut tap) = tap {
        let (reader, writer) = std::io::pipe().map_err(|e| Error::Internal(format!("cannot make a pipe: {e}")))?;
        command.stderr(writer);
        tap_thread = Some(std::thread::spawn(move || crate::plans::for_each_line(reader, |l| tap(l))));
    }
    let spawned = command.spawn();
    // `command` holds the pipe's write end; the child has its own copy now.
    drop(command);
    let result = match spawned {
        Ok(mut child) => match on_start.map_or(Ok(()), |f| f()) {
            Ok(()) => {
                let pid = rustix::process::Pid::from_child(&child);
                wait_relaying(pid, &mut || child.try_wait(), &mut signals, service, None)
                    .and_then(|ended| match ended {
                        Ended::Exited(status) => Ok(status),
                        Ended::Reported(..) => Err(std::io::Error::other("a report without a report descriptor")),
                    })
                    .map_err(|e| Error::io("cannot wait for", name, e))
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        },
        Err(e) => Err(Error::io("cannot start", name, e)),
    };
    signals.handle().close();
    if let Some(t) = tap_thread {
        let _ = t.join();
    }
    let status = result?;
    let code = exit_code(status);
    Ok(Outcome { code, signal: status.signal() })
}

/// The contract's exit code for how a child ended: its own code, 128+N if killed by signal N.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(1),
        (None, Some(s)) => u8::try_from(128 + (s & 0x7f)).unwrap_or(255),
        (None, None) => 1,
    }
}

/// Waits for the process `pid` (a child that is no `std::process::Child`: the sandbox's init),
/// relaying signals as [`run_command`] does; returns its exit code.
pub(crate) fn wait_for_pid(pid: rustix::process::Pid) -> Result<u8> {
    wait_for_forked(pid, None, None, None).map(|(o, _)| o.code)
}

/// Like [`run_command`], for a child this process forked itself (the line's init): finishes
/// `on_start` (or kills the child), then waits, relaying signals and serving `service`. With
/// `report`, the child may say how its program ended before it ends itself (see
/// [`report_outcome`]): the outcome is then returned at once and the child is still to be
/// reaped. Says whether nothing the child ran is left: it was reaped, or it reported that its
/// program's process was its last. A wait that fails kills the child (and reaps it).
pub(crate) fn wait_for_forked(
    pid: rustix::process::Pid,
    on_start: OnStart<'_>,
    service: Option<&dyn Service>,
    report: Option<BorrowedFd<'_>>,
) -> Result<(Outcome, bool)> {
    use std::os::unix::process::ExitStatusExt;
    let mut try_wait = || match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
        Ok(Some((_, status))) => Ok(Some(ExitStatus::from_raw(status.as_raw()))),
        Ok(None) => Ok(None),
        Err(e) => Err(e.into()),
    };
    let started = UnixStream::pair()
        .map_err(|e| Error::Internal(format!("cannot make a socket pair: {e}")))
        .and_then(|(read, write)| {
            SignalDelivery::with_pipe(read, write, WithOrigin::default(), [SIGINT, SIGTERM, SIGHUP, SIGQUIT])
                .map_err(|e| Error::Internal(format!("cannot install signal handlers: {e}")))
        })
        .and_then(|signals| on_start.map_or(Ok(()), |f| f()).map(|()| signals));
    let mut signals = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            return Err(e);
        }
    };
    let ended = wait_relaying(pid, &mut try_wait, &mut signals, service, report);
    signals.handle().close();
    match ended {
        Ok(Ended::Exited(status)) => Ok((Outcome { code: exit_code(status), signal: status.signal() }, true)),
        Ok(Ended::Reported(outcome, over)) => Ok((outcome, over)),
        Err(e) => {
            // Nothing relays or serves the child any more: it must not run on unattended.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            Err(Error::Internal(format!("cannot wait for the line: {e}")))
        }
    }
}

/// How a wait ended: the child exited (and is reaped), or it reported its program's outcome
/// (and whether nothing else it ran is left).
enum Ended {
    Exited(ExitStatus),
    Reported(Outcome, bool),
}

/// Tells the parent, through `to` (its `report` in [`wait_for_forked`]), how the program ended
/// and whether it was the last process the child had (`over`): the exit code, the signal
/// (0: none) and 1 or 0, three bytes in one write.
pub(crate) fn report_outcome(to: BorrowedFd<'_>, outcome: &Outcome, over: bool) {
    let signal = outcome.signal.and_then(|s| u8::try_from(s).ok()).unwrap_or(0);
    let _ = rustix::io::write(to, &[outcome.code, signal, u8::from(over)]);
}

/// The outcome read from a report descriptor, and whether the child's processes are over:
/// `None` at its end (the child closed it unsaid).
fn read_report(from: BorrowedFd<'_>) -> Option<(Outcome, bool)> {
    let mut bytes = [0u8; 3];
    match rustix::io::read(from, &mut bytes) {
        Ok(n) if n >= 1 => {
            Some((Outcome { code: bytes[0], signal: (n >= 2 && bytes[1] != 0).then(|| i32::from(bytes[1])) }, n == 3 && bytes[2] == 1))
        }
        _ => None,
    }
}

/// Waits for `pid` (`try_wait` reaps it), forwarding the signals another process sends to guard
/// (a terminal's Ctrl-C reached the child already: it shares guard's process group).
fn wait_relaying(
    pid: rustix::process::Pid,
    try_wait: &mut dyn FnMut() -> std::io::Result<Option<ExitStatus>>,
    signals: &mut SignalDelivery<UnixStream, WithOrigin>,
    service: Option<&dyn Service>,
    mut report: Option<BorrowedFd<'_>>,
) -> std::io::Result<Ended> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    use rustix::process::{PidfdFlags, Signal};
    // Without pidfds (Linux < 5.3) the poll wakes every 20 ms to look for the child's exit.
    let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok();
    let tick = Timespec { tv_sec: 0, tv_nsec: 20_000_000 };
    // The init of a contained line (pid 1 of its own pid namespace) relays only what guard's
    // side sends, whose pid it sees as 0: the line signalling its own init (`pkill guard`) is
    // not turned into a signal to the program.
    let from_outside_only = rustix::process::getpid().is_init();
    loop {
        for origin in signals.pending() {
            let sent_by_process = matches!(origin.cause, Cause::Sent(Sent::User | Sent::TKill | Sent::Queue))
                && !(from_outside_only && origin.process.is_some_and(|p| p.pid != 0));
            if let (true, Some(sig)) = (sent_by_process, Signal::from_named_raw(origin.signal)) {
                let _ = match &pidfd {
                    Some(fd) => rustix::process::pidfd_send_signal(fd, sig),
                    None => rustix::process::kill_process(pid, sig),
                };
            }
        }
        if let Some(status) = try_wait()? {
            // Ended before this wait looked: what it said first is still to be read (its own
            // exit code is the program's, but a signal that ended the program is only there).
            if let Some((outcome, _)) = report.and_then(read_report) {
                return Ok(Ended::Reported(outcome, true));
            }
            return Ok(Ended::Exited(status));
        }
        let read = signals.get_read();
        let mut set = vec![PollFd::new(read, PollFlags::IN)];
        if let Some(fd) = &pidfd {
            set.push(PollFd::new(fd, PollFlags::IN));
        }
        if let Some(fd) = report {
            set.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        if let Some(s) = service {
            set.push(PollFd::from_borrowed_fd(s.fd(), PollFlags::IN));
        }
        let polled = rustix::event::poll(&mut set, if pidfd.is_some() { None } else { Some(&tick) });
        let serve = service.is_some() && set.last().is_some_and(|p| p.revents().contains(PollFlags::IN));
        let reported = report.is_some() && set.get(if pidfd.is_some() { 2 } else { 1 }).is_some_and(|p| !p.revents().is_empty());
        drop(set);
        match polled {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        if let (true, Some(fd)) = (reported, report) {
            match read_report(fd) {
                Some((outcome, over)) => return Ok(Ended::Reported(outcome, over)),
                // Closed unsaid: the child's own exit says how it ended.
                None => report = None,
            }
        }
        if let (true, Some(s)) = (serve, service) {
            s.ready();
        }
    }
}
