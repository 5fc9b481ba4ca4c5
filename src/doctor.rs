//! `guard doctor`: a registry of checks, each `ok`, `warn` or `FAIL`, plus self-tests that run
//! in a temporary home. Never touches real infrastructure; writes only one `doctor` record to
//! the real audit log.

use std::path::Path;

use serde_json::{Map, json};

use crate::decision::Decision;
use crate::error::Result;
use crate::policy::{self, Policy};
use crate::state::Paths;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

struct Check {
    name: &'static str,
    status: Status,
    detail: String,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check { name, status, detail: detail.into() }
}

/// Every check, in order. Each is a plain function from the environment to a result.
pub fn run(paths: &Paths, as_json: bool) -> Result<u8> {
    let mut checks = Vec::new();
    let policy = match policy::load(paths.policy.as_deref()) {
        Ok(p) => {
            let src = p.source.file.as_ref().map_or_else(|| "built-in default".into(), |f| f.display().to_string());
            checks.push(check("policy", Status::Ok, format!("{src} loads and its examples pass")));
            Some(p)
        }
        Err(e) => {
            checks.push(check("policy", Status::Fail, e.to_string()));
            None
        }
    };
    match policy::builtin()
        .and_then(|b| crate::classify::check_examples(&b, policy::DEFAULT_POLICY, crate::classify::Scope::All).map(|()| b))
    {
        Ok(b) => checks.push(check(
            "built-in examples",
            Status::Ok,
            format!(
                "{} examples and {} rule examples pass",
                b.examples.len(),
                b.shell.builtin_rules.iter().map(|r| r.examples.len()).sum::<usize>()
            ),
        )),
        Err(e) => checks.push(check("built-in examples", Status::Fail, e.to_string())),
    }
    if let Some(p) = &policy {
        for id in &p.shell.disabled_rules {
            checks.push(check("disabled rule", Status::Warn, format!("{id} is turned off by the policy")));
        }
    }
    checks.push(state_dir(paths));
    checks.push(match crate::audit::verify(paths) {
        Ok(v) => check(
            "audit chain",
            Status::Ok,
            format!("{} records intact{}", v.records, v.notes.first().map(|n| format!(" ({n})")).unwrap_or_default()),
        ),
        Err(e) => check("audit chain", Status::Fail, e.to_string()),
    });
    let exe = crate::exec::own_exe().ok();
    for (name, var) in [("terraform", "GUARD_TERRAFORM"), ("kubectl", "GUARD_KUBECTL"), ("bash", "GUARD_BASH")] {
        let configured = policy.as_ref().and_then(|p| match name {
            "terraform" => p.tools.terraform.clone(),
            "kubectl" => p.tools.kubectl.clone(),
            _ => p.tools.bash.clone(),
        });
        let (found, skipped) =
            crate::exec::find_real_explained(name, configured.as_deref(), std::env::var_os(var), std::env::var_os("PATH"), exe);
        checks.push(match found {
            // The hash says which binary this is, whatever it is called.
            Ok(p) => check(
                tool_label(name),
                Status::Ok,
                format!(
                    "real {name} at {} sha256 {}",
                    p.display(),
                    crate::digest::sha256_file(&p).unwrap_or_else(|e| format!("(unreadable: {e})"))
                ),
            ),
            Err(e) if name == "bash" => check(tool_label(name), Status::Fail, e.to_string()),
            Err(e) => check(tool_label(name), Status::Warn, format!("{e} (guard cannot run {name} commands until it is installed)")),
        });
        for (p, why) in skipped {
            checks.push(check(tool_label(name), Status::Warn, format!("not used: {} ({why})", p.display())));
        }
    }
    checks.push(shims_on_path(exe));
    if let Ok(cwd) = std::env::current_dir() {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(std::path::PathBuf::from);
        let (level, detail) = crate::hook::doctor_check(home.as_deref(), &cwd);
        checks.push(check(
            "claude code hook",
            [Status::Ok, Status::Warn, Status::Fail].get(usize::from(level)).copied().unwrap_or(Status::Fail),
            detail,
        ));
    }
    match &policy {
        Some(p) if !crate::sandbox::enforced(p) => checks.push(check(
            "containment",
            Status::Warn,
            "off (`[sandbox] mode = \"off\"`): shell lines run uncontained, so a wrong allow is not caught by the kernel",
        )),
        Some(_) => {
            for (name, result) in crate::sandbox::doctor_checks() {
                checks.push(match result {
                    Ok(d) => check(name, Status::Ok, d),
                    Err(d) => check(
                        name,
                        Status::Fail,
                        format!("{d}; containment is required (`[sandbox] mode = \"enforce\"`), so guard refuses to run lines"),
                    ),
                });
            }
            checks.push(match crate::sandbox::script_supervisor() {
                Ok(d) => check("script supervisor", Status::Ok, d),
                Err(d) => check(
                    "script supervisor",
                    Status::Warn,
                    format!("{d}; approved lines that run scripts are refused (77), other lines run contained"),
                ),
            });
        }
        None => {}
    }
    let terraform = crate::exec::find_real(
        "terraform",
        policy.as_ref().and_then(|p| p.tools.terraform.as_deref()),
        std::env::var_os("GUARD_TERRAFORM"),
        std::env::var_os("PATH"),
        exe,
    )
    .ok();
    checks.extend(terraform_checks(paths, terraform.as_deref()));
    checks.extend(kubectl_checks(policy.as_ref()));
    for (name, level, detail) in crate::approval::doctor_checks(paths) {
        checks.push(check(name, [Status::Ok, Status::Warn, Status::Fail].get(usize::from(level)).copied().unwrap_or(Status::Fail), detail));
    }
    checks.extend(self_tests(policy.as_ref()));

    let failed = checks.iter().any(|c| c.status == Status::Fail);
    let mut rec = Map::new();
    rec.insert("result".into(), json!(if failed { "fail" } else { "ok" }));
    rec.insert(
        "checks".into(),
        json!(checks.iter().map(|c| json!({"name": c.name, "status": label(c.status).trim()})).collect::<Vec<_>>()),
    );
    if let Err(e) = crate::audit::append(paths, "doctor", rec) {
        checks.push(check("audit append", Status::Fail, e.to_string()));
    }
    let failed = checks.iter().any(|c| c.status == Status::Fail);
    if as_json {
        let v = json!({
            "result": if failed { "fail" } else { "ok" },
            "checks": checks.iter().map(|c| json!({"name": c.name, "status": label(c.status).trim(), "detail": c.detail})).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        for c in &checks {
            println!("{} {}: {}", label(c.status), c.name, c.detail);
        }
    }
    Ok(u8::from(failed))
}

fn tool_label(name: &str) -> &'static str {
    match name {
        "terraform" => "terraform binary",
        "kubectl" => "kubectl binary",
        _ => "bash binary",
    }
}

fn label(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok  ",
        Status::Warn => "warn",
        Status::Fail => "FAIL",
    }
}

