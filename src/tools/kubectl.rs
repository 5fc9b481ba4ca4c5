//! kubectl's argv → what it touches → verdict. Pure given the kube facts in the context.
//!
//! Global flags are recognised anywhere (`-n x`, `-nx`, `--namespace=x`, before or after the
//! verb); resources are normalised (`po` → `pods`, `deployments.apps` → `deployments`). Reads
//! pass; mutations, exec-like verbs and secret reads escalate; anything touching a protected
//! namespace or destroying cluster-wide is blocked; whatever guard cannot see is escalated.

use crate::decision::{Decision, Verdict};
use crate::policy::Policy;
use crate::request::Context;

#[rustfmt::skip]
const SHORT_NAMES: &[(&str, &str)] = &[
    ("po", "pods"), ("pod", "pods"), ("svc", "services"), ("service", "services"), ("deploy", "deployments"),
    ("deployment", "deployments"), ("ns", "namespaces"), ("namespace", "namespaces"), ("no", "nodes"), ("node", "nodes"),
    ("cm", "configmaps"), ("configmap", "configmaps"), ("pvc", "persistentvolumeclaims"),
    ("persistentvolumeclaim", "persistentvolumeclaims"), ("pv", "persistentvolumes"), ("persistentvolume", "persistentvolumes"),
    ("crd", "customresourcedefinitions"), ("crds", "customresourcedefinitions"),
    ("customresourcedefinition", "customresourcedefinitions"), ("sa", "serviceaccounts"), ("serviceaccount", "serviceaccounts"),
    ("ds", "daemonsets"), ("daemonset", "daemonsets"), ("sts", "statefulsets"), ("statefulset", "statefulsets"),
    ("rs", "replicasets"), ("replicaset", "replicasets"), ("rc", "replicationcontrollers"), ("ing", "ingresses"),
    ("ingress", "ingresses"), ("netpol", "networkpolicies"), ("cj", "cronjobs"), ("cronjob", "cronjobs"), ("job", "jobs"),
    ("ep", "endpoints"), ("hpa", "horizontalpodautoscalers"), ("pdb", "poddisruptionbudgets"), ("sc", "storageclasses"),
    ("storageclass", "storageclasses"), ("clusterrole", "clusterroles"), ("clusterrolebinding", "clusterrolebindings"),
    ("role", "roles"), ("rolebinding", "rolebindings"), ("secret", "secrets"), ("ev", "events"), ("event", "events"),
    ("limits", "limitranges"), ("quota", "resourcequotas"), ("csr", "certificatesigningrequests"), ("pc", "priorityclasses"),
    ("priorityclass", "priorityclasses"), ("apiservice", "apiservices"), ("ingressclass", "ingressclasses"),
    ("mutatingwebhookconfiguration", "mutatingwebhookconfigurations"),
    ("validatingwebhookconfiguration", "validatingwebhookconfigurations"), ("va", "volumeattachments"), ("lease", "leases"),
    ("endpointslice", "endpointslices"),
];

/// Kinds that are not namespaced.
#[rustfmt::skip]
const CLUSTER_SCOPED: &[&str] = &[
    "namespaces", "nodes", "persistentvolumes", "customresourcedefinitions", "clusterroles", "clusterrolebindings",
    "storageclasses", "priorityclasses", "certificatesigningrequests", "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations", "apiservices", "ingressclasses", "runtimeclasses", "volumeattachments", "csidrivers",
    "csinodes", "podsecuritypolicies",
];

/// Cluster-scoped kinds whose deletion is cluster-wide destruction.
#[rustfmt::skip]
const CLUSTER_DESTROY: &[&str] = &[
    "namespaces", "nodes", "persistentvolumes", "customresourcedefinitions", "clusterroles", "clusterrolebindings",
    "storageclasses", "validatingwebhookconfigurations", "mutatingwebhookconfigurations", "apiservices", "priorityclasses",
];

