//! guard: one pipeline for every guarded invocation.
//!
//! ```text
//! argv ─► Request ─► classify (per tool, pure) ─► audit (decision) ─► gate ─► exec ─► audit (outcome)
//! ```
//!
//! `run` is that pipeline and nothing else; [`gate::gate`] is the one place where "may this run?"
//! is answered, and [`exec::run`] only accepts the [`gate::Authorized`] value the gate returns.
// Seven calls need `unsafe`, all in the sandbox: clone(2), unshare(2) and fork(2), made by
// single-threaded processes only (guard, the exec'd helper, the line's init:
// `sandbox::linux::clone_init`, `sandbox::linux::unshare`, `sandbox::linux::fork`), seccomp(2)
// and the seccomp listener's ioctl(2)s for the script supervisor (`sandbox::notify::seccomp`,
// `sandbox::notify::ioctl`), mount_setattr(2) for the line's read-only mounts
// (`sandbox::linux::mount_setattr`), and clone(2) with CLONE_VM for the audit log's finisher,
// which allocates nothing (`sandbox::linux::start_finisher`); everything else is forbidden it
// by `deny`, which those seven functions alone override. A contained line's init may be
// started before the decision record, but runs nothing before the gate's word
// (`sandbox::start_early`).
#![deny(unsafe_code)]

pub mod approval;
pub mod audit;
pub mod catalogue;
pub mod classify;
pub mod cli;
pub mod decision;
pub mod digest;
pub mod display;
pub mod doctor;
pub mod error;
pub mod exec;
pub mod explain;
pub mod gate;
pub mod gitindex;
pub mod hook;
pub mod kubeconfig;
pub mod manifests;
pub mod mcp;
pub mod plans;
pub mod policy;
pub mod redact;
pub mod request;
pub mod review;
pub mod rfc3339;
pub mod sandbox;
pub mod scripts;
pub mod state;
pub mod terminal;
pub mod tools;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::{Map, Value, json};

use crate::cli::{AuditCommand, Cli, Command, PolicyCommand};
use crate::decision::Verdict;
use crate::error::{Error, Result};
use crate::policy::{Policy, ToolName};
use crate::request::{Context, KubeFacts, Request, TARGET_ENV};
use crate::state::Paths;

/// Runs guard with `argv` (including the program name) and returns the exit code.
pub fn main_with(argv: Vec<OsString>) -> u8 {
    // An agent treats a hook's exit codes other than 2 as "go ahead": in hook mode every
    // failure, a usage error included, is 2.
    let hook_mode = is_hook_mode(&argv);
    match run(argv) {
        Ok(code) => code,
        // The reader went away (`guard explain … | head`): nothing is lost, nothing to say.
        Err(Error::Io { source, path, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe && path.as_os_str() == "<stdout>" => 0,
        Err(e) => {
            // A refusal line quotes the agent's command: escaped, so it is one line shown as typed.
            let msg = e.to_string();
            let msg = display::escape(&msg);
            if msg.starts_with("guard:") {
                eprintln!("{msg}");
            } else {
                eprintln!("guard: {msg}");
            }
            if hook_mode { 2 } else { e.code() }
        }
    }
}

/// Whether `argv` runs an agent hook (`guard [global flags] hook …`): its failures exit 2.
pub fn is_hook_mode(argv: &[OsString]) -> bool {
    let mut words = argv.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        match w.as_ref() {
            "--home" | "--policy" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return w == "hook",
        }
    }
    false
}

/// The hot paths, parsed without building clap's whole command tree (about a third of a
/// millisecond on every command an agent runs): `guard shell|terraform|kubectl ARGS…` and
/// `guard explain [--json] shell LINE`. Anything else, or any global flag, goes through clap.
fn fast_path(argv: &[OsString]) -> Option<Command> {
    let word = |i: usize| argv.get(i).and_then(|a| a.to_str());
    let rest = || argv.get(2..).unwrap_or_default().to_vec();
    match word(1)? {
        "shell" => Some(Command::Shell(cli::ToolArgs { args: rest() })),
        "terraform" => Some(Command::Terraform(cli::ToolArgs { args: rest() })),
        "kubectl" => Some(Command::Kubectl(cli::ToolArgs { args: rest() })),
        "explain" => {
            let (json, i) = if word(2) == Some("--json") { (true, 3) } else { (false, 2) };
            match (word(i), word(i + 1), argv.len()) {
                (Some("shell"), Some(line), n) if n == i + 2 && !line.starts_with('-') => Some(Command::Explain(cli::ExplainArgs {
                    json,
                    jsonl: false,
                    tool: Some(cli::ExplainTool::Shell { line: line.to_string() }),
                })),
                _ => None,
            }
        }
        _ => None,
    }
}

fn run(argv: Vec<OsString>) -> Result<u8> {
    if let Some(command) = fast_path(&argv) {
        let getenv = |k: &str| std::env::var_os(k);
        let paths = Paths::resolve(None, None, &state::Env { get: &getenv })?;
        return dispatch(&paths, command, None);
    }
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    print!("{e}");
                    Ok(0)
                }
                // `guard` alone (or `guard policy`): the usage, on stderr, and exit 64 like any
                // other usage error (clap's convention is a usage error too).
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    eprint!("{e}");
                    Ok(64)
                }
                _ => Err(Error::Usage(usage_message(&e))),
            };
        }
    };
    let getenv = |k: &str| std::env::var_os(k);
    let paths = Paths::resolve(cli.home.clone(), cli.policy.clone(), &state::Env { get: &getenv })?;
    dispatch(&paths, cli.command, cli.wait)
}

