//! What guard knows about programs: wrappers to see through, shells and interpreters whose
//! arguments are code, commands that write or delete paths, and the everyday read-only and
//! build tools that pass. A program guard does not know is escalated.

use std::path::{Path, PathBuf};

use super::places::{self, Place};
use super::words::Arg;
use super::{Stdin, Walker};
use crate::decision::{Decision, Verdict};

/// Programs guard knows to be everyday read-only or build work: allowed once their arguments pass.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "ls", "ll", "dir", "vdir", "cat", "tac", "head", "tail", "less", "more", "most", "wc", "grep", "egrep", "fgrep", "zgrep",
    "rg", "ag", "ack", "fd", "fdfind", "locate", "which", "whereis", "type", "file", "stat", "du", "df", "free", "uptime", "w",
    "who", "whoami", "id", "groups", "uname", "pwd", "echo", "printf", "yes", "seq", "basename", "dirname", "realpath",
    "readlink", "tree", "cut", "paste", "join", "tr", "column", "fold", "fmt", "nl", "od", "hexdump", "strings", "md5sum",
    "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "cksum", "b2sum", "sum", "base32", "basenc", "comm", "diff",
    "diff3", "sdiff", "cmp", "colordiff", "jq", "yq", "ps", "pgrep", "top", "htop", "pstree", "lsof", "netstat", "ss", "ping",
    "ping6", "traceroute", "tracepath", "dig", "nslookup", "host", "whois", "getent", "lsblk", "blkid", "lscpu", "lsusb", "lspci",
    "lsmod", "dmesg", "nproc", "arch", "tty", "sleep", "true", "false", "test", "[", "man", "info", "apropos", "whatis", "tldr",
    "clear", "tput", "numfmt", "expr", "bc", "dc", "factor", "shuf", "rev", "look", "iconv", "mktemp", "mkfifo", "sync",
    "printenv", "cal", "locale", "xxd", "base64", "gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat", "xz", "unxz", "xzcat",
    "zstd", "unzstd", "zstdcat", "zip", "patch", "dos2unix", "unix2dos", "cd", "pushd", "popd", "dirs", ":", "set", "shopt",
    "unset", "read", "mapfile", "readarray", "exit", "return", "break", "continue", "shift", "wait", "jobs", "fg", "bg", "hash",
    "umask", "ulimit", "getopts", "let", "caller", "disown", "help", "logout", "times", "compgen", "complete", "compopt",
    "history", "unalias", "fc", "bind", "lsb_release", "rustc", "rustfmt", "clippy-driver", "pytest", "tox", "nox", "mypy",
    "ruff", "black", "flake8", "pylint", "isort", "gofmt", "make", "gmake", "cmake", "ninja", "meson", "mvn", "gradle", "ant",
    "bazel", "gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "javac", "java", "kotlinc", "tsc", "eslint", "prettier", "jest",
    "vitest", "mocha", "dotnet", "swift", "swiftc", "ldd", "nm", "objdump", "readelf", "pkg-config", "protoc", "shellcheck",
    "shfmt", "yamllint", "hadolint", "tflint", "hyperfine", "ctags", "pandoc", "apt-cache", "dpkg-query", "twine", "sort", "uniq",
    "split", "csplit", "tee", "touch", "mkdir", "rmdir", "unzip", "tar", "date", "hostname", "watch", "time",
];

/// Shells whose `-c` string, script or stdin is code.
const SHELLS: &[&str] = &["bash", "sh", "zsh", "dash", "ksh", "mksh", "fish", "ash", "busybox", "rbash", "tcsh", "csh"];

/// Interpreters whose inline code guard cannot read.
const INTERPRETERS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "Rscript",
    "deno",
    "bun",
    "osascript",
    "pwsh",
    "powershell",
    "tclsh",
    "wish",
    "jshell",
    "irb",
];

/// Everyday programs that download, fetch or decode data: their output fed to a shell is block.
pub fn is_producer(name: &str, args: &[Arg]) -> bool {
    let has = |flags: &[&str]| {
        args.iter().any(|a| {
            flags.iter().any(|f| {
                a.text() == *f
                    || (f.len() == 2
                        && a.text().starts_with('-')
                        && !a.text().starts_with("--")
                        && a.text().contains(f.trim_start_matches('-')))
            })
        })
    };
    match name {
        "curl" | "wget" | "fetch" | "aria2c" | "nc" | "ncat" | "netcat" | "socat" | "ssh" | "scp" | "http" | "https" | "xh" | "lynx"
        | "links" | "w3m" => true,
        "base64" | "base32" | "basenc" => has(&["-d", "--decode", "-D"]),
        "xxd" => has(&["-r", "-revert"]),
        "openssl" => true,
        "uudecode" | "gunzip" | "zcat" | "bzcat" | "xzcat" | "zstdcat" | "unxz" | "unzstd" | "bunzip2" => true,
        "gzip" | "bzip2" | "xz" | "zstd" => has(&["-d", "--decompress", "--uncompress", "-c"]),
        "printf" | "rev" | "tr" => true,
        "echo" => args.iter().any(|a| a.text() == "-e" || a.text().contains('\\') || !matches!(a, Arg::Lit(_))),
        "cat" | "tac" | "head" | "tail" => args.iter().any(|a| a.text().starts_with("/dev/tcp") || a.text().starts_with("/dev/udp")),
        _ => false,
    }
}

/// The static text an `echo` of literal words prints, for `echo 'ls' | sh`.
pub(super) fn static_output(args: &[Arg], stdin: &Stdin) -> Option<String> {
    let (first, rest) = args.split_first()?;
    let name = base_name(first.lit()?);
    if name == "cat" && rest.is_empty() {
        // `cat <<EOF | sh`: the here-doc passes through.
        return match stdin {
            Stdin::Text(Some(t)) => Some(t.clone()),
            Stdin::Pipe { text: Some(t), .. } => Some(t.clone()),
            _ => None,
        };
    }
    if name != "echo" {
        return None;
    }
    let mut parts = Vec::new();
    for a in rest {
        let s = a.lit()?;
        if s.starts_with('-') || s.contains('\\') {
            return None;
        }
        parts.push(s);
    }
    Some(parts.join(" "))
}

pub fn base_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Variables whose assignment changes what later commands run or load.
#[rustfmt::skip]
const HIJACK_VARS: &[&str] = &[
    "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV", "PROMPT_COMMAND", "PS4", "IFS", "SHELLOPTS",
    "BASHOPTS", "GLOBIGNORE", "CDPATH", "PYTHONPATH", "PYTHONSTARTUP", "NODE_OPTIONS", "PERL5OPT", "PERL5LIB", "RUBYOPT",
    "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_PARAMETERS", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "PAGER",
    "EDITOR", "VISUAL", "SUDO_ASKPASS", "KUBECONFIG", "TF_CLI_ARGS", "GUARD_HOME", "GUARD_POLICY", "GUARD_TERRAFORM",
    "GUARD_KUBECTL", "DYLD_INSERT_LIBRARIES", "HOME",
];

