//! The rule catalogue: one entry per rule id guard can emit — default decision, integrity flag,
//! one-line summary, and inputs that must (`match`) and must not (`not_match`) produce it.
//!
//! Owns the data (`policies/rules.toml` for the rules written as code, plus the built-in data
//! rules of `policies/default.toml`, which carry their own examples), its rendering
//! (`guard policy rules`, `--json`, the README's rule table) and the check that every entry's
//! examples hold. It is the single list of ids a policy may name: an id it does not hold in
//! `[shell] disabled_rules` is a policy error. It must never classify anything itself: examples
//! go through the same classifiers every front end uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::decision::{Decision, Verdict};
use crate::error::{Error, Result};
use crate::policy::{self, Policy};
use crate::request::Context;

/// The catalogue of the rules written as code, compiled in.
pub const RULES_TOML: &str = include_str!("../policies/rules.toml");

/// Where a rule's examples are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// A bash line through the shell classifier.
    Shell,
    /// kubectl argv (shell-quoted in the example) through the kubectl classifier.
    Kubectl,
    /// terraform argv (shell-quoted) through the terraform classifier.
    Terraform,
    /// A plan's changes through the plan verdict (`plans::judge`): `ACTION:TYPE.NAME` items,
    /// optionally `-destroy` and `workspace=NAME`.
    Plan,
    /// `apply <plan_id>`'s integrity checks (`plans::apply_checks`): the one fact that differs
    /// from the plan record (`used`, `expired`, `file-missing`, `file-changed`, `dir`,
    /// `workspace`, `lockfile`, `config`, `blocked`), or `intact`.
    Apply,
    /// A `guard shell --network -c LINE` request through the one decision (`judge`), contained.
    Network,
    /// `guard shell --write DIR -c true` through the one decision (`judge`), contained: the
    /// example is the directory, in the example home `/home/user` with the project
    /// `/home/user/project`.
    Write,
    /// `kubectl …` or `terraform …` asked through the broker by a line whose writable tree is
    /// the example project (`sandbox::broker_reach`).
    Broker,
    /// kubectl argv with the kubeconfig unreadable as kubectl reads it (`broken ARGS`) or
    /// readable (`intact ARGS`).
    Kubeconfig,
    /// An MCP tool call another server offers (the hook's `mcp__server__tool`):
    /// `SERVER TOOL {JSON arguments}` through `tools::mcp::classify`.
    Mcp,
}

/// One example: an input, optionally with the decision it must get that rule at (else the
/// entry's) and whether it runs contained (else the entry's `contained`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Example {
    Input(String),
    Detailed {
        input: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision: Option<Decision>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contained: Option<bool>,
    },
}

impl Example {
    pub fn input(&self) -> &str {
        match self {
            Example::Input(s) | Example::Detailed { input: s, .. } => s,
        }
    }
}

/// An entry as written in `policies/rules.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    id: String,
    /// Absent for the data rules of default.toml, whose decision and message are their own.
    decision: Option<Decision>,
    #[serde(default)]
    integrity: bool,
    summary: Option<String>,
    /// The policy key that changes the decision, when one does.
    set_by: Option<String>,
    check: Option<Check>,
    #[serde(default)]
    contained: bool,
    /// A policy snippet merged over the built-in one for this entry's examples.
    policy: Option<String>,
    /// Manifest texts by `-f` name, for kubectl examples.
    #[serde(default)]
    manifests: BTreeMap<String, String>,
    #[serde(default, rename = "match")]
    matches: Vec<Example>,
    #[serde(default)]
    not_match: Vec<Example>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    rule: Vec<EntryFile>,
}

/// Whether a rule is written as code or as a data rule of the built-in policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Code,
    Data,
}

/// One rule of the catalogue.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub id: String,
    pub decision: Decision,
    /// Integrity rules keep guard honest about what it cannot see; no policy turns them off.
    pub integrity: bool,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_by: Option<String>,
    pub source: Source,
    pub check: Check,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub contained: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub manifests: BTreeMap<String, String>,
    #[serde(rename = "match")]
    pub matches: Vec<Example>,
    pub not_match: Vec<Example>,
}

impl Entry {
    /// Whether `[shell] disabled_rules` can turn this rule off.
    pub fn disableable(&self) -> bool {
        self.id.starts_with("shell.") && !self.integrity
    }
}

