//! classify: one request in, one verdict out. Pure: the per-tool classifiers plus the policy.
//!
//! Also checks a policy's examples (each rule's and the policy-wide `[[examples]]`) against
//! the classifiers, in the fixed example context, so a broken rule fails at load.

use crate::decision::Verdict;
use crate::error::{Error, Result};
use crate::policy::{Example, Policy, ToolName};
use crate::request::{Context, Request};
use crate::tools::{kubectl, shell, terraform};

/// The verdict for a request. Pure.
pub fn classify(req: &Request, policy: &Policy, ctx: &Context) -> Verdict {
    match req.tool {
        ToolName::Shell => shell::classify_bash_argv(&req.argv, policy, ctx),
        ToolName::Kubectl => kubectl::classify(&req.argv, policy, ctx),
        ToolName::Terraform => terraform::classify(&req.argv, policy, ctx),
    }
}

/// The verdict for a policy example.
pub fn classify_example(ex: &Example, policy: &Policy, ctx: &Context) -> Verdict {
    match ex.tool {
        ToolName::Shell => shell::classify_line(ex.line.as_deref().unwrap_or_default(), policy, ctx),
        ToolName::Kubectl => kubectl::classify(ex.args.as_deref().unwrap_or_default(), policy, ctx),
        ToolName::Terraform => terraform::classify(ex.args.as_deref().unwrap_or_default(), policy, ctx),
    }
}

/// Which examples to check.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Built-in rules' examples and the policy-wide ones: for the built-in policy.
    All,
    /// The user's rules' examples, and the policy-wide ones when the user wrote them.
    Users,
}

/// Runs the examples of `policy` in `scope`; the first failure is a configuration error (78).
pub fn check_examples(policy: &Policy, text: &str, scope: Scope) -> Result<()> {
    let ctx = Context::example();
    let name = policy.source.file.as_ref().map_or_else(|| "<built-in>".to_string(), |p| p.display().to_string());
    for id in &policy.shell.disabled_rules {
        if shell::INTEGRITY_RULES.contains(&id.as_str()) {
            return Err(Error::Config(format!(
                "guard: policy {name}: line {}: {id} cannot be disabled: guard never allows what it cannot analyse",
                Policy::example_line(text, id)
            )));
        }
    }
    let builtin: &[crate::policy::Rule] = if scope == Scope::All { &policy.shell.builtin_rules } else { &[] };
    let rules = builtin.iter().filter(|r| policy.shell.enabled(&r.id)).chain(&policy.shell.rules);
    for rule in rules {
        for ex in &rule.examples {
            let got = shell::classify_line(&ex.line, policy, &ctx);
            if got.decision != ex.decision {
                let line = Policy::example_line(text, &ex.line);
                let place = if line == 0 { format!("{name}: (built-in rule)") } else { format!("{name}: line {line}") };
                return Err(Error::Config(format!(
                    "guard: policy {place}: example of rule {} fails: `{}` should be {} but is {}{}",
                    rule.id,
                    ex.line,
                    ex.decision,
                    got.decision,
                    because(&got)
                )));
            }
        }
    }
    for rule in &policy.mcp.rules {
        for ex in &rule.examples {
            let got = crate::tools::mcp::classify(&ex.server, &ex.tool, &ex.args, policy);
            if got.decision != ex.decision {
                return Err(Error::Config(format!(
                    "guard: policy {name}: line {}: example of mcp rule {} fails: {}/{} should be {} but is {}{}",
                    Policy::example_line(text, &format!("\"{}\"", ex.tool)),
                    rule.id,
                    ex.server,
                    ex.tool,
                    ex.decision,
                    got.decision,
                    because(&got)
                )));
            }
        }
    }
    let examples: &[Example] = if scope == Scope::All || policy.examples_are_users { &policy.examples } else { &[] };
    for ex in examples {
        let got = classify_example(ex, policy, &ctx);
        let shown = ex.line.clone().unwrap_or_else(|| ex.args.clone().unwrap_or_default().join(" "));
        let rule_ok = ex.rule.as_ref().is_none_or(|r| got.reasons.iter().any(|x| &x.rule == r));
        if got.decision != ex.decision || !rule_ok {
            let needle = ex.line.clone().or_else(|| ex.args.as_ref().and_then(|a| a.last().cloned())).unwrap_or_default();
            return Err(Error::Config(format!(
                "guard: policy {name}: line {}: example `{} {shown}` should be {}{} but is {}{}",
                Policy::example_line(text, &needle),
                ex.tool.as_str(),
                ex.decision,
                ex.rule.as_ref().map(|r| format!(" by {r}")).unwrap_or_default(),
                got.decision,
                because(&got)
            )));
        }
    }
    Ok(())
}

fn because(v: &Verdict) -> String {
    match v.headline() {
        Some(r) => format!(" ({}: {})", r.rule, r.message),
        None => String::new(),
    }
}
