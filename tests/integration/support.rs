//! A small `Test` builder (after casey/just) and helpers for real tools.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn guard_bin() -> &'static str {
    env!("CARGO_BIN_EXE_guard")
}

/// Gives `cmd` the environment changes `like` has (set and removed variables): another program
/// (python, bash, unshare) that starts guard as a test's own command would.
pub fn env_like(cmd: &mut Command, like: &Command) {
    for (k, v) in like.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
}

/// A test run of the real binary in its own temporary home, state dir and working directory.
pub struct Test {
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    status: Option<i32>,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
    cwd: Option<PathBuf>,
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "work", "state"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Test {
            dir,
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            status: None,
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
            cwd: None,
        }
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    pub fn work(&self) -> PathBuf {
        self.cwd.clone().unwrap_or_else(|| self.dir.path().join("work"))
    }
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }
    pub fn args(mut self, a: &[&str]) -> Self {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    pub fn cwd(mut self, p: &Path) -> Self {
        self.cwd = Some(p.to_path_buf());
        self
    }
    /// Writes `text` as the policy file and points guard at it.
    pub fn policy(self, text: &str) -> Self {
        let p = self.dir.path().join("policy.toml");
        std::fs::write(&p, text).unwrap();
        let p = p.to_string_lossy().into_owned();
        self.env("GUARD_POLICY", &p)
    }
    pub fn stdin(mut self, s: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(s.into());
        self
    }
    pub fn status(mut self, code: i32) -> Self {
        self.status = Some(code);
        self
    }
    pub fn stdout_contains(mut self, s: &str) -> Self {
        self.stdout_has.push(s.into());
        self
    }
    pub fn stderr_contains(mut self, s: &str) -> Self {
        self.stderr_has.push(s.into());
        self
    }
    pub fn command(&self) -> Command {
        let mut c = Command::new(guard_bin());
        c.args(&self.args)
            .current_dir(self.work())
            .env_remove("GUARD_POLICY")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("KUBECONFIG")
            .env_remove("TF_WORKSPACE")
            .env("GUARD_HOME", self.state())
            .env("HOME", self.home())
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }
    /// A fresh `guard ARGS` command in this test's home, state dir and working directory, with
    /// the test's policy file (`policy.toml` in its dir) when there is one.
    pub fn guard(&self, args: &[&str]) -> Command {
        let mut c = Command::new(guard_bin());
        c.args(args)
            .current_dir(self.work())
            .env("GUARD_HOME", self.state())
            .env("HOME", self.home())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("TF_WORKSPACE")
            .env("TERM", "dumb");
        let policy = self.dir.path().join("policy.toml");
        if policy.exists() {
            c.env("GUARD_POLICY", policy);
        } else {
            c.env_remove("GUARD_POLICY");
        }
        c
    }

    /// Runs and checks the expectations; returns the output for further checks.
    pub fn run(self) -> (Self, Output) {
        let mut c = self.command();
        c.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = &self.stdin {
            let mut si = child.stdin.take().unwrap();
            let input = input.clone();
            std::thread::spawn(move || {
                let _ = si.write_all(&input);
            });
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(code) = self.status {
            assert_eq!(out.status.code(), Some(code), "args {:?}\nstdout: {stdout}\nstderr: {stderr}", self.args);
        }
        for s in &self.stdout_has {
            assert!(stdout.contains(s.as_str()), "stdout lacks {s:?}\nstdout: {stdout}\nstderr: {stderr}");
        }
        for s in &self.stderr_has {
            assert!(stderr.contains(s.as_str()), "stderr lacks {s:?}\nstdout: {stdout}\nstderr: {stderr}");
        }
        (self, out)
    }
}

/// Whether a real tool is available. Missing: prints why and returns false, unless
/// `GUARD_REQUIRE_REAL_TOOLS=1`, when the test fails instead.
pub fn require_tool(name: &str) -> bool {
    let found = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file())).unwrap_or(false);
    if !found {
        if std::env::var("GUARD_REQUIRE_REAL_TOOLS").as_deref() == Ok("1") {
            panic!("{name} is required (GUARD_REQUIRE_REAL_TOOLS=1) but not on PATH");
        }
        eprintln!("SKIPPED: {name} is not on PATH; this test needs the real {name}");
    }
    found
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The approver passphrase the tests use.
pub const PASS: &str = "correct horse battery staple";

/// Drives an interactive guard command through a real pseudo-terminal, as a person would: for
/// each `(prompt, answer)` waits for the prompt and types the answer. Returns all it saw.
pub fn pty(cmd: Command, steps: &[(&str, &str)]) -> String {
    // Generous: a new approver key costs over half a second of CPU by design, and the machine
    // running the tests may be busy.
    let mut s = rexpect::session::spawn_command(cmd, Some(120_000)).unwrap();
    let mut seen = String::new();
    for (prompt, answer) in steps {
        seen += &s.exp_string(prompt).unwrap();
        s.send_line(answer).unwrap();
    }
    seen += &s.exp_eof().unwrap();
    seen
}

/// `guard approver init` with [`PASS`].
pub fn approver_init(cmd: Command) -> String {
    pty(cmd, &[("New approver passphrase", PASS), ("Repeat it", PASS)])
}
