//! `guard explain`: text, --json, --jsonl.

use crate::support::{Test, stdout};
use serde_json::Value;

fn explain_json(line: &str) -> Value {
    let (_, out) = Test::new().args(&["explain", "--json", "shell", line]).status(0).run();
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn explain_json_gives_the_contract_shape() {
    let v = explain_json("ls -la");
    assert_eq!(v["tool"], "shell");
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["reasons"], serde_json::json!([]));
    let v = explain_json("rm -rf /");
    assert_eq!(v["decision"], "block");
    assert_eq!(v["reasons"][0]["rule"], "shell.rm-root");
    assert!(v["reasons"][0]["message"].as_str().unwrap().contains('/'));
    assert_eq!(explain_json("git push --force origin main")["decision"], "escalate");
    // Contained, an unknown program is harmless outside the project: allowed.
    assert_eq!(explain_json("some-unknown-tool --flag")["decision"], "allow");
}

#[test]
fn explain_never_writes_state() {
    let (t, _) = Test::new().args(&["explain", "shell", "rm -rf /"]).status(0).run();
    assert!(std::fs::read_dir(t.state()).unwrap().next().is_none(), "explain wrote into the state dir");
}

#[test]
fn explain_kubectl_and_terraform() {
    Test::new().args(&["explain", "--json", "kubectl", "delete", "ns", "kube-system"]).status(0).stdout_contains("\"block\"").run();
    Test::new()
        .args(&["explain", "--json", "terraform", "apply", "-auto-approve"])
        .status(0)
        .stdout_contains("terraform.auto-approve")
        .run();
    Test::new().args(&["explain", "kubectl", "get", "pods"]).status(0).stdout_contains("allow").run();
}

#[test]
fn jsonl_round_trips_a_thousand_lines_in_order() {
    let lines = ["ls -la", "rm -rf /", "git push --force", "cat a | grep b"];
    let want = ["allow", "block", "escalate", "allow"];
    let mut input = String::new();
    for i in 0..1000 {
        let l = lines[i % 4];
        input.push_str(&serde_json::json!({"tool": "shell", "line": format!("{l} # {i}")}).to_string());
        input.push('\n');
    }
    let (_, out) = Test::new().args(&["explain", "--jsonl"]).stdin(input).status(0).run();
    let got: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), 1000);
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v["decision"], want[i % 4], "line {i}: {v}");
    }
}

#[test]
fn jsonl_bad_lines_get_an_error_object_and_exit_65() {
    let input = "{\"tool\":\"shell\",\"line\":\"ls\"}\nnot json\n{\"tool\":\"kubectl\",\"args\":[\"get\",\"pods\"]}\n{\"tool\":\"nope\"}\n";
    let (_, out) = Test::new().args(&["explain", "--jsonl"]).stdin(input).status(65).run();
    let got: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0]["decision"], "allow");
    assert!(got[1]["error"].is_string());
    assert_eq!(got[2]["decision"], "allow");
    assert!(got[3]["error"].is_string());
}
