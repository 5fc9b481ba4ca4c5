//! Exit codes of every contract case.

use crate::support::Test;

#[test]
fn allowed_command_passes_the_tools_exit_code_through() {
    Test::new().args(&["shell", "-c", "exit 3"]).status(3).run();
    Test::new().args(&["shell", "-c", "true"]).status(0).run();
}

#[test]
fn killed_by_signal_is_128_plus_n() {
    // Contained, `kill` signals only the line's own processes (its pid namespace): allowed.
    Test::new().args(&["shell", "-c", "kill -TERM $$"]).status(128 + 15).run();
    // Uncontained it is escalated by default; a user rule allows it for this test.
    let off = "[sandbox]\nmode = \"off\"\n";
    Test::new().policy(off).args(&["shell", "-c", "kill -TERM $$"]).status(75).run();
    Test::new()
        .policy(&format!(
            "{off}[[shell.rules]]\nid = \"test.kill\"\nprogram = \"kill\"\ndecision = \"allow\"\nmessage = \"tests may signal\"\n"
        ))
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
    // Contained, an unknown program runs (the sandbox holds it); a force push needs a human anyway.
    Test::new().args(&["shell", "-c", "git push --force"]).status(75).stderr_contains("shell.git-force-push").run();
    Test::new()
        .policy("[sandbox]\nmode = \"off\"\n")
        .args(&["shell", "-c", "frobnicate --now"])
        .status(75)
        .stderr_contains("shell.unknown-command")
        .run();
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

#[test]
fn shell_help_prints_guards_help_and_makes_no_approval_request() {
    let (t, out) =
        Test::new().args(&["shell", "--help"]).status(0).stdout_contains("guard shell [--network] [--write DIR]... -c LINE").run();
    assert!(!stdout_of(&out).contains("GNU bash"), "bash's help: {}", stdout_of(&out));
    assert!(!t.state().join("requests").exists() || std::fs::read_dir(t.state().join("requests")).unwrap().next().is_none());
    let log = std::fs::read_to_string(t.state().join("audit.jsonl")).unwrap_or_default();
    assert!(!log.contains("\"kind\":\"decision\""), "help was treated as a command: {log}");
}

#[test]
fn terraform_help_shows_guards_plan_apply_and_plans() {
    for flag in ["--help", "-h", "-help"] {
        let (_, out) = Test::new().args(&["terraform", flag]).status(0).run();
        let s = stdout_of(&out);
        assert!(s.contains("guard terraform plan") && s.contains("apply <plan_id>") && s.contains("guard terraform plans"), "{s}");
    }
    Test::new().args(&["kubectl", "--help"]).status(0).stdout_contains("protected").run();
}

#[test]
fn guard_alone_prints_the_usage_on_stderr_and_exits_64() {
    let (_, out) = Test::new().status(64).stderr_contains("Usage: guard").run();
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_name_the_missing_argument() {
    Test::new().args(&["approve"]).status(64).stderr_contains("<ID>").stderr_contains("guard approve <ID>").run();
    Test::new().args(&["lease", "grant"]).status(64).stderr_contains("<RULE>").run();
    Test::new().args(&["policy", "check"]).status(64).stderr_contains("<FILE>").run();
}

#[test]
fn json_flags_print_one_json_document_per_command() {
    let t = Test::new();
    let state = t.state();
    let home = state.to_str().unwrap();
    Test::new().env("GUARD_HOME", home).args(&["shell", "-c", "true"]).status(0).run();
    for args in [
        &["policy", "show", "--json"][..],
        &["policy", "check", "/dev/null", "--json"],
        &["audit", "verify", "--json"],
        &["doctor", "--json"],
    ] {
        let (_, out) = Test::new().env("GUARD_HOME", home).args(args).run();
        let s = stdout_of(&out);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{args:?}: {e}: {s}"));
        assert!(v.is_object(), "{args:?}");
    }
    // Failures still print one document (and exit with the contract's code).
    let bad = t.dir.path().join("bad.toml");
    std::fs::write(&bad, "[x").unwrap();
    let (_, out) = Test::new().args(&["policy", "check", bad.to_str().unwrap(), "--json"]).status(78).run();
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(v["valid"], false);
    // Lists are JSON Lines: every line one object.
    for args in [&["lease", "list", "--json"][..], &["requests", "--json", "--all"], &["audit", "tail", "--json"]] {
        let (_, out) = Test::new().env("GUARD_HOME", home).args(args).status(0).run();
        for line in stdout_of(&out).lines() {
            assert!(serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()), "{args:?}: {line}");
        }
    }
}

#[test]
fn audit_verify_json_says_broken_with_exit_65() {
    let (t, _) = Test::new().args(&["shell", "-c", "true"]).status(0).run();
    let log = t.state().join("audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap().replacen("\"true\"", "\"false\"", 1);
    std::fs::write(&log, text).unwrap();
    let (_, out) = Test::new().env("GUARD_HOME", t.state().to_str().unwrap()).args(&["audit", "verify", "--json"]).status(65).run();
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout_of(&out)));
    assert_eq!(v["intact"], false, "{v}");
}

