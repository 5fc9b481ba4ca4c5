//! Differential tests of guard's shell parser against the real bash (5.2 in CI).
//!
//! - Acceptance: every line guard's parser accepts, `bash -n` accepts too (NL2Bash, the fuzzer's
//!   findings and `testdata/shell/bash_diff.txt`), and guard refuses few NL2Bash lines bash accepts.
//! - Structure: bash runs each line of `testdata/shell/bash_diff.txt` in a scratch directory whose
//!   `PATH` holds only stub programs; each stub records its argv and what it read on stdin. What
//!   bash ran must be what guard's walk saw — observed by running bash, so guard's own model of
//!   bash cannot fool the test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use guard::request::Context;
use guard::tools::shell::syntax;

use crate::support::require_tool;

/// External programs the stubs stand in for (none is a bash builtin).
const STUBS: &[&str] = &[
    "cat",
    "rm",
    "ls",
    "grep",
    "sort",
    "head",
    "tail",
    "wc",
    "sed",
    "awk",
    "find",
    "touch",
    "mkdir",
    "cp",
    "mv",
    "chmod",
    "tee",
    "tr",
    "cut",
    "git",
    "uniq",
    "diff",
    "curl",
    "make",
    "cargo",
    "kubectl",
    "terraform",
    "docker",
    "npm",
    "xargs",
    "sh",
    "date",
    "id",
];

fn bash_path() -> Option<PathBuf> {
    if !require_tool("bash") {
        return None;
    }
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("bash")).find(|b| b.is_file()))
}

/// `bash -n -c LINE` for many lines, two at a time: whether bash accepts each.
fn bash_accepts(bash: &Path, lines: &[String]) -> Vec<bool> {
    let half = lines.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(half)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|l| {
                            Command::new(bash)
                                .args(["--norc", "--noprofile", "-n", "-c", "--", l])
                                .env_clear()
                                .stdin(Stdio::null())
                                .stdout(Stdio::null())
                                .stderr(Stdio::null())
                                .status()
                                .map(|st| st.success())
                                .unwrap_or(false)
                        })
                        .collect::<Vec<bool>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn nl2bash() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/nl2bash/commands.txt")).unwrap();
    text.lines().map(str::to_string).collect()
}

fn fuzz_findings() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/shell/fuzz");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| String::from_utf8_lossy(&std::fs::read(e.unwrap().path()).unwrap()).into_owned())
        .filter(|l| !l.contains('\0'))
        .collect();
    out.sort();
    out
}

/// One case of `testdata/shell/bash_diff.txt`: how guard must relate to bash, and the line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Guard parses it; bash runs exactly the commands guard's walk saw (as a multiset).
    Exact,
    /// Guard parses it; every command bash ran is one guard saw (loops, `||`, functions).
    Covers,
    /// Guard refuses to parse it.
    Refused,
}

fn diff_cases() -> Vec<(Expect, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/shell/bash_diff.txt")).unwrap();
    let mut out = Vec::new();
    for raw in text.split('\n') {
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let (raw, multi) = match raw.strip_prefix("@@") {
            Some(r) => (r, true),
            None => (raw, false),
        };
        let (kind, line) = raw.split_once('\t').unwrap();
        let expect = match kind {
            "exact" => Expect::Exact,
            "covers" => Expect::Covers,
            "refused" => Expect::Refused,
            other => panic!("bad kind {other}"),
        };
        let line = if multi { line.replace("\\n", "\n").replace("\\t", "\t") } else { line.to_string() };
        out.push((expect, line));
    }
    out
}

