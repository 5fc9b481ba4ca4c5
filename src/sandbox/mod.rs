//! Containment: what guard runs for the agent cannot reach what guard protects.
//!
//! Owns the sandbox [`Profile`] (a value: what a contained process may write, what it may not
//! read, whether it has the network), how it is derived from the policy and the line, and running
//! a program under it with the broker beside it. The kernel enforces the profile
//! ([`linux`]: Landlock, user/mount/network namespaces); classification only proposes it and the
//! gate authorizes it. It must never widen a profile because of anything the contained side says.
//!
//! ```text
//! guard (outside, broker) ──clone──► the line's init, pid 1 (namespaces, Landlock, seccomp)
//!        ▲                                   └─spawn─► bash -c LINE … kubectl (a guard shim)
//!        └──────── unix socket, argv + stdio fds ◄───────────────┘
//! (guard with threads, and brokered terraform: an exec of `guard __contain` clones the init)
//! ```

pub mod broker;
#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
mod notify;
#[cfg(not(target_os = "linux"))]
pub mod other;
mod pool;
#[cfg(not(target_os = "linux"))]
pub use other as linux;

/// The path the kernel has for a descriptor (in this process's mount namespace).
fn fd_path(fd: std::os::fd::BorrowedFd<'_>) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::policy::{Policy, SandboxMode, glob};

/// The argv word that makes the guard binary the sandbox helper (never typed by people).
pub const HELPER_ARG: &str = "__contain";
/// Set inside a contained process: the broker's socket and the token that opens it.
pub const BROKER_ENV: &str = "GUARD_BROKER";
pub const BROKER_TOKEN_ENV: &str = "GUARD_BROKER_TOKEN";
/// Set by the broker for the guard it starts: the profile of the line that asked. A nested
/// line's profile is capped by it, so nothing a contained line asks for widens its own reach.
pub const CAP_ENV: &str = "GUARD_SANDBOX_CAP";
/// A switch the tests own (and anyone may set: it only makes guard refuse): behave as if the
/// kernel offered no Landlock.
pub const SIMULATE_UNAVAILABLE_ENV: &str = "GUARD_SANDBOX_UNAVAILABLE";

/// Whether the policy asks guard to contain what it runs.
#[must_use]
pub fn enforced(policy: &Policy) -> bool {
    policy.sandbox.mode == SandboxMode::Enforce
}

/// What a contained process may reach. Paths are absolute; the private temp dir is added when
/// the process starts (it is not part of what a human approves).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Connections outside the sandbox (the host's loopback included).
    pub network: bool,
    /// Writable trees besides the private temp dir: the project, caches, a harness's state.
    pub write: Vec<PathBuf>,
    /// Inside the writable trees, kept read-only (bind-mounted read-only in the sandbox's own
    /// mount namespace): `.git/hooks`, `.git/config`, harness settings.
    pub pinned: Vec<PathBuf>,
    /// Neither readable nor writable: secrets and guard's own state.
    pub hidden: Vec<PathBuf>,
    /// Inside `hidden`, still readable (`~/.ssh/known_hosts`).
    pub readable: Vec<PathBuf>,
    /// Unix sockets masked inside (bind-mounted over with `/dev/null`).
    #[serde(default)]
    pub masked: Vec<PathBuf>,
    /// Environment variable name globs removed inside, and the ones kept despite them.
    pub env_remove: Vec<String>,
    pub env_keep: Vec<String>,
    /// Why a directory that looked like the project is not writable (said once, on stderr).
    pub notes: Vec<String>,
}

/// Facts about the caller's environment the profile is derived from, read at the edge.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    /// The git work tree holding the cwd, if any.
    pub git_top: Option<PathBuf>,
    /// Guard's own files: state dir, policy, binary, shims.
    pub guarded: Vec<PathBuf>,
    /// Guard's state directory (hidden entirely: the approver key and receipts live there).
    pub state: PathBuf,
    pub path_dirs: Vec<PathBuf>,
    pub uid: u32,
    /// The profile of a line without a network program, computed once per set of facts (a
    /// line's own profile differs from it only in `network`): `explain --jsonl` judges
    /// thousands of lines against one set.
    pub base: std::sync::OnceLock<Profile>,
}

impl Facts {
    /// Reads the facts from the process environment (edge I/O).
    pub fn read(ctx: &crate::request::Context, state: &Path) -> Facts {
        let path_dirs =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).filter(|d| d.is_absolute()).collect()).unwrap_or_default();
        Facts {
            cwd: ctx.cwd.clone(),
            home: ctx.home.clone(),
            git_top: git_top(&ctx.cwd),
            guarded: ctx.guarded.clone(),
            state: state.to_path_buf(),
            path_dirs,
            uid: rustix::process::getuid().as_raw(),
            base: std::sync::OnceLock::new(),
        }
    }
}

/// The git work tree holding `dir`: the nearest ancestor with a `.git` entry.
fn git_top(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf)
}

/// Agent harnesses' hook and permission settings: the files that register guard.
const HARNESS_SETTINGS: &[&str] =
    &[".claude/settings.json", ".claude/settings.local.json", ".codex/config.toml", ".cursor/hooks.json", ".gemini/settings.json"];

/// Inside the project, kept read-only: what runs code in the human's next git command or agent.
const PROJECT_PINS: &[&str] = &[
    ".git",
    ".git/hooks",
    ".git/config",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".cursor/hooks.json",
    ".gemini/settings.json",
    ".codex/config.toml",
];

