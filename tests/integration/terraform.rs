//! Raw applies and destroys never reach the real terraform; reads pass through.

use crate::support::{Test, require_tool};

const CONFIG: &str = r#"
resource "terraform_data" "example" {
  input = "hello"
}
"#;

fn tf_test() -> Option<Test> {
    if !require_tool("terraform") {
        return None;
    }
    let t = Test::new();
    std::fs::write(t.work().join("main.tf"), CONFIG).unwrap();
    let rc = t.dir.path().join("terraformrc");
    std::fs::write(&rc, "").unwrap();
    let rc = rc.to_string_lossy().into_owned();
    Some(t.env("TF_CLI_CONFIG_FILE", &rc))
}

#[test]
fn raw_apply_destroy_and_auto_approve_are_blocked_and_terraform_never_runs() {
    let Some(t) = tf_test() else { return };
    let (t, _) = t
        .args(&["terraform", "init", "-input=false"])
        .status(0)
        .run();
    let work = t.work();
    let state = t.state();
    let rc = t.dir.path().join("terraformrc");
    let run = |args: &[&str]| {
        Test::new()
            .cwd(&work)
            .env("GUARD_HOME", state.to_str().unwrap())
            .env("TF_CLI_CONFIG_FILE", rc.to_str().unwrap())
            .args(args)
            .status(77)
            .stderr_contains("guard terraform plan")
            .run();
    };
    run(&["terraform", "apply"]);
    run(&["terraform", "apply", "-auto-approve"]);
    run(&["terraform", "destroy"]);
    run(&["terraform", "destroy", "-auto-approve"]);
    run(&["shell", "-c", "terraform apply -auto-approve"]);
    run(&["shell", "-c", "cd . && terraform destroy -auto-approve"]);
    assert!(
        !work.join("terraform.tfstate").exists(),
        "terraform ran: state was written"
    );
    // Reads pass through to the real terraform.
    Test::new()
        .cwd(&work)
        .env("GUARD_HOME", state.to_str().unwrap())
        .env("TF_CLI_CONFIG_FILE", rc.to_str().unwrap())
        .args(&["terraform", "validate"])
        .status(0)
        .stdout_contains("valid")
        .run();
    drop(t);
}
