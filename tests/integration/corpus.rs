//! Every line of the NL2Bash corpus (12,607 real one-liners) is classified without a panic.
//! Throughput and the slowest line are measured in `benches/guard_bench.rs`, not here.

use guard::decision::Decision;
use guard::request::Context;

#[test]
fn every_nl2bash_line_is_classified_without_panicking() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/nl2bash/commands.txt")).unwrap();
    let policy = guard::policy::builtin().unwrap();
    let ctx = Context::example();
    let (mut allow, mut escalate, mut block, mut parse_errors) = (0, 0, 0, 0);
    for line in text.lines() {
        let v = guard::tools::shell::classify_line(line, &policy, &ctx);
        match v.decision {
            Decision::Allow => allow += 1,
            Decision::Escalate => escalate += 1,
            Decision::Block => block += 1,
        }
        if v.reasons.iter().any(|r| r.rule == "shell.parse-error") {
            parse_errors += 1;
        }
    }
    let total = allow + escalate + block;
    assert_eq!(total, 12_607);
    eprintln!("nl2bash: {total} lines: allow {allow}, escalate {escalate}, block {block}; parse errors {parse_errors}");
    // Most of the corpus is everyday file and text work; a guard that escalates most of it is useless.
    assert!(allow * 2 > total, "only {allow} of {total} everyday lines allowed");
}
