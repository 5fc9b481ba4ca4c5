//! `guard hook claude|codex|cursor|gemini`: agent hooks that only ever **add** safety to the
//! agent's own permission rules.
//!
//! One decision for every agent: the payload is read into a [`Call`] (a shell command, file
//! writes, an MCP tool call, or something guard has no opinion on), [`judge`] turns it into a
//! [`Judgement`] with the same classifiers and approvals as the CLI, and each agent's adapter
//! writes that judgement in the agent's own wire format. Where an agent cannot ask a human (or
//! its session would ignore an `ask`), an escalation becomes a deny naming `guard approve`.
//!
//! It must never consume an approval or a lease (only guard itself, running the command, does),
//! never answer `allow` unless the policy says so, and never fail open: unreadable input, a
//! malformed payload or any internal error exits 2 with the reason on stderr, which every one
//! of these agents treats as "block".

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::decision::{Decision, Verdict};
use crate::error::{Error, Result};
use crate::policy::{HookAllow, Policy, ToolName};
use crate::request::{Context, Request};
use crate::state::Paths;

/// The agents guard speaks to, each with its own hook format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    /// Claude Code `PreToolUse`.
    Claude,
    /// Codex CLI `PreToolUse` (`deny`, and `allow` only with `updatedInput`; no `ask`).
    Codex,
    /// Cursor `beforeShellExecution` / `beforeMCPExecution` (`permission: allow|deny|ask`).
    Cursor,
    /// Gemini CLI `BeforeTool` (`decision: allow|deny`, no ask).
    Gemini,
}

impl Agent {
    fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Cursor => "cursor",
            Agent::Gemini => "gemini",
        }
    }
}

/// What the agent is about to do, as guard reads it from the payload.
#[derive(Debug, PartialEq)]
enum Call {
    Shell(String),
    /// Files a write tool would change (one for Write/Edit, several for a patch).
    Write(Vec<String>),
    Mcp {
        server: String,
        tool: String,
        args: Map<String, Value>,
    },
    /// A tool guard has no opinion on (reads, searches, …).
    Other,
}

/// The payload, read.
#[derive(Debug)]
struct Payload {
    tool_name: String,
    call: Call,
    cwd: Option<PathBuf>,
    /// Claude Code's session permission mode (`default`, `acceptEdits`, `plan`, `bypassPermissions`, …).
    permission_mode: Option<String>,
    /// The tool's own input, kept so a rewrite changes only the command.
    tool_input: Map<String, Value>,
}

/// guard's answer, before it is written in an agent's format.
#[derive(Debug, PartialEq)]
enum Judgement {
    /// Exit 0 and say nothing the agent would act on: its own permission rules decide.
    NoOpinion,
    /// Allow; with `rewrite`, the shell command the agent should run instead.
    Allow {
        reason: String,
        rewrite: Option<String>,
    },
    /// A human decides in the agent's own prompt.
    Ask(String),
    Deny(String),
}

impl Judgement {
    fn label(&self) -> &'static str {
        match self {
            Judgement::NoOpinion => "no-opinion",
            Judgement::Allow { .. } => "allow",
            Judgement::Ask(_) => "ask",
            Judgement::Deny(_) => "deny",
        }
    }
    fn reason(&self) -> &str {
        match self {
            Judgement::NoOpinion => "",
            Judgement::Allow { reason, .. } | Judgement::Ask(reason) | Judgement::Deny(reason) => reason,
        }
    }
}

/// Whether what guard runs is contained (`[sandbox] mode = "enforce"`).
fn containment_on(policy: &Policy) -> bool {
    crate::sandbox::enforced(policy)
}

