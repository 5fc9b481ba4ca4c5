//! What guard knows about programs. A simple command comes in through `command`: paths and
//! copies are seen through (`resolve_program`), wrappers are unwrapped (`wrappers`), then the
//! program's judge runs (one row of the dispatch table below, in the domain file where the
//! program belongs), and then the policy's data rules. A program guard does not know is
//! escalated.
//!
//! The domains: `files` (writing, deleting, formatting; sed, awk, find, tar), `vcs` (git),
//! `packages`, `net` (ssh, rsync, curl/wget), `system` (signals, power, services,
//! containers, cloud CLIs), `code` (shells, interpreters, eval/source), `vars` (variables,
//! cd, the environment around the brokered tools), `routed` (terraform, kubectl, guard),
//! `secrets` (reads of secrets, for every program), `wrappers` (sudo, env, xargs, …).
//! Adding a program is one row in its domain's `JUDGES` and one function there.

mod code;
mod files;
mod net;
mod packages;
mod routed;
mod secrets;
mod system;
mod vars;
mod vcs;
mod wrappers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::places::{self, Place};
use super::words::Arg;
use super::{Stdin, Walker};
use crate::decision::{Decision, Verdict};
use code::shell_string;
pub(super) use vars::{check_assignment, variable_name};

/// A program's judge: the walker, the program's name (as resolved), its arguments, its stdin
/// and the nesting depth. It adds the program's own reasons to `w.verdict`.
type Judge = fn(&mut Walker<'_>, &str, &[Arg], &Stdin, usize);

/// Every domain's rows. A name has one row (the test `dispatch_rows_are_unique` keeps it so):
/// `bun`, both an interpreter and a package manager, is judged as an interpreter, and
/// `packages` has no row for it.
const DOMAINS: &[&[(&str, Judge)]] =
    &[code::JUDGES, vars::JUDGES, net::JUDGES, files::JUDGES, vcs::JUDGES, packages::JUDGES, system::JUDGES, routed::JUDGES];

/// Programs judged by the start of their name (`python3.12`, `mkfs.ext4`), when no row names them.
const PREFIXES: &[&[(&str, Judge)]] = &[code::PREFIXES, files::PREFIXES];

/// The dispatch table: program name → judge, built once. The everyday programs of `ALLOWED`
/// without a judge of their own get `allowed`, so a name is looked up once per command.
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table::with_capacity_and_hasher(DOMAINS.iter().map(|d| d.len()).sum::<usize>() + ALLOWED.len(), Default::default());
        for (name, judge) in DOMAINS.iter().copied().flatten() {
            t.entry(*name).or_insert(*judge);
        }
        for name in ALLOWED {
            t.entry(*name).or_insert(allowed as Judge);
        }
        t
    })
}

/// Program names hashed with FNV-1a: building the table is on every guard start that judges a
/// line, and std's SipHash of its ~900 names was a tenth of a millisecond there. The keys are
/// guard's own names, so no input chooses what collides.
type Table = HashMap<&'static str, Judge, std::hash::BuildHasherDefault<Fnv>>;

struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The judge of `program`: its row, else a prefix row, else none (an unknown program).
fn judge_for(program: &str) -> Option<Judge> {
    table().get(program).copied().or_else(|| PREFIXES.iter().copied().flatten().find(|(p, _)| program.starts_with(p)).map(|(_, j)| *j))
}

/// Whether `arg` is the long option `full` (`--to-command`): alone, with a value glued
/// (`--to-command=sh`), or abbreviated as GNU getopt allows (`--to-com`, `--f=sh` for split's
/// `--filter`). getopt takes any unambiguous prefix and fails on an ambiguous one, so reading
/// every prefix as the option errs only towards refusing.
pub(super) fn long_option(arg: &str, full: &str) -> bool {
    let Some(name) = arg.strip_prefix("--") else { return false };
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    !name.is_empty() && full.trim_start_matches('-').starts_with(name)
}

/// The first of `options` (long, as `--name`) that `args` use, in any spelling `long_option` reads.
pub(super) fn any_long_option<'a>(args: &'a [Arg], options: &[&str]) -> Option<&'a str> {
    args.iter().map(Arg::text).find(|a| options.iter().any(|o| long_option(a, o)))
}

/// An everyday program: nothing to judge beyond the checks every command gets.
fn allowed(_: &mut Walker, _: &str, _: &[Arg], _: &Stdin, _: usize) {}

/// What a program with a judge gets when its judge finds nothing of its own to say
/// (`hostname` without a name, `enable` without `-f`): allowed if everyday, else unknown.
fn known_or_unknown(w: &mut Walker, program: &str) {
    if !ALLOWED.contains(&program) {
        unknown(w, program);
    }
}

/// Whether `word` is a subcommand or verb of `program` that only reads, by the policy's
/// `[[shell.reads]]`.
fn reads(w: &Walker, program: &str, word: &str) -> bool {
    w.policy.shell.reads(program).iter().any(|r| r == word)
}

