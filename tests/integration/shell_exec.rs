//! `guard shell` runs allowed lines faithfully with the real bash, and blocked lines not at all.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{Test, stdout};

#[test]
fn exit_codes_pass_through() {
    Test::new().args(&["shell", "-c", "exit 7"]).status(7).run();
    Test::new().args(&["shell", "-c", "false"]).status(1).run();
}

#[test]
fn all_contract_argument_forms_work() {
    for form in [&["-c"][..], &["-lc"], &["-l", "-c"], &["-e", "-c"]] {
        let mut args = vec!["shell"];
        args.extend_from_slice(form);
        args.push("echo form-ok");
        Test::new().args(&args).status(0).stdout_contains("form-ok").run();
    }
}

#[test]
fn stdin_passes_through() {
    Test::new().args(&["shell", "-c", "cat"]).stdin("hello from stdin\n").status(0).stdout_contains("hello from stdin").run();
}

#[test]
fn a_blocked_compound_line_creates_nothing() {
    let (t, _) = Test::new().args(&["shell", "-c", "touch m; rm -rf /"]).status(77).run();
    assert!(!t.work().join("m").exists(), "part of a blocked line ran");
}

#[test]
fn an_escalated_compound_line_creates_nothing() {
    let (t, _) = Test::new().args(&["shell", "-c", "touch m && git push --force"]).status(75).run();
    assert!(!t.work().join("m").exists(), "part of an escalated line ran");
}

#[test]
fn an_allowed_compound_line_runs_fully() {
    let (t, out) = Test::new().args(&["shell", "-c", "touch a && mkdir -p d; echo done > d/c; cat d/c"]).status(0).run();
    assert!(t.work().join("a").exists() && t.work().join("d/c").exists());
    assert_eq!(stdout(&out).trim(), "done");
}

#[test]
fn the_line_is_run_exactly_as_given() {
    // Quoting that a rebuilt line would lose: guard must hand bash the original string.
    Test::new().args(&["shell", "-c", r#"printf '%s|' "a b" 'c"d' $'e\tf'"#]).status(0).stdout_contains("a b|c\"d|e\tf|").run();
}

#[test]
fn sigint_sent_to_guard_is_forwarded_to_the_child() {
    let t = Test::new();
    let mut c = t.command();
    c.args(["shell", "-c", "trap 'echo got-int; exit 9' INT; echo ready; sleep 20 & wait"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(700));
    let _ = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status();
    let out = child.wait_with_output().unwrap();
    let s = stdout(&out);
    assert!(s.contains("got-int"), "stdout: {s}");
    assert_eq!(out.status.code(), Some(9));
}

#[test]
fn the_shims_route_through_guard() {
    let t = Test::new();
    let shims = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shims");
    let guard_dir = std::path::Path::new(crate::support::guard_bin()).parent().unwrap().to_path_buf();
    let path = format!("{}:{}:{}", shims.display(), guard_dir.display(), std::env::var("PATH").unwrap());
    let out = std::process::Command::new(shims.join("bash"))
        .args(["-c", "rm -rf /"])
        .env("PATH", &path)
        .env("GUARD_HOME", t.state())
        .env_remove("GUARD_POLICY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(77));
    let out = std::process::Command::new(shims.join("sh"))
        .args(["-c", "echo via-shim"])
        .env("PATH", &path)
        .env("GUARD_HOME", t.state())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("via-shim"));
}

#[test]
fn the_decision_record_is_in_the_log_before_the_command_starts() {
    // The command reads the log's last line: its own decision record, complete and chained.
    // Uncontained: a contained line cannot read guard's state at all (sandbox tests).
    let t = Test::new().policy("[sandbox]\nmode = \"off\"\n");
    let log = t.state().join("audit.jsonl");
    let line = format!("tail -n 1 {}", log.display());
    let (t, out) = t.args(&["shell", "-c", &line]).status(0).run();
    let seen: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(seen["kind"], "decision");
    assert_eq!(seen["command"], line.as_str());
    // After the run: that record, then the exec record, and the chain verifies.
    let text = std::fs::read_to_string(&log).unwrap();
    let last: Vec<serde_json::Value> = text.lines().rev().take(2).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(last[1]["hash"], seen["hash"]);
    assert_eq!(last[0]["kind"], "exec");
    Test::new().env("GUARD_HOME", t.state().to_str().unwrap()).args(&["audit", "verify"]).status(0).run();
}

#[test]
fn arithmetic_on_a_value_from_a_file_runs_code_in_bash_and_is_refused_by_guard() {
    // bash evaluates n's value as an expression, and the subscript in it runs `touch`.
    let line = "n=$(cat n.txt); echo $((n + 1))";
    let t = Test::new();
    std::fs::write(t.work().join("n.txt"), "a[$(touch pwned)]\n").unwrap();
    let bash = std::process::Command::new("bash").args(["-c", line]).current_dir(t.work()).output().unwrap();
    assert!(bash.status.success() && t.work().join("pwned").exists(), "the attack no longer works in this bash: {bash:?}");
    std::fs::remove_file(t.work().join("pwned")).unwrap();
    let (t, _) = t.args(&["shell", "-c", line]).status(75).stderr_contains("shell.dynamic-code").run();
    assert!(!t.work().join("pwned").exists(), "guard let the arithmetic run");
}