/// Runs one hook: reads stdin, answers on stdout. Returns the exit code; every failure is 2.
pub fn run(paths: &Paths, agent: Agent, unattended: bool) -> u8 {
    test_panic();
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        return fail(&format!("cannot read the hook input: {e}"));
    }
    match answer(paths, agent, &input, unattended) {
        Ok(out) => {
            if !out.is_empty() && std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes()).is_err() {
                return fail("cannot write the hook answer");
            }
            0
        }
        Err(e) => fail(e.to_string().trim_start_matches("guard: ")),
    }
}

fn fail(why: &str) -> u8 {
    eprintln!("guard: {why}; refusing the tool call (hook exit 2)");
    2
}

/// Debug builds only: a way for the test suite to prove that a panic in hook mode exits 2.
#[allow(clippy::panic)]
fn test_panic() {
    if cfg!(debug_assertions) && std::env::var_os("GUARD_TEST_PANIC_IN_HOOK").is_some() {
        panic!("test panic in hook mode");
    }
}

/// Reads, judges, logs and formats one payload; the text to print on stdout.
fn answer(paths: &Paths, agent: Agent, input: &str, unattended: bool) -> Result<String> {
    let payload = read_payload(agent, input)?;
    let policy = crate::policy::load(paths.policy.as_deref())?;
    let mut ctx = crate::context(paths, ToolName::Shell, &[])?;
    // The tool will run where the agent says its session is, not where the hook runs.
    if let Some(dir) = payload.cwd.clone().filter(|d| d.is_absolute()) {
        ctx.cwd = dir;
    }
    let env = Env { paths, policy: &policy, ctx: &ctx, contained: containment_on(&policy), unattended };
    let (judgement, verdict) = judge(&env, agent, &payload)?;
    let mut rec = Map::new();
    rec.insert("agent".into(), json!(agent.as_str()));
    rec.insert("tool_name".into(), json!(payload.tool_name));
    rec.insert("answer".into(), json!(judgement.label()));
    rec.insert("reason".into(), json!(crate::redact::redact(judgement.reason())));
    if let Some(v) = &verdict {
        rec.insert("reasons".into(), crate::reasons_json(v));
    }
    if let Judgement::Allow { rewrite: Some(cmd), .. } = &judgement {
        rec.insert("rewrite".into(), json!(crate::redact::redact(cmd)));
    }
    crate::audit::append(paths, "hook", rec)?;
    Ok(format_answer(agent, &payload, &judgement))
}

fn bad(why: impl Into<String>) -> Error {
    Error::Data(format!("guard: {}", why.into()))
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Reads an agent's payload into a [`Payload`]; anything malformed is an error (exit 2).
fn read_payload(agent: Agent, input: &str) -> Result<Payload> {
    let v: Value = serde_json::from_str(input).map_err(|e| bad(format!("the hook input is not JSON ({e})")))?;
    if !v.is_object() {
        return Err(bad("the hook input is not a JSON object"));
    }
    let cwd = str_field(&v, "cwd").map(PathBuf::from);
    let permission_mode = str_field(&v, "permission_mode").map(str::to_string);
    if agent == Agent::Cursor {
        return read_cursor(&v, cwd);
    }
    let tool_name = str_field(&v, "tool_name").ok_or_else(|| bad("the hook input has no tool_name"))?.to_string();
    let tool_input = match v.get("tool_input") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(bad("tool_input is not an object")),
    };
    let command = || -> Result<String> {
        match tool_input.get("command") {
            Some(Value::String(s)) => Ok(s.clone()),
            // Codex may pass argv; guard judges the line bash would get from it.
            Some(Value::Array(a)) => {
                let words: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
                let words = words.ok_or_else(|| bad("a command array with a non-string word"))?;
                shlex::try_join(words).map_err(|e| bad(format!("a command array guard cannot quote ({e})")))
            }
            _ => Err(bad(format!("a {tool_name} call without a command string"))),
        }
    };
    let path_of = |keys: &[&str]| -> Result<String> {
        keys.iter()
            .find_map(|k| tool_input.get(*k).and_then(Value::as_str))
            .map(str::to_string)
            .ok_or_else(|| bad(format!("a {tool_name} call without {}", keys.join(" or "))))
    };
    let call = if let Some((server, tool)) = crate::tools::mcp::split_name(&tool_name) {
        Call::Mcp { server: server.to_string(), tool: tool.to_string(), args: tool_input.clone() }
    } else {
        match (agent, tool_name.as_str()) {
            (Agent::Claude | Agent::Codex, "Bash") | (Agent::Gemini, "run_shell_command") => Call::Shell(command()?),
            (Agent::Claude, "Write" | "Edit" | "MultiEdit") => Call::Write(vec![path_of(&["file_path"])?]),
            (Agent::Claude, "NotebookEdit") => Call::Write(vec![path_of(&["notebook_path", "file_path"])?]),
            (Agent::Codex, "apply_patch") => Call::Write(patch_paths(&command()?)),
            (Agent::Gemini, "write_file" | "replace") => Call::Write(vec![path_of(&["file_path", "absolute_path"])?]),
            _ => Call::Other,
        }
    };
    // Gemini CLI's run_shell_command may name the directory it runs in.
    let cwd = match (agent, &call) {
        (Agent::Gemini, Call::Shell(_)) => ["dir_path", "directory"]
            .iter()
            .find_map(|k| tool_input.get(*k).and_then(Value::as_str))
            .map(PathBuf::from)
            .filter(|d| d.is_absolute())
            .or(cwd),
        _ => cwd,
    };
    Ok(Payload { tool_name, call, cwd, permission_mode, tool_input })
}