fn unknown(w: &mut Walker, program: &str) {
    w.flag(Decision::Escalate, "shell.unknown-command", format!("{program} is not a command guard knows to be safe"));
}

/// The checks every command gets (secret reads, `printenv` of secrets, variable names its
/// arguments assign), then its judge from the table.
fn judge_program(w: &mut Walker, program: &str, rest: &[Arg], stdin: &Stdin, depth: usize) {
    secrets::secret_reads(w, program, rest);
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
    match judge_for(program) {
        Some(judge) => judge(w, program, rest, stdin, depth),
        None => unknown(w, program),
    }
}

/// Programs guard knows to be everyday read-only or build work: allowed once their arguments pass
/// (a program here that also has a judge, like `tee` or `tar`, gets its judge).
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "ls", "ll", "dir", "vdir", "cat", "tac", "head", "tail", "most", "wc", "grep", "egrep", "fgrep", "zgrep",
    "rg", "ag", "ack", "fd", "fdfind", "locate", "which", "whereis", "type", "file", "stat", "du", "df", "free", "uptime", "w",
    "who", "whoami", "id", "groups", "uname", "pwd", "echo", "printf", "yes", "seq", "basename", "dirname", "realpath",
    "readlink", "tree", "cut", "paste", "join", "tr", "column", "fold", "fmt", "nl", "od", "hexdump", "strings", "md5sum",
    "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "cksum", "b2sum", "sum", "base32", "basenc", "comm", "diff",
    "diff3", "sdiff", "cmp", "colordiff", "jq", "yq", "ps", "pgrep", "top", "htop", "pstree", "lsof", "netstat", "ss", "ping",
    "ping6", "traceroute", "tracepath", "dig", "nslookup", "host", "whois", "getent", "lsblk", "blkid", "lscpu", "lsusb", "lspci",
    "lsmod", "dmesg", "nproc", "arch", "tty", "sleep", "true", "false", "test", "[", "info", "apropos", "whatis", "tldr",
    "clear", "tput", "numfmt", "expr", "bc", "dc", "factor", "shuf", "rev", "look", "iconv", "mktemp", "mkfifo", "sync",
    "printenv", "cal", "locale", "xxd", "base64", "gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat", "xz", "unxz", "xzcat",
    "zstd", "unzstd", "zstdcat", "zip", "patch", "dos2unix", "unix2dos", "cd", "pushd", "popd", "dirs", ":", "set", "shopt",
    "unset", "read", "mapfile", "readarray", "exit", "return", "break", "continue", "shift", "wait", "jobs", "fg", "bg",
    "umask", "ulimit", "getopts", "let", "caller", "disown", "help", "logout", "times", "compgen", "complete", "compopt",
    "history", "unalias", "fc", "bind", "lsb_release", "rustc", "rustfmt", "clippy-driver", "pytest", "tox", "nox", "mypy",
    "ruff", "black", "flake8", "pylint", "isort", "gofmt", "cmake", "ninja", "meson", "mvn", "gradle", "ant",
    "bazel", "gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "javac", "java", "kotlinc", "tsc", "eslint", "prettier", "jest",
    "vitest", "mocha", "dotnet", "swift", "swiftc", "ldd", "nm", "objdump", "readelf", "pkg-config", "protoc", "shellcheck",
    "shfmt", "yamllint", "hadolint", "tflint", "hyperfine", "ctags", "pandoc", "apt-cache", "dpkg-query", "twine", "sort", "uniq",
    "csplit", "tee", "touch", "mkdir", "rmdir", "unzip", "tar", "date", "hostname", "watch", "time",
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

/// Checks a path the command writes to.
/// `arg` with a symbolic link the line made earlier (`ln -s ~ h`) replaced by its target, so
/// `rm -rf h/*` is judged as what it deletes. `link_itself`: the path names the link (not
/// `h/`), and the command acts on the link, not its target (`rm -rf h` removes the link).
fn through_links(w: &Walker, arg: &Arg, acts_on_link_itself: bool) -> Arg {
    if w.links.is_empty() || matches!(arg, Arg::Dyn { .. }) {
        return arg.clone();
    }
    let text = arg.text();
    // The argument as an absolute text, glob characters kept.
    let abs = match (text.strip_prefix("~/"), &w.ctx.home, &w.cwd) {
        _ if text.starts_with('/') => text.to_string(),
        (Some(rest), Some(h), _) => format!("{}/{rest}", h.display()),
        (None, _, Some(c)) if text != "~" => format!("{}/{}", c.display(), text.trim_start_matches("./")),
        _ => return arg.clone(),
    };
    for (link, target) in w.links.iter().rev() {
        let link = link.to_string_lossy();
        let Some(rest) = abs.strip_prefix(link.as_ref()) else { continue };
        if !(rest.is_empty() || rest.starts_with('/')) {
            continue;
        }
        if acts_on_link_itself && rest.is_empty() {
            return arg.clone();
        }
        let text = format!("{}{rest}", target.display());
        return if matches!(arg, Arg::Glob(_)) { Arg::Glob(text) } else { Arg::Lit(text) };
    }
    arg.clone()
}