fn dispatch(paths: &Paths, command: Command, wait: Option<String>) -> Result<u8> {
    let paths = paths.clone();
    let wait = match wait {
        None => None,
        Some(d) if d.is_empty() => Some(None),
        Some(d) => Some(Some(policy::Ttl::parse(&d).map_err(|e| Error::Usage(format!("guard: --wait: {e}")))?)),
    };
    match command {
        Command::Terraform(a) if asks_for_help(&a.args) => print_help("terraform"),
        Command::Kubectl(a) if asks_for_help(&a.args) => print_help("kubectl"),
        Command::Shell(a) if asks_for_help(&a.args) => print_help("shell"),
        Command::Terraform(a) => guarded(&paths, ToolName::Terraform, utf8_args(a.args)?, wait),
        Command::Kubectl(a) => guarded(&paths, ToolName::Kubectl, utf8_args(a.args)?, wait),
        Command::Shell(a) => guarded(&paths, ToolName::Shell, utf8_args(a.args)?, wait),
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics when its writer fails (a closed pipe).
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "guard", &mut buf);
            write_stdout(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut buf)
                .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
            write_stdout(&buf)
        }
        Command::Approve { id } => approval::decide(&paths, &policy::load(paths.policy.as_deref())?, &id, true, None),
        Command::Reject { id, reason } => approval::decide(&paths, &policy::load(paths.policy.as_deref())?, &id, false, reason),
        Command::Requests { json, all } => approval::requests(&paths, json, all),
        Command::Approver { command: cli::ApproverCommand::Init } => approval::approver_init(&paths),
        Command::Approver { command: cli::ApproverCommand::Rotate } => approval::approver_rotate(&paths),
        Command::Lease { command } => match command {
            cli::LeaseCommand::Grant { rule, namespace, context, dir, ttl, uses } => {
                let ttl = policy::Ttl::parse(&ttl).map_err(|e| Error::Usage(format!("guard: --ttl: {e}")))?;
                let scope = approval::LeaseScope { rule, namespace, context, dir, uses };
                approval::lease_grant(&paths, &policy::load(paths.policy.as_deref())?, scope, Some(ttl))
            }
            cli::LeaseCommand::List { json } => approval::lease_list(&paths, json),
            cli::LeaseCommand::Revoke { id } => approval::lease_revoke(&paths, &id),
        },
        Command::Explain(a) => explain::run(&paths, a),
        Command::Policy { command: PolicyCommand::Show { json: as_json } } => {
            let p = policy::load(paths.policy.as_deref())?;
            let source =
                p.source.file.as_ref().map_or_else(|| "built-in default".into(), |f| format!("{} over the built-in default", f.display()));
            if as_json {
                let body = serde_json::to_value(&p).map_err(|e| Error::Internal(format!("cannot print policy: {e}")))?;
                println!("{}", json!({"source": source, "policy": body}));
            } else {
                println!("# effective policy ({source})");
                print!("{}", p.to_toml()?);
            }
            Ok(0)
        }
        Command::Policy { command: PolicyCommand::Rules { json } } => {
            let disabled = policy::load(paths.policy.as_deref())?.shell.disabled_rules;
            let entries = catalogue::entries()?;
            if json {
                println!("{}", catalogue::json(&entries, &disabled));
            } else {
                print!("{}", catalogue::human_table(&entries, &disabled));
            }
            Ok(0)
        }
        Command::Policy { command: PolicyCommand::Check { file, json: as_json } } => {
            let p = match policy::load(Some(&file)) {
                Ok(p) => p,
                Err(e) => {
                    if as_json {
                        println!("{}", json!({"file": file, "valid": false, "error": e.to_string()}));
                    }
                    return Err(e);
                }
            };
            let rules = p.shell.rules.len() + p.shell.builtin_rules.len();
            let n_examples = p.examples.len()
                + p.shell.rules.iter().chain(&p.shell.builtin_rules).map(|r| r.examples.len()).sum::<usize>()
                + p.mcp.rules.iter().map(|r| r.examples.len()).sum::<usize>();
            if as_json {
                println!(
                    "{}",
                    json!({"file": file, "valid": true, "shell_rules": rules, "mcp_rules": p.mcp.rules.len(), "examples": n_examples})
                );
            } else {
                println!("guard: policy {} is valid ({rules} shell rules, {n_examples} examples pass)", file.display());
            }
            Ok(0)
        }
        Command::Audit { command: AuditCommand::Verify { json: as_json } } => {
            let checked = audit::verify(&paths).and_then(|v| approval::verify_audit_receipts(&paths, &v.receipts).map(|n| (v, n)));
            let (v, signed) = match checked {
                Ok(x) => x,
                Err(e) => {
                    if as_json {
                        println!("{}", json!({"intact": false, "error": e.to_string()}));
                    }
                    return Err(e);
                }
            };
            if as_json {
                println!("{}", json!({"intact": true, "records": v.records, "signed_receipts": signed, "notes": v.notes}));
                return Ok(0);
            }
            for n in &v.notes {
                println!("note: {n}");
            }
            println!("guard: audit chain intact ({} records, {signed} signed receipts verified)", v.records);
            Ok(0)
        }
        Command::Audit { command: AuditCommand::Tail { n, json } } => {
            for rec in audit::tail(&paths, n)? {
                if json {
                    println!("{rec}");
                } else {
                    println!("{}", audit_summary(&rec));
                }
            }
            Ok(0)
        }
        Command::Doctor { json } => doctor::run(&paths, json),
        Command::Mcp => mcp::serve(&paths),
        Command::Hook { command } => {
            let (agent, args) = match command {
                cli::HookCommand::Claude(a) => (hook::Agent::Claude, a),
                cli::HookCommand::Codex(a) => (hook::Agent::Codex, a),
                cli::HookCommand::Cursor(a) => (hook::Agent::Cursor, a),
                cli::HookCommand::Gemini(a) => (hook::Agent::Gemini, a),
            };
            Ok(hook::run(&paths, agent, args.unattended))
        }
        Command::Run(a) => run_contained(&paths, utf8_args(a.args)?),
    }
}

