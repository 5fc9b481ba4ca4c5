//! terraform's argv → verdict. Pure.
//!
//! Read-only subcommands pass; `init` is allowed; raw `apply`, `destroy` and `-auto-approve`
//! are blocked (the way through is `guard terraform plan` → `guard terraform apply <plan_id>`);
//! state-rewriting subcommands follow `[terraform] state_rewrite`; anything unknown escalates.

use crate::decision::{Decision, Verdict};
use crate::policy::Policy;
use crate::request::Context;

pub const PLAN_PATH: &str =
    "run `guard terraform plan`, have a human run `guard approve <plan_id>` if asked, then `guard terraform apply <plan_id>`";

/// terraform's argv split into global options, the subcommand and its arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub chdir: Option<&'a str>,
    pub subcommand: Option<&'a str>,
    pub args: Vec<&'a str>,
    pub global_help_or_version: bool,
}

pub fn parse(argv: &[String]) -> Parsed<'_> {
    let mut p = Parsed::default();
    let mut it = argv.iter().map(String::as_str);
    for a in it.by_ref() {
        if let Some(d) = a.strip_prefix("-chdir=").or_else(|| a.strip_prefix("--chdir=")) {
            p.chdir = Some(d);
        } else if matches!(a, "-help" | "--help" | "-h" | "-version" | "--version" | "-v") {
            p.global_help_or_version = true;
        } else if a.starts_with('-') {
            // Unknown global option: keep it with the args so the subcommand check sees it.
            p.args.push(a);
        } else {
            p.subcommand = Some(a);
            break;
        }
    }
    p.args.extend(it);
    p
}

/// Whether `s` looks like a guard plan id (`p-` and hex).
pub fn is_plan_id(s: &str) -> bool {
    s.strip_prefix("p-").is_some_and(|h| !h.is_empty() && h.len() <= 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn flag(args: &[&str], names: &[&str]) -> bool {
    args.iter().any(|a| {
        names.iter().any(|n| {
            *a == *n
                || a.strip_prefix(n).is_some_and(|rest| rest.starts_with('='))
                || a.trim_start_matches('-') == n.trim_start_matches('-')
        })
    })
}

pub fn classify(argv: &[String], policy: &Policy, _ctx: &Context) -> Verdict {
    let p = parse(argv);
    let args = &p.args;
    let Some(sub) = p.subcommand else {
        if p.global_help_or_version || argv.is_empty() {
            return Verdict::allow();
        }
        return Verdict::single(Decision::Escalate, "terraform.unknown-subcommand", "terraform without a subcommand guard understands");
    };
    let mut v = Verdict::allow();
    if flag(args, &["-auto-approve"]) {
        v.add(Decision::Block, "terraform.auto-approve", format!("-auto-approve skips review; {PLAN_PATH}"));
    }
    let state = policy.terraform.state_rewrite;
    match sub {
        "apply" => {
            let positional: Vec<&&str> = args.iter().filter(|a| !a.starts_with('-')).collect();
            match positional.as_slice() {
                [id] if is_plan_id(id) => {
                    if flag(args, &["-destroy"]) {
                        v.add(
                            Decision::Block,
                            "terraform.destroy",
                            format!("apply -destroy is not how a reviewed plan is applied; {PLAN_PATH}"),
                        );
                    }
                    let extra: Vec<&&str> = args.iter().filter(|a| a.starts_with('-')).collect();
                    if !extra.is_empty() {
                        v.add(
                            Decision::Block,
                            "terraform.apply-flags",
                            format!(
                                "`apply <plan_id>` takes no flags (got {}): the reviewed plan is applied exactly",
                                extra.iter().map(|s| **s).collect::<Vec<_>>().join(" ")
                            ),
                        );
                    }
                    // The plan's own checks (hash, TTL, single use, approval) run in the plan flow.
                }
                _ => v.add(Decision::Block, "terraform.raw-apply", format!("raw `terraform apply` is refused; {PLAN_PATH}")),
            }
        }
        "destroy" => v.add(
            Decision::Block,
            "terraform.destroy",
            format!("`terraform destroy` is refused; plan it with `guard terraform plan -destroy`, then {PLAN_PATH}"),
        ),
        "plan" => {
            if flag(args, &["-out"]) {
                v.add(
                    Decision::Block,
                    "terraform.plan-out",
                    "guard owns the plan file: drop -out and use the plan id `guard terraform plan` prints",
                );
            }
        }
        "validate" | "fmt" | "show" | "output" | "providers" | "version" | "graph" | "init" | "get" | "metadata" | "modules" => {}
        "console" => {}
        "state" => match args.iter().find(|a| !a.starts_with('-')).copied() {
            Some("list" | "show" | "pull") => {}
            Some(s @ ("rm" | "mv" | "push" | "replace-provider")) => {
                v.add(state, "terraform.state-rewrite", format!("`terraform state {s}` rewrites state"))
            }
            _ => v.add(Decision::Escalate, "terraform.unknown-subcommand", "a `terraform state` subcommand guard does not know"),
        },
        "workspace" => match args.iter().find(|a| !a.starts_with('-')).copied() {
            Some("list" | "show" | "select" | "new") => {}
            Some("delete") => v.add(state, "terraform.state-rewrite", "`terraform workspace delete` removes a workspace's state"),
            _ => v.add(Decision::Escalate, "terraform.unknown-subcommand", "a `terraform workspace` subcommand guard does not know"),
        },
        "import" | "taint" | "untaint" | "force-unlock" | "refresh" => {
            v.add(state, "terraform.state-rewrite", format!("`terraform {sub}` rewrites state"))
        }
        "test" => v.add(Decision::Escalate, "terraform.test", "`terraform test` creates and destroys real infrastructure"),
        "login" | "logout" => v.add(Decision::Escalate, "terraform.credentials", format!("`terraform {sub}` changes stored credentials")),
        other => v.add(Decision::Escalate, "terraform.unknown-subcommand", format!("`terraform {other}` is not a subcommand guard knows")),
    }
    v
}
