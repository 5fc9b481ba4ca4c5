//! Programs that write, move, delete or format files and disks (`rm`, `cp`/`mv`/`install`/`ln`,
//! `chmod`, `dd`, `tee`/`touch`/editors, `shred`, `mkfs`, partitioners), and the text and archive
//! tools whose options or scripts write files or run commands (`sed`, `awk`, `find`, `sort -o`,
//! `tar`, `unzip -d`, `openssl -out`).

use std::path::PathBuf;

use super::super::places::{self, GlobKind, Place};
use super::super::words::Arg;
use super::super::{PROJECT_DELETE, Stdin, Walker};
use super::{
    Judge, any_long_option, check_delete, check_moved, check_option_targets, check_overwrite, check_write, has_short, judge_place,
    long_option, operands,
};
use crate::decision::Decision;
use crate::gitindex::{GitFacts, NamePattern};

#[rustfmt::skip]
pub(super) const JUDGES: &[(&str, Judge)] = &[
    ("rm", rm), ("unlink", rm), ("rmdir", rmdir),
    ("mv", copy_like), ("cp", copy_like), ("install", copy_like), ("ln", copy_like),
    ("chmod", attributes), ("chown", attributes), ("chgrp", attributes), ("chattr", attributes), ("setfacl", attributes),
    ("dd", dd),
    ("tee", edits), ("touch", edits), ("mkdir", edits), ("truncate", edits), ("vim", edits), ("vi", edits), ("nvim", edits),
    ("nano", edits), ("emacs", edits), ("ed", edits), ("ex", edits), ("patch", edits),
    ("shred", shred), ("wipefs", shred),
    ("mke2fs", disk_format), ("mkswap", disk_format), ("mkdosfs", disk_format), ("mkntfs", disk_format),
    ("blkdiscard", disk_format), ("sgdisk", disk_format), ("gdisk", disk_format), ("cfdisk", disk_format), ("sg_format", disk_format),
    ("fdisk", partition), ("sfdisk", partition), ("parted", partition),
    ("sed", sed), ("awk", awk), ("gawk", awk), ("mawk", awk), ("nawk", awk), ("find", find),
    ("sort", sort), ("uniq", uniq), ("tar", tar), ("unzip", unzip), ("openssl", openssl),
    ("split", split), ("make", make), ("gmake", make), ("less", pager), ("more", pager), ("man", pager),
];

/// The command an option names (`--opt=CMD`, `--opt CMD`, `-xCMD`, `-x CMD`), judged as a line
/// of its own: contained, the unknown-code rules stand down, but what the command does inside
/// the sandbox's reach (`rm -rf src`, `git push --force`) is still the line's.
fn option_command(w: &mut Walker, rest: &[Arg], i: usize, long: &str, short: Option<&str>, via: &str, depth: usize) {
    let Some(a) = rest.get(i) else { return };
    let t = a.text();
    let value = if let Some((name, v)) = t.split_once('=').filter(|(n, _)| long_option(n, long)) {
        let _ = name;
        Some(Arg::Lit(v.to_string()))
    } else if long_option(t, long) || short == Some(t) {
        rest.get(i + 1).cloned()
    } else {
        short.and_then(|s| t.strip_prefix(s)).filter(|v| !v.is_empty()).map(|v| Arg::Lit(v.to_string()))
    };
    let value = match (a, value) {
        (Arg::Lit(_), v) => v,
        (other, Some(_)) => Some(other.clone()),
        (_, None) => None,
    };
    if let Some(cmd) = value {
        super::code::shell_string(w, &[cmd], via, depth);
    }
}

/// `split --filter=CMD` pipes each piece into a shell command.
fn split(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    if let Some(o) = any_long_option(rest, &["--filter"]) {
        w.flag(Decision::Escalate, "shell.inline-code", format!("split {o} runs each piece through a shell command"));
    }
    if any_long_option(rest, &["--filter"]).is_none() {
        return;
    }
    // split runs the filter with $FILE set to each piece's name: the prefix operand (`x` by
    // default) and a suffix, where split would have written the piece.
    let mut ops: Vec<&Arg> = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let t = a.text();
        let takes_value = matches!(t, "-a" | "-b" | "-C" | "-l" | "-n" | "-t")
            || (t.starts_with("--") && !t.contains('=') && {
                let long =
                    ["--filter", "--additional-suffix", "--suffix-length", "--bytes", "--line-bytes", "--lines", "--number", "--separator"];
                long.iter().any(|o| t.len() > 3 && long_option(t, o))
            });
        if takes_value {
            it.next();
        } else if !t.starts_with('-') || t == "-" {
            ops.push(a);
        }
    }
    let prefix = match ops.get(1) {
        Some(Arg::Lit(p)) => p.clone(),
        Some(_) => return w.flag(Decision::Escalate, "shell.dynamic-target", "split writes pieces named at run time"),
        None => "x".to_string(),
    };
    let piece = format!("{prefix}aa");
    let named: Vec<Arg> = rest
        .iter()
        .map(|a| match a {
            Arg::Lit(t) => Arg::Lit(t.replace("${FILE}", &piece).replace("$FILE", &piece)),
            other => other.clone(),
        })
        .collect();
    for i in 0..named.len() {
        option_command(w, &named, i, "--filter", None, "split --filter", depth);
    }
}

