//! The audit log survives tampering, crashes and concurrency, and never holds a secret.

use std::io::Write;
use std::path::Path;

use guard::audit;
use guard::state::Paths;
use serde_json::{Map, json};

use crate::support::{Test, stderr};

fn log_with(n: usize) -> (tempfile::TempDir, Paths) {
    let d = tempfile::tempdir().unwrap();
    let p = Paths { home: d.path().join("state"), policy: None };
    for i in 0..n {
        let mut m = Map::new();
        m.insert("i".into(), json!(i));
        audit::append(&p, "test", m).unwrap();
    }
    (d, p)
}

fn lines(p: &Paths) -> Vec<String> {
    std::fs::read_to_string(p.audit_log()).unwrap().lines().map(str::to_string).collect()
}

fn write_lines(p: &Paths, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(p.audit_log(), s).unwrap();
}

/// Verifies through the real binary: exit 65 and a message naming `line N` and `what`.
fn assert_broken(p: &Paths, line: usize, what: &str) {
    let err = audit::verify(p).unwrap_err().to_string();
    assert!(err.contains(&format!("line {line}")), "expected line {line}: {err}");
    assert!(err.contains(what), "expected {what:?}: {err}");
    let (_, out) = Test::new().args(&["audit", "verify"]).env("GUARD_HOME", p.home.to_str().unwrap()).status(65).run();
    assert!(stderr(&out).contains(&format!("line {line}")));
}

#[test]
fn intact_chain_verifies() {
    let (_d, p) = log_with(10);
    assert_eq!(audit::verify(&p).unwrap().records, 11);
    Test::new().args(&["audit", "verify"]).env("GUARD_HOME", p.home.to_str().unwrap()).status(0).stdout_contains("11 records").run();
}

#[test]
fn edited_field_is_caught() {
    let (_d, p) = log_with(6);
    let mut l = lines(&p);
    l[3] = l[3].replace("\"i\":2", "\"i\":9");
    write_lines(&p, &l);
    assert_broken(&p, 4, "edited");
}

#[test]
fn deleted_middle_line_is_caught() {
    let (_d, p) = log_with(6);
    let mut l = lines(&p);
    l.remove(3);
    write_lines(&p, &l);
    assert_broken(&p, 4, "deleted");
}

#[test]
fn deleted_last_line_is_caught_by_the_head_anchor() {
    let (_d, p) = log_with(6);
    let mut l = lines(&p);
    l.pop();
    write_lines(&p, &l);
    assert_broken(&p, 7, "deleted");
}

#[test]
fn deleted_last_two_lines_and_nothing_else_fixed_is_caught() {
    let (_d, p) = log_with(6);
    let mut l = lines(&p);
    l.truncate(l.len() - 2);
    write_lines(&p, &l);
    assert_broken(&p, 6, "2 record(s) removed");
}

#[test]
fn swapped_lines_are_caught() {
    let (_d, p) = log_with(6);
    let mut l = lines(&p);
    l.swap(2, 3);
    write_lines(&p, &l);
    assert_broken(&p, 3, "deleted");
}

#[test]
fn inserted_forged_line_is_caught() {
    let (_d, p) = log_with(6);
    let mut l = lines(&p);
    // A forger who knows the canonical form: right seq, right prev, right hash.
    let prev: serde_json::Value = serde_json::from_str(&l[2]).unwrap();
    let mut forged = Map::new();
    forged.insert("kind".into(), json!("decision"));
    forged.insert("seq".into(), json!(3));
    forged.insert("prev".into(), prev["hash"].clone());
    forged.insert("ts".into(), json!("2026-01-01T00:00:00.000Z"));
    let hash = guard::digest::sha256_hex(audit::canonical(&forged).unwrap().as_bytes());
    forged.insert("hash".into(), json!(hash));
    l.insert(3, serde_json::Value::Object(forged).to_string());
    write_lines(&p, &l);
    assert_broken(&p, 5, "reordered or duplicated");
}

#[test]
fn appended_garbage_is_caught() {
    let (_d, p) = log_with(3);
    let mut f = std::fs::OpenOptions::new().append(true).open(p.audit_log()).unwrap();
    f.write_all(b"{\"evil\": true}\n").unwrap();
    assert_broken(&p, 5, "no hash");
    let (_d, p) = log_with(3);
    let mut f = std::fs::OpenOptions::new().append(true).open(p.audit_log()).unwrap();
    f.write_all(b"garbage line\n").unwrap();
    assert_broken(&p, 5, "not a record");
}