#[test]
fn completions_generate_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let (_, out) = Test::new().args(&["completions", shell]).status(0).run();
        let s = stdout_of(&out);
        assert!(s.contains("guard") && s.contains("terraform") && s.len() > 1000, "{shell}: {s}");
    }
    let (t, out) = Test::new().args(&["completions", "bash"]).status(0).run();
    let f = t.dir.path().join("guard.bash");
    std::fs::write(&f, &out.stdout).unwrap();
    let check = std::process::Command::new("bash").arg("-n").arg(&f).status().unwrap();
    assert!(check.success(), "the bash completion script does not parse");
    Test::new().args(&["completions", "tcsh-nonsense"]).status(64).run();
}

#[test]
fn man_page_and_version_with_the_commit() {
    Test::new().arg("man").status(0).stdout_contains(".TH guard 1").stdout_contains("approve").run();
    let (_, out) = Test::new().arg("--version").status(0).run();
    let v = stdout_of(&out);
    assert!(v.starts_with("guard 0.") && v.contains(" (") && v.trim_end().ends_with(')'), "{v}");
}

#[test]
fn terraform_plan_json_prints_only_json_on_stdout_and_colour_follows_no_color() {
    if !crate::support::require_tool("terraform") {
        return;
    }
    let t = Test::new();
    std::fs::write(t.work().join("main.tf"), "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n").unwrap();
    let rc = t.dir.path().join("missing-terraformrc");
    // A CLI config that does not exist makes terraform print a warning: it must not reach stdout.
    let t = t.env("TF_CLI_CONFIG_FILE", rc.to_str().unwrap());
    let (t, _) = t.args(&["terraform", "init", "-input=false"]).status(0).run();
    let state = t.state();
    let run = |extra: &[(&str, &str)], args: &[&str]| {
        let mut c = t.guard(args);
        c.env("TF_CLI_CONFIG_FILE", rc.to_str().unwrap()).env("CHECKPOINT_DISABLE", "1").env("GUARD_HOME", &state);
        for (k, v) in extra {
            c.env(k, v);
        }
        c
    };
    let out = run(&[], &["terraform", "plan", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout_of(&out)));
    assert!(v["id"].as_str().unwrap().starts_with("p-"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 to add"), "terraform's text goes to stderr");
    // On a terminal guard's own summary is coloured, unless NO_COLOR is set.
    let seen = crate::support::pty(run(&[], &["terraform", "plan"]), &[]);
    let line = seen.lines().find(|l| l.contains("guard: plan ")).unwrap_or_default().to_string();
    assert!(line.contains("\u{1b}["), "no colour on a terminal: {line:?}");
    let seen = crate::support::pty(run(&[("NO_COLOR", "1")], &["terraform", "plan"]), &[]);
    let line = seen.lines().find(|l| l.contains("guard: plan ")).unwrap_or_default().to_string();
    assert!(!line.is_empty() && !line.contains("\u{1b}["), "colour despite NO_COLOR: {line:?}");
}

fn stdout_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