#[rustfmt::skip]
const READ_VERBS: &[&str] = &[
    "get", "describe", "logs", "log", "top", "explain", "api-resources", "api-versions", "version", "cluster-info", "events",
    "diff", "wait", "completion", "help", "options", "kustomize",
];
#[rustfmt::skip]
const MUTATE_VERBS: &[&str] = &[
    "apply", "create", "replace", "delete", "patch", "edit", "label", "annotate", "scale", "autoscale", "rollout", "set",
    "expose", "run", "taint", "cordon", "uncordon", "drain", "certificate",
];
const EXEC_VERBS: &[&str] = &["exec", "attach", "cp", "port-forward", "proxy", "debug"];

/// The namespaces Kubernetes itself runs in: protected whatever a user's policy lists (a user's
/// `protected_namespaces` adds to these, it never removes them).
pub const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// The protected namespaces in force: the system ones and the policy's.
pub fn protected_namespaces(policy: &Policy) -> Vec<String> {
    let mut out: Vec<String> = SYSTEM_NAMESPACES.iter().map(|s| (*s).to_string()).collect();
    for n in &policy.kubectl.protected_namespaces {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// Normalises a resource type: short names, singulars and API groups (`deployments.apps`).
pub fn normalize_kind(t: &str) -> String {
    let lower = t.to_ascii_lowercase();
    let base = lower.split('.').next().unwrap_or(&lower);
    SHORT_NAMES.iter().find(|(s, _)| *s == base).map_or_else(|| base.to_string(), |(_, full)| (*full).to_string())
}

/// kubectl's command tree and flags, generated from the real binary by
/// `testdata/kubectl/gen_flags.py` (and checked against it by an integration test).
const FLAG_TABLE: &str = include_str!("../../testdata/kubectl/flags.tsv");

/// One flag as pflag knows it.
#[derive(Debug, Clone)]
struct FlagSpec {
    long: String,
    short: Option<char>,
    /// pflag's NoOptDefVal is set (every bool, and `--cascade`, `--dry-run`, `--validate`): the
    /// flag takes a value only after `=`, never the next word.
    optional_value: bool,
    bool_type: bool,
}

#[derive(Debug, Default)]
struct CommandSpec {
    /// Child command names and aliases → canonical child name.
    children: Vec<(String, String)>,
    flags: Vec<FlagSpec>,
}

#[derive(Debug, Default)]
struct Table {
    global: Vec<FlagSpec>,
    /// Keyed by the space-separated command path (`""` is kubectl itself).
    commands: std::collections::BTreeMap<String, CommandSpec>,
}

static TABLE: std::sync::LazyLock<Table> = std::sync::LazyLock::new(|| load_table(FLAG_TABLE));

/// Reads the generated table. A malformed row is skipped: its flag is then unknown, and unknown
/// flags escalate, so a damaged table fails closed.
fn load_table(text: &str) -> Table {
    let mut t = Table::default();
    t.commands.entry(String::new()).or_default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        match cols.as_slice() {
            ["cmd", path, aliases] => {
                t.commands.entry((*path).to_string()).or_default();
                let (parent, name) = path.rsplit_once(' ').unwrap_or(("", path));
                let entry = t.commands.entry(parent.to_string()).or_default();
                entry.children.push(((*name).to_string(), (*name).to_string()));
                for a in aliases.split(',').filter(|a| *a != "-" && *a != name) {
                    entry.children.push((a.to_string(), (*name).to_string()));
                }
            }
            ["flag", path, short, long, typ, value] => {
                let spec = FlagSpec {
                    long: (*long).to_string(),
                    short: short.chars().next().filter(|_| *short != "-" && short.len() == 1),
                    optional_value: *value == "optional",
                    bool_type: *typ == "bool",
                };
                if *path == "*" {
                    t.global.push(spec);
                } else {
                    t.commands.entry((*path).to_string()).or_default().flags.push(spec);
                }
            }
            _ => {}
        }
    }
    t
}

/// The flags valid for one command: its own, kubectl's global ones, and cobra's `-h/--help`.
struct FlagSet<'a> {
    local: &'a [FlagSpec],
    global: &'a [FlagSpec],
}