fn check_for(id: &str) -> Option<Check> {
    match id.split('.').next() {
        Some("shell") => Some(Check::Shell),
        Some("kubectl") => Some(Check::Kubectl),
        Some("terraform") => Some(Check::Terraform),
        Some("mcp") => Some(Check::Mcp),
        _ => None,
    }
}

/// The whole catalogue, sorted by id: the code rules of rules.toml and the built-in data rules.
pub fn entries() -> Result<Vec<Entry>> {
    let bad = |msg: String| Error::Config(format!("guard: rule catalogue policies/rules.toml: {msg}"));
    let file: CatalogueFile = toml::from_str(RULES_TOML).map_err(|e| bad(e.message().trim().replace('\n', " ")))?;
    let builtin = policy::builtin()?;
    let mut out: BTreeMap<String, Entry> = BTreeMap::new();
    for r in &builtin.shell.builtin_rules {
        // A data rule's examples are lines with the decision the whole line gets: those at the
        // rule's own decision must produce it, allowed ones must not.
        let matches = r.examples.iter().filter(|e| e.decision == r.decision).map(|e| Example::Input(e.line.clone())).collect();
        let not_match = r.examples.iter().filter(|e| e.decision == Decision::Allow).map(|e| Example::Input(e.line.clone())).collect();
        out.insert(
            r.id.clone(),
            Entry {
                id: r.id.clone(),
                decision: r.decision,
                integrity: false,
                summary: r.message.clone(),
                set_by: None,
                source: Source::Data,
                check: Check::Shell,
                contained: false,
                policy: None,
                manifests: BTreeMap::new(),
                matches,
                not_match,
            },
        );
    }
    for f in file.rule {
        if let Some(data) = out.get_mut(&f.id).filter(|e| e.source == Source::Data) {
            // Extra examples for a data rule; its decision and message stay default.toml's.
            if f.decision.is_some() || f.summary.is_some() || f.integrity || f.set_by.is_some() || f.check.is_some() {
                return Err(bad(format!(
                    "{} is a data rule of policies/default.toml: its decision and summary come from there (give only examples here)",
                    f.id
                )));
            }
            data.contained |= f.contained;
            data.policy = f.policy;
            data.matches.extend(f.matches);
            data.not_match.extend(f.not_match);
            continue;
        }
        let (Some(decision), Some(summary)) = (f.decision, f.summary) else {
            return Err(bad(format!("{} needs a decision and a summary", f.id)));
        };
        let Some(check) = f.check.or_else(|| check_for(&f.id)) else {
            return Err(bad(format!("{} needs `check` (its id names no classifier)", f.id)));
        };
        if out.contains_key(&f.id) {
            return Err(bad(format!("{} is listed twice", f.id)));
        }
        out.insert(
            f.id.clone(),
            Entry {
                id: f.id,
                decision,
                integrity: f.integrity,
                summary,
                set_by: f.set_by,
                source: Source::Code,
                check,
                contained: f.contained,
                policy: f.policy,
                manifests: f.manifests,
                matches: f.matches,
                not_match: f.not_match,
            },
        );
    }
    Ok(out.into_values().collect())
}

/// The JSON twin of rules.toml (build.rs), for the ids a policy load checks: reading only the
/// ids from it keeps a policy with `disabled_rules` as fast to load as one without.
const RULES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/rules.json"));

#[derive(Deserialize)]
struct IdsFile {
    rule: Vec<IdOnly>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
    #[serde(default)]
    integrity: bool,
}

/// What `[shell] disabled_rules` may not name, and why; `None` when the id may be turned off.
/// `data_rules` are the built-in policy's data rules (all of them can be turned off).
pub fn why_not_disableable(id: &str, data_rules: &[crate::policy::Rule]) -> Result<Option<String>> {
    if data_rules.iter().any(|r| r.id == id) {
        return Ok(None);
    }
    let ids: IdsFile = serde_json::from_str(RULES_JSON)
        .or_else(|_| toml::from_str(RULES_TOML))
        .map_err(|e| Error::Config(format!("guard: rule catalogue policies/rules.toml: {e}")))?;
    Ok(match ids.rule.iter().find(|e| e.id == id) {
        None => Some(format!("{id:?} is not a rule guard has (`guard policy rules` lists them)")),
        Some(e) if e.integrity => Some(format!("{id} cannot be disabled: guard never allows what it cannot analyse")),
        Some(_) if !id.starts_with("shell.") => {
            Some(format!("{id} is not a shell rule: only shell.* rules can be turned off here (change [kubectl]/[terraform] instead)"))
        }
        Some(_) => None,
    })
}