/// A policy path: `~/…` under the home directory (none without one), else as written.
pub(crate) fn expand(p: &str, home: Option<&Path>) -> Option<PathBuf> {
    match p.strip_prefix("~/") {
        Some(rest) => home.map(|h| h.join(rest)),
        None => Some(PathBuf::from(p)),
    }
}

/// A line's profile: the facts' base profile, with the network when the line runs a network
/// program. The same as `profile(policy, facts, programs, None)`, computed once per facts.
#[must_use]
pub fn line_profile<'f>(policy: &Policy, facts: &'f Facts, programs: &BTreeSet<String>) -> std::borrow::Cow<'f, Profile> {
    let base = facts.base.get_or_init(|| profile(policy, facts, &BTreeSet::new(), None));
    let network = runs_network_program(policy, programs);
    if network == base.network {
        // Most lines: the base itself, not a copy of its ~50 paths.
        return std::borrow::Cow::Borrowed(base);
    }
    std::borrow::Cow::Owned(Profile { network, ..base.clone() })
}

fn runs_network_program(policy: &Policy, programs: &BTreeSet<String>) -> bool {
    programs.iter().any(|p| policy.sandbox.network_programs.iter().any(|n| glob(n, p)))
}

/// What a line (or, with `agent`, a harness started by `guard run`) may reach. Pure.
#[must_use]
pub fn profile(policy: &Policy, facts: &Facts, programs: &BTreeSet<String>, agent: Option<&str>) -> Profile {
    let sb = &policy.sandbox;
    let home = facts.home.as_deref();
    let network = agent.is_some() || runs_network_program(policy, programs);
    let mut hidden: Vec<PathBuf> = sb.secrets.iter().filter_map(|s| expand(s, home)).collect();
    hidden.push(facts.state.clone());
    let readable = sb.readable.iter().filter_map(|s| expand(s, home)).collect();

    let mut forbidden = never_writable(facts, &hidden);

    let mut notes = Vec::new();
    let mut write = Vec::new();
    let mut pinned = Vec::new();
    let project = facts.git_top.clone().unwrap_or_else(|| facts.cwd.clone());
    match project_refusal(&project, facts, &forbidden) {
        None => {
            pinned.extend(PROJECT_PINS.iter().map(|p| project.join(p)));
            write.push(project);
        }
        Some(why) => notes.push(format!("{} is not writable as the project: {why}; only the temp dir and caches are", project.display())),
    }
    let mut env_keep: Vec<String> = crate::request::TARGET_ENV.iter().map(|s| (*s).to_string()).collect();
    let profile_of_agent = agent.and_then(|a| sb.agents.iter().find(|p| p.program == a));
    let mut extra: Vec<PathBuf> = sb.writable.iter().filter_map(|s| expand(s, home)).collect();
    if let Some(a) = profile_of_agent {
        let own: Vec<PathBuf> = a.writable.iter().filter_map(|s| expand(s, home)).collect();
        // The harness's own login (`~/.claude/.credentials.json`, `~/.codex/auth.json`) is a
        // secret to every line, but the harness itself must read it.
        let own_pins: Vec<PathBuf> = a.pinned.iter().filter_map(|s| expand(s, home)).collect();
        hidden.retain(|h| !own.iter().any(|w| h.starts_with(w)));
        forbidden.retain(|f| !own.iter().any(|w| f.starts_with(w)) || own_pins.contains(f));
        extra.extend(own);
        pinned.extend(own_pins);
        env_keep.extend(a.env_keep.iter().cloned());
    }
    // Compared as bytes (`within`) once written as their components are (`normal`): ten caches
    // against ~150 paths, component by component, were a tenth of a millisecond of every line.
    let (forbidden, hidden_n, path_dirs) = (normal(&forbidden), normal(&hidden), normal(&facts.path_dirs));
    for dir in extra {
        // A cache that holds something never writable is dropped, not split: Landlock grants
        // whole trees, so a tree can only be given whole.
        let d = dir.components().collect::<PathBuf>();
        let holds = |f: &PathBuf| within(f, &d) && !pinned.contains(f);
        let inside_hidden = hidden_n.iter().any(|h| within(&d, h));
        if forbidden.iter().any(holds) || inside_hidden || path_dirs.iter().any(|p| within(p, &d)) || dir.parent().is_none() {
            notes.push(format!("{} is not writable: it holds files guard protects", dir.display()));
            continue;
        }
        write.push(dir);
    }
    let uid = facts.uid.to_string();
    let masked = sb.hidden_sockets.iter().map(|s| PathBuf::from(s.replace("$UID", &uid))).collect();
    Profile { network, write, pinned, hidden, readable, masked, env_remove: sb.env_remove.clone(), env_keep, notes }
}

/// Each path written as its components are (no `.` or doubled `/`), so that [`within`] on two
/// of them is `Path::starts_with`.
fn normal(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths.iter().map(|p| p.components().collect()).collect()
}

/// `p.starts_with(root)` for paths written as their components are (canonical ones, or see
/// [`normal`]), compared as bytes: `Path::starts_with` walks components, and the profile and
/// Landlock's rules ask it for many paths against many.
pub(crate) fn within(p: &Path, root: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (p, r) = (p.as_os_str().as_bytes(), root.as_os_str().as_bytes());
    let r = if r.len() > 1 { r.strip_suffix(b"/").unwrap_or(r) } else { r };
    p.starts_with(r) && (p.len() == r.len() || r == b"/" || p.get(r.len()) == Some(&b'/'))
}

