//! terraform plan ids: what a human reviewed is exactly what gets applied, once, soon, where it
//! was planned — or nothing is.
//!
//! Owns `plans/` in the state dir (0700): `p-….tfplan` (the plan file terraform wrote),
//! `p-….json` (the plan record) and `p-….used` / `p-….outcome.json`. A plan record binds the
//! file's SHA-256, the absolute working dir, the workspace, the terraform version and hashes of
//! the dependency lock file and of the configuration. `apply <plan_id>` re-checks all of them.
//! Approvals of a plan are bound to the plan file's hash, never to a re-plan.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::decision::{Decision, Verdict};
use crate::digest::{random_hex, sha256_hex};
use crate::error::{Error, Result};
use crate::policy::{Policy, glob};
use crate::rfc3339::{format_millis, now_millis};
use crate::state::{Paths, atomic_write, ensure_private_dir};

pub fn plans_dir(p: &Paths) -> PathBuf {
    p.home.join("plans")
}
fn record_path(p: &Paths, id: &str) -> PathBuf {
    plans_dir(p).join(format!("{id}.json"))
}
pub fn plan_file(p: &Paths, id: &str) -> PathBuf {
    plans_dir(p).join(format!("{id}.tfplan"))
}
fn used_path(p: &Paths, id: &str) -> PathBuf {
    plans_dir(p).join(format!("{id}.used"))
}
fn outcome_path(p: &Paths, id: &str) -> PathBuf {
    plans_dir(p).join(format!("{id}.outcome.json"))
}

/// One resource change in a plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// create, update, delete, replace, read, forget (removed from state, not destroyed),
    /// no-op (for a move or an import without other change), or terraform's own words for an
    /// action list guard does not know (which escalates).
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The address the state held it at before (a `moved` block), when it moves.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub moved_from: String,
    /// Whether the plan imports it into state (an `import` block).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub importing: bool,
}

impl Change {
    /// What terraform does to the state alone (the objects stay as they are), if anything.
    pub fn state_rewrites(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.moved_from.is_empty() {
            out.push(format!("moves {} to {} in state", self.moved_from, self.address));
        }
        if self.importing {
            out.push(format!("imports {} into state", self.address));
        }
        if self.action == "forget" {
            out.push(format!("removes {} from state without destroying it", self.address));
        }
        out
    }
}

/// The summary keys, in the order people read them.
pub const SUMMARY_KEYS: &[&str] = &["create", "update", "replace", "delete", "move", "import", "forget"];

/// Counts per kind of change (moves and imports counted apart from the action they come with).
pub fn summarize(changes: &[Change]) -> BTreeMap<String, u64> {
    let mut summary = BTreeMap::new();
    for c in changes {
        if c.action != "no-op" {
            *summary.entry(c.action.clone()).or_insert(0) += 1;
        }
        if !c.moved_from.is_empty() {
            *summary.entry("move".to_string()).or_insert(0) += 1;
        }
        if c.importing {
            *summary.entry("import".to_string()).or_insert(0) += 1;
        }
    }
    summary
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanRecord {
    pub id: String,
    pub sha256: String,
    pub dir: PathBuf,
    pub workspace: String,
    pub terraform_version: String,
    pub lock_hash: String,
    pub config_hash: String,
    pub created_ms: u64,
    pub expires_ms: u64,
    pub destroy: bool,
    pub changes: Vec<Change>,
    pub summary: BTreeMap<String, u64>,
    pub decision: Decision,
    pub reasons: Vec<(String, String)>,
    /// The environment that changes what terraform does (see `request::bound_env`), as it was
    /// when the plan was made; `apply` refuses under another.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The scripts the plan's `local-exec` provisioners run, with their SHA-256 (see
    /// [`local_exec_scripts`]): re-derived from the plan file and the files before an approval
    /// and before an apply, never taken from the record; an approval signs them with the plan.
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
}

impl PlanRecord {
    pub fn summary_line(&self) -> String {
        let n = |k: &str| self.summary.get(k).copied().unwrap_or(0);
        let mut line = format!(
            "{} to create, {} to update, {} to replace, {} to delete; state: {} to move, {} to import, {} to forget",
            n("create"),
            n("update"),
            n("replace"),
            n("delete"),
            n("move"),
            n("import"),
            n("forget")
        );
        for (k, v) in &self.summary {
            if !SUMMARY_KEYS.contains(&k.as_str()) && k != "read" {
                line.push_str(&format!(", {v} {k} (an action guard does not know)"));
            }
        }
        line
    }
}

pub fn load(p: &Paths, id: &str) -> Result<PlanRecord> {
    if !crate::tools::terraform::is_plan_id(id) {
        return Err(Error::Data(format!("guard: {id:?} is not a plan id (p-…)")));
    }
    match std::fs::read(record_path(p, id)) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Data(format!("guard: plan record {id} is corrupt ({e})"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::Data(format!("guard: unknown plan id {id}; `guard terraform plans` lists them")))
        }
        Err(e) => Err(Error::io("cannot read", record_path(p, id), e)),
    }
}