#[test]
fn guard_accepts_only_lines_bash_accepts() {
    let Some(bash) = bash_path() else { return };
    let nl = nl2bash();
    let mut lines = nl.clone();
    lines.extend(fuzz_findings());
    lines.extend(diff_cases().into_iter().map(|(_, l)| l));
    let accepted_by_bash = bash_accepts(&bash, &lines);
    let mut false_accepts = Vec::new();
    let mut false_rejects = Vec::new();
    for (i, (line, bash_ok)) in lines.iter().zip(&accepted_by_bash).enumerate() {
        match (syntax::parse(line), bash_ok) {
            (Ok(_), false) => false_accepts.push(line.clone()),
            (Err(r), true) if i < nl.len() => false_rejects.push(format!("{line:?}: {} {}", r.rule, r.message)),
            _ => {}
        }
    }
    assert!(false_accepts.is_empty(), "guard parses {} lines bash refuses:\n{}", false_accepts.len(), false_accepts.join("\n"));
    eprintln!("NL2Bash: guard refuses {} of {} lines bash -n accepts:\n{}", false_rejects.len(), nl.len(), false_rejects.join("\n"));
    // At most 0.25% of NL2Bash.
    assert!(false_rejects.len() * 400 <= nl.len(), "{} false rejects", false_rejects.len());
}

/// What one stub recorded: its argv (program name first) and its stdin.
type Run = (Vec<String>, String);

