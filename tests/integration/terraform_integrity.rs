//! Issue 13, terraform: guard binds, re-checks and shows exactly what will run. Each test
//! replays an attack from the system review against the real terraform and checks the harm
//! did not happen (the resources are still in the state).

use std::process::Command;

use serde_json::json;

use crate::support::{Test, stdout};
use crate::terraform::{ALLOW, Tf};

impl Tf {
    /// The real terraform, run directly (as the test, not through guard).
    fn raw(&self, args: &[&str]) -> std::process::Output {
        Command::new("terraform")
            .args(args)
            .current_dir(self.work())
            .env("TF_CLI_CONFIG_FILE", self.root.join("terraformrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap()
    }
    fn both_exist(&self) -> bool {
        let s = self.state_list();
        s.contains("terraform_data.app") && s.contains("terraform_data.db")
    }
    /// Applies the basic config once (both resources exist afterwards).
    fn create_all(&self) {
        let id = self.plan(&[]);
        let (code, out) = self.run(&["terraform", "apply", &id]);
        assert_eq!(code, 0, "{out}");
        assert!(self.both_exist());
    }
}

#[test]
fn raw_destroy_with_no_human_plan_destroy_double_dash_out_then_raw_apply_of_a_p_name() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    tf.create_all();
    // Step 1: a destroy plan written where the agent says, spelled as terraform also reads it.
    for line in ["terraform plan -destroy --out=p-dead", "terraform plan -destroy --out p-dead", "terraform plan -destroy -out p-dead"] {
        let (code, out) = tf.run(&["shell", "-c", line]);
        assert_eq!(code, 77, "{line}: {out}");
        assert!(out.contains("terraform.plan-out"), "{out}");
    }
    let (code, out) = tf.run(&["terraform", "plan", "-destroy", "--out=p-dead"]);
    assert_eq!(code, 77, "{out}");
    assert!(!tf.work().join("p-dead").exists(), "terraform wrote the agent's plan file");
    // Step 2: the file exists anyway (made outside guard); a raw apply of it is refused
    // whatever it is called: only `guard terraform apply <plan_id>` resolves plan ids.
    assert!(tf.raw(&["plan", "-destroy", "-input=false", "-out=p-dead"]).status.success());
    for line in ["terraform apply p-dead", "terraform apply -input=false p-dead", "cd . && terraform apply -- p-dead"] {
        let (code, out) = tf.run(&["shell", "-c", line]);
        assert_eq!(code, 77, "{line}: {out}");
        assert!(out.contains("terraform.raw-apply"), "{out}");
    }
    // The Claude Code hook denies it too.
    let input = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "cwd": tf.work(),
        "tool_input": {"command": "terraform apply p-dead"}});
    let out =
        tf.cmd(&["hook", "claude"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(input.to_string().as_bytes())?;
            c.wait_with_output()
        });
    let answer = stdout(&out.unwrap());
    assert!(answer.contains("\"deny\"") && answer.contains("terraform.raw-apply"), "{answer}");
    // guard's front end does not take the agent's file for a plan id either.
    let (code, out) = tf.run(&["terraform", "apply", "p-dead"]);
    assert_eq!(code, 65, "{out}");
    assert!(tf.both_exist(), "the destroy plan was applied");
}

#[test]
fn plan_flags_outside_the_allowlist_are_refused_before_terraform_runs() {
    for args in [&["plan", "-state=other.tfstate"][..], &["plan", "--generate-config-out=x.tf"], &["plan", "-destroy=maybe"]] {
        let mut a = vec!["terraform"];
        a.extend_from_slice(args);
        Test::new().args(&a).status(77).stderr_contains("terraform.plan-flag").run();
    }
}

/// The lines of `terraform state list`.
fn addresses(tf: &Tf) -> Vec<String> {
    tf.state_list().lines().map(str::to_string).collect()
}

