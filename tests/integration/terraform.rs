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
    let (t, _) = t.args(&["terraform", "init", "-input=false"]).status(0).run();
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
    assert!(!work.join("terraform.tfstate").exists(), "terraform ran: state was written");
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

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::PASS;

/// A terraform working dir (a copy of testdata/terraform/NAME), a state dir and a policy.
pub(crate) struct Tf {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
}

impl Tf {
    pub(crate) fn new(config: &str, policy: &str) -> Option<Tf> {
        if !require_tool("terraform") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for d in ["work", "state", "home"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/terraform").join(config).join("main.tf");
        std::fs::copy(src, root.join("work/main.tf")).unwrap();
        std::fs::write(root.join("terraformrc"), "").unwrap();
        std::fs::write(root.join("policy.toml"), policy).unwrap();
        let tf = Tf { _dir: dir, root };
        assert_eq!(tf.run(&["terraform", "init", "-input=false"]).0, 0);
        Some(tf)
    }
    pub(crate) fn work(&self) -> PathBuf {
        self.root.join("work")
    }
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(crate::support::guard_bin());
        c.args(args)
            .current_dir(self.work())
            .env("GUARD_HOME", self.root.join("state"))
            .env("HOME", self.root.join("home"))
            .env("GUARD_POLICY", self.root.join("policy.toml"))
            .env("TF_CLI_CONFIG_FILE", self.root.join("terraformrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_WORKSPACE")
            .env("TERM", "dumb");
        c
    }
    pub(crate) fn run(&self, args: &[&str]) -> (i32, String) {
        let out = self.cmd(args).output().unwrap();
        (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
    pub(crate) fn run_env(&self, args: &[&str], k: &str, v: &str) -> (i32, String) {
        let out = self.cmd(args).env(k, v).output().unwrap();
        (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
    /// `guard terraform plan`; returns the plan id.
    pub(crate) fn plan(&self, extra: &[&str]) -> String {
        let mut args = vec!["terraform", "plan", "-no-color"];
        args.extend_from_slice(extra);
        let (code, out) = self.run(&args);
        assert_eq!(code, 0, "{out}");
        plan_id(&out)
    }
    pub(crate) fn approver_init(&self) {
        crate::support::approver_init(self.cmd(&["approver", "init"]));
    }
    pub(crate) fn approve(&self, id: &str) -> String {
        crate::support::pty(self.cmd(&["approve", id]), &[("terraform show", "n"), ("Approver passphrase", PASS), ("Type yes", "yes")])
    }
    pub(crate) fn state_list(&self) -> String {
        let out = Command::new("terraform")
            .args(["state", "list"])
            .current_dir(self.work())
            .env("TF_CLI_CONFIG_FILE", self.root.join("terraformrc"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    pub(crate) fn plan_path(&self, id: &str) -> PathBuf {
        self.root.join("state/plans").join(format!("{id}.tfplan"))
    }
}

pub(crate) fn plan_id(out: &str) -> String {
    let i = out.find("guard: plan p-").expect(out) + "guard: plan ".len();
    out[i..i + 34].to_string()
}

pub(crate) const ALLOW: &str = "[terraform]\napply = \"allow\"\n";

#[test]
fn plan_approve_apply_then_reapply_is_refused() {
    let Some(tf) = Tf::new("basic", "") else { return };
    tf.approver_init();
    let id = tf.plan(&[]);
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 75, "{out}");
    assert!(out.contains(&format!("guard approve {id}")), "{out}");
    let shown = tf.approve(&id);
    assert!(shown.contains("terraform_data.app") && shown.contains("2 to create"), "{shown}");
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Apply complete"), "{out}");
    assert!(tf.state_list().contains("terraform_data.app"));
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("terraform.plan-used"), "{out}");
    let (_, listed) = tf.run(&["terraform", "plans"]);
    assert!(listed.contains("applied"), "{listed}");
}

#[test]
fn tampered_plans_are_refused_naming_the_check() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    // Plan-file bytes changed.
    let a = tf.plan(&[]);
    let mut bytes = std::fs::read(tf.plan_path(&a)).unwrap();
    bytes.push(0);
    std::fs::write(tf.plan_path(&a), &bytes).unwrap();
    let (code, out) = tf.run(&["terraform", "apply", &a]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("terraform.plan-tampered"), "{out}");
    // Plan file replaced by another plan's file (a different plan: two plans of one config made
    // within the same second can be byte-identical, and then there is nothing to detect).
    let b = tf.plan(&[]);
    let c = tf.plan(&["-target=terraform_data.app"]);
    std::fs::copy(tf.plan_path(&c), tf.plan_path(&b)).unwrap();
    assert!(tf.run(&["terraform", "apply", &b]).1.contains("terraform.plan-tampered"));
    // Planned in X, applied from Y.
    let d = tf.plan(&[]);
    let other = tf.root.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let out = tf.cmd(&["terraform", "apply", &d]).current_dir(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(77));
    assert!(String::from_utf8_lossy(&out.stderr).contains("terraform.plan-dir"));
    // Configuration edited after the plan.
    let e = tf.plan(&[]);
    let main = tf.work().join("main.tf");
    let orig = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, orig.replace("v1", "v2")).unwrap();
    assert!(tf.run(&["terraform", "apply", &e]).1.contains("terraform.plan-config"));
    std::fs::write(&main, &orig).unwrap();
    // Dependency lock file changed.
    let f = tf.plan(&[]);
    std::fs::write(tf.work().join(".terraform.lock.hcl"), "# changed\n").unwrap();
    assert!(tf.run(&["terraform", "apply", &f]).1.contains("terraform.plan-lockfile"));
    std::fs::remove_file(tf.work().join(".terraform.lock.hcl")).unwrap();
    assert!(!tf.state_list().contains("terraform_data"), "nothing may have been applied");
}

#[test]
fn a_plan_from_workspace_a_is_refused_in_b() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    assert_eq!(tf.run(&["terraform", "workspace", "new", "a"]).0, 0);
    assert_eq!(tf.run(&["terraform", "workspace", "new", "b"]).0, 0);
    let (code, out) = tf.run_env(&["terraform", "plan", "-no-color"], "TF_WORKSPACE", "a");
    assert_eq!(code, 0, "{out}");
    let id = plan_id(&out);
    let (code, out) = tf.run_env(&["terraform", "apply", &id], "TF_WORKSPACE", "b");
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("terraform.plan-workspace"), "{out}");
    // In its own workspace it applies (apply = "allow" for plans without deletes).
    assert_eq!(tf.run_env(&["terraform", "apply", &id], "TF_WORKSPACE", "a").0, 0);
}

#[test]
fn an_expired_plan_is_refused() {
    let Some(tf) = Tf::new("basic", "[defaults]\nplan_ttl = \"1s\"\n\n[terraform]\napply = \"allow\"\n") else { return };
    let id = tf.plan(&[]);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let (code, out) = tf.run(&["terraform", "apply", &id]);
    assert_eq!(code, 77);
    assert!(out.contains("terraform.plan-expired"), "{out}");
}

#[test]
fn an_approval_for_another_plan_does_not_apply() {
    let Some(tf) = Tf::new("basic", "") else { return };
    tf.approver_init();
    let a = tf.plan(&[]);
    let b = tf.plan(&[]);
    tf.approve(&a);
    let approvals = tf.root.join("state/approvals");
    std::fs::copy(approvals.join(format!("{a}.json")), approvals.join(format!("{b}.json"))).unwrap();
    let (code, out) = tf.run(&["terraform", "apply", &b]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("another plan"), "{out}");
    assert!(!tf.state_list().contains("terraform_data"));
}

#[test]
fn deleting_a_protected_type_by_removing_its_block_is_blocked_at_plan_time_and_replace_is_reported() {
    let Some(tf) = Tf::new("basic", "[terraform]\napply = \"allow\"\nprotected_addresses = [\"terraform_data.db\"]\n") else { return };
    let id = tf.plan(&[]);
    assert_eq!(tf.run(&["terraform", "apply", &id]).0, 0);
    let main = tf.work().join("main.tf");
    let orig = std::fs::read_to_string(&main).unwrap();
    // A replace of an unprotected resource is reported as a replace (and escalates).
    std::fs::write(&main, orig.replace("input = \"v1\"", "input = \"v1\"\n  triggers_replace = [\"x\"]")).unwrap();
    let (code, out) = tf.run(&["terraform", "plan", "-no-color"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("terraform_data.app replace"), "{out}");
    assert!(out.contains("terraform.destructive-plan"), "{out}");
    // Removing the protected resource's block: blocked when planned, whatever the cause.
    std::fs::write(&main, "resource \"terraform_data\" \"app\" {\n  input = \"v1\"\n}\n").unwrap();
    let (code, out) = tf.run(&["terraform", "plan", "-no-color"]);
    assert_eq!(code, 77, "{out}");
    assert!(out.contains("terraform.protected-resource") && out.contains("delete_because_no_resource_config"), "{out}");
    let id = plan_id(&out);
    assert!(tf.run(&["terraform", "apply", &id]).1.contains("terraform.protected-resource"));
    assert!(tf.state_list().contains("terraform_data.db"));
}

#[test]
fn a_stale_plan_passes_terraforms_error_through() {
    let Some(tf) = Tf::new("basic", ALLOW) else { return };
    let first = tf.plan(&[]);
    let second = tf.plan(&[]);
    assert_eq!(tf.run(&["terraform", "apply", &second]).0, 0);
    let (code, out) = tf.run(&["terraform", "apply", &first]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Saved plan is stale"), "{out}");
    assert!(out.contains("is stale"), "{out}");
    assert!(tf.run(&["terraform", "plans"]).1.contains("stale"));
}

#[test]
fn ctrl_c_during_apply_is_forwarded_to_terraform() {
    let Some(tf) = Tf::new("slow", ALLOW) else { return };
    let id = tf.plan(&[]);
    let started = std::time::Instant::now();
    let child =
        tf.cmd(&["terraform", "apply", &id]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let out = child.wait_with_output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("Interrupt received") || all.contains("interrupt"), "{all}");
    assert_ne!(out.status.code(), Some(0));
    assert!(started.elapsed() < std::time::Duration::from_secs(28), "terraform did not stop early");
}

#[test]
fn a_directory_or_for_each_key_with_escape_codes_is_written_out_in_guards_plan_output_and_on_the_approve_screen() {
    let Some(tf) = Tf::new("escape-key", "") else { return };
    tf.approver_init();
    let (code, out) = tf.run(&["terraform", "plan", "-no-color"]);
    assert_eq!(code, 0, "{out}");
    let id = plan_id(&out);
    let guards: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("guard: plan p-")).collect();
    // terraform quotes the key in the address (`\u001b`); guard escapes whatever is left.
    assert!(guards.iter().any(|l| l.contains("\\u001b[2K") || l.contains("\\x1b[2K")), "the key is not written out: {guards:?}");
    assert!(guards.iter().all(|l| !l.contains('\u{1b}')), "guard printed raw escape codes: {guards:?}");
    // A directory name is the agent's too.
    let name = "d\u{1b}[2Kx";
    std::fs::create_dir(tf.work().join(name)).unwrap();
    std::fs::copy(tf.work().join("main.tf"), tf.work().join(name).join("main.tf")).unwrap();
    let chdir = format!("-chdir={name}");
    assert_eq!(tf.run(&["terraform", &chdir, "init", "-input=false"]).0, 0);
    let (code, out) = tf.run(&["terraform", &chdir, "plan", "-no-color"]);
    assert_eq!(code, 0, "{out}");
    let guards: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("guard: plan p-")).collect();
    assert!(guards.iter().any(|l| l.contains("d\\e[2Kx")), "the directory is not written out: {guards:?}");
    assert!(guards.iter().all(|l| !l.contains('\u{1b}')), "guard printed raw escape codes: {guards:?}");
    let (_, listed) = tf.run(&["terraform", "plans"]);
    assert!(!listed.contains('\u{1b}'), "{listed}");
    let shown = tf.approve(&id);
    let screen: String = shown.split("Show the full").next().unwrap_or_default().to_string();
    assert!(screen.contains("\\u001b[2K") || screen.contains("\\x1b[2K"), "{screen}");
    assert!(!screen.contains('\u{1b}'), "the approve screen carries raw escape codes: {screen:?}");
}
