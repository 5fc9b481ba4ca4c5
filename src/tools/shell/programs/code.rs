//! Programs whose arguments or input are code: shells (`bash -c`, scripts, stdin),
//! interpreters (`python -c`, `node -e`, `perl -e`, `python -m`), and the builtins and
//! programs that run a string as a line (`eval`, `source`, `su -c`, `script -c`, `alias`
//! bodies, `trap` actions, `enable -f`).

use super::super::places::{self, Place};
use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::{Judge, known_or_unknown, note_script};
use crate::decision::Decision;

#[rustfmt::skip]
pub(super) const JUDGES: &[(&str, Judge)] = &[
    // Shells whose `-c` string, script or stdin is code.
    ("bash", shell_program), ("sh", shell_program), ("zsh", shell_program), ("dash", shell_program), ("ksh", shell_program),
    ("mksh", shell_program), ("fish", shell_program), ("ash", shell_program), ("busybox", shell_program),
    ("rbash", shell_program), ("tcsh", shell_program), ("csh", shell_program),
    // Interpreters whose inline code guard cannot read.
    ("python", interpreter), ("python2", interpreter), ("python3", interpreter), ("perl", interpreter), ("ruby", interpreter),
    ("node", interpreter), ("nodejs", interpreter), ("php", interpreter), ("lua", interpreter), ("Rscript", interpreter),
    ("deno", interpreter), ("bun", interpreter), ("osascript", interpreter), ("pwsh", interpreter), ("powershell", interpreter),
    ("tclsh", interpreter), ("wish", interpreter), ("jshell", interpreter), ("irb", interpreter),
    ("eval", eval), ("source", source), (".", source), ("su", su), ("script", script),
    ("alias", alias), ("trap", trap), ("enable", enable),
];

/// `python3.12`, `python2.7`: interpreters named with their version.
pub(super) const PREFIXES: &[(&str, Judge)] = &[("python3.", interpreter), ("python2.", interpreter)];

fn eval(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    shell_string(w, rest, "eval", depth)
}

fn source(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if rest.first().is_some_and(Arg::is_tainted) {
        w.flag(Decision::Block, "shell.remote-code", format!("{program} runs downloaded or decoded code"));
    } else {
        w.flag(Decision::Escalate, "shell.source", format!("{program} runs a script guard does not analyse"));
        note_script(w, rest.first());
        w.opaque = true;
    }
}

fn su(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    let mut cmd = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.text() {
            "-c" | "--command" => cmd = it.next().cloned(),
            t if t.starts_with("--command=") => cmd = Some(Arg::Lit(t.trim_start_matches("--command=").into())),
            _ => {}
        }
    }
    w.flag(Decision::Escalate, "shell.sudo", "su runs commands as another user");
    if let Some(c) = cmd {
        shell_string(w, &[c], "su -c", depth);
    }
}

fn script(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    let mut it = rest.iter();
    let mut ran = false;
    while let Some(a) = it.next() {
        if matches!(a.text(), "-c" | "--command")
            && let Some(c) = it.next()
        {
            shell_string(w, std::slice::from_ref(c), "script -c", depth);
            ran = true;
        }
    }
    if !ran {
        w.flag(Decision::Escalate, "shell.interactive-shell", "script opens an interactive shell");
    }
}

fn alias(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    for a in rest {
        if let Some((_, body)) = a.text().split_once('=') {
            shell_string(w, &[Arg::Lit(body.to_string())], "alias", depth);
        }
    }
}

fn trap(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    if let Some(action) = rest.first().filter(|a| !a.text().starts_with('-')) {
        shell_string(w, std::slice::from_ref(action), "trap", depth);
    }
}

fn enable(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if rest.iter().any(|a| a.text() == "-f") {
        w.opaque = true;
        w.flag(Decision::Escalate, "shell.inline-code", "enable -f loads a shared object into the shell")
    } else {
        known_or_unknown(w, program);
    }
}

/// Judges a string that a program hands to a shell (`bash -c`, `eval`, `watch`, `su -c`, …).
pub(super) fn shell_string(w: &mut Walker, parts: &[Arg], via: &str, depth: usize) {
    if parts.iter().any(Arg::is_tainted) {
        w.flag(Decision::Block, "shell.remote-code", format!("{via} runs code that was downloaded or decoded"));
        return;
    }
    if parts.iter().any(|a| !matches!(a, Arg::Lit(_))) {
        w.flag(Decision::Escalate, "shell.dynamic-code", format!("{via} runs code that is known only at run time"));
        return;
    }
    let line = parts.iter().map(Arg::text).collect::<Vec<_>>().join(" ");
    w.line(&line, depth + 1);
}

/// Code read from stdin by a shell or interpreter.
pub(super) fn stdin_code(w: &mut Walker, program: &str, stdin: &Stdin, depth: usize, readable: bool) {
    match stdin {
        Stdin::Pipe { tainted: true, .. } => {
            w.flag(Decision::Block, "shell.remote-code", format!("downloaded or decoded data is piped into {program}"))
        }
        Stdin::Pipe { text: Some(t), .. } if readable => w.line(t, depth + 1),
        Stdin::Pipe { .. } => w.flag(Decision::Escalate, "shell.stdin-code", format!("a pipe into {program} runs code guard cannot see")),
        Stdin::Text(Some(t)) if readable => w.line(t, depth + 1),
        Stdin::Text(_) => {
            w.flag(Decision::Escalate, "shell.inline-code", format!("a here-document runs {program} code guard does not analyse"))
        }
        Stdin::Inherited => w.flag(
            Decision::Escalate,
            "shell.interactive-shell",
            format!("{program} without a command reads code from the terminal or stdin"),
        ),
    }
}

