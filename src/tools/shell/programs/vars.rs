//! The shell's own state: variables (`declare`/`export`/`local`, `let`, names that builtins
//! assign, variables that hijack what later commands run), the working directory (`cd`), and
//! the environment a line may set around guard, terraform or kubectl.

use super::super::places;
use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::Judge;
use crate::decision::Decision;

#[rustfmt::skip]
pub(super) const JUDGES: &[(&str, Judge)] = &[
    ("export", declare), ("declare", declare), ("typeset", declare), ("local", declare), ("readonly", declare),
    ("let", let_), ("cd", change_dir), ("pushd", change_dir), ("popd", change_dir), ("hash", hash), ("shopt", shopt),
];

/// `hash -p /usr/bin/rm ls` makes `ls` run rm for the rest of the line (see `resolve_program`).
fn hash(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let Some(i) = rest.iter().position(|a| a.text() == "-p") else { return };
    match (rest.get(i + 1), rest.get(i + 2)) {
        (Some(Arg::Lit(path)), Some(Arg::Lit(alias))) => {
            let target = super::resolve_program(w, path);
            w.hashed.insert(alias.clone(), target);
        }
        _ => w.flag(Decision::Escalate, "shell.dynamic-command", "hash -p makes a name run a program guard cannot tell"),
    }
}

fn let_(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    for a in rest {
        w.arith(a.text());
    }
}

/// Variables whose assignment changes what later commands run or load.
#[rustfmt::skip]
const HIJACK_VARS: &[&str] = &[
    "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV", "PROMPT_COMMAND", "PS4", "IFS", "SHELLOPTS",
    "BASHOPTS", "GLOBIGNORE", "CDPATH", "PYTHONPATH", "PYTHONSTARTUP", "NODE_OPTIONS", "PERL5OPT", "PERL5LIB", "RUBYOPT",
    "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_PARAMETERS", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "PAGER",
    "EDITOR", "VISUAL", "SUDO_ASKPASS", "KUBECONFIG", "TF_CLI_ARGS", "GUARD_HOME", "GUARD_POLICY", "GUARD_TERRAFORM",
    "GUARD_KUBECTL", "DYLD_INSERT_LIBRARIES", "HOME", "PWD",
    // Programs that run a command they name: less's input filters and options (`+!cmd`), man's
    // and systemd's pagers, git's editors and askpass helpers, rsync's shell, tar's options.
    "LESSOPEN", "LESSCLOSE", "LESS", "MANPAGER", "MANOPT", "SYSTEMD_PAGER", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_ASKPASS",
    "SSH_ASKPASS", "GIT_SSH", "RSYNC_RSH", "BROWSER", "TAR_OPTIONS",
];

/// A variable name a builtin takes: its subscript is arithmetic, and a name known only at run time
/// could hold any subscript.
pub(in crate::tools::shell) fn variable_name(w: &mut Walker, program: &str, name: &Arg) {
    if !matches!(program, "test" | "[" | "[[ -v ]]") {
        // `unset NAME`, `read NAME`, `printf -v NAME`, `declare $dynamic`: NAME changes.
        env_change(w, if matches!(name, Arg::Lit(_)) { name.text() } else { "<a name known only at run time>" });
    }
    // A name glued to its option (`-vNAME`, `-aNAME`): names never start with `-`.
    let t = name.text();
    let t = t.strip_prefix('-').and_then(|o| o.get(1..)).unwrap_or(t);
    if t == "PWD" && !matches!(program, "test" | "[" | "[[ -v ]]") {
        w.flag(Decision::Escalate, "shell.env-hijack", format!("{program} PWD changes what $PWD names"));
    }
    match name {
        Arg::Dyn { .. } => w.flag(
            Decision::Escalate,
            "shell.dynamic-code",
            format!("{program} takes the variable name {t:?}, known only at run time (a subscript in it runs as arithmetic)"),
        ),
        _ => {
            if let Some((_, index)) = t.split_once('[') {
                w.arith(index.strip_suffix(']').unwrap_or(index));
            }
        }
    }
}

/// `declare`, `local`, `export`, …: assignments, and the attributes that change what they mean.
fn declare(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let (mut integer, mut assoc) = (false, false);
    // A nameref bound to PWD, or to a name set later (`declare -n r; r=PWD`), writes PWD, which
    // guard reads as the working directory: wherever in the line it is, the line escalates.
    let nameref = rest.iter().any(|a| a.text().starts_with('-') && !a.text().contains('=') && a.text().contains('n'));
    if nameref
        && rest
            .iter()
            .filter(|a| !a.text().starts_with('-'))
            .any(|a| a.text().split_once('=').is_none_or(|(_, v)| v == "PWD" || v.is_empty()))
    {
        w.flag(Decision::Escalate, "shell.env-hijack", "a nameref that may name PWD changes what $PWD names");
    }
    for a in rest {
        let t = a.text();
        let static_name = t.split_once('=').is_some_and(|(n, _)| !n.is_empty() && !n.contains('$') && !n.contains('`'));
        if !matches!(a, Arg::Lit(_)) && !static_name {
            // `declare $f r=i`, `local "$n=1"`: options or names known only at run time.
            w.ints.nameref = true;
            variable_name(w, "declare", a);
            continue;
        }
        if t.starts_with('-') && t.len() > 1 && !t.contains('=') {
            integer |= t.contains('i');
            assoc |= t.contains('A');
            // `-n`: a nameref; assigning to it assigns to whatever variable it names.
            w.ints.nameref |= t.contains('n');
            continue;
        }
        let (name, value) = match t.split_once('=') {
            Some((name, value)) => (name.trim_end_matches('+'), Some(value)),
            None => (t, None),
        };
        let (name, index) = match name.split_once('[') {
            Some((n, idx)) => (n, Some(idx.trim_end_matches(']'))),
            None => (name, None),
        };
        if integer {
            w.ints.integer_attr.insert(name.to_string());
        }
        if assoc {
            w.ints.assoc.insert(name.to_string());
        }
        if let Some(idx) = index {
            w.subscript(name, idx);
        }
        let Some(value) = value else { continue };
        check_assignment(w, name);
        let value = match a {
            Arg::Lit(_) => Arg::Lit(value.to_string()),
            _ => Arg::dynamic(value),
        };
        w.assigned(name, &value, true);
    }
}

