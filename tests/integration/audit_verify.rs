//! Issue 13 item 17: `guard audit verify` proves the chain or fails (65); it never says
//! "intact" about a log it could not read or an anchor it could not parse.

use std::os::unix::fs::PermissionsExt;

use crate::support::Test;

fn some_records(t: &Test) {
    let out = t.guard(&["shell", "-c", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn audit_verify_exits_65_on_an_unreadable_state_dir() {
    // A state "dir" that is a file.
    let t = Test::new();
    let file = t.dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    Test::new().env("GUARD_HOME", file.to_str().unwrap()).args(&["audit", "verify"]).status(65).stderr_contains("guard:").run();
    // The log itself cannot be read (a directory in its place).
    let t = Test::new();
    some_records(&t);
    let log = t.state().join("audit.jsonl");
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    let state = t.state();
    Test::new().env("GUARD_HOME", state.to_str().unwrap()).args(&["audit", "verify"]).status(65).stderr_contains("unreadable").run();
    // A directory this user cannot read (root reads every directory, so only without root).
    let t = Test::new();
    some_records(&t);
    let state = t.state();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&state).is_err() {
        Test::new().env("GUARD_HOME", state.to_str().unwrap()).args(&["audit", "verify"]).status(65).run();
    }
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn audit_verify_exits_65_on_a_garbage_audit_head() {
    for garbage in ["garbage\n", "{\"seq\": 1}", "{\"seq\": 1, \"hash\": \"zz\"}", ""] {
        let t = Test::new();
        some_records(&t);
        let state = t.state();
        Test::new().env("GUARD_HOME", state.to_str().unwrap()).args(&["audit", "verify"]).status(0).run();
        std::fs::write(state.join("audit.head"), garbage).unwrap();
        Test::new().env("GUARD_HOME", state.to_str().unwrap()).args(&["audit", "verify"]).status(65).stderr_contains("audit.head").run();
    }
}
