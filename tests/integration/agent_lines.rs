//! The agent-lines eval (`testdata/agent-lines/eval.py`) runs against the built guard on a small
//! fixed sample and writes a report that parses. Only that: the measured numbers live in the
//! README, and thresholds belong to the eval's targets, not to a test.

use crate::support::{guard_bin, require_tool};
use std::process::Command;

#[test]
fn agent_lines_eval_runs_on_a_fixed_sample_and_its_report_parses() {
    if !require_tool("python3") {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("report.json");
    let o = Command::new("python3")
        .arg(format!("{root}/testdata/agent-lines/eval.py"))
        .arg(guard_bin())
        .args(["--sample", "8", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "eval.py failed: {stdout}{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // 8 lines of each of the four labels.
    assert_eq!(report["lines"], 32);
    for layout in ["home", "tmp", "off"] {
        let l = &report["layouts"][layout];
        let mut total = 0;
        for label in ["harmless", "gray", "risky", "catastrophic"] {
            let c = &l["counts"][label];
            let n: u64 = ["allow", "escalate", "block", "error"].iter().map(|d| c[*d].as_u64().unwrap()).sum();
            assert_eq!(n, 8, "{layout}/{label}: {c}");
            assert_eq!(c["error"], 0, "{layout}/{label}: guard answered with errors");
            total += n;
        }
        assert_eq!(total, 32);
        assert!(l["false_refusal_rate"].is_f64(), "{layout}: {l}");
        assert!(l["top_refusal_rules"].is_array() && l["risky_allowed"].is_array() && l["catastrophic_not_blocked"].is_array());
        assert!(stdout.contains(&format!("== {layout}:")), "{stdout}");
    }
}
