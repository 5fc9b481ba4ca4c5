//! The broker: how a contained line reaches terraform, kubectl and guard itself.
//!
//! The unsandboxed guard that started a contained process listens on a unix socket in its own
//! state directory (hidden from reads inside; Landlock ABI ≤ 8 does not mediate connecting to a
//! socket path) and puts a `bin/` of its own first on the contained `PATH`: `terraform`,
//! `kubectl` and `guard` are links to guard, which, seeing [`super::BROKER_ENV`], sends its argv,
//! the target environment, its stdin/stdout/stderr and its working directory (as descriptors,
//! `SCM_RIGHTS`) to the broker and exits with the code it gets back. `bash` and `sh` there are the
//! real ones: a script or Makefile recipe inside the line runs within the line's sandbox.
//!
//! The broker trusts nothing it is sent but the descriptors: it runs guard's whole pipeline as a
//! separate guard process with the broker's own environment, state dir and policy (so the
//! agent's `GUARD_HOME`, `GUARD_POLICY` or `XDG_*` change nothing), only the target variables
//! (`KUBECONFIG`, `TF_WORKSPACE`, …, bound into every request's digest) taken from the line, the
//! working directory read from the descriptor, and the line's own profile as the cap on any line
//! it starts ([`super::CAP_ENV`]). Approvals, rejections, leases and `guard run` are refused.

use std::ffi::OsString;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use serde::{Deserialize, Serialize};

use super::{BROKER_ENV, BROKER_TOKEN_ENV, CAP_ENV, Profile};
use crate::error::{Error, Result};
use crate::state::Paths;

/// A request is at most this large (argv and target environment): a 1 MiB shell line fits.
const MAX_REQUEST: usize = 4 << 20;