#[test]
fn moved_and_removed_destroy_false_blocks_are_counted_and_refused_under_state_rewrite_block() {
    let Some(tf) = Tf::new("basic", "[terraform]\napply = \"allow\"\nstate_rewrite = \"block\"\n") else { return };
    tf.create_all();
    std::fs::write(
        tf.work().join("main.tf"),
        r#"
resource "terraform_data" "app2" {
  input = "v1"
}
moved {
  from = terraform_data.app
  to   = terraform_data.app2
}
removed {
  from = terraform_data.db
  lifecycle {
    destroy = false
  }
}
"#,
    )
    .unwrap();
    let (code, out) = tf.run(&["terraform", "plan", "-no-color"]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("1 to move") && out.contains("1 to forget"), "the summary hides the state rewrites: {out}");
    assert!(out.contains("terraform.state-rewrite"), "{out}");
    let id = crate::terraform::plan_id(&out);
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 77, "{out}");
    assert_eq!(addresses(&tf), ["terraform_data.app", "terraform_data.db"], "the state was rewritten");
}

#[test]
fn state_rewrites_in_a_plan_escalate_by_default_even_when_apply_is_allowed() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    tf.create_all();
    std::fs::write(
        tf.work().join("main.tf"),
        r#"
resource "terraform_data" "app" {
  input = "v1"
}
resource "terraform_data" "db" {
  triggers_replace = ["db-v1"]
}
import {
  to = terraform_data.imported
  id = "someone-elses"
}
resource "terraform_data" "imported" {}
"#,
    )
    .unwrap();
    let (code, out) = tf.run(&["terraform", "plan", "-no-color"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 to import") && out.contains("imports terraform_data.imported into state"), "{out}");
    let id = crate::terraform::plan_id(&out);
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 75, "an import applied with no human: {out}");
    assert!(!tf.state_list().contains("terraform_data.imported"));
}

#[test]
fn init_migrate_state_force_copy_over_the_prod_state_is_refused() {
    let Some(tf) = Tf::new("basic", "[terraform]\napply = \"allow\"\nstate_rewrite = \"block\"\n") else { return };
    tf.create_all();
    // "prod" state elsewhere; the agent points the backend at it and migrates its own over it.
    let prod = tf.root.join("prod.tfstate");
    std::fs::write(&prod, "{\"version\": 4, \"serial\": 99, \"lineage\": \"prod\", \"resources\": []}\n").unwrap();
    let before = std::fs::read(&prod).unwrap();
    let main = tf.work().join("main.tf");
    let orig = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("terraform {{\n  backend \"local\" {{\n    path = {:?}\n  }}\n}}\n{orig}", prod.to_str().unwrap()))
        .unwrap();
    for args in [&["terraform", "init", "-migrate-state", "-force-copy"][..], &["terraform", "init", "--migrate-state=true", "-force-copy"]]
    {
        let (code, out) = tf.run(args);
        assert_eq!(code, 77, "{out}");
        assert!(out.contains("terraform.state-rewrite"), "{out}");
    }
    let (code, out) = tf.run(&["shell", "-c", "terraform init -reconfigure -backend-config=path=x"]);
    assert_eq!(code, 77, "{out}");
    assert_eq!(std::fs::read(&prod).unwrap(), before, "the prod state was overwritten");
}

#[test]
fn an_edited_plan_record_block_to_allow_is_not_applied() {
    let Some(tf) = Tf::new("basic", "[terraform]\napply = \"allow\"\nprotected_addresses = [\"terraform_data.db\"]\n") else { return };
    tf.create_all();
    std::fs::write(tf.work().join("main.tf"), "resource \"terraform_data\" \"app\" {\n  input = \"v1\"\n}\n").unwrap();
    let (code, out) = tf.run(&["terraform", "plan", "-no-color"]);
    assert_eq!(code, 77, "{out}");
    let id = crate::terraform::plan_id(&out);
    // The record is a file the agent can write: it says allow, nothing to delete.
    let path = tf.root.join("state/plans").join(format!("{id}.json"));
    let mut rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    rec["decision"] = json!("allow");
    rec["reasons"] = json!([]);
    rec["changes"] = json!([]);
    rec["summary"] = json!({});
    std::fs::write(&path, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("terraform.protected-resource"), "{out}");
    // Nor can a human be asked to approve it.
    tf.approver_init();
    let shown = crate::support::pty(tf.cmd(&["approve", &id]), &[]);
    assert!(shown.contains("can never be applied") && shown.contains("terraform.protected-resource"), "{shown}");
    assert!(!tf.root.join("state/approvals").join(format!("{id}.json")).exists());
    assert!(tf.both_exist(), "the protected resource was deleted");
}

