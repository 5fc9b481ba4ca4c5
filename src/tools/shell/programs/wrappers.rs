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
        "parallel" => {
            parallel(w, rest, depth);
            return true;
        }
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

/// `--abbr[=VALUE]` spelled out as the one option of `longs` it abbreviates (getopt takes any
/// unambiguous prefix); `None` when it names none or several.
fn canonical_long(t: &str, longs: &[&str]) -> Option<String> {
    let body = t.strip_prefix("--").filter(|b| !b.is_empty())?;
    let (name, value) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    let mut hits = longs.iter().filter(|l| l.trim_start_matches('-').starts_with(name));
    let full = match (hits.next(), hits.next()) {
        (Some(f), None) => *f,
        (Some(_), Some(_)) => longs.iter().find(|l| l.trim_start_matches('-') == name)?,
        _ => return None,
    };
    Some(match value {
        Some(v) => format!("{full}={v}"),
        None => full.to_string(),
    })
}

const ENV_LONGS: &[&str] = &[
    "--ignore-environment",
    "--null",
    "--unset",
    "--chdir",
    "--split-string",
    "--debug",
    "--block-signal",
    "--default-signal",
    "--ignore-signal",
    "--list-signal-handling",
];

fn env_inner(w: &mut Walker, rest: &[Arg], depth: usize) -> Option<Vec<Arg>> {
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        let canon = canonical_long(a.text(), ENV_LONGS);
        let t = canon.as_deref().unwrap_or(a.text());
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

/// xargs's options as GNU findutils reads them: `-I R`, `-a FILE` and friends take a value
/// (glued or the next word); `-i[R]`, `-e[EOF]`, `-l[N]` and `--replace[=R]`, `--eof[=EOF]`,
/// `--max-lines[=N]` take one only glued; short options cluster (`-0rn1`); long ones abbreviate.
fn xargs_inner(rest: &[Arg], stdin: &Stdin) -> Option<Vec<Arg>> {
    const REQUIRED: &[&str] = &["--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"];
    const OPTIONAL: &[&str] = &["--replace", "--eof", "--max-lines"];
    const FLAGS: &[&str] = &["--null", "--open-tty", "--interactive", "--no-run-if-empty", "--verbose", "--exit", "--show-limits"];
    let longs: Vec<&str> = REQUIRED.iter().chain(OPTIONAL).chain(FLAGS).copied().collect();
    let mut i = 0;
    let mut replace: Option<String> = None;
    let mut from_file = false;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        i += 1;
        if t == "--" {
            break;
        }
        if !t.starts_with('-') || t.len() == 1 {
            i -= 1;
            break;
        }
        if t.starts_with("--") {
            let canon = canonical_long(t, &longs).unwrap_or_else(|| t.to_string());
            let (name, value) = match canon.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (canon.clone(), None),
            };
            let value = if REQUIRED.contains(&name.as_str()) && value.is_none() {
                i += 1;
                rest.get(i - 1).map(|v| v.text().to_string())
            } else {
                value
            };
            match name.as_str() {
                "--replace" => replace = Some(value.unwrap_or_else(|| "{}".into())),
                "--arg-file" => from_file = true,
                _ => {}
            }
            continue;
        }
        let body = t.get(1..).unwrap_or_default();
        for (k, ch) in body.char_indices() {
            let tail = body.get(k + ch.len_utf8()..).unwrap_or_default();
            match ch {
                'a' | 'd' | 'E' | 'I' | 'L' | 'n' | 'P' | 's' => {
                    let value = if tail.is_empty() {
                        i += 1;
                        rest.get(i - 1).map(|v| v.text().to_string())
                    } else {
                        Some(tail.to_string())
                    };
                    if ch == 'I' {
                        replace = value;
                    }
                    from_file |= ch == 'a';
                    break;
                }
                'i' => {
                    replace = Some(if tail.is_empty() { "{}".to_string() } else { tail.to_string() });
                    break;
                }
                'e' | 'l' => break,
                _ => {}
            }
        }
    }
    // Arguments read from a file are not the pipe's words.
    let unknown = Stdin::Text(None);
    let stdin = if from_file { &unknown } else { stdin };
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

