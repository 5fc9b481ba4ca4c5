//! Wrappers guard sees through (`sudo`, `env`, `nice`, `timeout`, `watch`, `xargs`, …): the
//! wrapped command is judged instead, with what the wrapper adds (root, a changed
//! environment, a shell string, arguments from stdin).

use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::code::shell_string;
use super::vars::{check_assignment, env_change};
use crate::decision::Decision;

/// Handles wrappers (`sudo`, `env`, `timeout`, `xargs`, …): judges the wrapped command instead.
pub(super) fn see_through_wrapper(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin, depth: usize) -> bool {
    let inner: Option<Vec<Arg>> = match program {
        "sudo" | "doas" => {
            w.flag(Decision::Escalate, "shell.sudo", format!("{program} runs a command with elevated privileges"));
            sudo_inner(w, program, rest, depth)
        }
        "env" => env_inner(w, rest, depth),
        "command" => {
            if rest.iter().any(|a| a.text() == "-v" || a.text() == "-V") {
                return true;
            }
            Some(skip_flags(rest, &[]))
        }
        "builtin" | "nohup" | "exec" if rest.is_empty() => return true,
        "builtin" | "nohup" => Some(rest.to_vec()),
        "exec" => Some(skip_flags(rest, &["-a"])),
        "nice" => Some(skip_flags(rest, &["-n", "--adjustment"])),
        "time" => Some(skip_flags(rest, &["-f", "--format", "-o", "--output"])),
        "stdbuf" => Some(skip_flags(rest, &["-i", "-o", "-e"])),
        "ionice" => Some(skip_flags(rest, &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"])),
        "setsid" | "chronic" | "unbuffer" | "catchsegv" | "caffeinate" | "flock" if program == "flock" => {
            let r = skip_flags(rest, &["-w", "--timeout", "-E", "--conflict-exit-code"]);
            // flock LOCKFILE CMD… or flock LOCKFILE -c CMD
            Some(r.get(1..).unwrap_or_default().to_vec())
        }
        "setsid" | "chronic" | "unbuffer" | "catchsegv" | "caffeinate" => Some(skip_flags(rest, &[])),
        "timeout" => {
            let r = skip_flags(rest, &["-s", "--signal", "-k", "--kill-after"]);
            Some(r.get(1..).unwrap_or_default().to_vec())
        }
        "watch" => {
            let r = skip_flags(rest, &["-n", "--interval", "-d", "--differences", "-q", "--equexit", "--errexit"]);
            // watch runs its arguments joined with spaces through `sh -c`.
            shell_string(w, &r, "watch", depth);
            return true;
        }
        "xargs" => xargs_inner(rest, stdin),
        _ => return false,
    };
    match inner {
        Some(inner) if !inner.is_empty() => w.command(inner, stdin, depth),
        Some(_) => {}
        None => {}
    }
    true
}

/// Drops options (and the values of `with_value` options) until the first operand.
fn skip_flags(rest: &[Arg], with_value: &[&str]) -> Vec<Arg> {
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t.len() == 1 {
            break;
        }
        let takes_value = with_value.contains(&t);
        i += if takes_value { 2 } else { 1 };
    }
    rest.get(i..).unwrap_or_default().to_vec()
}

fn sudo_inner(w: &mut Walker, program: &str, rest: &[Arg], depth: usize) -> Option<Vec<Arg>> {
    let with_value = [
        "-u",
        "-g",
        "-h",
        "-p",
        "-C",
        "-D",
        "-r",
        "-t",
        "-U",
        "-T",
        "--user",
        "--group",
        "--host",
        "--prompt",
        "--chdir",
        "--role",
        "--type",
        "--other-user",
        "--close-from",
        "--command-timeout",
    ];
    let mut i = 0;
    let mut shell = false;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') {
            break;
        }
        if matches!(t, "-s" | "--shell" | "-i" | "--login") || (program == "doas" && t == "-s") {
            shell = true;
        }
        if matches!(t, "-e" | "--edit") {
            w.flag(Decision::Escalate, "shell.sudo", "sudo -e edits files as root");
        }
        i += if with_value.contains(&t) { 2 } else { 1 };
    }
    let inner = rest.get(i..).unwrap_or_default().to_vec();
    if shell {
        if inner.is_empty() {
            w.flag(Decision::Escalate, "shell.interactive-shell", format!("{program} opens an interactive root shell"));
            return None;
        }
        shell_string(w, &inner, program, depth);
        return None;
    }
    Some(inner)
}

