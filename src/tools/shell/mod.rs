//! The shell classifier: a bash line in, a verdict out. Pure: no I/O, no clock, no env reads.
//!
//! The line is parsed by guard's own parser (`syntax`) and the whole tree is walked: lists, pipelines,
//! compound commands, functions, substitutions, redirections and here-docs. Each simple command
//! is resolved statically (see `words`), seen through wrappers, and judged by the program
//! knowledge in `programs` and the policy's data rules. What cannot be known is escalated.

mod arith;
mod places;
mod programs;
pub mod syntax;
pub mod words;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use syntax::{Assignment, Command, Compound, List, Part, Pipeline, RedirOp, Redirect, Simple, TestToken, Word};

use crate::decision::{Decision, Verdict};
use crate::policy::Policy;
use crate::request::Context;
pub use programs::scripts_run;
pub use words::Arg;

/// Lexical path normalisation (`.` and `..`), shared with the terraform plan checks.
pub fn normalize_path(p: &std::path::Path) -> PathBuf {
    places::normalize(p)
}

/// Deepest nesting of `bash -c`, `eval`, substitutions and functions guard will follow.
pub const MAX_DEPTH: usize = 8;
/// Longest line guard will analyse.
pub const MAX_LINE: usize = 4 * 1024 * 1024;
/// Most commands classified in one line, wrappers and substitutions included.
const MAX_COMMANDS: usize = 4096;
/// Deepest chain of wrappers (`sudo nice env … cmd`) guard follows.
const MAX_WRAPPED: usize = 64;

/// The rule for a recursive delete of the project's work (what git tracks, `.git`, the project
/// root wholesale); the edge reads git's index when a verdict names it without the fact.
pub const PROJECT_DELETE: &str = "shell.project-delete";

/// Rules that keep guard honest about what it cannot see; they cannot be disabled.
pub const INTEGRITY_RULES: &[&str] = &[
    "shell.parse-error",
    "shell.unsupported-syntax",
    "shell.too-complex",
    "shell.dynamic-command",
    "shell.dynamic-code",
    "shell.nested-expansion",
];

/// How bash was invoked: the `-c` line if any, else the script and its arguments.
#[derive(Debug, Default)]
pub struct BashInvocation<'a> {
    pub line: Option<&'a str>,
    pub rest: Vec<&'a str>,
    pub bad_option: Option<&'a str>,
    pub reads_stdin: bool,
}

/// Parses bash's own argv (`-c LINE`, `-lc LINE`, `-l -c LINE`, `-e -c LINE`, `--login`, …).
pub fn bash_invocation(argv: &[String]) -> BashInvocation<'_> {
    let mut inv = BashInvocation::default();
    let mut want_c = false;
    let mut it = argv.iter().map(String::as_str).peekable();
    while let Some(a) = it.next() {
        match a {
            "--" => break,
            "--login" | "--noprofile" | "--norc" | "--posix" | "--noediting" | "--verbose" | "--restricted" => {}
            "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file" => {
                it.next();
            }
            "-s" => inv.reads_stdin = true,
            s if s.starts_with('-') && s.len() > 1 && !s.starts_with("--") => {
                for ch in s.chars().skip(1) {
                    match ch {
                        'c' => want_c = true,
                        's' => inv.reads_stdin = true,
                        'l' | 'e' | 'x' | 'u' | 'v' | 'i' | 'r' | 'p' | 'h' | 'B' | 'C' | 'E' | 'H' | 'P' | 'T' | 'a' | 'b' | 'f' | 'k'
                        | 'm' | 'n' | 't' => {}
                        _ => inv.bad_option = Some(s),
                    }
                }
            }
            s if s.starts_with("--") => inv.bad_option = Some(s),
            s if s.starts_with('+') => {}
            s => {
                if want_c {
                    inv.line = Some(s);
                    inv.rest = it.by_ref().collect();
                    return inv;
                }
                inv.rest.push(s);
                inv.rest.extend(it.by_ref());
                return inv;
            }
        }
    }
    inv.rest.extend(it);
    if want_c && inv.line.is_none() {
        inv.bad_option = Some("-c");
    }
    inv
}

