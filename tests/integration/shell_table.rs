//! sudo-rs style table: every labelled line in testdata/shell/cases.tsv gets its decision and rule.

use guard::decision::Decision;
use guard::request::Context;

pub fn load_cases(path: &str) -> Vec<(Decision, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for raw in text.lines() {
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let (raw, multi) = match raw.strip_prefix("@@") {
            Some(r) => (r, true),
            None => (raw, false),
        };
        let mut parts = raw.splitn(3, '\t');
        let (d, rule, line) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let decision = match d {
            "allow" => Decision::Allow,
            "escalate" => Decision::Escalate,
            "block" => Decision::Block,
            other => panic!("bad decision {other} in {raw}"),
        };
        let line = if multi { line.replace("\\n", "\n") } else { line.to_string() };
        out.push((decision, rule.to_string(), line));
    }
    out
}

/// Every labelled line of a table gets its decision and (unless `-`) its rule, in `ctx`.
fn check_table(file: &str, ctx: &Context, at_least: usize) {
    let policy = guard::policy::builtin().unwrap();
    let cases = load_cases(&format!("{}/testdata/shell/{file}", env!("CARGO_MANIFEST_DIR")));
    assert!(cases.len() >= at_least, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (want, rule, line) in &cases {
        let got = guard::tools::shell::classify_line(line, &policy, ctx);
        let rule_ok = rule == "-" || got.reasons.iter().any(|r| &r.rule == rule && r.decision == Some(*want));
        if got.decision != *want || !rule_ok {
            let reasons: Vec<String> =
                got.reasons.iter().map(|r| format!("{}[{}]", r.rule, r.decision.map_or("?", |d| d.as_str()))).collect();
            failures.push(format!("{line:?}: want {want} by {rule}, got {} {reasons:?}", got.decision));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn every_labelled_shell_line_gets_its_decision_and_rule() {
    check_table("cases.tsv", &Context::example(), 300);
}

/// Inputs the fuzzer found slow or crashing (testdata/shell/fuzz/): never allowed, and fenced
/// before the parser (the benchmark, not this test, says how fast).
#[test]
fn fuzzer_findings_are_refused_without_hanging() {
    let policy = guard::policy::builtin().unwrap();
    let ctx = Context::example();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/shell/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let line = String::from_utf8_lossy(&bytes);
        let v = guard::tools::shell::classify_line(&line, &policy, &ctx);
        assert_ne!(v.decision, Decision::Allow);
        n += 1;
    }
    assert!(n >= 1);
}

/// The same, for lines that run contained (testdata/shell/cases_contained.tsv).
#[test]
fn every_labelled_contained_line_gets_its_decision_and_rule() {
    check_table("cases_contained.tsv", &Context::example_contained(), 30);
}