fn read_cursor(v: &Value, cwd: Option<PathBuf>) -> Result<Payload> {
    let event = str_field(v, "hook_event_name").ok_or_else(|| bad("the hook input has no hook_event_name"))?;
    let cwd = cwd.or_else(|| v.get("workspace_roots").and_then(|r| r.get(0)).and_then(Value::as_str).map(PathBuf::from));
    let (tool_name, call, tool_input) = match event {
        "beforeShellExecution" => {
            let cmd = str_field(v, "command").ok_or_else(|| bad("a beforeShellExecution call without a command string"))?;
            let mut input = Map::new();
            input.insert("command".into(), json!(cmd));
            ("Shell".to_string(), Call::Shell(cmd.to_string()), input)
        }
        "beforeMCPExecution" => {
            let name = str_field(v, "tool_name").ok_or_else(|| bad("a beforeMCPExecution call without tool_name"))?;
            // Cursor sends the arguments as a JSON string or as an object, depending on version.
            let args = match v.get("tool_input") {
                Some(Value::Object(m)) => m.clone(),
                Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
                Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                    Ok(Value::Object(m)) => m,
                    _ => return Err(bad("beforeMCPExecution tool_input is not a JSON object")),
                },
                None | Some(Value::Null) => Map::new(),
                Some(_) => return Err(bad("beforeMCPExecution tool_input is not an object")),
            };
            let (server, tool) = match crate::tools::mcp::split_name(name) {
                Some((s, t)) => (s.to_string(), t.to_string()),
                // Cursor names the tool alone; the server is what it runs or reaches.
                None => (
                    str_field(v, "server").or_else(|| str_field(v, "url")).or_else(|| str_field(v, "command")).unwrap_or("").to_string(),
                    name.to_string(),
                ),
            };
            (name.to_string(), Call::Mcp { server, tool, args: args.clone() }, args)
        }
        _ => (event.to_string(), Call::Other, Map::new()),
    };
    Ok(Payload { tool_name, call, cwd, permission_mode: None, tool_input })
}

/// The files a Codex `apply_patch` envelope touches.
fn patch_paths(patch: &str) -> Vec<String> {
    const MARKERS: &[&str] = &["*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: "];
    patch.lines().filter_map(|l| MARKERS.iter().find_map(|m| l.trim_start().strip_prefix(m))).map(|p| p.trim().to_string()).collect()
}

