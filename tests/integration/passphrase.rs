//! Issue 13 item 16: the approver passphrase must hold out offline (the approver file is
//! readable): zxcvbn-measured strength checked before it is asked twice, argon2id sized for
//! this machine with its parameters stored, and failed unlocks audited and slowed.

use serde_json::Value;

use crate::support::{PASS, Test, pty};

#[test]
fn summer2024_is_refused_before_it_is_asked_twice() {
    let t = Test::new();
    let mut s = rexpect::session::spawn_command(t.guard(&["approver", "init"]), Some(120_000)).unwrap();
    let mut seen = String::new();
    for weak in ["Summer2024!!", "Winter2025!!!"] {
        seen += &s.exp_string("New approver passphrase").unwrap();
        s.send_line(weak).unwrap();
        seen += &s.exp_string("too weak").unwrap();
        seen += "too weak";
    }
    seen += &s.exp_string("New approver passphrase").unwrap();
    s.send_line(PASS).unwrap();
    seen += &s.exp_string("Repeat it").unwrap();
    seen += "Repeat it";
    s.send_line(PASS).unwrap();
    seen += &s.exp_eof().unwrap();
    // Each weak one was refused at once: never "Repeat it" for it.
    let first_repeat = seen.find("Repeat it").unwrap();
    assert!(seen.matches("too weak").count() >= 2 && seen.rfind("too weak").unwrap() < first_repeat, "{seen}");
    assert!(seen.contains("approver key"), "{seen}");
    // The key file carries its own argon2id parameters, sized on this machine.
    let f: Value = serde_json::from_slice(&std::fs::read(t.state().join("approver.json")).unwrap()).unwrap();
    assert_eq!(f["kdf"]["alg"], "argon2id");
    assert_eq!(f["kdf"]["m_kib"], 64 * 1024);
    assert!(f["kdf"]["t"].as_u64().unwrap() >= 1);
}

#[test]
fn failed_unlocks_are_audited_and_the_next_try_waits() {
    let t = Test::new();
    std::fs::write(
        t.dir.path().join("policy.toml"),
        "[[shell.rules]]\nid = \"test.gate\"\nprogram = \"echo\"\nargs = [\"gated*\"]\ndecision = \"escalate\"\nmessage = \"test gate\"\n",
    )
    .unwrap();
    crate::support::approver_init(t.guard(&["approver", "init"]));
    let out = t.guard(&["shell", "-c", "echo gated"]).output().unwrap();
    let msg = String::from_utf8_lossy(&out.stderr).into_owned();
    let i = msg.find("guard approve r-").unwrap() + "guard approve ".len();
    let id = msg[i..i + 34].to_string();
    for n in 1..=2 {
        let seen = pty(t.guard(&["approve", &id]), &[("Approver passphrase", "not it, not at all")]);
        assert!(seen.contains("wrong approver passphrase") && seen.contains(&format!("failed attempt {n}")), "{seen}");
    }
    let log = std::fs::read_to_string(t.state().join("audit.jsonl")).unwrap();
    assert_eq!(log.matches("\"approver-unlock-failed\"").count(), 2, "{log}");
    // The right passphrase still works, after the wait.
    let seen = pty(t.guard(&["approve", &id]), &[("Approver passphrase", PASS), ("Type yes", "yes")]);
    assert!(seen.contains("2 failed passphrase attempt(s) recently; waiting") && seen.contains("approved"), "{seen}");
    assert_eq!(t.guard(&["shell", "-c", "echo gated"]).output().unwrap().status.code(), Some(0));
}
