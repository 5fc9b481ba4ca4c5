//! Issue 13 item 10: the environment is an allowlist. Variables that change what guard or the
//! real tool does are bound into the request (and a plan) and shown, or refused; a line that
//! sets, exports or unsets anything else before guard, terraform or kubectl is refused.

use std::process::Stdio;

use serde_json::json;

use crate::support::{PASS, Test, pty, stdout};
use crate::terraform::{ALLOW, Tf, plan_id};

impl Tf {
    fn both_there(&self) -> bool {
        let s = self.state_list();
        s.contains("terraform_data.app") && s.contains("terraform_data.db")
    }
}

#[test]
fn an_agent_chosen_state_dir_with_an_agent_made_key_cannot_apply_a_destroy_plan() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    let id = tf.plan(&[]);
    assert_eq!(tf.run(&["terraform", "apply", &id]).0, 0);
    // The agent's own state dir, approver key, destroy plan and approval.
    let mine = tf.root.join("agent-state");
    let agent = |args: &[&str]| {
        let mut c = tf.cmd(args);
        c.env("GUARD_HOME", &mine);
        c
    };
    crate::support::approver_init(agent(&["approver", "init"]));
    let out = agent(&["terraform", "plan", "-destroy", "-no-color"]).output().unwrap();
    let id = plan_id(&stdout(&out));
    pty(agent(&["approve", &id]), &[("terraform show", "n"), ("Approver passphrase", PASS), ("Type yes", "yes")]);
    // Through the human's guard, every way of pointing the nested guard at that state is refused.
    let m = mine.display();
    for line in [
        format!("GUARD_HOME={m} guard terraform apply {id}"),
        format!("export GUARD_HOME={m}; guard terraform apply {id}"),
        format!("unset GUARD_HOME; XDG_STATE_HOME={} guard terraform apply {id}", tf.root.display()),
        format!("env GUARD_HOME={m} guard terraform apply {id}"),
        format!("guard --home {m} terraform apply {id}"),
    ] {
        let (code, out) = tf.run(&["shell", "-c", &line]);
        assert_eq!(code, 77, "{line}: {out}");
        assert!(out.contains("shell.tool-env"), "{out}");
    }
    // The Claude Code hook denies the same line.
    let input =
        json!({"tool_name": "Bash", "cwd": tf.work(), "tool_input": {"command": format!("GUARD_HOME={m} guard terraform apply {id}")}});
    let mut c = tf.cmd(&["hook", "claude"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut c.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    let answer = stdout(&c.wait_with_output().unwrap());
    assert!(answer.contains("\"deny\"") && answer.contains("shell.tool-env"), "{answer}");
    assert!(tf.both_there(), "the destroy plan was applied");
}

#[test]
fn an_empty_config_dir_cannot_drop_the_humans_protected_types() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    // The human's policy, where guard looks by default.
    let cfg = tf.root.join("home/.config/guard");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("policy.toml"), "[terraform]\napply = \"allow\"\nprotected_addresses = [\"terraform_data.db\"]\n").unwrap();
    let human = |args: &[&str]| {
        let mut c = tf.cmd(args);
        c.env_remove("GUARD_POLICY");
        c
    };
    let out = human(&["terraform", "plan", "-no-color"]).output().unwrap();
    let id = plan_id(&stdout(&out));
    assert!(human(&["terraform", "apply", &id]).status().unwrap().success());
    std::fs::write(tf.work().join("main.tf"), "resource \"terraform_data\" \"app\" {\n  input = \"v1\"\n}\n").unwrap();
    let empty = tf.root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    // In a line: refused.
    let line = format!("XDG_CONFIG_HOME={} guard terraform plan", empty.display());
    let out = human(&["shell", "-c", &line]).output().unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", String::from_utf8_lossy(&out.stderr));
    // Set for guard itself: the plan is judged by the built-in policy (the human's is not
    // found), but the plan binds and shows XDG_CONFIG_HOME, and applying it anywhere else is
    // refused; where it was made it still needs a human, who is shown the variable.
    let out = human(&["terraform", "plan", "-no-color"]).env("XDG_CONFIG_HOME", &empty).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("env XDG_CONFIG_HOME={}", empty.display())), "{text}");
    let id = plan_id(&text);
    let out = human(&["terraform", "apply", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("terraform.plan-env"));
    let out = human(&["terraform", "apply", &id]).env("XDG_CONFIG_HOME", &empty).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tf.both_there(), "the protected resource was deleted");
}

#[test]
fn bash_env_and_exported_functions_set_for_guard_shell_are_refused_and_never_run() {
    let t = Test::new();
    let canary = t.dir.path().join("ran");
    let script = t.dir.path().join("env.sh");
    std::fs::write(&script, format!("touch {}\n", canary.display())).unwrap();
    let (t, _) = t.env("BASH_ENV", script.to_str().unwrap()).args(&["shell", "-c", "true"]).status(77).stderr_contains("BASH_ENV").run();
    let f = format!("() {{ touch {}; }}", canary.display());
    Test::new().env("BASH_FUNC_ls%%", &f).args(&["shell", "-c", "ls"]).status(77).stderr_contains("env.refused").run();
    Test::new()
        .env("SHELLOPTS", "xtrace")
        .env("PS4", &format!("$(touch {})", canary.display()))
        .args(&["shell", "-c", "true"])
        .status(77)
        .run();
    Test::new().env("TF_CLI_ARGS_plan", "-destroy").args(&["terraform", "plan"]).status(77).stderr_contains("TF_CLI_ARGS_plan").run();
    assert!(!canary.exists(), "code from the environment ran");
    // Without them the same line runs.
    Test::new().args(&["shell", "-c", "true"]).status(0).run();
    drop(t);
}