/// The workspace terraform will use in `dir`: `TF_WORKSPACE`, else `.terraform/environment`.
pub fn workspace(dir: &Path, tf_workspace: Option<&str>, tf_data_dir: Option<&str>) -> String {
    if let Some(w) = tf_workspace.filter(|w| !w.is_empty()) {
        return w.to_string();
    }
    let data = tf_data_dir.map_or_else(|| dir.join(".terraform"), |d| dir.join(d));
    std::fs::read_to_string(data.join("environment"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into())
}

pub fn lock_hash(dir: &Path) -> String {
    std::fs::read(dir.join(".terraform.lock.hcl")).map_or_else(|_| "none".into(), |b| sha256_hex(&b))
}

/// A hash over every configuration file under `dir` (names and contents), `.terraform` excluded.
pub fn config_hash(dir: &Path) -> String {
    let mut files = Vec::new();
    collect_config(dir, dir, &mut files, 0);
    files.sort();
    let mut all = String::new();
    for (rel, h) in files {
        all.push_str(&format!("{rel}\0{h}\n"));
    }
    sha256_hex(all.as_bytes())
}

fn collect_config(root: &Path, dir: &Path, out: &mut Vec<(String, String)>, depth: usize) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_config(root, &path, out, depth + 1);
        } else if [".tf", ".tf.json", ".tfvars", ".tfvars.json", ".tftest.hcl"].iter().any(|x| name.ends_with(x)) {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            let h = std::fs::read(&path).map_or_else(|_| "unreadable".into(), |b| sha256_hex(&b));
            out.push((rel, h));
        }
    }
}

/// The scripts the `local-exec` provisioners in a plan's configuration run, as a shell line
/// guard reads them (`bash ./deploy.sh`, `./x.sh`, `source x.sh`), keyed by absolute path, with
/// their [`crate::scripts::fingerprint`]. terraform runs every provisioner in its own working
/// directory `dir` (a module's too) unless `working_dir` says otherwise. Only what the plan holds
/// as constants can be read: a command built from references (`"${path.module}/x.sh"`) is
/// evaluated at apply time and binds nothing (README).
pub fn local_exec_scripts(show: &Value, dir: &Path, policy: &Policy) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(root) = show.pointer("/configuration/root_module") {
        local_exec_in(root, dir, policy, &mut out, 0);
    }
    out
}

fn local_exec_in(module: &Value, dir: &Path, policy: &Policy, out: &mut BTreeMap<String, String>, depth: usize) {
    if depth > 32 {
        return;
    }
    let provisioners = module.get("resources").and_then(Value::as_array).into_iter().flatten().filter_map(|r| r.get("provisioners"));
    for p in provisioners.filter_map(Value::as_array).flatten().filter(|p| p.get("type").and_then(Value::as_str) == Some("local-exec")) {
        let constant = |k: &str| p.pointer(&format!("/expressions/{k}/constant_value"));
        let Some(command) = constant("command").and_then(Value::as_str) else { continue };
        let cwd = match p.pointer("/expressions/working_dir") {
            None => dir.to_path_buf(),
            Some(_) => match constant("working_dir").and_then(Value::as_str) {
                Some(w) => crate::tools::shell::normalize_path(&dir.join(w)),
                None => continue,
            },
        };
        // The interpreter is `/bin/sh -c` unless the provisioner names a shell of its own.
        let argv: Vec<String> = match constant("interpreter").and_then(Value::as_array) {
            None => vec!["-c".into(), command.into()],
            Some(words) => {
                let words: Vec<&str> = words.iter().filter_map(Value::as_str).collect();
                let shell = words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
                if !matches!(shell, Some("sh" | "bash" | "dash")) {
                    continue;
                }
                words.iter().skip(1).map(|w| (*w).to_string()).chain(std::iter::once(command.to_string())).collect()
            }
        };
        let ctx = crate::request::Context {
            cwd,
            home: std::env::var_os("HOME").map(PathBuf::from),
            guarded: Vec::new(),
            kube: Default::default(),
            contained: false,
            git: Default::default(),
            cdpath: false,
            git_env: Vec::new(),
        };
        for script in crate::tools::shell::scripts_run(&argv, policy, &ctx) {
            let bound = crate::scripts::fingerprint(&script);
            out.insert(script.to_string_lossy().into_owned(), bound);
        }
    }
    for call in module.get("module_calls").and_then(Value::as_object).into_iter().flat_map(|m| m.values()) {
        if let Some(m) = call.get("module") {
            local_exec_in(m, dir, policy, out, depth + 1);
        }
    }
}

