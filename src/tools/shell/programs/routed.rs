//! terraform, kubectl and guard itself inside a line: judged as their own front ends judge
//! them, and the environment the line sets around them checked (see `vars`).

use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::Judge;
use super::vars::tool_runs;
use crate::decision::Decision;

pub(super) const JUDGES: &[(&str, Judge)] = &[("terraform", route_tool), ("kubectl", route_tool), ("guard", route_guard)];

/// `terraform`, `kubectl` run by the line: judged by their own classifiers.
fn route_tool(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    // A terraform binary run by the line: nothing of guard's resolves plan ids there.
    classify_routed(w, program, program, rest, true);
    tool_runs(w, if program == "terraform" { "terraform" } else { "kubectl" });
}

/// Judges terraform's or kubectl's arguments `rest` (`shown` as the line names the command) by
/// that tool's own classifier, in the line's working directory; `raw` for terraform itself
/// rather than `guard terraform`.
fn classify_routed(w: &mut Walker, shown: &str, tool: &str, rest: &[Arg], raw: bool) {
    if rest.iter().any(|a| !matches!(a, Arg::Lit(_))) {
        w.flag(Decision::Escalate, "shell.dynamic-args", format!("{shown} arguments known only at run time are not analysed"));
    }
    let argv: Vec<String> = rest.iter().map(|a| a.text().to_string()).collect();
    let mut ctx = w.ctx.clone();
    if let Some(c) = &w.cwd {
        ctx.cwd = c.clone();
    }
    let v = match tool {
        "terraform" if raw => crate::tools::terraform::classify_raw(&argv, w.policy, &ctx),
        "terraform" => crate::tools::terraform::classify(&argv, w.policy, &ctx),
        _ => crate::tools::kubectl::classify(&argv, w.policy, &ctx),
    };
    w.verdict.merge(v);
}

/// `guard terraform|kubectl …` in a line is guard's own pipeline (which re-checks everything
/// when it runs): judged as that front end judges it. guard's `--home`/`--policy` choose
/// another state dir or policy, which is the agent choosing its own approver: refused.
fn route_guard(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    tool_runs(w, "guard");
    let first = rest.first().map(Arg::text);
    if rest.iter().any(|a| matches!(a.text().split('=').next(), Some("--home" | "--policy"))) {
        w.flag(Decision::Block, "shell.tool-env", "guard --home/--policy in a line would pick another state dir or policy");
        return;
    }
    match first {
        Some(tool @ ("terraform" | "kubectl")) => {
            classify_routed(w, &format!("guard {tool}"), tool, rest.get(1..).unwrap_or_default(), false);
        }
        _ => w.flag(Decision::Escalate, "shell.unknown-command", "guard is not a command guard knows to be safe in a line"),
    }
}
