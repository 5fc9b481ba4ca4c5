//! terraform's argv → verdict. Pure.
//!
//! Flags are read the way terraform reads them (Go's `flag` package: one or two dashes, the
//! value after `=` or in the next argument unless the flag is boolean, `--` and the first
//! positional end the flags), so no spelling of a flag means one thing to guard and another to
//! terraform. Read-only subcommands pass; `init` is allowed unless it changes or migrates the
//! backend (that follows `[terraform] state_rewrite`, as do the state-rewriting subcommands);
//! `plan` takes its flags from an allowlist; `destroy`, `-auto-approve` and a raw `apply` with
//! or without arguments are blocked: the way through is `guard terraform plan` →
//! `guard terraform apply <plan_id>`, and only that front end ([`Front::Guard`]) resolves plan
//! ids. Anything unknown escalates.

use crate::decision::{Decision, Verdict};
use crate::policy::Policy;
use crate::request::Context;

pub const PLAN_PATH: &str =
    "run `guard terraform plan`, have a human run `guard approve <plan_id>` if asked, then `guard terraform apply <plan_id>`";

/// Who runs terraform with this argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// `guard terraform …`: guard's own plan/apply pipeline (plan ids, guard-owned plan files).
    Guard,
    /// The terraform binary itself, e.g. `terraform …` in a shell line: nothing guard owns.
    Raw,
}

/// terraform's argv split into global options, the subcommand and its arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub chdir: Option<&'a str>,
    pub subcommand: Option<&'a str>,
    pub args: Vec<&'a str>,
    pub global_help_or_version: bool,
    /// Options before the subcommand that terraform does not take there.
    pub unknown_globals: Vec<&'a str>,
}

/// Splits argv as terraform's `main` does: `-chdir=DIR` (single dash, `=` only; the last one
/// wins), help and version flags, then the first word that does not start with `-`.
pub fn parse(argv: &[String]) -> Parsed<'_> {
    let mut p = Parsed::default();
    let mut it = argv.iter().map(String::as_str);
    for a in it.by_ref() {
        if let Some(d) = a.strip_prefix("-chdir=") {
            p.chdir = Some(d);
        } else if matches!(a, "-help" | "--help" | "-h" | "-version" | "--version" | "-v") {
            p.global_help_or_version = true;
        } else if a.starts_with('-') || a.is_empty() {
            p.unknown_globals.push(a);
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

/// How a flag takes its value, in Go's `flag` package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `-x`, `-x=true|false` (never the next argument).
    Bool,
    /// `-x=v` or `-x v`.
    Value,
}

/// One argument as Go's `flag` package reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag<'a> {
    /// Without its dashes.
    pub name: &'a str,
    /// As given (`None` for a bare boolean).
    pub value: Option<&'a str>,
}

/// Flags and positionals of a subcommand's arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flags<'a> {
    pub flags: Vec<Flag<'a>>,
    pub positional: Vec<&'a str>,
}

impl Flags<'_> {
    /// A boolean flag's final value (Go: the last one wins); `false` when absent.
    pub fn bool(&self, name: &str) -> bool {
        self.flags.iter().rev().find(|f| f.name == name).is_some_and(|f| f.value.is_none_or(|v| parse_bool(v) == Some(true)))
    }
    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f.name == name)
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Reads `args` with Go's `flag` rules against `table`; a flag not in the table, a bad boolean,
/// a missing value or bad flag syntax is an `Err` naming it (terraform would refuse it too,
/// but guard refuses first rather than guess).
pub fn parse_flags<'a>(args: &[&'a str], table: &[(&str, Kind)]) -> Result<Flags<'a>, String> {
    let mut out = Flags::default();
    let mut i = 0;
    while let Some(&a) = args.get(i) {
        i += 1;
        if a.len() < 2 || !a.starts_with('-') {
            out.positional.push(a);
            break;
        }
        if a == "--" {
            break;
        }
        let body = a.strip_prefix("--").unwrap_or_else(|| a.get(1..).unwrap_or_default());
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(format!("bad flag syntax {a:?}"));
        }
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some((_, kind)) = table.iter().find(|(n, _)| *n == name) else {
            return Err(format!("-{name}"));
        };
        let value = match (kind, value) {
            (Kind::Bool, Some(v)) if parse_bool(v).is_none() => return Err(format!("-{name}={v} (not a boolean)")),
            (Kind::Bool, v) => v,
            (Kind::Value, Some(v)) => Some(v),
            (Kind::Value, None) => match args.get(i) {
                Some(&v) => {
                    i += 1;
                    Some(v)
                }
                None => return Err(format!("-{name} without its value")),
            },
        };
        out.flags.push(Flag { name, value });
    }
    out.positional.extend(args.get(i..).unwrap_or_default());
    Ok(out)
}