/// Never writable, however spelled: guard's files, start-up files, harness settings, `hidden`.
fn never_writable(facts: &Facts, hidden: &[PathBuf]) -> Vec<PathBuf> {
    let mut forbidden: Vec<PathBuf> = facts.guarded.clone();
    if let Some(h) = &facts.home {
        forbidden.extend(crate::tools::harness::SHELL_STARTUP.iter().chain(HARNESS_SETTINGS).map(|f| h.join(f)));
        forbidden.push(h.join(".config/fish"));
    }
    forbidden.extend(hidden.iter().cloned());
    forbidden
}

/// What `guard shell` asks for beyond the sandbox its line would get: `--network`, `--write
/// DIR`. Each one a human approves; the profile it produces is what the receipt binds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Widening {
    pub network: bool,
    /// Absolute, symlinks resolved when guard read the flags.
    pub write: Vec<PathBuf>,
}

impl Widening {
    /// Takes the widening flags off the front of `guard shell`'s argv (bash never sees them).
    /// `--write DIR` must name an existing directory: it is resolved (`..`, symlinks) against
    /// `cwd` now, so what the human approves is the tree the kernel grants.
    pub fn take(argv: &mut Vec<String>, cwd: &Path) -> Result<Widening> {
        let mut w = Widening::default();
        loop {
            let dir = match argv.first().map(String::as_str) {
                Some("--network") => {
                    w.network = true;
                    argv.remove(0);
                    continue;
                }
                Some("--write") if argv.len() > 1 => argv.drain(..2).nth(1).unwrap_or_default(),
                Some("--write") => {
                    return Err(Error::Usage("guard: shell --write needs a directory: `guard shell --write DIR -c LINE`".into()));
                }
                Some(a) if a.starts_with("--write=") => argv.remove(0).split_off("--write=".len()),
                _ => return Ok(w),
            };
            let resolved = std::fs::canonicalize(cwd.join(&dir))
                .ok()
                .filter(|d| d.is_dir())
                .ok_or_else(|| Error::Usage(format!("guard: shell --write {dir}: no such directory (the tree to grant must exist)")))?;
            if !w.write.contains(&resolved) {
                w.write.push(resolved);
            }
        }
    }
}

/// Whether `name` is one guard gives a line's temp dirs: the pool (`guard-<uid>`, see
/// [`pool`]) or a line's own (`guard-` and 16 hex digits).
fn guard_temp_name(name: &std::ffi::OsStr, uid: u32) -> bool {
    let Some(rest) = name.as_encoded_bytes().strip_prefix(b"guard-") else { return false };
    rest == uid.to_string().as_bytes() || (rest.len() == 16 && rest.iter().all(u8::is_ascii_hexdigit))
}

/// Grants a line the tree `dir` (`guard shell --write DIR`). `Ok(false)` when it can already
/// write there; `Err` for a tree no approval may grant: `/`, a temp root, the home directory, or
/// one holding (or inside) guard's files, a secret, a start-up file or a `PATH` directory —
/// or, through the broker, a tree the asking line cannot write itself.
pub fn widen_write(profile: &mut Profile, facts: &Facts, dir: &Path, cap: Option<&Profile>) -> std::result::Result<bool, String> {
    if profile.write.iter().any(|w| dir.starts_with(w)) {
        return Ok(false);
    }
    if let Some(why) = project_refusal(dir, facts, &never_writable(facts, &profile.hidden)) {
        return Err(why);
    }
    // Unlike a project's own `.venv/bin`, a PATH directory in a granted tree would be the human's.
    if let Some(p) = facts.path_dirs.iter().find(|p| p.starts_with(dir)) {
        return Err(format!("it holds {}, a directory on PATH", p.display()));
    }
    if cap.is_some_and(|c| !c.write.iter().any(|w| dir.starts_with(w))) {
        return Err("the contained line asking cannot write there itself".into());
    }
    profile.pinned.extend(PROJECT_PINS.iter().map(|p| dir.join(p)));
    profile.write.push(dir.to_path_buf());
    Ok(true)
}

/// Why `dir` cannot be the writable project: the home directory, `/`, or a tree that holds
/// guard's files, secrets, start-up files or `PATH` directories outside it.
fn project_refusal(dir: &Path, facts: &Facts, forbidden: &[PathBuf]) -> Option<String> {
    if dir.parent().is_none() {
        return Some("it is /".into());
    }
    // A temp root (or a directory above one) as the project would make every line's private
    // temp dir, and every other user's temp files, writable to this line.
    let temp_roots = [std::env::temp_dir(), PathBuf::from("/tmp"), PathBuf::from("/var/tmp"), PathBuf::from("/dev/shm")];
    if let Some(t) = temp_roots.iter().find(|t| t.starts_with(dir)) {
        return Some(format!("it holds the temp directory {}", t.display()));
    }
    let pool = pool::root();
    if dir.starts_with(&pool) {
        return Some(format!("it lies inside {}, where guard keeps its lines' private temp dirs", pool.display()));
    }
    // Another line's pool or temp dir, made under a `TMPDIR` other than this line's: found by
    // the names guard gives them, whatever `TMPDIR` they were made under.
    if let Some(t) = dir.ancestors().find(|a| a.file_name().is_some_and(|n| guard_temp_name(n, facts.uid))) {
        return Some(format!("it lies inside {}, one of guard's lines' private temp dirs", t.display()));
    }
    if let Some(h) = facts.home.as_ref().filter(|h| h.starts_with(dir)) {
        return Some(format!("it holds the home directory {}", h.display()));
    }
    if let Some(f) = forbidden.iter().find(|f| f.starts_with(dir) || dir.starts_with(f)) {
        return Some(format!("it holds or lies inside {}, which guard protects", f.display()));
    }
    // A PATH directory inside the project is the project's own (node_modules/.bin, .venv/bin);
    // the project inside a PATH directory would make the PATH writable.
    if let Some(p) = facts.path_dirs.iter().find(|p| dir.starts_with(p)) {
        return Some(format!("it is inside {}, a directory on PATH", p.display()));
    }
    None
}