/// GNU parallel: `parallel [OPTIONS] CMD… ::: ARGS…` composes `CMD ARG` (or `CMD` with `{}`
/// replaced) and runs it through the shell, once per argument; without `:::` the arguments come
/// from stdin (or `::::` files), quoted, so they are data, not code. An option guard does not
/// know may take a value that is the command: the command is then not known.
fn parallel(w: &mut Walker, rest: &[Arg], depth: usize) {
    const FLAGS: &[&str] = &[
        "-k",
        "--keep-order",
        "-v",
        "--verbose",
        "-q",
        "--quote",
        "--bar",
        "--progress",
        "--eta",
        "-u",
        "--ungroup",
        "--line-buffer",
        "--lb",
        "-0",
        "--null",
        "--dry-run",
        "--dryrun",
        "-X",
        "-m",
        "--xargs",
        "--tag",
        "--group",
        "-g",
        "--will-cite",
        "--no-notice",
        "-r",
        "--no-run-if-empty",
        "--shuf",
        "--plain",
        "--tty",
        "--pipe",
        "--files",
        "--header",
        "--silent",
        "--noswap",
    ];
    const VALUED: &[&str] = &[
        "-j",
        "--jobs",
        "-P",
        "--max-procs",
        "-n",
        "--max-args",
        "-N",
        "-L",
        "--max-lines",
        "-I",
        "-a",
        "--arg-file",
        "-d",
        "--delimiter",
        "-E",
        "--colsep",
        "-C",
        "--joblog",
        "--results",
        "--res",
        "--tmpdir",
        "--delay",
        "--timeout",
        "--retries",
        "--memfree",
        "--load",
        "--halt",
        "--halt-on-error",
        "--tagstring",
        "--tag-string",
        "-s",
        "--max-chars",
    ];
    const REMOTE: &[&str] = &[
        "-S",
        "--sshlogin",
        "--sshloginfile",
        "--slf",
        "--basefile",
        "--bf",
        "--transferfile",
        "--tf",
        "--return",
        "--workdir",
        "--wd",
        "--env",
    ];
    let mut i = 0;
    let mut replace = "{}".to_string();
    while let Some(a) = rest.get(i) {
        let t = a.text();
        let name = t.split_once('=').map_or(t, |(n, _)| n);
        if !t.starts_with('-') || matches!(t, ":::" | "::::" | ":::+" | "::::+") {
            break;
        }
        i += 1;
        if t == "--" {
            break;
        }
        if REMOTE.contains(&name) {
            w.flag(Decision::Escalate, "shell.remote", format!("parallel {t} runs the commands on other machines"));
            return;
        }
        if FLAGS.contains(&t) {
            continue;
        }
        if VALUED.contains(&name) {
            if !t.contains('=') {
                if t == "-I" {
                    replace = rest.get(i).map(|r| r.text().to_string()).unwrap_or(replace);
                }
                i += 1;
            }
            continue;
        }
        if t.len() > 2 && !t.starts_with("--") {
            // A cluster of short flags, the last letter perhaps taking a value (`-j4`, `-Xj1`,
            // `-0X`, `-I{}`); a letter guard does not know ends the reading.
            let body = t.get(1..).unwrap_or_default();
            let mut known = true;
            for (k, ch) in body.char_indices() {
                let tail = body.get(k + ch.len_utf8()..).unwrap_or_default();
                if "kvqu0Xmgr".contains(ch) {
                    continue;
                }
                if "jPnNLIadECs".contains(ch) {
                    if ch == 'I' {
                        replace =
                            if tail.is_empty() { rest.get(i).map(|r| r.text().to_string()).unwrap_or(replace) } else { tail.to_string() };
                    }
                    if tail.is_empty() {
                        i += 1;
                    }
                    break;
                }
                known = false;
                break;
            }
            if known {
                continue;
            }
        }
        w.flag(
            Decision::Escalate,
            "shell.dynamic-command",
            format!("parallel {t} is an option guard does not read: the command it runs is not known"),
        );
        return;
    }
    let rest = rest.get(i..).unwrap_or_default();
    let sep = rest.iter().position(|a| a.text().starts_with(":::"));
    let cmd = rest.get(..sep.unwrap_or(rest.len())).unwrap_or_default();
    if cmd.is_empty() {
        // The arguments themselves are the commands.
        w.flag(Decision::Escalate, "shell.dynamic-command", "parallel without a command runs its arguments as commands");
        return;
    }
    let literal_args: Option<Vec<String>> = match sep.and_then(|s| rest.get(s)) {
        Some(s) if s.text() == ":::" || s.text() == ":::+" => rest
            .get(sep.unwrap_or_default() + 1..)
            .unwrap_or_default()
            .iter()
            .filter(|a| !a.text().starts_with(":::"))
            .map(|a| match a {
                Arg::Lit(t) => shlex::try_quote(t).ok().map(|q| q.into_owned()),
                _ => None,
            })
            .collect(),
        _ => None,
    };
    let values: Vec<String> = literal_args.unwrap_or_else(|| vec!["\"$PARALLEL_ARGUMENT\"".to_string()]);
    if cmd.iter().any(|a| !matches!(a, Arg::Lit(_))) {
        shell_string(w, cmd, "parallel", depth);
        return;
    }
    let line: String = cmd.iter().map(Arg::text).collect::<Vec<_>>().join(" ");
    for v in values {
        let composed = if line.contains(&replace) { line.replace(&replace, &v) } else { format!("{line} {v}") };
        shell_string(w, &[Arg::Lit(composed)], "parallel", depth);
    }
}
