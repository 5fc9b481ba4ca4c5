//! The agent hooks against recorded payloads (`testdata/hooks/`): exact stdout and exit code
//! for allow, escalate, block, malformed input and internal errors, for every agent.

use crate::support::{Test, approver_init, pty, stderr, stdout};

const AGENTS: &[&str] = &["claude", "codex", "cursor", "gemini"];

fn payload(agent: &str, file: &str) -> String {
    std::fs::read_to_string(format!("{}/testdata/hooks/{agent}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Containment off: the hook's answers without rewrites.
const UNCONTAINED: &str = "[sandbox]\nmode = \"off\"\n";

fn place(t: &Test, s: &str) -> String {
    s.replace("__GUARD__", crate::support::guard_bin())
        .replace("__CWD__", &t.work().to_string_lossy())
        .replace("__HOME__", &t.home().to_string_lossy())
        .replace("__STATE__", &t.state().to_string_lossy())
}

/// Runs one hook with `input` on stdin in a fresh test home; returns (exit, stdout, stderr).
fn run(t: &Test, agent: &str, extra: &[&str], input: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut args = vec!["hook", agent];
    args.extend_from_slice(extra);
    let mut c = t.guard(&args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

#[test]
fn recorded_payloads_get_the_exact_answers() {
    let table = std::fs::read_to_string(format!("{}/testdata/hooks/cases.tsv", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut n = 0;
    for line in table.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, agent, file, subst, extra, policy, code, expect] = cols[..] else { panic!("bad case line: {line}") };
        let t = match policy {
            "contained" => Test::new(),
            "uncontained" => Test::new().policy(UNCONTAINED),
            other => panic!("{name}: unknown policy {other}"),
        };
        let mut input = place(&t, &payload(agent, file));
        for kv in subst.split(';').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap();
            input = input.replace(&format!("__{k}__"), &place(&t, v));
        }
        let extra: Vec<&str> = extra.split_whitespace().collect();
        let (got_code, out, err) = run(&t, agent, &extra, &input, &[]);
        assert_eq!(got_code.to_string(), code, "{name}: exit\nstdout: {out}\nstderr: {err}");
        let expect = place(&t, expect);
        match expect.strip_prefix('~') {
            _ if expect == "-" => assert_eq!(out, "", "{name}: stdout"),
            Some(part) => assert!(out.contains(part), "{name}: stdout lacks {part}\nstdout: {out}"),
            None => assert_eq!(out, format!("{expect}\n"), "{name}: stdout"),
        }
        if !out.is_empty() {
            let _: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: stdout is not one JSON value: {e}"));
        }
        n += 1;
    }
    assert!(n >= 45, "only {n} cases");
}

#[test]
fn malformed_payloads_exit_2_with_the_reason_on_stderr_for_every_agent() {
    for agent in AGENTS {
        let no_command = match *agent {
            "cursor" => r#"{"hook_event_name":"beforeShellExecution","cwd":"/tmp"}"#,
            "gemini" => r#"{"tool_name":"run_shell_command","tool_input":{}}"#,
            _ => r#"{"tool_name":"Bash","tool_input":{"description":"x"}}"#,
        };
        for input in ["not json", "[1,2]", no_command, ""] {
            let t = Test::new();
            let (code, out, err) = run(&t, agent, &[], input, &[]);
            assert_eq!((code, out.as_str()), (2, ""), "{agent} {input:?}: {err}");
            assert!(err.starts_with("guard: ") && err.contains("hook exit 2"), "{agent}: {err}");
        }
    }
}

#[test]
fn an_internal_error_exits_2_for_every_agent() {
    // A broken policy is guard's own failure: it must block, not let the tool run.
    for agent in AGENTS {
        let t = Test::new().policy("[shell\nbroken");
        let file = if *agent == "cursor" || *agent == "gemini" { "shell.json" } else { "bash.json" };
        let input = place(&t, &payload(agent, file)).replace("__COMMAND__", "ls").replace("__MODE__", "default");
        let (code, out, err) = run(&t, agent, &[], &input, &[]);
        assert_eq!((code, out.as_str()), (2, ""), "{agent}: {err}");
        assert!(err.contains("policy"), "{agent}: {err}");
    }
}

#[test]
fn a_panic_in_hook_mode_exits_2() {
    let t = Test::new();
    let (code, out, err) = run(&t, "claude", &[], "{}", &[("GUARD_TEST_PANIC_IN_HOOK", "1")]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("guard: internal error"), "{err}");
    // Outside hook mode the same panic is an internal error, 70 (the trigger is only in the hook).
    let (code, _, _) = run(&t, "bogus-agent", &[], "{}", &[]);
    assert_eq!(code, 2, "a usage error in hook mode must still block");
}

#[test]
fn hook_allow_policy_restores_the_explicit_allow() {
    let t = Test::new().policy("[hook]\nallow = \"allow\"\n\n[sandbox]\nmode = \"off\"\n");
    let input = place(&t, &payload("claude", "bash.json")).replace("__COMMAND__", "ls -la").replace("__MODE__", "default");
    let (code, out, _) = run(&t, "claude", &[], &input, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"allow\",\"permissionDecisionReason\":\"guard: allowed\"}}\n"
    );
}

#[test]
fn mcp_rules_judge_server_tool_and_arguments_and_their_examples_are_checked_at_load() {
    let policy = r#"
[[mcp.rules]]
id = "custom.k8s-delete-prod"
server = "kubernetes"
tool = "*delete*"
args = { name = "prod-*" }
decision = "block"
message = "production is deleted by a human"
examples = [{ server = "kubernetes", tool = "resources_delete", args = { kind = "Namespace", name = "prod-eu" }, decision = "block" }]

[[mcp.rules]]
id = "custom.k8s-scratch"
server = "kubernetes"
tool = "resources_delete"
args = { name = "scratch-*" }
decision = "allow"
message = "scratch namespaces are disposable"
"#;
    let t = Test::new().policy(policy);
    let input = place(&t, &payload("claude", "mcp.json")).replace("__MODE__", "default");
    let (_, out, _) = run(&t, "claude", &[], &input.replace("__NAME__", "prod-eu"), &[]);
    assert!(out.contains("\"deny\"") && out.contains("custom.k8s-delete-prod"), "{out}");
    let (code, out, _) = run(&t, "claude", &[], &input.replace("__NAME__", "scratch-1"), &[]);
    assert_eq!((code, out.as_str()), (0, ""), "a user allow overrides the built-in escalation");
    let (_, out, _) = run(&t, "claude", &[], &input.replace("__NAME__", "kube-system"), &[]);
    assert!(out.contains("mcp.protected-namespace"), "a user rule never lifts a built-in block: {out}");
    // A rule whose example fails is a policy error at load.
    let broken = policy.replace("decision = \"block\" }]", "decision = \"allow\" }]");
    Test::new().policy(&broken).args(&["policy", "check", "/dev/null"]).run();
    let t = Test::new().policy(&broken);
    let (_, out) = t.args(&["explain", "shell", "ls"]).status(78).stderr_contains("custom.k8s-delete-prod").run();
    assert!(stdout(&out).is_empty());
}

#[test]
fn the_hook_never_consumes_an_approval_only_guard_running_the_command_does() {
    if !crate::support::require_tool("bash") {
        return;
    }
    // A user rule escalates a harmless, observable command (contained or not).
    let t = Test::new().policy(
        "[[shell.rules]]\nid = \"test.gate\"\nprogram = \"echo\"\nargs = [\"gated\"]\ndecision = \"escalate\"\nmessage = \"test gate\"\n",
    );
    assert!(approver_init(t.guard(&["approver", "init"])).contains("approver key"));
    let line = "echo gated >> out.txt";
    let input = place(&t, &payload("codex", "bash.json")).replace("__COMMAND__", line);
    let (_, out, _) = run(&t, "codex", &[], &input, &[]);
    let i = out.find("guard approve r-").expect(&out) + "guard approve ".len();
    let id = out[i..i + 34].to_string();
    pty(t.guard(&["approve", &id]), &[("Approver passphrase", crate::support::PASS), ("Type yes", "yes")]);
    // Asked again and again, the hook only reports; the approval stays for guard to use.
    for _ in 0..3 {
        let (code, out, _) = run(&t, "codex", &[], &input, &[]);
        assert_eq!(code, 0);
        assert!(out.contains("a human approved") && out.contains("guard shell -c 'echo gated >> out.txt'"), "{out}");
    }
    assert!(!t.work().join("out.txt").exists(), "the hook ran it");
    let ran = t.guard(&["shell", "-c", line]).output().unwrap();
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    assert_eq!(std::fs::read_to_string(t.work().join("out.txt")).unwrap(), "gated\n");
    // Used once: the next run is a new request.
    assert_eq!(t.guard(&["shell", "-c", line]).output().unwrap().status.code(), Some(75));
}

#[test]
fn every_answer_is_logged() {
    let t = Test::new();
    let input = place(&t, &payload("gemini", "shell.json")).replace("__COMMAND__", "rm -rf /");
    run(&t, "gemini", &[], &input, &[]);
    let log = std::fs::read_to_string(t.state().join("audit.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"hook\"") && log.contains("\"agent\":\"gemini\"") && log.contains("\"answer\":\"deny\""), "{log}");
}

#[test]
fn writes_through_a_relative_path_or_a_symlink_into_guards_state_are_denied() {
    let t = Test::new();
    std::os::unix::fs::symlink(t.state(), t.work().join("innocent")).unwrap();
    let input = place(&t, &payload("claude", "write.json")).replace("__PATH__", "innocent/audit.jsonl").replace("__MODE__", "default");
    let (_, out, _) = run(&t, "claude", &[], &input, &[]);
    assert!(out.contains("\"deny\"") && out.contains("shell.guard-self"), "{out}");
}

#[test]
fn doctor_checks_the_claude_hook_is_registered_and_its_command_exists() {
    let settings = |t: &Test, cmd: &str| {
        std::fs::create_dir_all(t.home().join(".claude")).unwrap();
        let v =
            serde_json::json!({"hooks": {"PreToolUse": [{"matcher": "Bash|Write|Edit", "hooks": [{"type": "command", "command": cmd}]}]}});
        std::fs::write(t.home().join(".claude/settings.json"), v.to_string()).unwrap();
    };
    let line = |out: &std::process::Output| stdout(out).lines().find(|l| l.contains("claude code hook")).unwrap_or_default().to_string();
    // A hook whose command path is gone fails open in Claude Code: doctor fails.
    let t = Test::new();
    settings(&t, "/nonexistent/bin/guard hook claude");
    let out = t.guard(&["doctor"]).output().unwrap();
    assert!(line(&out).starts_with("FAIL") && line(&out).contains("does not exist"), "{}", line(&out));
    assert_eq!(out.status.code(), Some(1));
    // A bare `guard` works only where Claude Code's PATH has guard: a warning.
    let t = Test::new();
    settings(&t, "guard hook claude");
    let out = t.guard(&["doctor"]).output().unwrap();
    assert!(line(&out).starts_with("warn") && line(&out).contains("not an absolute path"), "{}", line(&out));
    let t = Test::new();
    settings(&t, &format!("{} hook claude", crate::support::guard_bin()));
    let out = t.guard(&["doctor"]).output().unwrap();
    assert!(line(&out).starts_with("ok") && line(&out).contains("registered in"), "{}", line(&out));
    // In the project's .claude/settings.local.json too; unregistered is a warning.
    let t = Test::new();
    let out = t.guard(&["doctor"]).output().unwrap();
    assert!(line(&out).starts_with("warn") && line(&out).contains("not registered"), "{}", line(&out));
}

#[test]
fn guard_inside_a_line_is_guards_own_pipeline_not_an_unknown_command() {
    let explain = |line: &str| {
        let (_, out) = Test::new().args(&["explain", "shell", line]).status(0).run();
        stdout(&out).lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(explain("cd infra && guard terraform plan"), "allow");
    assert_eq!(explain("guard terraform apply p-0123456789abcdef0123456789abcdef && echo done"), "allow");
    assert_eq!(explain("ls && guard terraform apply -auto-approve"), "block");
    assert_eq!(explain("guard kubectl delete pod web; ls"), "escalate");
    assert_eq!(explain("guard approve r-0123"), "block", "approvals are a human's");
    assert_eq!(explain("guard --home /tmp/x terraform plan"), "block", "another state dir is another approver");
}

#[test]
fn shell_writes_to_the_agents_hook_settings_escalate_reads_pass() {
    // The hook denies the write tools; a Bash line that writes the same files needs a human.
    for line in [
        "echo '{}' > .claude/settings.json",
        "cp evil.json .claude/settings.local.json",
        "sed -i s/deny/allow/ ~/.claude/settings.json",
        "tee .codex/config.toml < x",
        "echo x > .git/hooks/pre-commit",
        "rm .gemini/settings.json",
    ] {
        let (_, out) = Test::new().args(&["explain", "--json", "shell", line]).status(0).run();
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["decision"], "escalate", "{line}: {v}");
        assert!(v["reasons"].as_array().unwrap().iter().any(|r| r["rule"] == "shell.persistence"), "{line}: {v}");
    }
    for line in ["cat .claude/settings.json", "jq . ~/.claude/settings.json", "echo x > .claude/commands/review.md"] {
        let (_, out) = Test::new().args(&["explain", "shell", line]).status(0).run();
        assert_eq!(stdout(&out).lines().next(), Some("allow"), "{line}");
    }
}

#[test]
fn a_script_swapped_after_an_approval_asked_through_the_hook_does_not_run() {
    if !crate::support::require_tool("bash") {
        return;
    }
    // Uncontained, `bash deploy.sh` needs a human; the hook cannot ask one (codex), so it files
    // the request `guard shell -c` makes, which must bind deploy.sh's bytes as guard's does.
    let t = Test::new().policy(UNCONTAINED);
    assert!(approver_init(t.guard(&["approver", "init"])).contains("approver key"));
    let script = t.work().join("deploy.sh");
    std::fs::write(&script, "echo approved >> out.txt\n").unwrap();
    let line = "bash deploy.sh";
    let input = place(&t, &payload("codex", "bash.json")).replace("__COMMAND__", line);
    let (_, out, _) = run(&t, "codex", &[], &input, &[]);
    let i = out.find("guard approve r-").expect(&out) + "guard approve ".len();
    let id = out[i..i + 34].to_string();
    let shown = pty(t.guard(&["approve", &id]), &[("Approver passphrase", crate::support::PASS), ("Type yes", "yes")]);
    assert!(shown.contains(&format!("script:{}", script.display())), "the human must see the script's hash: {shown}");
    // Swapped after the approval: neither the hook nor guard takes the approval for it.
    std::fs::write(&script, "echo SWAPPED >> out.txt\n").unwrap();
    let (_, out, _) = run(&t, "codex", &[], &input, &[]);
    assert!(out.contains("needs a human approval") && !out.contains(&id), "{out}");
    assert_eq!(t.guard(&["shell", "-c", line]).output().unwrap().status.code(), Some(75));
    // The approved bytes back: the hook says so, and guard runs it with that approval.
    std::fs::write(&script, "echo approved >> out.txt\n").unwrap();
    let (_, out, _) = run(&t, "codex", &[], &input, &[]);
    assert!(out.contains("a human approved this command"), "{out}");
    let ran = t.guard(&["shell", "-c", line]).output().unwrap();
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    assert_eq!(std::fs::read_to_string(t.work().join("out.txt")).unwrap(), "approved\n");
}