/// Writes generated text to stdout; a reader that went away (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<u8> {
    match std::io::Write::write_all(&mut std::io::stdout(), bytes) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::Internal(format!("cannot write to stdout: {e}"))),
    }
}

/// One `guard:` line from a clap error that names what is wrong, e.g. the missing argument:
/// clap puts that on the lines after the first.
fn usage_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.trim_start_matches("error: ").to_string());
        }
    }
    let usage = text.lines().find_map(|l| l.trim().strip_prefix("Usage: ")).map(|u| format!("; usage: {}", u.trim())).unwrap_or_default();
    format!("guard: {}{usage} (see `guard --help`)", parts.join(" "))
}

/// `guard shell|terraform|kubectl --help` (also `-h`, terraform's `-help`): guard's own help,
/// never the tool's and never an approval request.
fn asks_for_help(args: &[OsString]) -> bool {
    args.len() == 1 && args.first().is_some_and(|a| a == "--help" || a == "-h" || a == "-help")
}

fn print_help(sub: &str) -> Result<u8> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let help = cmd.find_subcommand_mut(sub).map(|c| c.render_long_help().to_string()).unwrap_or_default();
    print!("{help}");
    Ok(0)
}

/// One line per audit record for `guard audit tail`: what it is about (request, plan or lease
/// id, command, summary), every agent-supplied string escaped.
fn audit_summary(rec: &Value) -> String {
    let s = |k: &str| rec.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let num = |k: &str| rec.get(k).map(|v| if let Some(t) = v.as_str() { t.to_string() } else { v.to_string() }).unwrap_or_default();
    let short = |h: String| h.get(..12).map_or(h.clone(), str::to_string);
    let receipt = |k: &str| rec.pointer(&format!("/receipt/payload/{k}")).and_then(Value::as_str).unwrap_or("").to_string();
    let scope = |k: &str| rec.pointer(&format!("/receipt/payload/scope/{k}")).and_then(Value::as_str).unwrap_or("*").to_string();
    let headline = rec.pointer("/reasons/0/rule").and_then(Value::as_str).map(|r| format!(" [{r}]")).unwrap_or_default();
    let seq = num("seq");
    let what = match s("kind").as_str() {
        "decision" => format!("{:<8} {}{headline}  request {}", s("decision"), s("command"), short(s("request"))),
        "exec" => format!("exit {} ({} ms) of decision #{}  {}", num("exit_code"), num("duration_ms"), num("decision_seq"), s("program")),
        "request" => format!("{} {}  (expires {})", s("id"), s("command"), s("expires")),
        "approval" | "rejection" => {
            let until = rfc3339::format_millis(rec.pointer("/receipt/payload/expires_ms").and_then(Value::as_u64).unwrap_or(0));
            format!("{} {}  key {} until {until}", s("id"), s("command"), receipt("key_id"))
        }
        "consume" => format!(
            "{} used once{}",
            s("id"),
            rec.get("plan_sha256").map(|_| format!(" (plan sha256 {})", short(s("plan_sha256")))).unwrap_or_default()
        ),
        "lease-grant" => format!(
            "{} rule {} context {} cluster {} namespace {} dir {}",
            s("id"),
            scope("rule"),
            scope("context"),
            scope("server"),
            scope("namespace"),
            scope("dir")
        ),
        "lease-use" => format!("{} use {}: {}", s("lease"), num("use"), s("command")),
        "lease-revoke" => format!("{} revoked", s("id")),
        "plan" => {
            let sum = rec.get("summary").map(Value::to_string).unwrap_or_default();
            format!("{} {}{headline}  {} (workspace {}) {sum}", s("id"), s("decision"), s("dir"), s("workspace"))
        }
        "apply-start" => format!("{} applying (sha256 {})", s("id"), short(s("sha256"))),
        "receipt-refused" => format!("{} refused: {}", s("id"), s("why")),
        "rejected-run" => format!("{} re-run after a rejection", s("id")),
        "hook" => format!("{} {}{headline} {}", s("answer"), s("tool_name"), s("reason")),
        "doctor" => format!("doctor {}", s("result")),
        "approver-init" | "approver-rotate" => format!("approver key {}", s("key_id")),
        _ => rec
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "seq" | "ts" | "prev" | "hash" | "kind"))
                    .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    };
    display::escape(&format!("{seq:>6} {} {:<15} {what}", s("ts"), s("kind"))).into_owned()
}