/// What an approval of `r` signs: the plan file's hash, and with `local-exec` scripts, their
/// hashes too (a plan without scripts signs its file hash alone, as before).
#[must_use]
pub fn approval_digest(r: &PlanRecord) -> String {
    if r.scripts.is_empty() {
        return r.sha256.clone();
    }
    let mut all = format!("plan\0{}\n", r.sha256);
    for (path, h) in &r.scripts {
        all.push_str(&format!("script\0{path}\0{h}\n"));
    }
    sha256_hex(all.as_bytes())
}

/// Turns `terraform show -json` output into the change list. Pure.
pub fn changes_from_show(show: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    for rc in show.get("resource_changes").and_then(Value::as_array).into_iter().flatten() {
        let actions: Vec<&str> =
            rc.pointer("/change/actions").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let moved_from = rc.get("previous_address").and_then(Value::as_str).unwrap_or("").to_string();
        let importing = rc.pointer("/change/importing").is_some_and(|v| !v.is_null());
        let action = match actions.as_slice() {
            ["create"] => "create".to_string(),
            ["update"] => "update".to_string(),
            ["delete"] => "delete".to_string(),
            ["delete", "create"] | ["create", "delete"] => "replace".to_string(),
            ["read"] => "read".to_string(),
            ["forget"] => "forget".to_string(),
            ["no-op"] if moved_from.is_empty() && !importing => continue,
            ["no-op"] => "no-op".to_string(),
            // Fail closed: an action list guard does not know is kept (and escalates).
            other => other.join("+"),
        };
        out.push(Change {
            address: rc.get("address").and_then(Value::as_str).unwrap_or("?").to_string(),
            kind: rc.get("type").and_then(Value::as_str).unwrap_or("?").to_string(),
            action,
            reason: rc.get("action_reason").and_then(Value::as_str).unwrap_or("").to_string(),
            moved_from,
            importing,
        });
    }
    out
}

/// The policy's verdict on a plan. Pure.
pub fn judge(changes: &[Change], destroy: bool, workspace: &str, policy: &Policy) -> Verdict {
    let tf = &policy.terraform;
    let mut v = Verdict::allow();
    let destructive: Vec<&Change> = changes.iter().filter(|c| c.action == "delete" || c.action == "replace").collect();
    let ws = tf.workspaces.iter().find(|w| glob(&w.name, workspace));
    let apply = ws.and_then(|w| w.apply).unwrap_or(tf.apply);
    if apply != Decision::Allow {
        v.add(
            apply,
            "terraform.apply",
            format!(
                "applying a plan needs {} by policy ([terraform] apply)",
                if apply == Decision::Block { "nothing: it is blocked" } else { "a human approval" }
            ),
        );
    }
    for c in &destructive {
        let protected = tf.protected_types.iter().any(|t| glob(t, &c.kind)) || tf.protected_addresses.iter().any(|a| glob(a, &c.address));
        if protected {
            let why = if c.reason.is_empty() { String::new() } else { format!(" ({})", c.reason) };
            v.add(
                Decision::Block,
                "terraform.protected-resource",
                format!("the plan would {} {}, a protected resource{why}", c.action, c.address),
            );
        } else if let Some(d) = ws.and_then(|w| w.deletes) {
            v.add(d, "terraform.workspace-deletes", format!("workspace {workspace}: the plan would {} {}", c.action, c.address));
        } else {
            v.add(Decision::Escalate, "terraform.destructive-plan", format!("the plan would {} {}", c.action, c.address));
        }
    }
    for c in changes {
        for what in c.state_rewrites() {
            v.add(tf.state_rewrite, "terraform.state-rewrite", format!("the plan {what} ([terraform] state_rewrite)"));
        }
        if !matches!(c.action.as_str(), "create" | "update" | "delete" | "replace" | "read" | "forget" | "no-op") {
            v.add(
                Decision::Escalate,
                "terraform.unknown-action",
                format!("the plan would {} {}: an action guard does not know", c.action, c.address),
            );
        }
    }
    if destroy {
        v.add(Decision::Escalate, "terraform.destroy-plan", "a -destroy plan deletes everything it manages");
    }
    v
}

