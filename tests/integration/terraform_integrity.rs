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
