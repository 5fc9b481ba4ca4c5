//! git: global options that run commands (`-c`, `--exec-path`), subcommands not in the
//! policy's `[[shell.subcommands]]` for git (an alias can run anything), `git config` keys that
//! run commands, and the paths `git clone` writes and `git rm` deletes. What a push, reset or
//! clean may lose is judged by the policy's data rules (`shell.git-*`), applied after this.

use super::super::places;
use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::{Judge, check_delete, check_write, operands};
use crate::decision::Decision;

pub(super) const JUDGES: &[(&str, Judge)] = &[("git", git)];

/// `git -c` keys that only change how git looks or what it records, never what it runs, reads or
/// where it connects (not `core.pager`, `pager.*`, `alias.*`, `*.command`, `include.*`,
/// `url.*`, `protocol.*`, `credential.*`, `http.*`, `remote.*`, …).
fn harmless_config(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "user.name",
        "user.email",
        "core.quotepath",
        "core.autocrlf",
        "core.safecrlf",
        "core.filemode",
        "core.ignorecase",
        "core.whitespace",
        "init.defaultbranch",
        "commit.gpgsign",
        "tag.gpgsign",
        "pull.rebase",
        "pull.ff",
        "merge.ff",
        "rebase.autosquash",
        "rebase.autostash",
        "diff.noprefix",
        "diff.renames",
        "diff.algorithm",
        "diff.colormoved",
        "status.showuntrackedfiles",
        "gc.auto",
        "maintenance.auto",
        "fetch.prune",
        "push.default",
        "push.autosetupremote",
        "column.ui",
        "log.date",
        "log.decorate",
        "log.showsignature",
        "advice.detachedhead",
    ];
    KEYS.contains(&key) || key.starts_with("color.") || key.starts_with("advice.")
}

/// git: global options are stripped, the subcommand is checked against what is known.
fn git(w: &mut Walker, _: &str, rest: &[Arg], stdin: &Stdin, depth: usize) {
    if !w.ctx.git_env.is_empty() {
        w.flag(
            Decision::Escalate,
            "shell.git-config",
            format!("the environment sets {}: git configuration or programs this line does not show", w.ctx.git_env.join(", ")),
        );
    }
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        match t {
            "-C" => {
                if let Some(d) = rest.get(i + 1) {
                    if let (Some(c), Arg::Lit(d)) = (&w.cwd, d) {
                        w.cwd = Some(places::normalize(&c.join(d)));
                    } else {
                        w.cwd = None;
                    }
                }
                i += 2;
            }
            "-c" => {
                let key = rest.get(i + 1).map(|kv| kv.text().split_once('=').map_or(kv.text(), |(k, _)| k).to_ascii_lowercase());
                let literal = rest.get(i + 1).is_some_and(|kv| matches!(kv, Arg::Lit(_)));
                if !(literal && key.as_deref().is_some_and(harmless_config)) {
                    w.flag(
                        Decision::Escalate,
                        "shell.git-config",
                        "git -c sets configuration that can run commands (aliases, hooks, pagers)",
                    );
                }
                i += 2;
            }
            "--git-dir" | "--work-tree" | "--namespace" | "--super-prefix" | "--config-env" => i += 2,
            t if t.starts_with("--exec-path") || t.starts_with("--config-env") => {
                w.flag(Decision::Escalate, "shell.git-config", "git with a different exec path or config runs other programs");
                i += 1;
            }
            t if t.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let Some(sub) = rest.get(i) else { return };
    let args = rest.get(i + 1..).unwrap_or_default();
    match sub {
        // The policy's `[[shell.subcommands]]` for git: git's own subcommands, not aliases.
        Arg::Lit(s) if w.policy.shell.subcommands("git").iter().any(|k| k == s) => {}
        other => {
            w.flag(
                Decision::Escalate,
                "shell.unknown-command",
                format!("git {} is not a git command guard knows (an alias can run anything)", other.text()),
            );
            return;
        }
    }
    match sub.text() {
        // Commands git runs for the line: `rebase -x CMD` through the shell after each commit,
        // `bisect run CMD ARGS` directly at each step. Judged as the line's own.
        "rebase" => {
            let mut it = args.iter();
            while let Some(a) = it.next() {
                let t = a.text();
                let cmd = match t {
                    "-x" | "--exec" => it.next().cloned(),
                    _ => t.strip_prefix("--exec=").or_else(|| t.strip_prefix("-x").filter(|c| !c.is_empty())).map(|c| Arg::Lit(c.into())),
                };
                if let Some(cmd) = cmd {
                    super::code::shell_string(w, &[cmd], "git rebase --exec", depth);
                }
            }
        }
        "bisect" if args.first().is_some_and(|a| a.text() == "run") => {
            w.command(args.get(1..).unwrap_or_default().to_vec(), stdin, depth + 1);
        }
        "config" => {
            let dangerous_key = args.iter().any(|a| {
                let k = a.text().to_ascii_lowercase();
                k.starts_with("alias.")
                    || k.starts_with("core.")
                        && ["hookspath", "sshcommand", "pager", "editor", "fsmonitor", "gitproxy", "askpass"].iter().any(|x| k.ends_with(x))
                    || k.ends_with(".command")
                    || k.ends_with(".textconv")
                    || k.ends_with(".driver")
                    || k.starts_with("credential.")
                    || k.contains("program")
            });
            let global = args.iter().any(|a| matches!(a.text(), "--global" | "--system" | "--file" | "-f"));
            let reading =
                args.iter().any(|a| matches!(a.text(), "--get" | "--get-all" | "--get-regexp" | "--list" | "-l" | "--show-origin"))
                    || args.iter().filter(|a| !a.text().starts_with('-')).count() <= 1;
            if !reading && (dangerous_key || global) {
                w.flag(Decision::Escalate, "shell.git-config", "git config sets a value that runs commands or changes global settings");
            }
        }
        "clone" => {
            let (_, ops) = operands(args);
            if let Some(dir) = ops.get(1) {
                check_write(w, dir, "git clone");
            }
        }
        "rm" => {
            let (opts, ops) = operands(args);
            // `git rm -r` deletes trees from the work tree (and `-f` their uncommitted changes);
            // `--cached` and `--dry-run` leave the files where they are.
            let short = |c: char| opts.iter().any(|o| !o.text().starts_with("--") && o.text().contains(c));
            let long = |full: &str| opts.iter().any(|o| o.text().len() > 3 && super::long_option(o.text(), full));
            let keeps_files = long("--cached") || long("--dry-run") || short('n');
            let recursive = short('r') && !keeps_files;
            for t in ops {
                check_delete(w, t, if recursive { "git rm -r" } else { "git rm" }, recursive);
            }
        }
        _ => {}
    }
}