fn state_dir(paths: &Paths) -> Check {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = paths.ensure_home() {
        return check("state dir", Status::Fail, e.to_string());
    }
    let mode = std::fs::metadata(&paths.home).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    if mode != 0o700 {
        return check("state dir", Status::Fail, format!("{} has mode {mode:o}, expected 700", paths.home.display()));
    }
    let probe = paths.home.join(".doctor-probe");
    match crate::state::atomic_write(&probe, b"probe")
        .and_then(|()| std::fs::remove_file(&probe).map_err(|e| crate::error::Error::io("cannot remove", &probe, e)))
    {
        Ok(()) => check("state dir", Status::Ok, format!("{} is private (700) and writable", paths.home.display())),
        Err(e) => check("state dir", Status::Fail, e.to_string()),
    }
}

fn shims_on_path(exe: Option<&Path>) -> Check {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut shimmed = Vec::new();
    let mut raw = Vec::new();
    for name in ["terraform", "kubectl", "bash"] {
        let first = std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file());
        match first {
            Some(p) if crate::exec::is_guard_or_shim(&p, exe) => shimmed.push(name),
            Some(_) => raw.push(name),
            None => {}
        }
    }
    if raw.is_empty() {
        check("shims on PATH", Status::Ok, format!("{} resolve to guard shims first", shimmed.join(", ")))
    } else {
        check(
            "shims on PATH",
            Status::Warn,
            format!(
                "{} on PATH resolve to the real binaries, not guard's shims: put guard's shims directory first on the agent's PATH",
                raw.join(", ")
            ),
        )
    }
}