/// make runs the project's Makefile (the project's own code, as `./build.sh` is); `--eval` and a
/// makefile read from stdin run text the line itself supplies.
fn make(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin, depth: usize) {
    // The recipes of rules the line gives (`--eval='all:; CMD'`, a makefile on stdin) are its
    // own commands.
    let mut texts: Vec<String> = Vec::new();
    for (i, a) in rest.iter().enumerate() {
        let t = a.text();
        let v = match t.split_once('=') {
            Some((n, v)) if long_option(n, "--eval") => Some(v.to_string()),
            _ if long_option(t, "--eval") || t == "-E" => rest.get(i + 1).map(|n| n.text().to_string()),
            _ => t.strip_prefix("-E").filter(|v| !v.is_empty()).map(str::to_string),
        };
        texts.extend(v);
    }
    let from_stdin = rest.iter().map(Arg::text).any(|t| matches!(t, "-f-" | "--file=-" | "--makefile=-"))
        || rest.windows(2).any(|p| matches!(p, [f, d] if matches!(f.text(), "-f" | "--file" | "--makefile") && d.text() == "-"));
    if let (true, Stdin::Text(Some(t)) | Stdin::Pipe { text: Some(t), .. }) = (from_stdin, stdin) {
        texts.push(t.clone());
    }
    for text in texts {
        for line in text.lines() {
            let recipe = line.strip_prefix('\t').or_else(|| line.split_once(':').and_then(|(_, r)| r.split_once(';')).map(|(_, c)| c));
            if let Some(cmd) = recipe.map(|c| c.trim_start_matches(['@', '-', '+'])) {
                super::code::shell_string(w, &[Arg::Lit(cmd.to_string())], "a make recipe", depth);
            }
        }
    }
    let mut it = rest.iter().map(Arg::text).peekable();
    while let Some(t) = it.next() {
        let stdin_file = matches!(t, "-f" | "--file" | "--makefile") && matches!(it.peek(), Some(&("-" | "/dev/stdin")))
            || ["-f-", "--file=-", "--makefile=-", "-f/dev/stdin", "--file=/dev/stdin"].contains(&t);
        if t == "-E" || t.starts_with("-E") && t.len() > 2 || super::long_option(t, "--eval") || stdin_file {
            w.flag(Decision::Escalate, "shell.inline-code", format!("{program} {t} runs make rules given on the command line or stdin"));
        }
    }
}

/// Pagers run commands: less's `+CMD` with a shell escape (`!`, `|`), man's `-P`/`--pager` and
/// `-H`/`--html` (a browser).
fn pager(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    for (i, a) in rest.iter().enumerate() {
        if program == "man" {
            option_command(w, rest, i, "--pager", Some("-P"), "man --pager", depth);
        } else if let Some(cmd) = a.text().strip_prefix('+').and_then(|c| c.split_once('!')).map(|(_, c)| c) {
            // less `+!CMD` runs CMD through the shell.
            super::code::shell_string(w, &[if matches!(a, Arg::Lit(_)) { Arg::Lit(cmd.to_string()) } else { a.clone() }], "less +!", depth);
        }
    }
    for t in rest.iter().map(Arg::text) {
        let shell_escape = t.starts_with('+') && t.contains(['!', '|']);
        let man_program = program == "man"
            && (matches!(t, "-P" | "-H")
                || t.starts_with("-P")
                || t.starts_with("-H")
                || super::long_option(t, "--pager")
                || super::long_option(t, "--html"));
        if shell_escape || man_program {
            w.flag(Decision::Escalate, "shell.inline-code", format!("{program} {t} runs a command"));
        }
    }
}

/// Programs whose name starts with one of these (`mkfs`, `mkfs.ext4`, …) format a disk.
pub(super) const PREFIXES: &[(&str, Judge)] = &[("mkfs", disk_format)];

fn rm(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let (opts, ops) = operands(rest);
    // GNU rm takes any unambiguous prefix of a long option (`--rec`, `--no-pres`).
    let long = |full: &str| opts.iter().any(|o| long_option(o.text(), full));
    let recursive = program == "rm" && (has_short(&opts, &['r', 'R'], &[]) || long("--recursive"));
    if long("--no-preserve-root") {
        w.flag(Decision::Block, "shell.rm-root", "rm --no-preserve-root exists only to delete /");
    }
    for t in ops {
        check_delete(w, t, program, recursive);
    }
}

