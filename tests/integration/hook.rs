//! `guard hook claude` answers Claude Code's PreToolUse JSON shapes.

use serde_json::{Value, json};

use crate::support::{Test, stdout};

/// Runs the hook once, with the state dir of `t` (a fresh command each time).
fn hook(t: Test, input: Value, extra: &[&str]) -> (Test, Option<Value>, i32) {
    let mut args = vec!["hook", "claude"];
    args.extend_from_slice(extra);
    let (_, out) = Test::new()
        .env("GUARD_HOME", t.state().to_str().unwrap())
        .env("HOME", t.home().to_str().unwrap())
        .args(&args)
        .stdin(input.to_string())
        .run();
    let s = stdout(&out);
    let v = if s.trim().is_empty() { None } else { Some(serde_json::from_str(&s).unwrap()) };
    (t, v, out.status.code().unwrap())
}

fn bash(cmd: &str) -> Value {
    json!({
        "session_id": "abc123", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp", "permission_mode": "default",
        "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": cmd, "description": "run it"}
    })
}

fn decision(v: &Option<Value>) -> &str {
    v.as_ref().unwrap()["hookSpecificOutput"]["permissionDecision"].as_str().unwrap()
}

#[test]
fn bash_commands_are_classified() {
    let (_, v, code) = hook(Test::new(), bash("ls -la"), &[]);
    assert_eq!((decision(&v), code), ("allow", 0));
    let (_, v, _) = hook(Test::new(), bash("rm -rf /"), &[]);
    assert_eq!(decision(&v), "deny");
    assert!(v.as_ref().unwrap()["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().contains("shell.rm-root"));
    let (_, v, _) = hook(Test::new(), bash("git push --force"), &[]);
    assert_eq!(decision(&v), "ask");
    let (_, v, _) = hook(Test::new(), bash("git push --force"), &["--unattended"]);
    assert_eq!(decision(&v), "deny");
    assert_eq!(v.as_ref().unwrap()["hookSpecificOutput"]["hookEventName"], "PreToolUse");
}

#[test]
fn writes_to_guards_own_files_are_denied_and_others_get_no_opinion() {
    let t = Test::new();
    let target = t.state().join("audit.jsonl");
    let write = json!({"hook_event_name": "PreToolUse", "tool_name": "Write", "tool_input": {"file_path": target, "content": "x"}});
    let (t, v, _) = hook(t, write, &[]);
    assert_eq!(decision(&v), "deny");
    let edit = json!({"hook_event_name": "PreToolUse", "tool_name": "Edit", "tool_input": {"file_path": t.work().join("src.rs"), "old_string": "a", "new_string": "b"}});
    let (t, v, code) = hook(t, edit, &[]);
    assert!(v.is_none() && code == 0, "{v:?} {code}");
    let nb = json!({"tool_name": "NotebookEdit", "tool_input": {"notebook_path": t.state().join("x.ipynb"), "new_source": "x"}});
    let (t, v, _) = hook(t, nb, &[]);
    assert_eq!(decision(&v), "deny");
    let read = json!({"tool_name": "Read", "tool_input": {"file_path": "/etc/passwd"}});
    let (_, v, code) = hook(t, read, &[]);
    assert!(v.is_none() && code == 0);
}

#[test]
fn malformed_input_is_denied() {
    let (_, out) = Test::new().args(&["hook", "claude"]).stdin("not json").status(0).run();
    assert!(stdout(&out).contains("\"deny\""));
    let (_, v, _) = hook(Test::new(), json!({"tool_name": "Bash", "tool_input": {}}), &[]);
    assert_eq!(decision(&v), "deny");
    let (_, v, _) = hook(Test::new(), json!({"tool_name": "Write", "tool_input": {"content": "x"}}), &[]);
    assert_eq!(decision(&v), "deny");
}

#[test]
fn every_answer_is_logged() {
    let (t, _, _) = hook(Test::new(), bash("ls"), &[]);
    let log = std::fs::read_to_string(t.state().join("audit.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"hook\""));
    assert!(log.contains("\"answer\":\"allow\""));
}

#[test]
fn unattended_escalations_name_the_request_a_human_approves() {
    let t = Test::new();
    let input = json!({"tool_name": "Bash", "cwd": t.work(), "tool_input": {"command": "git push --force"}});
    let (t, v, _) = hook(t, input, &["--unattended"]);
    let reason = v.as_ref().unwrap()["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().to_string();
    assert!(reason.contains("guard approve r-"), "{reason}");
    // The same request as `guard shell -c` in that directory: the pending request is reused.
    // In the hook's home too: the line's sandbox profile (its caches) is part of the request.
    let (_, out) = Test::new()
        .env("GUARD_HOME", t.state().to_str().unwrap())
        .env("HOME", t.home().to_str().unwrap())
        .cwd(&t.work())
        .args(&["shell", "-c", "git push --force"])
        .status(75)
        .run();
    let i = reason.find("guard approve r-").unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&reason[i..i + 48]), "{reason} vs {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn writes_through_a_relative_path_or_a_symlink_into_guards_state_are_denied() {
    let t = Test::new();
    std::os::unix::fs::symlink(t.state(), t.work().join("innocent")).unwrap();
    let write = json!({"tool_name": "Write", "cwd": t.work(), "tool_input": {"file_path": "innocent/audit.jsonl", "content": "x"}});
    let (_, v, _) = hook(t, write, &[]);
    assert_eq!(decision(&v), "deny");
}