#[test]
fn torn_last_line_gets_a_recovery_record_and_an_intact_chain() {
    let (_d, p) = log_with(3);
    let before = std::fs::read(p.audit_log()).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(p.audit_log()).unwrap();
    f.write_all(b"{\"kind\":\"decision\",\"seq\":4,\"to").unwrap();
    drop(f);
    assert_broken(&p, 5, "truncated");
    audit::append(&p, "test", Map::new()).unwrap();
    let v = audit::verify(&p).unwrap();
    assert!(v.notes.iter().any(|n| n.contains("torn")), "{:?}", v.notes);
    let after = std::fs::read(p.audit_log()).unwrap();
    assert!(after.starts_with(&before), "nothing before the torn line may change");
    assert!(String::from_utf8_lossy(&after).contains("\"kind\":\"recovery\""));
}

#[test]
fn appends_after_deletion_record_the_tampering() {
    let (_d, p) = log_with(4);
    let mut l = lines(&p);
    l.pop();
    write_lines(&p, &l);
    audit::append(&p, "test", Map::new()).unwrap();
    let err = audit::verify(&p).unwrap_err().to_string();
    assert!(err.contains("tampering"), "{err}");
}

#[test]
fn concurrent_appends_from_eight_processes_never_interleave_or_lose_lines() {
    let t = Test::new();
    let state = t.state();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let state = state.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let out = std::process::Command::new(crate::support::guard_bin())
                        .args(["shell", "-c", "rm -rf /"])
                        .env("GUARD_HOME", &state)
                        .env_remove("GUARD_POLICY")
                        .output()
                        .unwrap();
                    assert_eq!(out.status.code(), Some(77));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let p = Paths { home: state, policy: None };
    let v = audit::verify(&p).unwrap();
    assert_eq!(v.records, 1601);
    for (i, l) in lines(&p).iter().enumerate() {
        let r: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(r["seq"].as_u64(), Some(i as u64));
    }
}

#[test]
fn secrets_never_reach_the_log() {
    let secrets = [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_1234567890abcdefghijABCDEFGHIJ123456",
        "glpat-abcdefghij1234567890",
        "xoxb-123456789012-abcdefghijkl",
        "hunter2supersecret",
        "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    ];
    let lines = [
        format!("AWS_ACCESS_KEY_ID={} frobnicate", secrets[0]),
        format!("curl -H 'Authorization: Bearer {}' https://api.github.com", secrets[1]),
        format!("GITLAB_TOKEN={} frob", secrets[2]),
        format!("echo {}", secrets[3]),
        format!("git clone https://bob:{}@example.com/r.git", secrets[4]),
        format!("OPENAI_API_KEY={} python3 x.py", secrets[5]),
        format!("mysql --password={}", secrets[4]),
    ];
    let t = Test::new();
    let state = t.state();
    for l in &lines {
        let _ = Test::new().args(&["shell", "-c", l]).env("GUARD_HOME", state.to_str().unwrap()).run();
    }
    let _ = Test::new().args(&["kubectl", "--token", secrets[4], "get", "pods"]).env("GUARD_HOME", state.to_str().unwrap()).run();
    let log = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    assert!(log.lines().count() > lines.len());
    for s in secrets {
        assert!(!log.contains(s), "secret {s} leaked into the audit log");
    }
    assert!(log.contains("[REDACTED"));
    let _ = Path::new("/");
}

#[test]
fn the_documented_python_verifier_agrees_with_guard() {
    if !crate::support::require_tool("python3") {
        return;
    }
    let t = Test::new();
    let state = t.state();
    for line in ["ls", "rm -rf /", "echo 'ünïcödé \u{1b}[31m \" \\\\ \t'", "frobnicate"] {
        let _ = Test::new().args(&["shell", "-c", line]).env("GUARD_HOME", state.to_str().unwrap()).run();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/audit/verify_chain.py");
    let ok =
        std::process::Command::new("python3").arg(script).arg(state.join("audit.jsonl")).arg(state.join("audit.head")).output().unwrap();
    assert!(ok.status.success(), "python verifier: {}", String::from_utf8_lossy(&ok.stderr));
    let log = state.join("audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replacen("\"decision\":\"allow\"", "\"decision\":\"block\"", 1)).unwrap();
    let bad = std::process::Command::new("python3").arg(script).arg(&log).output().unwrap();
    assert_eq!(bad.status.code(), Some(65));
}