/// Runs terraform with both outputs captured (contained under `profile` when it has one: a
/// brokered terraform). terraform's warnings go to its stderr, and guard's own stdout (the plan
/// record, under `--json`) must never carry them.
fn run_capture(terraform: &Path, args: &[&str], dir: &Path, profile: Option<&crate::sandbox::Profile>) -> Result<(i32, Vec<u8>)> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let (mut command, _temp) = crate::exec::contained_command(profile, crate::policy::ToolName::Terraform, terraform, &args)?;
    let out = command.current_dir(dir).stdin(std::process::Stdio::null()).output().map_err(|e| Error::io("cannot run", terraform, e))?;
    let code = out.status.code().unwrap_or(1);
    let mut text = out.stdout;
    if code != 0 {
        text.extend_from_slice(&out.stderr);
    }
    Ok((code, text))
}

/// The directory terraform works in for `argv` (`-chdir`), made absolute.
pub fn work_dir(cwd: &Path, argv: &[String]) -> PathBuf {
    match crate::tools::terraform::parse(argv).chdir {
        Some(d) => crate::tools::shell::normalize_path(&cwd.join(d)),
        None => cwd.to_path_buf(),
    }
}

/// `guard terraform plan …`: runs the real plan into a guard-owned file and stores the record.
/// A brokered plan (the authorized profile contains terraform) writes its `-out` file into
/// `staging`, the one tree of guard's it may write; guard copies the bytes into its own state.
pub fn plan(
    p: &Paths,
    policy: &Policy,
    terraform: &Path,
    authorized: &crate::gate::Authorized<'_>,
    json_out: bool,
    staging: Option<&Path>,
) -> Result<u8> {
    let req = authorized.request;
    let parsed = crate::tools::terraform::parse(&req.argv);
    let dir = work_dir(&req.cwd, &req.argv);
    let id = format!("p-{}", random_hex(16)?);
    ensure_private_dir(&plans_dir(p))?;
    let file = plan_file(p, &id);
    let out = staging.map_or_else(|| file.clone(), |s| s.join(format!("{id}.tfplan")));
    let mut args: Vec<String> = Vec::new();
    if let Some(d) = parsed.chdir {
        args.push(format!("-chdir={d}"));
    }
    args.push("plan".into());
    args.push(format!("-out={}", out.display()));
    args.push("-input=false".into());
    // `--json` is guard's (print the record), not terraform's.
    let own = crate::tools::terraform::plan_args(&parsed.args);
    args.extend(own.iter().map(|s| s.to_string()));
    // Read as terraform reads them (`--destroy`, `-destroy=false`, …).
    let options = crate::tools::terraform::plan_options(&own);
    let destroy = options.destroy;
    // The plan itself runs in the foreground: its output is the agent's to read.
    // With `--json`, terraform's text goes to stderr: stdout is the record alone.
    let outcome = if json_out {
        crate::exec::run_args_stdout_to_stderr(authorized, terraform, &args)?
    } else {
        crate::exec::run_args(authorized, terraform, &args, None, None)?
    };
    let ok = outcome.code == 0 || (options.detailed_exitcode && outcome.code == 2);
    if !ok || !out.exists() {
        let _ = std::fs::remove_file(&out);
        return Ok(outcome.code);
    }
    let bytes = std::fs::read(&out).map_err(|e| Error::io("cannot read plan file", &out, e))?;
    let sha = sha256_hex(&bytes);
    // Shown from where terraform wrote it (the only place of guard's a brokered terraform may
    // read besides the plan it applies); nothing writes there once that terraform has ended.
    let shown = run_capture(terraform, &["show", "-json", &out.to_string_lossy()], &dir, authorized.profile());
    if out != file {
        atomic_write(&file, &bytes)?;
        let _ = std::fs::remove_file(&out);
    }
    let (code, show) = shown?;
    if code != 0 {
        return Err(Error::Internal(format!("`terraform show -json` failed on the new plan: {}", String::from_utf8_lossy(&show).trim())));
    }
    let show: Value = serde_json::from_slice(&show)
        .map_err(|e| Error::Internal(format!("`terraform show -json` printed something that is not JSON: {e}")))?;
    let changes = changes_from_show(&show);
    let summary = summarize(&changes);
    let scripts = local_exec_scripts(&show, &dir, policy);
    let ws = workspace(&dir, req.target_env.get("TF_WORKSPACE").map(String::as_str), req.target_env.get("TF_DATA_DIR").map(String::as_str));
    let verdict = judge(&changes, destroy, &ws, policy);
    let now = now_millis();
    let record = PlanRecord {
        id: id.clone(),
        sha256: sha.clone(),
        dir: dir.clone(),
        workspace: ws,
        terraform_version: show.get("terraform_version").and_then(Value::as_str).unwrap_or("?").to_string(),
        lock_hash: lock_hash(&dir),
        config_hash: config_hash(&dir),
        created_ms: now,
        expires_ms: now + policy.defaults.plan_ttl.millis(),
        destroy,
        changes,
        summary,
        decision: verdict.decision,
        reasons: verdict.reasons.iter().map(|r| (r.rule.clone(), r.message.clone())).collect(),
        env: req.target_env.clone(),
        scripts,
    };
    let body = serde_json::to_vec_pretty(&record).map_err(|e| Error::Internal(format!("cannot encode plan record: {e}")))?;
    atomic_write(&record_path(p, &id), &body)?;
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(id));
    m.insert("sha256".into(), json!(sha));
    m.insert("dir".into(), json!(record.dir));
    m.insert("workspace".into(), json!(record.workspace));
    m.insert("summary".into(), json!(record.summary));
    m.insert("decision".into(), json!(record.decision.as_str()));
    m.insert("reasons".into(), crate::reasons_json(&verdict));
    crate::audit::append(p, "plan", m)?;
    if json_out {
        println!("{}", String::from_utf8_lossy(&body));
    } else {
        print_record(&record, crate::display::color_stdout());
    }
    if record.decision == Decision::Block {
        let why = verdict.headline().map(|r| format!("{}: {}", r.rule, r.message)).unwrap_or_default();
        return Err(Error::Blocked(format!("guard: plan {id} can never be applied ({why})")));
    }
    Ok(outcome.code)
}