/// A recursive delete inside the project (`rm -r`, `find -delete`, `find -exec rm -r {}`) that
/// takes the project's work: the project root or every entry of it (in any repository or none),
/// `.git`, or — from what git's index tracks (`gitindex`) — a directory holding tracked files, a
/// submodule, or a glob or `find -name` reaching tracked files. Build outputs, caches and other
/// untracked trees stay the agent's to delete. Whether it flagged (then the place needs no more).
pub(super) fn project_delete(w: &mut Walker, arg: &Arg, what: &str) -> bool {
    let Some((abs, kind)) = places::absolute_glob(arg, w.cwd.as_deref(), w.ctx.home.as_deref()) else { return false };
    let shown = arg.text();
    let names: Vec<NamePattern> = w.found.as_ref().filter(|(text, _)| text == shown).map(|(_, n)| n.clone()).unwrap_or_default();
    if names.is_empty() && kind != GlobKind::Some && (abs == w.ctx.cwd || w.ctx.git.root() == Some(abs.as_path())) {
        let whole = if kind == GlobKind::All { "every entry of the project" } else { "the project itself" };
        w.flag(Decision::Escalate, PROJECT_DELETE, format!("{what} {shown} deletes {whole} ({})", abs.display()));
        return true;
    }
    let message = match &w.ctx.git {
        GitFacts::NoRepo => return false,
        GitFacts::NotRead => format!("{what} {shown} deletes recursively inside the project, and guard has not read what git tracks there"),
        GitFacts::Unreadable { root, why } if abs.starts_with(root) => {
            format!("{what} {shown} deletes recursively in the git work tree {}, whose index guard cannot read ({why})", root.display())
        }
        GitFacts::Unreadable { .. } => return false,
        GitFacts::Tracked { root, index } => {
            use std::os::unix::ffi::OsStrExt;
            let Ok(rel) = abs.strip_prefix(root) else { return false };
            let rel = rel.as_os_str().as_bytes();
            let hit = if !names.is_empty() {
                index.reached(rel, &[], &names)
            } else if kind == GlobKind::Some {
                // The glob's components after its fixed directory (`src*`, `*/cache`).
                let text = shown.as_bytes();
                let cut = text.iter().position(|b| b"*?[".contains(b)).unwrap_or(text.len());
                let from = text.get(..cut).and_then(|f| f.iter().rposition(|&b| b == b'/')).map_or(0, |i| i + 1);
                let pattern: Vec<&[u8]> = text.get(from..).unwrap_or_default().split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
                if pattern.iter().any(|c| *c == b"..") { index.held_by(rel) } else { index.reached(rel, &pattern, &[]) }
            } else {
                index.held_by(rel)
            };
            match hit {
                None => return false,
                Some(t) if t == ".git" || t.starts_with(".git/") => {
                    format!("{what} {shown} deletes {}/.git, git's own directory: the project's history", root.display())
                }
                Some(t) => format!("{what} {shown} deletes files git tracks in the project ({t} …): its work, not a build output"),
            }
        }
    };
    w.flag(Decision::Escalate, PROJECT_DELETE, message);
    true
}

fn rmdir(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let (_, ops) = operands(rest);
    for t in ops {
        check_delete(w, t, "rmdir", false);
    }
}

/// `chmod`, `chown`, `chgrp`, `chattr`, `setfacl`: the operands after the mode or owner.
fn attributes(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let mut opts = Vec::new();
    let mut ops = Vec::new();
    for a in rest {
        let t = a.text();
        // chmod modes like `-x` or `-w` are operands, not options.
        let is_mode = program == "chmod"
            && t.len() > 1
            && t.starts_with('-')
            && t.chars().skip(1).all(|c| "rwxXstugoa".contains(c))
            && !t.contains('R');
        if t.starts_with('-') && t.len() > 1 && !is_mode {
            opts.push(a);
        } else {
            ops.push(a);
        }
    }
    let recursive = has_short(&opts, &['R'], &["recursive"]);
    let targets = if opts.iter().any(|o| o.text().starts_with("--reference")) { ops.as_slice() } else { ops.get(1..).unwrap_or_default() };
    for t in targets {
        let place = places::place(t, w.cwd.as_deref(), w.ctx, recursive);
        match place {
            Place::Root(p) if recursive => {
                w.flag(Decision::Block, "shell.chmod-root", format!("{program} -R changes {} and everything under it", p.display()))
            }
            other => judge_place(w, &other, t, program, false),
        }
    }
    if program == "chattr" || program == "setfacl" {
        w.flag(Decision::Escalate, "shell.write-system", format!("{program} changes file attributes"));
    }
}

fn dd(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    for a in rest {
        if let Some(of) = a.text().strip_prefix("of=") {
            let target = match a {
                Arg::Lit(_) => Arg::Lit(of.to_string()),
                Arg::Glob(_) => Arg::Glob(of.to_string()),
                Arg::Dyn { tainted, .. } => Arg::Dyn { text: of.to_string(), tainted: *tainted },
            };
            check_write(w, &target, "dd");
        }
    }
}