pub(crate) fn utf8_args_pub(args: Vec<OsString>) -> Result<Vec<String>> {
    utf8_args(args)
}

fn utf8_args(args: Vec<OsString>) -> Result<Vec<String>> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            a.into_string().map_err(|_| {
                Error::Usage(format!("guard: argument {} is not valid UTF-8; guard refuses what it cannot read exactly", i + 1))
            })
        })
        .collect()
}

/// Builds the pure classification context from the environment (edge I/O).
pub fn context(paths: &Paths, tool: ToolName, argv: &[String]) -> Result<Context> {
    let cwd = std::env::current_dir().map_err(|e| Error::Internal(format!("cannot read the working directory: {e}")))?;
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let mut guarded = vec![paths.home.clone()];
    if let Some(p) = &paths.policy {
        guarded.push(p.clone());
    }
    let config_dir = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    if let Some(c) = config_dir {
        guarded.push(c.join("guard"));
    }
    // The kernel's path of the running binary is already free of symlinks.
    if let Ok(exe) = exec::own_exe() {
        if let Some(share) = exe.parent().and_then(Path::parent).map(|p| p.join("share/guard")) {
            guarded.push(share);
        }
        guarded.push(exe.to_path_buf());
    }
    if let Some(s) = std::env::var_os("GUARD_SHIMS").filter(|v| !v.is_empty()) {
        guarded.push(PathBuf::from(s));
    }
    for g in guarded.iter_mut() {
        *g = state::absolute(g);
    }
    let needs_kube = match tool {
        ToolName::Kubectl => true,
        ToolName::Shell => argv.iter().any(|a| a.contains("kubectl")),
        ToolName::Terraform => false,
    };
    let mut kube = if needs_kube {
        kube_facts(tool, argv, home.as_deref())
    } else {
        KubeFacts { namespace: "default".into(), ..KubeFacts::default() }
    };
    if tool == ToolName::Kubectl {
        kube.manifests = manifests::read_all(argv, &cwd);
    }
    let cdpath = std::env::var_os("CDPATH").is_some_and(|v| !v.is_empty());
    let git_env =
        request::GIT_ENV.iter().filter(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty())).map(|k| (*k).to_string()).collect();
    Ok(Context { cwd, home, guarded, kube, contained: false, git: gitindex::GitFacts::NotRead, cdpath, git_env })
}

/// The kubeconfig facts for a kubectl argv. `--kubeconfig` and `--context` come from the kubectl
/// classifier's own parse, so guard reads the context kubectl will use (`exec pod -- sh -c id
/// --context=x` passes `--context=x` to the container, not to kubectl). A shell line's argv is
/// not kubectl's: there only the environment and the default file count.
fn kube_facts(tool: ToolName, argv: &[String], home: Option<&Path>) -> KubeFacts {
    let parsed = if tool == ToolName::Kubectl { tools::kubectl::parse(argv) } else { tools::kubectl::Parsed::default() };
    let env = std::env::var("KUBECONFIG").ok();
    let files = kubeconfig::files(parsed.kubeconfig.as_deref(), env.as_deref(), home);
    let overrides = kubeconfig::Overrides {
        context: parsed.context.as_deref(),
        cluster: parsed.cluster.as_deref(),
        user: parsed.user.as_deref(),
        server: parsed.server.as_deref(),
        explicit: parsed.kubeconfig.is_some(),
    };
    kubeconfig::resolve(&files, &overrides).unwrap_or_else(|e| KubeFacts {
        namespace: "<unreadable kubeconfig>".into(),
        error: Some(e),
        ..KubeFacts::default()
    })
}

/// The environment that changes what guard or the command does (`request::TARGET_ENV` and
/// `request::BOUND_ENV`), with
/// the SHA-256 of terraform's CLI configuration file (it can replace providers).
pub(crate) fn target_env() -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> =
        TARGET_ENV.iter().chain(request::BOUND_ENV).filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_string(), v))).collect();
    if let Some(f) = env.get("TF_CLI_CONFIG_FILE").filter(|f| !f.is_empty()).cloned() {
        let h = digest::sha256_file(Path::new(&f)).unwrap_or_else(|_| "unreadable".into());
        env.insert("TF_CLI_CONFIG_FILE.sha256".into(), h);
    }
    env
}

/// Binds the content of the scripts a line runs (`source x.sh`, `bash x.sh`, `./x`) into its
/// request, so an approval never runs a script edited after the human saw the request.
pub fn bind_scripts(request: &mut Request, policy: &Policy, ctx: &Context) {
    for path in tools::shell::scripts_run(&request.argv, policy, ctx) {
        request.target_env.insert(format!("{}{}", scripts::KEY, path.display()), scripts::fingerprint(&path));
    }
}

/// The variables set in guard's environment that guard refuses to run under.
fn refused_env() -> Verdict {
    let names: Vec<String> = std::env::vars_os()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| request::refused_env(k).is_some())
        .collect();
    request::env_verdict(names.iter().map(String::as_str))
}