static HELP: std::sync::LazyLock<FlagSpec> =
    std::sync::LazyLock::new(|| FlagSpec { long: "help".into(), short: Some('h'), optional_value: true, bool_type: true });

impl FlagSet<'_> {
    fn long(&self, name: &str) -> Option<&FlagSpec> {
        // kubectl normalises `_` to `-` in flag names (`--all_namespaces`).
        let name = name.replace('_', "-");
        self.local.iter().chain(self.global).chain(std::iter::once(&*HELP)).find(|f| f.long == name)
    }
    fn short(&self, c: char) -> Option<&FlagSpec> {
        self.local.iter().chain(self.global).chain(std::iter::once(&*HELP)).find(|f| f.short == Some(c))
    }
}

fn flag_set<'a>(t: &'a Table, path: &str) -> FlagSet<'a> {
    FlagSet { local: t.commands.get(path).map_or(&[], |c| c.flags.as_slice()), global: &t.global }
}

/// Where a flag's value sits in argv: token index and byte offset in that token.
pub type Spot = (usize, usize);

/// What an invocation touches, parsed as kubectl (cobra and pflag) parses it.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The command path's first word (`delete`), or the unknown word kubectl would treat as a plugin.
    pub verb: Option<String>,
    /// The command path's second word (`rollout restart` → `restart`).
    pub sub: Option<String>,
    /// The full command path (`create secret generic`), canonical names (aliases resolved).
    pub path: Vec<String>,
    /// Arguments of the command (after the command path), those after `--` included.
    pub positionals: Vec<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub context: Option<String>,
    pub kubeconfig: Option<String>,
    /// Where each `--kubeconfig` value sits (guard points them at its snapshot).
    pub kubeconfig_spots: Vec<Spot>,
    /// `--cluster`, `--user`, `--server` as kubectl reads them (the last one given wins).
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub files: Vec<String>,
    /// Where each `-f` value sits (one token may hold several files, comma-separated).
    pub file_spots: Vec<Spot>,
    pub kustomize: bool,
    pub recursive: bool,
    pub output: Option<String>,
    pub template: bool,
    pub show_kind: bool,
    pub raw: Option<String>,
    /// `config view --raw` (a bool there): print credentials.
    pub config_raw: bool,
    pub all: bool,
    pub dry_run: Option<String>,
    pub help: bool,
    pub target_override: Vec<String>,
    pub impersonate: bool,
    pub unknown_flags: Vec<String>,
    /// Where each unknown flag sits: its token, and whether it could take the next word as its
    /// value (no `=` value of its own).
    pub unknown_at: Vec<(usize, bool)>,
    /// Why kubectl would refuse this argv before doing anything (bad flag syntax, missing value).
    pub errors: Vec<String>,
    /// Arguments after `--` (container command for exec/run/debug).
    pub after_dashdash: Vec<String>,
}

/// Go's `strconv.ParseBool`, which pflag uses for bool flags.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// cobra's command lookup: the first word that is not a flag or a flag's value, at each level.
fn command_path(t: &Table, argv: &[String]) -> (Vec<String>, Vec<usize>, Option<String>) {
    let mut path: Vec<String> = Vec::new();
    let mut used: Vec<usize> = Vec::new();
    loop {
        let key = path.join(" ");
        let flags = flag_set(t, &key);
        let mut i = 0;
        let mut word = None;
        while let Some(s) = argv.get(i) {
            if used.contains(&i) {
                i += 1;
                continue;
            }
            if s == "--" {
                break;
            }
            let long_takes_next = s.starts_with("--") && !s.contains('=') && !flags.long(&s[2..]).is_some_and(|f| f.optional_value);
            let short_takes_next = !s.starts_with("--")
                && s.starts_with('-')
                && s.chars().count() == 2
                && !s.chars().nth(1).and_then(|c| flags.short(c)).is_some_and(|f| f.optional_value);
            if long_takes_next || short_takes_next {
                i += 2;
                continue;
            }
            if !s.starts_with('-') && !s.is_empty() {
                word = Some(i);
                break;
            }
            i += 1;
        }
        let Some(wi) = word else { return (path, used, None) };
        let w = argv.get(wi).cloned().unwrap_or_default();
        let child = t.commands.get(&key).and_then(|c| c.children.iter().find(|(n, _)| *n == w)).map(|(_, canon)| canon.clone());
        match child {
            Some(c) => {
                path.push(c);
                used.push(wi);
            }
            // At the top, an unknown word is a plugin name (`kubectl foo` runs `kubectl-foo`).
            None if path.is_empty() => return (path, used, Some(w)),
            None => return (path, used, None),
        }
    }
}