fn env_inner(w: &mut Walker, rest: &[Arg], depth: usize) -> Option<Vec<Arg>> {
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        match t {
            "--" => {
                i += 1;
                break;
            }
            "-i" | "--ignore-environment" | "-" => {
                env_change(w, "<the whole environment (env -i)>");
                i += 1
            }
            "-0" | "--null" | "-v" | "--debug" => i += 1,
            "-u" | "--unset" => {
                env_change(w, rest.get(i + 1).map_or("", Arg::text));
                i += 2
            }
            "-C" | "--chdir" => {
                w.cwd = None;
                i += 2;
            }
            "-S" | "--split-string" => {
                // env -S "cmd args": the string is split into words like a shell line.
                let tail: Vec<Arg> = rest.get(i + 1..).unwrap_or_default().to_vec();
                shell_string(w, &tail, "env -S", depth);
                return None;
            }
            s if s.starts_with("--unset=") || s.starts_with("-u") => {
                env_change(w, s.trim_start_matches("--unset=").trim_start_matches("-u"));
                i += 1
            }
            s if s.starts_with("--chdir=") || s.starts_with("-C") => {
                w.cwd = None;
                i += 1;
            }
            s if s.starts_with("-S") || s.starts_with("--split-string=") => {
                let mut tail = vec![Arg::Lit(s.trim_start_matches("--split-string=").trim_start_matches("-S").to_string())];
                tail.extend(rest.get(i + 1..).unwrap_or_default().iter().cloned());
                shell_string(w, &tail, "env -S", depth);
                return None;
            }
            s if s.starts_with('-') => i += 1,
            s if s.contains('=') && !s.starts_with('=') => {
                let name = s.split('=').next().unwrap_or_default();
                check_assignment(w, name);
                i += 1;
            }
            _ => break,
        }
    }
    Some(rest.get(i..).unwrap_or_default().to_vec())
}

fn xargs_inner(rest: &[Arg], stdin: &Stdin) -> Option<Vec<Arg>> {
    let with_value = [
        "-a",
        "-d",
        "-E",
        "-e",
        "-I",
        "-L",
        "-l",
        "-n",
        "-P",
        "-s",
        "--arg-file",
        "--delimiter",
        "--max-args",
        "--max-procs",
        "--max-chars",
        "--max-lines",
        "--replace",
        "--eof",
        "--process-slot-var",
    ];
    let mut i = 0;
    let mut replace: Option<String> = None;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t.len() == 1 {
            break;
        }
        if t == "-I" || t == "--replace" {
            replace = rest.get(i + 1).map(|r| r.text().to_string());
        } else if let Some(r) = t.strip_prefix("-I").filter(|r| !r.is_empty()) {
            replace = Some(r.to_string());
        } else if t == "-i" {
            replace = Some("{}".into());
        }
        i += if with_value.contains(&t) { 2 } else { 1 };
    }
    let tainted = matches!(stdin, Stdin::Pipe { tainted: true, .. });
    let input = Arg::Dyn { text: "<xargs input>".into(), tainted };
    // Static input (`echo a b | xargs rm`) is known: those words are the arguments.
    let static_words: Option<Vec<Arg>> = match stdin {
        Stdin::Pipe { text: Some(t), tainted: false } | Stdin::Text(Some(t)) if replace.is_none() => {
            Some(t.split_whitespace().map(|w| Arg::Lit(w.to_string())).collect())
        }
        _ => None,
    };
    let mut cmd: Vec<Arg> = rest.get(i..).unwrap_or_default().to_vec();
    if cmd.is_empty() {
        cmd.push(Arg::Lit("echo".into()));
    }
    match replace {
        Some(r) => {
            for a in cmd.iter_mut().skip(1) {
                if a.text().contains(&r) {
                    *a = input.clone();
                }
            }
        }
        None => match static_words {
            Some(words) => cmd.extend(words),
            None => cmd.push(input),
        },
    }
    Some(cmd)
}
