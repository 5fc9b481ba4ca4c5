//! guard kubectl against real kubectl and the API stand-in.

use std::process::Command;

use crate::kube_api::KubeApi;
use crate::support::require_tool;

struct K {
    api: KubeApi,
    t: crate::support::Test,
}

impl K {
    fn new(policy: &str) -> Option<K> {
        if !require_tool("kubectl") {
            return None;
        }
        let t = crate::support::Test::new();
        std::fs::write(t.dir.path().join("policy.toml"), policy).unwrap();
        Some(K { api: KubeApi::start(), t })
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.t.guard(args);
        c.env("KUBECONFIG", self.api.kubeconfig()).env("KUBECACHEDIR", self.api.cache_dir());
        c
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut full = vec!["kubectl"];
        full.extend_from_slice(args);
        let out = self.cmd(&full).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.t.work().join(name), text).unwrap();
    }
    /// The worst case of a race between guard's check and kubectl's start: guard runs a
    /// wrapper (policy `[tools] kubectl`) that runs `script` and then the real kubectl.
    fn race_before_kubectl(&self, script: &str) {
        let real = String::from_utf8(Command::new("sh").args(["-c", "command -v kubectl"]).output().unwrap().stdout).unwrap();
        let wrapper = self.t.dir.path().join("kubectl-race");
        std::fs::write(&wrapper, format!("#!/bin/sh\n{script}\nexec '{}' \"$@\"\n", real.trim())).unwrap();
        std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(self.t.dir.path().join("policy.toml"), format!("[tools]\nkubectl = \"{}\"\n", wrapper.display())).unwrap();
    }
    /// Makes the approver key, and approves the request named in `err` through a real pty.
    fn approve(&self, err: &str) -> String {
        if !self.t.state().join("approver.json").exists() {
            crate::support::approver_init(self.cmd(&["approver", "init"]));
        }
        let i = err.find("guard approve r-").unwrap() + "guard approve ".len();
        let id = err[i..i + 34].to_string();
        crate::support::pty(self.cmd(&["approve", &id]), &[("Approver passphrase", crate::support::PASS), ("Type yes", "yes")])
    }
}

#[test]
fn reads_reach_the_server_and_print_kubectls_output() {
    let Some(k) = K::new("") else { return };
    let (code, out, err) = k.run(&["get", "pods"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("web-1"), "{out}{err}");
    // The context's default namespace (staging) was used.
    assert!(k.api.seen().iter().any(|s| s.method == "GET" && s.path.starts_with("/api/v1/namespaces/staging/pods")), "{:?}", k.api.seen());
}

#[test]
fn blocked_and_escalated_commands_never_reach_the_server() {
    let Some(k) = K::new("") else { return };
    for args in
        [&["delete", "ns", "kube-system"][..], &["-n", "kube-system", "delete", "pod", "coredns"], &["delete", "pods", "--all", "-A"]]
    {
        let (code, _, err) = k.run(args);
        assert_eq!(code, 77, "{args:?}: {err}");
    }
    for args in [&["delete", "pod", "web-1"][..], &["exec", "web-1", "--", "sh"], &["get", "secret", "db", "-o", "yaml"], &["frobnicate"]] {
        let (code, _, err) = k.run(args);
        assert_eq!(code, 75, "{args:?}: {err}");
    }
    assert!(k.api.seen().is_empty(), "refused commands reached the API: {:?}", k.api.seen());
}

#[test]
fn every_namespace_spelling_is_honoured() {
    let Some(k) = K::new("") else { return };
    let spellings: [&[&str]; 6] = [
        &["-n", "team-a", "get", "pods"],
        &["get", "pods", "-n", "team-a"],
        &["get", "pods", "-nteam-a"],
        &["--namespace", "team-a", "get", "pods"],
        &["get", "pods", "--namespace=team-a"],
        &["get", "-n=team-a", "pods"],
    ];
    for args in spellings {
        k.api.clear();
        let (code, out, err) = k.run(args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        assert!(k.api.resource_requests().iter().all(|s| s.path.contains("/namespaces/team-a/")), "{args:?}: {:?}", k.api.seen());
        let blocked: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "get" {
                    "delete"
                } else if *a == "pods" {
                    "pod"
                } else {
                    a
                }
            })
            .map(|a| a.replace("team-a", "kube-system"))
            .map(|s| Box::leak(s.into_boxed_str()) as &str)
            .collect();
        let mut b = blocked.clone();
        b.push("web-1");
        assert_eq!(k.run(&b).0, 77, "{b:?}");
    }
}