fn summary_text(e: &Entry) -> String {
    match &e.set_by {
        Some(k) => format!("{} (policy: {k})", e.summary),
        None => e.summary.clone(),
    }
}

/// An example as a user would type it: the tool's name before kubectl and terraform argv, the
/// plan or apply situation in words.
pub fn display(e: &Entry, x: &Example) -> String {
    let input = x.input();
    match e.check {
        Check::Shell => input.to_string(),
        Check::Kubectl => format!("kubectl {input}"),
        Check::Terraform => format!("terraform {input}"),
        Check::Plan => format!("terraform plan that would {}", input.replace(':', " ")),
        Check::Apply => format!("terraform apply p-… ({input})"),
        Check::Network => format!("guard shell --network -c '{input}'"),
        Check::Write => format!("guard shell --write {input} -c …"),
        Check::Broker => format!("{input} (through the broker)"),
        Check::Kubeconfig => format!("kubectl {input} (kubeconfig as named)"),
        Check::Mcp => format!("MCP call {input}"),
    }
}

/// `guard policy rules`: a table for humans; `off` marks rules the effective policy turns off.
pub fn human_table(entries: &[Entry], disabled: &BTreeSet<String>) -> String {
    let w = entries.iter().map(|e| e.id.len()).max().unwrap_or(0);
    let mut s = String::new();
    s.push_str(&format!("{:<w$}  {:<8}  {:<13}  summary\n", "rule", "decision", "flags"));
    for e in entries {
        let mut flags = Vec::new();
        if e.integrity {
            flags.push("integrity");
        }
        if disabled.contains(&e.id) {
            flags.push("off");
        }
        s.push_str(&format!("{:<w$}  {:<8}  {:<13}  {}\n", e.id, e.decision.as_str(), flags.join(","), summary_text(e)));
    }
    s
}

/// `guard policy rules --json`: one JSON document.
pub fn json(entries: &[Entry], disabled: &BTreeSet<String>) -> Value {
    let rules: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("disabled".into(), Value::Bool(disabled.contains(&e.id)));
            }
            v
        })
        .collect();
    json!({ "rules": rules })
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn md_code(s: &str) -> String {
    // A backtick inside a code span needs a longer fence; `|` is escaped for the table.
    let fence = if s.contains('`') { "``" } else { "`" };
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    md_escape(&format!("{fence}{pad}{s}{pad}{fence}"))
}

/// The README's rule table (between `<!-- rules:begin -->` and `<!-- rules:end -->`).
pub fn markdown_table(entries: &[Entry]) -> String {
    let mut s = String::from("| rule | decision | summary | e.g. |\n|---|---|---|---|\n");
    for e in entries {
        let id = if e.integrity { format!("`{}` (integrity)", e.id) } else { format!("`{}`", e.id) };
        let example = e.matches.first().map(|x| md_code(&display(e, x))).unwrap_or_default();
        let summary = match &e.set_by {
            Some(k) => format!("{} (policy: {})", md_escape(&e.summary), md_code(k)),
            None => md_escape(&e.summary),
        };
        s.push_str(&format!("| {id} | {} | {summary} | {example} |\n", e.decision));
    }
    s
}

// ---- checking the examples ----

fn split_args(input: &str) -> std::result::Result<Vec<String>, String> {
    shlex::split(input).ok_or_else(|| format!("`{input}` is not shell-quoted argv"))
}

fn has(v: &Verdict, id: &str, d: Decision) -> bool {
    v.reasons.iter().any(|r| r.rule == id && r.decision.unwrap_or(v.decision) == d)
}

fn produces_any(v: &Verdict, id: &str) -> bool {
    v.reasons.iter().any(|r| r.rule == id)
}

fn shown(v: &Verdict) -> String {
    let r: Vec<String> = v.reasons.iter().map(|r| format!("{} [{}]", r.rule, r.decision.unwrap_or(v.decision))).collect();
    format!("{} ({})", v.decision, if r.is_empty() { "no reasons".into() } else { r.join(", ") })
}