/// Classifies a `guard shell` argv (bash's arguments).
pub fn classify_bash_argv(argv: &[String], policy: &Policy, ctx: &Context) -> Verdict {
    let inv = bash_invocation(argv);
    if let Some(bad) = inv.bad_option {
        return Verdict::single(Decision::Escalate, "shell.parse-error", format!("bash option {bad:?} is not understood by guard"));
    }
    match inv.line {
        Some(line) => classify_line(line, policy, ctx),
        None => {
            // `bash script.sh`, or bash reading its program from stdin or a terminal.
            let mut args = vec![Arg::Lit("bash".into())];
            args.extend(inv.rest.iter().map(|s| Arg::Lit((*s).to_string())));
            let mut w = Walker::new(policy, ctx);
            w.command(args, &Stdin::Inherited, 0);
            w.finish()
        }
    }
}

/// Classifies one bash line.
pub fn classify_line(line: &str, policy: &Policy, ctx: &Context) -> Verdict {
    let mut w = Walker::new(policy, ctx);
    w.line(line, 0);
    w.finish()
}

/// A value that expands to itself quoted or not: no spaces (word splitting), glob characters,
/// quotes, `~` or `$`.
fn plain_value(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "._/-+@%:,=".contains(c))
}

/// Mentions of the variable `name` in `text` other than its expansions (`$name`, `${name…}`):
/// the places a write to it could hide. Generous: a word `d` in `find -type d` counts too.
fn mentions_of(text: &str, name: &str) -> usize {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name)
        .filter(|(i, _)| {
            let before = text.get(..*i).unwrap_or_default();
            let after = text.get(i + name.len()..).unwrap_or_default();
            let expansion = before.ends_with('$') || before.ends_with("${");
            !expansion && !before.ends_with(ident) && !after.starts_with(ident)
        })
        .count()
}

/// Where a command's standard input comes from, as far as guard can tell.
#[derive(Clone, Debug)]
pub(crate) enum Stdin {
    Inherited,
    /// A pipe from earlier commands; `tainted` when one of them downloads or decodes data,
    /// `text` when it is static text guard can read (`echo 'ls' | sh`).
    Pipe {
        tainted: bool,
        text: Option<String>,
    },
    /// A here-doc or here-string; `None` when its content is only known at run time.
    Text(Option<String>),
}

/// Escalations that only say "guard cannot see what this code does": harmless once contained.
const CONTAINED_HARMLESS: &[&str] = &[
    "shell.unknown-command",
    "shell.script-file",
    "shell.source",
    "shell.temp-binary",
    "shell.inline-code",
    "shell.npx",
    // A contained line's pid namespace holds only its own processes, and Landlock's scoping
    // keeps its signals inside the sandbox.
    "shell.kill",
];

