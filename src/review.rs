//! What the human sees at `guard approve r-…`: the resolved request, unredacted (the approver
//! may see what the log must not hold), every agent-supplied string escaped.
//!
//! For kubectl that is the context, the cluster's server, the user and the namespace the command
//! will act in (the values bound into the digest), the objects of its `-f` manifests (kind,
//! namespace, name; deletes in red) and, when the cluster answers, `kubectl diff` against the
//! snapshot kubectl will read. It must show only what the digest binds: a manifest or kubeconfig
//! that changed since the request is reported as changed, never shown as if it were the request.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::approval::RequestFile;
use crate::display::{escape, escape_lines, red};
use crate::policy::{Policy, ToolName};
use crate::rfc3339::format_millis;
use crate::state::Paths;

/// Most lines of `kubectl diff` shown; the rest is counted.
const MAX_DIFF_LINES: usize = 200;
/// How long guard waits for the cluster to answer `kubectl diff`.
const DIFF_DEADLINE: Duration = Duration::from_secs(15);

/// The command as it will run, quoted as a shell would need it, unredacted.
pub fn command_line(r: &RequestFile) -> String {
    let req = crate::request::Request { tool: r.tool, argv: r.argv.clone(), cwd: r.cwd.clone(), target_env: BTreeMap::new() };
    match (r.tool, req.shell_line()) {
        (ToolName::Shell, Some(line)) => line.to_string(),
        _ => {
            let quoted: Vec<String> = r.argv.iter().map(|a| shlex::try_quote(a).map_or_else(|_| a.clone(), |q| q.into_owned())).collect();
            format!("{} {}", if r.tool == ToolName::Shell { "bash" } else { r.tool.as_str() }, quoted.join(" ")).trim_end().to_string()
        }
    }
}

/// Prints the request for the approver.
pub fn show(p: &Paths, policy: &Policy, r: &RequestFile, now: u64) {
    let color = crate::display::color_stdout();
    let kube = r.tool == ToolName::Kubectl;
    let parsed = kube.then(|| crate::tools::kubectl::parse(&r.argv));
    let deletes = parsed.as_ref().is_some_and(|k| k.verb.as_deref() == Some("delete"));
    let command = escape(&command_line(r)).into_owned();
    println!("Request {}", escape(&r.id));
    println!("  tool:      {}", r.tool.as_str());
    println!("  command:   {}", if deletes { red(&command, color) } else { command });
    println!("  argv:      {}", escape(&serde_json::to_string(&r.argv).unwrap_or_default()));
    println!("  cwd:       {}", escape(&r.cwd.to_string_lossy()));
    let env = |k: &str| r.target_env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if let Some(k) = &parsed {
        let namespace = k.namespace.as_deref().or(env("kube.namespace")).unwrap_or("default");
        println!("  context:   {}", escape(env("kube.context").unwrap_or("(none)")));
        println!(
            "  cluster:   {} ({})",
            escape(env("kube.cluster").unwrap_or("(none)")),
            escape(env("kube.server").unwrap_or("no server: kubectl will fail"))
        );
        println!(
            "  user:      {}{}",
            escape(env("kube.user").unwrap_or("(none)")),
            env("kube.auth").map(|a| format!(" ({})", escape(a))).unwrap_or_default()
        );
        println!("  namespace: {}{}", escape(namespace), if k.all_namespaces { " (and every other: -A)" } else { "" });
    }
    for (k, v) in &r.target_env {
        if !k.starts_with("kube.") && !k.starts_with("manifest:") {
            println!("  env:       {}={}", escape(k), escape(v));
        }
    }
    if let Some(k) = &parsed {
        show_manifests(p, policy, r, k, color);
    }
    for (rule, msg) in &r.reasons {
        println!("  rule:      {}: {}", escape(rule), escape(msg));
    }
    println!("  age:       {}s (expires {})", now.saturating_sub(r.created_ms) / 1000, format_millis(r.expires_ms));
}

