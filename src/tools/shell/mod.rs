//! The shell classifier: a bash line in, a verdict out. Pure: no I/O, no clock, no env reads.
//!
//! The line is parsed with brush-parser and the whole tree is walked: lists, pipelines,
//! compound commands, functions, substitutions, redirections and here-docs. Each simple command
//! is resolved statically (see `words`), seen through wrappers, and judged by the program
//! knowledge in `programs` and the policy's data rules. What cannot be known is escalated.

mod arith;
mod places;
mod programs;
pub mod words;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};

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
pub const MAX_LINE: usize = 64 * 1024;
/// Deepest bracket nesting handed to the parser (which recurses on it).
const MAX_BRACKETS: usize = 128;
/// Most `<<` operators in one line handed to the parser.
const MAX_HEREDOC_OPERATORS: usize = 3;
/// Most unclosed `(` or `case` handed to the parser (which backtracks exponentially on them).
const MAX_UNCLOSED: usize = 4;
/// Most `[` in a word that starts like an array assignment (`NAME[`), see `parse`.
const MAX_SUBSCRIPT_BRACKETS: usize = 8;
/// Most commands classified in one line, wrappers and substitutions included.
const MAX_COMMANDS: usize = 4096;
/// Most `$((` in one word handed to the word parser.
const MAX_ARITHMETIC: usize = 8;
/// Longest array subscript (`NAME[…]=`) handed to the parser; real ones are a few bytes.
const MAX_SUBSCRIPT_LEN: usize = 64;
/// Most `${NAME[` subscripts open inside one another handed to the word parser (see
/// [`open_subscripts`]).
const MAX_OPEN_SUBSCRIPTS: usize = 2;

/// Rules that keep guard honest about what it cannot see; they cannot be disabled.
pub const INTEGRITY_RULES: &[&str] =
    &["shell.parse-error", "shell.too-complex", "shell.dynamic-command", "shell.dynamic-code", "shell.nested-expansion"];

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
const CONTAINED_HARMLESS: &[&str] =
    &["shell.unknown-command", "shell.script-file", "shell.source", "shell.temp-binary", "shell.inline-code", "shell.npx"];

