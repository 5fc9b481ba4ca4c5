//! What people see: escaped agent text, unredacted approve screens, redaction that never hides
//! structure, and an audit tail that says what each record is about.

use crate::support::{PASS, Test, approver_init, pty};

/// Escalates `echo gated…` so a line's display can be checked without running anything harmful.
const POLICY: &str =
    "[[shell.rules]]\nid = \"test.gate\"\nprogram = \"echo\"\nargs = [\"gated*\"]\ndecision = \"escalate\"\nmessage = \"test gate\"\n";

fn setup() -> Test {
    let t = Test::new();
    std::fs::write(t.dir.path().join("policy.toml"), POLICY).unwrap();
    t
}

fn run(t: &Test, args: &[&str]) -> (i32, String, String) {
    let out = t.guard(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn request_id(err: &str) -> String {
    err[err.find("guard approve r-").unwrap() + 14..].chars().take(34).collect()
}

/// `guard shell -c $'git push --force origin main #\e[2K\e[1G  echo harmless'` showed as
/// `echo harmless` on `guard approve`; `requests`, `audit tail` and the refusal line printed the
/// raw escape bytes. Every one of them now writes them out.
#[test]
fn approve_of_a_line_hiding_git_push_force_behind_escape_codes_shows_them_written_out() {
    let t = setup();
    approver_init(t.guard(&["approver", "init"]));
    let line = "echo gated; git push --force origin main #\u{1b}[2K\u{1b}[1G  echo harmless";
    let (code, _, err) = run(&t, &["shell", "-c", line]);
    assert_eq!(code, 75, "{err}");
    assert!(!err.contains('\u{1b}') && err.contains("\\e[2K"), "refusal line: {err:?}");
    let shown = pty(t.guard(&["reject", &request_id(&err)]), &[("Approver passphrase", PASS), ("Type yes", "no")]);
    // (dialoguer's own prompt redraws use escape codes: only the request's part is checked)
    let request_part = &shown[..shown.find("  age:").unwrap()];
    assert!(
        !request_part.contains('\u{1b}') && request_part.contains("git push --force origin main #\\e[2K\\e[1G  echo harmless"),
        "{shown:?}"
    );
    let (_, requests, _) = run(&t, &["requests"]);
    assert!(!requests.contains('\u{1b}') && requests.contains("\\e[2K"), "{requests:?}");
    let (_, tail, _) = run(&t, &["audit", "tail", "-n", "50"]);
    assert!(!tail.contains('\u{1b}') && tail.contains("git push --force"), "{tail:?}");
}

/// The approver sees the command as it will run, unredacted, while the log holds `[REDACTED]`.
#[test]
fn approve_shows_the_full_command_unredacted_while_the_log_is_redacted() {
    let t = setup();
    approver_init(t.guard(&["approver", "init"]));
    let (code, _, err) = run(&t, &["shell", "-c", "DB_PASSWORD=hunter2hunter2 echo gated"]);
    assert_eq!(code, 75, "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let shown = pty(t.guard(&["reject", &request_id(&err)]), &[("Approver passphrase", PASS), ("Type yes", "no")]);
    assert!(shown.contains("DB_PASSWORD=hunter2hunter2 echo gated"), "{shown}");
    assert!(shown.contains(&format!("cwd:       {}", t.work().display())), "{shown}");
    let log = std::fs::read_to_string(t.state().join("audit.jsonl")).unwrap();
    assert!(!log.contains("hunter2") && log.contains("DB_PASSWORD=[REDACTED]"), "{log}");
}

/// `X_TOKEN="$(…)" cmd` was logged as `X_TOKEN=[REDACTED] cmd` in `command` and `argv`: any
/// command could hide in the audit log. Only literal secret values are masked now.
#[test]
fn audit_log_shows_a_command_hidden_in_a_token_assignment() {
    let t = setup();
    let (code, _, err) = run(&t, &["shell", "-c", "X_TOKEN=\"$(echo gated-hidden-command)\" true"]);
    assert_eq!(code, 75, "{err}");
    let (_, _, _) = run(&t, &["shell", "-c", "X_TOKEN=literal-s3cr3t-value true"]);
    let log = std::fs::read_to_string(t.state().join("audit.jsonl")).unwrap();
    let decisions: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap()).filter(|v: &serde_json::Value| v["kind"] == "decision").collect();
    let hidden = &decisions[0];
    assert!(hidden["command"].as_str().unwrap().contains("$(echo gated-hidden-command)"), "{hidden}");
    assert!(hidden["argv"].to_string().contains("$(echo gated-hidden-command)"), "{hidden}");
    let literal = &decisions[1];
    assert_eq!(literal["command"], "X_TOKEN=[REDACTED] true", "{literal}");
}

/// `audit tail` said only `request request`: now each line names the request id, the command,
/// the rule, and what an exec belongs to.
#[test]
fn audit_tail_says_what_each_record_is_about() {
    let t = setup();
    let (code, _, err) = run(&t, &["shell", "-c", "echo gated-tail"]);
    assert_eq!(code, 75, "{err}");
    let id = request_id(&err);
    assert_eq!(run(&t, &["shell", "-c", "true"]).0, 0);
    let (_, tail, _) = run(&t, &["audit", "tail", "-n", "10"]);
    let kind = |k: &str| tail.lines().filter(move |l| l.split_whitespace().nth(2) == Some(k)).collect::<Vec<_>>();
    let request = kind("request").first().copied().unwrap_or_default();
    assert!(request.contains(&id) && request.contains("echo gated-tail"), "{tail}");
    let decision = kind("decision").into_iter().find(|l| l.contains("escalate")).unwrap_or_default();
    assert!(decision.contains("[test.gate]") && decision.contains("echo gated-tail") && decision.contains("request "), "{tail}");
    let exec = kind("exec").first().copied().unwrap_or_default();
    assert!(exec.contains("exit 0") && exec.contains("of decision #"), "{tail}");
}