fn self_tests(policy: Option<&Policy>) -> Vec<Check> {
    let mut out = Vec::new();
    let builtin;
    let policy = match policy {
        Some(p) => p,
        None => match policy::builtin() {
            Ok(b) => {
                builtin = b;
                &builtin
            }
            Err(e) => return vec![check("self-test", Status::Fail, e.to_string())],
        },
    };
    let ctx = crate::request::Context::example();
    for (line, want, name) in [
        ("rm -rf /", Decision::Block, "self-test: catastrophic line"),
        ("ls -la", Decision::Allow, "self-test: read-only line"),
        ("kubectl delete ns kube-system", Decision::Block, "self-test: protected namespace"),
    ] {
        let got = crate::tools::shell::classify_line(line, policy, &ctx);
        out.push(if got.decision == want {
            check(name, Status::Ok, format!("`{line}` is {want}"))
        } else {
            check(name, Status::Fail, format!("`{line}` is {} but must be {want}", got.decision))
        });
    }
    out.push(audit_round_trip());
    out
}

fn audit_round_trip() -> Check {
    let name = "self-test: audit tamper";
    let dir = std::env::temp_dir().join(format!("guard-doctor-{}", crate::digest::random_hex(8).unwrap_or_default()));
    let result = (|| -> std::result::Result<String, String> {
        let paths = Paths { home: dir.clone(), policy: None };
        for i in 0..3 {
            let mut m = Map::new();
            m.insert("i".into(), json!(i));
            crate::audit::append(&paths, "doctor-self-test", m).map_err(|e| e.to_string())?;
        }
        crate::audit::verify(&paths).map_err(|e| format!("fresh log does not verify: {e}"))?;
        let log = paths.audit_log();
        let text = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
        std::fs::write(&log, text.replacen("\"i\":1", "\"i\":7", 1)).map_err(|e| e.to_string())?;
        match crate::audit::verify(&paths) {
            Err(e) if e.to_string().contains("line 3") => Ok(format!("an edited line is caught ({e})")),
            Err(e) => Err(format!("caught, but at the wrong place: {e}")),
            Ok(_) => Err("an edited audit line was NOT detected".into()),
        }
    })();
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(d) => check(name, Status::Ok, d),
        Err(e) => check(name, Status::Fail, e),
    }
}