/// Narrows `profile` to what `cap` (the profile of the contained line that asked the broker)
/// allows: no network it did not have, no writable tree outside its writable trees.
pub fn cap(profile: &mut Profile, cap: &Profile) {
    profile.network &= cap.network;
    profile.write.retain(|w| cap.write.iter().any(|c| w.starts_with(c)));
    for h in &cap.hidden {
        if !profile.hidden.contains(h) {
            profile.hidden.push(h.clone());
        }
    }
    profile.readable.retain(|r| cap.readable.contains(r));
    for p in &cap.pinned {
        if !profile.pinned.contains(p) {
            profile.pinned.push(p.clone());
        }
    }
    for m in &cap.masked {
        if !profile.masked.contains(m) {
            profile.masked.push(m.clone());
        }
    }
}

/// The cap the broker handed this process, if any (an unparseable cap refuses everything).
pub fn inherited_cap() -> Option<Profile> {
    let text = std::env::var(CAP_ENV).ok()?;
    Some(serde_json::from_str(&text).unwrap_or(Profile {
        network: false,
        write: Vec::new(),
        hidden: vec![PathBuf::from("/")],
        ..Profile::default()
    }))
}

/// The profile's part that an approval binds (and a human sees): the network and the writable trees.
pub fn binding(profile: &Profile) -> BTreeMap<String, String> {
    let write: Vec<String> = profile.write.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    BTreeMap::from([
        ("sandbox.network".to_string(), if profile.network { "on" } else { "off" }.to_string()),
        ("sandbox.write".to_string(), write.join(":")),
    ])
}

/// `guard explain --json`'s `sandbox` object.
pub fn explain_json(profile: &Profile) -> Value {
    json!({
        "network": profile.network,
        "write": profile.write.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        "hidden": profile.hidden.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
    })
}

/// Whether a value carries a password in a URL (`postgres://user:pw@host/db`): such a
/// variable is a credential whatever its name.
fn holds_url_password(value: &str) -> bool {
    value.split("://").skip(1).any(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':'))
    })
}

/// Whether an environment variable is removed inside the sandbox.
/// Whether a variable's name is credential-shaped: `[sandbox] env_remove` matches it and it is
/// none of the target variables guard binds (`AWS_PROFILE`, `KUBECONFIG`, …). Pure.
pub fn credential_shaped(policy: &Policy, name: &str) -> bool {
    removed_by(&policy.sandbox.env_remove, crate::request::TARGET_ENV, name)
}

/// Whether the variable `name` is removed from a contained process's environment.
pub fn removed(name: &str, profile: &Profile) -> bool {
    removed_by(&profile.env_remove, &profile.env_keep, name)
}

/// Whether a glob of `remove` matches `name` and none of `keep` does, case-insensitively.
fn removed_by<R: AsRef<str>, K: AsRef<str>>(remove: &[R], keep: &[K], name: &str) -> bool {
    use std::borrow::Cow;
    let upper = name.to_ascii_uppercase();
    // The policy's globs are upper case already: copied only when they are not (this runs for
    // every variable against every glob on every contained line).
    fn upper_case(p: &str) -> Cow<'_, str> {
        if p.bytes().any(|b| b.is_ascii_lowercase()) { Cow::Owned(p.to_ascii_uppercase()) } else { Cow::Borrowed(p) }
    }
    let matches = |p: &str| glob(&upper_case(p), &upper);
    remove.iter().any(|p| matches(p.as_ref())) && !keep.iter().any(|p| matches(p.as_ref()))
}