/// What a contained guard sends, besides its four descriptors (stdin, stdout, stderr, cwd).
#[derive(Serialize, Deserialize)]
struct Wire {
    token: String,
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

/// The listening side, owned by the guard that started the contained process.
pub struct Broker {
    listener: UnixListener,
    sock: PathBuf,
    /// `None` while it only listens ([`Listening`]).
    job: Option<std::sync::Arc<Job>>,
}

/// What every connection's handler needs, shared with its thread.
struct Job {
    token: String,
    exe: PathBuf,
    /// The broker's own environment, with guard's own paths pinned to the broker's.
    env: Vec<(OsString, OsString)>,
    children: std::sync::Mutex<Vec<u32>>,
}

/// Where a line's broker will be, chosen before the line's init starts (the line's environment
/// names the socket, its token and the `bin/`): [`Plan::start`] then makes them while the init
/// sets itself up.
pub struct Plan {
    exe: PathBuf,
    run: PathBuf,
    /// The `bin/` links: name and target.
    links: Vec<(&'static str, PathBuf)>,
    bin: PathBuf,
    sock: PathBuf,
    token: String,
}

impl Plan {
    /// A socket of the line's own (`$GUARD_HOME/run/s-….sock`) and the `bin/` links for `bash`
    /// (the real bash) and the real `sh`.
    pub fn new(paths: &Paths, bash: &Path) -> Result<Plan> {
        let exe = crate::exec::own_exe().map_err(|e| Error::Internal(format!("cannot find guard's own binary: {e}")))?.to_path_buf();
        let run = paths.home.join("run");
        let sh = crate::exec::find_real("sh", None, None, std::env::var_os("PATH"), Some(&exe)).ok();
        let mut links: Vec<(&'static str, PathBuf)> =
            vec![("guard", exe.clone()), ("terraform", exe.clone()), ("kubectl", exe.clone()), ("bash", bash.to_path_buf())];
        links.extend(sh.map(|sh| ("sh", sh)));
        let bin = links_dir_name(&run, &links);
        let sock = run.join(format!("s-{}.sock", crate::digest::random_hex(8)?));
        let token = crate::digest::random_hex(16)?;
        Ok(Plan { exe, run, links, bin, sock, token })
    }

    /// The variables that point a contained guard at this broker.
    pub fn contained_env(&self) -> [(OsString, OsString); 2] {
        [(BROKER_ENV.into(), self.sock.clone().into()), (BROKER_TOKEN_ENV.into(), self.token.clone().into())]
    }

    /// The `bin/` to put first on the contained `PATH`.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Starts listening on the socket and finds or makes the `bin/` links; then
    /// [`Listening::serve`] with `cap`, the contained process's profile.
    pub fn start(self, paths: &Paths, cap: &Profile) -> Result<Broker> {
        self.listen(paths)?.serve(paths, cap)
    }

    /// What must be there before the contained process starts: the socket, listening, and
    /// the `bin/` links. Nothing is accepted before [`Listening::serve`].
    pub fn listen(self, paths: &Paths) -> Result<Listening> {
        let Plan { exe, run, links, bin, sock, token } = self;
        paths.ensure_home()?;
        crate::state::ensure_private_dir(&run)?;
        make_links(&bin, &run, &links)?;
        let listener = UnixListener::bind(&sock).map_err(|e| Error::io("cannot listen on", &sock, e))?;
        // From here on the socket's name is removed with it (see `Broker`'s drop).
        let listening = Listening { broker: Broker { listener, sock, job: None }, exe, token };
        listening.broker.listener.set_nonblocking(true).map_err(|e| Error::io("cannot listen on", &listening.broker.sock, e))?;
        Ok(listening)
    }
}

/// A broker's socket that listens but serves nobody yet ([`Plan::listen`]).
pub struct Listening {
    broker: Broker,
    exe: PathBuf,
    token: String,
}

impl Listening {
    /// The broker, serving with its own environment and `cap` as the cap on what the contained
    /// process may start: made while a contained line's init takes Landlock and starts the
    /// program (its connections wait in the socket's backlog until then).
    pub fn serve(self, paths: &Paths, cap: &Profile) -> Result<Broker> {
        let Listening { mut broker, exe, token } = self;
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(k, _)| ![BROKER_ENV, BROKER_TOKEN_ENV, CAP_ENV, "GUARD_HOME", "GUARD_POLICY", "PATH"].iter().any(|n| k == n))
            .collect();
        // The real tools are looked up on PATH outside the sandbox: never in a directory the
        // line can write (an activated `.venv/bin` in the project would let it plant `kubectl`).
        let path = std::env::var_os("PATH").unwrap_or_default();
        let outside: Vec<PathBuf> = std::env::split_paths(&path).filter(|d| !cap.write.iter().any(|w| d.starts_with(w))).collect();
        env.push(("PATH".into(), std::env::join_paths(outside).unwrap_or_default()));
        env.push(("GUARD_HOME".into(), paths.home.clone().into()));
        if let Some(p) = &paths.policy {
            env.push(("GUARD_POLICY".into(), p.clone().into()));
        }
        let cap = serde_json::to_string(cap).map_err(|e| Error::Internal(format!("cannot encode the profile: {e}")))?;
        env.push((CAP_ENV.into(), cap.into()));
        broker.job = Some(std::sync::Arc::new(Job { token, exe, env, children: std::sync::Mutex::new(Vec::new()) }));
        Ok(broker)
    }
}

impl Broker {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// Accepts every pending connection; each is served on a thread of its own.
    pub fn accept_ready(&self) {
        let Some(job) = &self.job else { return };
        while let Ok((conn, _)) = self.listener.accept() {
            let job = job.clone();
            let _ = std::thread::Builder::new().spawn(move || serve(&job, conn));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Brokered commands of background jobs that outlived the line lose their client anyway.
        if let Some(Ok(children)) = self.job.as_ref().map(|j| j.children.lock()) {
            for pid in children.iter() {
                if let Some(pid) = rustix::process::Pid::from_raw(i32::try_from(*pid).unwrap_or(0)) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
                }
            }
        }
        let _ = std::fs::remove_file(&self.sock);
    }
}

/// The `bin/` links contained lines get first on `PATH` (`guard`, `terraform`, `kubectl` → this
/// guard; `bash`, `sh` → the real ones): one directory per set of targets, made once and
/// shared (`run/bin-<hash of the targets>`), checked link by link each time it is used. Only
/// guard outside a sandbox can write the state dir, but a wrong or half-made directory is
/// replaced, never trusted. Making six inodes per line and deleting them again cost ext4 more
/// than the rest of the parent's set-up.
fn links_dir_name(run: &Path, links: &[(&str, PathBuf)]) -> PathBuf {
    let key: String = links.iter().map(|(n, t)| format!("{n}\0{}\0", t.display())).collect();
    run.join(format!("bin-{}", crate::digest::sha256_hex(key.as_bytes()).get(..16).unwrap_or_default()))
}

/// Checks the links in `dir` (named by [`links_dir_name`]), or makes them.
fn make_links(dir: &Path, run: &Path, links: &[(&str, PathBuf)]) -> Result<()> {
    let holds_them = |d: &Path| links.iter().all(|(n, t)| std::fs::read_link(d.join(n)).is_ok_and(|l| l == *t));
    if holds_them(dir) {
        return Ok(());
    }
    let fresh = run.join(format!("bin-new-{}", crate::digest::random_hex(8)?));
    crate::state::ensure_private_dir(&fresh)?;
    for (name, target) in links {
        std::os::unix::fs::symlink(target, fresh.join(name)).map_err(|e| Error::io("cannot link", fresh.join(name), e))?;
    }
    // A wrong directory goes first; a concurrent guard that made the same one wins the rename.
    if std::fs::symlink_metadata(dir).is_ok() && !holds_them(dir) {
        let _ = std::fs::remove_dir_all(dir);
    }
    if std::fs::rename(&fresh, dir).is_err() {
        let _ = std::fs::remove_dir_all(&fresh);
    }
    if holds_them(dir) { Ok(()) } else { Err(Error::Internal(format!("cannot make the links in {}", dir.display()))) }
}

/// Why `argv` (guard's arguments, without the program name) is not served from inside.
fn refusal(argv: &[String]) -> Option<String> {
    let is_path_flag = |a: &str| ["--home", "--policy"].iter().any(|f| a == *f || a.starts_with(&format!("{f}=")));
    let mut i = 0;
    while let Some(a) = argv.get(i).filter(|a| a.starts_with("--")) {
        if is_path_flag(a) {
            return Some("--home and --policy are the human's choice, not the line's".into());
        }
        i += 1;
    }
    let word = argv.get(i).map(String::as_str);
    let rest = argv.get(i + 1..).unwrap_or_default();
    let global_paths = |args: &[String]| args.iter().any(|a| is_path_flag(a));
    match word {
        // The tool's own arguments follow: guard reads none of them as its own flags.
        Some("terraform" | "kubectl" | "shell") => None,
        Some("explain" | "requests" | "policy" | "audit" | "doctor" | "--version" | "-V" | "--help" | "-h" | "help")
            if !global_paths(rest) =>
        {
            None
        }
        Some("lease") if rest.first().is_some_and(|w| w == "list") && !global_paths(rest) => None,
        Some(w @ ("approve" | "reject" | "approver" | "lease")) => {
            Some(format!("`guard {w}` is for a human at their own terminal, never for the agent (shell.guard-approve)"))
        }
        Some(w) => Some(format!("`guard {w}` is not available inside a contained line")),
        None => Some("guard needs a command".into()),
    }
}

/// Target variables that name files or arguments the real tool then trusts: a kubeconfig can run
/// programs (`exec` credential plugins) and read files (`tokenFile`), a terraform data dir holds
/// provider binaries, `TF_CLI_ARGS*` add flags. From inside a line they could point the tool,
/// which runs outside the sandbox with the user's credentials, at files the line wrote; so they
/// pass only when they equal the broker's own. Selectors (`TF_WORKSPACE`, `AWS_PROFILE`, …) pass.
const FILE_TARGETS: &[&str] = &["KUBECONFIG", "TF_DATA_DIR", "TF_CLI_ARGS", "TF_CLI_ARGS_plan", "TF_CLI_ARGS_apply"];

fn widening_env(sent: &[(String, String)], own: &[(OsString, OsString)]) -> Option<String> {
    let own_value = |k: &str| own.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    sent.iter().find(|(k, v)| FILE_TARGETS.contains(&k.as_str()) && own_value(k) != Some(OsString::from(v))).map(|(k, _)| {
        format!(
            "{k} set inside the line would point the real tool, which runs outside the sandbox with your credentials, at files the line can write; set it before starting guard instead"
        )
    })
}

fn serve(job: &Job, conn: UnixStream) {
    let Ok((wire, fds)) = receive(&conn) else { return };
    // A connection without this line's token gets nothing, not even an answer.
    if !constant_time_eq(wire.token.as_bytes(), job.token.as_bytes()) {
        return;
    }
    let mut fds = fds.into_iter();
    let (Some(stdin), Some(stdout), Some(stderr), Some(cwd)) = (fds.next(), fds.next(), fds.next(), fds.next()) else { return };
    let answer = |mut conn: &UnixStream, code: u8| {
        let _ = conn.write_all(&[code]);
    };
    if let Some(why) = refusal(&wire.argv) {
        let mut err = std::fs::File::from(stderr);
        let _ = writeln!(err, "guard: refused inside a contained line: {why}");
        return answer(&conn, 77);
    }
    if let Some(why) = widening_env(&wire.env, &job.env) {
        let mut err = std::fs::File::from(stderr);
        let _ = writeln!(err, "guard: refused inside a contained line: {why}");
        return answer(&conn, 77);
    }
    let Some(dir) = super::fd_path(cwd.as_fd()) else { return answer(&conn, 70) };
    drop(cwd);
    let mut command = std::process::Command::new(&job.exe);
    command.args(&wire.argv).current_dir(&dir).env_clear().envs(job.env.iter().cloned());
    for (k, v) in &wire.env {
        if crate::request::TARGET_ENV.contains(&k.as_str()) {
            command.env(k, v);
        }
    }
    command.stdin(std::process::Stdio::from(stdin)).stdout(std::process::Stdio::from(stdout)).stderr(std::process::Stdio::from(stderr));
    let Ok(mut child) = command.spawn() else { return answer(&conn, 70) };
    drop(command);
    if let Ok(mut c) = job.children.lock() {
        c.push(child.id());
    }
    let code = wait_or_hang_up(&mut child, &conn);
    if let Ok(mut c) = job.children.lock() {
        c.retain(|p| *p != child.id());
    }
    answer(&conn, code);
}

/// Waits for the brokered guard; if the contained client goes away first, ends it.
fn wait_or_hang_up(child: &mut std::process::Child, conn: &UnixStream) -> u8 {
    use rustix::event::{PollFd, PollFlags};
    let pidfd = rustix::process::pidfd_open(rustix::process::Pid::from_child(child), rustix::process::PidfdFlags::empty()).ok();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return crate::exec::exit_code(status);
        }
        let mut set = vec![PollFd::new(conn, PollFlags::IN | PollFlags::RDHUP)];
        if let Some(fd) = &pidfd {
            set.push(PollFd::new(fd, PollFlags::IN));
        }
        let tick = rustix::event::Timespec { tv_sec: 0, tv_nsec: 50_000_000 };
        let _ = rustix::event::poll(&mut set, if pidfd.is_some() { None } else { Some(&tick) });
        let hung_up = set.first().is_some_and(|p| !(p.revents() & (PollFlags::HUP | PollFlags::RDHUP | PollFlags::IN)).is_empty());
        if hung_up {
            let mut probe = [0u8; 1];
            if matches!((&*conn).read(&mut probe), Ok(0) | Err(_)) {
                let _ = rustix::process::kill_process(rustix::process::Pid::from_child(child), rustix::process::Signal::TERM);
                let _ = child.wait();
                return 143;
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn receive(conn: &UnixStream) -> std::io::Result<(Wire, Vec<OwnedFd>)> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut first = vec![0u8; 64 * 1024];
    let got = rustix::net::recvmsg(conn, &mut [IoSliceMut::new(&mut first)], &mut control, RecvFlags::CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = msg {
            fds.extend(received);
        }
    }
    first.truncate(got.bytes);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad broker request");
    let len = first.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_le_bytes).ok_or_else(bad)? as usize;
    if len > MAX_REQUEST {
        return Err(bad());
    }
    let mut body = first.get(4..).unwrap_or_default().to_vec();
    while body.len() < len {
        let mut more = vec![0u8; (len - body.len()).min(1 << 20)];
        let n = (&*conn).read(&mut more)?;
        if n == 0 {
            return Err(bad());
        }
        body.extend_from_slice(more.get(..n).unwrap_or_default());
    }
    body.truncate(len);
    let wire = serde_json::from_slice(&body).map_err(|_| bad())?;
    Ok((wire, fds))
}

/// The contained side: `guard ARGS…` (or `kubectl`/`terraform` through the links) hands its
/// request to the broker and exits with the broker's answer.
pub fn client(argv: Vec<OsString>) -> u8 {
    match ask(argv) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("guard: cannot reach guard's broker from inside the contained line ({e}); nothing ran");
            70
        }
    }
}