/// The verdict for one example input of `entry`.
fn verdict(entry: &Entry, input: &str, contained: bool, policy: &Policy) -> std::result::Result<Verdict, String> {
    let mut ctx = if contained { Context::example_contained() } else { Context::example() };
    for (name, text) in &entry.manifests {
        let m = match crate::manifests::objects(text.as_bytes()) {
            Ok(objects) => crate::manifests::Manifest { objects, ..Default::default() },
            Err(e) => crate::manifests::Manifest { error: Some(e), ..Default::default() },
        };
        ctx.kube.manifests.insert(name.clone(), m);
    }
    Ok(match entry.check {
        Check::Shell => crate::tools::shell::classify_line(input, policy, &ctx),
        Check::Kubectl => crate::tools::kubectl::classify(&split_args(input)?, policy, &ctx),
        Check::Terraform => crate::tools::terraform::classify(&split_args(input)?, policy, &ctx),
        Check::Plan => plan_verdict(input, policy)?,
        Check::Apply => apply_verdict(input)?,
        Check::Network => widened_verdict(&crate::sandbox::Widening { network: true, write: Vec::new() }, input, policy, &ctx),
        Check::Write => {
            let widen = crate::sandbox::Widening { network: false, write: vec![PathBuf::from(input)] };
            widened_verdict(&widen, "true", policy, &ctx)
        }
        Check::Broker => broker_verdict(input, &ctx)?,
        Check::Mcp => {
            let mut words = input.splitn(3, ' ');
            let (server, tool) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
            let args = match words.next() {
                Some(json) => serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json)
                    .map_err(|e| format!("MCP example {input:?}: the arguments are not a JSON object: {e}"))?,
                None => serde_json::Map::new(),
            };
            crate::tools::mcp::classify(server, tool, &args, policy)
        }
        Check::Kubeconfig => {
            let (state, args) = input.split_once(' ').unwrap_or((input, ""));
            if state == "broken" {
                ctx.kube.error = Some("the kubeconfig has a duplicate key current-context".into());
            }
            crate::tools::kubectl::classify(&split_args(args)?, policy, &ctx)
        }
    })
}

fn broker_verdict(input: &str, ctx: &Context) -> std::result::Result<Verdict, String> {
    let argv = split_args(input)?;
    let (tool, rest) = match argv.split_first() {
        Some((t, rest)) if t == "kubectl" => (crate::policy::ToolName::Kubectl, rest),
        Some((t, rest)) if t == "terraform" => (crate::policy::ToolName::Terraform, rest),
        _ => return Err(format!("broker example {input:?} names neither kubectl nor terraform")),
    };
    let cap = crate::sandbox::Profile { write: vec![ctx.cwd.clone()], ..Default::default() };
    let mut v = Verdict::allow();
    for why in crate::sandbox::broker_reach(tool, rest, &ctx.cwd, &cap) {
        v.add(Decision::Escalate, "sandbox.broker-reach", why);
    }
    Ok(v)
}

fn plan_verdict(input: &str, policy: &Policy) -> std::result::Result<Verdict, String> {
    let (mut changes, mut destroy, mut workspace) = (Vec::new(), false, "default".to_string());
    for item in input.split_whitespace() {
        if item == "-destroy" {
            destroy = true;
        } else if let Some(w) = item.strip_prefix("workspace=") {
            workspace = w.to_string();
        } else {
            let (action, address) = item.split_once(':').ok_or_else(|| format!("plan item {item:?} is not ACTION:TYPE.NAME"))?;
            let kind = address.split('.').next().unwrap_or_default().to_string();
            changes.push(crate::plans::Change {
                address: address.into(),
                kind,
                action: action.into(),
                reason: String::new(),
                moved_from: String::new(),
                importing: false,
            });
        }
    }
    Ok(crate::plans::judge(&changes, destroy, &workspace, policy))
}