/// A variable name a builtin takes: its subscript is arithmetic, and a name known only at run time
/// could hold any subscript.
pub(super) fn variable_name(w: &mut Walker, program: &str, name: &Arg) {
    if !matches!(program, "test" | "[" | "[[ -v ]]") {
        // `unset NAME`, `read NAME`, `printf -v NAME`, `declare $dynamic`: NAME changes.
        env_change(w, if matches!(name, Arg::Lit(_)) { name.text() } else { "<a name known only at run time>" });
    }
    // A name glued to its option (`-vNAME`, `-aNAME`): names never start with `-`.
    let t = name.text();
    let t = t.strip_prefix('-').and_then(|o| o.get(1..)).unwrap_or(t);
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
fn declare(w: &mut Walker, rest: &[Arg]) {
    let (mut integer, mut assoc) = (false, false);
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

/// Facts about a line that its request binds or that combine across its commands.
#[derive(Debug, Default)]
pub(crate) struct LineFacts {
    /// The first variable not on the allowlist that the line sets, exports or unsets.
    changed: Option<String>,
    /// The first of guard, terraform, kubectl that the line runs.
    tool: Option<&'static str>,
    /// Files the line runs as code (`source x.sh`, `bash x.sh`, `./x`), absolute: their
    /// content is bound into an escalated request (see `scripts_run`).
    scripts: Vec<PathBuf>,
}

/// Records a file the line runs as code.
fn note_script(w: &mut Walker, file: Option<&Arg>) {
    if let Some(a @ Arg::Lit(_)) = file
        && let Some((p, _)) = places::absolute(a, w.cwd.as_deref(), w.ctx.home.as_deref())
        && !w.facts.scripts.contains(&p)
    {
        w.facts.scripts.push(p);
    }
}

/// The files a bash invocation runs as code (`source x.sh`, `bash x.sh`, `./x`), absolute, as
/// far as guard can tell statically: an approval binds their content (lib.rs hashes them).
pub fn scripts_run(argv: &[String], policy: &crate::policy::Policy, ctx: &crate::request::Context) -> Vec<PathBuf> {
    let inv = super::bash_invocation(argv);
    let mut w = Walker::new(policy, ctx);
    match inv.line {
        Some(line) => w.line(line, 0),
        None => {
            let mut args = vec![Arg::Lit("bash".into())];
            args.extend(inv.rest.iter().map(|s| Arg::Lit((*s).to_string())));
            w.command(args, &Stdin::Inherited, 0);
        }
    }
    w.facts.scripts
}

pub(super) fn check_assignment(w: &mut Walker, name: &str) {
    env_change(w, name);
    if HIJACK_VARS.contains(&name) || name.starts_with("BASH_FUNC_") || name.starts_with("GIT_CONFIG_") || name.starts_with("TF_CLI_ARGS") {
        w.flag(Decision::Escalate, "shell.env-hijack", format!("setting {name} changes what later commands run or where guard looks"));
    }
}

/// Checks a path the command writes to.
pub(super) fn check_write(w: &mut Walker, arg: &Arg, what: &str) {
    let place = places::place(arg, w.cwd.as_deref(), w.ctx, false);
    judge_place(w, &place, arg, what, false);
}

/// Checks a path the command replaces or truncates whole (`> f`, `cp x f`, `truncate`, `tee`):
/// a shell start-up file destroyed that way is the human's settings gone, so it blocks; an
/// append or an edit (`>> ~/.bashrc`, `sed -i`) only escalates.
pub(super) fn check_overwrite(w: &mut Walker, arg: &Arg, what: &str) {
    let place = places::place(arg, w.cwd.as_deref(), w.ctx, false);
    if let (Place::Startup(p), Some(home)) = (&place, w.ctx.home.as_deref())
        && let Ok(rel) = p.strip_prefix(home)
        && crate::tools::harness::SHELL_STARTUP.iter().any(|f| rel == Path::new(f))
    {
        w.flag(Decision::Block, "shell.startup-overwrite", format!("{what} replaces or truncates {}, a shell start-up file", p.display()));
    }
    judge_place(w, &place, arg, what, false);
}

/// Checks a path the command deletes or moves away (`recursive` for whole trees).
pub(super) fn check_delete(w: &mut Walker, arg: &Arg, what: &str, recursive: bool) {
    let place = places::place(arg, w.cwd.as_deref(), w.ctx, recursive);
    judge_place(w, &place, arg, what, recursive);
}

fn judge_place(w: &mut Walker, place: &Place, arg: &Arg, what: &str, destroys_tree: bool) {
    let shown = arg.text();
    match place {
        Place::Guarded(p) => w.flag(Decision::Block, "shell.guard-self", format!("{what} touches guard's own files ({})", p.display())),
        Place::Device(p) if places::is_disk_device(p) => {
            w.flag(Decision::Block, "shell.disk-write", format!("{what} writes to the device {}", p.display()))
        }
        Place::Device(p) => w.flag(Decision::Escalate, "shell.write-system", format!("{what} writes to the device {}", p.display())),
        Place::Root(p) if destroys_tree => w.flag(Decision::Block, "shell.rm-root", format!("{what} destroys {} recursively", p.display())),
        Place::Root(p) | Place::System(p) => {
            w.flag(Decision::Escalate, "shell.write-system", format!("{what} changes the system path {}", p.display()))
        }
        Place::Startup(p) => w.flag(
            Decision::Escalate,
            "shell.persistence",
            format!("{what} changes {}, which runs or authenticates later sessions", p.display()),
        ),
        Place::Unknown => w.flag(Decision::Escalate, "shell.dynamic-target", format!("{what} targets {shown:?}, known only at run time")),
        Place::Cwd(p) if destroys_tree => {
            w.flag(Decision::Escalate, "shell.write-outside", format!("{what} removes the working directory itself ({})", p.display()))
        }
        Place::Outside(p) => {
            w.flag(Decision::Escalate, "shell.write-outside", format!("{what} changes {} outside the working directory", p.display()))
        }
        Place::Temp(p) if destroys_tree => w.flag(
            Decision::Escalate,
            "shell.write-outside",
            format!("{what} removes {} recursively outside the working directory", p.display()),
        ),
        Place::Temp(_) | Place::Inside(_) | Place::Cwd(_) | Place::HarmlessDevice => {}
    }
}

/// Checks, as a write target, the value after each of the options `names` (`-d DIR`).
fn check_option_targets(w: &mut Walker, rest: &[Arg], names: &[&str], what: &str) {
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if names.contains(&a.text())
            && let Some(v) = it.next()
        {
            check_write(w, v, what);
        }
    }
}

/// Splits leading `-x` style options from operands (`--` ends options).
fn operands(args: &[Arg]) -> (Vec<&Arg>, Vec<&Arg>) {
    let mut opts = Vec::new();
    let mut ops = Vec::new();
    let mut done = false;
    for a in args {
        if !done && a.text() == "--" {
            done = true;
            continue;
        }
        if !done && a.text().starts_with('-') && a.text().len() > 1 {
            opts.push(a);
        } else {
            ops.push(a);
        }
    }
    (opts, ops)
}

fn has_short(opts: &[&Arg], letters: &[char], longs: &[&str]) -> bool {
    opts.iter().any(|o| {
        let t = o.text();
        if let Some(long) = t.strip_prefix("--") {
            longs.iter().any(|l| long == *l || long.starts_with(&format!("{l}=")))
        } else {
            t.chars().skip(1).any(|c| letters.contains(&c))
        }
    })
}

/// Entry point for a resolved simple command.
pub(super) fn command(w: &mut Walker, args: Vec<Arg>, stdin: &Stdin, depth: usize) {
    let Some(first) = args.first() else { return };
    let name = match first {
        Arg::Lit(n) => n.clone(),
        Arg::Dyn { tainted: true, text } => {
            w.flag(Decision::Block, "shell.remote-code", format!("the command name {text:?} comes from downloaded or decoded data"));
            return;
        }
        other => {
            w.flag(Decision::Escalate, "shell.dynamic-command", format!("the command name {:?} is known only at run time", other.text()));
            return;
        }
    };
    let rest: Vec<Arg> = args.get(1..).unwrap_or_default().to_vec();
    let program = resolve_program(w, &name);
    w.fork_bomb_check(&program);
    if w.functions.contains(&program) {
        // A function defined earlier in the line: its body was judged where it was defined.
        return;
    }
    // The programs a line runs decide whether it gets the network (`[sandbox]
    // network_programs`): a use that cannot need it does not count, so `git status; make` gives
    // the Makefile's recipes no network.
    if !offline_use(&program, &rest) {
        w.verdict.programs.insert(program.clone());
    }
    if see_through_wrapper(w, &program, &rest, stdin, depth) {
        return;
    }
    let mut own = Verdict::allow();
    std::mem::swap(&mut w.verdict, &mut own);
    judge_program(w, &program, &rest, stdin, depth);
    std::mem::swap(&mut w.verdict, &mut own);
    apply_data_rules(w, &program, &rest, own);
}

/// Whether this use of a program cannot need the network: a lone `--version`/`--help`, or a
/// git subcommand that only reads or writes the local repository (not `checkout`, `merge` and
/// the like: a Git LFS smudge filter fetches on checkout).
fn offline_use(program: &str, rest: &[Arg]) -> bool {
    const ASKS: &[&str] = &["--version", "-V", "--help", "-h", "version", "help"];
    const GIT_LOCAL: &[&str] = &[
        "status",
        "log",
        "diff",
        "show",
        "add",
        "commit",
        "branch",
        "tag",
        "rev-parse",
        "config",
        "init",
        "blame",
        "grep",
        "ls-files",
        "rm",
        "mv",
        "describe",
        "shortlog",
        "reflog",
        "format-patch",
        "notes",
        "rev-list",
        "cat-file",
        "for-each-ref",
        "symbolic-ref",
        "show-ref",
        "name-rev",
        "var",
        "help",
        "version",
        "--version",
    ];
    match rest {
        [only] if ASKS.contains(&only.text()) => true,
        _ if program == "git" => {
            // The subcommand, after git's own options (`-C dir`, `-c k=v`, `--no-pager`).
            let mut it = rest.iter().map(Arg::text);
            let sub = loop {
                match it.next() {
                    Some("-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace") => {
                        it.next();
                    }
                    Some(o) if o.starts_with('-') && o != "--version" => {}
                    other => break other,
                }
            };
            sub.is_some_and(|s| GIT_LOCAL.contains(&s))
        }
        _ => false,
    }
}

/// The command's name once paths and copies are seen through. Programs run by a path outside
/// the system bin dirs are unknown code (unless a copy of a known program, then that program).
fn resolve_program(w: &mut Walker, name: &str) -> String {
    if !name.contains('/') {
        return name.to_string();
    }
    let arg = Arg::Lit(name.to_string());
    let abs = places::absolute(&arg, w.cwd.as_deref(), w.ctx.home.as_deref()).map(|(p, _)| p);
    if let Some(copied) = abs.as_ref().and_then(|p| w.copies.get(p)).cloned() {
        w.flag(Decision::Escalate, "shell.copied-binary", format!("{name} is a copy or link of {copied} made earlier in the line"));
        return copied;
    }
    let base = base_name(name).to_string();
    let dir = abs.as_deref().and_then(Path::parent).map(Path::to_path_buf);
    match dir {
        Some(d) if places::in_system_bin(&d) => {}
        // A program of the project's own (`.venv/bin/ruff`) is not a temp binary because the
        // project lives under /tmp.
        Some(d) if places::is_temp_dir(&d) && !w.cwd.as_deref().is_some_and(|c| d.starts_with(c) && !places::is_temp_dir_root(c)) => {
            w.flag(Decision::Escalate, "shell.temp-binary", format!("{name} runs a program from a temporary directory"));
            note_script(w, Some(&arg));
        }
        _ => {
            w.flag(Decision::Escalate, "shell.unknown-command", format!("{name} runs a program outside the system bin directories"));
            note_script(w, Some(&arg));
        }
    }
    base
}

/// Handles wrappers (`sudo`, `env`, `timeout`, `xargs`, …): judges the wrapped command instead.
fn see_through_wrapper(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin, depth: usize) -> bool {
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

/// Judges a string that a program hands to a shell (`bash -c`, `eval`, `watch`, `su -c`, …).
fn shell_string(w: &mut Walker, parts: &[Arg], via: &str, depth: usize) {
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
fn stdin_code(w: &mut Walker, program: &str, stdin: &Stdin, depth: usize, readable: bool) {
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

/// Programs that only look at a path's name or metadata, never its content.
const METADATA_ONLY: &[&str] = &[
    "ls", "stat", "test", "[", "du", "realpath", "readlink", "dirname", "basename", "mkdir", "touch", "chmod", "chown", "cd", "rm", "file",
];

/// Whether a file name holds secrets wherever it is (`.env*`, keys, `id_*`, `*.tfvars`, …),
/// the look-alikes (`.example`, `.sample`, `.template`, `.dist`, `.pub`) excepted. No
/// allocation: it runs on every argument of every command.
fn secret_name(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_ecdsa_sk",
        "id_ed25519_sk",
        ".netrc",
        ".git-credentials",
        ".pgpass",
        ".npmrc",
        ".pypirc",
        ".vault-token",
        "credentials",
        "shadow",
        "gshadow",
    ];
    const SUFFIXES: &[&str] = &[".pem", ".key", ".p12", ".pfx", ".kdbx", ".tfvars"];
    const LOOK_ALIKES: &[&str] = &[".example", ".sample", ".template", ".dist", ".pub"];
    if LOOK_ALIKES.iter().any(|s| name.ends_with(s)) {
        return false;
    }
    name == ".env" || name.starts_with(".env.") || NAMES.contains(&name) || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Reading a secret escalates, with a clear message: inside the sandbox the policy's secrets
/// are unreadable anyway, and the agent deserves an answer rather than EACCES; a secret-shaped
/// file inside the project (`.env`, a key) the sandbox cannot tell from code.
fn secret_reads(w: &mut Walker, program: &str, rest: &[Arg]) {
    if METADATA_ONLY.contains(&program) {
        return;
    }
    let mut listed = None;
    for a in rest {
        let Some(text) = a.lit() else { continue };
        let value = if text.starts_with("--") { text.split_once('=').map_or("", |(_, v)| v) } else { text };
        if value.is_empty() || value.starts_with('-') {
            continue;
        }
        let secret = if !value.contains('/') && !value.starts_with('~') {
            secret_name(value)
        } else {
            let Some((abs, _)) = places::absolute(&Arg::Lit(value.to_string()), w.cwd.as_deref(), w.ctx.home.as_deref()) else { continue };
            let in_list = listed.get_or_insert_with(|| w.policy.sandbox.secret_paths(w.ctx.home.as_deref())).holds(&abs);
            let system = abs.starts_with("/etc/shadow") || abs.starts_with("/etc/gshadow") || abs.starts_with("/etc/sudoers");
            in_list || system || abs.file_name().and_then(|n| n.to_str()).is_some_and(secret_name)
        };
        if secret {
            w.flag(Decision::Escalate, "shell.secret-read", format!("{program} reads {value}, which holds or looks like a secret"));
        }
    }
}

fn judge_program(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin, depth: usize) {
    secret_reads(w, program, rest);
    if program == "printenv" {
        for name in rest.iter().filter_map(Arg::lit).filter(|a| !a.starts_with('-')) {
            w.secret_variable(name, &format!("printenv {name}"));
        }
    }
    for name in super::arith::name_args(program, rest) {
        variable_name(w, program, name);
    }
    if super::arith::ASSIGNS_FROM_DATA.contains(&program) {
        // `read n`, `printf -v n`, `mapfile -t n`: n holds data guard cannot see.
        for t in rest.iter().map(Arg::text) {
            let glued = t.strip_prefix('-').and_then(|o| o.get(1..)).unwrap_or(t);
            for name in [t, glued] {
                if name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    w.ints.assign(name, None, true);
                }
            }
        }
    }
    if SHELLS.contains(&program) {
        return shell_program(w, program, rest, stdin, depth);
    }
    if INTERPRETERS.contains(&program) || program.starts_with("python3.") || program.starts_with("python2.") {
        return interpreter(w, program, rest, stdin);
    }
    match program {
        "eval" => shell_string(w, rest, "eval", depth),
        "source" | "." => {
            if rest.first().is_some_and(Arg::is_tainted) {
                w.flag(Decision::Block, "shell.remote-code", format!("{program} runs downloaded or decoded code"));
            } else {
                w.flag(Decision::Escalate, "shell.source", format!("{program} runs a script guard does not analyse"));
                note_script(w, rest.first());
            }
        }
        "su" => {
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
        "script" => {
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
        "ssh" => {
            w.flag(Decision::Escalate, "shell.remote", "ssh runs commands on another host");
            let ops = ssh_remote_command(rest);
            if !ops.is_empty() {
                shell_string(w, &ops, "ssh", depth);
            }
        }
        "scp" | "sftp" | "ftp" | "telnet" | "nc" | "ncat" | "netcat" | "socat" => {
            w.flag(Decision::Escalate, "shell.remote", format!("{program} talks to another host"))
        }
        "rsync" => {
            if rest.iter().any(|a| a.text().contains(':') && !a.text().starts_with('-')) {
                w.flag(Decision::Escalate, "shell.remote", "rsync copies to or from another host");
            }
            if rest.iter().any(|a| a.text().starts_with("--delete") || a.text() == "--remove-source-files") {
                w.flag(Decision::Escalate, "shell.write-outside", "rsync --delete removes files at the destination");
            }
            let (_, ops) = operands(rest);
            if let Some(dest) = ops.last().filter(|_| ops.len() > 1)
                && !dest.text().contains(':')
            {
                check_write(w, dest, "rsync");
            }
        }
        "rm" | "unlink" => {
            let (opts, ops) = operands(rest);
            let recursive = program == "rm" && has_short(&opts, &['r', 'R'], &["recursive"]);
            if has_short(&opts, &[], &["no-preserve-root"]) {
                w.flag(Decision::Block, "shell.rm-root", "rm --no-preserve-root exists only to delete /");
            }
            for t in ops {
                check_delete(w, t, program, recursive);
            }
        }
        "rmdir" => {
            let (_, ops) = operands(rest);
            for t in ops {
                check_delete(w, t, "rmdir", false);
            }
        }
        "mv" | "cp" | "install" | "ln" => copy_like(w, program, rest),
        "chmod" | "chown" | "chgrp" | "chattr" | "setfacl" => {
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
            let targets =
                if opts.iter().any(|o| o.text().starts_with("--reference")) { ops.as_slice() } else { ops.get(1..).unwrap_or_default() };
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
        "dd" => {
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
        "tee" | "touch" | "mkdir" | "truncate" | "vim" | "vi" | "nvim" | "nano" | "emacs" | "ed" | "ex" | "patch" => {
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
        "shred" | "wipefs" => {
            let (_, ops) = operands(rest);
            for t in ops {
                check_delete(w, t, program, false);
            }
            if program == "wipefs" {
                w.flag(Decision::Block, "shell.disk-write", "wipefs erases file-system signatures");
            }
        }
        p if p.starts_with("mkfs")
            || matches!(p, "mke2fs" | "mkswap" | "mkdosfs" | "mkntfs" | "blkdiscard" | "sgdisk" | "gdisk" | "cfdisk" | "sg_format") =>
        {
            w.flag(Decision::Block, "shell.disk-write", format!("{program} formats or erases a disk"));
        }
        "fdisk" | "sfdisk" | "parted" => {
            let listing = rest.iter().any(|a| matches!(a.text(), "-l" | "--list" | "print" | "-s" | "--show-size" | "--version"));
            if !listing {
                w.flag(Decision::Block, "shell.disk-write", format!("{program} changes a partition table"));
            }
        }
        "sed" => sed(w, rest),
        "awk" | "gawk" | "mawk" | "nawk" => awk(w, program, rest),
        "find" => find(w, rest, stdin, depth),
        "sort" => {
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
        "uniq" => {
            let (_, ops) = operands(rest);
            if let Some(out) = ops.get(1) {
                check_write(w, out, "uniq");
            }
        }
        "tar" => tar(w, rest),
        "unzip" => check_option_targets(w, rest, &["-d"], "unzip -d"),
        "curl" | "wget" => http(w, program, rest),
        "git" => git(w, rest),
        "cargo" | "npm" | "pnpm" | "yarn" | "bun" | "pip" | "pip3" | "go" | "uv" | "poetry" | "pipenv" | "pipx" | "rustup" | "gem"
        | "bundle" | "composer" => package_tool(w, program, rest),
        "npx" | "pnpx" | "bunx" => w.flag(Decision::Escalate, "shell.npx", format!("{program} downloads and runs a package")),
        "docker" | "podman" | "nerdctl" => container(w, program, rest),
        "systemctl" | "service" | "journalctl" | "launchctl" => services(w, program, rest),
        "kill" => {
            // `%N` and `$!` name the line's own jobs; a contained line sees only its own
            // processes anyway (its pid namespace), so there `shell.kill` stands down.
            let own_job = |a: &Arg| a.text().starts_with('%') || matches!(a.text(), "$!" | "${!}");
            let targets: Vec<&Arg> = rest.iter().filter(|a| !a.text().starts_with('-')).collect();
            let listing = rest.iter().any(|a| matches!(a.text(), "-l" | "-L" | "-0" | "--list"));
            let own_jobs_only = !targets.is_empty() && targets.iter().all(|a| own_job(a));
            if !listing && !own_jobs_only {
                w.flag(Decision::Escalate, "shell.kill", "kill signals processes guard cannot prove are yours");
            }
        }
        "pkill" | "killall" | "killall5" | "skill" | "slay" => {
            if !rest.iter().any(|a| matches!(a.text(), "-l" | "--list")) {
                w.flag(Decision::Escalate, "shell.kill", format!("{program} signals processes by name, possibly other users'"))
            }
        }
        "shutdown" | "reboot" | "halt" | "poweroff" | "init" | "telinit" => {
            w.flag(Decision::Escalate, "shell.power", format!("{program} stops or restarts the machine"))
        }
        "crontab" | "at" | "batch" => {
            let listing = program == "crontab" && rest.iter().all(|a| matches!(a.text(), "-l" | "-u")) && !rest.is_empty();
            if !listing {
                w.flag(Decision::Escalate, "shell.persistence", format!("{program} schedules or removes jobs that run later"));
            }
        }
        "mount" | "umount" | "swapon" | "swapoff" | "losetup" | "cryptsetup" | "lvremove" | "vgremove" | "pvremove" | "mdadm" | "zpool"
        | "zfs" | "lvcreate" | "lvextend" | "resize2fs" => {
            if !(program == "mount" && rest.is_empty()) {
                w.flag(Decision::Escalate, "shell.mount", format!("{program} changes mounts or storage"));
            }
        }
        "useradd" | "userdel" | "usermod" | "groupadd" | "groupdel" | "groupmod" | "passwd" | "chpasswd" | "adduser" | "deluser"
        | "addgroup" | "delgroup" | "visudo" | "vipw" | "vigr" | "gpasswd" | "newusers" | "chage" | "chsh" => {
            w.flag(Decision::Escalate, "shell.user-admin", format!("{program} changes users or groups"));
        }
        "iptables" | "ip6tables" | "iptables-restore" | "ip6tables-restore" | "nft" | "ufw" | "firewall-cmd" | "ebtables" | "pfctl" => {
            w.flag(Decision::Escalate, "shell.firewall", format!("{program} changes the firewall"));
        }
        "apt" | "apt-get" | "aptitude" | "dpkg" | "yum" | "dnf" | "rpm" | "pacman" | "apk" | "zypper" | "snap" | "flatpak" | "brew"
        | "port" | "emerge" | "nix-env" => {
            const READS: &[&str] = &[
                "list",
                "search",
                "show",
                "policy",
                "provides",
                "whatprovides",
                "check-update",
                "repolist",
                "deplist",
                "info",
                "-l",
                "-L",
                "-q",
                "-Q",
                "-s",
                "-S",
                "--list",
                "--search",
                "madison",
                "depends",
                "rdepends",
                "--version",
                "-v",
                "query",
                "-qa",
                "-qi",
                "-Ss",
                "-Qi",
                "-Ql",
                "outdated",
                "doctor",
                "config",
                "--get-selections",
                "status",
            ];
            let first = rest.iter().find(|a| !a.text().starts_with("--") || READS.contains(&a.text()));
            if !first.is_some_and(|a| READS.contains(&a.text())) {
                w.flag(Decision::Escalate, "shell.package-install", format!("{program} installs, removes or upgrades system packages"));
            }
        }
        "aws" | "gcloud" | "az" | "doctl" | "gsutil" | "oci" | "ibmcloud" | "linode-cli" | "hcloud" | "heroku" | "fly" | "flyctl"
        | "vercel" | "netlify" | "gh" | "glab" | "helm" => cloud(w, program, rest),
        "hostname" if rest.iter().any(|a| !a.text().starts_with('-')) => {
            w.flag(Decision::Escalate, "shell.write-system", "hostname NAME renames the machine")
        }
        "date" if rest.iter().any(|a| a.text() == "-s" || a.text().starts_with("--set")) => {
            w.flag(Decision::Escalate, "shell.write-system", "date -s sets the clock")
        }
        "ip" | "ifconfig" | "route" => {
            const CHANGES: &[&str] =
                &["add", "del", "delete", "set", "flush", "change", "replace", "up", "down", "append", "prepend", "link"];
            let changes =
                rest.iter().any(|a| CHANGES.contains(&a.text())) && !rest.iter().any(|a| a.text() == "show" || a.text() == "list");
            if changes || (program == "ifconfig" && rest.len() > 1) {
                w.flag(Decision::Escalate, "shell.firewall", format!("{program} changes network configuration"));
            }
        }
        "alias" => {
            for a in rest {
                if let Some((_, body)) = a.text().split_once('=') {
                    shell_string(w, &[Arg::Lit(body.to_string())], "alias", depth);
                }
            }
        }
        "trap" => {
            if let Some(action) = rest.first().filter(|a| !a.text().starts_with('-')) {
                shell_string(w, std::slice::from_ref(action), "trap", depth);
            }
        }
        "export" | "declare" | "typeset" | "local" | "readonly" => declare(w, rest),
        "let" => {
            for a in rest {
                w.arith(a.text());
            }
        }
        "enable" if rest.iter().any(|a| a.text() == "-f") => {
            w.flag(Decision::Escalate, "shell.inline-code", "enable -f loads a shared object into the shell")
        }
        "cd" | "pushd" | "popd" => change_dir(w, program, rest),
        "openssl" => check_option_targets(w, rest, &["-out"], "openssl -out"),
        "terraform" | "kubectl" => route_tool(w, program, rest),
        "guard" => route_guard(w, rest),
        _ if ALLOWED.contains(&program) => {}
        _ => {
            w.flag(Decision::Escalate, "shell.unknown-command", format!("{program} is not a command guard knows to be safe"));
        }
    }
}

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

fn interpreter(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin) {
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
                return interpreter(w, program, &args, stdin);
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

fn ssh_remote_command(rest: &[Arg]) -> Vec<Arg> {
    let with_value =
        ["-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-Q", "-R", "-S", "-W", "-w", "-B"];
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        if !t.starts_with('-') {
            break;
        }
        i += if with_value.contains(&t) { 2 } else { 1 };
    }
    rest.get(i + 1..).unwrap_or_default().to_vec()
}

fn copy_like(w: &mut Walker, program: &str, rest: &[Arg]) {
    let mut ops: Vec<&Arg> = Vec::new();
    let mut target_dir: Option<&Arg> = None;
    let mut it = rest.iter();
    let mut done = false;
    while let Some(a) = it.next() {
        let t = a.text();
        if !done && t == "--" {
            done = true;
            continue;
        }
        if !done && t.starts_with('-') && t.len() > 1 {
            if t == "-t" || t == "--target-directory" {
                target_dir = it.next();
            } else if t.starts_with("--target-directory=") {
                // handled below as a literal
            } else if matches!(t, "-m" | "-o" | "-g" | "-S" | "--suffix" | "--mode" | "--owner" | "--group") {
                it.next();
            }
            continue;
        }
        ops.push(a);
    }
    let owned_target: Option<Arg> = rest.iter().find_map(|a| a.text().strip_prefix("--target-directory=").map(|d| Arg::Lit(d.to_string())));
    let target_dir = target_dir.or(owned_target.as_ref());
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
            check_delete(w, s, "mv", true);
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
    match dest {
        Some(d) if program == "ln" => {
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

fn sed(w: &mut Walker, rest: &[Arg]) {
    let mut in_place = false;
    let mut script_given = false;
    let mut scripts: Vec<&Arg> = Vec::new();
    let mut files: Vec<&Arg> = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let t = a.text();
        if t == "-i"
            || t.starts_with("-i") && !t.starts_with("-in")
            || t.starts_with("--in-place")
            || (t.starts_with('-') && !t.starts_with("--") && t.contains('i') && !t.contains('e') && t.len() <= 4)
        {
            in_place = true;
            continue;
        }
        match t {
            "-e" | "--expression" => {
                script_given = true;
                if let Some(s) = it.next() {
                    scripts.push(s);
                }
            }
            "-f" | "--file" => {
                script_given = true;
                it.next();
                w.flag(Decision::Escalate, "shell.inline-code", "sed -f runs a script file guard does not analyse");
            }
            "-s" | "-n" | "-E" | "-r" | "-z" | "-u" | "--quiet" | "--silent" | "--regexp-extended" | "--posix" | "--separate"
            | "--null-data" | "--debug" | "--sandbox" => {}
            "-l" | "--line-length" => {
                it.next();
            }
            _ if t.starts_with('-') && t.len() > 1 => {}
            _ if !script_given => {
                script_given = true;
                scripts.push(a);
            }
            _ => files.push(a),
        }
    }
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

fn awk(w: &mut Walker, program: &str, rest: &[Arg]) {
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
}

fn find(w: &mut Walker, rest: &[Arg], stdin: &Stdin, depth: usize) {
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
                    check_delete(w, &found, "find -delete", true);
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
                    w.command(with_found, stdin, depth + 1);
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

fn tar(w: &mut Walker, rest: &[Arg]) {
    let first = rest.first().map(Arg::text).unwrap_or_default();
    let mut extract = !first.starts_with('-') && first.contains('x');
    let mut create = !first.starts_with('-') && (first.contains('c') || first.contains('r') || first.contains('u'));
    let mut file: Option<&Arg> = None;
    let mut dir: Option<&Arg> = None;
    let mut dir_eq: Option<Arg> = None;
    let mut it = rest.iter().enumerate();
    while let Some((i, a)) = it.next() {
        let t = a.text();
        if t.starts_with("--to-command")
            || t.starts_with("--checkpoint-action")
            || t.starts_with("--use-compress-program")
            || t == "-I"
            || t.starts_with("--info-script")
            || t.starts_with("--new-volume-script")
            || t == "-F"
            || t.starts_with("--rsh-command")
        {
            w.flag(Decision::Escalate, "shell.inline-code", format!("tar {t} runs a command"));
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

fn http(w: &mut Walker, program: &str, rest: &[Arg]) {
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let t = a.text();
        let method = if program == "curl" && (t == "-X" || t == "--request") {
            it.next().map(|m| m.text().to_ascii_uppercase())
        } else if let Some(m) = t
            .strip_prefix("--request=")
            .or_else(|| t.strip_prefix("--method="))
            .or_else(|| if program == "curl" { t.strip_prefix("-X").filter(|m| !m.is_empty()) } else { None })
        {
            Some(m.to_ascii_uppercase())
        } else if program == "wget" && t == "--method" {
            it.next().map(|m| m.text().to_ascii_uppercase())
        } else {
            None
        };
        if let Some(m) = method {
            if m != "GET" && m != "HEAD" && m != "OPTIONS" {
                w.flag(Decision::Escalate, "shell.http-write", format!("{program} sends an HTTP {m} request"));
            }
            continue;
        }
        let uploads = if program == "curl" {
            t.starts_with("-d")
                || t.starts_with("--data")
                || t.starts_with("-F")
                || t.starts_with("--form")
                || t == "-T"
                || t.starts_with("--upload-file")
                || t.starts_with("--json")
                || t.starts_with("-T")
        } else {
            t.starts_with("--post-data") || t.starts_with("--post-file") || t.starts_with("--body-data") || t.starts_with("--body-file")
        };
        if uploads {
            w.flag(Decision::Escalate, "shell.http-write", format!("{program} uploads data ({t})"));
            continue;
        }
        let out = match (program, t) {
            ("curl", "-o" | "--output")
            | ("wget", "-O" | "--output-document" | "-P" | "--directory-prefix" | "-o" | "--output-file" | "-a") => it.next(),
            _ => None,
        };
        if let Some(o) = out.filter(|o| o.text() != "-") {
            check_write(w, o, program);
        }
        if program == "curl" && (t == "-K" || t == "--config") {
            w.flag(Decision::Escalate, "shell.http-write", "curl -K reads options guard cannot see");
        }
    }
}

/// git: global options are stripped, the subcommand is checked against what is known.
fn git(w: &mut Walker, rest: &[Arg]) {
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
                w.flag(Decision::Escalate, "shell.git-config", "git -c sets configuration that can run commands (aliases, hooks, pagers)");
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
    const KNOWN: &[&str] = &[
        "status",
        "diff",
        "log",
        "show",
        "add",
        "commit",
        "switch",
        "checkout",
        "restore",
        "branch",
        "tag",
        "fetch",
        "pull",
        "push",
        "merge",
        "rebase",
        "cherry-pick",
        "revert",
        "stash",
        "init",
        "clone",
        "blame",
        "grep",
        "ls-files",
        "ls-tree",
        "ls-remote",
        "rev-parse",
        "rev-list",
        "describe",
        "shortlog",
        "remote",
        "config",
        "mv",
        "rm",
        "bisect",
        "submodule",
        "worktree",
        "reflog",
        "gc",
        "am",
        "apply",
        "format-patch",
        "notes",
        "show-ref",
        "cat-file",
        "for-each-ref",
        "archive",
        "bundle",
        "fsck",
        "count-objects",
        "help",
        "version",
        "var",
        "symbolic-ref",
        "update-index",
        "hash-object",
        "write-tree",
        "check-ignore",
        "sparse-checkout",
        "maintenance",
        "lfs",
        "reset",
        "clean",
        "filter-branch",
        "update-ref",
        "range-diff",
        "whatchanged",
        "difftool",
        "mergetool",
        "name-rev",
        "merge-base",
        "verify-commit",
        "verify-tag",
        "check-attr",
        "prune",
        "repack",
        "credential",
    ];
    match sub {
        Arg::Lit(s) if KNOWN.contains(&s.as_str()) => {}
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
            let (_, ops) = operands(args);
            for t in ops {
                check_delete(w, t, "git rm", false);
            }
        }
        _ => {}
    }
}

fn package_tool(w: &mut Walker, program: &str, rest: &[Arg]) {
    let sub = rest.iter().find(|a| !a.text().starts_with('-')).map(Arg::text).unwrap_or_default();
    let known: &[&str] = match program {
        "cargo" => &[
            "build",
            "b",
            "check",
            "c",
            "test",
            "t",
            "run",
            "r",
            "clippy",
            "fmt",
            "doc",
            "d",
            "bench",
            "tree",
            "metadata",
            "new",
            "init",
            "add",
            "remove",
            "rm",
            "update",
            "fetch",
            "install",
            "uninstall",
            "clean",
            "search",
            "vendor",
            "package",
            "generate-lockfile",
            "locate-project",
            "pkgid",
            "verify-project",
            "version",
            "help",
            "fix",
            "rustc",
            "rustdoc",
            "nextest",
            "fuzz",
            "info",
            "llvm-cov",
            "miri",
            "expand",
            "udeps",
            "audit",
            "deny",
            "outdated",
            "machete",
            "insta",
            "watch",
            "make",
            "binstall",
            "publish",
            "login",
            "logout",
            "owner",
            "yank",
            "report",
            "config",
        ],
        "npm" | "pnpm" | "yarn" | "bun" => &[
            "install",
            "i",
            "ci",
            "add",
            "remove",
            "rm",
            "uninstall",
            "un",
            "update",
            "up",
            "upgrade",
            "test",
            "t",
            "run",
            "run-script",
            "build",
            "start",
            "ls",
            "list",
            "ll",
            "la",
            "audit",
            "outdated",
            "init",
            "create",
            "view",
            "info",
            "show",
            "pack",
            "version",
            "why",
            "explain",
            "dedupe",
            "prune",
            "rebuild",
            "config",
            "cache",
            "doctor",
            "help",
            "exec",
            "x",
            "dlx",
            "link",
            "unlink",
            "publish",
            "unpublish",
            "deprecate",
            "owner",
            "login",
            "logout",
            "adduser",
            "token",
            "access",
            "root",
            "bin",
            "prefix",
            "fund",
            "set-script",
            "pkg",
            "query",
            "search",
            "workspace",
            "workspaces",
            "install-test",
            "it",
            "lint",
            "format",
            "dev",
            "check",
            "typecheck",
            "tsc",
            "node",
            "whoami",
        ],
        "pip" | "pip3" => &[
            "install",
            "uninstall",
            "list",
            "show",
            "freeze",
            "download",
            "wheel",
            "check",
            "config",
            "index",
            "search",
            "hash",
            "inspect",
            "cache",
            "debug",
            "help",
            "--version",
            "-V",
        ],
        "go" => &[
            "build", "test", "run", "vet", "fmt", "mod", "get", "install", "env", "version", "generate", "list", "clean", "doc", "work",
            "tool", "fix", "help", "bug",
        ],
        _ => &[],
    };
    if known.is_empty() || sub.is_empty() {
        return;
    }
    if !known.contains(&sub) {
        w.flag(
            Decision::Escalate,
            "shell.unknown-command",
            format!("{program} {sub} is not a subcommand guard knows (plugins and scripts can run anything)"),
        );
        return;
    }
    if matches!((program, sub), ("npm" | "pnpm" | "yarn" | "bun", "exec" | "x" | "dlx")) {
        w.flag(Decision::Escalate, "shell.npx", format!("{program} {sub} downloads and runs a package"));
    }
}

fn container(w: &mut Walker, program: &str, rest: &[Arg]) {
    const READS: &[&str] = &[
        "ps",
        "images",
        "image",
        "logs",
        "inspect",
        "version",
        "info",
        "build",
        "pull",
        "history",
        "top",
        "stats",
        "events",
        "search",
        "port",
        "diff",
        "help",
        "--version",
        "-v",
        "buildx",
        "context",
    ];
    let (_, ops) = operands(rest);
    let sub = ops.first().map(|a| a.text()).unwrap_or_default();
    let sub2 = ops.get(1).map(|a| a.text()).unwrap_or_default();
    let read = READS.contains(&sub)
        && !(sub == "image" && matches!(sub2, "rm" | "prune"))
        && !(sub == "context" && matches!(sub2, "rm" | "use" | "create"))
        || (sub == "compose" && matches!(sub2, "ps" | "logs" | "config" | "ls" | "images" | "version" | "build" | "pull"))
        || (matches!(sub, "container" | "volume" | "network" | "system") && matches!(sub2, "ls" | "list" | "inspect" | "df" | "info"));
    if !read {
        w.flag(Decision::Escalate, "shell.container", format!("{program} {sub} runs, changes or removes containers, images or volumes"));
    }
}

fn services(w: &mut Walker, program: &str, rest: &[Arg]) {
    const READS: &[&str] = &[
        "status",
        "list-units",
        "list-unit-files",
        "list-timers",
        "list-sockets",
        "list-dependencies",
        "is-active",
        "is-enabled",
        "is-failed",
        "show",
        "cat",
        "help",
        "--version",
        "--status-all",
        "list",
        "print",
    ];
    let ops: Vec<&str> = rest.iter().map(Arg::text).filter(|t| !t.starts_with('-') || READS.contains(t)).collect();
    let read = match program {
        "journalctl" => !rest.iter().any(|a| a.text().starts_with("--vacuum") || a.text() == "--rotate" || a.text() == "--flush"),
        "service" => ops.get(1).is_some_and(|v| READS.contains(v)) || ops.first().is_some_and(|v| READS.contains(v)),
        _ => ops.first().is_none_or(|v| READS.contains(v)),
    };
    if !read {
        w.flag(Decision::Escalate, "shell.service", format!("{program} starts, stops or changes services"));
    }
}

fn cloud(w: &mut Walker, program: &str, rest: &[Arg]) {
    let words: Vec<&str> = rest.iter().map(Arg::text).filter(|t| !t.starts_with('-')).collect();
    // `aws --version`, `gcloud --help`: the CLI says what it is and calls nothing.
    if words.is_empty() && rest.iter().any(|a| matches!(a.text(), "--version" | "-v" | "--help" | "-h" | "version")) {
        return;
    }
    let read_verb = |v: &str| {
        [
            "describe",
            "list",
            "get",
            "show",
            "ls",
            "view",
            "status",
            "help",
            "version",
            "whoami",
            "search",
            "wait",
            "logs",
            "tail",
            "history",
            "diff",
            "template",
            "lint",
            "info",
            "check",
            "auth-status",
            "print-access-token",
            "api-resources",
        ]
        .iter()
        .any(|r| v == *r || v.starts_with(&format!("{r}-")))
    };
    let read = match program {
        // aws SERVICE OPERATION: operation describe-*/list-*/get-*; `aws s3 ls`.
        "aws" => {
            words.get(1).is_some_and(|op| read_verb(op) || *op == "ls")
                || words.first().is_some_and(|s| matches!(*s, "help" | "sts"))
                    && words.get(1).is_none_or(|op| read_verb(op) || *op == "get-caller-identity")
        }
        "gh" | "glab" => {
            words.get(1).is_some_and(|v| read_verb(v))
                || words.first().is_some_and(|s| matches!(*s, "status" | "auth" | "help" | "version" | "search" | "browse"))
                    && !words.contains(&"logout")
        }
        "helm" => {
            words.first().is_some_and(|v| {
                read_verb(v) || matches!(*v, "template" | "lint" | "dependency" | "repo" | "search" | "show" | "env" | "plugin")
            }) && !words.contains(&"add")
                && !words.contains(&"update")
                || words.first() == Some(&"repo") && words.get(1).is_some_and(|v| matches!(*v, "list" | "update" | "add"))
        }
        _ => {
            words.iter().any(|v| read_verb(v))
                && !words.iter().any(|v| {
                    matches!(
                        *v,
                        "create"
                            | "delete"
                            | "update"
                            | "set"
                            | "deploy"
                            | "remove"
                            | "rm"
                            | "destroy"
                            | "apply"
                            | "start"
                            | "stop"
                            | "restart"
                            | "reset"
                    )
                })
        }
    };
    if !read {
        w.flag(
            Decision::Escalate,
            "shell.cloud",
            format!("{program} {} may change cloud resources", words.iter().take(3).copied().collect::<Vec<_>>().join(" ")),
        );
    }
}

fn change_dir(w: &mut Walker, program: &str, rest: &[Arg]) {
    let target = rest.iter().find(|a| !a.text().starts_with('-') || a.text() == "-");
    w.cwd = match (program, target, &w.cwd) {
        ("cd" | "pushd", None, _) => w.ctx.home.clone(),
        ("cd" | "pushd", Some(Arg::Lit(t)), _) if t != "-" => {
            places::absolute(&Arg::Lit(t.clone()), w.cwd.as_deref(), w.ctx.home.as_deref()).map(|(p, _)| p)
        }
        _ => None,
    };
}

fn route_tool(w: &mut Walker, program: &str, rest: &[Arg]) {
    if rest.iter().any(|a| !matches!(a, Arg::Lit(_))) {
        w.flag(Decision::Escalate, "shell.dynamic-args", format!("{program} arguments known only at run time are not analysed"));
    }
    let argv: Vec<String> = rest.iter().map(|a| a.text().to_string()).collect();
    let mut ctx = w.ctx.clone();
    if let Some(c) = &w.cwd {
        ctx.cwd = c.clone();
    }
    let v = match program {
        // A terraform binary run by the line: nothing of guard's resolves plan ids there.
        "terraform" => crate::tools::terraform::classify_raw(&argv, w.policy, &ctx),
        _ => crate::tools::kubectl::classify(&argv, w.policy, &ctx),
    };
    w.verdict.merge(v);
    tool_runs(w, if program == "terraform" { "terraform" } else { "kubectl" });
}

/// `guard terraform|kubectl …` in a line is guard's own pipeline (which re-checks everything
/// when it runs): judged as that front end judges it. guard's `--home`/`--policy` choose
/// another state dir or policy, which is the agent choosing its own approver: refused.
fn route_guard(w: &mut Walker, rest: &[Arg]) {
    tool_runs(w, "guard");
    let first = rest.first().map(Arg::text);
    if rest.iter().any(|a| matches!(a.text().split('=').next(), Some("--home" | "--policy"))) {
        w.flag(Decision::Block, "shell.tool-env", "guard --home/--policy in a line would pick another state dir or policy");
        return;
    }
    match first {
        Some(tool @ ("terraform" | "kubectl")) => {
            let tail = rest.get(1..).unwrap_or_default();
            if tail.iter().any(|a| !matches!(a, Arg::Lit(_))) {
                w.flag(Decision::Escalate, "shell.dynamic-args", format!("guard {tool} arguments known only at run time are not analysed"));
            }
            let argv: Vec<String> = tail.iter().map(|a| a.text().to_string()).collect();
            let mut ctx = w.ctx.clone();
            if let Some(c) = &w.cwd {
                ctx.cwd = c.clone();
            }
            let v = match tool {
                "terraform" => crate::tools::terraform::classify(&argv, w.policy, &ctx),
                _ => crate::tools::kubectl::classify(&argv, w.policy, &ctx),
            };
            w.verdict.merge(v);
        }
        _ => w.flag(Decision::Escalate, "shell.unknown-command", "guard is not a command guard knows to be safe in a line"),
    }
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
fn env_change(w: &mut Walker, name: &str) {
    if tool_env_allowed(name) {
        return;
    }
    if let Some(tool) = w.facts.tool {
        refuse_tool_env(w, name, tool);
    }
    w.facts.changed.get_or_insert_with(|| name.to_string());
}

/// Records that the line runs guard, terraform or kubectl.
fn tool_runs(w: &mut Walker, tool: &'static str) {
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

/// Applies the policy's data rules (built-in, then user) to one command's own verdict.
fn apply_data_rules(w: &mut Walker, program: &str, rest: &[Arg], mut own: Verdict) {
    let args: Vec<Option<&str>> = rest.iter().map(Arg::lit).collect();
    let normalized = normalize_args(program, &args);
    for r in w.policy.shell.builtin_for(program) {
        if r.matches(program, &normalized) {
            own.add(r.decision, &r.id, r.message.clone());
        }
    }
    let mut user_allow = None;
    let mut user_ids = Vec::new();
    for r in w.policy.shell.user_for(program) {
        if r.matches(program, &normalized) {
            if r.decision == Decision::Allow {
                user_allow.get_or_insert(r);
            } else {
                user_ids.push(r.id.clone());
                own.add(r.decision, &r.id, r.message.clone());
            }
        }
    }
    if let Some(allow) = user_allow {
        // A user allow overrides built-in escalations of this command, never a block.
        own.reasons.retain(|r| r.decision != Some(Decision::Escalate) || user_ids.contains(&r.rule));
        own.decision = own.reasons.iter().filter_map(|r| r.decision).max().unwrap_or(Decision::Allow);
        own.reasons.push(crate::decision::Reason {
            rule: allow.id.clone(),
            message: allow.message.clone(),
            decision: Some(Decision::Allow),
        });
    }
    w.verdict.merge(own);
}

/// Drops a program's global options so data rules see the subcommand first (`git -C x push`).
fn normalize_args<'a>(program: &str, args: &[Option<&'a str>]) -> Vec<Option<&'a str>> {
    if program != "git" {
        return args.to_vec();
    }
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a {
            Some("-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace") => i += 2,
            Some(t) if t.starts_with('-') => i += 1,
            _ => break,
        }
    }
    args.get(i..).unwrap_or_default().to_vec()
}