/// A shell: `-c` code is a line guard reads; a script file is not read; stdin is code.
fn shell_program(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin, depth: usize) {
    let mut i = 0;
    let mut want_c = false;
    let mut reads_stdin = false;
    if program == "busybox" {
        // busybox APPLET args: judge the applet.
        if let Some((first, more)) = rest.split_first() {
            let mut args = vec![first.clone()];
            args.extend(more.iter().cloned());
            w.command(args, stdin, depth);
        }
        return;
    }
    while let Some(a) = rest.get(i) {
        let t = a.text();
        if !matches!(a, Arg::Lit(_)) {
            break;
        }
        if t == "--" {
            i += 1;
            break;
        }
        if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
            i += 2;
            continue;
        }
        if t.starts_with("--") {
            i += 1;
            continue;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            if t.contains('c') {
                want_c = true;
            }
            if t.contains('s') {
                reads_stdin = true;
            }
            i += 1;
            continue;
        }
        break;
    }
    let operands = rest.get(i..).unwrap_or_default();
    if want_c {
        match operands.first() {
            Some(code) => shell_string(w, std::slice::from_ref(code), &format!("{program} -c"), depth),
            None => w.flag(Decision::Escalate, "shell.parse-error", format!("{program} -c without a command")),
        }
        return;
    }
    match operands.first() {
        Some(script) if !reads_stdin => {
            if script.is_tainted() {
                w.flag(Decision::Block, "shell.remote-code", format!("{program} runs a downloaded or decoded script"));
            } else if script.text() == "/dev/stdin" || script.text() == "-" {
                stdin_code(w, program, stdin, depth, true);
            } else {
                w.flag(
                    Decision::Escalate,
                    "shell.script-file",
                    format!("{program} {} runs a script guard does not analyse", script.text()),
                );
                note_script(w, Some(script));
            }
        }
        _ => stdin_code(w, program, stdin, depth, true),
    }
}

/// An interpreter: inline code (`-c`, `-e`) and scripts outside the project escalate;
/// `python -m` of a known tool is judged as that tool.
fn interpreter(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin, _: usize) {
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let t = a.text();
        match t {
            "-c" | "-e" | "-E" | "-r" | "--eval" | "-p" | "--print" | "-x" if !(program.starts_with("python") && t == "-x") => {
                w.flag(Decision::Escalate, "shell.inline-code", format!("{program} {t} runs inline code guard does not analyse"));
                return;
            }
            // `python3 --version`, `node -v`: prints and exits, reads no code.
            "--version" | "-V" | "-VV" | "--help" | "-h" | "-v" if rest.len() == 1 => return,
            // Options with a separate value (`python3 -W ignore -c …`): the value is no script.
            "-W" | "-X" if program.starts_with("python") => {
                it.next();
            }
            "-m" if program.starts_with("python") => {
                // `python -m pip install …`, `python -m pytest`: judge the module as its command.
                let module: Vec<Arg> = it.cloned().collect();
                match module.first().and_then(Arg::lit) {
                    Some(m @ ("pip" | "pip3" | "twine" | "pytest" | "mypy" | "black" | "ruff" | "tox" | "isort" | "flake8" | "pylint")) => {
                        let mut args = vec![Arg::Lit(m.to_string())];
                        args.extend(module.iter().skip(1).cloned());
                        w.command(args, stdin, 0);
                    }
                    Some(
                        "venv" | "unittest" | "json.tool" | "http.server" | "pydoc" | "compileall" | "build" | "ensurepip" | "doctest"
                        | "timeit" | "cProfile" | "pdb" | "site" | "py_compile" | "zipfile" | "tarfile" | "coverage",
                    ) => {}
                    _ => w.flag(Decision::Escalate, "shell.inline-code", format!("{program} -m runs a module guard does not know")),
                }
                return;
            }
            t if t.starts_with("-m") && program.starts_with("python") && t.len() > 2 => {
                // `-mjson.tool`: a glued module name.
                let mut args = vec![Arg::Lit("-m".into()), Arg::Lit(t.trim_start_matches("-m").to_string())];
                args.extend(it.cloned());
                return interpreter(w, program, &args, stdin, 0);
            }
            t if t.starts_with('-') && !t.starts_with("--") && t.len() > 1 => {
                // A cluster of short flags: `-nle 'code'`, `-Bc 'code'`.
                let code_flags: &[char] = if program.starts_with("python") { &['c'] } else { &['e', 'E', 'r'] };
                if t.chars().skip(1).any(|c| code_flags.contains(&c)) {
                    w.flag(Decision::Escalate, "shell.inline-code", format!("{program} {t} runs inline code guard does not analyse"));
                    return;
                }
                if program == "perl" && t.chars().skip(1).any(|c| matches!(c, 'I' | 'M' | 'm' | 'x')) {
                    w.flag(Decision::Escalate, "shell.inline-code", format!("{program} {t} loads code guard does not analyse"));
                    return;
                }
            }
            t if t.starts_with("--") => {}
            "-" => {
                stdin_code(w, program, stdin, 0, false);
                return;
            }
            _ => {
                if a.is_tainted() {
                    w.flag(Decision::Block, "shell.remote-code", format!("{program} runs downloaded or decoded code"));
                    return;
                }
                let place = places::place(a, w.cwd.as_deref(), w.ctx, false);
                if !matches!(place, Place::Inside(_)) {
                    w.flag(
                        Decision::Escalate,
                        "shell.script-file",
                        format!("{program} {} runs a script outside the working directory", a.text()),
                    );
                }
                return;
            }
        }
    }
    stdin_code(w, program, stdin, 0, false);
}