pub(super) fn check_write(w: &mut Walker, arg: &Arg, what: &str) {
    let arg = &through_links(w, arg, false);
    git_pointer(w, arg, what);
    let place = places::place(arg, w.cwd.as_deref(), w.ctx, false);
    judge_place(w, &place, arg, what, false);
}

/// Checks a path the command replaces or truncates whole (`> f`, `cp x f`, `truncate`, `tee`):
/// a shell start-up file destroyed that way is the human's settings gone, so it blocks; an
/// append or an edit (`>> ~/.bashrc`, `sed -i`) only escalates.
pub(super) fn check_overwrite(w: &mut Walker, arg: &Arg, what: &str) {
    let arg = &through_links(w, arg, false);
    git_pointer(w, arg, what);
    let place = places::place(arg, w.cwd.as_deref(), w.ctx, false);
    if let (Place::Startup(p), Some(home)) = (&place, w.ctx.home.as_deref())
        && let Ok(rel) = p.strip_prefix(home)
        && crate::tools::harness::SHELL_STARTUP.iter().any(|f| rel == Path::new(f))
    {
        w.flag(Decision::Block, "shell.startup-overwrite", format!("{what} replaces or truncates {}, a shell start-up file", p.display()));
    }
    judge_place(w, &place, arg, what, false);
}

/// Checks a path a command moves away (`mv SRC …`): the source tree leaves its place, but its
/// content lives on at the destination (judged as a write), so it is not the project's work lost.
pub(super) fn check_moved(w: &mut Walker, arg: &Arg, what: &str) {
    let arg = &through_links(w, arg, true);
    git_pointer(w, arg, what);
    let place = places::place(arg, w.cwd.as_deref(), w.ctx, true);
    judge_place(w, &place, arg, what, true);
}

/// Moving or rewriting the project's `.git` (the directory, or a worktree's `gitdir:` file)
/// takes the history away or points guard at another index, an empty one the agent made:
/// after that, what git tracks says nothing. Contained, `.git` is pinned; uncontained, it
/// escalates here.
pub(super) fn git_pointer(w: &mut Walker, arg: &Arg, what: &str) {
    let Some((abs, _)) = places::absolute(arg, w.cwd.as_deref(), w.ctx.home.as_deref()) else { return };
    let root = w.ctx.git.root();
    let parent = abs.parent();
    if abs.file_name().is_some_and(|n| n == ".git") && (parent == Some(w.ctx.cwd.as_path()) || parent.is_some_and(|p| Some(p) == root)) {
        w.flag(
            Decision::Escalate,
            super::PROJECT_DELETE,
            format!("{what} moves or rewrites {}, which holds or names the project's history", abs.display()),
        );
    }
}

pub(super) fn check_delete(w: &mut Walker, arg: &Arg, what: &str, recursive: bool) {
    let arg = &through_links(w, arg, true);
    let place = places::place(arg, w.cwd.as_deref(), w.ctx, recursive);
    // Inside the directory the line is in, or — after a `cd` below it — inside the project.
    let in_project = match &place {
        Place::Inside(_) | Place::Cwd(_) => true,
        Place::Outside(p) | Place::Temp(p) => p.starts_with(&w.ctx.cwd),
        _ => false,
    };
    if recursive && in_project && files::project_delete(w, arg, what) {
        return;
    }
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
    // A function defined earlier in the line: its body was judged where it was defined. But
    // whether the definition is in effect here is not always what it seems — a subshell's
    // definition is gone after it, a branch that never runs defines nothing, `command` and a
    // later `unset -f` go round it — so a function named like a program guard judges is also
    // judged as that program: `(git(){ :; }); git push --force` is a force push.
    if w.functions.contains(&program) && judge_for(&program).is_none() && !w.policy.shell.names_program(&program) {
        return;
    }
    // The programs a line runs decide whether it gets the network (`[sandbox]
    // network_programs`): a use that cannot need it does not count, so `git status; make` gives
    // the Makefile's recipes no network.
    if !offline_use(&program, &rest) {
        w.verdict.programs.insert(program.clone());
    }
    if wrappers::see_through_wrapper(w, &program, &rest, stdin, depth) {
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
pub(super) fn resolve_program(w: &mut Walker, name: &str) -> String {
    if let Some(target) = w.hashed.get(name).cloned() {
        return target;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A name listed twice would silently lose one of its judges to the lookup order.
    #[test]
    fn dispatch_rows_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (name, _) in DOMAINS.iter().copied().flatten() {
            assert!(seen.insert(*name), "{name} has two rows in the dispatch table");
        }
    }

    /// A prefix row is only reached when no row names the program: no row may start with one,
    /// or the order of the two lookups would decide.
    #[test]
    fn prefix_rows_shadow_no_row() {
        for (prefix, _) in PREFIXES.iter().copied().flatten() {
            for name in table().keys() {
                assert!(!name.starts_with(prefix), "{name} has a row and also matches the prefix {prefix}");
            }
        }
    }
}