/// Runs `line` with bash in a scratch directory whose PATH holds only the stubs.
fn bash_runs(bash: &Path, line: &str) -> Vec<Run> {
    let scratch = tempfile::tempdir().unwrap();
    let (bin, log) = (scratch.path().join("bin"), scratch.path().join("log"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&log).unwrap();
    let work = scratch.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let stub = "#!/bin/sh\nf=$(/usr/bin/mktemp \"$STUB_LOG/XXXXXXXX\")\nprintf '%s\\0' \"${0##*/}\" \"$@\" > \"$f.argv\"\n/bin/cat > \"$f.stdin\"\n";
    for name in STUBS {
        let p = bin.join(name);
        std::fs::write(&p, stub).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let status = Command::new(bash)
        .args(["--norc", "--noprofile", "-c", "--", line])
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", &work)
        .env("STUB_LOG", &log)
        .current_dir(&work)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let _ = status;
    // Output process substitutions run in the background: give their stubs a moment to finish.
    for _ in 0..200 {
        let unfinished = std::fs::read_dir(&log).unwrap().filter_map(Result::ok).any(|e| {
            let p = e.path();
            p.extension().is_none() && std::fs::metadata(p.with_extension("argv")).map(|m| m.len() == 0).unwrap_or(true)
        });
        if !unfinished {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut runs = Vec::new();
    for e in std::fs::read_dir(&log).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some() {
            continue;
        }
        let read = |ext: &str| String::from_utf8_lossy(&std::fs::read(path.with_extension(ext)).unwrap_or_default()).into_owned();
        let argv = read("argv");
        let mut argv: Vec<String> = argv.split('\0').map(str::to_string).collect();
        argv.pop();
        runs.push((argv, read("stdin")));
    }
    runs.sort();
    runs
}

/// A simple command guard's walk saw: its literal words up to the first one known only at run
/// time (`complete` when there is none), and its stdin if guard knows it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    argv: Vec<String>,
    complete: bool,
    stdin: Option<String>,
}

impl Seen {
    fn matches(&self, run: &Run) -> bool {
        let words = if self.complete { run.0 == self.argv } else { run.0.starts_with(&self.argv) };
        words && self.stdin.as_ref().is_none_or(|t| *t == run.1)
    }
}

/// The simple commands guard's walk saw that are stub programs.
fn guard_sees(line: &str) -> Vec<Seen> {
    let policy = guard::policy::builtin().unwrap();
    let ctx = Context::example();
    let (_, trace) = guard::tools::shell::trace_line(line, &policy, &ctx);
    let mut out = Vec::new();
    for t in trace {
        let Some(name) = t.args.first().and_then(|a| a.lit()) else { continue };
        if !STUBS.contains(&name) {
            continue;
        }
        let argv: Vec<String> = t.args.iter().map_while(|a| a.lit().map(str::to_string)).collect();
        let complete = argv.len() == t.args.len();
        out.push(Seen { argv, complete, stdin: t.stdin });
    }
    out.sort();
    out
}

#[test]
fn bash_runs_the_commands_guard_sees() {
    let Some(bash) = bash_path() else { return };
    let cases = diff_cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (expect, line) in &cases {
        let parsed = syntax::parse(line);
        match (expect, &parsed) {
            (Expect::Refused, Ok(_)) => failures.push(format!("{line:?}: guard parses a line it must refuse")),
            (Expect::Refused, Err(_)) => continue,
            (_, Err(r)) => {
                failures.push(format!("{line:?}: guard refuses it: {} {}", r.rule, r.message));
                continue;
            }
            _ => {}
        }
        let seen = guard_sees(line);
        // A stub's record can go missing on a loaded machine (seen once in many runs): a case
        // fails only when three runs of bash all disagree with guard.
        let mut last = Vec::new();
        for _ in 0..3 {
            last = compare(*expect, line, &bash_runs(&bash, line), &seen);
            if last.is_empty() {
                break;
            }
        }
        failures.extend(last);
    }
    assert!(failures.is_empty(), "{} of {} cases disagree with bash:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// What is wrong with one case: bash ran `ran`, guard's walk saw `seen`.
fn compare(expect: Expect, line: &str, ran: &[Run], seen: &[Seen]) -> Vec<String> {
    let mut failures = Vec::new();
    // Every command bash ran is one guard saw, with the same words and here-document text.
    for run in ran {
        if !seen.iter().any(|s| s.matches(run)) {
            failures.push(format!("{line:?}: bash ran {run:?}, guard saw {seen:?}"));
        }
    }
    if expect == Expect::Exact {
        // As many runs as commands seen, and each seen command ran.
        let all_ran = seen.iter().all(|s| ran.iter().any(|r| s.matches(r)));
        if ran.len() != seen.len() || !all_ran {
            failures.push(format!("{line:?}: bash ran {ran:?}, guard saw {seen:?}"));
        }
    } else {
        let ran_names: BTreeSet<&Vec<String>> = ran.iter().map(|r| &r.0).collect();
        if ran_names.is_empty() {
            failures.push(format!("{line:?}: bash ran no stub at all; the case tests nothing"));
        }
    }
    failures
}

/// The attack: `cat <<$'EOF'` ends its here-document at `EOF` (bash removes the ANSI-C
/// quotes), so the next line runs. brush-parser took `$EOF` as the delimiter and read the `rm`
/// line as here-document text; guard allowed it.
#[test]
fn heredoc_ansi_c_delimiter_does_not_hide_the_next_line() {
    let Some(bash) = bash_path() else { return };
    let line = "cat <<$'EOF'\nEOF\nrm -rf ~\n$EOF";
    let ran = bash_runs(&bash, line);
    assert!(ran.iter().any(|(argv, _)| argv.first().map(String::as_str) == Some("rm")), "bash did not run rm: {ran:?}");
    let policy = guard::policy::builtin().unwrap();
    let v = guard::tools::shell::classify_line(line, &policy, &Context::example());
    assert_eq!(v.decision, guard::decision::Decision::Block, "{v:?}");
    assert!(v.reasons.iter().any(|r| r.rule == "shell.rm-root"), "{v:?}");
    // The same family: other quotings of the delimiter end the body at `EOF` too.
    for line in [
        "cat <<'EOF'\nEOF\nrm -rf ~\n'EOF'",
        "cat <<\"E\"OF\nEOF\nrm -rf ~\nEOF",
        "cat <<\\EOF\nEOF\nrm -rf ~\n\\EOF",
        "cat <<-E'OF'\n\tEOF\nrm -rf ~\n",
    ] {
        assert!(bash_runs(&bash, line).iter().any(|(argv, _)| argv.first().map(String::as_str) == Some("rm")), "{line:?}");
        let v = guard::tools::shell::classify_line(line, &policy, &Context::example());
        assert_eq!(v.decision, guard::decision::Decision::Block, "{line:?}: {v:?}");
    }
}