pub(in crate::tools::shell) fn check_assignment(w: &mut Walker, name: &str) {
    env_change(w, name);
    if HIJACK_VARS.contains(&name) || name.starts_with("BASH_FUNC_") || name.starts_with("GIT_CONFIG_") || name.starts_with("TF_CLI_ARGS") {
        w.flag(Decision::Escalate, "shell.env-hijack", format!("setting {name} changes what later commands run or where guard looks"));
    }
}

/// `shopt -s cdable_vars` (or any option set known only at run time): from then on `cd NAME`
/// may go where a variable NAME points (`h=/; cd h`), not to `./NAME`.
fn shopt(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let sets = rest.iter().any(|a| a.text() == "-s");
    if sets && rest.iter().any(|a| a.text() == "cdable_vars" || !matches!(a, Arg::Lit(_))) {
        w.cdable_vars = true;
    }
}

/// `cd`, `pushd`, `popd`: later paths in the line are relative to the new directory, when known.
fn change_dir(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let target = rest.iter().find(|a| !a.text().starts_with('-') || a.text() == "-");
    // With CDPATH set in the environment, `cd NAME` searches it first (`./NAME` only after).
    let searched = |t: &str| !(t.starts_with('/') || t.starts_with("./") || t.starts_with("../") || t == "." || t == ".." || t == "-");
    if w.ctx.cdpath && matches!(program, "cd" | "pushd") && target.is_some_and(|t| searched(t.text())) {
        w.cwd = None;
        return;
    }
    if w.cdable_vars && target.is_some_and(|t| !t.text().contains('/') && !t.text().starts_with('.')) {
        w.cwd = None;
        return;
    }
    // `cd x | …` and `cd x &` run in a subshell — or, the last of a pipeline under `shopt -s
    // lastpipe`, in this one: where later commands run is not known.
    if w.fork_context {
        w.cwd = None;
        return;
    }
    w.cwd = match (program, target, &w.cwd) {
        ("cd" | "pushd", None, _) => w.ctx.home.clone(),
        ("cd" | "pushd", Some(Arg::Lit(t)), _) if t != "-" => {
            places::absolute(&Arg::Lit(t.clone()), w.cwd.as_deref(), w.ctx.home.as_deref()).map(|(p, _)| p)
        }
        _ => None,
    };
}

/// Environment variables a line may set, export or unset before guard, terraform or kubectl:
/// ones that change only how output looks, logging to stderr, and terraform's input
/// variables (recorded in the plan file guard hashes). Anything else may change what the
/// tool reaches or what guard checks (`GUARD_HOME`, `XDG_STATE_HOME`, `TF_CLI_ARGS`, …).
const TOOL_ENV_ALLOWED: &[&str] = &[
    "TF_IN_AUTOMATION",
    "TF_INPUT",
    "TF_LOG",
    "TF_LOG_CORE",
    "TF_LOG_PROVIDER",
    "CHECKPOINT_DISABLE",
    "NO_COLOR",
    "TERM",
    "COLUMNS",
    "LINES",
    "LANG",
    "LANGUAGE",
    "TZ",
];

fn tool_env_allowed(name: &str) -> bool {
    // All-lowercase names are the line's own variables by convention, except the proxy ones
    // that every HTTP client reads.
    let local = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') && !name.ends_with("_proxy");
    local || TOOL_ENV_ALLOWED.contains(&name) || name.starts_with("LC_") || name.starts_with("TF_VAR_")
}

/// Records that the line sets, exports or unsets `name`.
pub(super) fn env_change(w: &mut Walker, name: &str) {
    if tool_env_allowed(name) {
        return;
    }
    if let Some(tool) = w.facts.tool {
        refuse_tool_env(w, name, tool);
    }
    w.facts.changed.get_or_insert_with(|| name.to_string());
}

/// Records that the line runs guard, terraform or kubectl.
pub(super) fn tool_runs(w: &mut Walker, tool: &'static str) {
    if let Some(name) = w.facts.changed.clone() {
        refuse_tool_env(w, &name, tool);
    }
    w.facts.tool.get_or_insert(tool);
}

fn refuse_tool_env(w: &mut Walker, name: &str, tool: &str) {
    w.flag(
        Decision::Block,
        "shell.tool-env",
        format!("the line changes {name} and runs {tool}: only output and locale variables may be set for guard, terraform or kubectl"),
    );
}
