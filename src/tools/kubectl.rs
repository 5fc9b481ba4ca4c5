//! kubectl's argv → what it touches → verdict. Pure given the kube facts in the context.
//!
//! Global flags are recognised anywhere (`-n x`, `-nx`, `--namespace=x`, before or after the
//! verb); resources are normalised (`po` → `pods`, `deployments.apps` → `deployments`). Reads
//! pass; mutations, exec-like verbs and secret reads escalate; anything touching a protected
//! namespace or destroying cluster-wide is blocked; whatever guard cannot see is escalated.

use crate::decision::{Decision, Verdict};
use crate::policy::Policy;
use crate::request::Context;

/// Flags (global or per-command) that take a value as the next argument.
#[rustfmt::skip]
const VALUE_FLAGS: &[&str] = &[
    "-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s", "--server", "--token", "--as", "--as-group",
    "--as-uid", "--certificate-authority", "--client-certificate", "--client-key", "--request-timeout", "--tls-server-name",
    "--cache-dir", "--profile", "--profile-output", "--log-flush-frequency", "--password", "--username", "-v", "--v", "--vmodule",
    "-o", "--output", "-l", "--selector", "-f", "--filename", "-k", "--kustomize", "-c", "--container", "--field-selector",
    "--sort-by", "--template", "-p", "--patch", "--type", "--replicas", "--image", "--for", "--timeout", "--grace-period",
    "--cascade", "-L", "--label-columns", "--chunk-size", "--since", "--since-time", "--tail", "--subresource", "--raw",
    "--from-literal", "--from-file", "--from-env-file", "--overrides", "--env", "-e", "--limits", "--requests", "--revision",
    "--to-revision", "--min", "--max", "--cpu-percent", "--port", "--target-port", "--protocol", "--name", "--labels",
    "--field-manager", "--dry-run", "--output-watch-events", "--pod-running-timeout", "--address", "--api-group",
    "--resource-version", "--local-ssd-count", "--restart", "--serviceaccount", "--schedule", "--docker-server",
    "--docker-username", "--docker-password", "--docker-email", "--cert", "--key", "--class", "--rule", "--default-backend",
    "--annotation", "--verb", "--resource", "--resource-name", "--role", "--clusterrole", "--group", "--serviceaccount",
    "--prune-allowlist", "--selector", "--show-kind", "--current-replicas", "--resource-version", "--target", "--profile",
    "--copy-to", "--share-processes", "--image-pull-policy", "--attach", "--stdin", "--tty", "--max-log-requests", "--prefix",
    "--pod-selector", "--container-port", "--hostport", "--external-ip", "--load-balancer-ip", "--session-affinity",
    "--cluster-ip", "--generator", "--context", "-P", "--kubeconfig",
];

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

/// Normalises a resource type: short names, singulars and API groups (`deployments.apps`).
pub fn normalize_kind(t: &str) -> String {
    let lower = t.to_ascii_lowercase();
    let base = lower.split('.').next().unwrap_or(&lower);
    SHORT_NAMES.iter().find(|(s, _)| *s == base).map_or_else(|| base.to_string(), |(_, full)| (*full).to_string())
}

/// What an invocation touches, as far as its argv says.
#[derive(Debug, Default)]
pub struct Parsed {
    pub verb: Option<String>,
    pub sub: Option<String>,
    /// Positional arguments after the verb (and sub-verb).
    pub positionals: Vec<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub context: Option<String>,
    pub files: Vec<String>,
    pub kustomize: bool,
    pub recursive: bool,
    pub output: Option<String>,
    pub template: bool,
    pub raw: Option<String>,
    pub all: bool,
    pub dry_run: Option<String>,
    pub target_override: Vec<String>,
    pub impersonate: bool,
    pub unknown_flags: Vec<String>,
    /// Arguments after `--` (container command for exec/run/debug).
    pub after_dashdash: Vec<String>,
}

#[rustfmt::skip]
const BOOL_FLAGS: &[&str] = &[
    "-A", "--all-namespaces", "--all", "-R", "--recursive", "-w", "--watch", "--watch-only", "-i", "-t", "--stdin", "--tty", "-q",
    "--quiet", "-it", "-ti", "--force", "--now", "--wait", "--ignore-not-found", "--ignore-daemonsets", "--delete-emptydir-data",
    "--delete-local-data", "--disable-eviction", "--overwrite", "--local", "--record", "--save-config", "--validate",
    "--server-side", "--force-conflicts", "--prune", "--show-labels", "--show-managed-fields", "--no-headers", "--show-events",
    "--previous", "--timestamps", "--follow", "--insecure-skip-tls-verify", "--match-server-version", "--warnings-as-errors",
    "--disable-compression", "--rm", "--keep-annotations", "--all-containers", "--ignore-errors", "--raw-output",
    "--openapi-patch", "--expose", "--privileged", "--minify", "--flatten", "--include-uninitialized", "--containers",
    "--use-protocol-buffers", "--sort-by-cpu", "--no-preserve", "--append-hash", "--list", "--dry-run", "--current",
    "--allow-missing-template-keys", "--as-current-user", "--leave-stdin-open", "--client", "--short", "--exit-code",
];