fn print_record(r: &PlanRecord, color: bool) {
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
    println!();
    println!("guard: plan {}: {}", paint("1", &r.id), r.summary_line());
    for c in &r.changes {
        let (sym, col) = match c.action.as_str() {
            "create" => ("+", "32"),
            "update" => ("~", "33"),
            "delete" => ("-", "31"),
            "replace" => ("-/+", "31"),
            "read" => ("<=", "36"),
            "forget" => ("x", "33"),
            "no-op" => ("=", "33"),
            _ => ("?", "31"),
        };
        let why = if c.reason.is_empty() { String::new() } else { format!(" ({})", c.reason) };
        // Addresses carry the configuration's `for_each` keys: agent text, printed written out.
        println!("  {} {} {}{}", paint(col, sym), crate::display::escape(&c.address), c.action, crate::display::escape(&why));
        for what in c.state_rewrites() {
            println!("      {}", paint("33", &crate::display::escape(&format!("state: {what}"))));
        }
    }
    println!(
        "  dir {}  workspace {}  sha256 {}",
        crate::display::escape(&r.dir.to_string_lossy()),
        crate::display::escape(&r.workspace),
        r.sha256
    );
    for (k, v) in &r.env {
        println!("  env {}", crate::display::escape(&crate::redact::redact(&format!("{k}={v}"))));
    }
    println!("  expires {}", format_millis(r.expires_ms));
    match r.decision {
        Decision::Allow => println!("  apply with: guard terraform apply {} (no approval needed)", r.id),
        Decision::Escalate => println!("  needs a human approval: `guard approve {}`, then: guard terraform apply {}", r.id, r.id),
        Decision::Block => println!("  {}", paint("31", "blocked: this plan can never be applied")),
    }
    for (rule, msg) in &r.reasons {
        println!("  {rule}: {msg}");
    }
}

/// What guard finds on disk when `apply <plan_id>` runs, to compare with the plan record.
pub struct Observed<'a> {
    pub now: u64,
    pub used: bool,
    pub file_sha: Option<&'a str>,
    pub dir: &'a Path,
    pub workspace: &'a str,
    pub lock: &'a str,
    pub config: &'a str,
}

