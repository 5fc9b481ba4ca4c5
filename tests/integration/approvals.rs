//! Human approvals through a real pseudo-terminal (rexpect), as a person would give them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{PASS, Test, approver_init, pty, stderr};
/// Escalates a harmless, observable command: `echo gated… >> out.txt`.
const POLICY: &str = "[defaults]\napproval_ttl = \"10m\"\n\n[[shell.rules]]\nid = \"test.gate\"\nprogram = \"echo\"\nargs = [\"gated*\"]\ndecision = \"escalate\"\nmessage = \"test gate\"\n";

struct Env {
    t: Test,
}

impl Env {
    fn new(policy: &str) -> Env {
        let t = Test::new();
        std::fs::write(t.dir.path().join("policy.toml"), policy).unwrap();
        Env { t }
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.t.guard(args);
        c.env_remove("KUBECONFIG");
        c
    }
    fn run(&self, args: &[&str]) -> (i32, String) {
        let out = self.cmd(args).output().unwrap();
        (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out)))
    }
    fn init(&self) {
        assert!(approver_init(self.cmd(&["approver", "init"])).contains("approver key"));
    }
    /// Approves (or rejects) `id` through the pty with `pass`; returns everything printed.
    fn decide(&self, verb: &str, id: &str, pass: &str, extra: &[&str]) -> String {
        let mut args = vec![verb, id];
        args.extend_from_slice(extra);
        let mut steps = vec![("Approver passphrase", pass)];
        if pass == PASS {
            steps.push(("Type yes", "yes"));
        }
        pty(self.cmd(&args), &steps)
    }
    fn out_lines(&self) -> usize {
        std::fs::read_to_string(self.t.work().join("out.txt")).map(|s| s.lines().count()).unwrap_or(0)
    }
    fn state(&self) -> PathBuf {
        self.t.state()
    }
}

fn request_id(msg: &str) -> String {
    let i = msg.find("guard approve r-").expect(msg) + "guard approve ".len();
    msg[i..i + 34].to_string()
}

#[test]
fn init_escalate_approve_then_the_rerun_runs_exactly_once() {
    let e = Env::new(POLICY);
    e.init();
    let line = ["shell", "-c", "echo gated >> out.txt"];
    let (code, msg) = e.run(&line);
    assert_eq!(code, 75, "{msg}");
    let id = request_id(&msg);
    // The identical invocation reuses its pending request.
    let (code, msg2) = e.run(&line);
    assert_eq!((code, request_id(&msg2)), (75, id.clone()));
    let (_, listed) = e.run(&["requests", "--json"]);
    assert!(listed.contains(&id) && listed.contains("pending"), "{listed}");
    let shown = e.decide("approve", &id, PASS, &[]);
    assert!(shown.contains("echo gated >> out.txt") && shown.contains("test.gate"), "approve must show the request: {shown}");
    assert_eq!(e.out_lines(), 0, "approving must not run anything");
    assert_eq!(e.run(&line).0, 0);
    assert_eq!(e.out_lines(), 1);
    // Single use: the next identical run is a new request (75), not a second run.
    let (code, msg3) = e.run(&line);
    assert_eq!(code, 75);
    assert_ne!(request_id(&msg3), id);
    assert_eq!(e.out_lines(), 1);
    let (code, verify) = e.run(&["audit", "verify"]);
    assert_eq!(code, 0, "{verify}");
    assert!(verify.contains("1 signed receipts verified"), "{verify}");
}

#[test]
fn wrong_passphrase_writes_nothing_and_no_terminal_is_refused() {
    let e = Env::new(POLICY);
    e.init();
    let (_, msg) = e.run(&["shell", "-c", "echo gated"]);
    let id = request_id(&msg);
    let out = e.decide("approve", &id, "not the passphrase at all", &[]);
    assert!(out.contains("wrong approver passphrase"), "{out}");
    assert!(!e.state().join("approvals").join(format!("{id}.json")).exists());
    // From a pipe, not a terminal.
    let out = e.cmd(&["approve", &id]).stdin(std::process::Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(77));
    assert!(stderr(&out).contains("interactive terminal"));
    assert!(!e.state().join("approvals").join(format!("{id}.json")).exists());
}

#[test]
fn approve_without_an_approver_key_says_how_to_make_one() {
    let e = Env::new(POLICY);
    let (_, msg) = e.run(&["shell", "-c", "echo gated"]);
    let id = request_id(&msg);
    assert!(pty(e.cmd(&["approve", &id]), &[]).contains("guard approver init"));
}