/// pflag's StringSlice value: comma-separated (CSV); quoted fields are refused rather than guessed.
fn split_list(v: &str) -> Result<Vec<(usize, String)>, String> {
    if v.contains('"') {
        return Err(format!("-f {v}: quoted file lists are not parsed by guard"));
    }
    if v.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut at = 0;
    for part in v.split(',') {
        out.push((at, part.to_string()));
        at += part.len() + 1;
    }
    Ok(out)
}

pub fn parse(argv: &[String]) -> Parsed {
    let t = &*TABLE;
    let mut p = Parsed::default();
    let (path, used, plugin) = command_path(t, argv);
    let key = path.join(" ");
    let flags = flag_set(t, &key);
    p.verb = path.first().cloned().or(plugin);
    p.sub = path.get(1).cloned();
    p.path = path;
    let mut i = 0;
    // (canonical long name, value, where the value sits)
    let mut seen: Vec<(String, Option<String>, Option<Spot>)> = Vec::new();
    while let Some(a) = argv.get(i) {
        let at = i;
        i += 1;
        if used.contains(&at) {
            continue;
        }
        if a == "--" {
            p.after_dashdash = argv.get(i..).unwrap_or_default().to_vec();
            p.positionals.extend(p.after_dashdash.iter().cloned());
            break;
        }
        if !a.starts_with('-') || a.len() == 1 {
            p.positionals.push(a.clone());
            continue;
        }
        if let Some(body) = a.strip_prefix("--") {
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                p.errors.push(format!("bad flag syntax: {a}"));
                continue;
            }
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some((v.to_string(), (at, 2 + n.len() + 1)))),
                None => (body, None),
            };
            let Some(spec) = flags.long(name) else {
                p.unknown_flags.push(format!("--{name}"));
                p.unknown_at.push((at, inline.is_none()));
                continue;
            };
            let value = match inline {
                Some((v, spot)) => Some((v, Some(spot))),
                None if spec.optional_value => None,
                None => match argv.get(i) {
                    Some(v) => {
                        i += 1;
                        Some((v.clone(), Some((at + 1, 0))))
                    }
                    None => {
                        p.errors.push(format!("flag needs an argument: --{name}"));
                        continue;
                    }
                },
            };
            let (v, spot) = value.map_or((None, None), |(v, s)| (Some(v), s));
            seen.push((spec.long.clone(), v, spot));
            continue;
        }
        // Short flags: pflag reads `-abc` letter by letter; a letter that takes a value takes the
        // rest of the word (`-Rfdir`, `-n=x`) or, at the end of the word, the next word.
        let mut offset = 1;
        let letters: Vec<char> = a.chars().skip(1).collect();
        let mut k = 0;
        while let Some(&c) = letters.get(k) {
            let rest_at = offset + c.len_utf8();
            let Some(spec) = flags.short(c) else {
                p.unknown_flags.push(format!("-{c}"));
                p.unknown_at.push((at, k + 1 == letters.len()));
                break;
            };
            let rest = a.get(rest_at..).unwrap_or("");
            if let Some(v) = rest.strip_prefix('=').filter(|_| rest.len() > 1) {
                seen.push((spec.long.clone(), Some(v.to_string()), Some((at, rest_at + 1))));
                break;
            }
            if spec.optional_value {
                seen.push((spec.long.clone(), None, None));
                offset = rest_at;
                k += 1;
                continue;
            }
            if !rest.is_empty() {
                seen.push((spec.long.clone(), Some(rest.to_string()), Some((at, rest_at))));
                break;
            }
            match argv.get(i) {
                Some(v) => {
                    seen.push((spec.long.clone(), Some(v.clone()), Some((i, 0))));
                    i += 1;
                }
                None => p.errors.push(format!("flag needs an argument: -{c}")),
            }
            break;
        }
    }
    for (name, value, spot) in seen {
        let spec = flags.long(&name);
        let on = match (&value, spec.is_some_and(|s| s.bool_type)) {
            (None, _) => true,
            (Some(v), true) => match parse_bool(v) {
                Some(b) => b,
                None => {
                    p.errors.push(format!("invalid argument {v:?} for --{name}"));
                    continue;
                }
            },
            (Some(_), false) => true,
        };
        match name.as_str() {
            "namespace" => p.namespace = value,
            "all-namespaces" => p.all_namespaces = on,
            "context" => p.context = value,
            "kubeconfig" => {
                p.kubeconfig = value;
                p.kubeconfig_spots.extend(spot);
                p.target_override.push("--kubeconfig".into());
            }
            "cluster" | "user" | "server" => {
                match name.as_str() {
                    "cluster" => p.cluster = value,
                    "user" => p.user = value,
                    _ => p.server = value,
                }
                p.target_override.push(format!("--{name}"));
            }
            "filename" => match split_list(value.as_deref().unwrap_or("")) {
                Ok(list) => {
                    for (off, f) in list {
                        p.files.push(f);
                        p.file_spots.push(spot.map_or((usize::MAX, 0), |(ti, o)| (ti, o + off)));
                    }
                }
                Err(e) => p.errors.push(e),
            },
            "kustomize" => p.kustomize = true,
            "recursive" => p.recursive = on,
            "output" => p.output = value,
            "template" => p.template = true,
            "show-kind" => p.show_kind = on,
            "raw" if spec.is_some_and(|s| s.bool_type) => p.config_raw = on,
            "raw" => p.raw = value.or(Some(String::new())),
            "all" => p.all = on,
            "dry-run" => p.dry_run = Some(value.unwrap_or_else(|| "client".into())),
            "help" => p.help = on,
            "token" | "certificate-authority" | "client-certificate" | "client-key" | "username" | "password" | "tls-server-name" => {
                p.target_override.push(format!("--{name}"))
            }
            "insecure-skip-tls-verify" if on => p.target_override.push(format!("--{name}")),
            "as" | "as-group" | "as-uid" => p.impersonate = true,
            _ => {}
        }
    }
    p
}