pub(crate) fn next_step_for_block(v: &Verdict) -> String {
    match v.headline().map(|r| r.rule.as_str()) {
        Some(r) if r.starts_with("terraform.") => {
            format!("The way through is: {}.", tools::terraform::PLAN_PATH)
        }
        Some("shell.guard-self") => "Guard's own files are changed by a human, not through the agent.".into(),
        Some("sandbox.write-refused") => {
            "No approval grants that tree: name a directory below it that holds none of guard's files, secrets, shell start-up files or PATH directories.".into()
        }
        _ => "A human can change the policy if this is wrong (`guard explain` shows why).".into(),
    }
}

/// How a request is shown to people: the line for shell, else the tool and its argv.
pub fn display_command(req: &Request) -> String {
    match (req.tool, req.shell_line()) {
        (ToolName::Shell, Some(line)) => redact::redact(line).into_owned(),
        _ => {
            let argv = redact::redact_argv(&req.argv);
            let quoted: Vec<String> = argv.iter().map(|a| shlex::try_quote(a).map_or_else(|_| a.clone(), |q| q.into_owned())).collect();
            format!("{} {}", if req.tool == ToolName::Shell { "bash" } else { req.tool.as_str() }, quoted.join(" ")).trim_end().to_string()
        }
    }
}

fn decision_record(req: &Request, verdict: &Verdict) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("tool".into(), json!(req.tool.as_str()));
    m.insert("command".into(), json!(display_command(req)));
    m.insert("argv".into(), json!(redact::redact_argv(&req.argv)));
    m.insert("cwd".into(), json!(req.cwd.to_string_lossy()));
    let env: BTreeMap<&String, String> = req
        .target_env
        .iter()
        .map(|(k, v)| (k, redact::redact(&format!("{k}={v}")).trim_start_matches(&format!("{k}=")).to_string()))
        .collect();
    m.insert("env".into(), json!(env));
    m.insert("decision".into(), json!(verdict.decision.as_str()));
    m.insert("reasons".into(), reasons_json(verdict));
    m.insert("request".into(), json!(req.digest()));
    m.insert("pid".into(), json!(std::process::id()));
    m
}

pub fn reasons_json(v: &Verdict) -> Value {
    Value::Array(v.reasons.iter().map(|r| json!({"rule": r.rule, "message": redact::redact(&r.message)})).collect())
}

/// The decision record's pending fdatasync, as work for `exec` to finish once the command runs.
fn on_start(unsynced: Option<audit::Unsynced>) -> exec::OnStart<'static> {
    unsynced.map(|u| Box::new(move || u.sync()) as Box<dyn FnOnce() -> Result<()>>)
}

/// The one decision every front end takes (`guard shell|kubectl|terraform`, the hook, `explain`,
/// and through them the broker and `guard mcp`): classification, then — for a shell line that
/// runs contained (`facts` given and the policy enforcing containment) — its sandbox profile,
/// capped by the profile of the contained line that asked through the broker, with explicit
/// widenings (`guard shell --network`, `--write DIR`) escalated so a human sees and approves them.
/// The profile is borrowed from `facts` when the line's is the facts' base profile.
pub fn judge<'f>(
    request: &Request,
    policy: &Policy,
    ctx: &Context,
    facts: Option<&'f sandbox::Facts>,
    widen: &sandbox::Widening,
) -> (Verdict, Option<std::borrow::Cow<'f, sandbox::Profile>>) {
    let cap = sandbox::inherited_cap();
    if let (Some(c), ToolName::Kubectl | ToolName::Terraform) = (&cap, request.tool) {
        // Through the broker, the real tool runs outside the sandbox: what it would reach there
        // beyond the asking line's own trees needs a human.
        let mut v = classify_with_git(request, policy, ctx);
        for why in sandbox::broker_reach(request.tool, &request.argv, &request.cwd, c) {
            v.add(
                decision::Decision::Escalate,
                "sandbox.broker-reach",
                format!("from a contained line: {why}; the broker runs it outside the sandbox"),
            );
        }
        return (v, None);
    }
    let contained = facts.is_some() && request.tool == ToolName::Shell && sandbox::enforced(policy);
    let mut verdict = if contained && !ctx.contained {
        classify_with_git(request, policy, &Context { contained: true, ..ctx.clone() })
    } else {
        classify_with_git(request, policy, ctx)
    };
    let Some(facts) = facts.filter(|_| contained) else {
        return (verdict, None);
    };
    let mut profile = sandbox::line_profile(policy, facts, &verdict.programs);
    if let Some(c) = &cap {
        sandbox::cap(profile.to_mut(), c);
    }
    if widen.network && !profile.network && cap.as_ref().is_none_or(|c| c.network) {
        profile.to_mut().network = true;
        verdict.add(
            decision::Decision::Escalate,
            "sandbox.network",
            "the line asks for the network (`guard shell --network`), which a line without a network program does not get; approving grants it to this line",
        );
    }
    for dir in &widen.write {
        match sandbox::widen_write(profile.to_mut(), facts, dir, cap.as_ref()) {
            Ok(false) => {}
            Ok(true) => verdict.add(
                decision::Decision::Escalate,
                "sandbox.write",
                format!(
                    "the line asks to write {} (`guard shell --write`), outside its project, temp dir and caches; approving grants that tree to this line",
                    dir.display()
                ),
            ),
            Err(why) => verdict.add(
                decision::Decision::Block,
                "sandbox.write-refused",
                format!("`--write {}`: {why}; no approval grants that", dir.display()),
            ),
        }
    }
    (verdict, Some(profile))
}