fn ask(argv: Vec<OsString>) -> std::io::Result<u8> {
    let sock = std::env::var_os(BROKER_ENV).unwrap_or_default();
    let token = std::env::var(BROKER_TOKEN_ENV).unwrap_or_default();
    let argv: Vec<String> = argv
        .into_iter()
        .map(|a| a.into_string().map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "an argument is not UTF-8")))
        .collect::<std::io::Result<_>>()?;
    let env = crate::request::TARGET_ENV.iter().filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_string(), v))).collect();
    let body = serde_json::to_vec(&Wire { token, argv, env }).map_err(std::io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("request too large"))?;
    let cwd = std::fs::File::open(".")?;
    let mut conn = UnixStream::connect(&sock)?;
    // The terminal's Ctrl-C reaches the brokered tool itself (it shares the foreground process
    // group); this side waits for its answer instead of dying first.
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)));
    let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let fds = [i.as_fd(), o.as_fd(), e.as_fd(), cwd.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    control.push(SendAncillaryMessage::ScmRights(&fds));
    let mut msg = len.to_le_bytes().to_vec();
    msg.extend_from_slice(&body);
    let sent = rustix::net::sendmsg(&conn, &[IoSlice::new(&msg)], &mut control, SendFlags::empty())?;
    conn.write_all(msg.get(sent..).unwrap_or_default())?;
    drop(cwd);
    let mut code = [0u8; 1];
    match conn.read(&mut code)? {
        1 => Ok(code[0]),
        _ => Err(std::io::Error::other("the broker closed the connection without an answer (a wrong token, or guard went away)")),
    }
}