#[test]
fn manifests_are_read_for_their_namespaces() {
    let Some(k) = K::new("") else { return };
    k.write("sys.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\n  namespace: kube-system\ndata: {a: b}\n");
    let (code, _, err) = k.run(&["apply", "-n", "staging", "-f", "sys.yaml"]);
    assert_eq!(code, 77, "{err}");
    assert!(err.contains("kube-system"), "{err}");
    k.write("multi.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: kube-public}\n");
    assert_eq!(k.run(&["apply", "-f", "multi.yaml"]).0, 77);
    k.write(
        "ns.json",
        r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-node-lease"}}]}"#,
    );
    assert_eq!(k.run(&["apply", "-f", "ns.json"]).0, 77);
    std::fs::create_dir_all(k.t.work().join("dir/sub")).unwrap();
    k.write("dir/a.yaml", "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n");
    k.write("dir/sub/b.yaml", "kind: ConfigMap\napiVersion: v1\nmetadata: {name: b, namespace: kube-system}\n");
    assert_eq!(k.run(&["apply", "-f", "dir"]).0, 75, "without -R the subdir is not read");
    assert_eq!(k.run(&["apply", "-R", "-f", "dir"]).0, 77);
    k.write("broken.yaml", "kind: [unclosed\n");
    assert_eq!(k.run(&["apply", "-f", "broken.yaml"]).0, 75);
    let out = k.cmd(&["explain", "--json", "kubectl", "apply", "-f", "broken.yaml"]).output().unwrap();
    let why = String::from_utf8_lossy(&out.stdout);
    assert!(why.contains("kubectl.opaque-manifest") && why.contains("cannot parse"), "{why}");
    assert!(k.api.seen().is_empty(), "{:?}", k.api.seen());
}