/// Classification, with what git tracks in the project read (edge I/O, once) when the verdict
/// leaned on it without having it: only a line that deletes recursively inside the project pays
/// for reading the index, and the classifier itself stays pure.
fn classify_with_git(request: &Request, policy: &Policy, ctx: &Context) -> Verdict {
    let v = classify::classify(request, policy, ctx);
    if request.tool == ToolName::Shell
        && matches!(ctx.git, gitindex::GitFacts::NotRead)
        && v.reasons.iter().any(|r| r.rule == tools::shell::PROJECT_DELETE)
    {
        return classify::classify(request, policy, &Context { git: gitindex::read(&ctx.cwd), ..ctx.clone() });
    }
    v
}

/// `guard run [--] COMMAND [ARGS…]`: the agent runs contained for its whole life.
fn run_contained(paths: &Paths, args: Vec<String>) -> Result<u8> {
    let policy = policy::load(paths.policy.as_deref())?;
    let args: Vec<String> = match args.first().map(String::as_str) {
        Some("--") => args.into_iter().skip(1).collect(),
        _ => args,
    };
    let Some(name) = args.first().cloned() else {
        return Err(Error::Usage("guard: run needs the program to start: `guard run -- claude` (see `guard run --help`)".into()));
    };
    if name == "--help" || name == "-h" {
        println!(
            "usage: guard run [--] COMMAND [ARGS…]\n\nStarts COMMAND contained for its whole life (writes only to the project, the temp dir, caches and the harness's own state; secrets unreadable), with guard's terraform, kubectl and guard first on its PATH, served by this guard as the broker. Exits with COMMAND's code. Approve from another terminal."
        );
        return Ok(0);
    }
    if !sandbox::enforced(&policy) {
        return Err(Error::Blocked(
            "guard: `guard run` contains an agent, and the policy turns containment off (`[sandbox] mode = \"off\"`); nothing ran".into(),
        ));
    }
    let ctx = context(paths, ToolName::Shell, &[])?;
    let exe = exec::own_exe().ok();
    let program = exec::find_real(&name, None, None, std::env::var_os("PATH"), exe).or_else(|_| {
        if name.contains('/') {
            Ok(state::absolute(Path::new(&name)))
        } else {
            Err(Error::Usage(format!("guard: run: {name} is not on PATH")))
        }
    })?;
    let agent = program.file_name().and_then(|n| n.to_str()).map(str::to_string);
    let facts = sandbox::Facts::read(&ctx, &paths.home);
    let mut profile = sandbox::profile(&policy, &facts, &Default::default(), Some(agent.as_deref().unwrap_or("")));
    if let Some(cap) = sandbox::inherited_cap() {
        sandbox::cap(&mut profile, &cap);
    }
    let mut target_env = target_env();
    target_env.extend(sandbox::binding(&profile));
    let request = Request { tool: ToolName::Shell, argv: args.clone(), cwd: ctx.cwd.clone(), target_env };
    let mut m = Map::new();
    m.insert("command".into(), json!(redact::redact_argv(&args).join(" ")));
    m.insert("cwd".into(), json!(ctx.cwd.to_string_lossy()));
    m.insert("sandbox".into(), sandbox::explain_json(&profile));
    let started = audit::append(paths, "run", m)?;
    let authorized = gate::human_run(&request, profile);
    let t = std::time::Instant::now();
    // The contained `bash` and `sh` are the real ones, whatever the agent is.
    let bash = exec::real_tool(ToolName::Shell, &policy)?;
    let record_exec = |outcome: &Result<exec::Outcome>| {
        let mut m = Map::new();
        m.insert("run_seq".into(), json!(started.seq));
        append_exec(paths, m, t, outcome)
    };
    Ok(sandbox::run(&authorized, paths, &program, args.get(1..).unwrap_or_default(), &bash, None, &record_exec, None)?.code)
}

/// Appends the `exec` record: `m`'s fields, the run's duration since `started`, and how it
/// ended (exit code and signal, or the error); the log stays locked until it is synced.
fn append_exec(
    paths: &Paths,
    mut m: Map<String, serde_json::Value>,
    started: std::time::Instant,
    outcome: &Result<exec::Outcome>,
) -> Result<audit::Unsynced> {
    m.insert("duration_ms".into(), json!(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)));
    match outcome {
        Ok(o) => {
            m.insert("exit_code".into(), json!(o.code));
            if let Some(s) = o.signal {
                m.insert("signal".into(), json!(s));
            }
        }
        Err(e) => {
            m.insert("error".into(), json!(e.to_string()));
        }
    }
    audit::append_unsynced(paths, "exec", m).map(|(_, unsynced)| unsynced)
}