/// The `plan` flags guard accepts: they choose what is planned, never where the plan or the
/// state goes (`-out`, `-state`, `-generate-config-out` are refused). `-input` is passed on
/// after guard's own `-input=false`; asking for input changes nothing guard records.
pub const PLAN_FLAGS: &[(&str, Kind)] = &[
    ("destroy", Kind::Bool),
    ("refresh-only", Kind::Bool),
    ("refresh", Kind::Bool),
    ("replace", Kind::Value),
    ("target", Kind::Value),
    ("var", Kind::Value),
    ("var-file", Kind::Value),
    ("compact-warnings", Kind::Bool),
    ("detailed-exitcode", Kind::Bool),
    ("input", Kind::Bool),
    ("lock", Kind::Bool),
    ("lock-timeout", Kind::Value),
    ("no-color", Kind::Bool),
    ("parallelism", Kind::Value),
    ("json", Kind::Bool),
];

/// terraform 1.11's `init` flags.
const INIT_FLAGS: &[(&str, Kind)] = &[
    ("backend", Kind::Bool),
    ("backend-config", Kind::Value),
    ("force-copy", Kind::Bool),
    ("from-module", Kind::Value),
    ("get", Kind::Bool),
    ("input", Kind::Bool),
    ("lock", Kind::Bool),
    ("lock-timeout", Kind::Value),
    ("no-color", Kind::Bool),
    ("json", Kind::Bool),
    ("plugin-dir", Kind::Value),
    ("reconfigure", Kind::Bool),
    ("migrate-state", Kind::Bool),
    ("upgrade", Kind::Bool),
    ("lockfile", Kind::Value),
    ("ignore-remote-version", Kind::Bool),
    ("test-directory", Kind::Value),
];

/// The options of a `guard terraform plan` that guard acts on, read as terraform reads them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    pub destroy: bool,
    pub detailed_exitcode: bool,
}

/// The plan options of `args` (the plan subcommand's arguments, guard's `--json` removed).
pub fn plan_options(args: &[&str]) -> PlanOptions {
    match parse_flags(args, PLAN_FLAGS) {
        Ok(f) => PlanOptions { destroy: f.bool("destroy"), detailed_exitcode: f.bool("detailed-exitcode") },
        Err(_) => PlanOptions::default(),
    }
}

/// The plan subcommand's arguments minus guard's own `--json` (print the plan record), which
/// only the guard front end takes.
pub fn plan_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().copied().filter(|a| *a != "--json").collect()
}

/// For `guard terraform init …`: the argv guard runs instead, with `-input=false` right after
/// the subcommand. A changed backend then cannot be migrated by an answer on stdin (`echo yes |
/// terraform init` overwrote another state); terraform asks for `-migrate-state` or
/// `-reconfigure`, which follow `state_rewrite`. `None` for anything but `init`.
pub fn noninteractive_init(argv: &[String]) -> Option<Vec<String>> {
    let p = parse(argv);
    if p.subcommand != Some("init") {
        return None;
    }
    let at = argv.len() - p.args.len();
    let mut out = argv.get(..at).unwrap_or_default().to_vec();
    out.push("-input=false".into());
    out.extend(p.args.iter().map(|a| (*a).to_string()));
    Some(out)
}

/// Whether an argument names the flag `name` with one or two dashes (any value).
fn names_flag(a: &str, name: &str) -> bool {
    let body = a.strip_prefix("--").or_else(|| a.strip_prefix('-')).unwrap_or_default();
    body == name || body.strip_prefix(name).is_some_and(|r| r.starts_with('='))
}

/// The verdict for `guard terraform ARGV`.
pub fn classify(argv: &[String], policy: &Policy, ctx: &Context) -> Verdict {
    classify_as(Front::Guard, argv, policy, ctx)
}

/// The verdict for the terraform binary run with ARGV directly (a shell line's `terraform …`).
pub fn classify_raw(argv: &[String], policy: &Policy, ctx: &Context) -> Verdict {
    classify_as(Front::Raw, argv, policy, ctx)
}