#[test]
fn an_approved_apply_runs_once_and_an_edited_manifest_is_refused() {
    let Some(k) = K::new("") else { return };
    crate::support::approver_init(k.cmd(&["approver", "init"]));
    k.write("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: safe\n");
    let (code, _, err) = k.run(&["apply", "--validate=false", "-f", "m.yaml"]);
    assert_eq!(code, 75, "{err}");
    let i = err.find("guard approve r-").unwrap() + "guard approve ".len();
    let id = err[i..i + 34].to_string();
    crate::support::pty(k.cmd(&["approve", &id]), &[("Approver passphrase", crate::support::PASS), ("Type yes", "yes")]);
    // Edited after approval: the approval does not apply, nothing reaches the server.
    k.write("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: evil\n");
    assert_eq!(k.run(&["apply", "--validate=false", "-f", "m.yaml"]).0, 75);
    // Only reads and the approve screen's `kubectl diff` (a server-side dry run) reached the server.
    assert!(k.api.resource_requests().iter().all(|s| s.method == "GET" || s.path.contains("dryRun=All")), "{:?}", k.api.seen());
    // Restored: the approval applies once, and the server got the inspected bytes.
    k.write("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: safe\n");
    let (code, out, err) = k.run(&["apply", "--validate=false", "-f", "m.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(k.api.seen().iter().filter(|s| s.method == "POST" && !s.path.contains("dryRun")).count(), 1, "{:?}", k.api.seen());
    assert_eq!(k.run(&["apply", "--validate=false", "-f", "m.yaml"]).0, 75, "single use");
}

#[test]
fn production_contexts_can_block_every_mutation() {
    let Some(k) = K::new("[[kubectl.contexts]]\nname = \"prod*\"\nmutations = \"block\"\n") else { return };
    let (code, _, err) = k.run(&["--context", "prod-eu", "scale", "deploy", "web", "--replicas=3"]);
    assert_eq!(code, 77, "{err}");
    assert!(err.contains("kubectl.context"), "{err}");
    assert_eq!(k.run(&["--context", "prod-eu", "get", "pods"]).0, 0);
}

/// sudo-rs style table: testdata/kubectl/cases.tsv (decision, rule, argv).
#[test]
fn every_labelled_kubectl_argv_gets_its_decision_and_rule() {
    let policy = guard::policy::builtin().unwrap();
    let ctx = guard::request::Context::example();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/kubectl/cases.tsv")).unwrap();
    let mut n = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut parts = line.splitn(3, '\t');
        let (d, rule, args) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let argv: Vec<String> = shlex::split(args).unwrap();
        let v = guard::tools::kubectl::classify(&argv, &policy, &ctx);
        n += 1;
        let rule_ok = rule == "-" || v.reasons.iter().any(|r| r.rule == rule);
        if v.decision.as_str() != d || !rule_ok {
            failures.push(format!(
                "{args}: want {d} by {rule}, got {} {:?}",
                v.decision,
                v.reasons.iter().map(|r| &r.rule).collect::<Vec<_>>()
            ));
        }
    }
    assert!(n >= 150, "only {n} cases");
    assert!(failures.is_empty(), "{} of {n} fail:\n{}", failures.len(), failures.join("\n"));
}

/// The flag table guard parses kubectl with (testdata/kubectl/flags.tsv) is what the pinned
/// kubectl says: regenerated from the binary and compared. On a kubectl upgrade, run
/// `python3 testdata/kubectl/gen_flags.py > testdata/kubectl/flags.tsv` and review the diff.
#[test]
fn kubectl_flag_table_matches_the_real_binary() {
    if !require_tool("kubectl") || !require_tool("python3") {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3").arg(format!("{root}/testdata/kubectl/gen_flags.py")).arg("kubectl").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fresh = String::from_utf8_lossy(&out.stdout);
    let kept = std::fs::read_to_string(format!("{root}/testdata/kubectl/flags.tsv")).unwrap();
    let differ: Vec<String> = fresh
        .lines()
        .filter(|l| !kept.lines().any(|k| k == *l))
        .map(|l| format!("+ {l}"))
        .chain(kept.lines().filter(|k| !fresh.lines().any(|l| l == *k)).map(|l| format!("- {l}")))
        .collect();
    assert!(differ.is_empty(), "testdata/kubectl/flags.tsv differs from the real kubectl:\n{}", differ.join("\n"));
    // The rows this issue is about are in it.
    assert!(kept.contains("flag\tdelete\t-\tcascade\tstring\toptional\n"), "--cascade takes an optional value");
    assert!(kept.contains("flag\tget\t-\tshow-kind\tbool\toptional\n"));
}

/// kubectl reads `--cascade` as a flag with an optional value: `delete --cascade ns kube-system`
/// deletes namespace kube-system. It is blocked and never reaches the server.
#[test]
fn kubectl_delete_cascade_ns_kube_system_is_blocked() {
    let Some(k) = K::new("") else { return };
    for args in [
        &["delete", "--cascade", "ns", "kube-system"][..],
        &["delete", "--cascade", "namespace", "staging"],
        &["delete", "--", "ns", "kube-system"],
        &["delete", "--wait", "-n", "kube-system", "pod", "x"],
    ] {
        let (code, _, err) = k.run(args);
        assert_eq!(code, 77, "{args:?}: {err}");
    }
    assert!(k.api.seen().is_empty(), "{:?}", k.api.seen());
}

/// `exec mypod -- sh -c id --context=sandbox`: the `--context` belongs to the container's command;
/// kubectl runs in the current context, so that context's block applies and nothing binds `sandbox`.
#[test]
fn kubectl_exec_context_after_dashdash_is_judged_in_the_current_context() {
    let Some(k) = K::new("[[kubectl.contexts]]\nname = \"dev\"\nmutations = \"block\"\n") else { return };
    let (code, _, err) = k.run(&["exec", "mypod", "--", "sh", "-c", "id", "--context=sandbox"]);
    assert_eq!(code, 77, "{err}");
    assert!(err.contains("kubectl.context") && err.contains("dev"), "{err}");
    let out = k.cmd(&["explain", "--json", "kubectl", "exec", "mypod", "--", "sh", "-c", "id", "--context=sandbox"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"block\""), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(k.api.seen().is_empty(), "{:?}", k.api.seen());
}

/// `apply -Rf DIR` is `-R -f DIR`: the directory is read recursively and kubectl gets the snapshot,
/// so a manifest swapped after approval changes nothing.
#[test]
fn kubectl_apply_rf_dir_swapped_after_approval_applies_the_approved_bytes() {
    let Some(k) = K::new("") else { return };
    crate::support::approver_init(k.cmd(&["approver", "init"]));
    std::fs::create_dir_all(k.t.work().join("d/sub")).unwrap();
    k.write("d/sub/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: safe\n");
    // -R is honoured in the glued form: a kube-system object in the subdirectory blocks.
    k.write("d/sub/sys.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n");
    assert_eq!(k.run(&["apply", "-Rf", "d"]).0, 77);
    std::fs::remove_file(k.t.work().join("d/sub/sys.yaml")).unwrap();
    let (code, _, err) = k.run(&["apply", "--validate=false", "-Rf", "d"]);
    assert_eq!(code, 75, "{err}");
    let i = err.find("guard approve r-").unwrap() + "guard approve ".len();
    let id = err[i..i + 34].to_string();
    crate::support::pty(k.cmd(&["approve", &id]), &[("Approver passphrase", crate::support::PASS), ("Type yes", "yes")]);
    // Swap the file in the window between guard's check and kubectl's read.
    let target = k.t.work().join("d/sub/a.yaml");
    k.race_before_kubectl(&format!(
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: app\\n  namespace: kube-system\\ndata:\\n  mode: evil\\n' > '{}'",
        target.display()
    ));
    let out = k.cmd(&["kubectl", "apply", "--validate=false", "-Rf", "d"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let posts: Vec<_> = k.api.seen().into_iter().filter(|s| s.method == "POST" && !s.path.contains("dryRun")).collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts.iter().all(|s| s.path.contains("/namespaces/staging/")), "the swapped manifest reached the server: {posts:?}");
}

/// The server URL of a stand-in, read from the kubeconfig it wrote.
fn server_of(api: &KubeApi) -> String {
    let cfg = std::fs::read_to_string(api.kubeconfig()).unwrap();
    cfg.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap().to_string()
}

/// Editing the server URL in the agent-owned kubeconfig after approval: before the re-run it is
/// a new request (the server is in the digest); between guard's check and kubectl's read it
/// changes nothing, because kubectl reads guard's snapshot. The "prod" server never sees a request.
#[test]
fn kubectl_server_url_edited_after_approval_never_reaches_the_new_server() {
    let Some(k) = K::new("") else { return };
    let prod = KubeApi::start();
    let (dev_url, prod_url) = (server_of(&k.api), server_of(&prod));
    let cfg = std::fs::read_to_string(k.api.kubeconfig()).unwrap();
    let (code, _, err) = k.run(&["delete", "pod", "web-1", "--wait=false"]);
    assert_eq!(code, 75, "{err}");
    let shown = k.approve(&err);
    assert!(shown.contains(&dev_url), "approve shows the resolved server: {shown}");
    // Edited before the re-run: a new request, nothing runs.
    std::fs::write(k.api.kubeconfig(), cfg.replace(&dev_url, &prod_url)).unwrap();
    assert_eq!(k.run(&["delete", "pod", "web-1", "--wait=false"]).0, 75);
    std::fs::write(k.api.kubeconfig(), &cfg).unwrap();
    // Edited in the window between check and run: kubectl still talks to the approved server.
    k.race_before_kubectl(&format!("sed -i 's#{dev_url}#{prod_url}#' '{}'", k.api.kubeconfig()));
    let (code, out, err) = k.run(&["delete", "pod", "web-1", "--wait=false"]);
    assert!(std::fs::read_to_string(k.api.kubeconfig()).unwrap().contains(&prod_url), "the race ran");
    assert!(prod.seen().is_empty(), "the edited server got requests: {:?}", prod.seen());
    assert!(k.api.seen().iter().any(|s| s.method == "DELETE"), "{code} {out}{err} {:?}", k.api.seen());
}

/// Racing a namespace flip (staging → kube-system) against an approved `staging` delete: kubectl
/// reads the snapshot guard judged, so the delete lands in staging, never in kube-system.
#[test]
fn kubectl_namespace_flip_race_never_turns_an_approval_into_a_kube_system_delete() {
    let Some(k) = K::new("") else { return };
    let (code, _, err) = k.run(&["delete", "pod", "web-1", "--wait=false"]);
    assert_eq!(code, 75, "{err}");
    k.approve(&err);
    k.race_before_kubectl(&format!("sed -i 's/namespace: staging/namespace: kube-system/' '{}'", k.api.kubeconfig()));
    let (code, out, err) = k.run(&["delete", "pod", "web-1", "--wait=false"]);
    let deletes: Vec<_> = k.api.seen().into_iter().filter(|s| s.method == "DELETE").collect();
    assert!(deletes.iter().all(|s| !s.path.contains("kube-system")), "{deletes:?}");
    assert!(deletes.iter().any(|s| s.path.contains("/namespaces/staging/")), "{code} {out}{err} {deletes:?}");
    // After the flip guard sees kube-system itself: blocked.
    assert_eq!(k.run(&["delete", "pod", "web-1", "--wait=false"]).0, 77);
}

/// A kubeconfig guard cannot read exactly as kubectl does (a duplicate `current-context`: which
/// one wins depends on the YAML library) is refused with 77, not escalated, and nothing runs.
#[test]
fn kubectl_duplicate_current_context_kubeconfig_is_refused() {
    let Some(k) = K::new("") else { return };
    let cfg = std::fs::read_to_string(k.api.kubeconfig()).unwrap();
    std::fs::write(k.api.kubeconfig(), format!("current-context: prod-eu\n{cfg}")).unwrap();
    for args in [&["delete", "pod", "web-1", "--wait=false"][..], &["get", "pods"], &["-n", "kube-system", "delete", "pod", "x"]] {
        let (code, _, err) = k.run(args);
        assert_eq!(code, 77, "{args:?}: {err}");
        assert!(err.contains("kubectl.kubeconfig-unreadable"), "{err}");
    }
    assert!(k.api.seen().is_empty(), "{:?}", k.api.seen());
}

/// `get --show-kind secret db -o yaml` (`--show-kind` is a bool: `secret` is the resource) and
/// `get -f secret.yaml -o yaml` (a manifest naming a Secret) print secret data: both need a human,
/// and nothing reaches the server before one approves.
#[test]
fn kubectl_secret_reads_by_show_kind_and_manifest_need_approval() {
    let Some(k) = K::new("") else { return };
    k.write("secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n");
    k.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n");
    for args in [
        &["get", "--show-kind", "secret", "db", "-o", "yaml"][..],
        &["get", "-f", "secret.yaml", "-o", "yaml"],
        &["get", "-f", "cm.yaml,secret.yaml", "-ojson"],
        &["get", "secrets.v1.", "db", "-o", "go-template={{.data}}"],
        &["label", "secret", "db", "a=b", "--dry-run=server", "-o", "yaml"],
    ] {
        let (code, _, err) = k.run(args);
        assert_eq!(code, 75, "{args:?}: {err}");
        assert!(err.contains("kubectl.secret-read"), "{args:?}: {err}");
    }
    assert!(k.api.seen().is_empty(), "{:?}", k.api.seen());
    assert_eq!(
        k.run(&["get", "-f", "cm.yaml", "-o", "yaml"]).0,
        1,
        "a ConfigMap that does not exist: kubectl's own error, no guard refusal"
    );
}

/// Grants a lease through the pty, as a human would.
fn grant_lease(k: &K, args: &[&str]) -> String {
    if !k.t.state().join("approver.json").exists() {
        crate::support::approver_init(k.cmd(&["approver", "init"]));
    }
    let mut full = vec!["lease", "grant"];
    full.extend_from_slice(args);
    crate::support::pty(k.cmd(&full), &[("Approver passphrase", crate::support::PASS), ("Type yes", "yes")])
}

/// A lease for namespace `staging` granted in context dev let `--context prod-eu -n staging`
/// through, and a dev context re-pointed at another cluster too. Leases bind the context and its
/// cluster's server.
#[test]
fn kubectl_lease_for_a_namespace_does_not_cover_another_context_or_cluster() {
    let Some(k) = K::new("") else { return };
    let shown = grant_lease(&k, &["kubectl.mutation", "--namespace", "staging"]);
    assert!(shown.contains("context:   dev") && shown.contains(&server_of(&k.api)), "{shown}");
    let (code, out, err) = k.run(&["delete", "pod", "web-1", "--wait=false"]);
    assert_eq!(code, 0, "the lease covers its own scope: {out}{err}");
    let (code, _, err) = k.run(&["--context", "prod-eu", "-n", "staging", "delete", "pod", "web-1", "--wait=false"]);
    assert_eq!(code, 75, "a lease for dev must not cover prod-eu: {err}");
    let prod = KubeApi::start();
    let cfg = std::fs::read_to_string(k.api.kubeconfig()).unwrap();
    std::fs::write(k.api.kubeconfig(), cfg.replace(&server_of(&k.api), &server_of(&prod))).unwrap();
    let (code, _, err) = k.run(&["delete", "pod", "web-1", "--wait=false"]);
    assert_eq!(code, 75, "a lease for dev's cluster must not cover another server: {err}");
    assert!(prod.seen().is_empty(), "{:?}", prod.seen());
    let list = String::from_utf8_lossy(&k.cmd(&["lease", "list"]).output().unwrap().stdout).into_owned();
    assert!(list.contains("context dev"), "{list}");
}

/// A user list `protected_namespaces = ["payments"]` silently unprotected kube-system: the system
/// namespaces stay protected, the user's list adds, and doctor says so.
#[test]
fn kubectl_user_protected_namespaces_list_does_not_unprotect_kube_system() {
    let Some(k) = K::new("[kubectl]\nprotected_namespaces = [\"payments\"]\n") else { return };
    for ns in ["kube-system", "kube-public", "kube-node-lease", "payments"] {
        let (code, _, err) = k.run(&["-n", ns, "delete", "pod", "x"]);
        assert_eq!(code, 77, "{ns}: {err}");
    }
    assert_eq!(k.run(&["delete", "ns", "payments"]).0, 77);
    let out = k.cmd(&["doctor"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("protected namespaces")).unwrap_or_default();
    assert!(line.contains("kube-system") && line.contains("always") && line.contains("payments"), "{text}");
    assert!(k.api.seen().is_empty(), "{:?}", k.api.seen());
}

/// `guard approve` shows the resolved request: context, cluster server, user, namespace, the
/// manifest's objects and `kubectl diff` from the cluster; a delete's objects in red on a
/// terminal, and without colour when NO_COLOR is set.
#[test]
fn kubectl_approve_shows_the_resolved_request_objects_and_diff() {
    let Some(k) = K::new("") else { return };
    crate::support::approver_init(k.cmd(&["approver", "init"]));
    k.write("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: safe\n");
    let (code, _, err) = k.run(&["apply", "--validate=false", "-f", "m.yaml"]);
    assert_eq!(code, 75, "{err}");
    let id = err[err.find("guard approve r-").unwrap() + 14..].chars().take(34).collect::<String>();
    let shown = crate::support::pty(k.cmd(&["reject", &id]), &[("Approver passphrase", crate::support::PASS), ("Type yes", "no")]);
    for want in [
        "context:   dev",
        &server_of(&k.api),
        "user:      tester",
        "namespace: staging",
        "apply ConfigMap staging/app",
        "kubectl diff:",
        "+  mode: safe",
    ] {
        assert!(shown.contains(want), "approve screen lacks {want:?}:\n{shown}");
    }
    let (code, _, err) = k.run(&["delete", "-f", "m.yaml", "--wait=false"]);
    assert_eq!(code, 75, "{err}");
    let id = err[err.find("guard approve r-").unwrap() + 14..].chars().take(34).collect::<String>();
    let steps = [("Approver passphrase", crate::support::PASS), ("Type yes", "no")];
    let shown = crate::support::pty(k.cmd(&["reject", &id]), &steps);
    assert!(shown.contains("\u{1b}[31mdelete ConfigMap staging/app"), "deletes in red:\n{shown:?}");
    let mut plain = k.cmd(&["reject", &id]);
    plain.env("NO_COLOR", "1");
    let shown = crate::support::pty(plain, &steps);
    assert!(shown.contains("delete ConfigMap staging/app") && !shown.contains("\u{1b}[31m"), "NO_COLOR:\n{shown:?}");
}

/// A kubeconfig user whose credentials come from an `exec` plugin the agent named: the approve
/// screen shows the plugin's command line and runs nothing (no `kubectl diff`) before the human
/// says yes — the canary the plugin would write is never written.
#[test]
fn kubectl_approve_never_runs_a_kubeconfig_exec_plugin_before_approval() {
    let Some(k) = K::new("") else { return };
    crate::support::approver_init(k.cmd(&["approver", "init"]));
    let canary = k.t.dir.path().join("plugin-ran");
    let cfg = std::fs::read_to_string(k.api.kubeconfig()).unwrap().replace(
        "  user:\n    token: test-token\n",
        &format!(
            "  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: [\"-c\", \"touch {}\"]\n      interactiveMode: Never\n",
            canary.display()
        ),
    );
    std::fs::write(k.api.kubeconfig(), cfg).unwrap();
    k.write("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n");
    let (code, _, err) = k.run(&["apply", "-f", "m.yaml"]);
    assert_eq!(code, 75, "{err}");
    let id = err[err.find("guard approve r-").unwrap() + 14..].chars().take(34).collect::<String>();
    let shown = crate::support::pty(k.cmd(&["reject", &id]), &[("Approver passphrase", crate::support::PASS), ("Type yes", "no")]);
    assert!(shown.contains("exec plugin `sh -c touch"), "{shown}");
    assert!(shown.contains("kubectl diff: not shown"), "{shown}");
    assert!(!canary.exists(), "the exec plugin ran before approval");
    assert!(k.api.seen().is_empty(), "{:?}", k.api.seen());
}