/// Every check `apply <plan_id>` makes before anything runs. Pure.
pub fn apply_checks(r: &PlanRecord, o: &Observed<'_>) -> std::result::Result<(), (&'static str, String)> {
    let Observed { now, used, file_sha, dir, workspace: ws, lock, config } = *o;
    if used {
        return Err(("terraform.plan-used", format!("plan {} was applied (or an apply started) already; plans are single-use", r.id)));
    }
    if r.expires_ms <= now {
        return Err(("terraform.plan-expired", format!("plan {} expired at {}; plan again", r.id, format_millis(r.expires_ms))));
    }
    match file_sha {
        None => return Err(("terraform.plan-tampered", format!("the plan file of {} is missing", r.id))),
        Some(h) if h != r.sha256 => {
            return Err((
                "terraform.plan-tampered",
                format!("the plan file of {} changed since it was planned (sha256 {h} ≠ {})", r.id, r.sha256),
            ));
        }
        Some(_) => {}
    }
    if dir != r.dir {
        return Err(("terraform.plan-dir", format!("plan {} was made in {}, not {}", r.id, r.dir.display(), dir.display())));
    }
    if ws != r.workspace {
        return Err(("terraform.plan-workspace", format!("plan {} was made for workspace {}, not {ws}", r.id, r.workspace)));
    }
    if lock != r.lock_hash {
        return Err(("terraform.plan-lockfile", format!("the dependency lock file changed since plan {}", r.id)));
    }
    if config != r.config_hash {
        return Err(("terraform.plan-config", format!("the configuration changed since plan {}", r.id)));
    }
    // The stored decision is not looked at: `rederive` recomputes it from the plan file.
    Ok(())
}

/// The bound environment differs from the plan's: which variables, for the message.
pub(crate) fn env_differs(planned: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Option<String> {
    let keys: std::collections::BTreeSet<&String> = planned.keys().chain(now.keys()).collect();
    let differ: Vec<&str> = keys.into_iter().filter(|k| planned.get(*k) != now.get(*k)).map(String::as_str).collect();
    (!differ.is_empty()).then(|| differ.join(", "))
}

/// Re-derives a plan's changes, summary and verdict from its plan file and the policy in
/// force now, into `r`: what the record says about them is never trusted (it is a file the
/// agent can write; only the plan file's hash binds). The file must still hash to `r.sha256`.
pub fn rederive(
    p: &Paths,
    r: &mut PlanRecord,
    policy: &Policy,
    terraform: &Path,
    profile: Option<&crate::sandbox::Profile>,
) -> std::result::Result<Verdict, (&'static str, String)> {
    let file = plan_file(p, &r.id);
    let sha = std::fs::read(&file).ok().map(|b| sha256_hex(&b));
    if sha.as_deref() != Some(r.sha256.as_str()) {
        return Err(("terraform.plan-tampered", format!("the plan file of {} is missing or changed since it was planned", r.id)));
    }
    let show = run_capture(terraform, &["show", "-json", &file.to_string_lossy()], &r.dir, profile)
        .ok()
        .filter(|(code, _)| *code == 0)
        .and_then(|(_, out)| serde_json::from_slice::<Value>(&out).ok())
        .ok_or_else(|| ("terraform.plan-tampered", format!("`terraform show -json` cannot read the plan file of {}", r.id)))?;
    r.changes = changes_from_show(&show);
    r.summary = summarize(&r.changes);
    r.scripts = local_exec_scripts(&show, &r.dir, policy);
    let verdict = judge(&r.changes, r.destroy, &r.workspace, policy);
    r.decision = verdict.decision;
    r.reasons = verdict.reasons.iter().map(|x| (x.rule.clone(), x.message.clone())).collect();
    Ok(verdict)
}

/// The verdict for `apply <plan_id>`: integrity checks (block on any failure), then the plan's
/// own decision. Also returns the record.
pub fn apply_verdict(
    p: &Paths,
    req: &crate::request::Request,
    id: &str,
    policy: &Policy,
    terraform: &Path,
    profile: Option<&crate::sandbox::Profile>,
) -> Result<(Verdict, PlanRecord)> {
    let mut r = load(p, id)?;
    let dir = work_dir(&req.cwd, &req.argv);
    let file_sha = std::fs::read(plan_file(p, id)).ok().map(|b| sha256_hex(&b));
    let ws = workspace(&dir, req.target_env.get("TF_WORKSPACE").map(String::as_str), req.target_env.get("TF_DATA_DIR").map(String::as_str));
    let (lock, config) = (lock_hash(&dir), config_hash(&dir));
    let observed = Observed {
        now: now_millis(),
        used: used_path(p, id).exists(),
        file_sha: file_sha.as_deref(),
        dir: &dir,
        workspace: &ws,
        lock: &lock,
        config: &config,
    };
    let checks = apply_checks(&r, &observed).and_then(|()| match env_differs(&r.env, &req.target_env) {
        Some(names) => {
            Err(("terraform.plan-env", format!("plan {} was made with another environment ({names} differ); plan again in this one", r.id)))
        }
        None => Ok(()),
    });
    let mut v = Verdict::allow();
    // The scripts as planned (the record's word, kept only to compare): a script changed since
    // the plan is a changed configuration, approved or not.
    let planned = r.scripts.clone();
    let scripts_same = |r: &PlanRecord| match planned.iter().find(|(k, h)| r.scripts.get(*k) != Some(*h)) {
        Some((path, _)) => Err((
            "terraform.plan-config",
            format!("the local-exec script {} changed since plan {}; plan again", crate::display::escape(path), r.id),
        )),
        None => Ok(()),
    };
    match checks.and_then(|()| rederive(p, &mut r, policy, terraform, profile)).and_then(|derived| scripts_same(&r).map(|()| derived)) {
        Err((rule, msg)) => v.add(Decision::Block, rule, msg),
        Ok(derived) => v.merge(derived),
    }
    Ok((v, r))
}

/// Marks the plan used before terraform starts, so a crash can never allow a second apply.
pub fn mark_used(p: &Paths, id: &str) -> Result<()> {
    let path = used_path(p, id);
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(_) => crate::state::sync_dir(&plans_dir(p)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Error::Blocked(format!("guard: plan {id} is being applied or was applied already (terraform.plan-used)")))
        }
        Err(e) => Err(Error::io("cannot mark plan used", &path, e)),
    }
}