fn receipt(e: &Env, id: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(e.state().join("approvals").join(format!("{id}.json"))).unwrap()).unwrap()
}
fn write_receipt(e: &Env, id: &str, v: &Value) {
    std::fs::write(e.state().join("approvals").join(format!("{id}.json")), v.to_string()).unwrap();
}

#[test]
fn forged_copied_edited_and_expired_receipts_are_refused() {
    let e = Env::new(POLICY);
    e.init();
    // A genuine approval to copy from.
    let (_, m1) = e.run(&["shell", "-c", "echo gated one >> out.txt"]);
    let id1 = request_id(&m1);
    e.decide("approve", &id1, PASS, &[]);
    let genuine = receipt(&e, &id1);

    // Copied to another request.
    let (_, m2) = e.run(&["shell", "-c", "echo gated two >> out.txt"]);
    let id2 = request_id(&m2);
    write_receipt(&e, &id2, &genuine);
    let (code, msg) = e.run(&["shell", "-c", "echo gated two >> out.txt"]);
    assert_eq!(code, 77, "{msg}");
    assert!(msg.contains("different request") || msg.contains("signature"), "{msg}");

    // Written by hand: right shape, no valid signature.
    let (_, m3) = e.run(&["shell", "-c", "echo gated three >> out.txt"]);
    let id3 = request_id(&m3);
    let mut forged = genuine.clone();
    forged["payload"]["id"] = Value::String(id3.clone());
    let r3: Value =
        serde_json::from_str(&std::fs::read_to_string(e.state().join("requests").join(format!("{id3}.json"))).unwrap()).unwrap();
    forged["payload"]["digest"] = r3["digest"].clone();
    write_receipt(&e, &id3, &forged);
    let (code, msg) = e.run(&["shell", "-c", "echo gated three >> out.txt"]);
    assert_eq!(code, 77, "{msg}");
    assert!(msg.contains("signature"), "{msg}");

    // Edited after signing: a genuine receipt with its expiry pushed out.
    let mut edited = genuine.clone();
    edited["payload"]["expires_ms"] = Value::from(u64::MAX / 2);
    write_receipt(&e, &id1, &edited);
    let (code, msg) = e.run(&["shell", "-c", "echo gated one >> out.txt"]);
    assert_eq!(code, 77, "{msg}");
    assert_eq!(e.out_lines(), 0, "nothing may have run");
}

#[test]
fn an_expired_approval_is_refused() {
    let e = Env::new(&POLICY.replace("approval_ttl = \"10m\"", "approval_ttl = \"1s\""));
    e.init();
    let (_, m) = e.run(&["shell", "-c", "echo gated >> out.txt"]);
    let id = request_id(&m);
    e.decide("approve", &id, PASS, &[]);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let (code, msg) = e.run(&["shell", "-c", "echo gated >> out.txt"]);
    assert_eq!(code, 77, "{msg}");
    assert!(msg.contains("expired"), "{msg}");
    assert_eq!(e.out_lines(), 0);
}

#[test]
fn an_approval_binds_to_cwd_env_and_every_argument() {
    let e = Env::new(POLICY);
    e.init();
    let (_, m) = e.run(&["shell", "-c", "echo gated >> out.txt"]);
    let id = request_id(&m);
    e.decide("approve", &id, PASS, &[]);
    let other = e.t.dir.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    let variants: Vec<Command> = vec![
        {
            let mut c = e.cmd(&["shell", "-c", "echo gated >> out.txt"]);
            c.current_dir(&other);
            c
        },
        {
            let mut c = e.cmd(&["shell", "-c", "echo gated >> out.txt"]);
            c.env("KUBECONFIG", "/tmp/other-kubeconfig");
            c
        },
        {
            let mut c = e.cmd(&["shell", "-c", "echo gated >> out.txt"]);
            c.env("TF_WORKSPACE", "prod");
            c
        },
        e.cmd(&["shell", "-c", "echo gated  >> out.txt"]),
        e.cmd(&["shell", "-c", "echo gated2 >> out.txt"]),
    ];
    for mut c in variants {
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    }
    assert_eq!(e.out_lines(), 0);
    // The original still runs, once.
    assert_eq!(e.run(&["shell", "-c", "echo gated >> out.txt"]).0, 0);
    assert_eq!(e.out_lines(), 1);
}

#[test]
fn two_concurrent_reruns_consume_one_approval_once() {
    let e = Env::new(POLICY);
    e.init();
    let (_, m) = e.run(&["shell", "-c", "echo gated >> out.txt"]);
    let id = request_id(&m);
    e.decide("approve", &id, PASS, &[]);
    let children: Vec<_> =
        (0..6).map(|_| e.cmd(&["shell", "-c", "echo gated >> out.txt"]).stderr(std::process::Stdio::piped()).spawn().unwrap()).collect();
    let codes: Vec<i32> = children.into_iter().map(|c| c.wait_with_output().unwrap().status.code().unwrap()).collect();
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1, "{codes:?}");
    assert_eq!(e.out_lines(), 1);
}