pub fn parse(argv: &[String]) -> Parsed {
    let mut p = Parsed::default();
    let mut i = 0;
    let mut positionals = Vec::new();
    while let Some(a) = argv.get(i) {
        i += 1;
        if a == "--" {
            p.after_dashdash = argv.get(i..).unwrap_or_default().to_vec();
            break;
        }
        if !a.starts_with('-') || a == "-" {
            positionals.push(a.clone());
            continue;
        }
        // Split `--flag=value`; short flags glue their value (`-nvalue`, `-n=value`,
        // `-ojsonpath={.a=b}`), so a short flag splits after its letter, not at `=`.
        let (name, inline): (String, Option<String>) = if a.starts_with("--") {
            match a.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            }
        } else if BOOL_FLAGS.contains(&a.as_str()) {
            (a.clone(), None)
        } else {
            match (a.get(..2), a.get(2..).filter(|v| !v.is_empty())) {
                (Some(n), Some(v)) if VALUE_FLAGS.contains(&n) => (n.to_string(), Some(v.strip_prefix('=').unwrap_or(v).to_string())),
                _ => match a.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (a.clone(), None),
                },
            }
        };
        let takes_value = VALUE_FLAGS.contains(&name.as_str());
        let is_bool = BOOL_FLAGS.contains(&name.as_str());
        // `-f` is a value flag (filename) except for `logs -f` (follow).
        let logs = positionals.first().is_some_and(|v| v == "logs" || v == "log");
        let value = if (takes_value && !(logs && name == "-f")) && inline.is_none() && !(is_bool && name == "--dry-run") {
            let v = argv.get(i).cloned();
            i += 1;
            v
        } else {
            inline
        };
        match name.as_str() {
            "-n" | "--namespace" => p.namespace = value,
            "-A" | "--all-namespaces" => p.all_namespaces = value.as_deref() != Some("false"),
            "--context" => p.context = value,
            "-f" | "--filename" if !logs => {
                if let Some(v) = value {
                    p.files.push(v);
                }
            }
            "-k" | "--kustomize" => p.kustomize = true,
            "-R" | "--recursive" => p.recursive = true,
            "-o" | "--output" => p.output = value,
            "--template" => p.template = true,
            "--raw" => p.raw = value.or(Some(String::new())),
            "--all" => p.all = value.as_deref() != Some("false"),
            "--dry-run" => p.dry_run = Some(value.unwrap_or_else(|| "client".into())),
            "-s"
            | "--server"
            | "--kubeconfig"
            | "--token"
            | "--cluster"
            | "--user"
            | "--certificate-authority"
            | "--client-certificate"
            | "--client-key"
            | "--insecure-skip-tls-verify"
            | "--username"
            | "--password"
            | "--tls-server-name" => {
                p.target_override.push(name.clone());
            }
            "--as" | "--as-group" | "--as-uid" => p.impersonate = true,
            _ if takes_value || is_bool => {}
            _ => p.unknown_flags.push(name.clone()),
        }
    }
    let mut it = positionals.into_iter();
    p.verb = it.next();
    if matches!(
        p.verb.as_deref(),
        Some("rollout" | "config" | "auth" | "certificate" | "set" | "create" | "top" | "plugin" | "alpha" | "apply")
    ) {
        let rest: Vec<String> = it.collect();
        let sub_is_word =
            matches!(p.verb.as_deref(), Some("rollout" | "config" | "auth" | "certificate" | "set" | "top" | "plugin" | "alpha"))
                || (p.verb.as_deref() == Some("apply") && rest.first().is_some_and(|s| s.ends_with("-last-applied")))
                || (p.verb.as_deref() == Some("create") && rest.first().is_some_and(|s| !s.contains('/')));
        if sub_is_word {
            let mut r = rest.into_iter();
            p.sub = r.next();
            p.positionals = r.collect();
        } else {
            p.positionals = rest;
        }
    } else {
        p.positionals = it.collect();
    }
    p
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
    let p = parse(argv);
    let mut v = Verdict::allow();
    let protected = &policy.kubectl.protected_namespaces;
    let Some(verb) = p.verb.as_deref() else {
        if argv.iter().any(|a| matches!(a.as_str(), "--help" | "-h" | "--version")) || argv.is_empty() {
            return v;
        }
        return Verdict::single(Decision::Escalate, "kubectl.unknown-verb", "kubectl without a command guard understands");
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
    let known =
        mutating || exec_like || READ_VERBS.contains(&verb) || matches!(verb, "config" | "rollout" | "auth" | "plugin" | "certificate");
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
    if verb == "config"
        && p.sub.as_deref() == Some("view")
        && argv.iter().any(|a| a == "--raw" || a == "--raw=true" || a.starts_with("--flatten"))
    {
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

    // Secret values.
    if matches!(verb, "get") && kinds.iter().any(|k| k == "secrets") {
        let shows_data = p.template || p.output.as_deref().is_some_and(|o| !matches!(o, "name" | "wide") && !o.is_empty());
        if shows_data {
            v.add(
                Decision::Escalate,
                "kubectl.secret-read",
                format!("`get secret -o {}` shows secret values", p.output.as_deref().unwrap_or("template")),
            );
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