/// `tee`, `touch`, `mkdir`, `truncate`, the editors and `patch`: their operands are written.
fn edits(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    let with_value = ["-s", "--size", "-r", "--reference", "-m", "--mode", "-t", "-d", "--date", "-p", "-i", "-o", "-c"];
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let t = a.text();
        if program == "patch" {
            // patch edits files named inside the patch, relative to the cwd.
            if matches!(t, "-d" | "--directory" | "-o" | "--output")
                && let Some(v) = it.next()
            {
                check_write(w, v, "patch");
            }
            continue;
        }
        let editor = matches!(program, "vim" | "vi" | "nvim" | "ex");
        if editor && (matches!(t, "-c" | "--cmd" | "-S") || t.starts_with("-S") && t.len() > 2) {
            w.flag(Decision::Escalate, "shell.inline-code", format!("{program} {t} runs editor commands"));
            let value = it.next();
            if t != "-S" {
                ex_shell(w, program, value, depth);
            }
            continue;
        }
        if t.starts_with('-') && t.len() > 1 {
            if with_value.contains(&t) && program != "mkdir" && program != "touch"
                || (program == "mkdir" && t == "-m")
                || (program == "touch" && matches!(t, "-r" | "-t" | "-d"))
            {
                it.next();
            }
            continue;
        }
        if t.starts_with('+') && matches!(program, "vim" | "vi" | "nvim" | "ex") {
            w.flag(Decision::Escalate, "shell.inline-code", format!("{program} {t} runs editor commands"));
            let cmd = match a {
                Arg::Lit(_) => Arg::Lit(t.get(1..).unwrap_or_default().to_string()),
                other => other.clone(),
            };
            ex_shell(w, program, Some(&cmd), depth);
            continue;
        }
        let appends = rest.iter().any(|o| matches!(o.text(), "-a" | "--append"));
        if program == "truncate" || program == "tee" && !appends {
            check_overwrite(w, a, program);
        } else {
            check_write(w, a, program);
        }
    }
}

fn shred(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let (_, ops) = operands(rest);
    for t in ops {
        check_delete(w, t, program, false);
    }
    if program == "wipefs" {
        w.flag(Decision::Block, "shell.disk-write", "wipefs erases file-system signatures");
    }
}

fn disk_format(w: &mut Walker, program: &str, _: &[Arg], _: &Stdin, _: usize) {
    w.flag(Decision::Block, "shell.disk-write", format!("{program} formats or erases a disk"));
}

fn partition(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let listing = rest.iter().any(|a| matches!(a.text(), "-l" | "--list" | "print" | "-s" | "--show-size" | "--version"));
    if !listing {
        w.flag(Decision::Block, "shell.disk-write", format!("{program} changes a partition table"));
    }
}

fn sort(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if let Some(o) = any_long_option(rest, &["--compress-program"]) {
        w.flag(Decision::Escalate, "shell.inline-code", format!("sort {o} runs a command to compress its temporary files"));
    }
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a.text() == "-o" || a.text() == "--output" {
            if let Some(f) = it.next() {
                check_write(w, f, "sort -o");
            }
        } else if let Some(f) = a.text().strip_prefix("--output=") {
            check_write(w, &Arg::Lit(f.into()), "sort -o");
        } else if let Some(f) = a.text().strip_prefix("-o").filter(|f| !f.is_empty()) {
            check_write(w, &Arg::Lit(f.into()), "sort -o");
        }
    }
}

fn uniq(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let (_, ops) = operands(rest);
    if let Some(out) = ops.get(1) {
        check_write(w, out, "uniq");
    }
}

fn unzip(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    check_option_targets(w, rest, &["-d"], "unzip -d");
}

fn openssl(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    check_option_targets(w, rest, &["-out"], "openssl -out");
}

