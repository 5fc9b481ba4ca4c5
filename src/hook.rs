//! `guard hook claude`: a Claude Code PreToolUse hook. Reads the hook JSON on stdin, classifies
//! `Bash` commands as `guard shell` would, refuses writes to guard's own files, and answers
//! with `hookSpecificOutput.permissionDecision`. Fails closed: anything unreadable is `deny`.

use std::io::Read;

use serde_json::{Map, Value, json};

use crate::decision::{Decision, Verdict};
use crate::error::Result;
use crate::policy::ToolName;
use crate::state::Paths;

const WRITE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];

/// What the hook answers, before it is written.
struct Answer {
    decision: &'static str,
    reason: String,
    tool_name: String,
    verdict: Option<Verdict>,
}

pub fn claude(paths: &Paths, unattended: bool) -> Result<u8> {
    let mut input = String::new();
    let answer = match std::io::stdin().read_to_string(&mut input) {
        Ok(_) => decide(paths, &input, unattended),
        Err(e) => Some(deny("?", format!("guard: cannot read the hook input: {e}"))),
    };
    let Some(answer) = answer else {
        // A tool guard has no opinion on: Claude Code's own rules decide.
        return Ok(0);
    };
    let mut rec = Map::new();
    rec.insert("tool_name".into(), json!(answer.tool_name));
    rec.insert("answer".into(), json!(answer.decision));
    rec.insert("reason".into(), json!(crate::redact::redact(&answer.reason)));
    if let Some(v) = &answer.verdict {
        rec.insert("reasons".into(), crate::reasons_json(v));
    }
    let logged = crate::audit::append(paths, "hook", rec);
    let (decision, reason) = match logged {
        Ok(_) => (answer.decision, answer.reason),
        Err(e) => ("deny", format!("guard: cannot write the audit log ({e}); refusing")),
    };
    let out = json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    });
    if std::io::Write::write_all(&mut std::io::stdout(), format!("{out}\n").as_bytes()).is_err() {
        eprintln!("{reason}");
        return Ok(2);
    }
    Ok(0)
}

fn deny(tool: &str, reason: String) -> Answer {
    Answer { decision: "deny", reason, tool_name: tool.to_string(), verdict: None }
}

fn decide(paths: &Paths, input: &str, unattended: bool) -> Option<Answer> {
    let v: Value = match serde_json::from_str(input) {
        Ok(v) => v,
        Err(e) => {
            return Some(deny("?", format!("guard: the hook input is not JSON ({e}); refusing")));
        }
    };
    let Some(tool) = v.get("tool_name").and_then(Value::as_str) else {
        return Some(deny("?", "guard: the hook input has no tool_name; refusing".into()));
    };
    let input = v.get("tool_input");
    let cwd = v.get("cwd").and_then(Value::as_str);
    if tool == "Bash" {
        let Some(cmd) = input.and_then(|i| i.get("command")).and_then(Value::as_str) else {
            return Some(deny(tool, "guard: a Bash call without a command string; refusing".into()));
        };
        return Some(match bash(paths, cmd, cwd, unattended) {
            Ok(a) => a,
            Err(e) => deny(tool, format!("guard: {e}; refusing")),
        });
    }
    if WRITE_TOOLS.contains(&tool) {
        let key = if tool == "NotebookEdit" { "notebook_path" } else { "file_path" };
        let Some(path) = input.and_then(|i| i.get(key).or_else(|| i.get("file_path"))).and_then(Value::as_str) else {
            return Some(deny(tool, format!("guard: a {tool} call without {key}; refusing")));
        };
        return Some(match write_target(paths, path, cwd) {
            Ok(None) => return None,
            Ok(Some(reason)) => deny(tool, reason),
            Err(e) => deny(tool, format!("guard: {e}; refusing")),
        });
    }
    None
}

fn bash(paths: &Paths, cmd: &str, cwd: Option<&str>, unattended: bool) -> Result<Answer> {
    let policy = crate::policy::load(paths.policy.as_deref())?;
    let argv = vec!["-c".to_string(), cmd.to_string()];
    let mut ctx = crate::context(paths, ToolName::Shell, &argv)?;
    // The command will run where Claude Code says its session is, not where the hook runs.
    if let Some(dir) = cwd.map(std::path::PathBuf::from).filter(|d| d.is_absolute()) {
        ctx.cwd = dir;
    }
    let watchdog = crate::Watchdog::start(crate::CLASSIFY_DEADLINE, || {
        let deny = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "guard: the command took too long to analyse (shell.too-complex); refused"}});
        println!("{deny}");
        0
    });
    let request =
        crate::request::Request { tool: ToolName::Shell, argv: argv.clone(), cwd: ctx.cwd.clone(), target_env: crate::target_env() };
    let facts = crate::sandbox::Facts::read(&ctx, &paths.home);
    let (v, profile) = crate::judge(&request, &policy, &ctx, Some(&facts), false);
    drop(watchdog);
    let headline = v.headline().map(|r| format!("{}: {}", r.rule, r.message)).unwrap_or_default();
    let (decision, reason) = match v.decision {
        Decision::Allow => ("allow", "guard: allowed".to_string()),
        Decision::Escalate if unattended => {
            // The same request `guard shell -c` would make there, so one approval serves both.
            let mut req = request;
            if let Some(p) = &profile {
                req.target_env.extend(crate::sandbox::binding(p));
            }
            match crate::approval::check(paths, &policy, &req, &v, None)? {
                crate::approval::Answer::Pending(msg) => ("deny", msg),
                crate::approval::Answer::Run(_) => ("allow", "guard: approved by a human; this use consumed the approval".to_string()),
            }
        }
        Decision::Escalate => ("ask", format!("guard: needs a human decision ({headline})")),
        Decision::Block => ("deny", format!("guard: blocked ({headline})")),
    };
    Ok(Answer { decision, reason, tool_name: "Bash".into(), verdict: Some(v) })
}

fn write_target(paths: &Paths, path: &str, cwd: Option<&str>) -> Result<Option<String>> {
    let ctx = crate::context(paths, ToolName::Shell, &[])?;
    let p = match (std::path::Path::new(path).is_absolute(), cwd) {
        (false, Some(dir)) => crate::tools::shell::normalize_path(&std::path::Path::new(dir).join(path)),
        _ => crate::tools::shell::normalize_path(&crate::state::absolute(std::path::Path::new(path))),
    };
    // Through symlinks too: a link in the project that points into guard's state is refused.
    let canon = std::fs::canonicalize(&p)
        .ok()
        .or_else(|| p.parent().and_then(|d| std::fs::canonicalize(d).ok()).and_then(|d| p.file_name().map(|n| d.join(n))));
    let hit = ctx.guarded.iter().find(|g| p.starts_with(g) || canon.as_ref().is_some_and(|c| c.starts_with(g)));
    Ok(hit.map(|g| format!("guard: writing {path} is refused: it is guard's own file ({}) (shell.guard-self)", g.display())))
}