/// The objects of each `-f` manifest (re-read, and shown only if still the bytes the digest
/// binds), then `kubectl diff` for apply/create/replace.
fn show_manifests(p: &Paths, policy: &Policy, r: &RequestFile, k: &crate::tools::kubectl::Parsed, color: bool) {
    let verb = k.verb.as_deref().unwrap_or("");
    let deletes = verb == "delete";
    let mut snapshots = BTreeMap::new();
    let mut intact = Vec::new();
    for (key, sha) in &r.target_env {
        let Some(arg) = key.strip_prefix("manifest:") else { continue };
        let m = crate::manifests::read(arg, &r.cwd, k.recursive);
        if &m.sha256 != sha || m.error.is_some() {
            println!("  manifest:  {} changed since the request (the agent's re-run needs a new approval)", escape(arg));
            continue;
        }
        println!("  manifest:  {} (sha256 {})", escape(arg), sha.get(..16).unwrap_or(sha));
        for o in &m.objects {
            let ns = o.namespace.as_deref().or(k.namespace.as_deref()).or(r.target_env.get("kube.namespace").map(String::as_str));
            let line = format!(
                "{} {}{}{}",
                if deletes { "delete" } else { verb },
                escape(&o.kind),
                ns.map(|n| format!(" {}/", escape(n))).unwrap_or_else(|| " ".into()),
                escape(&o.name)
            );
            println!("    {}", if deletes { red(&line, color) } else { line });
        }
        if let Ok(snap) = crate::manifests::snapshot(p, &m, arg) {
            snapshots.insert(arg.to_string(), snap);
        }
        intact.push(arg.to_string());
    }
    if matches!(verb, "apply" | "create" | "replace") && !intact.is_empty() {
        match diff(p, policy, r, k, &snapshots) {
            Ok(text) => {
                println!("  kubectl diff:");
                let lines: Vec<&str> = text.lines().collect();
                for l in lines.iter().take(MAX_DIFF_LINES) {
                    let e = escape(l).into_owned();
                    println!("    {}", if l.starts_with('-') && !l.starts_with("---") { red(&e, color) } else { e });
                }
                if lines.len() > MAX_DIFF_LINES {
                    println!("    … {} more lines", lines.len() - MAX_DIFF_LINES);
                }
                if lines.is_empty() {
                    println!("    (no changes)");
                }
            }
            Err(why) => println!("  kubectl diff: not shown ({})", escape(&why)),
        }
    }
}

/// `kubectl diff` of the manifest snapshots, with the kubeconfig the request binds (re-read,
/// and used only if its hash is still the bound one).
fn diff(
    p: &Paths,
    policy: &Policy,
    r: &RequestFile,
    k: &crate::tools::kubectl::Parsed,
    snaps: &BTreeMap<String, std::path::PathBuf>,
) -> Result<String, String> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let files = crate::kubeconfig::files(k.kubeconfig.as_deref(), r.target_env.get("KUBECONFIG").map(String::as_str), home.as_deref());
    let overrides = crate::kubeconfig::Overrides {
        context: k.context.as_deref(),
        cluster: k.cluster.as_deref(),
        user: k.user.as_deref(),
        server: k.server.as_deref(),
        explicit: k.kubeconfig.is_some(),
    };
    let facts = crate::kubeconfig::resolve(&files, &overrides)?;
    if facts.kubeconfig_sha256.as_ref() != r.target_env.get("kube.config") {
        return Err("the kubeconfig changed since the request".into());
    }
    // An exec plugin or auth provider runs a program named in a file the agent may have written;
    // nothing of the request runs before the human says yes.
    if facts.auth.as_deref().is_some_and(|a| a.contains("exec plugin") || a.contains("auth-provider")) {
        return Err("its credentials come from a program the kubeconfig names, and guard runs nothing before you approve".into());
    }
    let bytes = facts.kubeconfig_snapshot.unwrap_or_default();
    let snap = crate::kubeconfig::write_snapshot(p, &bytes).map_err(|e| e.to_string())?;
    let cfg = snap.path.clone();
    let kubectl = crate::exec::real_tool(crate::policy::ToolName::Kubectl, policy).map_err(|e| e.to_string())?;
    let mut args: Vec<String> = vec![format!("--kubeconfig={}", cfg.display()), "--request-timeout=5s".into()];
    if let Some(c) = &facts.context {
        args.push(format!("--context={c}"));
    }
    args.push("diff".into());
    if let Some(n) = &k.namespace {
        args.push(format!("--namespace={n}"));
    }
    if k.recursive {
        args.push("-R".into());
    }
    for f in &k.files {
        if let Some(s) = snaps.get(f) {
            args.push(format!("--filename={}", s.display()));
        }
    }
    let result = run_with_deadline(&kubectl, &args, &r.cwd);
    drop(snap);
    result
}

/// Runs kubectl (no external diff program: `KUBECTL_EXTERNAL_DIFF` is the agent's to set) and
/// gives up after [`DIFF_DEADLINE`].
fn run_with_deadline(kubectl: &Path, args: &[String], cwd: &Path) -> Result<String, String> {
    let handle = duct::cmd(kubectl, args)
        .dir(cwd)
        .env_remove("KUBECTL_EXTERNAL_DIFF")
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .start()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    let started = Instant::now();
    loop {
        match handle.try_wait() {
            Ok(Some(out)) => {
                let code = out.status.code().unwrap_or(2);
                return if code <= 1 {
                    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
                } else {
                    let err = String::from_utf8_lossy(&out.stderr);
                    Err(format!("the cluster did not answer: {}", err.lines().last().unwrap_or("kubectl diff failed")))
                };
            }
            Ok(None) if started.elapsed() < DIFF_DEADLINE => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = handle.kill();
                return Err(format!("no answer within {}s", DIFF_DEADLINE.as_secs()));
            }
            Err(e) => return Err(format!("kubectl diff: {e}")),
        }
    }
}

/// Multi-line text guard composed from agent data (a plan summary), escaped for the terminal.
pub fn print_block(text: &str) {
    println!("{}", escape_lines(text));
}