/// What a terraform or kubectl invocation that came through the broker names outside the
/// writable trees of the line that asked (`cap`). The broker runs the real tool outside the
/// sandbox with the user's files in reach, so a path there — `--from-file=~/.ssh/id_rsa`,
/// `-o go-template-file=…`, `--profile-output=~/.bashrc`, `-chdir=~/.local/bin` — is a human's
/// decision, as are the subcommands that evaluate or fetch what the line chose (`terraform
/// console`, `kubectl kustomize` and `-k` with their remote resources). Pure.
pub fn broker_reach(tool: crate::policy::ToolName, argv: &[String], cwd: &Path, cap: &Profile) -> Vec<String> {
    use crate::policy::ToolName;
    let mut found: Vec<String> = Vec::new();
    let words: Vec<&str> = argv.iter().map(String::as_str).filter(|a| !a.starts_with('-')).collect();
    match (tool, words.first().copied()) {
        (ToolName::Terraform, Some("console")) => {
            found.push("`terraform console` evaluates expressions (file(), …) outside the sandbox".into())
        }
        (ToolName::Kubectl, Some("kustomize")) => {
            found.push("`kubectl kustomize` reads and fetches what the kustomization names outside the sandbox".into())
        }
        _ => {}
    }
    if tool == ToolName::Kubectl && argv.iter().any(|a| a == "-k" || a.starts_with("-k=") || a.starts_with("--kustomize")) {
        found.push("`-k` renders a kustomization (files and remote resources) outside the sandbox".into());
    }
    let inside = |p: &Path| cap.write.iter().any(|w| p.starts_with(w));
    if !inside(cwd) {
        // Relative paths would then name files outside too.
        found.push(format!("its working directory {} lies outside the line's writable trees", cwd.display()));
    }
    for arg in argv {
        // Every piece that could be a path: the argument, the value after `=`, each of a
        // comma-separated list, the part after `key=` (`--from-file=key=path`).
        let mut pieces = vec![arg.as_str()];
        if let Some((_, v)) = arg.split_once('=') {
            pieces.push(v);
            pieces.extend(v.split(','));
            pieces.extend(v.split(',').filter_map(|p| p.split_once('=').map(|(_, x)| x)));
        }
        for piece in pieces {
            if !(piece.starts_with('/')
                || piece.starts_with("./")
                || piece.starts_with("../")
                || piece.starts_with('~')
                || piece.contains("/.."))
            {
                continue;
            }
            let abs = crate::tools::shell::normalize_path(&cwd.join(piece));
            if !inside(&abs) && !found.iter().any(|f| f.contains(piece)) {
                found.push(format!("{piece} lies outside the line's writable trees"));
            }
        }
    }
    found
}

/// The refusal when containment cannot be set up (77), naming the cause and the switch.
pub fn unavailable(cause: &str) -> Error {
    Error::Blocked(format!(
        "guard: cannot contain the command: {cause}; nothing ran. guard runs nothing uncontained unless the policy says `[sandbox] mode = \"off\"` (`guard doctor` shows what the kernel offers)"
    ))
}

impl crate::exec::Service for broker::Broker {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        broker::Broker::fd(self)
    }
    fn ready(&self) {
        self.accept_ready();
    }
}

/// A contained line's init, started and waiting for guard's word to go (see [`Init::start`]).
/// Dropped without the word, it is killed: nothing of the line ever ran.
pub struct Init {
    pid: Option<rustix::process::Pid>,
    spec: linux::Spec,
    program: PathBuf,
    args: Vec<String>,
    /// The git redirects there were before the line (see [`undo_git_redirects`]).
    redirects_before: Vec<PathBuf>,
    report: std::os::unix::net::UnixStream,
    go: std::os::unix::net::UnixStream,
}

impl Init {
    /// Clones the init of a line that runs `program ARGS…` under `spec` (see [`line_spec`]). It
    /// sets itself up (namespaces, rules, mounts) and waits for [`run`]'s word — which an
    /// `Authorized` of the same profile, program and arguments requires — before Landlock and
    /// the program. `Ok(Err(spec))`, the spec back, when guard runs more than one thread (then
    /// the helper is an exec: see [`run`]).
    fn start(spec: linux::Spec, program: &Path, args: &[String]) -> Result<std::result::Result<Init, linux::Spec>> {
        let os_args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        let pair = || std::os::unix::net::UnixStream::pair().map_err(|e| Error::Internal(format!("cannot make a socket pair: {e}")));
        let ((report, reported), (go, gone)) = (pair()?, pair()?);
        let redirects_before = git_redirects(&spec.profile);
        match linux::clone_line(&spec, program, &os_args, reported.into(), gone.into()) {
            Some(Ok(pid)) => {
                Ok(Ok(Init { pid: Some(pid), spec, program: program.to_path_buf(), args: args.to_vec(), redirects_before, report, go }))
            }
            Some(Err(cause)) => Err(unavailable(&cause)),
            None => Ok(Err(spec)),
        }
    }

    /// Whether this init was started for what `run` was authorized to run: the same profile,
    /// program and arguments, and no script the request binds (an early init mounts no copies).
    fn serves(&self, authorized: &crate::gate::Authorized<'_>, profile: &Profile, program: &Path, args: &[String]) -> bool {
        self.spec.profile == *profile
            && self.program == program
            && self.args == args
            && self.spec.scripts.is_empty()
            && crate::scripts::bound(&authorized.request.target_env).is_empty()
    }

    /// The init's pid, no longer this value's to kill.
    fn take(&mut self) -> Option<rustix::process::Pid> {
        self.pid.take()
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        }
    }
}

/// Starts the init of a shell line allowed outright before guard writes its decision record
/// and passes the gate, so that the init's set-up runs alongside theirs (about 0.3 ms of every
/// line). The word to go comes only from [`run`], with the gate's `Authorized`. `None` where it
/// cannot start so (`run` then starts it itself, and says why if it cannot either).
pub fn start_early(profile: &Profile, program: &Path, args: &[String]) -> Option<Init> {
    Init::start(line_spec(profile, Vec::new()), program, args).ok()?.ok()
}

/// What a line's init is told before it starts: `profile` and `scripts`' copies (its temp dir
/// comes with the word to go).
fn line_spec(profile: &Profile, scripts: Vec<crate::scripts::Snapshot>) -> linux::Spec {
    linux::Spec { profile: profile.clone(), temp: None, scripts, mounts_only: false }
}