#[test]
fn wait_returns_after_approval_and_after_rejection() {
    let e = Env::new(POLICY);
    e.init();
    // Approval from another process while the agent waits.
    let waiter = e.cmd(&["--wait=20s", "shell", "-c", "echo gated >> out.txt"]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let id = wait_for_request(&e.state());
    e.decide("approve", &id, PASS, &[]);
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(e.out_lines(), 1);
    // Rejection: the waiting agent gets 77 and the reason.
    let waiter = e.cmd(&["--wait=20s", "shell", "-c", "echo gated again >> out.txt"]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let id2 = wait_for_request(&e.state());
    assert_ne!(id2, id);
    e.decide("reject", &id2, PASS, &["--reason", "not today"]);
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(77));
    assert!(stderr(&out).contains("not today"), "{}", stderr(&out));
    assert_eq!(e.out_lines(), 1);
}

/// The id of the newest request without a receipt, waiting up to 10 s for it to appear.
fn wait_for_request(state: &Path) -> String {
    for _ in 0..100 {
        let mut newest: Option<(u64, String)> = None;
        if let Ok(entries) = std::fs::read_dir(state.join("requests")) {
            for e in entries.flatten() {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap_or_default()).unwrap_or(Value::Null);
                let (Some(id), Some(ms)) = (v["id"].as_str(), v["created_ms"].as_u64()) else {
                    continue;
                };
                if state.join("approvals").join(format!("{id}.json")).exists() {
                    continue;
                }
                if newest.as_ref().is_none_or(|(m, _)| ms > *m) {
                    newest = Some((ms, id.to_string()));
                }
            }
        }
        if let Some((_, id)) = newest {
            return id;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no request appeared");
}

fn grant(e: &Env, args: &[&str]) -> String {
    let mut all = vec!["lease", "grant"];
    all.extend_from_slice(args);
    pty(e.cmd(&all), &[("Approver passphrase", PASS), ("Type yes", "yes")])
}

#[test]
fn a_lease_stops_at_expiry_and_cannot_outlive_max_lease_ttl() {
    let e = Env::new(POLICY);
    let e2 = Env::new(&POLICY.replace("[defaults]\n", "[defaults]\nmax_lease_ttl = \"1h\"\n"));
    e.init();
    grant(&e, &["test.gate", "--ttl", "1s"]);
    assert_eq!(e.run(&["shell", "-c", "echo gated >> out.txt"]).0, 0);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(e.run(&["shell", "-c", "echo gated >> out.txt"]).0, 75);
    e2.init();
    assert!(pty(e2.cmd(&["lease", "grant", "test.gate", "--ttl", "2h"]), &[]).contains("at most 1h"));
}

#[test]
fn a_lease_allows_in_scope_only_never_a_block_and_stops_at_revoke() {
    let e = Env::new(POLICY);
    e.init();
    let scope = e.t.work();
    let out = grant(&e, &["test.gate", "--dir", scope.to_str().unwrap(), "--ttl", "10m", "--uses", "2"]);
    let i = out.find("lease l-").unwrap() + "lease ".len();
    let lease = out[i..i + 34].to_string();
    assert_eq!(e.run(&["shell", "-c", "echo gated a >> out.txt"]).0, 0);
    // Outside the lease's directory: still escalated.
    let other = e.t.dir.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    let mut c = e.cmd(&["shell", "-c", "echo gated b >> out.txt"]);
    assert_eq!(c.current_dir(&other).output().unwrap().status.code(), Some(75));
    // Another rule: still escalated. A block: still blocked.
    assert_eq!(e.run(&["shell", "-c", "git push --force"]).0, 75);
    assert_eq!(e.run(&["shell", "-c", "echo gated c >> out.txt; rm -rf /"]).0, 77);
    // Second use, then the cap.
    assert_eq!(e.run(&["shell", "-c", "echo gated d >> out.txt"]).0, 0);
    assert_eq!(e.run(&["shell", "-c", "echo gated e >> out.txt"]).0, 75);
    assert_eq!(e.out_lines(), 2);
    let (_, listed) = e.run(&["lease", "list"]);
    assert!(listed.contains(&lease) && listed.contains("uses 2/2"), "{listed}");
    assert_eq!(e.run(&["lease", "revoke", &lease]).0, 0);
    assert!(e.run(&["lease", "list"]).1.contains("revoked"));
}