/// Runs `terraform apply -input=false <planfile>` in the plan's dir, passing output through and
/// watching for terraform's stale-plan error. Returns the exit code and whether it was stale.
/// With `mount_scripts` (containment on), a plan's `local-exec` scripts are the approved copies.
pub fn run_apply(
    authorized: &crate::gate::Authorized<'_>,
    terraform: &Path,
    p: &Paths,
    r: &PlanRecord,
    mount_scripts: bool,
) -> Result<(crate::exec::Outcome, bool)> {
    let args = vec!["apply".to_string(), "-input=false".to_string(), plan_file(p, &r.id).to_string_lossy().into_owned()];
    let stale = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stale.clone();
    let tap = move |line: &[u8]| {
        if String::from_utf8_lossy(line).contains("Saved plan is stale") {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let _ = std::io::stderr().write_all(line);
    };
    let profile = authorized.profile();
    let outcome = if r.scripts.is_empty() || (profile.is_none() && !mount_scripts) {
        crate::exec::run_args_with_stderr(authorized, terraform, &args, Some(&r.dir), tap)?
    } else {
        // The approved bytes of the local-exec scripts: copied (refused if they changed since
        // the checks), then mounted over the scripts in terraform's own mount namespace — its
        // sandbox when it came through the broker, else a user and mount namespace alone.
        let copies = crate::sandbox::copies_dir(p)?;
        let bound: BTreeMap<String, String> = r.scripts.iter().map(|(k, v)| (format!("{}{k}", crate::scripts::KEY), v.clone())).collect();
        let scripts = crate::scripts::snapshot(&bound, copies.path())?;
        let (mut command, _temp) = match profile {
            Some(contained) => crate::sandbox::tool_command(contained, terraform, &args, scripts).map(|(c, t)| (c, Some(t)))?,
            None => (crate::sandbox::mounts_command(terraform, &args, scripts)?, None),
        };
        command.current_dir(&r.dir);
        crate::exec::run_command(command, terraform, Some(Box::new(tap)), None, None)?
    };
    Ok((outcome, stale.load(std::sync::atomic::Ordering::SeqCst)))
}

pub fn record_outcome(p: &Paths, id: &str, outcome: &str, code: u8) -> Result<()> {
    let body = serde_json::to_vec(&json!({"outcome": outcome, "exit_code": code, "ms": now_millis()}))
        .map_err(|e| Error::Internal(e.to_string()))?;
    atomic_write(&outcome_path(p, id), &body)
}

/// A plan's status: pending, approved, applied, failed, stale, applying (unknown), blocked, expired.
pub fn status(p: &Paths, r: &PlanRecord, now: u64) -> String {
    if let Some(v) = std::fs::read(outcome_path(p, &r.id)).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) {
        return v.get("outcome").and_then(Value::as_str).unwrap_or("unknown").to_string();
    }
    if used_path(p, &r.id).exists() {
        return "unknown (apply started, no outcome: guard was killed?)".into();
    }
    if r.decision == Decision::Block {
        return "blocked".into();
    }
    if r.expires_ms <= now {
        return "expired".into();
    }
    if crate::approval::has_approval(p, &r.id) {
        return "approved".into();
    }
    "pending".into()
}