pub(crate) struct Walker<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) ctx: &'a Context,
    pub(crate) verdict: Verdict,
    /// The working directory as far as static `cd`s tell; `None` once it is unknown.
    pub(crate) cwd: Option<PathBuf>,
    /// Paths that earlier commands in the line made copies or links of known programs.
    pub(crate) copies: HashMap<PathBuf, String>,
    pub(crate) functions: HashSet<String>,
    /// Functions whose bodies are being walked, to spot self-calls (fork bombs).
    fn_stack: Vec<String>,
    /// Whether the command being walked runs in a pipeline or in the background.
    fork_context: bool,
    /// Commands still to classify in this line (see `command`).
    commands_left: usize,
    /// Which variables hold numbers, for arithmetic (see `arith`).
    pub(crate) ints: arith::Integers,
    /// Environment the line changes before guard/terraform/kubectl, scripts it runs (see
    /// `programs::LineFacts`).
    pub(crate) facts: programs::LineFacts,
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
            fn_stack: Vec::new(),
            fork_context: false,
            commands_left: MAX_COMMANDS,
            ints: arith::Integers::default(),
            facts: programs::LineFacts::default(),
        }
    }

    /// The verdict once the whole line is walked.
    fn finish(mut self) -> Verdict {
        for name in self.ints.late_taint().into_iter().map(str::to_string).collect::<Vec<_>>() {
            self.flag_arith(&name);
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

    /// Parses and walks a line (top level, or the string of `bash -c`, `eval`, `$(…)`).
    pub(crate) fn line(&mut self, line: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("nesting deeper than {MAX_DEPTH} levels is not analysed"));
            return;
        }
        if let Some((rule, msg)) = fenced(line) {
            self.flag(Decision::Escalate, rule, msg);
            return;
        }
        match parse(line) {
            Ok(program) => {
                for cc in &program.complete_commands {
                    self.compound_list(cc, depth);
                }
            }
            Err(ParseFailure::Syntax(msg)) => self.flag(Decision::Escalate, "shell.parse-error", format!("cannot parse the line: {msg}")),
            Err(ParseFailure::TooComplex(msg)) => self.flag(Decision::Escalate, "shell.too-complex", msg),
        }
    }

    fn compound_list(&mut self, list: &ast::CompoundList, depth: usize) {
        for ast::CompoundListItem(and_or, sep) in &list.0 {
            let background = matches!(sep, ast::SeparatorOperator::Async);
            self.pipeline(&and_or.first, background, depth);
            for next in &and_or.additional {
                let (ast::AndOr::And(p) | ast::AndOr::Or(p)) = next;
                self.pipeline(p, background, depth);
            }
        }
    }

    fn pipeline(&mut self, p: &ast::Pipeline, background: bool, depth: usize) {
        let saved = self.fork_context;
        self.fork_context = saved || background || p.seq.len() > 1;
        let mut tainted = false;
        let mut text: Option<String> = None;
        for (i, cmd) in p.seq.iter().enumerate() {
            let stdin = if i == 0 { Stdin::Inherited } else { Stdin::Pipe { tainted, text: text.take() } };
            let out = self.command_node(cmd, &stdin, depth);
            // Taint sticks: once a stage downloads or decodes, everything after it carries it.
            tainted |= out.produces_tainted;
            text = out.static_output;
        }
        self.fork_context = saved;
    }

    fn command_node(&mut self, cmd: &ast::Command, stdin: &Stdin, depth: usize) -> Output {
        match cmd {
            ast::Command::Simple(sc) => self.simple(sc, stdin, depth),
            ast::Command::Compound(cc, redirects) => {
                let saved_cwd = self.cwd.clone();
                self.compound(cc, depth);
                if matches!(cc, ast::CompoundCommand::Subshell(_)) {
                    self.cwd = saved_cwd;
                }
                if let Some(r) = redirects {
                    for redir in &r.0 {
                        self.redirect(redir, depth);
                    }
                }
                Output::default()
            }
            ast::Command::Function(f) => {
                self.function(f, depth);
                Output::default()
            }
            ast::Command::ExtendedTest(t, redirects) => {
                self.extended_test(&t.expr, depth);
                if let Some(r) = redirects {
                    for redir in &r.0 {
                        self.redirect(redir, depth);
                    }
                }
                Output::default()
            }
        }
    }

    fn compound(&mut self, cc: &ast::CompoundCommand, depth: usize) {
        match cc {
            ast::CompoundCommand::Arithmetic(a) => self.arith(&a.expr.value),
            ast::CompoundCommand::ArithmeticForClause(f) => {
                for e in [&f.initializer, &f.condition, &f.updater].into_iter().flatten() {
                    self.arith(&e.value);
                }
                self.compound_list(&f.body.list, depth);
            }
            ast::CompoundCommand::BraceGroup(b) => self.compound_list(&b.list, depth),
            ast::CompoundCommand::Subshell(s) => self.compound_list(&s.list, depth),
            ast::CompoundCommand::ForClause(f) => {
                let mut values = Vec::new();
                for w in f.values.iter().flatten() {
                    values.extend(self.word(&w.value, depth));
                }
                if f.values.is_none() {
                    // `for x; do` iterates over the positional parameters: data guard cannot see.
                    values.push(Arg::dynamic("$@"));
                }
                for v in &values {
                    self.assigned(&f.variable_name, v, true);
                }
                self.compound_list(&f.body.list, depth);
            }
            ast::CompoundCommand::CaseClause(c) => {
                let _ = self.word(&c.value.value, depth);
                for item in &c.cases {
                    for p in &item.patterns {
                        let _ = self.word(&p.value, depth);
                    }
                    if let Some(cmd) = &item.cmd {
                        self.compound_list(cmd, depth);
                    }
                }
            }
            ast::CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition, depth);
                self.compound_list(&i.then, depth);
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        self.compound_list(c, depth);
                    }
                    self.compound_list(&e.body, depth);
                }
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0, depth);
                self.compound_list(&w.1.list, depth);
            }
            ast::CompoundCommand::Coprocess(c) => {
                let _ = self.command_node(&c.body, &Stdin::Inherited, depth);
            }
        }
    }

    fn function(&mut self, f: &ast::FunctionDefinition, depth: usize) {
        let name = match self.word(&f.fname.value, depth).as_slice() {
            [Arg::Lit(n)] => n.clone(),
            _ => {
                self.flag(Decision::Escalate, "shell.dynamic-command", "a function name computed at run time is not analysed");
                return;
            }
        };
        if depth + 1 > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("nesting deeper than {MAX_DEPTH} levels is not analysed"));
            return;
        }
        self.functions.insert(name.clone());
        self.fn_stack.push(name);
        let saved_fork = self.fork_context;
        self.fork_context = false;
        let ast::FunctionBody(body, redirects) = &f.body;
        self.compound(body, depth + 1);
        if let Some(r) = redirects {
            for redir in &r.0 {
                self.redirect(redir, depth + 1);
            }
        }
        self.fork_context = saved_fork;
        self.fn_stack.pop();
    }

    fn extended_test(&mut self, e: &ast::ExtendedTestExpr, depth: usize) {
        match e {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.extended_test(a, depth);
                self.extended_test(b, depth);
            }
            ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => self.extended_test(a, depth),
            ast::ExtendedTestExpr::UnaryTest(op, w) => {
                let name = self.word(&w.value, depth);
                if matches!(op, ast::UnaryPredicate::ShellVariableIsSetAndAssigned | ast::UnaryPredicate::ShellVariableIsSetAndNameRef) {
                    for n in &name {
                        programs::variable_name(self, "[[ -v ]]", n);
                    }
                }
            }
            ast::ExtendedTestExpr::BinaryTest(op, a, b) => {
                let _ = self.word(&a.value, depth);
                let _ = self.word(&b.value, depth);
                use ast::BinaryPredicate as P;
                if matches!(
                    op,
                    P::ArithmeticEqualTo
                        | P::ArithmeticNotEqualTo
                        | P::ArithmeticLessThan
                        | P::ArithmeticLessThanOrEqualTo
                        | P::ArithmeticGreaterThan
                        | P::ArithmeticGreaterThanOrEqualTo
                ) {
                    // `[[ $x -eq 1 ]]` evaluates both sides as arithmetic.
                    self.arith(&a.value);
                    self.arith(&b.value);
                }
            }
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

    fn simple(&mut self, sc: &ast::SimpleCommand, pipe_in: &Stdin, depth: usize) -> Output {
        let mut args: Vec<Arg> = Vec::new();
        let mut redirects: Vec<&ast::IoRedirect> = Vec::new();
        let mut assignments: Vec<(String, Arg)> = Vec::new();
        let mut procsubs: Vec<(&ast::ProcessSubstitutionKind, &ast::SubshellCommand)> = Vec::new();
        let items = sc
            .prefix
            .iter()
            .flat_map(|p| p.0.iter())
            .map(|i| (true, i))
            .chain(sc.word_or_name.iter().map(|_| (false, &PLACEHOLDER)))
            .chain(sc.suffix.iter().flat_map(|s| s.0.iter()).map(|i| (false, i)));
        let mut name_done = false;
        for (in_prefix, item) in items {
            if std::ptr::eq(item, &PLACEHOLDER) {
                if let Some(w) = &sc.word_or_name {
                    args.extend(self.word(&w.value, depth));
                }
                name_done = true;
                continue;
            }
            match item {
                ast::CommandPrefixOrSuffixItem::IoRedirect(r) => redirects.push(r),
                ast::CommandPrefixOrSuffixItem::Word(w) => args.extend(self.word(&w.value, depth)),
                ast::CommandPrefixOrSuffixItem::AssignmentWord(a, w) => {
                    let value = match &a.value {
                        ast::AssignmentValue::Scalar(v) => self.word(&v.value, depth).into_iter().next().unwrap_or(Arg::Lit(String::new())),
                        ast::AssignmentValue::Array(items) => {
                            let (ast::AssignmentName::VariableName(n) | ast::AssignmentName::ArrayElementName(n, _)) = &a.name;
                            for (k, v) in items {
                                if let Some(k) = k {
                                    let _ = self.word(&k.value, depth);
                                    self.subscript(n, &k.value);
                                }
                                let _ = self.word(&v.value, depth);
                            }
                            Arg::dynamic(w.value.clone())
                        }
                    };
                    let name = match &a.name {
                        ast::AssignmentName::VariableName(n) => n.clone(),
                        ast::AssignmentName::ArrayElementName(n, idx) => {
                            self.subscript(n, idx);
                            n.clone()
                        }
                    };
                    if in_prefix && !name_done {
                        assignments.push((name, value));
                    } else {
                        // `declare x=…`, `alias x=…`: an argument, with its value resolved.
                        args.push(match value {
                            Arg::Lit(v) => Arg::Lit(format!("{name}={v}")),
                            Arg::Glob(v) => Arg::Glob(format!("{name}={v}")),
                            Arg::Dyn { text, tainted } => Arg::Dyn { text: format!("{name}={text}"), tainted },
                        });
                    }
                }
                ast::CommandPrefixOrSuffixItem::ProcessSubstitution(kind, sub) => {
                    procsubs.push((kind, sub));
                    let tainted = subshell_has_producer(&sub.list);
                    args.push(Arg::Dyn { text: "<(…)".into(), tainted });
                }
            }
        }
        // Process substitutions run code: walk them (output ones read this command's output).
        for (kind, sub) in &procsubs {
            let stdin = match kind {
                ast::ProcessSubstitutionKind::Write => Stdin::Pipe { tainted: false, text: None },
                ast::ProcessSubstitutionKind::Read => Stdin::Inherited,
            };
            self.subshell_with_stdin(sub, &stdin, depth);
        }
        for (name, value) in &assignments {
            programs::check_assignment(self, name);
            self.assigned(name, value, args.is_empty());
        }
        // Here-docs and here-strings replace the pipe as stdin.
        let mut stdin = pipe_in.clone();
        for r in &redirects {
            if let Some(s) = self.redirect(r, depth) {
                stdin = s;
            }
        }
        let producer_tainted = args.first().and_then(Arg::lit).is_some_and(|n| programs::is_producer(n, args.get(1..).unwrap_or_default()));
        // Output process substitutions (`> >(sh)`) receive this command's output.
        for r in &redirects {
            if let ast::IoRedirect::File(_, _, ast::IoFileRedirectTarget::ProcessSubstitution(ast::ProcessSubstitutionKind::Write, sub)) = r
            {
                self.subshell_with_stdin(sub, &Stdin::Pipe { tainted: producer_tainted, text: None }, depth);
            }
        }
        if args.is_empty() {
            return Output::default();
        }
        let static_output = programs::static_output(&args, &stdin);
        self.command(args, &stdin, depth);
        Output { produces_tainted: producer_tainted, static_output }
    }

    fn subshell_with_stdin(&mut self, sub: &ast::SubshellCommand, stdin: &Stdin, depth: usize) {
        if depth + 1 > MAX_DEPTH {
            self.flag(Decision::Escalate, "shell.too-complex", format!("nesting deeper than {MAX_DEPTH} levels is not analysed"));
            return;
        }
        let saved = self.cwd.clone();
        match stdin {
            Stdin::Inherited => self.compound_list(&sub.list, depth + 1),
            _ => {
                // Feed the input to the first command of each pipeline in the substitution.
                for ast::CompoundListItem(and_or, _) in &sub.list.0 {
                    for (i, cmd) in and_or.first.seq.iter().enumerate() {
                        let s = if i == 0 { stdin.clone() } else { Stdin::Pipe { tainted: false, text: None } };
                        let _ = self.command_node(cmd, &s, depth + 1);
                    }
                    for next in &and_or.additional {
                        let (ast::AndOr::And(p) | ast::AndOr::Or(p)) = next;
                        self.pipeline(p, false, depth + 1);
                    }
                }
            }
        }
        self.cwd = saved;
    }

    /// Checks one redirection. Returns the stdin it provides, for here-docs and here-strings.
    fn redirect(&mut self, r: &ast::IoRedirect, depth: usize) -> Option<Stdin> {
        match r {
            ast::IoRedirect::File(_, kind, target) => {
                let writes = matches!(
                    kind,
                    ast::IoFileRedirectKind::Write
                        | ast::IoFileRedirectKind::Append
                        | ast::IoFileRedirectKind::Clobber
                        | ast::IoFileRedirectKind::ReadAndWrite
                        | ast::IoFileRedirectKind::DuplicateOutput
                );
                match target {
                    ast::IoFileRedirectTarget::Filename(w) => {
                        let arg = self.word(&w.value, depth).into_iter().next().unwrap_or(Arg::dynamic(""));
                        if writes {
                            programs::check_write(self, &arg, "redirection");
                        }
                    }
                    ast::IoFileRedirectTarget::Duplicate(w) => {
                        let arg = self.word(&w.value, depth).into_iter().next().unwrap_or(Arg::dynamic(""));
                        let is_fd = arg.lit().is_some_and(|s| s == "-" || s.trim_end_matches('-').chars().all(|c| c.is_ascii_digit()));
                        if writes && !is_fd {
                            programs::check_write(self, &arg, "redirection");
                        }
                    }
                    ast::IoFileRedirectTarget::Fd(_) => {}
                    ast::IoFileRedirectTarget::ProcessSubstitution(ast::ProcessSubstitutionKind::Read, sub) => {
                        self.subshell_with_stdin(sub, &Stdin::Inherited, depth);
                        // `sh < <(curl …)`: the substitution's output is this command's input.
                        let tainted = subshell_has_producer(&sub.list);
                        return Some(Stdin::Pipe { tainted, text: None });
                    }
                    // Output process substitutions are walked by the command that owns them.
                    ast::IoFileRedirectTarget::ProcessSubstitution(ast::ProcessSubstitutionKind::Write, _) => {}
                }
                None
            }
            ast::IoRedirect::HereDocument(_, doc) => {
                let text = if doc.requires_expansion { self.heredoc_text(&doc.doc.value, depth) } else { Some(doc.doc.value.clone()) };
                Some(Stdin::Text(text))
            }
            ast::IoRedirect::HereString(_, w) => {
                let arg = self.word(&w.value, depth).into_iter().next();
                match arg {
                    Some(Arg::Lit(s)) => Some(Stdin::Text(Some(s))),
                    Some(Arg::Dyn { tainted: true, .. }) => Some(Stdin::Pipe { tainted: true, text: None }),
                    _ => Some(Stdin::Text(None)),
                }
            }
            ast::IoRedirect::OutputAndError(w, _) => {
                let arg = self.word(&w.value, depth).into_iter().next().unwrap_or(Arg::dynamic(""));
                programs::check_write(self, &arg, "redirection");
                None
            }
        }
    }

    fn heredoc_text(&mut self, body: &str, depth: usize) -> Option<String> {
        if word_too_tangled(body, Quotes::Literal) {
            self.flag(Decision::Escalate, "shell.too-complex", "a here-document nests parameter expansions too deeply to analyse");
            return None;
        }
        // Quotes are text in a here-document, so the line's quote-aware count of unclosed `(`
        // does not cover it; the word parser backtracks on unclosed `$(`, `$[` and `${` in it
        // (fuzzer runs 11 and 13: 0.8 s and 9 s).
        if bracket_surplus(body) > MAX_UNCLOSED {
            self.flag(
                Decision::Escalate,
                "shell.too-complex",
                format!("a here-document with more than {MAX_UNCLOSED} unclosed brackets is not analysed"),
            );
            return None;
        }
        let opts = brush_parser::ParserOptions::default();
        let pieces = match guarded_call(|| brush_parser::word::parse_heredoc(body, &opts)) {
            Some(Ok(p)) => p,
            _ => {
                self.flag(Decision::Escalate, "shell.parse-error", "cannot parse a here-document");
                return None;
            }
        };
        let r = self.pieces(&pieces, body, false, depth);
        match r {
            Resolved { text, dynamic: false, .. } => Some(text),
            _ => None,
        }
    }

    /// Resolves one word into arguments (several with brace expansion), walking any
    /// substitutions inside it.
    pub(crate) fn word(&mut self, raw: &str, depth: usize) -> Vec<Arg> {
        // Most words are plain text: nothing to expand, nothing to parse (a third of the time
        // `explain --jsonl` spends on NL2Bash went to parsing such words).
        if is_plain_word(raw) {
            return vec![Arg::Lit(raw.to_string())];
        }
        self.parsed_word(raw, depth)
    }

    /// Resolves a word through brush-parser's word parser.
    fn parsed_word(&mut self, raw: &str, depth: usize) -> Vec<Arg> {
        // `$((` is arithmetic or a command substitution of a subshell; brush-parser tries both,
        // so nested ones cost 2^n (fuzzer run 15: 21 in one word, 0.9 s).
        if word_too_tangled(raw, Quotes::Quoting) || word_too_long_for_brackets(raw) || raw.matches("$((").count() > MAX_ARITHMETIC {
            self.flag(
                Decision::Escalate,
                "shell.too-complex",
                format!("the word {:?} nests parameter expansions too deeply to analyse", clip(raw)),
            );
            return vec![Arg::dynamic(raw)];
        }
        let opts = brush_parser::ParserOptions::default();
        let pieces = match guarded_call(|| brush_parser::word::parse(raw, &opts)) {
            Some(Ok(p)) => p,
            _ => {
                self.flag(Decision::Escalate, "shell.parse-error", format!("cannot parse the word {:?}", clip(raw)));
                return vec![Arg::dynamic(raw)];
            }
        };
        let r = self.pieces(&pieces, raw, false, depth);
        if r.dynamic {
            return vec![Arg::Dyn { text: r.text, tainted: r.tainted }];
        }
        if r.brace {
            if !r.all_unquoted {
                // Brace expansion mixed with quoting: not followed exactly.
                return vec![Arg::dynamic(raw)];
            }
            return match words::expand_braces(&r.text, 256) {
                Some(v) => v.into_iter().map(|s| if r.glob { Arg::Glob(s) } else { Arg::Lit(s) }).collect(),
                None => vec![Arg::dynamic(raw)],
            };
        }
        if r.glob {
            return vec![Arg::Glob(r.text)];
        }
        vec![Arg::Lit(r.text)]
    }

    fn pieces(&mut self, pieces: &[WordPieceWithSource], raw: &str, in_dq: bool, depth: usize) -> Resolved {
        let mut r = Resolved { all_unquoted: true, ..Resolved::default() };
        for p in pieces {
            match &p.piece {
                WordPiece::Text(t) => {
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
                WordPiece::SingleQuotedText(t) => {
                    r.all_unquoted = false;
                    r.text.push_str(t);
                }
                WordPiece::AnsiCQuotedText(t) => {
                    r.all_unquoted = false;
                    r.text.push_str(&words::decode_ansi_c(t));
                }
                WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    r.all_unquoted = false;
                    let sub = self.pieces(inner, raw, true, depth);
                    r.text.push_str(&sub.text);
                    r.dynamic |= sub.dynamic;
                    r.tainted |= sub.tainted;
                }
                WordPiece::TildeExpansion(t) => match t {
                    brush_parser::word::TildeExpr::Home => r.text.push('~'),
                    brush_parser::word::TildeExpr::UserHome(u) => {
                        r.text.push('~');
                        r.text.push_str(u);
                    }
                    brush_parser::word::TildeExpr::WorkingDir => match &self.cwd {
                        Some(c) => r.text.push_str(&c.to_string_lossy()),
                        None => r.dynamic = true,
                    },
                    _ => r.dynamic = true,
                },
                WordPiece::ParameterExpansion(expr) => {
                    let source = raw.get(p.start_index..p.end_index).unwrap_or(raw);
                    self.raw_expansion_check(source);
                    let param = arith::in_parameter(source);
                    if let Some(index) = param.index {
                        self.subscript(param.name, index);
                    }
                    if let Some(range) = param.range {
                        self.arith(range);
                    }
                    if arith::is_indirect(source) {
                        self.flag(
                            Decision::Escalate,
                            "shell.dynamic-code",
                            format!("{source} expands the variable whose name another holds (a subscript in that name runs as arithmetic)"),
                        );
                    }
                    match home_parameter(expr) {
                        Some(true) => r.text.push('~'),
                        _ => {
                            r.dynamic = true;
                            r.text.push_str(source);
                        }
                    }
                }
                WordPiece::CommandSubstitution(inner) | WordPiece::BackquotedCommandSubstitution(inner) => {
                    let code = if matches!(p.piece, WordPiece::BackquotedCommandSubstitution(_)) {
                        inner.replace("\\`", "`").replace("\\\\", "\\").replace("\\$", "$")
                    } else {
                        inner.clone()
                    };
                    self.line(&code, depth + 1);
                    if line_has_producer(&code) {
                        r.tainted = true;
                    }
                    r.dynamic = true;
                    r.text.push_str("$(…)");
                }
                WordPiece::EscapeSequence(s) => {
                    let escaped = s.strip_prefix('\\').unwrap_or(s);
                    if in_dq && !matches!(escaped, "$" | "`" | "\"" | "\\" | "\n") {
                        r.text.push_str(s);
                    } else if escaped != "\n" {
                        r.text.push_str(escaped);
                    }
                    if !in_dq {
                        r.all_unquoted = false;
                    }
                }
                WordPiece::ArithmeticExpression(e) => {
                    self.arith(&e.value);
                    r.dynamic = true;
                    r.text.push_str("$((…))");
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
        programs::command(self, args, stdin, depth);
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

static PLACEHOLDER: ast::CommandPrefixOrSuffixItem = ast::CommandPrefixOrSuffixItem::Word(ast::Word { value: String::new(), loc: None });

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

/// `$HOME` and `${HOME}`: `Some(true)`. Anything else: `None`.
fn home_parameter(expr: &brush_parser::word::ParameterExpr) -> Option<bool> {
    match expr {
        brush_parser::word::ParameterExpr::Parameter { parameter: brush_parser::word::Parameter::Named(n), indirect: false }
            if n == "HOME" =>
        {
            Some(true)
        }
        _ => None,
    }
}

/// Why a line is not handed to the parser at all, if it is not: shapes on which brush-parser
/// hangs, backtracks exponentially or panics (each found by the fuzzer).
fn fenced(line: &str) -> Option<(&'static str, String)> {
    if line.len() > MAX_LINE {
        return Some(("shell.too-complex", format!("a line longer than {} KiB is not analysed", MAX_LINE / 1024)));
    }
    if unclosed_constructs(line) > MAX_UNCLOSED {
        // brush-parser backtracks exponentially on unclosed `(` and `case` (found by the
        // fuzzer: 24 unclosed `(` take 0.4 s, 20 unclosed `case` 1.6 s). Such a line does not
        // parse anyway; refuse to analyse it rather than hang.
        return Some(("shell.too-complex", format!("more than {MAX_UNCLOSED} unclosed `(` or `case` are not analysed")));
    }
    if line.matches("<<").count() > MAX_HEREDOC_OPERATORS {
        // brush-parser's tokenizer blows up in time and memory on runs of `<<` (found by
        // the fuzzer: 28 bytes took 105 s and 1.6 GB).
        return Some(("shell.too-complex", format!("more than {MAX_HEREDOC_OPERATORS} here-document operators are not analysed")));
    }
    if heredoc_without_delimiter(line) {
        // brush-parser's tokenizer never returns on `<<` followed by a carriage return and a
        // blank (fuzzer run 14: the 4 bytes `<<\r `), and takes memory without bound on `<<`
        // followed by an operator inside `$(` (fuzzer run 23: `$(<< << $(`, gigabytes in
        // seconds). Bash refuses both.
        return Some((
            "shell.too-complex",
            "a here-document operator followed by a carriage return or an operator instead of a delimiter word is not analysed".into(),
        ));
    }
    if huge_fd_redirect(line) {
        // brush-parser 0.4 unwraps an i32 parse of `N<`/`N>` (found by the fuzzer); a panic
        // would be caught, but guard does not rely on that for input it can recognise.
        return Some(("shell.parse-error", "a redirection with a file descriptor number too large to be real".into()));
    }
    if bracket_depth(line) > MAX_BRACKETS {
        return Some(("shell.too-complex", format!("brackets nested deeper than {MAX_BRACKETS} are not analysed")));
    }
    None
}

/// Runs a parser call, turning a panic inside the parser into `None`.
fn guarded_call<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

enum ParseFailure {
    Syntax(String),
    TooComplex(String),
}

/// Tokenizes and parses a line. Between the two steps, words the parser would take exponential
/// time on are refused: brush-parser tries every word that starts like `NAME[` as an array
/// assignment and backtracks through its subscript (fuzzer: 18 × `[=t"e"t` in one word take
/// 0.2 s, 22 take 3 s; an unclosed `${X[` stretched a word over five lines: 1.9 s; `A[_B=$(…`
/// with `${x[` further on: 0.9 s). The
/// tokenizer's words are the parser's words, multi-line ones included.
fn parse(line: &str) -> Result<ast::Program, ParseFailure> {
    let opts = brush_parser::ParserOptions::default();
    let parsed = guarded_call(|| {
        let tokens = brush_parser::uncached_tokenize_str(line, &opts.tokenizer_options())
            .map_err(|e| ParseFailure::Syntax(format!("cannot tokenize: {e}")))?;
        // The parser reads array subscripts in assignment words (`a[${b[0]}]=1`, also after
        // `declare`) with the same exponential grammar as the word parser (see `open_subscripts`).
        let tangled = tokens.iter().find_map(|t| match t {
            brush_parser::Token::Word(w, _) if subscript_too_tangled(w) || open_subscripts(w, Quotes::Quoting) > MAX_OPEN_SUBSCRIPTS => {
                Some(w)
            }
            _ => None,
        });
        if let Some(w) = tangled {
            return Err(ParseFailure::TooComplex(format!("the word {:?} has array subscripts too long or too nested to analyse", clip(w))));
        }
        brush_parser::parse_tokens(&tokens, &opts).map_err(|e| ParseFailure::Syntax(e.to_string()))
    });
    parsed.unwrap_or_else(|| Err(ParseFailure::Syntax("the parser failed on this input".into())))
}

/// Whether `word` starts like an array assignment (`NAME[`) and either holds more `[` than
/// guard hands to the parser or has a subscript longer than [`MAX_SUBSCRIPT_LEN`]. The parser
/// reads the subscript up to a `]` that ends the assignment: guard measures it up to the first
/// `]=` or `]+=` (or to the end of the word), which is never shorter than what the parser reads.
fn subscript_too_tangled(word: &str) -> bool {
    let name = word.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let is_array_name =
        name > 0 && word.as_bytes().first().is_some_and(|b| !b.is_ascii_digit()) && word.as_bytes().get(name) == Some(&b'[');
    if !is_array_name {
        return false;
    }
    let rest = word.get(name + 1..).unwrap_or_default();
    let subscript = [rest.find("]="), rest.find("]+=")].into_iter().flatten().min().unwrap_or(rest.len());
    subscript > MAX_SUBSCRIPT_LEN || word.matches('[').count() > MAX_SUBSCRIPT_BRACKETS
}

/// An upper bound of bracket nesting, ignoring quotes (so it over-counts, never under-counts).
fn bracket_depth(line: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in line.bytes() {
        match b {
            b'(' | b'{' | b'[' | b'`' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// How many `(` (with `$(`, `<(`, `>(`) and `case` are left unclosed, outside quotes. An
/// approximation of bash's tokenizer that errs towards counting (comments are counted too: the
/// fuzzer found `}#((((…`, which is no comment to the parser): it only decides whether the parser
/// is handed the line at all.
fn unclosed_constructs(line: &str) -> usize {
    let b = line.as_bytes();
    let (mut parens, mut cases) = (0isize, 0isize);
    let (mut i, mut word_start) = (0usize, true);
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'\'' => i = closing_single_quote(b, i),
            b'"' => {
                // Inside double quotes only `$(` opens a construct.
                let mut inner = 0isize;
                i += 1;
                while let Some(&q) = b.get(i) {
                    match q {
                        b'\\' => i += 1,
                        b'"' if inner == 0 => break,
                        b'(' if i > 0 && b.get(i - 1) == Some(&b'$') => {
                            inner += 1;
                            parens += 1;
                        }
                        b'(' if inner > 0 => parens += 1,
                        b')' if inner > 0 => {
                            inner -= 1;
                            parens -= 1;
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'(' => parens += 1,
            b')' => parens -= 1,
            _ if word_start
                && b.get(i..)
                    .is_some_and(|r| r.starts_with(b"case") && r.get(4).is_none_or(|x| !x.is_ascii_alphanumeric() && *x != b'_')) =>
            {
                cases += 1
            }
            _ if word_start
                && b.get(i..)
                    .is_some_and(|r| r.starts_with(b"esac") && r.get(4).is_none_or(|x| !x.is_ascii_alphanumeric() && *x != b'_')) =>
            {
                cases -= 1
            }
            _ => {}
        }
        word_start = matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'{' | b'}' | b'`'));
        i += 1;
    }
    usize::try_from(parens.max(0)).unwrap_or(0).max(usize::try_from(cases.max(0)).unwrap_or(0))
}

/// brush-parser's word parser backtracks exponentially on unclosed `${` (found by the fuzzer:
/// six nested `${A[` take 14 s; one before a long tail, 2 s). A word with an unclosed `${` or
/// array subscript, or very many `${`, is not handed to it.
fn word_too_tangled(raw: &str, quotes: Quotes) -> bool {
    let opens = raw.matches("${").count();
    if opens == 0 {
        return false;
    }
    let closes = raw.matches('}').count();
    // `${NAME[` array subscripts left open blow up the same way, and so does one whose `]` does
    // not come before the next `}` (`${a[-q}`, which bash refuses as a bad substitution; fuzzer
    // run 16: 3.7 s).
    let mut unclosed_subscript = false;
    let subscripts = raw
        .match_indices("${")
        .filter(|(i, _)| {
            let rest = raw.get(i + 2..).unwrap_or_default();
            let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let Some(sub) = rest.get(name_len..).and_then(|r| r.strip_prefix('[')).filter(|_| name_len > 0) else { return false };
            if sub.find(']').is_none_or(|close| sub.find('}').is_some_and(|brace| brace < close)) {
                unclosed_subscript = true;
            }
            true
        })
        .count();
    // With subscripts in a word, every `[` must be closed (fuzzer run 18: `${set1[$#t[io…]}`,
    // an unclosed `[` inside a subscript, took over 30 s).
    if unclosed_subscript || (subscripts > 0 && raw.matches('[').count() > raw.matches(']').count()) {
        return true;
    }
    // Bash rejects an unclosed `${` itself ("bad substitution"), so refusing any is no loss.
    // Long text with expansions is also slow to parse even when balanced (a 500-byte here-doc
    // with two `${X[` took 1.7 s): past 256 bytes it is not analysed.
    // More than 4 array subscripts in one word are slow even when they look balanced (fuzzer
    // run 20: five `${set0[…` in a quoted word, 1.1 s).
    // (`subscripts > ]` needs no test of its own: each subscript holds a `[`, so the balance
    // check above already refused that word.)
    opens > 16 || opens > closes || subscripts > 4 || raw.len() > 256 || open_subscripts(raw, quotes) > MAX_OPEN_SUBSCRIPTS
}

/// Whether quotes quote (in a word) or are text (in a here-document).
#[derive(Clone, Copy, PartialEq)]
enum Quotes {
    Quoting,
    Literal,
}

/// The most `${NAME[` array subscripts open inside one another anywhere in `raw`.
///
/// This is what makes brush-parser's word parser exponential: each of the twenty-odd ways
/// `${…}` can continue (`:-`, `#`, `//`, …) parses the parameter again, subscript included, so
/// every subscript nested in another multiplies the work by about 20 (`${a[${b[${c[${d[0]}]}]}]}`
/// takes 22 ms, one more level 0.4 s, whether or not the word is well formed; fuzzer run 21).
///
/// Quotes, escapes and every kind of bracket are followed so that a `]` closes a subscript only
/// where the parser's would. Where the two could disagree this errs towards keeping subscripts
/// open: a closer that does not match the innermost opener is ignored, so it can only over-count.
fn open_subscripts(raw: &str, quotes: Quotes) -> usize {
    #[derive(PartialEq)]
    enum Frame {
        Brace,
        Subscript,
        Bracket,
        Paren,
        DoubleQuote,
        Backtick,
    }
    // Every subscript opens at a `${` (this runs on every token of every line).
    if !raw.contains("${") {
        return 0;
    }
    let b = raw.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let (mut open, mut max) = (0usize, 0usize);
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let in_dq = stack.last() == Some(&Frame::DoubleQuote);
        match c {
            b'\\' => i += 1,
            b'\'' if !in_dq && quotes == Quotes::Quoting => i = closing_single_quote(b, i),
            b'"' if in_dq => {
                stack.pop();
            }
            b'"' if quotes == Quotes::Quoting => stack.push(Frame::DoubleQuote),
            b'`' if stack.last() == Some(&Frame::Backtick) => {
                stack.pop();
            }
            b'`' => stack.push(Frame::Backtick),
            b'$' if b.get(i + 1) == Some(&b'{') => {
                stack.push(Frame::Brace);
                let mut j = i + 2;
                if matches!(b.get(j), Some(b'!' | b'#')) {
                    j += 1;
                }
                let name = b.get(j..).unwrap_or_default().iter().take_while(|x| x.is_ascii_alphanumeric() || **x == b'_').count();
                if name > 0 && b.get(j + name) == Some(&b'[') {
                    stack.push(Frame::Subscript);
                    open += 1;
                    max = max.max(open);
                    i = j + name;
                } else {
                    i += 1;
                }
            }
            b'{' => stack.push(Frame::Brace),
            b'}' if stack.last() == Some(&Frame::Brace) => {
                stack.pop();
            }
            b'[' => stack.push(Frame::Bracket),
            b']' if stack.last() == Some(&Frame::Bracket) => {
                stack.pop();
            }
            b']' if stack.last() == Some(&Frame::Subscript) => {
                stack.pop();
                open -= 1;
            }
            b'(' => stack.push(Frame::Paren),
            b')' if stack.last() == Some(&Frame::Paren) => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    max
}

/// Whether `raw` holds only bytes that are never special in an unquoted word (no quotes,
/// escapes, expansions, globs, braces or tildes): such a word is its own value.
fn is_plain_word(raw: &str) -> bool {
    !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b))
}

/// A long word with bracket patterns is slow to parse too (fuzzer: 574 bytes of `p[m""…`, 1 s).
fn word_too_long_for_brackets(raw: &str) -> bool {
    raw.len() > 256 && raw.contains('[') && raw.matches('[').count() != raw.matches(']').count()
}

/// The index of the `'` that closes the single-quoted (or `$'…'` ANSI-C) string opening at
/// `open`, or the end of `b`.
fn closing_single_quote(b: &[u8], open: usize) -> usize {
    let ansi_c = open > 0 && b.get(open - 1) == Some(&b'$');
    let mut i = open + 1;
    while let Some(&q) = b.get(i) {
        if ansi_c && q == b'\\' {
            i += 1;
        } else if q == b'\'' {
            break;
        }
        i += 1;
    }
    i
}

/// The largest surplus of `(` over `)`, `[` over `]` or `{` over `}` in `text`, quotes ignored.
fn bracket_surplus(text: &str) -> usize {
    let mut count = [0usize; 6];
    for b in text.bytes() {
        if let Some(i) = b"()[]{}".iter().position(|&x| x == b)
            && let Some(c) = count.get_mut(i)
        {
            *c += 1;
        }
    }
    count.chunks(2).map(|pair| pair.first().copied().unwrap_or(0).saturating_sub(pair.get(1).copied().unwrap_or(0))).max().unwrap_or(0)
}

/// Whether a `<<` or `<<-` (not a `<<<` here-string) is followed, after blanks, by a carriage
/// return or an operator character where its delimiter word should be. Quotes are ignored, so
/// this over-counts (`$((1 << (n)))` is refused too), never under-counts.
fn heredoc_without_delimiter(line: &str) -> bool {
    line.match_indices("<<").any(|(i, _)| {
        let rest = line.get(i + 2..).unwrap_or_default();
        !rest.starts_with('<')
            && rest.trim_start_matches('-').trim_start_matches([' ', '\t']).starts_with(['\r', '<', '>', '|', ';', '&', '(', ')'])
    })
}

/// A run of more than 9 digits directly before `<` or `>`.
fn huge_fd_redirect(line: &str) -> bool {
    let mut digits = 0usize;
    for b in line.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'<' | b'>' if digits > 9 => return true,
            _ => digits = 0,
        }
    }
    false
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Whether a line contains a command that downloads or decodes data.
fn line_has_producer(code: &str) -> bool {
    // A fenced line is escalated where it is walked; it is not parsed here either (fuzzer run
    // 24: this second parse of a backquoted command skipped the fences and hung).
    if fenced(code).is_some() {
        return false;
    }
    match parse(code) {
        Ok(p) => p.complete_commands.iter().any(subshell_has_producer),
        Err(_) => false,
    }
}

fn subshell_has_producer(list: &ast::CompoundList) -> bool {
    list.0.iter().any(|ast::CompoundListItem(ao, _)| {
        std::iter::once(&ao.first)
            .chain(ao.additional.iter().map(|x| match x {
                ast::AndOr::And(p) | ast::AndOr::Or(p) => p,
            }))
            .any(|p| {
                p.seq.iter().any(|c| match c {
                    ast::Command::Simple(sc) => {
                        let words: Vec<String> = sc
                            .word_or_name
                            .iter()
                            .chain(sc.suffix.iter().flat_map(|s| s.0.iter()).filter_map(|i| match i {
                                ast::CommandPrefixOrSuffixItem::Word(w) => Some(w),
                                _ => None,
                            }))
                            .map(|w| w.value.trim_matches(['\'', '"']).to_string())
                            .collect();
                        let args: Vec<Arg> = words.iter().skip(1).map(|w| Arg::Lit(w.clone())).collect();
                        words.first().is_some_and(|n| programs::is_producer(programs::base_name(n), &args))
                    }
                    ast::Command::Compound(ast::CompoundCommand::Subshell(s), _) => subshell_has_producer(&s.list),
                    ast::Command::Compound(ast::CompoundCommand::BraceGroup(b), _) => subshell_has_producer(&b.list),
                    _ => false,
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn both_ways(raw: &str) -> (Vec<Arg>, Vec<Arg>) {
        let (policy, ctx) = (crate::policy::builtin().unwrap_or_else(|e| unreachable!("{e}")), Context::example());
        let mut w = Walker::new(&policy, &ctx);
        (w.word(raw, 0), w.parsed_word(raw, 0))
    }

    #[test]
    fn plain_words_skip_the_parser_with_the_same_result() {
        for raw in ["ls", "-la", "--color=auto", "/usr/bin/rm", "a.b,c:d+e@f%g^h", "x=1", "-", "--", "0"] {
            assert!(is_plain_word(raw), "{raw}");
            let (fast, slow) = both_ways(raw);
            assert_eq!(fast, slow, "{raw}");
        }
        for raw in ["", "~", "~/x", "a*", "a?", "[ab]", "{a,b}", "$x", "'a'", "\\a", "a b", "`x`", "a\"b\"", "!x", "é"] {
            assert!(!is_plain_word(raw), "{raw}");
        }
    }

    #[test]
    fn nested_subscripts_are_counted_where_the_parser_closes_them() {
        for (raw, want) in [
            ("${a[0]}", 1),
            ("${a[0]}${b[1]}${c[2]}${d[3]}", 1),
            ("\"${a[$i]}\" \"${b[${c[0]}]}\"", 2),
            ("${a[${b[${c[0]}]}]}", 3),
            ("${#a[${!b[${c[0]}]}]}", 3),
            // A `]` in quotes, in an inner bracket or after an unmatched `{` closes nothing.
            ("${a[\"]}\"${b[${c[0]}]}]}", 3),
            ("${a['x]}' ${b[${c[0]}]}]}", 3),
            ("${a[x[${b[0]}]]}${c[0]}", 2),
            ("${a[{]}${b[0]}", 2),
            ("'${a[${b[${c[0]}]}]}'", 0),
            ("\\${a[${b[0]}]}", 1),
            ("$'\\'${a[${b[0]}]}'", 0),
        ] {
            assert_eq!(open_subscripts(raw, Quotes::Quoting), want, "{raw}");
        }
        // In a here-document quotes are text, so they hide nothing.
        assert_eq!(open_subscripts("${a[' ${b[${c[0]}]} ']}", Quotes::Literal), 3);
        assert_eq!(open_subscripts("${a[' ${b[${c[0]}]} ']}", Quotes::Quoting), 1);
    }

    proptest! {
        #[test]
        fn plain_word_fast_path_matches_the_parser(raw in "[-_./=:,+@%^a-zA-Z0-9]{1,24}") {
            let (fast, slow) = both_ways(&raw);
            prop_assert_eq!(fast, slow);
        }
    }
}