/// What judging needs from the edge.
struct Env<'a> {
    paths: &'a Paths,
    policy: &'a Policy,
    ctx: &'a Context,
    contained: bool,
    unattended: bool,
}

/// Whether this agent, in this session, would show a human the question behind `ask`.
fn can_ask(agent: Agent, payload: &Payload, env: &Env) -> bool {
    if env.unattended {
        return false;
    }
    if env.contained && rewrites(agent) {
        // Allowed lines run contained through `guard shell -c`; what a human allowed in the
        // agent's own prompt would run outside the sandbox. The way through is `guard approve`.
        return false;
    }
    match agent {
        // In bypassPermissions, dontAsk and auto modes Claude Code does not put `ask` to a human.
        Agent::Claude => matches!(payload.permission_mode.as_deref(), Some("default" | "acceptEdits" | "plan")),
        Agent::Cursor => true,
        Agent::Codex | Agent::Gemini => false,
    }
}

/// Whether the agent's hook can change the command it runs: Claude Code's `updatedInput`
/// (with `allow`), Gemini CLI's `hookSpecificOutput.tool_input`. Cursor's cannot, and Codex's
/// only in recent builds: an older Codex rejects the answer and runs the command as given,
/// uncontained, after guard judged it as contained. So Codex gets no rewrite.
fn rewrites(agent: Agent) -> bool {
    matches!(agent, Agent::Claude | Agent::Gemini)
}

fn headline(v: &Verdict) -> String {
    v.headline().map(|r| format!("{}: {}", r.rule, r.message)).unwrap_or_default()
}

/// Quotes argv for bash. A word bash cannot take (a NUL byte) is an error, never a guess.
fn quote(words: &[&str]) -> Result<String> {
    shlex::try_join(words.iter().copied()).map_err(|e| bad(format!("a command guard cannot quote for bash ({e})")))
}

fn guard_exe() -> Result<PathBuf> {
    crate::exec::own_exe().map(Path::to_path_buf).map_err(|e| Error::Internal(format!("cannot find guard's own binary: {e}")))
}

/// The one decision, for every agent. Pure apart from the approvals store (requests are made
/// or reused for escalations, never consumed).
fn judge(env: &Env, agent: Agent, payload: &Payload) -> Result<(Judgement, Option<Verdict>)> {
    match &payload.call {
        Call::Other => Ok((Judgement::NoOpinion, None)),
        Call::Write(targets) => {
            for t in targets {
                if let Some(why) = protected_write(env.ctx, t) {
                    return Ok((Judgement::Deny(why), None));
                }
            }
            Ok((Judgement::NoOpinion, None))
        }
        Call::Mcp { server, tool, args } => {
            let v = crate::tools::mcp::classify(server, tool, args, env.policy);
            let j = match v.decision {
                Decision::Allow if env.policy.hook.allow == HookAllow::Allow && !v.reasons.is_empty() => {
                    Judgement::Allow { reason: format!("guard: allowed ({})", headline(&v)), rewrite: None }
                }
                Decision::Allow => Judgement::NoOpinion,
                Decision::Escalate if can_ask(agent, payload, env) => {
                    Judgement::Ask(format!("guard: needs a human decision ({})", headline(&v)))
                }
                Decision::Escalate => Judgement::Deny(format!(
                    "guard: MCP tool {server}/{tool} needs a human ({}); guard cannot run MCP tools itself, so a human must run it or add an [[mcp.rules]] allow rule",
                    headline(&v)
                )),
                Decision::Block => Judgement::Deny(format!("guard: blocked MCP tool {server}/{tool} ({})", headline(&v))),
            };
            Ok((j, Some(v)))
        }
        Call::Shell(cmd) => shell(env, agent, payload, cmd),
    }
}