fn copy_like(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let mut ops: Vec<&Arg> = Vec::new();
    let mut target_dir: Option<&Arg> = None;
    let mut glued_target: Option<Arg> = None;
    let mut it = rest.iter();
    let mut done = false;
    while let Some(a) = it.next() {
        let t = a.text();
        if !done && t == "--" {
            done = true;
            continue;
        }
        // A short cluster naming the target directory (`ln -st DIR`, `cp -vt DIR`, `-tDIR`):
        // the letters before `t` take no value.
        let cluster_t = (!done && t.starts_with('-') && !t.starts_with("--") && t.len() > 2)
            .then(|| t.get(1..).unwrap_or_default())
            .and_then(|b| b.find('t').filter(|&k| !b.get(..k).unwrap_or_default().contains(['S', 'm', 'o', 'g'])).map(|k| (b, k)));
        if let Some((body, k)) = cluster_t {
            match body.get(k + 1..).filter(|d| !d.is_empty()) {
                Some(d) => glued_target = Some(if matches!(a, Arg::Lit(_)) { Arg::Lit(d.to_string()) } else { a.clone() }),
                None => target_dir = it.next(),
            }
            continue;
        }
        if !done && t.starts_with('-') && t.len() > 1 {
            // `--target-directory` in any prefix GNU takes (`--targ DIR`, `--ta=DIR`).
            let target_long = t.len() > 2 && long_option(t, "--target-directory");
            if t == "-t" || (target_long && !t.contains('=')) {
                target_dir = it.next();
            } else if target_long {
                // handled below as a literal
            } else if matches!(t, "-m" | "-o" | "-g" | "-S" | "--suffix" | "--mode" | "--owner" | "--group") {
                it.next();
            }
            continue;
        }
        ops.push(a);
    }
    let owned_target: Option<Arg> = rest.iter().find_map(|a| {
        let (name, dir) = a.text().split_once('=')?;
        (name.len() > 2 && long_option(name, "--target-directory")).then(|| Arg::Lit(dir.to_string()))
    });
    let target_dir = target_dir.or(owned_target.as_ref()).or(glued_target.as_ref());
    let (sources, dest): (Vec<&Arg>, Option<&Arg>) = match target_dir {
        Some(d) => (ops.clone(), Some(d)),
        None if program == "ln" && ops.len() == 1 => (ops.clone(), None),
        None => match ops.split_last() {
            Some((last, init)) if !init.is_empty() => (init.to_vec(), Some(*last)),
            _ => (ops.clone(), None),
        },
    };
    for s in &sources {
        if program == "mv" {
            check_moved(w, s, "mv");
        } else if program == "ln" {
            // A link to guard's files would let later writes through the link reach them.
            if let Place::Guarded(p) = places::place(s, w.cwd.as_deref(), w.ctx, true) {
                w.flag(Decision::Block, "shell.guard-self", format!("ln links to guard's own files ({})", p.display()));
            }
        }
        // Copying or linking a system program makes a renamed binary.
        if let Some((abs, _)) = places::absolute(s, w.cwd.as_deref(), w.ctx.home.as_deref()) {
            let from_bin = abs.parent().is_some_and(places::in_system_bin);
            if from_bin {
                let name = abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                w.flag(Decision::Escalate, "shell.copied-binary", format!("{program} makes a copy of the system program {name}"));
                if let Some(d) = dest
                    && let Some((dabs, _)) = places::absolute(d, w.cwd.as_deref(), w.ctx.home.as_deref())
                {
                    w.copies.insert(dabs.clone(), name.clone());
                    w.copies.insert(dabs.join(&name), name);
                }
            }
        }
    }
    // Later commands that name the link reach its target (see `through_links`). A link named
    // by a directory it goes into, or made from a dynamic name, is not followed.
    if program == "ln"
        && let ([source], Some(d)) = (sources.as_slice(), dest)
    {
        let (cwd, home) = (w.cwd.as_deref(), w.ctx.home.as_deref());
        if let (Some((target, false)), Some((link, false))) = (places::absolute(source, cwd, home), places::absolute(d, cwd, home)) {
            w.links.push((link, target));
        }
    }
    match dest {
        Some(d) if program == "ln" => {
            super::git_pointer(w, d, program);
            let place = places::place(d, w.cwd.as_deref(), w.ctx, false);
            judge_place(w, &place, d, program, false);
        }
        Some(d) => check_overwrite(w, d, program),
        None if program == "ln" => {
            if let Some(s) = sources.first() {
                let name = PathBuf::from(s.text()).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                check_write(w, &Arg::Lit(name), "ln");
            }
        }
        None => {}
    }
}

