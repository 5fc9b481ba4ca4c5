//! Table: testdata/terraform/cases.tsv — terraform argv (`guard terraform …`) and shell lines
//! running terraform, guard or kubectl, each with its decision and rule.

use guard::decision::Decision;
use guard::request::Context;

#[test]
fn every_labelled_terraform_argv_and_line_gets_its_decision_and_rule() {
    let policy = guard::policy::builtin().unwrap();
    let ctx = Context::example();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/terraform/cases.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for raw in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = raw.splitn(4, '\t').collect();
        let [front, want, rule, text] = cols.as_slice() else { panic!("bad line {raw:?}") };
        let want = match *want {
            "allow" => Decision::Allow,
            "escalate" => Decision::Escalate,
            "block" => Decision::Block,
            other => panic!("bad decision {other}"),
        };
        let got = match *front {
            "guard" => guard::tools::terraform::classify(&shlex::split(text).unwrap(), &policy, &ctx),
            "shell" => guard::tools::shell::classify_line(text, &policy, &ctx),
            other => panic!("bad front {other}"),
        };
        n += 1;
        let rule_ok = *rule == "-" || got.reasons.iter().any(|r| r.rule == *rule);
        if got.decision != want || !rule_ok {
            failures.push(format!("{front} {text:?}: want {want} {rule}, got {} {:?}", got.decision, got.reasons));
        }
    }
    assert!(n >= 60, "only {n} cases");
    // Contained, a line's terraform reaches `guard terraform init` through the broker, which
    // adds -input=false: no stdin answer can migrate the state there.
    let contained = guard::tools::shell::classify_line("terraform init", &policy, &Context::example_contained());
    assert_eq!(contained.decision, Decision::Allow, "{:?}", contained.reasons);
    assert!(failures.is_empty(), "{} of {n} cases fail:\n{}", failures.len(), failures.join("\n"));
}