/// The one namespace a kubectl invocation acts in, for lease scopes: `-n`, else the context's;
/// none when it reaches further (`-A`, or a manifest object in another namespace), so a
/// namespace-scoped lease never covers it.
pub fn lease_namespace(argv: &[String], ctx: &Context) -> Option<String> {
    let p = parse(argv);
    if p.all_namespaces {
        return None;
    }
    let ns = p.namespace.clone().unwrap_or_else(|| ctx.kube.namespace.clone());
    let elsewhere = p
        .files
        .iter()
        .filter_map(|f| ctx.kube.manifests.get(f))
        .flat_map(|m| &m.objects)
        .any(|o| o.namespace.as_ref().is_some_and(|n| *n != ns) || CLUSTER_SCOPED.contains(&normalize_kind(&o.kind).as_str()));
    (!elsewhere).then_some(ns)
}

/// Resource kinds named by positionals: `pods x`, `pod/x`, `po,svc`.
pub fn kinds(positionals: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(first) = positionals.first() {
        if first.contains('/') {
            for p in positionals {
                if let Some((k, _)) = p.split_once('/') {
                    out.push(normalize_kind(k));
                }
            }
        } else {
            for k in first.split(',') {
                out.push(normalize_kind(k));
            }
        }
    }
    out
}

