//! `guard mcp` driven by a real MCP client, the official Python SDK (`testdata/mcp/client.py`):
//! initialize, tools/list (no approval tool), a blocked call, an allowed call, an escalation,
//! and a terraform plan → a human's approval through a real terminal → apply, exactly once.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{PASS, guard_bin, pty, require_tool};

/// Whether the Python MCP SDK is importable (CI installs it in .ci/run).
fn require_python_mcp() -> bool {
    if !require_tool("python3") {
        return false;
    }
    let ok = Command::new("python3").args(["-c", "import mcp"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("GUARD_REQUIRE_REAL_TOOLS").as_deref() == Ok("1") {
            panic!("the Python MCP SDK is required (GUARD_REQUIRE_REAL_TOOLS=1): pip install mcp");
        }
        eprintln!("SKIPPED: the Python MCP SDK is not installed (pip install mcp)");
    }
    ok
}

fn guard(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(guard_bin());
    c.args(args)
        .current_dir(root.join("work"))
        .env("GUARD_HOME", root.join("state"))
        .env("HOME", root.join("home"))
        .env("TF_CLI_CONFIG_FILE", root.join("terraformrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("TERM", "dumb")
        .env_remove("GUARD_POLICY")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("TF_WORKSPACE")
        .env_remove("KUBECONFIG");
    c
}

#[test]
fn an_mcp_client_plans_a_human_approves_and_the_plan_applies_once() {
    if !require_tool("terraform") || !require_python_mcp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["work", "state", "home"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/terraform/basic/main.tf"), root.join("work/main.tf")).unwrap();
    std::fs::write(root.join("terraformrc"), "").unwrap();
    assert!(guard(root, &["terraform", "init", "-input=false"]).output().unwrap().status.success());
    crate::support::approver_init(guard(root, &["approver", "init"]));

    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mcp/client.py");
    let work = root.join("work");
    let mut py = Command::new("python3");
    py.arg(&client).arg(guard_bin()).arg(&work);
    crate::support::env_like(&mut py, &guard(root, &[]));
    let mut child = py.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut steps = std::collections::BTreeMap::new();
    let mut next = |steps: &mut std::collections::BTreeMap<String, Value>| {
        let line = lines.next().expect("the client stopped early").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let name = v["step"].as_str().unwrap().to_string();
        steps.insert(name.clone(), v);
        name
    };
    while next(&mut steps) != "apply-before-approval" {}
    let plan: Value = serde_json::from_str(steps["plan"]["blocks"][0].as_str().unwrap()).unwrap();
    let id = plan["id"].as_str().unwrap().to_string();
    let shown = pty(guard(root, &["approve", &id]), &[("terraform show", "n"), ("Approver passphrase", PASS), ("Type yes", "yes")]);
    assert!(shown.contains("2 to create"), "{shown}");
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    while next(&mut steps) != "status" {}
    assert!(child.wait().unwrap().success());

    let text = |s: &str| steps[s]["text"].as_str().unwrap().to_string();
    let is_error = |s: &str| steps[s]["is_error"].as_bool().unwrap();
    assert_eq!(steps["initialize"]["server"], "guard");
    let names: Vec<&str> = steps["tools"]["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(names, ["shell", "terraform_plan", "terraform_apply", "kubectl", "explain", "request_status"]);
    assert!(is_error("blocked") && text("blocked").contains("shell.rm-root"), "{}", text("blocked"));
    assert!(!is_error("allowed") && text("allowed") == "hello from mcp\n", "{}", text("allowed"));
    assert!(is_error("escalated") && text("escalated").contains("guard approve r-"), "{}", text("escalated"));
    let status: Value = serde_json::from_str(&text("request-status")).unwrap_or_else(|e| panic!("{e}: {}", text("request-status")));
    assert_eq!(status["status"], "pending", "{status}");
    let explained: Value = serde_json::from_str(&text("explain")).unwrap_or_else(|e| panic!("{e}: {}", text("explain")));
    assert_eq!(explained["decision"], "block", "{explained}");
    assert!(is_error("bad"), "a plan id that is a flag is refused before anything runs");
    assert!(!is_error("plan") && plan["decision"] == "escalate", "{}", text("plan"));
    assert!(is_error("apply-before-approval") && text("apply-before-approval").contains(&format!("guard approve {id}")));
    assert!(!is_error("apply") && text("apply").contains("Apply complete"), "{}", text("apply"));
    assert!(is_error("reapply") && text("reapply").contains("terraform.plan-used"), "{}", text("reapply"));
    assert!(!is_error("status") && text("status").contains(&id), "{}", text("status"));
    // Every call went through guard's own pipeline: the audit log has them, and is intact.
    let log = std::fs::read_to_string(root.join("state/audit.jsonl")).unwrap();
    assert!(log.contains("echo hello from mcp") && log.contains("\"kind\":\"plan\"") && log.contains("apply-start"));
    assert!(guard(root, &["audit", "verify"]).output().unwrap().status.success());
}