/// What a terraform invocation is, for the plan-id flow.
enum TerraformOp {
    /// `guard terraform plan …`: guard owns the plan file and stores a record.
    Plan { json: bool },
    /// `guard terraform apply <plan_id>`.
    Apply(Box<plans::PlanRecord>),
    /// Everything else passes through to terraform once allowed.
    Other,
}

fn guarded(paths: &Paths, tool: ToolName, mut argv: Vec<String>, wait: Option<Option<policy::Ttl>>) -> Result<u8> {
    let policy: Policy = policy::load(paths.policy.as_deref())?;
    // `guard shell --network|--write DIR -c LINE`: the agent asks for more than its sandbox
    // explicitly (a widening a human approves); bash never sees the flags.
    let widen = match tool {
        ToolName::Shell => sandbox::Widening::take(&mut argv, &std::env::current_dir().unwrap_or_default())?,
        _ => sandbox::Widening::default(),
    };
    if tool == ToolName::Terraform && tools::terraform::parse(&argv).subcommand == Some("plans") {
        return plans::list(paths, argv.iter().any(|a| a == "--json"));
    }
    let ctx = context(paths, tool, &argv)?;
    let mut env = target_env();
    if tool == ToolName::Kubectl {
        // Approvals bind to the cluster the command reaches and to the manifest bytes inspected.
        // What the names point at, read once: kubectl gets the same bytes (the snapshot).
        let k = &ctx.kube;
        for (key, value) in [
            ("kube.context", &k.context),
            ("kube.cluster", &k.cluster),
            ("kube.server", &k.server),
            ("kube.user", &k.user),
            ("kube.auth", &k.auth),
            ("kube.namespace", &Some(k.namespace.clone())),
            ("kube.config", &k.kubeconfig_sha256),
        ] {
            env.insert(key.into(), value.clone().unwrap_or_default());
        }
        for (arg, m) in &ctx.kube.manifests {
            env.insert(format!("manifest:{arg}"), m.sha256.clone());
        }
    }
    let mut request = Request { tool, argv, cwd: ctx.cwd.clone(), target_env: env };
    let facts = (tool == ToolName::Shell).then(|| sandbox::Facts::read(&ctx, &paths.home));
    let (mut verdict, profile) = judge(&request, &policy, &ctx, facts.as_ref(), &widen);
    let profile = profile.map(std::borrow::Cow::into_owned);
    if tool == ToolName::Shell && verdict.decision == decision::Decision::Escalate {
        bind_scripts(&mut request, &policy, &ctx);
    }
    let parsed_tf = (tool == ToolName::Terraform).then(|| tools::terraform::parse(&request.argv));
    // Through the broker, terraform runs the agent's configuration: in a sandbox of its own,
    // `terraform show` while deciding included (see `sandbox::tool_profile`).
    let (staging, tool_profile) = match (&parsed_tf, sandbox::inherited_cap()) {
        (Some(p), Some(line)) if sandbox::enforced(&policy) => {
            let dir = sandbox::TempDir::new()?;
            let applied: Vec<PathBuf> = match (p.subcommand, p.args.as_slice()) {
                (Some("apply"), [id]) if tools::terraform::is_plan_id(id) => vec![plans::plan_file(paths, id)],
                _ => Vec::new(),
            };
            let facts = sandbox::Facts::read(&ctx, &paths.home);
            let profile = sandbox::tool_profile(&policy, &facts, &line, dir.path(), &applied);
            (Some(dir), Some(profile))
        }
        _ => (None, None),
    };
    verdict.merge(refused_env());
    let op = match &parsed_tf {
        Some(p) if p.subcommand == Some("plan") => TerraformOp::Plan { json: request.argv.iter().any(|a| a == "--json") },
        Some(p) if p.subcommand == Some("apply") => match p.args.as_slice() {
            [id] if tools::terraform::is_plan_id(id) => {
                // The plan's integrity checks and its own decision join the argv's verdict.
                // Re-derived from the plan file with the real terraform and this policy.
                let terraform = exec::real_tool(ToolName::Terraform, &policy)?;
                let (plan_verdict, record) = plans::apply_verdict(paths, &request, id, &policy, &terraform, tool_profile.as_ref())?;
                verdict.merge(plan_verdict);
                TerraformOp::Apply(Box::new(record))
            }
            _ => TerraformOp::Other,
        },
        _ => TerraformOp::Other,
    };
    // The profile (network, writable trees) is part of what the request's digest binds, so an
    // approval covers exactly the profile it was shown.
    if let Some(p) = &profile {
        request.target_env.extend(sandbox::binding(p));
    }
    // A shell line allowed outright: its init starts now and sets itself up while guard writes
    // the decision record and passes the gate; it waits for the word to go, which only
    // `sandbox::run` gives, with the gate's `Authorized` (see `sandbox::start_early`).
    // Looked up once: what the gate authorizes below is run with it.
    let program = exec::real_tool(tool, &policy);
    let early = match (&profile, verdict.decision, &op, &program) {
        (Some(p), decision::Decision::Allow, TerraformOp::Other, Ok(bash)) if tool == ToolName::Shell && sandbox::enforced(&policy) => {
            sandbox::start_early(p, bash, &request.argv)
        }
        _ => None,
    };
    let (decided, unsynced) = audit::append_unsynced(paths, "decision", decision_record(&request, &verdict))?;
    // An allowed command starts while the decision record is forced to disk (the record is in
    // the log before the command starts; guard kills the command if the fdatasync fails). Any
    // other path syncs first: approvals may wait for minutes, and the log stays locked until then.
    let mut unsynced = Some(unsynced);
    if verdict.decision != decision::Decision::Allow || !matches!(op, TerraformOp::Other) {
        unsynced.take().map(audit::Unsynced::sync).transpose()?;
    }
    // Escalations go to the approvals: a plan's approval, a lease, a consumed approval, or a
    // pending request.
    let proof = if verdict.decision == decision::Decision::Escalate {
        let namespace = (tool == ToolName::Kubectl).then(|| tools::kubectl::lease_namespace(&request.argv, &ctx)).flatten();
        let max_wait = wait.map(|max| max.unwrap_or(policy.defaults.request_ttl).millis());
        let answer = match &op {
            TerraformOp::Apply(record) => approval::wait_for(max_wait, || approval::check_plan(paths, record, &request.digest()))?,
            _ => approval::wait_for(max_wait, || approval::check(paths, &policy, &request, &verdict, namespace.as_deref()))?,
        };
        match answer {
            approval::Answer::Run(proof) => Some(proof),
            approval::Answer::Pending(msg) => return Err(Error::NeedsApproval(msg)),
        }
    } else {
        None
    };
    let authorized = gate::gate(&request, &verdict, proof.as_ref(), profile.or(tool_profile))?;
    let program = program?;
    let init_args = (tool == ToolName::Terraform).then(|| tools::terraform::noninteractive_init(&request.argv)).flatten();
    let started = std::time::Instant::now();
    let record_exec = |outcome: &Result<exec::Outcome>| {
        let mut m = Map::new();
        m.insert("tool".into(), json!(tool.as_str()));
        m.insert("decision_seq".into(), json!(decided.seq));
        m.insert("program".into(), json!(program.to_string_lossy()));
        append_exec(paths, m, started, outcome)
    };
    let outcome = match op {
        TerraformOp::Plan { json } => {
            return plans::plan(paths, &policy, &program, &authorized, json, staging.as_ref().map(sandbox::TempDir::path));
        }
        TerraformOp::Apply(record) => {
            // Used before terraform starts: a crash can never allow a second apply.
            plans::mark_used(paths, &record.id)?;
            let mut m = Map::new();
            m.insert("id".into(), json!(record.id));
            m.insert("sha256".into(), json!(record.sha256));
            audit::append(paths, "apply-start", m)?;
            // The local-exec scripts' approved copies are mounted over them unless containment is off.
            let result = plans::run_apply(&authorized, &program, paths, &record, sandbox::enforced(&policy));
            let label = match &result {
                Ok((_, true)) => "stale",
                Ok((o, false)) if o.code == 0 => "applied",
                Ok(_) => "failed",
                Err(_) => "failed",
            };
            plans::record_outcome(paths, &record.id, label, result.as_ref().map_or(70, |(o, _)| o.code))?;
            if let Ok((_, true)) = result {
                eprintln!("guard: plan {} is stale: the state changed after it was planned; plan again", record.id);
            }
            result.map(|(o, _)| o)
        }
        TerraformOp::Other if tool == ToolName::Kubectl => {
            // kubectl reads exactly the bytes guard inspected: its -f arguments become snapshots,
            // and so does the kubeconfig (`config` subcommands edit the user's files: not those).
            let mut snaps = std::collections::BTreeMap::new();
            for (arg, m) in &ctx.kube.manifests {
                snaps.insert(arg.clone(), manifests::snapshot(paths, m, arg)?);
            }
            let mut argv = manifests::rewrite_argv(&authorized.request.argv, &snaps)?;
            let parsed = tools::kubectl::parse(&argv);
            let kubeconfig = match &ctx.kube.kubeconfig_snapshot {
                Some(bytes) if parsed.verb.as_deref() != Some("config") => Some(kubeconfig::write_snapshot(paths, bytes)?),
                _ => None,
            };
            if let Some(snap) = &kubeconfig {
                argv = kubeconfig::rewrite_argv(&argv, &snap.path, ctx.kube.context.as_deref());
            }
            exec::run_args(&authorized, &program, &argv, None, on_start(unsynced))
        }
        TerraformOp::Other if tool == ToolName::Shell && authorized.profile().is_some() => {
            // The exec record is written as the line's program ends (see `sandbox::run`).
            let argv = &authorized.request.argv;
            let code = sandbox::run(&authorized, paths, &program, argv, &program, on_start(unsynced), &record_exec, early)?.code;
            // The line is over. What guard read and built for it is plain memory that the
            // process's exit frees: freed one by one it would cost a page fault per page (the
            // line's init shared them, so they are still write-protected), ~20 faults, ~0.05 ms.
            std::mem::forget(authorized);
            std::mem::forget((request, verdict, ctx, facts, policy));
            return Ok(code);
        }
        TerraformOp::Other if init_args.is_some() => {
            exec::run_args(&authorized, &program, init_args.as_deref().unwrap_or_default(), None, on_start(unsynced))
        }
        TerraformOp::Other => exec::run(&authorized, &program, None, on_start(unsynced)),
    };
    record_exec(&outcome)?.finish_after_exit(None)?;
    Ok(outcome?.code)
}
