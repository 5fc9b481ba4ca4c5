//! Issue 13 item 18: guard's output to the agent stays one clear line (or nothing).

use std::process::{Command, Stdio};

use crate::support::{Test, guard_bin};

/// Runs guard with stdout a pipe whose reader is already gone: every write gets EPIPE.
fn with_closed_stdout(args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let t = Test::new();
    let mut c = Command::new(guard_bin());
    c.args(args).current_dir(t.work()).env("GUARD_HOME", t.state()).env("HOME", t.home()).env_remove("GUARD_POLICY");
    let mut child = c.stdin(Stdio::piped()).stdout(writer).stderr(Stdio::piped()).spawn().unwrap();
    let mut si = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut si, &input);
    });
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn explain_piped_into_head_exits_quietly_on_epipe() {
    let many = "{\"tool\":\"shell\",\"line\":\"ls -la\"}\n".repeat(5000);
    for (args, input) in [
        (&["explain", "--jsonl"][..], many.as_bytes()),
        (&["explain", "shell", "rm -rf /"], b"".as_slice()),
        (&["explain", "--json", "terraform", "apply"], b""),
    ] {
        let (code, err) = with_closed_stdout(args, input);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} reported: {err}");
    }
}

#[test]
fn listing_commands_piped_into_head_end_quietly_and_never_report_success() {
    // They used to end with "internal error … Broken pipe (please report this)" and 70. Now they
    // end quietly with 141, as a tool SIGPIPE ends: a check (`audit verify`, `doctor`) whose
    // output nobody read must not turn into a 0.
    for args in [
        &["audit", "verify"][..],
        &["policy", "show"],
        &["policy", "rules"],
        &["policy", "rules", "--json"],
        &["doctor"],
        &["--help"],
        &["--version"],
    ] {
        let (code, err) = with_closed_stdout(args, b"");
        assert_eq!(code, Some(141), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} reported: {err}");
    }
}

/// Runs `guard shell -c line`; returns the exit code and stderr (never printing the line).
fn refused(line: &str) -> (Option<i32>, String) {
    let (_, out) = Test::new().args(&["shell", "-c", line]).run();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn sha256(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_refused_120_kb_line_is_shortened_in_the_message_and_named_by_its_hash() {
    for (line, code, rule) in [
        // Long, analysed and blocked (guard's own parser is linear: 120 KB is not too long).
        (format!("echo {}; rm -rf /", "a".repeat(120 * 1024)), 77, "shell.rm-root"),
        // Long, analysed and blocked.
        (format!("echo {}; rm -rf /", "b".repeat(60 * 1024)), 77, "shell.rm-root"),
        (format!("echo {}; git push --force", "c".repeat(10 * 1024)), 75, "shell.git-force-push"),
    ] {
        let (got, err) = refused(&line);
        let head = err.get(..err.len().min(600)).unwrap_or(&err).to_string();
        assert_eq!(got, Some(code), "{head}");
        assert!(err.len() < 2000, "the refusal echoes {} bytes: {head}", err.len());
        assert!(err.starts_with("guard:") && err.contains(rule), "{head}");
        assert!(err.contains(&format!("{} bytes in all, sha256 {}", line.len(), sha256(&line))), "{head}");
    }
}