/// Runs `program ARGS…` contained under the profile the gate authorized, with the broker
/// serving it until it exits. `bash` is the real bash the contained `bash`/`sh` links name.
/// `early` is the line's init when [`start_early`] started it (used only if it serves this
/// profile, program and arguments). `on_end` (guard's exec record) is called once with the
/// outcome: as soon as the line's init reports how the program ended, so that it overlaps the
/// init's own end (the kernel killing what the line left behind, the namespaces' teardown);
/// the line is gone when this returns, and the record is left to be forced to disk after
/// guard's exit ([`crate::audit::Unsynced::finish_after_exit`]): guard must append nothing more.
#[allow(clippy::too_many_arguments)]
pub fn run(
    authorized: &crate::gate::Authorized<'_>,
    paths: &crate::state::Paths,
    program: &Path,
    args: &[String],
    bash: &Path,
    on_start: crate::exec::OnStart<'_>,
    on_end: &dyn Fn(&Result<crate::exec::Outcome>) -> Result<crate::audit::Unsynced>,
    early: Option<Init>,
) -> Result<crate::exec::Outcome> {
    // Once the exec record was appended (or could not be).
    let mut recorded = false;
    let mut finisher = None;
    let mut temp = None;
    let result = (|| {
        let profile = authorized.profile().ok_or_else(|| Error::Internal("a contained run without a profile".into()))?;
        for note in &profile.notes {
            eprintln!("guard: note: {note}");
        }
        // The bytes the request binds, copied where the line cannot reach them; the init
        // mounts each copy over its script (an early init binds none).
        let mut copies = None;
        let mut init = match early.filter(|e| e.serves(authorized, profile, program, args)) {
            Some(init) => init,
            None => {
                let copies = copies.insert(copies_dir(paths)?);
                let scripts = crate::scripts::snapshot(&authorized.request.target_env, copies.path())?;
                match Init::start(line_spec(profile, scripts), program, args)? {
                    Ok(init) => init,
                    Err(mut spec) => {
                        // More than one thread: the helper is an exec of guard.
                        let claimed = temp.insert(pool::claim(&profile.write)?);
                        spec.temp = Some(claimed.path().to_path_buf());
                        let redirects_before = git_redirects(profile);
                        let (broker, env) = prepare(paths, profile, bash, claimed.path())?;
                        let mut command = helper_command(&spec, program, args)?;
                        command.env_clear().envs(env);
                        let outcome = crate::exec::run_command(command, program, None, on_start, Some(&broker));
                        undo_git_redirects(profile, &redirects_before);
                        return outcome;
                    }
                }
            }
        };
        // Claimed, and the broker listening, while the init sets itself up, which waits for the
        // word to go — with the temp dir and the environment — before Landlock, and so before
        // the program starts; the broker serves (its environment, the cap) from the word on,
        // while the init takes Landlock.
        let claimed = temp.insert(pool::claim(&profile.write)?);
        let plan = broker::Plan::new(paths, bash)?;
        let env = contained_env(profile, &plan, claimed.path());
        let listening = plan.listen(paths).and_then(|listening| {
            match linux::send_go(&init.go, claimed.path(), &linux::resolved_outside(&init.spec), &env) {
                // Only the init holds the other end: it ended before the word (a mount it could
                // not make), saying why. Its exit is the line's (77), not this error.
                Err(e) if matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset) => Ok(listening),
                sent => sent.map(|()| listening).map_err(|e| Error::Internal(format!("cannot start the line: {e}"))),
            }
        })?;
        // Still the init's to kill (its drop) if the broker cannot serve, the word given or not.
        let broker = listening.serve(paths, profile)?;
        let pid = init.take().ok_or_else(|| Error::Internal("the line's init is gone".into()))?;
        // Started once the word is given: guard has nothing to do until the line ends (its
        // init takes Landlock and starts the program meanwhile), while after the line its
        // start would delay guard's exit.
        finisher = crate::audit::Finisher::start();
        let waited = {
            use std::os::fd::AsFd;
            crate::exec::wait_for_forked(pid, on_start, Some(&broker), Some(init.report.as_fd()))
        };
        let over = waited.as_ref().map_or(true, |(_, over)| *over);
        let outcome = waited.map(|(o, _)| o);
        // Handed over at once: the log is locked until the record is on disk, and neither the
        // init's end nor the temp dir's emptying (as long as the line makes it) may hold it.
        let said = on_end(&outcome).and_then(|record| record.finish_after_exit(finisher.take()));
        recorded = true;
        // The line is gone once its init is, or once the init said its program's process was
        // the line's last (its own end, the namespaces' teardown, then overlaps guard's) and
        // something will reap it (see `linux::orphans_reaped`).
        if !over || !linux::orphans_reaped() {
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        }
        undo_git_redirects(profile, &init.redirects_before);
        said.and(outcome)
    })();
    // Emptied and let go only now that nothing of the line is left.
    drop(temp);
    if !recorded {
        on_end(&result)?.sync()?;
    }
    result
}

/// The broker and the program's environment (which names it and the temp dir).
fn prepare(
    paths: &crate::state::Paths,
    profile: &Profile,
    bash: &Path,
    temp: &Path,
) -> Result<(broker::Broker, Vec<(std::ffi::OsString, std::ffi::OsString)>)> {
    let plan = broker::Plan::new(paths, bash)?;
    let env = contained_env(profile, &plan, temp);
    Ok((plan.start(paths, profile)?, env))
}