fn sed(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let mut in_place = false;
    let mut script_given = false;
    let mut owned: Vec<Arg> = Vec::new();
    let mut scripts: Vec<&Arg> = Vec::new();
    let mut files: Vec<&Arg> = Vec::new();
    let mut it = rest.iter();
    let glued = |a: &Arg, v: &str| match a {
        Arg::Dyn { .. } => a.clone(),
        Arg::Glob(_) => Arg::Glob(v.to_string()),
        Arg::Lit(_) => Arg::Lit(v.to_string()),
    };
    while let Some(a) = it.next() {
        let t = a.text();
        if t == "--" {
            files.extend(it.by_ref());
            break;
        }
        if let Some(long) = t.strip_prefix("--").filter(|l| !l.is_empty()) {
            // GNU sed takes any unambiguous prefix, `=VALUE` or the next word as the value.
            let value = long.split_once('=').map(|(_, v)| v);
            let opt = format!("--{}", long.split_once('=').map_or(long, |(n, _)| n));
            if long_option(&opt, "--expression") && opt.len() > 3 {
                script_given = true;
                match value {
                    Some(v) => owned.push(glued(a, v)),
                    None => scripts.extend(it.next()),
                }
            } else if long_option(&opt, "--file") && opt.len() > 3 {
                script_given = true;
                if value.is_none() {
                    it.next();
                }
                w.flag(Decision::Escalate, "shell.inline-code", "sed --file runs a script file guard does not analyse");
            } else if long_option(&opt, "--in-place") && opt.len() > 3 {
                in_place = true;
            } else if long_option(&opt, "--line-length") && opt.len() > 3 && value.is_none() {
                it.next();
            }
            continue;
        }
        if t.starts_with('-') && t.len() > 1 {
            // A cluster of short options (`-ne SCRIPT`, `-i.bak`, `-e1e cmd`): `i` takes the rest
            // as its suffix, `e`, `f` and `l` the rest or the next word as their value.
            let body = t.get(1..).unwrap_or_default();
            for (k, ch) in body.char_indices() {
                let tail = body.get(k + ch.len_utf8()..).unwrap_or_default();
                match ch {
                    'i' => {
                        in_place = true;
                        break;
                    }
                    'e' => {
                        script_given = true;
                        if tail.is_empty() {
                            scripts.extend(it.next());
                        } else {
                            owned.push(glued(a, tail));
                        }
                        break;
                    }
                    'f' => {
                        script_given = true;
                        if tail.is_empty() {
                            it.next();
                        }
                        w.flag(Decision::Escalate, "shell.inline-code", "sed -f runs a script file guard does not analyse");
                        break;
                    }
                    'l' => {
                        if tail.is_empty() {
                            it.next();
                        }
                        break;
                    }
                    _ => {}
                }
            }
            continue;
        }
        if script_given {
            files.push(a);
        } else {
            script_given = true;
            scripts.push(a);
        }
    }
    scripts.extend(owned.iter());
    for s in scripts {
        match s {
            Arg::Lit(text) | Arg::Glob(text) => {
                if sed_script_runs_or_writes(text) {
                    w.flag(Decision::Escalate, "shell.sed-exec", "the sed script runs commands or writes files (e/w)");
                }
            }
            Arg::Dyn { .. } => w.flag(Decision::Escalate, "shell.sed-exec", "the sed script is known only at run time"),
        }
    }
    if in_place {
        for f in files {
            check_write(w, f, "sed -i");
        }
    }
}