fn shell(env: &Env, agent: Agent, payload: &Payload, cmd: &str) -> Result<(Judgement, Option<Verdict>)> {
    if let Some((tool, argv)) = own_invocation(cmd) {
        // guard's own pipeline: the guard that runs will decide, audit, ask for and use approvals
        // itself. The hook only refuses early what that guard would block.
        let req = Request { tool, argv, cwd: env.ctx.cwd.clone(), target_env: crate::target_env() };
        let mut ctx = crate::context(env.paths, tool, &req.argv)?;
        ctx.cwd = env.ctx.cwd.clone();
        let v = crate::classify::classify(&req, env.policy, &ctx);
        if v.decision == Decision::Block {
            return Ok((Judgement::Deny(format!("guard: blocked `{cmd}` ({})", headline(&v))), Some(v)));
        }
        if env.contained && rewrites(agent) {
            // The real guard, by absolute path: a `guard` earlier on the session's PATH (or a
            // shell function) is not the pipeline the hook vouches for.
            let exe = guard_exe()?;
            let mut words = vec![exe.to_string_lossy().into_owned(), tool.as_str().to_string()];
            words.extend(req.argv.iter().cloned());
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            return Ok((Judgement::Allow { reason: "guard: guard's own pipeline decides".into(), rewrite: Some(quote(&words)?) }, Some(v)));
        }
        return Ok((Judgement::NoOpinion, Some(v)));
    }
    let request = Request {
        tool: ToolName::Shell,
        argv: vec!["-c".into(), cmd.to_string()],
        cwd: env.ctx.cwd.clone(),
        target_env: crate::target_env(),
    };
    let facts = crate::sandbox::Facts::read(env.ctx, &env.paths.home);
    // What guard would decide for `guard shell -c` there: contained when the policy contains.
    let (through_verdict, through_profile) = crate::judge(&request, env.policy, env.ctx, Some(&facts), &Default::default());
    let through_guard = (through_verdict, through_profile.map(std::borrow::Cow::into_owned));
    // What the hook answers for: the command as it will run. Rewritten to `guard shell -c`, it runs
    // contained; run by the agent itself (Cursor, or containment off) it does not, and then the
    // rules that stand down for contained lines (unknown programs, project scripts) stand.
    let rewritten = env.contained && rewrites(agent);
    let v = if rewritten { through_guard.0.clone() } else { crate::judge(&request, env.policy, env.ctx, None, &Default::default()).0 };
    let j = match v.decision {
        Decision::Allow if rewritten => {
            let exe = guard_exe()?;
            let rewrite = quote(&[&exe.to_string_lossy(), "shell", "-c", cmd])?;
            Judgement::Allow { reason: "guard: allowed; runs contained through `guard shell -c`".into(), rewrite: Some(rewrite) }
        }
        Decision::Allow if env.policy.hook.allow == HookAllow::Allow => Judgement::Allow { reason: "guard: allowed".into(), rewrite: None },
        Decision::Allow => Judgement::NoOpinion,
        Decision::Escalate if can_ask(agent, payload, env) => Judgement::Ask(format!("guard: needs a human decision ({})", headline(&v))),
        Decision::Escalate => escalation(env, cmd, request, &v, through_guard)?,
        Decision::Block => Judgement::Deny(format!("guard: blocked ({}). {}", headline(&v), crate::next_step_for_block(&v))),
    };
    Ok((j, Some(v)))
}