/// Files in a pinned `.git` directory that point git elsewhere for its config and hooks. In a
/// repository's own `.git` none of them belongs (`commondir` is for `.git/worktrees/*`), and
/// none can be pinned before it exists: a line that writes one would run its own
/// `core.fsmonitor` or hooks in the human's next `git status`.
const GIT_REDIRECTS: &[&str] = &["commondir"];

fn git_redirects(profile: &Profile) -> Vec<PathBuf> {
    profile
        .pinned
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == ".git") && p.is_dir())
        .flat_map(|g| GIT_REDIRECTS.iter().map(move |f| g.join(f)))
        .filter(|f| std::fs::symlink_metadata(f).is_ok())
        .collect()
}

/// Removes the git redirects a line created. Sound because nothing of a line outlives it (its
/// pid namespace is gone by now): what exists and did not before, the line wrote.
fn undo_git_redirects(profile: &Profile, before: &[PathBuf]) {
    for f in git_redirects(profile).into_iter().filter(|f| !before.contains(f)) {
        match std::fs::remove_file(&f) {
            Ok(()) => eprintln!(
                "guard: removed {}, which the line created: it would point your next git command at a config and hooks the line wrote",
                f.display()
            ),
            Err(e) => eprintln!(
                "guard: the line created {} (it points git at a config and hooks the line wrote) and guard cannot remove it: {e}; remove it before running git here",
                f.display()
            ),
        }
    }
}

/// What a brokered terraform may reach. Through the broker, terraform runs the configuration
/// the agent wrote — `data "external"` programs, provisioners, providers it planted in
/// `.terraform/` — so it is contained too: the network on; writes only where the asking line
/// could write (`cap`) and in `staging` (its `-out` plan file); of the secrets, only
/// `[sandbox] tool_credentials` readable; guard's state hidden but for `readable` (the plan file
/// it applies). Its environment is the broker's own: providers read credentials from it.
#[must_use]
pub fn tool_profile(policy: &Policy, facts: &Facts, line: &Profile, staging: &Path, readable: &[PathBuf]) -> Profile {
    let mut p = profile(policy, facts, &BTreeSet::new(), None);
    cap(&mut p, line);
    let home = facts.home.as_deref();
    let creds: Vec<PathBuf> = policy.sandbox.tool_credentials.iter().filter_map(|c| expand(c, home)).collect();
    p.hidden.retain(|h| !creds.iter().any(|c| h.starts_with(c)));
    p.network = true;
    p.write.push(staging.to_path_buf());
    p.readable.extend(readable.iter().cloned());
    p.env_remove.clear();
    p.notes.clear();
    p
}

/// The sandbox helper as a new exec of guard, `guard __contain SPEC PROGRAM ARGS…`: how brokered
/// terraform, guard's own `terraform apply`, doctor's self-test and (when guard runs threads) a
/// line start it. /proc/self/exe is the binary this process runs even if its file was replaced
/// since.
fn helper_command<A: AsRef<std::ffi::OsStr>>(spec: &linux::Spec, program: &Path, args: &[A]) -> Result<std::process::Command> {
    let spec = serde_json::to_string(spec).map_err(|e| Error::Internal(format!("cannot encode the sandbox helper's spec: {e}")))?;
    let mut command = std::process::Command::new("/proc/self/exe");
    command.arg(HELPER_ARG).arg(spec).arg(program).args(args);
    Ok(command)
}

/// A command that runs `program ARGS…` contained under `profile` in this process's own
/// environment (a brokered tool: see [`tool_profile`]), and its private temp dir, removed when
/// the returned guard drops.
/// With `scripts`, the approved copies are mounted over them (a `terraform apply` whose
/// `local-exec` provisioners run scripts the plan binds).
pub fn tool_command(
    profile: &Profile,
    program: &Path,
    args: &[String],
    scripts: Vec<crate::scripts::Snapshot>,
) -> Result<(std::process::Command, TempDir)> {
    let temp = TempDir(private_temp()?);
    let spec = linux::Spec { profile: profile.clone(), temp: Some(temp.0.clone()), scripts, mounts_only: false };
    let mut command = helper_command(&spec, program, args)?;
    for t in ["TMPDIR", "TMP", "TEMP", "TEMPDIR"] {
        command.env(t, &temp.0);
    }
    Ok((command, temp))
}

/// A command that runs `program ARGS…` uncontained but in a user and mount namespace of its
/// own with the approved copies of `scripts` mounted over them (`terraform apply` run by guard
/// itself, not through the broker).
pub fn mounts_command(program: &Path, args: &[String], scripts: Vec<crate::scripts::Snapshot>) -> Result<std::process::Command> {
    let spec = linux::Spec { profile: Profile::default(), temp: None, scripts, mounts_only: true };
    helper_command(&spec, program, args)
}

/// Where the approved copies of a run's scripts go: `$GUARD_HOME/run/c-…` (the state dir is
/// hidden from every contained process), made when the first copy is, removed when dropped.
pub fn copies_dir(paths: &crate::state::Paths) -> Result<TempDir> {
    Ok(TempDir(paths.home.join("run").join(format!("c-{}", crate::digest::random_hex(8)?))))
}