/// Names given after the kind (`pods a b`) or in `kind/name` form.
fn names(positionals: &[String]) -> Vec<String> {
    match positionals.first() {
        Some(f) if f.contains('/') => positionals.iter().filter_map(|p| p.split_once('/').map(|(_, n)| n.to_string())).collect(),
        Some(_) => positionals.get(1..).unwrap_or_default().to_vec(),
        None => Vec::new(),
    }
}

pub fn classify(argv: &[String], policy: &Policy, ctx: &Context) -> Verdict {
    let mut v = classify_parsed(argv, parse(argv), policy, ctx);
    // A flag guard does not know may be one kubectl hides from its help: the words after it mean
    // one thing if it is a bool and another if it takes a value. Both readings are judged and the
    // stricter wins, so `delete --hidden-bool ns kube-system` is blocked, not escalated.
    let p = parse(argv);
    if !p.unknown_at.is_empty() {
        for takes_value in [false, true] {
            let mut drop = std::collections::BTreeSet::new();
            for &(at, may_take) in &p.unknown_at {
                drop.insert(at);
                if takes_value && may_take {
                    drop.insert(at + 1);
                }
            }
            let alt: Vec<String> = argv.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, a)| a.clone()).collect();
            let reading = parse(&alt);
            if reading.unknown_at.is_empty() {
                v.merge(classify_parsed(&alt, reading, policy, ctx));
            }
        }
    }
    v
}