/// An escalation the agent cannot put to a human: deny, naming the way through guard — the
/// request `guard shell -c` makes there (so one approval serves both; the line's sandbox profile
/// is part of it), or, where guard would run the line contained without one, just that.
fn escalation(
    env: &Env,
    cmd: &str,
    request: Request,
    v: &Verdict,
    (guard_v, profile): (Verdict, Option<crate::sandbox::Profile>),
) -> Result<Judgement> {
    let run_it = quote(&["guard", "shell", "-c", cmd])?;
    match guard_v.decision {
        Decision::Allow => {
            return Ok(Judgement::Deny(format!(
                "guard: `{}` needs a human when it runs uncontained ({}); through guard it runs contained and needs none: {run_it}",
                crate::redact::redact(cmd),
                headline(v)
            )));
        }
        Decision::Block => {
            return Ok(Judgement::Deny(format!("guard: blocked ({}). {}", headline(&guard_v), crate::next_step_for_block(&guard_v))));
        }
        Decision::Escalate => {}
    }
    let mut req = request;
    // The request `guard shell -c` makes: it binds the content of the scripts the line runs.
    crate::bind_scripts(&mut req, env.policy, env.ctx);
    if let Some(p) = &profile {
        req.target_env.extend(crate::sandbox::binding(p));
    }
    Ok(match crate::approval::request_for(env.paths, env.policy, &req, &guard_v) {
        Ok(r) if r.approved => Judgement::Deny(format!(
            "guard: a human approved this command ({}); it runs only through guard, which uses the approval: {run_it}",
            r.id
        )),
        Ok(r) => Judgement::Deny(format!(
            "guard: `{}` needs a human approval ({}); nothing ran. Ask a human to run `guard approve {}` (expires {}), then run it through guard: {run_it}",
            crate::redact::redact(cmd),
            headline(&guard_v),
            r.id,
            r.expires
        )),
        Err(Error::Blocked(msg)) => Judgement::Deny(msg),
        Err(e) => return Err(e),
    })
}

/// `guard terraform …`, `guard kubectl …` or `guard shell -c LINE` as one simple command: the
/// tool and argv guard's own pipeline will judge. Anything with shell syntax beyond words and
/// quotes is not recognised (and is classified as a shell line).
fn own_invocation(cmd: &str) -> Option<(ToolName, Vec<String>)> {
    // `=` is literal after the first word (which must be guard), so `-chdir=infra` is fine.
    if cmd.contains([';', '&', '|', '<', '>', '(', ')', '$', '`', '\\', '\n', '\r', '*', '?', '[', '{', '~', '#']) {
        return None;
    }
    let words = shlex::split(cmd)?;
    let (program, rest) = words.split_first()?;
    let exe = crate::exec::own_exe().ok();
    if program != "guard" && exe != Some(Path::new(program)) {
        return None;
    }
    let (tool, argv) = rest.split_first()?;
    let tool = match tool.as_str() {
        "terraform" => ToolName::Terraform,
        "kubectl" => ToolName::Kubectl,
        "shell" => ToolName::Shell,
        _ => return None,
    };
    Some((tool, argv.to_vec()))
}

/// Why writing `target` is refused: guard's own files, the agents' hook and permission
/// settings, shell start-up files and git hooks. `None` for everything else.
fn protected_write(ctx: &Context, target: &str) -> Option<String> {
    let p = if Path::new(target).is_absolute() {
        crate::tools::shell::normalize_path(Path::new(target))
    } else {
        crate::tools::shell::normalize_path(&ctx.cwd.join(target))
    };
    // Through symlinks too: a link in the project that points into guard's state is refused.
    let canon = std::fs::canonicalize(&p)
        .ok()
        .or_else(|| p.parent().and_then(|d| std::fs::canonicalize(d).ok()).and_then(|d| p.file_name().map(|n| d.join(n))));
    let candidates: Vec<&Path> = std::iter::once(p.as_path()).chain(canon.as_deref()).collect();
    for c in &candidates {
        if let Some(g) = ctx.guarded.iter().find(|g| c.starts_with(g)) {
            return Some(format!("guard: writing {target} is refused: it is guard's own file ({}) (shell.guard-self)", g.display()));
        }
        if let Some(what) = crate::tools::harness::agent_settings(c) {
            return Some(format!(
                "guard: writing {target} is refused: it is {what}, which decides what the agent may do (hook.agent-settings); a human edits it"
            ));
        }
        if let Some(home) = &ctx.home
            && let Ok(rel) = c.strip_prefix(home)
            && crate::tools::harness::SHELL_STARTUP.iter().any(|s| rel == Path::new(s))
        {
            return Some(format!(
                "guard: writing {target} is refused: it is a shell start-up file, run by every later shell (hook.shell-startup); a human edits it"
            ));
        }
    }
    None
}