/// Whether a sed script uses the `e` command or flag, or `w`/`W` to write files.
fn sed_script_runs_or_writes(s: &str) -> bool {
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    let at_command = |i: usize| -> bool {
        // A command letter is at the start, or after `;`, newline, `{`, `}` or an address.
        let prev = bytes.get(..i).unwrap_or_default().iter().rev().find(|c| !c.is_whitespace());
        matches!(prev, None | Some(';' | '\n' | '{' | '}' | '!')) || prev.is_some_and(|c| c.is_ascii_digit() || *c == '$' || *c == '/')
    };
    while i < bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(' ');
        if c == 's' && at_command(i) {
            // s<d>re<d>repl<d>flags
            let Some(&d) = bytes.get(i + 1) else {
                return false;
            };
            let mut k = i + 2;
            let mut seen = 0;
            while k < bytes.len() && seen < 2 {
                match bytes.get(k) {
                    Some('\\') => k += 1,
                    Some(&x) if x == d => seen += 1,
                    _ => {}
                }
                k += 1;
            }
            while let Some(&f) = bytes.get(k) {
                if f == 'e' || f == 'w' || f == 'W' {
                    return true;
                }
                if !(f.is_ascii_alphanumeric()) {
                    break;
                }
                k += 1;
            }
            i = k;
            continue;
        }
        if matches!(c, 'e' | 'w' | 'W') && at_command(i) {
            let next = bytes.get(i + 1).copied();
            if next.is_none_or(|n| n.is_whitespace() || n == ';') {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// The string literals an awk program runs as commands: `system("CMD")`, `print … | "CMD"`,
/// `print … |& "CMD"`, `"CMD" | getline`, `"CMD" |& getline`. A command built from
/// expressions (`system("rm " $1)`) is not a literal: the program escalates uncontained, and
/// contained it is code the sandbox holds, as `python3 -c` is.
fn awk_commands(program: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = program.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        let mut text = Vec::new();
        i += 1;
        while let Some(&c) = bytes.get(i) {
            match c {
                b'"' => break,
                b'\\' => {
                    i += 1;
                    match bytes.get(i) {
                        Some(b'n') => text.push(b'\n'),
                        Some(b't') => text.push(b'\t'),
                        Some(&e) => text.push(e),
                        None => break,
                    }
                }
                _ => text.push(c),
            }
            i += 1;
        }
        let before = program.get(..start).unwrap_or_default().trim_end();
        let after = program.get((i + 1).min(program.len())..).unwrap_or_default().trim_start();
        // The literal must be the whole command, not a piece of a concatenation
        // (`system("kill " $2)`, `"geoiplookup " $2 | getline`).
        let operand_ends = after.is_empty() || after.starts_with([';', '}', ')', '\n']);
        let statement_starts = before.is_empty() || before.ends_with(['{', ';', '(', '\n']);
        let to_getline = after.starts_with('|') && after.trim_start_matches(['|', '&']).trim_start().starts_with("getline");
        let command = (before.ends_with("system(") && after.starts_with(')'))
            || ((before.ends_with('|') || before.ends_with("|&")) && operand_ends)
            || (statement_starts && to_getline);
        let text = String::from_utf8_lossy(&text).into_owned();
        // A shell fed the program's output runs code built at run time: contained, the sandbox
        // holds it as it holds `python3 -c`; uncontained, the program already escalates.
        let shell = matches!(text.trim(), "sh" | "bash" | "zsh" | "dash" | "ksh" | "/bin/sh" | "/bin/bash" | "/usr/bin/env bash");
        if command && !shell {
            out.push(text);
        }
        i += 1;
    }
    out
}

fn awk(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    let mut it = rest.iter();
    let mut prog: Option<&Arg> = None;
    while let Some(a) = it.next() {
        match a.text() {
            "-f" | "--file" => {
                it.next();
                w.flag(Decision::Escalate, "shell.inline-code", format!("{program} -f runs a program file guard does not analyse"));
                return;
            }
            "-v" | "-F" | "--assign" | "--field-separator" => {
                it.next();
            }
            t if t.starts_with('-') && t.len() > 1 => {}
            _ => {
                prog = Some(a);
                break;
            }
        }
    }
    let Some(p) = prog else { return };
    let text = p.text();
    // `system(…)`, pipes to or from commands (`print | "sh"`, `"cmd" | getline`), file output.
    let runs = text.contains("system") || text.contains('|') || text.contains(">>") || {
        let t: Vec<char> = text.chars().collect();
        t.windows(2).enumerate().any(|(i, w2)| {
            // `print > "file"` or `> $1`: output redirection (comparisons have no quote or $ after).
            w2.first() == Some(&'>')
                && t.get(i + 1..).unwrap_or_default().iter().find(|c| !c.is_whitespace()).is_some_and(|c| *c == '"' || *c == '$')
        })
    };
    if runs || !matches!(p, Arg::Lit(_)) {
        w.flag(Decision::Escalate, "shell.inline-code", format!("the {program} program runs commands or writes files"));
    }
    if matches!(p, Arg::Lit(_)) {
        for cmd in awk_commands(text) {
            super::code::shell_string(w, &[Arg::Lit(cmd)], &format!("{program}'s command"), depth);
        }
    }
}

/// The shell command in a vim/ex command (`!CMD`, `:w !CMD`, `:r !CMD`, `%!CMD`): the text after
/// its first `!`, judged as a line of its own (`:q!` leaves nothing to judge).
fn ex_shell(w: &mut Walker, program: &str, cmd: Option<&Arg>, depth: usize) {
    match cmd {
        Some(Arg::Lit(c)) => {
            if let Some((_, sh)) = c.split_once('!').filter(|(_, sh)| !sh.trim().is_empty()) {
                super::code::shell_string(w, &[Arg::Lit(sh.to_string())], &format!("{program}'s ! command"), depth);
            }
        }
        Some(other) => super::code::shell_string(w, std::slice::from_ref(other), &format!("{program}'s command"), depth),
        None => {}
    }
}

fn find(w: &mut Walker, _: &str, rest: &[Arg], stdin: &Stdin, depth: usize) {
    let mut roots: Vec<Arg> = Vec::new();
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        if matches!(t, "-H" | "-L" | "-P") || t.starts_with("-O") || t.starts_with("-D") {
            i += 1;
            continue;
        }
        if t.starts_with('-') || t == "(" || t == "!" || t == "\\(" {
            break;
        }
        roots.push(a.clone());
        i += 1;
    }
    if roots.is_empty() {
        roots.push(Arg::Lit(".".into()));
    }
    let exprs = rest.get(i..).unwrap_or_default();
    let names = find_names(exprs);
    let mut k = 0;
    while let Some(a) = exprs.get(k) {
        match a.text() {
            "-delete" => {
                // find deletes what it finds under each root, not the root itself.
                for r in &roots {
                    let found = match r {
                        Arg::Lit(p) | Arg::Glob(p) => Arg::Glob(format!("{}/*", p.trim_end_matches('/'))),
                        other => other.clone(),
                    };
                    let outer = w.found.replace((found.text().to_string(), names.clone()));
                    check_delete(w, &found, "find -delete", true);
                    w.found = outer;
                }
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let mut cmd: Vec<Arg> = Vec::new();
                k += 1;
                while let Some(c) = exprs.get(k) {
                    if c.text() == ";" || c.text() == "+" {
                        break;
                    }
                    cmd.push(c.clone());
                    k += 1;
                }
                for r in &roots {
                    // `{}` stands for the files found under this root.
                    let found = match r {
                        Arg::Lit(p) | Arg::Glob(p) => Arg::Glob(format!("{}/*", p.trim_end_matches('/'))),
                        other => other.clone(),
                    };
                    let with_found: Vec<Arg> =
                        cmd.iter().map(|c| if c.text().contains("{}") { found.clone() } else { c.clone() }).collect();
                    let outer = w.found.replace((found.text().to_string(), names.clone()));
                    w.command(with_found, stdin, depth + 1);
                    w.found = outer;
                }
            }
            "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                if let Some(f) = exprs.get(k + 1) {
                    check_write(w, f, "find");
                }
            }
            _ => {}
        }
        k += 1;
    }
}