fn apply_verdict(input: &str) -> std::result::Result<Verdict, String> {
    let record = crate::plans::PlanRecord {
        id: "p-0123456789abcdef".into(),
        sha256: "a".repeat(64),
        dir: PathBuf::from("/home/user/project/infra"),
        workspace: "default".into(),
        terraform_version: "1.11.0".into(),
        lock_hash: "l".into(),
        config_hash: "c".into(),
        created_ms: 1_000,
        expires_ms: 2_000,
        destroy: false,
        changes: Vec::new(),
        summary: BTreeMap::new(),
        env: BTreeMap::new(),
        scripts: BTreeMap::new(),
        decision: if input == "blocked" { Decision::Block } else { Decision::Escalate },
        reasons: Vec::new(),
    };
    let other_sha = "b".repeat(64);
    let other_dir = PathBuf::from("/home/user/project/other");
    let mut o = crate::plans::Observed {
        now: 1_500,
        used: false,
        file_sha: Some(&record.sha256),
        dir: &record.dir,
        workspace: "default",
        lock: "l",
        config: "c",
    };
    match input {
        "intact" | "blocked" => {}
        "used" => o.used = true,
        "expired" => o.now = 2_000,
        "file-missing" => o.file_sha = None,
        "file-changed" => o.file_sha = Some(&other_sha),
        "dir" => o.dir = &other_dir,
        "workspace" => o.workspace = "prod",
        "lockfile" => o.lock = "l2",
        "config" => o.config = "c2",
        "env" => {}
        other => return Err(format!("apply example {other:?} names no plan fact")),
    }
    let mut v = Verdict::allow();
    if let Err((rule, msg)) = crate::plans::apply_checks(&record, &o) {
        v.add(Decision::Block, rule, msg);
    }
    let now_env = if input == "env" { BTreeMap::from([("TF_WORKSPACE".to_string(), "prod".to_string())]) } else { record.env.clone() };
    if let Some(names) = crate::plans::env_differs(&record.env, &now_env) {
        v.add(Decision::Block, "terraform.plan-env", format!("made with another environment ({names})"));
    }
    Ok(v)
}

fn widened_verdict(widen: &crate::sandbox::Widening, line: &str, policy: &Policy, ctx: &Context) -> Verdict {
    let facts = crate::sandbox::Facts {
        cwd: ctx.cwd.clone(),
        home: ctx.home.clone(),
        git_top: None,
        guarded: ctx.guarded.clone(),
        state: PathBuf::from("/home/user/.local/state/guard"),
        path_dirs: vec![PathBuf::from("/usr/bin"), PathBuf::from("/bin")],
        uid: 1000,
        base: Default::default(),
    };
    let request = crate::request::Request {
        tool: crate::policy::ToolName::Shell,
        argv: vec!["-c".into(), line.into()],
        cwd: ctx.cwd.clone(),
        target_env: BTreeMap::new(),
    };
    let mut enforcing = policy.clone();
    enforcing.sandbox.mode = crate::policy::SandboxMode::Enforce;
    crate::judge(&request, &enforcing, ctx, Some(&facts), widen).0
}

/// Checks every example of `entry`; returns one line per failure (empty when all hold).
pub fn check(entry: &Entry, builtin: &Policy) -> Vec<String> {
    let mut failures = Vec::new();
    let owned;
    let policy = match &entry.policy {
        None => builtin,
        Some(text) => match policy::builtin_with(text) {
            Ok(p) => {
                owned = p;
                &owned
            }
            Err(e) => return vec![format!("{}: its example policy is invalid: {e}", entry.id)],
        },
    };
    if entry.matches.is_empty() {
        failures.push(format!("{}: no `match` example", entry.id));
    }
    for ex in &entry.matches {
        let (want, contained) = match ex {
            Example::Input(_) => (entry.decision, entry.contained),
            Example::Detailed { decision, contained, .. } => (decision.unwrap_or(entry.decision), contained.unwrap_or(entry.contained)),
        };
        match verdict(entry, ex.input(), contained, policy) {
            Err(e) => failures.push(format!("{}: {e}", entry.id)),
            Ok(v) if !has(&v, &entry.id, want) => failures.push(format!(
                "{}: match `{}`{} should produce it at {want} but is {}",
                entry.id,
                ex.input(),
                if contained { " (contained)" } else { "" },
                shown(&v)
            )),
            Ok(_) => {}
        }
    }
    for ex in &entry.not_match {
        let contained = match ex {
            Example::Input(_) => entry.contained,
            Example::Detailed { contained, .. } => contained.unwrap_or(entry.contained),
        };
        match verdict(entry, ex.input(), contained, policy) {
            Err(e) => failures.push(format!("{}: {e}", entry.id)),
            Ok(v) if produces_any(&v, &entry.id) => failures.push(format!(
                "{}: not_match `{}`{} produces it: {}",
                entry.id,
                ex.input(),
                if contained { " (contained)" } else { "" },
                shown(&v)
            )),
            Ok(_) => {}
        }
    }
    failures
}