pub fn classify_as(front: Front, argv: &[String], policy: &Policy, ctx: &Context) -> Verdict {
    let p = parse(argv);
    let args = &p.args;
    let Some(sub) = p.subcommand else {
        if (p.global_help_or_version && p.unknown_globals.is_empty()) || argv.is_empty() {
            return Verdict::allow();
        }
        return Verdict::single(Decision::Escalate, "terraform.unknown-subcommand", "terraform without a subcommand guard understands");
    };
    let mut v = Verdict::allow();
    if !p.unknown_globals.is_empty() {
        v.add(
            Decision::Escalate,
            "terraform.unknown-flag",
            format!("{} before the subcommand is not an option guard knows terraform to take", p.unknown_globals.join(" ")),
        );
    }
    if args.iter().take_while(|a| **a != "--").any(|a| names_flag(a, "auto-approve")) {
        v.add(Decision::Block, "terraform.auto-approve", format!("-auto-approve skips review; {PLAN_PATH}"));
    }
    let state = policy.terraform.state_rewrite;
    match sub {
        "apply" => match (front, args.as_slice()) {
            // Only guard's front end resolves plan ids; it then checks the plan record, the plan
            // file's hash and the approval (lib.rs, plans.rs).
            (Front::Guard, [id]) if is_plan_id(id) => {}
            (Front::Guard, all) if all.iter().any(|a| is_plan_id(a)) => v.add(
                Decision::Block,
                "terraform.apply-flags",
                format!(
                    "`guard terraform apply <plan_id>` takes nothing else (got {}): the reviewed plan is applied exactly",
                    all.join(" ")
                ),
            ),
            (Front::Raw, []) | (Front::Guard, _) => {
                v.add(Decision::Block, "terraform.raw-apply", format!("raw `terraform apply` is refused; {PLAN_PATH}"))
            }
            (Front::Raw, all) => v.add(
                Decision::Block,
                "terraform.raw-apply",
                format!(
                    "raw `terraform apply {}` is refused: terraform applies any plan file or configuration it is given, and only `guard terraform apply <plan_id>` checks one; {PLAN_PATH}",
                    all.join(" ")
                ),
            ),
        },
        "destroy" => v.add(
            Decision::Block,
            "terraform.destroy",
            format!("`terraform destroy` is refused; plan it with `guard terraform plan -destroy`, then {PLAN_PATH}"),
        ),
        "plan" => {
            let own = if front == Front::Guard { plan_args(args) } else { args.clone() };
            if own.iter().take_while(|a| **a != "--").any(|a| names_flag(a, "out")) {
                v.add(
                    Decision::Block,
                    "terraform.plan-out",
                    "guard owns the plan file: drop -out and use the plan id `guard terraform plan` prints",
                );
            } else {
                match parse_flags(&own, PLAN_FLAGS) {
                    Err(bad) => v.add(
                        Decision::Block,
                        "terraform.plan-flag",
                        format!(
                            "`terraform plan {bad}` is refused: guard takes plan flags from an allowlist ({})",
                            PLAN_FLAGS.iter().map(|(n, _)| format!("-{n}")).collect::<Vec<_>>().join(" ")
                        ),
                    ),
                    Ok(f) if !f.positional.is_empty() => v.add(
                        Decision::Block,
                        "terraform.plan-flag",
                        format!("`terraform plan` takes no arguments besides flags (got {})", f.positional.join(" ")),
                    ),
                    Ok(_) => {}
                }
            }
        }
        "init" => match parse_flags(args, INIT_FLAGS) {
            Err(bad) => v.add(Decision::Escalate, "terraform.unknown-flag", format!("`terraform init {bad}` is not a flag guard knows")),
            Ok(f) => {
                let backend: Vec<String> = ["migrate-state", "force-copy", "reconfigure"]
                    .iter()
                    .filter(|n| f.bool(n))
                    .map(|n| format!("-{n}"))
                    .chain(f.has("backend-config").then(|| "-backend-config".to_string()))
                    .collect();
                if !backend.is_empty() {
                    v.add(
                        state,
                        "terraform.state-rewrite",
                        format!("`terraform init {}` changes or migrates the backend, and with it the state", backend.join(" ")),
                    );
                }
                if !f.positional.is_empty() {
                    v.add(Decision::Escalate, "terraform.unknown-flag", "`terraform init` takes no directory argument (use -chdir)");
                }
                let input_off = f.has("input") && !f.bool("input");
                if front == Front::Raw && !ctx.contained && !input_off {
                    // The terraform binary itself, uncontained, reads stdin (contained, the line
                    // reaches `guard terraform init` through the broker, which adds -input=false).
                    v.add(
                        state,
                        "terraform.state-rewrite",
                        "a raw `terraform init` answers its \"copy the state?\" question from stdin after a backend change; add -input=false",
                    );
                }
                if f.has("input") && f.bool("input") {
                    // With input, a changed backend asks "copy the state?" and a piped `yes`
                    // migrates it: guard runs init with -input=false (see `noninteractive_init`).
                    v.add(state, "terraform.state-rewrite", "`terraform init -input=true` can migrate the state on a typed or piped answer");
                }
            }
        },
        "validate" | "fmt" | "show" | "output" | "providers" | "version" | "graph" | "get" | "metadata" | "modules" => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_as_go_reads_them() {
        let f = parse_flags(&["--out=x", "-destroy"], &[("out", Kind::Value), ("destroy", Kind::Bool)]).ok();
        assert_eq!(f.as_ref().map(|f| f.flags.len()), Some(2));
        let f = parse_flags(&["--out", "x", "-destroy=false", "pos", "-target=a"], &[("out", Kind::Value), ("destroy", Kind::Bool)])
            .unwrap_or_default();
        assert_eq!(f.flags.first(), Some(&Flag { name: "out", value: Some("x") }));
        assert!(!f.bool("destroy"));
        assert_eq!(f.positional, vec!["pos", "-target=a"]);
        assert!(parse_flags(&["---x"], PLAN_FLAGS).is_err());
        assert!(parse_flags(&["-destroy=maybe"], PLAN_FLAGS).is_err());
        assert!(parse_flags(&["-target"], PLAN_FLAGS).is_err());
        assert!(plan_options(&["--destroy"]).destroy);
        assert!(!plan_options(&["-destroy=0"]).destroy);
    }
}