/// The `-name`/`-iname` tests every entry a find expression acts on passes: only for an
/// expression that is one conjunction (no `-o`, `,` or parentheses; a negated test is not
/// one every entry passes), and none for
/// a pattern known only at run time or matching every name. `-type d -empty` finds only empty
/// directories, which hold nothing git tracks: a name no path has stands for that.
fn find_names(exprs: &[Arg]) -> Vec<NamePattern> {
    let texts: Vec<&str> = exprs.iter().map(Arg::text).collect();
    let conjunction = !texts.iter().any(|t| matches!(*t, "-o" | "-or" | "," | "(" | ")" | "\\(" | "\\)"));
    let negates = texts.iter().any(|t| matches!(*t, "!" | "-not"));
    if conjunction && !negates && texts.contains(&"-empty") && texts.windows(2).any(|p| p == ["-type", "d"]) {
        return vec![NamePattern { pattern: "/".into(), ignore_case: false }];
    }
    if !conjunction {
        return Vec::new();
    }
    let mut names = Vec::new();
    let mut it = exprs.iter();
    let mut negated = false;
    while let Some(a) = it.next() {
        let t = a.text();
        if matches!(t, "!" | "-not") {
            negated = true;
            continue;
        }
        if std::mem::take(&mut negated) {
            if matches!(t, "-name" | "-iname" | "-path" | "-ipath" | "-regex" | "-iregex" | "-type" | "-newer" | "-user" | "-perm") {
                it.next();
            }
            continue;
        }
        match t {
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                // The command's words are not tests.
                for c in it.by_ref() {
                    if matches!(c.text(), ";" | "+") {
                        break;
                    }
                }
            }
            t @ ("-name" | "-iname") => match it.next() {
                Some(Arg::Lit(p) | Arg::Glob(p)) if p != "*" => names.push(NamePattern { pattern: p.clone(), ignore_case: t == "-iname" }),
                _ => return Vec::new(),
            },
            _ => {}
        }
    }
    names
}

fn tar(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    let first = rest.first().map(Arg::text).unwrap_or_default();
    let mut extract = !first.starts_with('-') && first.contains('x');
    let mut create = !first.starts_with('-') && (first.contains('c') || first.contains('r') || first.contains('u'));
    let mut file: Option<&Arg> = None;
    let mut dir: Option<&Arg> = None;
    let mut dir_eq: Option<Arg> = None;
    let mut it = rest.iter().enumerate();
    while let Some((i, a)) = it.next() {
        let t = a.text();
        let runs =
            ["--to-command", "--checkpoint-action", "--use-compress-program", "--info-script", "--new-volume-script", "--rsh-command"];
        if t == "-I" || t == "-F" || runs.iter().any(|o| super::long_option(t, o)) {
            w.flag(Decision::Escalate, "shell.inline-code", format!("tar {t} runs a command"));
            if let Some(cmd) = t.split_once('=').and_then(|(n, v)| long_option(n, "--checkpoint-action").then_some(v)) {
                if let Some(c) = cmd.strip_prefix("exec=") {
                    super::code::shell_string(
                        w,
                        &[if matches!(a, Arg::Lit(_)) { Arg::Lit(c.to_string()) } else { a.clone() }],
                        "tar --checkpoint-action",
                        depth,
                    );
                }
            } else if long_option(t.split_once('=').map_or(t, |(n, _)| n), "--to-command") {
                option_command(w, rest, i, "--to-command", None, "tar --to-command", depth);
            }
        }
        if t == "-P" || t == "--absolute-names" {
            w.flag(Decision::Escalate, "shell.write-outside", "tar -P writes absolute paths");
        }
        if t == "-C" || t == "--directory" {
            dir = it.next().map(|(_, d)| d);
            continue;
        }
        if let Some(d) = t.strip_prefix("--directory=") {
            dir_eq = Some(Arg::Lit(d.to_string()));
        }
        if t == "--extract" || t == "--get" || (t.starts_with('-') && !t.starts_with("--") && t.contains('x')) {
            extract = true;
        }
        if t == "--create" || (t.starts_with('-') && !t.starts_with("--") && t.contains('c')) {
            create = true;
        }
        if t == "-f"
            || t == "--file"
            || (i == 0 && !t.starts_with('-') && t.ends_with('f'))
            || (t.starts_with('-') && !t.starts_with("--") && t.ends_with('f'))
        {
            file = it.next().map(|(_, f)| f);
        }
    }
    if extract && let Some(d) = dir.or(dir_eq.as_ref()) {
        check_write(w, d, "tar -x -C");
    }
    if create && let Some(f) = file.filter(|f| f.text() != "-") {
        check_write(w, f, "tar -c -f");
    }
}