pub(crate) struct Walker<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) ctx: &'a Context,
    pub(crate) verdict: Verdict,
    /// The working directory as far as static `cd`s tell; `None` once it is unknown.
    pub(crate) cwd: Option<PathBuf>,
    /// Paths that earlier commands in the line made copies or links of known programs.
    pub(crate) copies: HashMap<PathBuf, String>,
    pub(crate) functions: HashSet<String>,
    /// Names `hash -p PATH NAME` pointed at another program earlier in the line.
    pub(crate) hashed: HashMap<String, String>,
    /// Symbolic links `ln -s TARGET LINK` made earlier in the line: (link, target), absolute.
    pub(crate) links: Vec<(PathBuf, PathBuf)>,
    /// Functions whose bodies are being walked, to spot self-calls (fork bombs).
    fn_stack: Vec<String>,
    /// Whether the command being walked runs in a pipeline or in the background.
    pub(crate) fork_context: bool,
    /// Commands still to classify in this line (see `command`).
    commands_left: usize,
    /// Which variables hold numbers, for arithmetic (see `arith`).
    pub(crate) ints: arith::Integers,
    /// Every simple command met, when the differential tests ask for it (see [`trace_line`]).
    trace: Option<Vec<Traced>>,
    /// Wrappers being seen through right now (see `command`).
    wrapped: usize,
    /// Environment the line changes before guard/terraform/kubectl, scripts it runs (see
    /// `programs::LineFacts`).
    pub(crate) facts: programs::LineFacts,
    /// While `find … -delete` or `-exec CMD {}` is judged: the stand-in for what find finds (the
    /// text `{}` was replaced with) and the `-name` tests every found entry passes.
    pub(crate) found: Option<(String, Vec<crate::gitindex::NamePattern>)>,
    /// `shopt -s cdable_vars` ran earlier in the line: `cd NAME` may follow a variable.
    pub(crate) cdable_vars: bool,
    /// Loop variables over literal words, with the value of the iteration being walked
    /// (`for d in target dist; do rm -rf "$d"; done` is walked once per value).
    loop_values: HashMap<String, String>,
    /// How many loop headers resolved each variable, and whether an expansion used one: checked
    /// against every mention of the name in the line when it is done (see `finish`).
    loop_headers: HashMap<String, usize>,
    loop_used: HashSet<String>,
    /// Every text walked (the line and the strings it hands to shells), for that check.
    walked: Vec<String>,
    /// The line runs shell code guard cannot read (`source`, `enable -f`): it may write any variable.
    pub(crate) opaque: bool,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(policy: &'a Policy, ctx: &'a Context) -> Self {
        Walker {
            policy,
            ctx,
            verdict: Verdict::allow(),
            cwd: Some(ctx.cwd.clone()),
            copies: HashMap::new(),
            functions: HashSet::new(),
            hashed: HashMap::new(),
            links: Vec::new(),
            fn_stack: Vec::new(),
            fork_context: false,
            commands_left: MAX_COMMANDS,
            ints: arith::Integers::default(),
            trace: None,
            wrapped: 0,
            facts: programs::LineFacts::default(),
            found: None,
            cdable_vars: false,
            loop_values: HashMap::new(),
            loop_headers: HashMap::new(),
            loop_used: HashSet::new(),
            walked: Vec::new(),
            opaque: false,
        }
    }

    /// The verdict once the whole line is walked.
    fn finish(mut self) -> Verdict {
        for name in self.ints.late_taint().into_iter().map(str::to_string).collect::<Vec<_>>() {
            self.flag_arith(&name);
        }
        // A loop variable guard resolved holds the loop's value only if nothing else in the line
        // can write it: every mention of its name outside `$name`/`${name…}` (an assignment, a
        // `read`, a nameref, `{name}>file`, a function or trap body, anywhere, in any order) and
        // code guard cannot read undo the resolution.
        let mut used: Vec<&String> = self.loop_used.iter().collect();
        used.sort();
        let mut stale = Vec::new();
        for name in used {
            let mentions: usize = self.walked.iter().map(|t| mentions_of(t, name)).sum();
            if self.opaque || self.ints.nameref || mentions != self.loop_headers.get(name).copied().unwrap_or(0) {
                stale.push(name.clone());
            }
        }
        for name in stale {
            self.flag(
                Decision::Escalate,
                "shell.dynamic-target",
                format!("the loop variable {name} may be changed elsewhere in the line, so what it names is known only at run time"),
            );
        }
        self.verdict
    }

    /// Checks an arithmetic expression: every variable it reads must hold a number guard can
    /// vouch for (see `arith`); the ones it assigns hold numbers afterwards.
    pub(crate) fn arith(&mut self, expr: &str) {
        self.raw_expansion_check(expr);
        let mut writes = Vec::new();
        for (name, access) in arith::names(expr) {
            match access {
                arith::Access::Write => writes.push(name),
                arith::Access::Read if !self.ints.read(&name) => self.flag_arith(&name),
                arith::Access::Read => {}
            }
        }
        for name in writes {
            self.ints.assign_number(&name);
        }
    }

    fn flag_arith(&mut self, name: &str) {
        self.flag(
            Decision::Escalate,
            "shell.dynamic-code",
            format!(
                "arithmetic evaluates the value of {name} as code, and guard cannot vouch that it is a number (a value like `a[$(cmd)]` runs cmd)"
            ),
        );
    }

    /// Checks the subscript of `array`: arithmetic, unless the array is associative (`declare -A`),
    /// where it is a string.
    pub(crate) fn subscript(&mut self, array: &str, index: &str) {
        if self.ints.assoc.contains(array) {
            self.raw_expansion_check(index);
        } else {
            self.arith(index);
        }
    }

    /// Records `name=value` (`sets_variable` false for `NAME=value cmd`): assigning to a
    /// `declare -i` variable evaluates the value as arithmetic.
    pub(crate) fn assigned(&mut self, name: &str, value: &Arg, sets_variable: bool) {
        if self.ints.integer_attr.contains(name) {
            self.arith(value.text());
        }
        self.ints.assign(name, Some(value), sets_variable);
    }

    /// Adds a reason from a code rule, unless the policy disabled it.
    pub(crate) fn flag(&mut self, d: Decision, rule: &str, msg: impl Into<String>) {
        // Contained, unknown code cannot reach past the project, the temp dir and the caches, nor
        // terraform and kubectl around the broker: the rules that only guard against unknown code
        // stand down (what it would do inside the sandbox's reach has rules of its own).
        if self.ctx.contained && d == Decision::Escalate && CONTAINED_HARMLESS.contains(&rule) {
            return;
        }
        if self.policy.shell.enabled(rule) || INTEGRITY_RULES.contains(&rule) {
            self.verdict.add(d, rule, msg);
        }
    }

    /// Parses and walks a line (top level, or the string of `bash -c`, `eval`, a pipe into a shell).
    pub(crate) fn line(&mut self, line: &str, depth: usize) {
        self.walked.push(line.to_string());
        if depth > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("nesting deeper than {MAX_DEPTH} levels is not analysed"));
            return;
        }
        if line.len() > MAX_LINE {
            self.flag(Decision::Escalate, "shell.too-complex", format!("a line longer than {} KiB is not analysed", MAX_LINE / 1024));
            return;
        }
        match syntax::parse_nested(line, depth * syntax::MAX_NESTING / (MAX_DEPTH + 1)) {
            Ok(list) => self.list(&list, depth),
            Err(r) => self.flag(Decision::Escalate, r.rule, format!("cannot analyse the line: {}", r.message)),
        }
    }

    fn list(&mut self, list: &List, depth: usize) {
        for and_or in &list.items {
            for p in &and_or.pipelines {
                self.pipeline(p, and_or.background, depth);
            }
        }
    }

    /// The list of a command substitution, one nesting level down.
    fn nested_list(&mut self, list: &List, depth: usize) {
        if depth > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("nesting deeper than {MAX_DEPTH} levels is not analysed"));
            return;
        }
        let saved = self.cwd.clone();
        self.list(list, depth);
        self.cwd = saved;
    }

    fn pipeline(&mut self, p: &Pipeline, background: bool, depth: usize) {
        let saved = self.fork_context;
        self.fork_context = saved || background || p.commands.len() > 1;
        let mut tainted = false;
        let mut text: Option<String> = None;
        for (i, cmd) in p.commands.iter().enumerate() {
            let stdin = if i == 0 { Stdin::Inherited } else { Stdin::Pipe { tainted, text: text.take() } };
            let out = self.command_node(cmd, &stdin, depth);
            // Taint sticks: once a stage downloads or decodes, everything after it carries it.
            tainted |= out.produces_tainted;
            text = out.static_output;
        }
        self.fork_context = saved;
    }

    fn command_node(&mut self, cmd: &Command, stdin: &Stdin, depth: usize) -> Output {
        match cmd {
            Command::Simple(sc) => self.simple(sc, stdin, depth),
            Command::Compound(cc, redirects) => {
                let saved_cwd = self.cwd.clone();
                self.compound(cc, depth);
                if matches!(cc, Compound::Subshell(_)) {
                    self.cwd = saved_cwd;
                }
                for r in redirects {
                    self.redirect(r, depth);
                }
                Output::default()
            }
            Command::Function { name, body } => {
                self.function(name, body, depth);
                Output::default()
            }
        }
    }

    fn compound(&mut self, cc: &Compound, depth: usize) {
        match cc {
            Compound::Arith(e) => self.arith(e),
            Compound::ArithFor { exprs, body } => {
                for e in exprs {
                    self.arith(e);
                }
                self.list(body, depth);
            }
            Compound::Brace(l) | Compound::Subshell(l) => self.list(l, depth),
            Compound::For { var, words, body } => {
                let mut values = Vec::new();
                for w in words.iter().flatten() {
                    values.extend(self.word(w, depth));
                }
                if words.is_none() {
                    // `for x; do` iterates over the positional parameters: data guard cannot see.
                    values.push(Arg::dynamic("$@"));
                }
                if var == "PWD" {
                    self.flag(Decision::Escalate, "shell.env-hijack", "a for loop over PWD changes what $PWD names");
                }
                for v in &values {
                    self.assigned(var, v, true);
                }
                // Literal words (at most 16, plain path characters): the body is walked once per
                // value, with the variable known (see `finish` for what undoes that).
                let literal = words.is_some()
                    && !values.is_empty()
                    && values.len() <= 16
                    && values.iter().all(|v| matches!(v, Arg::Lit(t) if plain_value(t)));
                if !literal {
                    self.list(body, depth);
                    return;
                }
                *self.loop_headers.entry(var.clone()).or_default() += 1;
                for v in &values {
                    self.loop_values.insert(var.clone(), v.text().to_string());
                    self.list(body, depth);
                }
                // After the loop (a `break`, an inner loop over the same name) the value is
                // whichever ran last: not known.
                self.loop_values.remove(var);
            }
            Compound::Case { word, arms } => {
                let _ = self.word(word, depth);
                for (patterns, body) in arms {
                    for p in patterns {
                        let _ = self.word(p, depth);
                    }
                    self.list(body, depth);
                }
            }
            Compound::If { branches, otherwise } => {
                for (cond, then) in branches {
                    self.list(cond, depth);
                    self.list(then, depth);
                }
                if let Some(o) = otherwise {
                    self.list(o, depth);
                }
            }
            Compound::While { cond, body } => {
                self.list(cond, depth);
                self.list(body, depth);
            }
            Compound::Test(tokens) => self.test(tokens, depth),
        }
    }

    fn function(&mut self, name: &str, body: &Command, depth: usize) {
        if depth + 1 > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("nesting deeper than {MAX_DEPTH} levels is not analysed"));
            return;
        }
        self.functions.insert(name.to_string());
        self.fn_stack.push(name.to_string());
        let saved_fork = self.fork_context;
        self.fork_context = false;
        let _ = self.command_node(body, &Stdin::Inherited, depth + 1);
        self.fork_context = saved_fork;
        self.fn_stack.pop();
    }

    /// `[[ … ]]`: every word is expanded; `-v NAME` reads a name (its subscript is arithmetic)
    /// and the arithmetic comparisons evaluate both sides.
    fn test(&mut self, tokens: &[TestToken], depth: usize) {
        const ARITHMETIC: &[&str] = &["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];
        let mut i = 0;
        while let Some(t) = tokens.get(i) {
            match (t, tokens.get(i + 1), tokens.get(i + 2)) {
                (TestToken::Op(op), Some(TestToken::Word(w)), _) if op == "-v" || op == "-R" => {
                    for n in &self.word(w, depth) {
                        programs::variable_name(self, "[[ -v ]]", n);
                    }
                    i += 2;
                }
                (TestToken::Word(a), Some(TestToken::Op(op)), Some(TestToken::Word(b))) if ARITHMETIC.contains(&op.as_str()) => {
                    let _ = self.word(a, depth);
                    let _ = self.word(b, depth);
                    self.arith(&a.raw);
                    self.arith(&b.raw);
                    i += 3;
                }
                (TestToken::Word(w), _, _) => {
                    let _ = self.word(w, depth);
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }

    /// Expanding a credential-shaped variable (`$OPENAI_API_KEY`, `${AWS_SECRET_ACCESS_KEY:-}`)
    /// reads a secret: escalate, with the answer the sandbox would not give (it removes them).
    pub(crate) fn secret_variable(&mut self, name: &str, shown: &str) {
        if !name.is_empty() && crate::sandbox::credential_shaped(self.policy, name) {
            self.flag(
                Decision::Escalate,
                "shell.secret-env",
                format!("{shown} reads a credential-shaped variable (a contained line does not even have it: `[sandbox] env_remove`)"),
            );
        }
    }

    /// Command or process substitutions hidden in arithmetic or parameter expansions run code
    /// guard does not follow there: escalate.
    fn raw_expansion_check(&mut self, raw: &str) {
        if raw.contains("$(") || raw.contains('`') || raw.contains("<(") || raw.contains(">(") {
            self.flag(
                Decision::Escalate,
                "shell.nested-expansion",
                "a command substitution inside an arithmetic or parameter expansion is not analysed",
            );
        }
    }

    /// The value of an assignment; `name=(…)` walks its elements (keys are subscripts).
    fn assignment_value(&mut self, a: &Assignment, depth: usize) -> Arg {
        if let [Part::Array(items)] = a.value.parts.as_slice() {
            for (k, v) in items {
                if let Some(k) = k {
                    self.subscript(&a.name, k);
                }
                let _ = self.word(v, depth);
            }
            return Arg::dynamic(a.value.raw.clone());
        }
        self.word(&a.value, depth).into_iter().next().unwrap_or(Arg::Lit(String::new()))
    }

    fn simple(&mut self, sc: &Simple, pipe_in: &Stdin, depth: usize) -> Output {
        let mut values = Vec::new();
        for a in &sc.assignments {
            let v = self.assignment_value(a, depth);
            if let Some(index) = &a.index {
                self.subscript(&a.name, index);
            }
            values.push(v);
        }
        let mut args: Vec<Arg> = Vec::new();
        for w in &sc.words {
            args.extend(self.word(w, depth));
        }
        // `IFS= read -r line`: a prefix assignment to `read` lasts for that read only (read is no
        // special builtin), and splits nothing guard analyses.
        let reads = matches!(args.first().map(Arg::text), Some("read" | "mapfile" | "readarray"));
        for (a, value) in sc.assignments.iter().zip(&values) {
            if !(reads && a.name == "IFS") {
                programs::check_assignment(self, &a.name);
            }
            self.assigned(&a.name, value, args.is_empty());
        }
        // Here-docs and here-strings replace the pipe as stdin.
        let mut stdin = pipe_in.clone();
        let mut here_string = false;
        for r in &sc.redirects {
            if let Some(s) = self.redirect(r, depth) {
                here_string = matches!(r, Redirect::HereString(_));
                stdin = s;
            }
        }
        let producer_tainted = args.first().and_then(Arg::lit).is_some_and(|n| programs::is_producer(n, args.get(1..).unwrap_or_default()));
        // Output process substitutions (`> >(sh)`) receive this command's output.
        for r in &sc.redirects {
            if let Redirect::File { target, .. } = r
                && let [Part::ProcSub { write: true, list }] = target.parts.as_slice()
            {
                self.subshell_with_stdin(list, &Stdin::Pipe { tainted: producer_tainted, text: None }, depth);
            }
        }
        if args.is_empty() {
            return Output::default();
        }
        if let Some(trace) = &mut self.trace {
            let text = match &stdin {
                Stdin::Text(Some(t)) if here_string => Some(format!("{t}\n")),
                Stdin::Text(Some(t)) => Some(t.clone()),
                Stdin::Inherited => Some(String::new()),
                _ => None,
            };
            trace.push(Traced { args: args.clone(), stdin: text });
        }
        let static_output = programs::static_output(&args, &stdin);
        self.command(args, &stdin, depth);
        Output { produces_tainted: producer_tainted, static_output }
    }

    fn subshell_with_stdin(&mut self, list: &List, stdin: &Stdin, depth: usize) {
        if depth + 1 > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("nesting deeper than {MAX_DEPTH} levels is not analysed"));
            return;
        }
        let saved = self.cwd.clone();
        match stdin {
            Stdin::Inherited => self.list(list, depth + 1),
            _ => {
                // Feed the input to the first command of each pipeline in the substitution.
                for and_or in &list.items {
                    let mut pipelines = and_or.pipelines.iter();
                    if let Some(first) = pipelines.next() {
                        for (i, cmd) in first.commands.iter().enumerate() {
                            let s = if i == 0 { stdin.clone() } else { Stdin::Pipe { tainted: false, text: None } };
                            let _ = self.command_node(cmd, &s, depth + 1);
                        }
                    }
                    for p in pipelines {
                        self.pipeline(p, false, depth + 1);
                    }
                }
            }
        }
        self.cwd = saved;
    }

    /// Checks one redirection. Returns the stdin it provides, for here-docs and here-strings.
    fn redirect(&mut self, r: &Redirect, depth: usize) -> Option<Stdin> {
        match r {
            Redirect::File { op, target } => {
                if let [Part::ProcSub { write, list }] = target.parts.as_slice() {
                    if *write {
                        // Output process substitutions are walked by the command that owns them.
                        return None;
                    }
                    self.subshell_with_stdin(list, &Stdin::Inherited, depth);
                    // `sh < <(curl …)`: the substitution's output is this command's input.
                    return Some(Stdin::Pipe { tainted: list_has_producer(list), text: None });
                }
                let arg = self.word(target, depth).into_iter().next().unwrap_or(Arg::dynamic(""));
                let is_fd = arg.lit().is_some_and(|s| s == "-" || s.trim_end_matches('-').chars().all(|c| c.is_ascii_digit()));
                let dup = matches!(op, RedirOp::DupIn | RedirOp::DupOut);
                if matches!(op, RedirOp::Write | RedirOp::Clobber) {
                    programs::check_overwrite(self, &arg, "redirection");
                } else if op.writes() && !(dup && is_fd) {
                    programs::check_write(self, &arg, "redirection");
                }
                None
            }
            Redirect::HereDoc(doc) => {
                let text = match &doc.parts {
                    None => Some(doc.body.clone()),
                    Some(parts) => self.heredoc_text(parts, depth),
                };
                Some(Stdin::Text(text))
            }
            Redirect::HereString(w) => {
                let arg = self.word(w, depth).into_iter().next();
                match arg {
                    Some(Arg::Lit(s)) => Some(Stdin::Text(Some(s))),
                    Some(Arg::Dyn { tainted: true, .. }) => Some(Stdin::Pipe { tainted: true, text: None }),
                    _ => Some(Stdin::Text(None)),
                }
            }
        }
    }

    fn heredoc_text(&mut self, parts: &[Part], depth: usize) -> Option<String> {
        match self.parts(parts, true, depth) {
            Resolved { text, dynamic: false, .. } => Some(text),
            _ => None,
        }
    }

    /// Resolves one word into arguments (several with brace expansion), walking any
    /// substitutions inside it.
    pub(crate) fn word(&mut self, w: &Word, depth: usize) -> Vec<Arg> {
        let r = if w.parts.is_empty() { self.parts(&[Part::Lit(w.raw.clone())], false, depth) } else { self.parts(&w.parts, false, depth) };
        if r.dynamic {
            return vec![Arg::Dyn { text: r.text, tainted: r.tainted }];
        }
        if r.brace {
            if !r.all_unquoted {
                // Brace expansion mixed with quoting: not followed exactly.
                return vec![Arg::dynamic(w.raw.clone())];
            }
            return match words::expand_braces(&r.text, 256) {
                Some(v) => v.into_iter().map(|s| if r.glob { Arg::Glob(s) } else { Arg::Lit(s) }).collect(),
                None => vec![Arg::dynamic(w.raw.clone())],
            };
        }
        if r.glob {
            return vec![Arg::Glob(r.text)];
        }
        vec![Arg::Lit(r.text)]
    }

    fn parts(&mut self, parts: &[Part], in_dq: bool, depth: usize) -> Resolved {
        let mut r = Resolved { all_unquoted: true, ..Resolved::default() };
        for p in parts {
            match p {
                Part::Lit(t) => {
                    if !in_dq {
                        if t.contains(['*', '?']) || t.find('[').is_some_and(|i| t.get(i + 1..).is_some_and(|rest| rest.contains(']'))) {
                            r.glob = true;
                        }
                        if words::has_brace_expansion(t) {
                            r.brace = true;
                        }
                    }
                    r.text.push_str(t);
                }
                Part::Quoted(t) => r.text.push_str(t),
                Part::Escaped(t) | Part::Single(t) => {
                    r.all_unquoted = false;
                    r.text.push_str(t);
                }
                Part::AnsiC(t) => {
                    r.all_unquoted = false;
                    r.text.push_str(&words::decode_ansi_c(t));
                }
                Part::Double(inner) => {
                    r.all_unquoted = false;
                    let sub = self.parts(inner, true, depth);
                    r.text.push_str(&sub.text);
                    r.dynamic |= sub.dynamic;
                    r.tainted |= sub.tainted;
                }
                Part::Tilde(t) => match (t.as_str(), &self.cwd) {
                    ("+", Some(c)) => r.text.push_str(&c.to_string_lossy()),
                    _ => {
                        r.dynamic = true;
                        r.text.push('~');
                        r.text.push_str(t);
                    }
                },
                Part::Param(param) => {
                    let source = param.raw.as_str();
                    self.raw_expansion_check(source);
                    let parsed = arith::in_parameter(source);
                    self.secret_variable(param.plain.as_deref().unwrap_or(parsed.name), source);
                    if let Some(index) = parsed.index {
                        self.subscript(parsed.name, index);
                    }
                    if let Some(range) = parsed.range {
                        self.arith(range);
                    }
                    if arith::is_indirect(source) {
                        self.flag(
                            Decision::Escalate,
                            "shell.dynamic-code",
                            format!("{source} expands the variable whose name another holds (a subscript in that name runs as arithmetic)"),
                        );
                    }
                    if param.plain.as_deref() == Some("HOME") {
                        r.text.push('~');
                    } else if let (Some("PWD"), Some(c)) = (param.plain.as_deref(), &self.cwd)
                        && plain_value(&c.to_string_lossy())
                    {
                        // bash keeps PWD the working directory (`cd` sets it), known here as far
                        // as relative paths are; every other write to PWD escalates (env-hijack).
                        r.text.push_str(&c.to_string_lossy());
                    } else if let Some((name, value)) =
                        param.plain.as_deref().and_then(|n| self.loop_values.get(n).map(|v| (n.to_string(), v.clone())))
                    {
                        self.loop_used.insert(name);
                        r.text.push_str(&value);
                    } else {
                        r.dynamic = true;
                        r.text.push_str(source);
                    }
                }
                Part::CmdSub(list) => {
                    self.nested_list(list, depth + 1);
                    r.tainted |= list_has_producer(list);
                    r.dynamic = true;
                    r.text.push_str("$(…)");
                }
                Part::ProcSub { write, list } => {
                    let stdin = if *write { Stdin::Pipe { tainted: false, text: None } } else { Stdin::Inherited };
                    self.subshell_with_stdin(list, &stdin, depth);
                    r.tainted |= list_has_producer(list);
                    r.dynamic = true;
                    r.text.push_str("<(…)");
                }
                Part::Arith(e) => {
                    self.arith(e);
                    r.dynamic = true;
                    r.text.push_str("$((…))");
                }
                Part::Array(items) => {
                    // `declare -a name=(…)`: the text before is `name=` or `name+=`.
                    let name = r.text.trim_end_matches('=').trim_end_matches('+').to_string();
                    for (k, v) in items {
                        if let Some(k) = k {
                            self.subscript(&name, k);
                        }
                        let _ = self.word(v, depth);
                    }
                    r.dynamic = true;
                    r.text.push_str("(…)");
                }
            }
        }
        r
    }
    /// Judges a resolved command: wrappers are seen through, then the program is judged.
    pub(crate) fn command(&mut self, args: Vec<Arg>, stdin: &Stdin, depth: usize) {
        // Wrappers can multiply the work: `find A B C -exec find A B C -exec …` classifies the
        // inner command once per root at every level (fuzzer run 19: seconds). Past a budget of
        // commands per line, the rest is not analysed.
        if self.commands_left == 0 {
            return;
        }
        self.commands_left -= 1;
        if self.commands_left == 0 {
            self.flag(Decision::Escalate, "shell.too-complex", format!("more than {MAX_COMMANDS} commands in one line are not analysed"));
            return;
        }
        // Wrappers recurse (`nice nice … rm`, `find -exec find -exec …`): bound the recursion,
        // and so the stack, instead of relying on a large one.
        if self.wrapped >= MAX_WRAPPED || depth > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("commands wrapped more than {MAX_WRAPPED} deep are not analysed"));
            return;
        }
        self.wrapped += 1;
        programs::command(self, args, stdin, depth);
        self.wrapped -= 1;
    }

    pub(crate) fn fork_bomb_check(&mut self, program: &str) {
        if self.fork_context && self.fn_stack.iter().any(|f| f == program) {
            self.flag(
                Decision::Block,
                "shell.fork-bomb",
                format!("function {program:?} calls itself in a pipeline or in the background (a fork bomb)"),
            );
        }
    }
}