#[test]
fn an_edited_plan_record_hides_deletes_from_the_approver_and_from_the_apply_policy() {
    // apply = "allow" for plans without deletes: a record edited to show none must not
    // turn a delete into an apply with no human.
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    tf.create_all();
    std::fs::write(tf.work().join("main.tf"), "resource \"terraform_data\" \"app\" {\n  input = \"v1\"\n}\n").unwrap();
    let (code, out) = tf.run(&["terraform", "plan", "-no-color"]);
    assert_eq!(code, 0, "{out}");
    let id = crate::terraform::plan_id(&out);
    let path = tf.root.join("state/plans").join(format!("{id}.json"));
    let mut rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    rec["decision"] = json!("allow");
    rec["reasons"] = json!([]);
    rec["changes"] = json!([]);
    rec["summary"] = json!({});
    std::fs::write(&path, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 75, "{out}");
    assert!(out.contains("terraform.destructive-plan"), "{out}");
    tf.approver_init();
    let shown = tf.approve(&id);
    assert!(shown.contains("1 to delete") && shown.contains("terraform_data.db"), "the approver was shown the edited record: {shown}");
    assert!(tf.both_exist());
}

#[test]
fn init_with_a_piped_yes_after_a_backend_change_does_not_migrate_over_the_prod_state() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    tf.create_all();
    let prod = tf.root.join("prod.tfstate");
    std::fs::write(&prod, "{\"version\": 4, \"serial\": 99, \"lineage\": \"prod\", \"terraform_version\": \"1.11.4\", \"outputs\": {}, \"resources\": [], \"check_results\": null}\n").unwrap();
    let before = std::fs::read(&prod).unwrap();
    let main = tf.work().join("main.tf");
    let orig = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("terraform {{\n  backend \"local\" {{\n    path = {:?}\n  }}\n}}\n{orig}", prod.to_str().unwrap()))
        .unwrap();
    // terraform asks "copy the existing state to the new backend?"; the agent pipes the answer.
    let mut c = tf
        .cmd(&["terraform", "init"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut c.stdin.take().unwrap(), b"yes\nyes\n").unwrap();
    let out = c.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(std::fs::read(&prod).unwrap(), before, "a piped yes migrated the state over the prod state");
    let (code, out) = tf.run(&["terraform", "init", "-input=true"]);
    assert_eq!(code, 75, "{out}");
}

#[test]
fn a_local_exec_script_swapped_after_the_plan_approval_does_not_run_its_new_content() {
    let Some(tf) = Tf::new("local_exec", "") else { return };
    tf.approver_init();
    let script = tf.work().join("deploy.sh");
    let (approved, swapped) = ("echo approved >> out.txt\n", "echo SWAPPED >> out.txt\ntouch pwned\n");
    std::fs::write(&script, approved).unwrap();
    let id = tf.plan(&[]);
    let shown = tf.approve(&id);
    assert!(shown.contains(&format!("local-exec script: {}", script.display())), "the human must see the script: {shown}");
    // Swapped after the approval: the plan does not cover the new content; nothing ran.
    std::fs::write(&script, swapped).unwrap();
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("deploy.sh changed since plan"), "{out}");
    // Nor does the approval, even with the plan record edited to the new content's hash.
    let record = tf.root.join("state/plans").join(format!("{id}.json"));
    let mut r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    r["scripts"][script.to_str().unwrap()] = json!(guard::digest::sha256_hex(swapped.as_bytes()));
    std::fs::write(&record, r.to_string()).unwrap();
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("other content of its local-exec scripts"), "{out}");
    assert!(!tf.work().join("started").exists() && !tf.work().join("pwned").exists(), "terraform ran: {out}");
    std::fs::write(
        &record,
        std::fs::read_to_string(&record)
            .unwrap()
            .replace(&guard::digest::sha256_hex(swapped.as_bytes()), &guard::digest::sha256_hex(approved.as_bytes())),
    )
    .unwrap();
    // The approved bytes back, then swapped in place while terraform applies: the provisioner
    // runs the approved copy.
    std::fs::write(&script, approved).unwrap();
    swap_while_applying(&tf, &["terraform", "apply", &id], swapped);
}