/// Writes a judgement in the agent's format. An empty string prints nothing.
fn format_answer(agent: Agent, payload: &Payload, j: &Judgement) -> String {
    let out = match agent {
        Agent::Claude => claude_answer(payload, j),
        Agent::Codex => match j {
            // Codex rejects a bare `allow` and fails open on `ask`: guard says nothing, rewrites
            // (allow with `updatedInput`), or denies.
            Judgement::Allow { rewrite: Some(cmd), reason } => Some(json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "allow",
                    "permissionDecisionReason": reason,
                    "updatedInput": {"command": cmd},
                }
            })),
            Judgement::NoOpinion | Judgement::Allow { .. } => None,
            Judgement::Ask(r) | Judgement::Deny(r) => Some(json!({
                "hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": r}
            })),
        },
        Agent::Cursor => Some(match j {
            Judgement::NoOpinion => json!({}),
            Judgement::Allow { .. } => json!({"permission": "allow"}),
            Judgement::Ask(r) => json!({"permission": "ask", "user_message": r, "agent_message": r}),
            Judgement::Deny(r) => json!({"permission": "deny", "user_message": r, "agent_message": r}),
        }),
        Agent::Gemini => Some(match j {
            Judgement::NoOpinion => json!({}),
            Judgement::Allow { rewrite: Some(cmd), reason } => {
                json!({"decision": "allow", "reason": reason, "hookSpecificOutput": {"hookEventName": "BeforeTool", "tool_input": {"command": cmd}}})
            }
            Judgement::Allow { reason, .. } => json!({"decision": "allow", "reason": reason}),
            Judgement::Ask(r) | Judgement::Deny(r) => json!({"decision": "deny", "reason": r}),
        }),
    };
    out.map(|v| format!("{v}\n")).unwrap_or_default()
}

fn claude_answer(payload: &Payload, j: &Judgement) -> Option<Value> {
    let (decision, reason) = match j {
        Judgement::NoOpinion => return None,
        Judgement::Allow { reason, .. } => ("allow", reason),
        Judgement::Ask(r) => ("ask", r),
        Judgement::Deny(r) => ("deny", r),
    };
    let mut out = json!({"hookEventName": "PreToolUse", "permissionDecision": decision, "permissionDecisionReason": reason});
    if let (Judgement::Allow { rewrite: Some(cmd), .. }, Some(obj)) = (j, out.as_object_mut()) {
        // updatedInput replaces the whole input: keep the other fields (description, timeout).
        let mut input = payload.tool_input.clone();
        input.insert("command".into(), json!(cmd));
        obj.insert("updatedInput".into(), Value::Object(input));
    }
    Some(json!({ "hookSpecificOutput": out }))
}

