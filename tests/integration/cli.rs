//! Exit codes of every contract case.

use crate::support::Test;

#[test]
fn allowed_command_passes_the_tools_exit_code_through() {
    Test::new().args(&["shell", "-c", "exit 3"]).status(3).run();
    Test::new().args(&["shell", "-c", "true"]).status(0).run();
}

#[test]
fn killed_by_signal_is_128_plus_n() {
    Test::new().args(&["shell", "-c", "kill -TERM $$"]).status(75).run();
    // `kill` is escalated by default; a user rule allows it for this test.
    Test::new()
        .policy("[[shell.rules]]\nid = \"test.kill\"\nprogram = \"kill\"\ndecision = \"allow\"\nmessage = \"tests may signal\"\n")
        .args(&["shell", "-c", "kill -TERM $$"])
        .status(128 + 15)
        .run();
}

#[test]
fn blocked_is_77_with_one_guard_line_naming_the_rule() {
    let (_, out) =
        Test::new().args(&["shell", "-c", "rm -rf /"]).status(77).stderr_contains("guard: blocked").stderr_contains("shell.rm-root").run();
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn escalated_is_75() {
    Test::new().args(&["shell", "-c", "git push --force origin main"]).status(75).stderr_contains("shell.git-force-push").run();
}

#[test]
fn usage_errors_are_64() {
    Test::new().arg("frobnicate").status(64).stderr_contains("guard:").run();
    Test::new().args(&["audit", "tail", "-n", "notanumber"]).status(64).run();
    Test::new().args(&["explain"]).status(64).run();
}

#[test]
fn unknown_plan_id_is_65() {
    Test::new().args(&["terraform", "apply", "p-0123456789abcdef"]).status(65).stderr_contains("unknown plan id").run();
}

#[test]
fn bad_policy_is_78() {
    Test::new().policy("[nonsense]\n").args(&["shell", "-c", "ls"]).status(78).run();
}

#[test]
fn help_and_version_exit_0() {
    Test::new().arg("--help").status(0).stdout_contains("guard").run();
    Test::new().arg("--version").status(0).run();
}

#[test]
fn non_utf8_arguments_are_refused_not_mangled() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    let out = t.command().arg("shell").arg("-c").arg(std::ffi::OsStr::from_bytes(b"echo \xff")).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn every_run_is_audited_before_and_after() {
    let (t, _) = Test::new().args(&["shell", "-c", "true"]).status(0).run();
    let log = std::fs::read_to_string(t.state().join("audit.jsonl")).unwrap();
    let kinds: Vec<String> =
        log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["genesis", "decision", "exec"]);
    Test::new().args(&["audit", "verify"]).env("GUARD_HOME", t.state().to_str().unwrap()).status(0).run();
}

#[test]
fn state_dir_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    let home = t.dir.path().join("fresh-state");
    let (_t, _) = t.args(&["shell", "-c", "true"]).env("GUARD_HOME", home.to_str().unwrap()).status(0).run();
    assert_eq!(std::fs::metadata(&home).unwrap().permissions().mode() & 0o777, 0o700);
}