/// A private temp dir, removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh one (0700) under the system temp dir.
    pub fn new() -> Result<TempDir> {
        private_temp().map(TempDir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A temp dir of the contained process's own (0700), removed when it ends.
fn private_temp() -> Result<PathBuf> {
    let dir = temp_name()?;
    crate::state::ensure_private_dir(&dir)?;
    Ok(dir)
}

/// A fresh name for one, under the system temp dir.
fn temp_name() -> Result<PathBuf> {
    Ok(pool::base().join(format!("guard-{}", crate::digest::random_hex(8)?)))
}

/// The contained process's environment: guard's own, without credential-shaped variables, with
/// the broker's `bin/` first on `PATH` and the private temp dir as `TMPDIR`.
fn contained_env(profile: &Profile, broker: &broker::Plan, temp: &Path) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let own = [BROKER_ENV, BROKER_TOKEN_ENV, CAP_ENV, "PATH", "TMPDIR", "TMP", "TEMP", "TEMPDIR"];
    let mut env: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
        .filter(|(k, v)| {
            let name = k.to_string_lossy();
            !own.contains(&name.as_ref()) && !removed(&name, profile) && !holds_url_password(&v.to_string_lossy())
        })
        .collect();
    let mut path = vec![broker.bin().to_path_buf()];
    path.extend(std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default());
    env.push(("PATH".into(), std::env::join_paths(path).unwrap_or_default()));
    for t in ["TMPDIR", "TMP", "TEMP", "TEMPDIR"] {
        env.push((t.into(), temp.into()));
    }
    env.extend(broker.contained_env());
    env
}

/// `guard doctor`'s containment checks: what the kernel offers, and a contained process that
/// tries to write outside its writable tree, read a hidden file and reach the network.
/// Each entry is (name, Ok(detail) | Err(detail)).
pub fn doctor_checks() -> Vec<(&'static str, std::result::Result<String, String>)> {
    let simulated = std::env::var_os(SIMULATE_UNAVAILABLE_ENV).is_some_and(|v| !v.is_empty());
    let probed =
        if simulated { Err(format!("Landlock is not available (simulated by {SIMULATE_UNAVAILABLE_ENV})")) } else { linux::landlock_abi() };
    let abi = match probed {
        Ok(n) => Ok(format!(
            "Landlock ABI {n}{} (files{}{})",
            if n >= 6 { " or newer" } else { "" },
            if n >= 4 { ", TCP" } else { "" },
            if n >= 6 { ", signal and abstract-socket scoping" } else { "" }
        )),
        Err(e) => Err(e),
    };
    vec![("landlock", abi), ("containment self-test", self_test())]
}

/// `guard doctor`'s check of the script supervisor ([`notify`]): lines that run approved
/// scripts need it, and are refused (77) without it; other lines do not.
pub fn script_supervisor() -> std::result::Result<String, String> {
    #[cfg(target_os = "linux")]
    let available = notify::available();
    #[cfg(not(target_os = "linux"))]
    let available: std::result::Result<(), String> = Err("guard has no sandbox for this operating system yet".into());
    available.map(|()| "seccomp user notification: an approved line reads only the approved copies of its scripts".into())
}

fn self_test() -> std::result::Result<String, String> {
    let base = private_temp().map_err(|e| e.to_string())?;
    let result = (|| {
        let (allowed, outside) = (base.join("project"), base.join("outside"));
        for d in [&allowed, &outside] {
            std::fs::create_dir_all(d).map_err(|e| format!("cannot set up {}: {e}", d.display()))?;
        }
        std::fs::write(outside.join("secret"), "doctor-secret").map_err(|e| format!("cannot set up: {e}"))?;
        let spec = linux::Spec {
            profile: Profile { write: vec![allowed.clone()], hidden: vec![outside.join("secret")], ..Profile::default() },
            temp: Some(base.join("tmp")),
            scripts: Vec::new(),
            mounts_only: false,
        };
        std::fs::create_dir_all(base.join("tmp")).map_err(|e| format!("cannot set up: {e}"))?;
        let mode = |p: &Path| std::fs::metadata(p).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777).ok();
        let before = mode(&outside.join("secret"));
        let script = "echo x > ../outside/written; echo y > ok; chmod 600 ok; chmod 777 ../outside/secret; cat ../outside/secret; exec 3<>/dev/tcp/127.0.0.1/9 && echo net";
        let out = helper_command(&spec, Path::new("/bin/sh"), &["-c", script])
            .map_err(|e| e.to_string())?
            .current_dir(&allowed)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot start the sandbox helper: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(77) {
            return Err(stderr.lines().next().unwrap_or("containment failed").to_string());
        }
        if outside.join("written").exists()
            || stdout.contains("doctor-secret")
            || stdout.contains("net")
            || mode(&outside.join("secret")) != before
        {
            return Err("a contained process wrote or chmod-ed outside its tree, read a hidden file or reached the network".into());
        }
        if !allowed.join("ok").exists() || mode(&allowed.join("ok")) != Some(0o600) {
            return Err(format!("a contained process could not write and chmod inside its own tree: {}", stderr.trim()));
        }
        Ok("in its own user, mount and pid namespaces, a contained process wrote and chmod-ed its own tree and was refused a write and a chmod outside it, a hidden file and the network".to_string())
    })();
    let _ = std::fs::remove_dir_all(&base);
    result
}