/// terraform: runnable and its version, the plan dir's permissions, and a self-test that plans
/// a `terraform_data` config offline in a temporary dir, tampers with the plan file and checks
/// that apply's checks refuse it.
fn terraform_checks(paths: &Paths, terraform: Option<&Path>) -> Vec<Check> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let Some(tf) = terraform else {
        return out;
    };
    match duct::cmd(tf, ["version"]).stdout_capture().stderr_null().unchecked().run() {
        Ok(o) if o.status.success() => {
            let v = String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string();
            out.push(check("terraform version", Status::Ok, v));
        }
        _ => out.push(check("terraform version", Status::Fail, format!("{} does not run", tf.display()))),
    }
    let plans = crate::plans::plans_dir(paths);
    if plans.exists() {
        let mode = std::fs::metadata(&plans).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        out.push(if mode == 0o700 {
            check("plan dir", Status::Ok, format!("{} is private (700)", plans.display()))
        } else {
            check("plan dir", Status::Fail, format!("{} has mode {mode:o}, expected 700", plans.display()))
        });
    }
    let dir = std::env::temp_dir().join(format!("guard-doctor-tf-{}", crate::digest::random_hex(8).unwrap_or_default()));
    let result = (|| -> std::result::Result<String, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("main.tf"), "resource \"terraform_data\" \"doctor\" {\n  input = \"self-test\"\n}\n")
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("rc"), "").map_err(|e| e.to_string())?;
        let run = |args: &[&str]| {
            duct::cmd(tf, args)
                .dir(&dir)
                .env("TF_CLI_CONFIG_FILE", dir.join("rc"))
                .env("CHECKPOINT_DISABLE", "1")
                .env("TF_IN_AUTOMATION", "1")
                .env_remove("TF_WORKSPACE")
                .stdout_null()
                .stderr_capture()
                .unchecked()
                .run()
        };
        for args in [&["init", "-input=false"][..], &["plan", "-input=false", "-out=doctor.tfplan"]] {
            let o = run(args).map_err(|e| e.to_string())?;
            if !o.status.success() {
                return Err(format!("terraform {} failed: {}", args.join(" "), String::from_utf8_lossy(&o.stderr).trim()));
            }
        }
        let plan = dir.join("doctor.tfplan");
        let sha = crate::digest::sha256_hex(&std::fs::read(&plan).map_err(|e| e.to_string())?);
        let record = crate::plans::PlanRecord {
            id: "p-00000000000000000000000000000000".into(),
            sha256: sha.clone(),
            dir: dir.clone(),
            workspace: "default".into(),
            terraform_version: String::new(),
            lock_hash: crate::plans::lock_hash(&dir),
            config_hash: crate::plans::config_hash(&dir),
            created_ms: crate::rfc3339::now_millis(),
            expires_ms: crate::rfc3339::now_millis() + 60_000,
            destroy: false,
            changes: Vec::new(),
            summary: Default::default(),
            decision: Decision::Allow,
            reasons: Vec::new(),
            env: Default::default(),
            scripts: Default::default(),
        };
        let now = crate::rfc3339::now_millis();
        let config = crate::plans::config_hash(&dir);
        let check = |file_sha: &str| {
            let observed = crate::plans::Observed {
                now,
                used: false,
                file_sha: Some(file_sha),
                dir: &dir,
                workspace: "default",
                lock: &record.lock_hash,
                config: &config,
            };
            crate::plans::apply_checks(&record, &observed)
        };
        check(&sha).map_err(|(r, m)| format!("an untouched plan fails {r}: {m}"))?;
        let mut bytes = std::fs::read(&plan).map_err(|e| e.to_string())?;
        bytes.push(b'x');
        std::fs::write(&plan, &bytes).map_err(|e| e.to_string())?;
        match check(&crate::digest::sha256_hex(&bytes)) {
            Err(("terraform.plan-tampered", _)) => Ok("planned offline, tampered with the plan file, apply refused it".into()),
            Err((r, _)) => Err(format!("a tampered plan was refused by {r}, not terraform.plan-tampered")),
            Ok(()) => Err("a tampered plan file was NOT refused".into()),
        }
    })();
    let _ = std::fs::remove_dir_all(&dir);
    out.push(match result {
        Ok(d) => check("self-test: terraform plan", Status::Ok, d),
        Err(e) => check("self-test: terraform plan", Status::Fail, e),
    });
    out
}

/// kubectl: the kubeconfig in force parses (offline), and which namespaces are protected.
fn kubectl_checks(policy: Option<&Policy>) -> Vec<Check> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let env = std::env::var("KUBECONFIG").ok();
    let files = crate::kubeconfig::files(None, env.as_deref(), home.as_deref());
    let mut out = vec![match crate::kubeconfig::resolve(&files, &crate::kubeconfig::Overrides::default()) {
        Ok(f) => check(
            "kubeconfig",
            Status::Ok,
            format!(
                "context {}, server {}, namespace {} ({})",
                f.context.as_deref().unwrap_or("(none)"),
                f.server.as_deref().unwrap_or("(none)"),
                f.namespace,
                files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
            ),
        ),
        Err(e) => check("kubeconfig", Status::Fail, e),
    }];
    if let Some(p) = policy {
        // The system namespaces are protected whatever the policy lists; a user list adds.
        let system = crate::tools::kubectl::SYSTEM_NAMESPACES;
        let added: Vec<&String> = p.kubectl.protected_namespaces.iter().filter(|n| !system.contains(&n.as_str())).collect();
        let detail = format!(
            "{} (built in, always){}",
            system.join(", "),
            if added.is_empty() {
                String::new()
            } else {
                format!("; added by policy: {}", added.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
            }
        );
        out.push(check("protected namespaces", Status::Ok, detail));
    }
    out
}