/// Runs `args` (an apply of the local_exec config), swaps deploy.sh in place once the apply is
/// under way, and checks the approved copy is what the provisioner ran.
fn swap_while_applying(tf: &Tf, args: &[&str], swapped: &str) {
    let script = tf.work().join("deploy.sh");
    let child = tf.cmd(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    for _ in 0..1500 {
        if tf.work().join("started").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(tf.work().join("started").exists(), "the apply never started");
    std::fs::write(&script, swapped).unwrap();
    std::fs::write(tf.work().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!tf.work().join("pwned").exists(), "the swapped script ran");
    assert_eq!(std::fs::read_to_string(tf.work().join("out.txt")).unwrap(), "approved\n");
    assert!(tf.state_list().contains("terraform_data.deploy"));
}

#[test]
fn a_local_exec_script_swapped_during_a_brokered_apply_runs_the_approved_bytes() {
    // The agent's route: `guard terraform apply` inside a contained line, through the broker,
    // where terraform runs in a sandbox of its own (the copies are mounted there).
    let Some(tf) = Tf::new("local_exec", "") else { return };
    tf.approver_init();
    std::fs::write(tf.work().join("deploy.sh"), "echo approved >> out.txt\n").unwrap();
    let id = tf.plan(&[]);
    tf.approve(&id);
    let line = format!("guard terraform apply {id}");
    swap_while_applying(&tf, &["shell", "-c", &line], "echo SWAPPED >> out.txt\ntouch pwned\n");
}

#[test]
fn a_local_exec_script_edited_between_plan_and_an_unattended_apply_is_refused() {
    // apply = "allow": no human; the plan still binds the script it will run.
    let Some(tf) = Tf::new("local_exec", ALLOW) else { return };
    let script = tf.work().join("deploy.sh");
    std::fs::write(&script, "echo approved >> out.txt\n").unwrap();
    std::fs::write(tf.work().join("go"), "").unwrap();
    let id = tf.plan(&[]);
    std::fs::write(&script, "touch pwned\n").unwrap();
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("changed since plan"), "{out}");
    assert!(!tf.work().join("pwned").exists() && !tf.work().join("started").exists(), "terraform ran: {out}");
}

/// The human's own `guard terraform apply <id>` (no contained line: the scripts' copies are
/// mounted in a namespace of terraform's own), with deploy.sh renamed over while terraform
/// applies — the way an editor or atomic writer swaps a file. The rename detaches the mount;
/// the script supervisor there stops the apply rather than let the provisioner read the new
/// file.
#[test]
fn a_local_exec_script_renamed_over_during_an_apply_from_the_humans_terminal_does_not_run_its_new_content() {
    let Some(tf) = Tf::new("local_exec", "") else { return };
    tf.approver_init();
    let script = tf.work().join("deploy.sh");
    std::fs::write(&script, "echo approved >> out.txt\n").unwrap();
    let id = tf.plan(&[]);
    tf.approve(&id);
    let child =
        tf.cmd(&["terraform", "apply", &id]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    for _ in 0..1500 {
        if tf.work().join("started").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(tf.work().join("started").exists(), "the apply never started");
    let new = tf.work().join(".deploy.sh.new");
    std::fs::write(&new, "echo SWAPPED >> out.txt\ntouch pwned\n").unwrap();
    std::fs::rename(&new, &script).unwrap();
    std::fs::write(tf.work().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let ran = std::fs::read_to_string(tf.work().join("out.txt")).unwrap_or_default();
    // Wait for what the stopped apply left running (it can open and exec nothing).
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!tf.work().join("pwned").exists(), "the swapped script ran: {err}");
    assert!(!ran.contains("SWAPPED"), "{ran}");
    match out.status.code() {
        Some(77) => assert!(err.contains("was renamed, replaced or removed"), "{err}"),
        Some(0) => assert_eq!(ran, "approved\n"),
        other => panic!("exit {other:?}: {}{err}", stdout(&out)),
    }
}