fn classify_parsed(argv: &[String], p: Parsed, policy: &Policy, ctx: &Context) -> Verdict {
    let mut v = Verdict::allow();
    let protected = &protected_namespaces(policy);
    if !p.errors.is_empty() {
        v.add(
            Decision::Escalate,
            "kubectl.bad-flags",
            format!("kubectl would refuse these arguments ({}); guard does not guess", p.errors.join("; ")),
        );
    }
    if let Some(e) = &ctx.kube.error {
        v.add(
            Decision::Block,
            "kubectl.kubeconfig-unreadable",
            format!("{e}; guard refuses what it cannot read exactly as kubectl does (fix the kubeconfig)"),
        );
    }
    let Some(verb) = p.verb.as_deref() else {
        if p.help || argv.is_empty() {
            return v;
        }
        v.add(Decision::Escalate, "kubectl.unknown-verb", "kubectl without a command guard understands");
        return v;
    };
    let dry_run = p.dry_run.as_deref().is_some_and(|d| d == "client" || d == "server");
    let namespace = p.namespace.clone().unwrap_or_else(|| ctx.kube.namespace.clone());
    let kinds = kinds(&p.positionals);

    if !p.target_override.is_empty() {
        v.add(
            Decision::Escalate,
            "kubectl.target-override",
            format!("{} points kubectl at a target guard does not see", p.target_override.join(", ")),
        );
    }
    if p.impersonate {
        v.add(Decision::Escalate, "kubectl.impersonate", "--as/--as-group acts as another identity");
    }
    if !p.unknown_flags.is_empty() {
        v.add(Decision::Escalate, "kubectl.unknown-flag", format!("kubectl flag(s) guard does not know: {}", p.unknown_flags.join(" ")));
    }

    let mutating = match verb {
        "config" => !matches!(p.sub.as_deref(), Some("view" | "get-contexts" | "current-context" | "get-clusters" | "get-users")),
        "rollout" => !matches!(p.sub.as_deref(), Some("status" | "history")),
        "certificate" => true,
        "apply" if p.sub.as_deref() == Some("view-last-applied") => false,
        v if MUTATE_VERBS.contains(&v) => true,
        _ => false,
    };
    let exec_like = EXEC_VERBS.contains(&verb);
    let known = mutating
        || exec_like
        || READ_VERBS.contains(&verb)
        || matches!(verb, "config" | "rollout" | "auth" | "plugin" | "certificate" | "apply");
    if !known {
        v.add(
            Decision::Escalate,
            "kubectl.unknown-verb",
            format!("`kubectl {verb}` is not a command guard knows (plugins can run anything)"),
        );
        return v;
    }
    if verb == "plugin" && p.sub.as_deref() != Some("list") {
        v.add(Decision::Escalate, "kubectl.unknown-verb", "kubectl plugin subcommands run plugins");
    }
    // `--flatten` skips kubectl's redaction as `--raw` does (it inlines and prints every credential).
    if verb == "config" && p.sub.as_deref() == Some("view") && (p.config_raw || argv.iter().any(|a| a.starts_with("--flatten"))) {
        v.add(Decision::Escalate, "kubectl.secret-read", "`config view --raw`/`--flatten` prints credentials");
    }
    if verb == "auth" && !matches!(p.sub.as_deref(), Some("can-i" | "whoami")) {
        v.add(Decision::Escalate, "kubectl.mutation", "`kubectl auth reconcile` changes RBAC");
    }
    if let Some(path) = &p.raw {
        if mutating || matches!(verb, "create" | "replace" | "delete" | "patch") {
            v.add(Decision::Block, "kubectl.raw-mutation", format!("--raw {path} sends a request guard cannot inspect"));
        } else {
            v.add(Decision::Escalate, "kubectl.raw", format!("--raw {path} reads an API path guard does not check"));
        }
    }
    if verb == "kustomize" {
        return v;
    }

    // Opaque inputs: stdin, URLs, kustomize dirs.
    for f in &p.files {
        if f == "-" {
            v.add(Decision::Escalate, "kubectl.opaque-manifest", "-f - reads a manifest from stdin that guard cannot see");
        } else if f.contains("://") {
            v.add(Decision::Escalate, "kubectl.opaque-manifest", format!("-f {f} fetches a manifest guard cannot see"));
        }
    }
    if p.kustomize {
        v.add(Decision::Escalate, "kubectl.opaque-manifest", "-k renders a kustomization guard does not inspect");
    }

    let effective_mutation = (mutating || exec_like) && !dry_run;
    if mutating && !dry_run {
        v.add(
            Decision::Escalate,
            "kubectl.mutation",
            format!("`kubectl {verb}{}` changes the cluster", p.sub.as_deref().map(|s| format!(" {s}")).unwrap_or_default()),
        );
    }
    if exec_like {
        v.add(Decision::Escalate, "kubectl.exec", format!("`kubectl {verb}` runs commands in or opens connections to the cluster"));
    }

    // Secret values: any command that prints objects (`get`, `wait`, `apply view-last-applied`,
    // dry-run mutations with `-o`) of kind Secret, named directly, through `all`, or in a manifest.
    let shows_data = p.template || p.output.as_deref().is_some_and(|o| !matches!(o, "name" | "wide" | ""));
    let local_create = verb == "create" && p.sub.as_deref() == Some("secret");
    if shows_data && !local_create {
        let named = kinds.iter().find(|k| *k == "secrets" || *k == "all");
        let in_manifest = p
            .files
            .iter()
            .find(|f| ctx.kube.manifests.get(*f).is_some_and(|m| m.objects.iter().any(|o| normalize_kind(&o.kind) == "secrets")));
        let how = p.output.as_deref().map_or_else(|| "--template".to_string(), |o| format!("-o {o}"));
        if let Some(k) = named {
            v.add(Decision::Escalate, "kubectl.secret-read", format!("`{verb} {k} {how}` shows secret values"));
        } else if let Some(f) = in_manifest {
            v.add(Decision::Escalate, "kubectl.secret-read", format!("`{verb} -f {f} {how}`: {f} names a Secret; this shows its values"));
        }
    }

    // Manifests named by -f: every object's kind and namespace, as kubectl would resolve them.
    for f in &p.files {
        if f == "-" || f.contains("://") {
            continue;
        }
        match ctx.kube.manifests.get(f) {
            None if effective_mutation => v.add(
                Decision::Escalate,
                "kubectl.opaque-manifest",
                format!("-f {f} was not inspected (guard reads manifests for `guard kubectl`, not inside shell lines)"),
            ),
            None => {}
            Some(m) => {
                if let Some(e) = &m.error {
                    v.add(Decision::Escalate, "kubectl.opaque-manifest", format!("-f {f}: {e}"));
                    continue;
                }
                if !effective_mutation {
                    continue;
                }
                for o in &m.objects {
                    let kind = normalize_kind(&o.kind);
                    if CLUSTER_SCOPED.contains(&kind.as_str()) {
                        if kind == "namespaces" && protected.contains(&o.name) {
                            v.add(Decision::Block, "kubectl.protected-namespace", format!("{f} holds the protected namespace {}", o.name));
                        } else if verb == "delete" && CLUSTER_DESTROY.contains(&kind.as_str()) {
                            v.add(
                                Decision::Block,
                                "kubectl.cluster-destroy",
                                format!("{f}: deleting {} {} is cluster-wide destruction", o.kind, o.name),
                            );
                        } else {
                            v.add(
                                Decision::Escalate,
                                "kubectl.cluster-scoped",
                                format!("{f} changes the cluster-scoped {} {}", o.kind, o.name),
                            );
                        }
                        continue;
                    }
                    if let (Some(flag), Some(own)) = (&p.namespace, &o.namespace)
                        && flag != own
                    {
                        v.add(
                            Decision::Block,
                            "kubectl.namespace-mismatch",
                            format!("{f}: {} {} is in namespace {own} but -n says {flag} (kubectl refuses this too)", o.kind, o.name),
                        );
                    }
                    let ns = o.namespace.clone().unwrap_or_else(|| namespace.clone());
                    if protected.contains(&ns) {
                        v.add(
                            Decision::Block,
                            "kubectl.protected-namespace",
                            format!("{f}: {} {} is in the protected namespace {ns}", o.kind, o.name),
                        );
                    }
                }
            }
        }
    }
    // Per-context overrides (`[[kubectl.contexts]]`).
    let context = p.context.clone().or_else(|| ctx.kube.context.clone()).unwrap_or_default();
    if effective_mutation && let Some(rule) = policy.kubectl.contexts.iter().find(|c| crate::policy::glob(&c.name, &context)) {
        v.add(rule.mutations, "kubectl.context", format!("`kubectl {verb}` in context {context} (policy: {})", rule.name));
    }

    if !effective_mutation {
        return v;
    }

    // Cluster-wide destruction.
    if verb == "delete" {
        for k in &kinds {
            if k == "namespaces" {
                v.add(Decision::Block, "kubectl.delete-namespace", "deleting a namespace deletes everything in it");
            } else if CLUSTER_DESTROY.contains(&k.as_str()) {
                v.add(Decision::Block, "kubectl.cluster-destroy", format!("deleting {k} is cluster-wide destruction"));
            }
        }
        if p.all && (p.all_namespaces || kinds.iter().any(|k| k == "all")) {
            v.add(Decision::Block, "kubectl.cluster-destroy", "`delete --all` across namespaces or of every kind");
        }
    }
    if p.all_namespaces && effective_mutation {
        v.add(Decision::Block, "kubectl.cluster-destroy", format!("`kubectl {verb} -A` changes every namespace, protected ones included"));
    }
    // Protected namespaces: the namespace the command acts in, or a namespace object by name.
    let namespaced = kinds.is_empty() || kinds.iter().any(|k| !CLUSTER_SCOPED.contains(&k.as_str()));
    if namespaced && protected.contains(&namespace) {
        v.add(Decision::Block, "kubectl.protected-namespace", format!("`kubectl {verb}` in the protected namespace {namespace}"));
    }
    if kinds.iter().any(|k| k == "namespaces") {
        for n in names(&p.positionals) {
            if protected.contains(&n) {
                v.add(Decision::Block, "kubectl.protected-namespace", format!("`kubectl {verb}` of the protected namespace {n}"));
            }
        }
    }
    if verb == "create" && matches!(p.sub.as_deref(), Some("namespace" | "ns")) {
        for n in &p.positionals {
            if protected.contains(n) {
                v.add(Decision::Block, "kubectl.protected-namespace", format!("creating the protected namespace {n}"));
            }
        }
    }
    v
}