/// `guard terraform plans [--json]`; also removes plan files of expired or finished plans.
pub fn list(p: &Paths, json_out: bool) -> Result<u8> {
    let dir = plans_dir(p);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(0) };
    let mut records: Vec<PlanRecord> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json") && !e.file_name().to_string_lossy().contains(".outcome"))
        .filter_map(|e| std::fs::read(e.path()).ok().and_then(|b| serde_json::from_slice(&b).ok()))
        .collect();
    records.sort_by_key(|r| r.created_ms);
    let now = now_millis();
    for r in &records {
        let st = status(p, r, now);
        // Old plan files go once a plan can no longer be applied; the record stays for history.
        if (r.expires_ms <= now || used_path(p, &r.id).exists()) && plan_file(p, &r.id).exists() {
            let _ = std::fs::remove_file(plan_file(p, &r.id));
        }
        if json_out {
            println!(
                "{}",
                json!({"id": r.id, "status": st, "dir": r.dir, "workspace": r.workspace, "summary": r.summary, "decision": r.decision.as_str(), "created": format_millis(r.created_ms), "expires": format_millis(r.expires_ms)})
            );
        } else {
            let line = format!(
                "{}  {:<9} {}  {}  ({}) expires {}",
                r.id,
                st,
                r.dir.display(),
                r.summary_line(),
                r.workspace,
                format_millis(r.expires_ms)
            );
            // Directory and workspace names are the agent's: printed written out, one line each.
            println!("{}", crate::display::escape(&line));
        }
    }
    Ok(0)
}

/// What `guard approve p-…` shows before the human confirms; `full` adds `terraform show`.
pub fn describe_for_approval(r: &PlanRecord) -> String {
    let mut s = format!(
        "Plan {}\n  dir:       {}\n  workspace: {}\n  terraform: {}\n  sha256:    {}\n  summary:   {}\n",
        r.id,
        r.dir.display(),
        r.workspace,
        r.terraform_version,
        r.sha256,
        r.summary_line()
    );
    for c in &r.changes {
        let why = if c.reason.is_empty() { String::new() } else { format!(" ({})", c.reason) };
        s.push_str(&format!("    {:<8} {}{why}\n", c.action, c.address));
        for what in c.state_rewrites() {
            s.push_str(&format!("             state: {what}\n"));
        }
    }
    for (k, v) in &r.env {
        s.push_str(&format!("  env:       {}\n", crate::redact::redact(&format!("{k}={v}"))));
    }
    for (path, h) in &r.scripts {
        s.push_str(&format!("  local-exec script: {} sha256 {h}\n", crate::display::escape(path)));
    }
    for (rule, msg) in &r.reasons {
        s.push_str(&format!("  rule:      {rule}: {msg}\n"));
    }
    // Everything but guard's own words comes from the agent's configuration and directory.
    crate::display::escape_lines(&s)
}

/// `terraform show` of the stored plan, for the approver who asks for it.
pub fn show_text(p: &Paths, r: &PlanRecord, terraform: &Path) -> String {
    match run_capture(terraform, &["show", "-no-color", &plan_file(p, &r.id).to_string_lossy()], &r.dir, None) {
        Ok((_, out)) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("(cannot run terraform show: {e})"),
    }
}

/// Reads lines from a reader and hands each (with its newline) to `f`.
pub fn for_each_line(r: impl std::io::Read, mut f: impl FnMut(&[u8])) {
    let mut br = std::io::BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match br.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => f(&buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_json_actions_become_changes() {
        let show = json!({"resource_changes": [
            {"address": "a.x", "type": "a", "change": {"actions": ["create"]}},
            {"address": "a.y", "type": "a", "change": {"actions": ["delete", "create"]}, "action_reason": "replace_because_tainted"},
            {"address": "db.main", "type": "aws_db_instance", "change": {"actions": ["delete"]}, "action_reason": "delete_because_no_resource_config"},
            {"address": "a.z", "type": "a", "change": {"actions": ["no-op"]}}
        ]});
        let c = changes_from_show(&show);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(1).map(|c| c.action.as_str()), Some("replace"));
        assert_eq!(c.get(2).map(|c| c.reason.as_str()), Some("delete_because_no_resource_config"));
        let mut policy = crate::policy::builtin().unwrap_or_else(|e| unreachable!("{e}"));
        policy.terraform.protected_types = vec!["aws_db_*".into()];
        let v = judge(&c, false, "default", &policy);
        assert_eq!(v.decision, Decision::Block);
        policy.terraform.protected_types.clear();
        assert_eq!(judge(&c, false, "default", &policy).decision, Decision::Escalate);
        policy.terraform.apply = Decision::Allow;
        assert_eq!(judge(c.get(..1).unwrap_or_default(), false, "default", &policy).decision, Decision::Allow);
        assert_eq!(judge(&c, false, "default", &policy).decision, Decision::Escalate);
    }
}