#[derive(Default)]
struct Resolved {
    text: String,
    dynamic: bool,
    tainted: bool,
    glob: bool,
    brace: bool,
    all_unquoted: bool,
}

/// What a simple command leaves on its stdout, as far as a pipe into a shell cares.
#[derive(Default)]
struct Output {
    produces_tainted: bool,
    static_output: Option<String>,
}

/// Whether a list runs a command that downloads or decodes data (its output is then tainted).
fn list_has_producer(list: &List) -> bool {
    list.items.iter().flat_map(|ao| &ao.pipelines).flat_map(|p| &p.commands).any(|c| match c {
        Command::Simple(sc) => {
            let words: Vec<String> = sc.words.iter().map(|w| w.raw.trim_matches(['\'', '"']).to_string()).collect();
            let args: Vec<Arg> = words.iter().skip(1).map(|w| Arg::Lit(w.clone())).collect();
            words.first().is_some_and(|n| programs::is_producer(programs::base_name(n), &args))
        }
        Command::Compound(Compound::Subshell(l) | Compound::Brace(l), _) => list_has_producer(l),
        _ => false,
    })
}

/// One simple command as the walker met it: its resolved words and, when guard knows it, the
/// text on its stdin (here-document, here-string, or nothing). For the differential tests.
#[derive(Debug, Clone)]
pub struct Traced {
    pub args: Vec<Arg>,
    pub stdin: Option<String>,
}

/// Classifies a line and lists every simple command the walk met, in walk order.
pub fn trace_line(line: &str, policy: &Policy, ctx: &Context) -> (Verdict, Vec<Traced>) {
    let mut w = Walker::new(policy, ctx);
    w.trace = Some(Vec::new());
    w.line(line, 0);
    let trace = w.trace.take().unwrap_or_default();
    (w.finish(), trace)
}