/// For `guard doctor`: is `guard hook claude` registered where Claude Code reads its settings
/// (`~/.claude/settings.json`, the project's `.claude/settings.json` and `settings.local.json`),
/// for `Bash`, with a command path that exists? Returns (0 ok | 1 warn | 2 fail, detail).
pub fn doctor_check(home: Option<&Path>, project: &Path) -> (u8, String) {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(h) = home {
        files.push(h.join(".claude/settings.json"));
    }
    files.push(project.join(".claude/settings.json"));
    files.push(project.join(".claude/settings.local.json"));
    let mut found = Vec::new();
    let mut problems: Vec<(u8, String)> = Vec::new();
    for f in files.iter().filter(|f| f.is_file()) {
        let v: Value =
            match std::fs::read_to_string(f).map_err(|e| e.to_string()).and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string())) {
                Ok(v) => v,
                Err(e) => {
                    problems.push((1, format!("{} does not parse ({e}); Claude Code may ignore it", f.display())));
                    continue;
                }
            };
        let groups = v.pointer("/hooks/PreToolUse").and_then(Value::as_array).cloned().unwrap_or_default();
        for g in &groups {
            let matcher = g.get("matcher").and_then(Value::as_str).unwrap_or("");
            let covers_bash = matcher.is_empty() || matcher == "*" || matcher.split('|').any(|m| m.trim() == "Bash" || m.trim() == ".*");
            for h in g.get("hooks").and_then(Value::as_array).into_iter().flatten() {
                let Some(cmd) = h.get("command").and_then(Value::as_str).filter(|c| c.contains("hook claude")) else { continue };
                found.push(format!("{} ({cmd})", f.display()));
                let words = shlex::split(cmd).unwrap_or_default();
                let program = words.iter().find(|w| !w.contains('=')).cloned().unwrap_or_default();
                if !covers_bash {
                    problems.push((1, format!("{}: the matcher {matcher:?} does not cover Bash", f.display())));
                }
                if !program.starts_with('/') {
                    problems.push((
                        1,
                        format!(
                            "{}: `{cmd}` is not an absolute path: where `{program}` is not on Claude Code's PATH the hook exits 127 and Claude Code runs the tool anyway",
                            f.display()
                        ),
                    ));
                } else if !Path::new(&program).is_file() {
                    problems.push((
                        2,
                        format!("{}: the hook command {program} does not exist: Claude Code runs every tool unchecked", f.display()),
                    ));
                }
            }
        }
    }
    if let Some((level, _)) = problems.iter().max_by_key(|(l, _)| *l) {
        let level = *level;
        return (level, problems.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; "));
    }
    if found.is_empty() {
        let places: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        return (1, format!("guard hook claude is not registered in {} (install.sh prints the snippet)", places.join(", ")));
    }
    (0, format!("registered in {}", found.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_invocations_are_recognised_only_as_simple_commands() {
        assert_eq!(own_invocation("guard terraform plan"), Some((ToolName::Terraform, vec!["plan".into()])));
        assert_eq!(own_invocation("guard shell -c 'rm -rf x'"), Some((ToolName::Shell, vec!["-c".into(), "rm -rf x".into()])));
        assert_eq!(own_invocation("guard terraform plan; rm -rf /"), None);
        assert_eq!(own_invocation("guard kubectl get pods $(evil)"), None);
        assert_eq!(own_invocation("/tmp/guard terraform plan"), None);
        assert_eq!(own_invocation("guard approve r-1"), None);
        assert_eq!(
            own_invocation("guard terraform -chdir=infra plan"),
            Some((ToolName::Terraform, vec!["-chdir=infra".into(), "plan".into()]))
        );
        assert_eq!(own_invocation("X=1 guard terraform plan"), None);
    }

    #[test]
    fn a_rewrite_quotes_the_command_so_bash_reads_it_back_exactly() {
        for cmd in ["ls -la", "echo 'it''s' \"$HOME\" && ls | wc -l", "printf '%s\\n' \"a b\""] {
            let q = quote(&["/opt/guard dir/bin/guard", "shell", "-c", cmd]).unwrap_or_default();
            assert_eq!(shlex::split(&q), Some(vec!["/opt/guard dir/bin/guard".into(), "shell".into(), "-c".into(), cmd.into()]), "{q}");
        }
    }

    #[test]
    fn patch_paths_are_read_from_the_envelope() {
        let p = "*** Begin Patch\n*** Update File: src/a.rs\n@@\n-x\n+y\n*** Add File: .claude/settings.json\n+{}\n*** End Patch\n";
        assert_eq!(patch_paths(p), ["src/a.rs", ".claude/settings.json"]);
    }
}
