//! guard's own parser for the bash that agents write: a line in, guard's AST or a refusal out.
//!
//! Modelled on sudo-rs's sudoers parser: hand-written recursive descent straight over the bytes
//! (bash's tokens depend on where the parser is, so there is no separate token stream), every
//! choice taken on a bounded look at the next bytes, and a rule that fails ends the parse: there
//! is no backtracking, so no input is read twice by one parser. Two explicit limits make the cost
//! linear by construction: `fuel` (one unit per byte consumed, shared with the nested parsers of
//! backquoted commands and here-document bodies) and `depth` (nesting of lists, substitutions and
//! expansions), which also bounds the recursion and so the stack.
//!
//! It accepts a subset of bash chosen from what agents and NL2Bash lines use, and refuses the
//! rest: a refusal is a value ([`Refusal`]) with its own rule id, never a guess. `shell.parse-error`
//! means bash would refuse the line too; `shell.unsupported-syntax` that bash accepts it but guard
//! does not analyse it (extglob, `select`, `coproc`, `$"…"`, `{fd}>`, nested array subscripts,
//! here-documents whose delimiter is spelled in a way whose quote removal guard does not model,
//! here-documents that cross a newline inside another construct, …); `shell.too-complex` that a
//! limit was reached. Where it accepts, it must agree with bash 5.2 on which commands run with
//! which words (`tests/integration/shell_bash.rs` checks this against the real bash).
//!
//! It must never panic, never recurse without a depth check and never loop without consuming.

/// A line is refused when parsing it would take more than this many units per byte.
const FUEL_PER_BYTE: usize = 24;
/// Nesting of lists, compound commands, substitutions and expansions.
pub const MAX_NESTING: usize = 40;
/// Longest file-descriptor number in a redirection (`2>`, `10<&0`).
const MAX_FD_DIGITS: usize = 4;

/// Why a line was not parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: &'static str,
    pub message: String,
}

pub const PARSE_ERROR: &str = "shell.parse-error";
pub const UNSUPPORTED: &str = "shell.unsupported-syntax";
pub const TOO_COMPLEX: &str = "shell.too-complex";

type Parsed<T> = Result<T, Refusal>;

/// A list of and-or lists (`a && b; c & d`).
#[derive(Debug, Default, Clone)]
pub struct List {
    pub items: Vec<AndOr>,
}

/// Pipelines joined by `&&` / `||`; `background` when it ends in `&`.
#[derive(Debug, Clone)]
pub struct AndOr {
    pub pipelines: Vec<Pipeline>,
    pub background: bool,
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub enum Command {
    Simple(Simple),
    Compound(Compound, Vec<Redirect>),
    Function { name: String, body: Box<Command> },
}

/// A simple command: assignments before the command name, the words, the redirections.
#[derive(Debug, Default, Clone)]
pub struct Simple {
    pub assignments: Vec<Assignment>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

/// `name=value`, `name+=value`, `name[index]=value`, `name=(…)`.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub name: String,
    pub index: Option<String>,
    pub value: Word,
}

#[derive(Debug, Clone)]
pub enum Compound {
    Brace(List),
    Subshell(List),
    For { var: String, words: Option<Vec<Word>>, body: List },
    ArithFor { exprs: [String; 3], body: List },
    While { cond: List, body: List },
    If { branches: Vec<(List, List)>, otherwise: Option<List> },
    Case { word: Word, arms: Vec<(Vec<Word>, List)> },
    Arith(String),
    Test(Vec<TestToken>),
}

/// The inside of `[[ … ]]`, checked for structure, flattened: the walker needs the words and
/// which operator sits between them.
#[derive(Debug, Clone)]
pub enum TestToken {
    Word(Word),
    Op(String),
}

/// One shell word as written (`raw`) and in parts. Most words are plain text: those have no
/// parts, their text is `raw` (one allocation per word instead of three; see [`Word::split`]).
#[derive(Debug, Clone, Default)]
pub struct Word {
    pub raw: String,
    pub parts: Vec<Part>,
}

impl Word {
    /// The parts, a plain word's text as one literal part.
    pub fn split(&self) -> std::borrow::Cow<'_, [Part]> {
        if self.parts.is_empty() {
            std::borrow::Cow::Owned(vec![Part::Lit(self.raw.clone())])
        } else {
            std::borrow::Cow::Borrowed(&self.parts)
        }
    }
}

#[derive(Debug, Clone)]
pub enum Part {
    /// Unquoted text (globs and braces are still special in it).
    Lit(String),
    /// A backslash-escaped character outside quotes.
    Escaped(String),
    Single(String),
    /// The body of `$'…'`, not yet decoded.
    AnsiC(String),
    Double(Vec<Part>),
    /// Text inside double quotes or a here-document: quoted, nothing special in it.
    Quoted(String),
    /// `~+`, `~-`, `~N`: a directory from the shell's state. (`~` and `~user` stay text.)
    Tilde(String),
    Param(Param),
    CmdSub(Box<List>),
    Arith(String),
    /// `<(…)` (`write` false) or `>(…)`.
    ProcSub {
        write: bool,
        list: Box<List>,
    },
    /// The `(…)` of `name=(…)`: elements with their `[key]=` if any.
    Array(Vec<(Option<String>, Word)>),
}

/// A parameter expansion: its source text and, for `$NAME` and `${NAME}`, the name.
#[derive(Debug, Clone)]
pub struct Param {
    pub raw: String,
    pub plain: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Redirect {
    File { op: RedirOp, target: Word },
    HereDoc(Box<HereDoc>),
    HereString(Word),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirOp {
    Read,
    Write,
    Append,
    Clobber,
    ReadWrite,
    DupIn,
    DupOut,
    /// `&>` and `&>>`.
    OutAndErr,
}

/// The redirection operators that name a file or descriptor, longest first (the order they
/// must be tried in). `<<<` and `<<` are read before these (here-strings and here-documents).
const FILE_REDIRECTIONS: &[(&[u8], RedirOp)] = &[
    (b"&>>", RedirOp::OutAndErr),
    (b"&>", RedirOp::OutAndErr),
    (b"<&", RedirOp::DupIn),
    (b"<>", RedirOp::ReadWrite),
    (b">>", RedirOp::Append),
    (b">&", RedirOp::DupOut),
    (b">|", RedirOp::Clobber),
    (b"<", RedirOp::Read),
    (b">", RedirOp::Write),
];

impl RedirOp {
    pub fn writes(self) -> bool {
        !matches!(self, RedirOp::Read | RedirOp::DupIn)
    }
}

/// A here-document: its body as bash reads it, and its expansions when the delimiter was unquoted.
#[derive(Debug, Default, Clone)]
pub struct HereDoc {
    pub id: usize,
    /// Set once the body is in (by the parser that read it).
    filled: bool,
    pub quoted: bool,
    pub body: String,
    pub parts: Option<Vec<Part>>,
}

/// Parses a whole line.
pub fn parse(src: &str) -> Parsed<List> {
    let mut fuel = src.len().saturating_mul(FUEL_PER_BYTE).saturating_add(4096);
    parse_with(src, &mut fuel, 0)
}

/// Parses the string of `bash -c`, `eval` or a pipe into a shell found `depth` levels down: it
/// starts with that much of the nesting budget used, so nested strings share one stack bound.
pub fn parse_nested(src: &str, depth: usize) -> Parsed<List> {
    let mut fuel = src.len().saturating_mul(FUEL_PER_BYTE).saturating_add(4096);
    parse_with(src, &mut fuel, depth)
}

/// How much fuel parsing `src` takes (for the linearity test: a deterministic measure of work).
pub fn parse_cost(src: &str) -> usize {
    let start = src.len().saturating_mul(FUEL_PER_BYTE).saturating_add(4096);
    let mut fuel = start;
    let _ = parse_with(src, &mut fuel, 0);
    start - fuel
}

fn parse_with(src: &str, fuel: &mut usize, depth: usize) -> Parsed<List> {
    let mut p = Parser::new(src, *fuel, depth);
    let r = p.program();
    *fuel = p.fuel;
    r
}

fn refuse<T>(rule: &'static str, message: impl Into<String>) -> Parsed<T> {
    Err(Refusal { rule, message: message.into() })
}

fn syntax<T>(message: impl Into<String>) -> Parsed<T> {
    refuse(PARSE_ERROR, message)
}

fn unsupported<T>(message: impl Into<String>) -> Parsed<T> {
    refuse(UNSUPPORTED, message)
}

/// A here-document whose body comes after the next newline at `level`.
struct Pending {
    id: usize,
    delimiter: String,
    strip_tabs: bool,
    quoted: bool,
    level: usize,
}

/// Where a word is lexed: what ends it and what is special in it.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// A command's word.
    Plain,
    /// Inside `[[ … ]]`: the same, except that `<` and `>` are operators there.
    Test,
    /// The pattern after `=~`: `(`, `)` and `|` are text.
    Regex,
}

/// Reserved words that end a list (or, where a command should start, are a syntax error).
const RESERVED_CLOSERS: &[&str] = &["then", "else", "elif", "fi", "do", "done", "esac", "}", "]]", "in"];
const UNARY_TESTS: &[&str] = &[
    "-a", "-b", "-c", "-d", "-e", "-f", "-g", "-h", "-k", "-p", "-r", "-s", "-t", "-u", "-w", "-x", "-G", "-L", "-N", "-O", "-S", "-z",
    "-n", "-o", "-v", "-R",
];
const BINARY_TESTS: &[&str] = &["==", "=", "!=", "=~", "<", ">", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot", "-ef"];
const DECLARATION_BUILTINS: &[&str] = &["declare", "typeset", "local", "export", "readonly"];

struct Parser<'s> {
    s: &'s [u8],
    pos: usize,
    fuel: usize,
    depth: usize,
    /// Nesting of `$(…)` in this parser (here-documents belong to the level that opened them).
    level: usize,
    pending: Vec<Pending>,
    bodies: Vec<HereDoc>,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, fuel: usize, depth: usize) -> Self {
        Parser { s: src.as_bytes(), pos: 0, fuel, depth, level: 0, pending: Vec::new(), bodies: Vec::new() }
    }

    // ---- the cursor

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.pos + k).copied()
    }

    fn looking_at(&self, t: &[u8]) -> bool {
        self.s.get(self.pos..).is_some_and(|r| r.starts_with(t))
    }

    fn bump(&mut self, n: usize) -> Parsed<()> {
        if self.fuel < n {
            return refuse(TOO_COMPLEX, "the line is too complex to analyse");
        }
        self.fuel -= n;
        self.pos = (self.pos + n).min(self.s.len());
        Ok(())
    }

    fn text(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(self.s.get(from..to).unwrap_or_default()).into_owned()
    }

    /// One whole character (UTF-8) at the cursor, consumed.
    fn take_char(&mut self) -> Parsed<String> {
        let start = self.pos;
        let len = match self.peek() {
            Some(b) if b < 0x80 => 1,
            Some(b) if b >= 0xf0 => 4,
            Some(b) if b >= 0xe0 => 3,
            Some(_) => 2,
            None => return syntax("unexpected end of the line"),
        };
        self.bump(len)?;
        Ok(self.text(start, self.pos))
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return refuse(TOO_COMPLEX, format!("constructs nested deeper than {MAX_NESTING} levels are not analysed"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// A newline consumed inside a word, quotes or an expansion: bash reads pending
    /// here-document bodies only after a newline token, and guard does not follow the ones that
    /// cross such a newline.
    fn inner_newline(&self) -> Parsed<()> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            unsupported("a newline inside a word or substitution before a pending here-document body is not analysed")
        }
    }

    fn is_meta(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')')
    }

    /// Skips blanks, line continuations and a comment (up to, not including, the newline).
    fn blanks(&mut self) -> Parsed<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.bump(1)?,
                Some(b'\\') if self.at(1) == Some(b'\n') => self.bump(2)?,
                Some(b'#') => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.bump(1)?;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// A newline token: consumes it and then the bodies of the here-documents pending at this
    /// level.
    fn newline(&mut self) -> Parsed<()> {
        self.bump(1)?;
        if self.pending.iter().any(|p| p.level < self.level) {
            return unsupported("a here-document whose body starts inside a command substitution is not analysed");
        }
        let mine: Vec<Pending> = self.pending.drain(..).collect();
        for p in mine {
            self.heredoc_body(p)?;
        }
        Ok(())
    }

    /// Blanks, comments and newline tokens.
    fn linebreaks(&mut self) -> Parsed<()> {
        loop {
            self.blanks()?;
            if self.peek() == Some(b'\n') {
                self.newline()?;
            } else {
                return Ok(());
            }
        }
    }

    /// After an operator: if a line continuation follows and could have extended the operator,
    /// bash would join them (`&\` newline `&` is `&&`); guard does not.
    fn no_split_operator(&self) -> Parsed<()> {
        if self.looking_at(b"\\\n") && self.at(2).is_some_and(|b| b"&|;<>-(".contains(&b)) {
            return unsupported("an operator split by a line continuation is not analysed");
        }
        Ok(())
    }

    /// The unquoted word at the cursor, if it is exactly `w` followed by a word end.
    fn at_word(&self, w: &str) -> bool {
        self.looking_at(w.as_bytes()) && self.at(w.len()).is_none_or(Self::is_meta)
    }

    fn at_closer(&self) -> bool {
        self.peek().is_none()
            || self.peek() == Some(b')')
            || self.looking_at(b";;")
            || self.looking_at(b";&")
            || RESERVED_CLOSERS.iter().any(|w| self.at_word(w))
    }

    // ---- lists and commands

    fn program(&mut self) -> Parsed<List> {
        if self.s.contains(&0) {
            return syntax("a NUL byte cannot be part of a bash line");
        }
        let mut list = self.list()?;
        self.blanks()?;
        if let Some(b) = self.peek() {
            return syntax(format!("unexpected {:?}", char::from(b)));
        }
        // Here-documents still pending have the (empty) rest of the input as their body, as in bash.
        let rest: Vec<Pending> = self.pending.drain(..).collect();
        for p in rest {
            self.heredoc_body(p)?;
        }
        let mut bodies = std::mem::take(&mut self.bodies);
        fill_list(&mut list, &mut bodies);
        Ok(list)
    }

    /// A list, up to a closer (a reserved word that ends a compound command, `)`, `;;`, or the end).
    fn list(&mut self) -> Parsed<List> {
        self.enter()?;
        let mut list = List::default();
        loop {
            self.linebreaks()?;
            if self.at_closer() {
                break;
            }
            let mut and_or = self.and_or()?;
            self.blanks()?;
            match self.peek() {
                Some(b';') if !self.looking_at(b";;") && !self.looking_at(b";&") => self.bump(1)?,
                Some(b'&') => self.bump(1)?,
                Some(b'\n') => {
                    list.items.push(and_or);
                    self.newline()?;
                    continue;
                }
                _ => {
                    list.items.push(and_or);
                    break;
                }
            }
            and_or.background = self.pos.checked_sub(1).and_then(|i| self.s.get(i)) == Some(&b'&');
            list.items.push(and_or);
            self.blanks()?;
            if matches!(self.peek(), Some(b';' | b'&')) && !self.looking_at(b";;") && !self.looking_at(b";&") {
                return syntax("unexpected `;` or `&`");
            }
        }
        self.leave();
        Ok(list)
    }

    /// A list that must hold at least one command.
    fn body(&mut self, what: &str) -> Parsed<List> {
        let l = self.list()?;
        if l.items.is_empty() {
            return syntax(format!("{what} without a command"));
        }
        Ok(l)
    }

    fn expect_word(&mut self, w: &str) -> Parsed<()> {
        self.linebreaks()?;
        if !self.at_word(w) {
            return syntax(format!("expected `{w}`"));
        }
        self.bump(w.len())
    }

    fn and_or(&mut self) -> Parsed<AndOr> {
        let mut pipelines = vec![self.pipeline()?];
        loop {
            self.blanks()?;
            if self.looking_at(b"&&") || self.looking_at(b"||") {
                self.bump(2)?;
                self.no_split_operator()?;
                self.linebreaks()?;
                pipelines.push(self.pipeline()?);
            } else {
                return Ok(AndOr { pipelines, background: false });
            }
        }
    }

    fn pipeline(&mut self) -> Parsed<Pipeline> {
        self.blanks()?;
        if self.at_word("time") {
            self.bump(4)?;
            self.blanks()?;
            if self.at_word("-p") {
                self.bump(2)?;
            }
            self.blanks()?;
        }
        while self.at_word("!") {
            self.bump(1)?;
            self.blanks()?;
        }
        let mut commands = vec![self.command()?];
        loop {
            self.blanks()?;
            if self.peek() == Some(b'|') && !self.looking_at(b"||") {
                self.bump(if self.at(1) == Some(b'&') { 2 } else { 1 })?;
                self.no_split_operator()?;
                self.linebreaks()?;
                commands.push(self.command()?);
            } else {
                return Ok(Pipeline { commands });
            }
        }
    }

    fn command(&mut self) -> Parsed<Command> {
        self.blanks()?;
        if self.at_closer() {
            return syntax("a command was expected");
        }
        for w in ["select", "coproc"] {
            if self.at_word(w) {
                return unsupported(format!("`{w}` is not analysed"));
            }
        }
        if self.at_word("function") {
            self.bump(8)?;
            self.blanks()?;
            let name = self.function_name()?;
            self.blanks()?;
            if self.looking_at(b"(") {
                self.bump(1)?;
                self.blanks()?;
                if self.peek() != Some(b')') {
                    return syntax("expected `)` after `(` in a function definition");
                }
                self.bump(1)?;
            }
            return self.function_body(name);
        }
        if let Some(c) = self.compound()? {
            let redirects = self.trailing_redirects()?;
            return Ok(Command::Compound(c, redirects));
        }
        self.simple()
    }

    fn function_name(&mut self) -> Parsed<String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b)) {
            self.bump(1)?;
        }
        if self.pos == start || self.peek().is_some_and(|b| !Self::is_meta(b)) {
            return unsupported("a function name with unusual characters is not analysed");
        }
        Ok(self.text(start, self.pos))
    }

    fn function_body(&mut self, name: String) -> Parsed<Command> {
        self.linebreaks()?;
        self.enter()?;
        let Some(c) = self.compound()? else {
            return syntax("a function body must be a compound command");
        };
        let redirects = self.trailing_redirects()?;
        self.leave();
        Ok(Command::Function { name, body: Box::new(Command::Compound(c, redirects)) })
    }

    /// Redirections after a compound command.
    fn trailing_redirects(&mut self) -> Parsed<Vec<Redirect>> {
        let mut out = Vec::new();
        loop {
            self.blanks()?;
            match self.peek() {
                Some(b'<' | b'>') => out.push(self.redirect()?),
                Some(b'&') if self.at(1) == Some(b'>') => out.push(self.redirect()?),
                Some(b'0'..=b'9') => {
                    let digits = self.s.get(self.pos..).unwrap_or_default().iter().take_while(|b| b.is_ascii_digit()).count();
                    if !matches!(self.at(digits), Some(b'<' | b'>')) {
                        return syntax("unexpected word after a compound command");
                    }
                    if digits > MAX_FD_DIGITS {
                        return unsupported("a file descriptor number that large is not analysed");
                    }
                    self.bump(digits)?;
                    out.push(self.redirect()?);
                }
                Some(b) if !Self::is_meta(b) && !self.at_closer() => return syntax("unexpected word after a compound command"),
                _ => return Ok(out),
            }
        }
    }

    /// A compound command at the cursor, or `None` (nothing consumed) when there is none.
    fn compound(&mut self) -> Parsed<Option<Compound>> {
        if self.looking_at(b"((") {
            let expr = self.arith_body(2)?;
            return Ok(Some(Compound::Arith(expr)));
        }
        if self.peek() == Some(b'(') {
            self.bump(1)?;
            self.no_split_operator()?;
            let l = self.body("a subshell")?;
            if self.peek() != Some(b')') {
                return syntax("expected `)`");
            }
            self.bump(1)?;
            return Ok(Some(Compound::Subshell(l)));
        }
        if self.at_word("{") {
            self.bump(1)?;
            let l = self.body("a `{ }` group")?;
            self.expect_word("}")?;
            return Ok(Some(Compound::Brace(l)));
        }
        if self.at_word("[[") {
            self.bump(2)?;
            return Ok(Some(Compound::Test(self.test()?)));
        }
        if self.at_word("if") {
            self.bump(2)?;
            let mut branches = Vec::new();
            let mut otherwise = None;
            loop {
                let cond = self.body("`if`")?;
                self.expect_word("then")?;
                let then = self.body("`then`")?;
                branches.push((cond, then));
                self.linebreaks()?;
                if self.at_word("elif") {
                    self.bump(4)?;
                    continue;
                }
                if self.at_word("else") {
                    self.bump(4)?;
                    otherwise = Some(self.body("`else`")?);
                }
                self.expect_word("fi")?;
                return Ok(Some(Compound::If { branches, otherwise }));
            }
        }
        for w in ["while", "until"] {
            if self.at_word(w) {
                self.bump(w.len())?;
                let cond = self.body(w)?;
                self.expect_word("do")?;
                let body = self.body("`do`")?;
                self.expect_word("done")?;
                return Ok(Some(Compound::While { cond, body }));
            }
        }
        if self.at_word("for") {
            self.bump(3)?;
            return Ok(Some(self.for_loop()?));
        }
        if self.at_word("case") {
            self.bump(4)?;
            return Ok(Some(self.case()?));
        }
        Ok(None)
    }

    fn do_done(&mut self) -> Parsed<List> {
        self.expect_word("do")?;
        let body = self.body("`do`")?;
        self.expect_word("done")?;
        Ok(body)
    }

    fn for_loop(&mut self) -> Parsed<Compound> {
        self.blanks()?;
        if self.looking_at(b"((") {
            let expr = self.arith_body(2)?;
            let parts: Vec<&str> = expr.split(';').collect();
            let [a, b, c] = parts.as_slice() else {
                return syntax("`for ((…))` needs three expressions");
            };
            let exprs = [a.to_string(), b.to_string(), c.to_string()];
            self.blanks()?;
            if self.peek() == Some(b';') {
                self.bump(1)?;
            }
            return Ok(Compound::ArithFor { exprs, body: self.do_done()? });
        }
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.bump(1)?;
        }
        let var = self.text(start, self.pos);
        if var.is_empty() || var.as_bytes().first().is_some_and(u8::is_ascii_digit) || self.peek().is_some_and(|b| !Self::is_meta(b)) {
            return unsupported("a `for` variable that is not a plain name is not analysed");
        }
        self.blanks()?;
        let mut words = None;
        if self.peek() == Some(b';') && !self.looking_at(b";;") {
            self.bump(1)?;
        } else {
            self.linebreaks()?;
            if self.at_word("in") {
                self.bump(2)?;
                let mut ws = Vec::new();
                loop {
                    self.blanks()?;
                    match self.peek() {
                        Some(b';') if !self.looking_at(b";;") => {
                            self.bump(1)?;
                            break;
                        }
                        Some(b'\n') => {
                            self.newline()?;
                            break;
                        }
                        Some(b) if Self::is_meta(b) => return syntax("unexpected operator in a `for` word list"),
                        None => return syntax("unexpected end of a `for` loop"),
                        Some(_) => ws.push(self.word(Ctx::Plain)?),
                    }
                }
                words = Some(ws);
            }
        }
        Ok(Compound::For { var, words, body: self.do_done()? })
    }

    fn case(&mut self) -> Parsed<Compound> {
        self.blanks()?;
        if self.peek().is_none_or(Self::is_meta) {
            return syntax("`case` without a word");
        }
        let word = self.word(Ctx::Plain)?;
        self.expect_word("in")?;
        let mut arms = Vec::new();
        loop {
            self.linebreaks()?;
            if self.at_word("esac") {
                self.bump(4)?;
                return Ok(Compound::Case { word, arms });
            }
            if self.peek() == Some(b'(') {
                self.bump(1)?;
                self.blanks()?;
            }
            let mut patterns = Vec::new();
            loop {
                self.blanks()?;
                if self.peek().is_none_or(Self::is_meta) {
                    return syntax("a `case` pattern was expected");
                }
                patterns.push(self.word(Ctx::Plain)?);
                self.blanks()?;
                match self.peek() {
                    Some(b'|') => self.bump(1)?,
                    Some(b')') => {
                        self.bump(1)?;
                        break;
                    }
                    _ => return syntax("expected `)` after a `case` pattern"),
                }
            }
            let body = self.list()?;
            arms.push((patterns, body));
            self.blanks()?;
            if self.looking_at(b";;&") {
                self.bump(3)?;
            } else if self.looking_at(b";;") || self.looking_at(b";&") {
                self.bump(2)?;
            } else {
                self.linebreaks()?;
                if !self.at_word("esac") {
                    return syntax("expected `;;` or `esac`");
                }
            }
        }
    }

    /// `[[ … ]]`, after the `[[`.
    fn test(&mut self) -> Parsed<Vec<TestToken>> {
        let mut out = Vec::new();
        self.test_or(&mut out)?;
        self.test_blanks()?;
        if !self.at_word("]]") {
            return syntax("expected `]]`");
        }
        self.bump(2)?;
        Ok(out)
    }

    fn test_blanks(&mut self) -> Parsed<()> {
        self.blanks()?;
        if self.peek() == Some(b'\n') {
            return unsupported("a newline inside `[[ ]]` is not analysed");
        }
        Ok(())
    }

    fn test_or(&mut self, out: &mut Vec<TestToken>) -> Parsed<()> {
        self.enter()?;
        self.test_and(out)?;
        loop {
            self.test_blanks()?;
            if self.looking_at(b"||") {
                self.bump(2)?;
                out.push(TestToken::Op("||".into()));
                self.test_and(out)?;
            } else {
                self.leave();
                return Ok(());
            }
        }
    }

    fn test_and(&mut self, out: &mut Vec<TestToken>) -> Parsed<()> {
        self.test_not(out)?;
        loop {
            self.test_blanks()?;
            if self.looking_at(b"&&") {
                self.bump(2)?;
                out.push(TestToken::Op("&&".into()));
                self.test_not(out)?;
            } else {
                return Ok(());
            }
        }
    }

    fn test_not(&mut self, out: &mut Vec<TestToken>) -> Parsed<()> {
        self.test_blanks()?;
        if self.at_word("!") {
            self.bump(1)?;
            out.push(TestToken::Op("!".into()));
            self.enter()?;
            let r = self.test_not(out);
            self.leave();
            return r;
        }
        if self.peek() == Some(b'(') {
            self.bump(1)?;
            out.push(TestToken::Op("(".into()));
            self.test_or(out)?;
            self.test_blanks()?;
            if self.peek() != Some(b')') {
                return syntax("expected `)` in `[[ ]]`");
            }
            self.bump(1)?;
            out.push(TestToken::Op(")".into()));
            return Ok(());
        }
        let first = self.test_word()?;
        let first_lit = plain_text(&first);
        self.test_blanks()?;
        if first_lit.as_deref().is_some_and(|w| UNARY_TESTS.contains(&w)) && !self.at_test_operator() {
            out.push(TestToken::Op(first_lit.unwrap_or_default()));
            out.push(TestToken::Word(self.test_word()?));
            return Ok(());
        }
        out.push(TestToken::Word(first));
        let op = if matches!(self.peek(), Some(b'<' | b'>')) {
            let o = self.take_char()?;
            if matches!(self.peek(), Some(b'<' | b'>' | b'&' | b'(')) {
                return syntax("unexpected operator in `[[ ]]`");
            }
            Some(o)
        } else if self.peek().is_some_and(|b| !Self::is_meta(b)) && !self.at_word("]]") {
            let w = self.test_word()?;
            match plain_text(&w) {
                Some(o) if BINARY_TESTS.contains(&o.as_str()) => Some(o),
                _ => return syntax("a conditional binary operator was expected in `[[ ]]`"),
            }
        } else {
            None
        };
        if let Some(op) = op {
            self.test_blanks()?;
            let rhs = if op == "=~" { self.word(Ctx::Regex)? } else { self.test_word()? };
            out.push(TestToken::Op(op));
            out.push(TestToken::Word(rhs));
        }
        Ok(())
    }

    fn at_test_operator(&self) -> bool {
        self.at_word("]]")
            || self.looking_at(b"&&")
            || self.looking_at(b"||")
            || matches!(self.peek(), None | Some(b')' | b';' | b'|' | b'&'))
    }

    fn test_word(&mut self) -> Parsed<Word> {
        self.test_blanks()?;
        if self.peek().is_none_or(Self::is_meta) || self.at_word("]]") {
            return syntax("a word was expected in `[[ ]]`");
        }
        self.word(Ctx::Test)
    }

    fn simple(&mut self) -> Parsed<Command> {
        let mut sc = Simple::default();
        loop {
            self.blanks()?;
            match self.peek() {
                None => break,
                Some(b'<' | b'>') if !matches!(self.at(1), Some(b'(')) => {
                    sc.redirects.push(self.redirect()?);
                    continue;
                }
                Some(b'&') if self.at(1) == Some(b'>') => {
                    sc.redirects.push(self.redirect()?);
                    continue;
                }
                Some(b) if Self::is_meta(b) && !(matches!(b, b'<' | b'>') && self.at(1) == Some(b'(')) => break,
                _ => {}
            }
            let word = self.word(Ctx::Plain)?;
            let first = sc.words.is_empty() && sc.assignments.is_empty() && sc.redirects.is_empty();
            let joined = !self.peek().is_some_and(|b| b == b' ' || b == b'\t');
            if first && !joined {
                // `name () { …; }`: the blanks are skipped here to see the `(`.
                self.blanks()?;
                if self.peek() == Some(b'(') && !plain_text(&word).is_some_and(|t| t.ends_with('=')) {
                    return self.function_def(word);
                }
            }
            // What follows a word without a blank decides what the word was.
            match self.peek().filter(|_| joined) {
                Some(b'<' | b'>') if self.at(1) == Some(b'(') => {
                    return unsupported("a process substitution joined to a word is not analysed");
                }
                Some(b'<' | b'>') if is_digits(&word.raw) => {
                    if word.raw.len() > MAX_FD_DIGITS {
                        return unsupported("a file descriptor number that large is not analysed");
                    }
                    sc.redirects.push(self.redirect()?);
                    continue;
                }
                Some(b'<' | b'>') if word.raw.starts_with('{') && word.raw.ends_with('}') => {
                    return unsupported("a redirection to a named file descriptor (`{fd}>`) is not analysed");
                }
                Some(b'(') => {
                    if let Some(a) = self.array_assignment_start(&word, &sc)? {
                        match a {
                            ArrayAt::Prefix(asg) => sc.assignments.push(asg),
                            ArrayAt::Argument(w) => sc.words.push(w),
                        }
                        continue;
                    }
                    if first {
                        return self.function_def(word);
                    }
                    return syntax("unexpected `(`");
                }
                _ => {}
            }
            if sc.words.is_empty()
                && let Some(a) = assignment(&word)?
            {
                sc.assignments.push(a);
                continue;
            }
            if sc.words.first().and_then(plain_text).is_some_and(|w| DECLARATION_BUILTINS.contains(&w.as_str()))
                && !subscript_closes(&word.raw)
            {
                // `declare a[x y]=1` is one word to bash (see `element_assignment`).
                return unsupported("an array-element assignment guard cannot follow is not analysed");
            }
            if sc.words.is_empty() && plain_text(&word).is_some_and(|w| w == "{" || w == "}" || w == "!") {
                // Reserved words where bash does not expect them (`a=1 {`).
                return unsupported("a reserved word after an assignment or redirection is not analysed");
            }
            sc.words.push(word);
        }
        if sc.words.is_empty() && sc.assignments.is_empty() && sc.redirects.is_empty() {
            return syntax("a command was expected");
        }
        Ok(Command::Simple(sc))
    }

    fn function_def(&mut self, name_word: Word) -> Parsed<Command> {
        self.bump(1)?;
        self.blanks()?;
        if self.peek() != Some(b')') {
            return syntax("unexpected `(`");
        }
        self.bump(1)?;
        let name = match plain_text(&name_word) {
            Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b)) => n,
            _ => return unsupported("a function name with unusual characters is not analysed"),
        };
        if RESERVED_CLOSERS.contains(&name.as_str())
            || ["if", "while", "until", "for", "case", "function", "in", "!"].contains(&name.as_str())
        {
            return syntax("a reserved word cannot name a function");
        }
        self.function_body(name)
    }

    /// `name=(…)` in assignment position, or after a declaration builtin (`declare -a x=(…)`).
    fn array_assignment_start(&mut self, word: &Word, sc: &Simple) -> Parsed<Option<ArrayAt>> {
        let Some(text) = plain_text(word) else { return Ok(None) };
        let Some(name) = text.strip_suffix("+=").or_else(|| text.strip_suffix('=')) else { return Ok(None) };
        if !is_name(name) {
            return Ok(None);
        }
        let after_declaration = sc.words.first().and_then(plain_text).is_some_and(|w| DECLARATION_BUILTINS.contains(&w.as_str()));
        if !sc.words.is_empty() && !after_declaration {
            return Ok(None);
        }
        self.bump(1)?;
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.blanks()?;
            match self.peek() {
                Some(b')') => {
                    self.bump(1)?;
                    break;
                }
                Some(b'\n') => {
                    self.inner_newline()?;
                    self.bump(1)?;
                }
                Some(b) if Self::is_meta(b) => return syntax("unexpected operator in an array assignment"),
                None => return syntax("unexpected end of an array assignment"),
                Some(_) => {
                    let w = self.word(Ctx::Plain)?;
                    items.push(array_element(w)?);
                }
            }
        }
        self.leave();
        if self.peek().is_some_and(|b| !Self::is_meta(b)) {
            return syntax("unexpected text after an array assignment");
        }
        let raw = format!("{}(…)", word.raw);
        let value = Word { raw: raw.clone(), parts: vec![Part::Array(items)] };
        if sc.words.is_empty() {
            return Ok(Some(ArrayAt::Prefix(Assignment { name: name.to_string(), index: None, value })));
        }
        let mut parts = word.split().into_owned();
        parts.push(Part::Array(match value.parts.into_iter().next() {
            Some(Part::Array(items)) => items,
            _ => Vec::new(),
        }));
        Ok(Some(ArrayAt::Argument(Word { raw, parts })))
    }

    // ---- redirections and here-documents

    fn redirect(&mut self) -> Parsed<Redirect> {
        let op = if self.looking_at(b"<<<") {
            self.bump(3)?;
            self.no_split_operator()?;
            self.blanks()?;
            return Ok(Redirect::HereString(self.target()?));
        } else if self.looking_at(b"<<") {
            let strip_tabs = self.at(2) == Some(b'-');
            self.bump(if strip_tabs { 3 } else { 2 })?;
            self.no_split_operator()?;
            return self.heredoc(strip_tabs);
        } else {
            // Longest first: `&>>` before `&>`, `>>` before `>`.
            let Some(&(token, op)) = FILE_REDIRECTIONS.iter().find(|(token, _)| self.looking_at(token)) else {
                return syntax("a redirection operator guard does not know");
            };
            self.bump(token.len())?;
            op
        };
        self.no_split_operator()?;
        self.blanks()?;
        Ok(Redirect::File { op, target: self.target()? })
    }

    fn target(&mut self) -> Parsed<Word> {
        match self.peek() {
            Some(b'<' | b'>') if self.at(1) == Some(b'(') => {}
            None => return syntax("a redirection without a target"),
            Some(b) if Self::is_meta(b) => return syntax("a redirection without a target"),
            _ => {}
        }
        let w = self.word(Ctx::Plain)?;
        // Digits right before `<` or `>` are a file-descriptor number to bash, not a target.
        if is_digits(&w.raw) && matches!(self.peek(), Some(b'<' | b'>')) {
            return syntax("a file-descriptor number where a redirection target should be");
        }
        Ok(w)
    }

    /// `<<DELIM` / `<<-DELIM`, after the operator: the delimiter now, the body after the next
    /// newline token. Only delimiters whose quote removal is plain are accepted: letters, digits
    /// and `_.-+:,/@%^=`, quoted in `'…'`, `"…"`, `$'…'` (without escapes) or by backslashes.
    fn heredoc(&mut self, strip_tabs: bool) -> Parsed<Redirect> {
        self.blanks()?;
        let mut delimiter = String::new();
        let mut quoted = false;
        let ok = |b: u8| b.is_ascii_alphanumeric() || b"_.-+:,/@%^=".contains(&b);
        loop {
            match self.peek() {
                Some(b) if ok(b) => {
                    delimiter.push(char::from(b));
                    self.bump(1)?;
                }
                Some(b'\\') if self.at(1).is_some_and(ok) => {
                    quoted = true;
                    delimiter.push(char::from(self.at(1).unwrap_or(b'_')));
                    self.bump(2)?;
                }
                Some(q @ (b'\'' | b'"')) => {
                    quoted = true;
                    self.bump(1)?;
                    self.quoted_delimiter(q, &mut delimiter, ok)?;
                }
                Some(b'$') if self.at(1) == Some(b'\'') => {
                    quoted = true;
                    self.bump(2)?;
                    self.quoted_delimiter(b'\'', &mut delimiter, ok)?;
                }
                None => break,
                Some(b) if Self::is_meta(b) => break,
                Some(_) => return unsupported("a here-document delimiter spelled with expansions or escapes is not analysed"),
            }
        }
        if !quoted && is_digits(&delimiter) && matches!(self.peek(), Some(b'<' | b'>')) {
            return syntax("a file-descriptor number where a here-document delimiter should be");
        }
        if delimiter.is_empty() {
            return match self.peek() {
                Some(b'\'' | b'"') | None => unsupported("an empty here-document delimiter is not analysed"),
                Some(b'\n') | Some(_) => syntax("a here-document operator without a delimiter"),
            };
        }
        let id = self.bodies.len();
        self.bodies.push(HereDoc { id, quoted, ..HereDoc::default() });
        self.pending.push(Pending { id, delimiter, strip_tabs, quoted, level: self.level });
        Ok(Redirect::HereDoc(Box::new(HereDoc { id, quoted, ..HereDoc::default() })))
    }

    fn quoted_delimiter(&mut self, q: u8, out: &mut String, ok: impl Fn(u8) -> bool) -> Parsed<()> {
        loop {
            match self.peek() {
                Some(b) if b == q => return self.bump(1),
                Some(b) if ok(b) => {
                    out.push(char::from(b));
                    self.bump(1)?;
                }
                None => return syntax("unterminated quote in a here-document delimiter"),
                Some(_) => return unsupported("a here-document delimiter with unusual characters is not analysed"),
            }
        }
    }

    /// Reads one pending here-document's body from the cursor (the start of a line).
    fn heredoc_body(&mut self, p: Pending) -> Parsed<()> {
        let mut body = String::new();
        loop {
            if self.peek().is_none() {
                // Bash warns and takes the rest of the input as the body.
                break;
            }
            let start = self.pos;
            while self.peek().is_some_and(|b| b != b'\n') {
                self.bump(1)?;
            }
            let mut line = self.s.get(start..self.pos).unwrap_or_default();
            let had_newline = self.peek() == Some(b'\n');
            if had_newline {
                self.bump(1)?;
            }
            if p.strip_tabs {
                let tabs = line.iter().take_while(|b| **b == b'\t').count();
                line = line.get(tabs..).unwrap_or_default();
            }
            if line == p.delimiter.as_bytes() {
                break;
            }
            if !p.quoted && line.last() == Some(&b'\\') {
                return unsupported("a line continuation in an unquoted here-document is not analysed");
            }
            body.push_str(&String::from_utf8_lossy(line));
            // Bash ends every body line with a newline, the last one at the end of input too.
            body.push('\n');
            if !had_newline {
                break;
            }
        }
        let parts = if p.quoted {
            None
        } else {
            let mut sub = Parser::new(&body, self.fuel, self.depth);
            let parts = sub.heredoc_parts();
            self.fuel = sub.fuel;
            Some(parts?)
        };
        if let Some(slot) = self.bodies.get_mut(p.id) {
            slot.body = body;
            slot.parts = parts;
        }
        Ok(())
    }

    /// An unquoted here-document's body: text with `$…`, `` `…` `` and `\$ \` \\` escapes.
    fn heredoc_parts(&mut self) -> Parsed<Vec<Part>> {
        self.enter()?;
        let mut parts = Vec::new();
        let mut text = Vec::new();
        while let Some(b) = self.peek() {
            match b {
                b'\\' if matches!(self.at(1), Some(b'$' | b'`' | b'\\')) => {
                    text.push(self.at(1).unwrap_or(b'\\'));
                    self.bump(2)?;
                }
                b'$' if self.starts_expansion() => {
                    flush(&mut text, &mut parts, Part::Quoted);
                    parts.push(self.dollar(true)?);
                }
                b'`' => {
                    flush(&mut text, &mut parts, Part::Quoted);
                    parts.push(self.backquote(false)?);
                }
                _ => {
                    text.push(b);
                    self.bump(1)?;
                }
            }
        }
        flush(&mut text, &mut parts, Part::Quoted);
        if !self.pending.is_empty() {
            return unsupported("a here-document inside a here-document is not analysed");
        }
        let mut bodies = std::mem::take(&mut self.bodies);
        for p in &mut parts {
            fill_part(p, &mut bodies);
        }
        self.leave();
        Ok(parts)
    }

    // ---- words

    /// A word at the cursor (which must not be at a word end).
    fn word(&mut self, ctx: Ctx) -> Parsed<Word> {
        self.enter()?;
        let start = self.pos;
        let mut parts = Vec::new();
        let mut text: Vec<u8> = Vec::new();
        let mut parens = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'(' | b')' | b'|' if ctx == Ctx::Regex => {
                    if b == b'(' {
                        parens += 1;
                    } else if b == b')' {
                        if parens == 0 {
                            break;
                        }
                        parens -= 1;
                    }
                    text.push(b);
                    self.bump(1)?;
                }
                b' ' | b'\t' if ctx == Ctx::Regex && parens > 0 => {
                    return unsupported("blanks inside a parenthesised `=~` pattern are not analysed");
                }
                b'<' | b'>' if self.at(1) == Some(b'(') && ctx == Ctx::Plain => {
                    // Bash reads `<(…)` and `>(…)` inside a word too (`--from=<(cmd)`).
                    flush(&mut text, &mut parts, Part::Lit);
                    let write = b == b'>';
                    self.bump(2)?;
                    let list = self.substitution_list()?;
                    parts.push(Part::ProcSub { write, list: Box::new(list) });
                }
                _ if Self::is_meta(b) => break,
                b'\\' => match self.at(1) {
                    Some(b'\n') => {
                        self.bump(2)?;
                    }
                    None => {
                        // Bash keeps a backslash at the very end of its input as text.
                        text.push(b'\\');
                        self.bump(1)?;
                    }
                    Some(_) => {
                        flush(&mut text, &mut parts, Part::Lit);
                        self.bump(1)?;
                        let c = self.take_char()?;
                        parts.push(Part::Escaped(c));
                    }
                },
                b'\'' => {
                    flush(&mut text, &mut parts, Part::Lit);
                    self.bump(1)?;
                    let from = self.pos;
                    while self.peek().is_some_and(|b| b != b'\'') {
                        if self.peek() == Some(b'\n') {
                            self.inner_newline()?;
                        }
                        self.bump(1)?;
                    }
                    if self.peek().is_none() {
                        return syntax("unterminated single quote");
                    }
                    parts.push(Part::Single(self.text(from, self.pos)));
                    self.bump(1)?;
                }
                b'"' => {
                    flush(&mut text, &mut parts, Part::Lit);
                    self.bump(1)?;
                    parts.push(Part::Double(self.double_quoted()?));
                }
                b'$' if self.at(1) == Some(b'\'') => {
                    flush(&mut text, &mut parts, Part::Lit);
                    self.bump(2)?;
                    parts.push(Part::AnsiC(self.ansi_c()?));
                }
                b'$' if self.at(1) == Some(b'"') => {
                    return unsupported("a `$\"…\"` string is translated at run time and is not analysed");
                }
                b'$' if self.starts_expansion() => {
                    flush(&mut text, &mut parts, Part::Lit);
                    parts.push(self.dollar(false)?);
                }
                b'`' => {
                    flush(&mut text, &mut parts, Part::Lit);
                    parts.push(self.backquote(false)?);
                }
                b'~' if self.pos == start => {
                    let tail = self.s.get(self.pos + 1..).unwrap_or_default();
                    let n = tail.iter().take_while(|b| b.is_ascii_alphanumeric() || b"_.-+".contains(b)).count();
                    let prefix = tail.get(..n).unwrap_or_default();
                    let ends = tail.get(n).is_none_or(|b| *b == b'/' || Self::is_meta(*b));
                    let special = matches!(prefix.first(), Some(b'+' | b'-' | b'0'..=b'9'));
                    if ends && special {
                        let t = self.text(self.pos + 1, self.pos + 1 + n);
                        self.bump(1 + n)?;
                        parts.push(Part::Tilde(t));
                    } else {
                        text.push(b);
                        self.bump(1)?;
                    }
                }
                b'?' | b'*' | b'+' | b'@' | b'!' if self.at(1) == Some(b'(') && ctx != Ctx::Regex => {
                    return unsupported("extended glob patterns are not analysed");
                }
                _ => {
                    // A run of bytes that are never special in a word, taken at once.
                    let run = self.s.get(self.pos..).unwrap_or_default().iter().take_while(|c| plain_byte(**c)).count().max(1);
                    text.extend_from_slice(self.s.get(self.pos..self.pos + run).unwrap_or_default());
                    self.bump(run)?;
                }
            }
        }
        self.leave();
        if ctx == Ctx::Regex && parens > 0 {
            return syntax("unbalanced `(` in a `=~` pattern");
        }
        if parts.is_empty() && text.len() == self.pos - start {
            // Plain text: the bytes read are the word as written.
            return Ok(Word { raw: String::from_utf8_lossy(&text).into_owned(), parts });
        }
        flush(&mut text, &mut parts, Part::Lit);
        Ok(Word { raw: self.text(start, self.pos), parts })
    }

    /// Whether the `$` at the cursor starts an expansion (else it is text).
    fn starts_expansion(&self) -> bool {
        match self.at(1) {
            Some(b'{' | b'(' | b'[') => true,
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' => true,
            Some(b'@' | b'*' | b'#' | b'?' | b'-' | b'$' | b'!') => true,
            _ => false,
        }
    }

    /// Inside `"…"`, after the opening quote, through the closing one.
    fn double_quoted(&mut self) -> Parsed<Vec<Part>> {
        self.enter()?;
        let mut parts = Vec::new();
        let mut text = Vec::new();
        loop {
            match self.peek() {
                None => return syntax("unterminated double quote"),
                Some(b'"') => {
                    self.bump(1)?;
                    break;
                }
                Some(b'\\') => match self.at(1) {
                    Some(b'\n') => self.bump(2)?,
                    Some(c @ (b'$' | b'`' | b'"' | b'\\')) => {
                        text.push(c);
                        self.bump(2)?;
                    }
                    _ => {
                        text.push(b'\\');
                        self.bump(1)?;
                    }
                },
                Some(b'$') if self.starts_expansion() => {
                    flush(&mut text, &mut parts, Part::Quoted);
                    parts.push(self.dollar(true)?);
                }
                Some(b'`') => {
                    flush(&mut text, &mut parts, Part::Quoted);
                    parts.push(self.backquote(true)?);
                }
                Some(b) => {
                    if b == b'\n' {
                        self.inner_newline()?;
                    }
                    let run =
                        self.s.get(self.pos..).unwrap_or_default().iter().take_while(|c| plain_byte(**c) || **c == b' ').count().max(1);
                    text.extend_from_slice(self.s.get(self.pos..self.pos + run).unwrap_or_default());
                    self.bump(run)?;
                }
            }
        }
        flush(&mut text, &mut parts, Part::Quoted);
        self.leave();
        Ok(parts)
    }

    /// The body of `$'…'`, after the opening quote, through the closing one.
    fn ansi_c(&mut self) -> Parsed<String> {
        let from = self.pos;
        loop {
            match self.peek() {
                None => return syntax("unterminated `$'…'` string"),
                Some(b'\'') => break,
                Some(b'\\') if self.at(1) == Some(b'\n') => {
                    return unsupported("a line continuation inside `$'…'` is not analysed");
                }
                Some(b'\\') => self.bump(2)?,
                Some(b) => {
                    if b == b'\n' {
                        self.inner_newline()?;
                    }
                    self.bump(1)?;
                }
            }
        }
        let body = self.text(from, self.pos);
        if non_ascii_unicode_escape(&body) {
            return unsupported("a `\\u` escape beyond ASCII in `$'…'` depends on the locale and is not analysed");
        }
        self.bump(1)?;
        Ok(body)
    }

    /// An expansion at a `$` (see [`Parser::starts_expansion`]).
    fn dollar(&mut self, in_quotes: bool) -> Parsed<Part> {
        let start = self.pos;
        self.no_dollar_dollar_opener()?;
        match self.at(1) {
            Some(b'(') if self.at(2) == Some(b'(') => {
                self.bump(1)?;
                Ok(Part::Arith(self.arith_body(2)?))
            }
            Some(b'(') => {
                self.bump(2)?;
                Ok(Part::CmdSub(Box::new(self.substitution_list()?)))
            }
            Some(b'[') => {
                // The deprecated `$[…]` arithmetic: flat brackets only.
                self.bump(2)?;
                let from = self.pos;
                loop {
                    match self.peek() {
                        Some(b']') => break,
                        Some(b) if b.is_ascii_alphanumeric() || b" _@*+-/%<>=!&|^~?:,.#$\t".contains(&b) => self.bump(1)?,
                        None => return syntax("unterminated `$[`"),
                        Some(_) => return unsupported("this `$[…]` arithmetic is not analysed"),
                    }
                }
                let expr = self.text(from, self.pos);
                self.bump(1)?;
                Ok(Part::Arith(expr))
            }
            Some(b'{') => {
                self.bump(2)?;
                let plain = self.braced_parameter(in_quotes)?;
                Ok(Part::Param(Param { raw: self.text(start, self.pos), plain }))
            }
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                self.bump(1)?;
                let from = self.pos;
                while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    self.bump(1)?;
                }
                let name = self.text(from, self.pos);
                Ok(Part::Param(Param { raw: self.text(start, self.pos), plain: Some(name) }))
            }
            _ => {
                self.bump(2)?;
                Ok(Part::Param(Param { raw: self.text(start, self.pos), plain: None }))
            }
        }
    }

    /// Refuses `$$(` and `$${` at the cursor. The parser reads `$$` (the shell's pid) and then a
    /// plain `(` or `{`, but bash's expansion-time scanners (`skip_double_quoted`,
    /// `skip_matched_pair`, `extract_dollar_brace_string`: the ones that find where a `${…}`
    /// operand, a `NAME[…]` subscript or a quoted string ends) look at each `$` alone and open a
    /// command substitution or a `${` at the second one. bash then re-parses text the parser took
    /// as literal: `bash -n` refuses `d S["$$(>(s(o "` (the check bash runs on every `NAME[`
    /// word), and `${d:-$$(x}` fails when it runs. No NL2Bash line has either shape.
    fn no_dollar_dollar_opener(&self) -> Parsed<()> {
        if self.peek() == Some(b'$') && self.at(1) == Some(b'$') && matches!(self.at(2), Some(b'(' | b'{')) {
            return unsupported("`$$(` and `$${` are read differently by bash's parser and its expansion and are not analysed");
        }
        Ok(())
    }

    /// The list of `$(…)` or `<(…)`, after the `(`, through the `)`.
    fn substitution_list(&mut self) -> Parsed<List> {
        self.enter()?;
        self.level += 1;
        let list = self.list()?;
        self.blanks()?;
        if self.peek() != Some(b')') {
            return syntax("expected `)` to close a substitution");
        }
        if self.pending.iter().any(|p| p.level >= self.level) {
            return unsupported("a here-document whose body is not read inside its substitution is not analysed");
        }
        self.bump(1)?;
        self.level -= 1;
        self.leave();
        Ok(list)
    }

    /// `((…))` or `$((…))` from its first `(` (`open` parentheses): the expression. Parentheses
    /// are counted; the expression ends at `))` at depth zero. A `)` at depth zero not followed
    /// by another is what bash then reparses as a subshell; guard refuses it.
    fn arith_body(&mut self, open: usize) -> Parsed<String> {
        self.bump(open)?;
        let from = self.pos;
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return syntax("unterminated arithmetic expression"),
                Some(b'(') => depth += 1,
                Some(b')') if depth > 0 => depth -= 1,
                Some(b')') if self.at(1) == Some(b')') => break,
                Some(b')') => return unsupported("a `((` that is not arithmetic is not analysed"),
                Some(b'<' | b'>') if self.at(1) == Some(b'(') => {
                    return unsupported("`<(` or `>(` inside arithmetic is not analysed");
                }
                Some(b'`') => {
                    self.backquote(false)?;
                    continue;
                }
                Some(b'\'' | b'"' | b'\\') => return unsupported("quotes or backslashes in arithmetic are not analysed"),
                Some(b'$') if self.at(1) == Some(b'$') => {
                    self.no_dollar_dollar_opener()?;
                    self.bump(2)?;
                    continue;
                }
                Some(b'$') if self.at(1) == Some(b'(') && self.at(2) != Some(b'(') => {
                    // Parsed, so that its `)` is found where bash finds it; the walker escalates
                    // arithmetic that reads a command's output.
                    self.bump(2)?;
                    self.substitution_list()?;
                    continue;
                }
                Some(b'\n') => self.inner_newline()?,
                Some(_) => {}
            }
            self.bump(1)?;
        }
        let expr = self.text(from, self.pos);
        self.bump(2)?;
        Ok(expr)
    }

    /// `${…}` after the `${`, through the `}`. Returns the name when the expansion is just
    /// `${NAME}`.
    fn braced_parameter(&mut self, in_quotes: bool) -> Parsed<Option<String>> {
        self.enter()?;
        let prefix = match self.peek() {
            Some(c @ (b'#' | b'!')) if !matches!(self.at(1), Some(b'}')) => {
                self.bump(1)?;
                Some(c)
            }
            _ => None,
        };
        let from = self.pos;
        let is_ident = self.peek().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
        if is_ident {
            while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                self.bump(1)?;
            }
        } else if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.bump(1)?;
            }
        } else if matches!(self.peek(), Some(b'@' | b'*' | b'#' | b'?' | b'-' | b'$' | b'!' | b'0')) {
            self.bump(1)?;
        } else {
            return unsupported("a `${…}` expansion without a parameter name is not analysed");
        }
        let name = self.text(from, self.pos);
        let mut plain = prefix.is_none() && is_ident;
        if is_ident && self.peek() == Some(b'[') {
            self.bump(1)?;
            self.subscript(in_quotes)?;
            plain = false;
        }
        if prefix == Some(b'!') && matches!(self.peek(), Some(b'*' | b'@')) && self.at(1) == Some(b'}') {
            self.bump(1)?;
        }
        if self.peek() == Some(b'}') {
            self.bump(1)?;
            self.leave();
            return Ok(plain.then_some(name));
        }
        if prefix == Some(b'#') {
            return unsupported("this `${#…}` form is not analysed");
        }
        // An operator and the word after it, up to the closing brace.
        let op_len = [
            &b":-"[..],
            b":=",
            b":?",
            b":+",
            b"##",
            b"%%",
            b"//",
            b"/#",
            b"/%",
            b"^^",
            b",,",
            b"-",
            b"=",
            b"?",
            b"+",
            b"#",
            b"%",
            b"/",
            b"^",
            b",",
            b"@",
            b":",
        ]
        .iter()
        .find(|op| self.looking_at(op))
        .map(|op| op.len());
        let Some(op_len) = op_len else {
            return unsupported("this `${…}` form is not analysed");
        };
        self.bump(op_len)?;
        self.parameter_word(in_quotes)?;
        self.leave();
        Ok(None)
    }

    /// `[…]` of `${NAME[…]}`, after the `[`, through the `]`: text, quotes and expansions
    /// (checked by the walker as arithmetic or as an associative key), but no brackets or braces
    /// of its own, so its `]` is the one bash's expansion would split at.
    fn subscript(&mut self, in_quotes: bool) -> Parsed<()> {
        self.enter()?;
        loop {
            match self.peek() {
                Some(b']') => {
                    self.leave();
                    return self.bump(1);
                }
                Some(b'$') if self.at(1) == Some(b'\'') || self.at(1) == Some(b'"') => {
                    return unsupported("`$'` or `$\"` inside an array subscript is not analysed");
                }
                Some(b'<' | b'>') if self.at(1) == Some(b'(') => {
                    return unsupported("`<(` or `>(` inside an array subscript is not analysed");
                }
                Some(b'$') if self.starts_expansion() => {
                    self.dollar(in_quotes)?;
                }
                Some(b'"') => {
                    self.bump(1)?;
                    self.double_quoted()?;
                }
                Some(b'\'') if !in_quotes => {
                    self.bump(1)?;
                    while self.peek().is_some_and(|b| b != b'\'' && b != b'\n') {
                        self.bump(1)?;
                    }
                    if self.peek() != Some(b'\'') {
                        return unsupported("an array subscript with a quote guard cannot follow is not analysed");
                    }
                    self.bump(1)?;
                }
                Some(b'`') => {
                    self.backquote(in_quotes)?;
                }
                Some(b) if b.is_ascii_alphanumeric() || b" _@*+-/%<>=!&|^~?:,.#$".contains(&b) => self.bump(1)?,
                None => return syntax("unterminated array subscript"),
                Some(_) => return unsupported("an array subscript with brackets, braces or escapes is not analysed"),
            }
        }
    }

    /// The word after a `${NAME op` operator, through the closing `}`.
    fn parameter_word(&mut self, in_quotes: bool) -> Parsed<()> {
        loop {
            match self.peek() {
                None => return syntax("unterminated `${`"),
                Some(b'}') => return self.bump(1),
                Some(b'{') => return unsupported("a `{` inside `${…}` is not analysed"),
                // Bash opens a process substitution there, even within double quotes.
                Some(b'<' | b'>') if self.at(1) == Some(b'(') => {
                    return unsupported("`<(` or `>(` inside `${…}` is not analysed");
                }
                Some(b'\\') => {
                    if self.at(1) == Some(b'\n') {
                        self.inner_newline()?;
                    }
                    self.bump(1)?;
                    self.take_char()?;
                }
                Some(b'\'') if in_quotes => return unsupported("a `'` inside `${…}` within double quotes is not analysed"),
                Some(b'\'') => {
                    self.bump(1)?;
                    while self.peek().is_some_and(|b| b != b'\'') {
                        if self.peek() == Some(b'\n') {
                            self.inner_newline()?;
                        }
                        self.bump(1)?;
                    }
                    if self.peek().is_none() {
                        return syntax("unterminated single quote");
                    }
                    self.bump(1)?;
                }
                Some(b'"') => {
                    self.bump(1)?;
                    self.double_quoted()?;
                }
                Some(b'$') if self.at(1) == Some(b'\'') => {
                    // Within double quotes, whether this is an ANSI-C string depends on `shopt
                    // extquote`; where that cannot move the closing brace it does not matter.
                    self.bump(2)?;
                    let body = self.ansi_c()?;
                    if body.contains(['}', '"', '\'']) {
                        return unsupported("a `$'…'` string holding quotes or braces inside `${…}` is not analysed");
                    }
                }
                Some(b'$') if self.at(1) == Some(b'"') => {
                    return unsupported("a `$\"…\"` string is translated at run time and is not analysed");
                }
                Some(b'$') if self.starts_expansion() => {
                    self.dollar(in_quotes)?;
                }
                Some(b'`') => {
                    self.backquote(in_quotes)?;
                }
                Some(b) => {
                    if b == b'\n' {
                        self.inner_newline()?;
                    }
                    self.bump(1)?;
                }
            }
        }
    }

    /// `` `…` `` from the opening backquote: the code, unescaped as bash does (`\\`, `` \` ``,
    /// `\$`), parsed by a nested parser.
    fn backquote(&mut self, in_quotes: bool) -> Parsed<Part> {
        self.bump(1)?;
        let mut code = Vec::new();
        loop {
            match self.peek() {
                None => return syntax("unterminated backquote"),
                Some(b'`') => {
                    self.bump(1)?;
                    break;
                }
                Some(b'\\') => match self.at(1) {
                    Some(c @ (b'\\' | b'`' | b'$')) => {
                        code.push(c);
                        self.bump(2)?;
                    }
                    Some(b'"') if in_quotes => return unsupported("`\\\"` inside backquotes within double quotes is not analysed"),
                    Some(b'\n') => {
                        self.inner_newline()?;
                        code.extend_from_slice(b"\\\n");
                        self.bump(2)?;
                    }
                    _ => {
                        code.push(b'\\');
                        self.bump(1)?;
                    }
                },
                Some(b) => {
                    if b == b'\n' {
                        self.inner_newline()?;
                    }
                    code.push(b);
                    self.bump(1)?;
                }
            }
        }
        self.enter()?;
        let code = String::from_utf8_lossy(&code).into_owned();
        let list = parse_with(&code, &mut self.fuel, self.depth)?;
        self.leave();
        Ok(Part::CmdSub(Box::new(list)))
    }
}

enum ArrayAt {
    Prefix(Assignment),
    Argument(Word),
}

fn flush(text: &mut Vec<u8>, parts: &mut Vec<Part>, make: fn(String) -> Part) {
    if !text.is_empty() {
        parts.push(make(String::from_utf8_lossy(text).into_owned()));
        text.clear();
    }
}

/// Whether an ANSI-C body holds `\u`/`\U` escapes beyond ASCII: bash turns them into the
/// locale's encoding, which guard cannot see (in the C locale they stay as written).
fn non_ascii_unicode_escape(body: &str) -> bool {
    let b = body.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            if let Some(&e @ (b'u' | b'U')) = b.get(i + 1) {
                let max = if e == b'u' { 4 } else { 8 };
                let digits: Vec<u8> =
                    b.get(i + 2..).unwrap_or_default().iter().take(max).take_while(|d| d.is_ascii_hexdigit()).copied().collect();
                let value = u32::from_str_radix(&String::from_utf8_lossy(&digits), 16).unwrap_or(0);
                if value >= 0x80 {
                    return true;
                }
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    false
}

/// Bytes that mean nothing special anywhere in a word or in double quotes (UTF-8 continuation
/// and lead bytes included: bash splits only at ASCII).
fn plain_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_./=:,%^{}[]#".contains(&c) || c >= 0x80
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_name(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The text of a word made only of unquoted literal text.
pub fn plain_text(w: &Word) -> Option<String> {
    match w.parts.as_slice() {
        [] => Some(w.raw.clone()),
        [Part::Lit(t)] => Some(t.clone()),
        _ => None,
    }
}

/// `NAME=…`, `NAME+=…` or `NAME[sub]=…` in assignment position, split; `None` for other words.
fn assignment(w: &Word) -> Parsed<Option<Assignment>> {
    if !w.raw.contains('=') && !w.raw.contains('[') {
        return Ok(None);
    }
    let split = w.split();
    let Some(Part::Lit(first)) = split.first() else { return Ok(None) };
    let name_len = first.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let name = first.get(..name_len).unwrap_or_default();
    if !is_name(name) {
        return Ok(None);
    }
    let after = first.get(name_len..).unwrap_or_default();
    if after.starts_with('[') {
        return element_assignment(w, name);
    }
    let op = if after.starts_with("+=") {
        2
    } else if after.starts_with('=') {
        1
    } else {
        return Ok(None);
    };
    let value_offset = name_len + op;
    let mut parts = split.to_vec();
    if let Some(Part::Lit(t)) = parts.first_mut() {
        *t = t.get(value_offset..).unwrap_or_default().to_string();
        if t.is_empty() {
            parts.remove(0);
        }
    }
    let raw = w.raw.get(value_offset..).unwrap_or_default().to_string();
    Ok(Some(Assignment { name: name.to_string(), index: None, value: Word { raw, parts } }))
}

/// `NAME[sub]=value` (the word starts with `NAME[`). Bash reads such a word as one even with
/// blanks inside the brackets; guard accepts subscripts of text, quotes and plain parameters
/// whose `]` is the first one in the word, and refuses a `NAME[` without any `]`.
fn element_assignment(w: &Word, name: &str) -> Parsed<Option<Assignment>> {
    let refuse_it = || unsupported("an array-element assignment guard cannot follow is not analysed");
    let open = name.len() + 1;
    // Bash reads `[…]` here as a matched pair, quotes and blanks included, even past the end of
    // what would otherwise be the word (`a[x y]` is one word): the `]` must close inside this
    // word, outside quotes, and be the first `]` in it.
    let Some(close) = closing_bracket(w.raw.get(open..).unwrap_or_default()).map(|c| c + open) else {
        return refuse_it();
    };
    if w.raw.get(open..).and_then(|r| r.find(']')).map(|c| c + open) != Some(close) {
        return refuse_it();
    }
    let tail = w.raw.get(close + 1..).unwrap_or_default();
    let index = w.raw.get(open..close).unwrap_or_default().to_string();
    let op = if tail.starts_with("+=") {
        2
    } else if tail.starts_with('=') {
        1
    } else if w.raw.contains("]=") || w.raw.contains("]+=") {
        // The first `]` is not the one before the `=`: a subscript with brackets in it.
        return refuse_it();
    } else {
        return Ok(None);
    };
    if index.contains(['[', '{', '(', '`', '\\']) {
        return refuse_it();
    }
    // The parts up to the one holding the closing `]` (a literal) make the subscript.
    let mut value_parts = Vec::new();
    let mut found = false;
    for (i, part) in w.split().iter().enumerate() {
        if found {
            value_parts.push(part.clone());
            continue;
        }
        let text = match part {
            Part::Lit(t) if i == 0 => t.get(open..).map(|t| t.to_string()),
            Part::Lit(t) => Some(t.clone()),
            Part::Param(p) if !p.raw.contains('[') => None,
            Part::Double(inner)
                if inner.iter().all(|q| match q {
                    Part::Quoted(t) => !t.contains(']'),
                    Part::Param(p) => !p.raw.contains('['),
                    _ => false,
                }) =>
            {
                None
            }
            Part::Single(t) if !t.contains(']') => None,
            _ => return refuse_it(),
        };
        if let Some(t) = text
            && let Some(c) = t.find(']')
        {
            found = true;
            let rest = t.get(c + 1 + op..).unwrap_or_default();
            if !rest.is_empty() {
                value_parts.push(Part::Lit(rest.to_string()));
            }
        }
    }
    if !found {
        return refuse_it();
    }
    let raw = w.raw.get(close + 1 + op..).unwrap_or_default().to_string();
    Ok(Some(Assignment { name: name.to_string(), index: Some(index), value: Word { raw, parts: value_parts } }))
}

/// For a word that starts like `NAME[`: whether its `]` closes inside it, outside quotes, as
/// the first `]` (true for every other word).
fn subscript_closes(raw: &str) -> bool {
    let name = raw.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    if !is_name(raw.get(..name).unwrap_or_default()) || raw.as_bytes().get(name) != Some(&b'[') {
        return true;
    }
    let rest = raw.get(name + 1..).unwrap_or_default();
    closing_bracket(rest).is_some_and(|c| rest.find(']') == Some(c))
}

/// The offset of the `]` that closes a subscript opened just before `r`, outside quotes; `None`
/// when there is none or when brackets nest.
fn closing_bracket(r: &str) -> Option<usize> {
    let b = r.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b']' => return Some(i),
            // Bash's matched pair reads substitutions inside (a `]` in them closes nothing).
            b'[' | b'`' => return None,
            b'$' if matches!(b.get(i + 1), Some(b'(' | b'\'' | b'"')) => return None,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                let end = b.get(i..)?.iter().position(|x| *x == b'}')?;
                if b.get(i..i + end)?.contains(&b']') {
                    return None;
                }
                i += end;
            }
            b'\\' => i += 1,
            b'\'' => i += b.get(i + 1..)?.iter().position(|x| *x == b'\'')? + 1,
            b'"' => {
                i += 1;
                while let Some(&q) = b.get(i) {
                    match q {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
                b.get(i)?;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One element of `name=(…)`: `[key]=value` or a value.
fn array_element(w: Word) -> Parsed<(Option<String>, Word)> {
    let split = w.split();
    if let Some(Part::Lit(first)) = split.first()
        && let Some(rest) = first.strip_prefix('[')
    {
        let Some(close) = rest.find("]=") else {
            return unsupported("an array element that starts with `[` but has no `]=` is not analysed");
        };
        let key = rest.get(..close).unwrap_or_default();
        if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b" _@*+-/%<>=!&|^~?:,.#$".contains(&b)) {
            return unsupported("an array key guard cannot follow is not analysed");
        }
        let offset = 1 + close + 2;
        let mut parts = split.to_vec();
        if let Some(Part::Lit(t)) = parts.first_mut() {
            *t = t.get(offset..).unwrap_or_default().to_string();
            if t.is_empty() {
                parts.remove(0);
            }
        }
        let raw = w.raw.get(offset..).unwrap_or_default().to_string();
        return Ok((Some(key.to_string()), Word { raw, parts }));
    }
    if w.raw.starts_with('[') {
        return unsupported("an array key guard cannot follow is not analysed");
    }
    Ok((None, w))
}

// ---- here-document bodies into their redirections, once the line is read

fn fill_list(l: &mut List, bodies: &mut [HereDoc]) {
    for ao in &mut l.items {
        for p in &mut ao.pipelines {
            for c in &mut p.commands {
                fill_command(c, bodies);
            }
        }
    }
}

fn fill_command(c: &mut Command, bodies: &mut [HereDoc]) {
    match c {
        Command::Simple(sc) => {
            for a in &mut sc.assignments {
                fill_word(&mut a.value, bodies);
            }
            for w in &mut sc.words {
                fill_word(w, bodies);
            }
            fill_redirects(&mut sc.redirects, bodies);
        }
        Command::Compound(cc, redirects) => {
            match cc {
                Compound::Brace(l) | Compound::Subshell(l) => fill_list(l, bodies),
                Compound::For { words, body, .. } => {
                    for w in words.iter_mut().flatten() {
                        fill_word(w, bodies);
                    }
                    fill_list(body, bodies);
                }
                Compound::ArithFor { body, .. } => fill_list(body, bodies),
                Compound::While { cond, body } => {
                    fill_list(cond, bodies);
                    fill_list(body, bodies);
                }
                Compound::If { branches, otherwise } => {
                    for (a, b) in branches {
                        fill_list(a, bodies);
                        fill_list(b, bodies);
                    }
                    if let Some(o) = otherwise {
                        fill_list(o, bodies);
                    }
                }
                Compound::Case { word, arms } => {
                    fill_word(word, bodies);
                    for (ps, l) in arms {
                        for p in ps {
                            fill_word(p, bodies);
                        }
                        fill_list(l, bodies);
                    }
                }
                Compound::Arith(_) => {}
                Compound::Test(ts) => {
                    for t in ts {
                        if let TestToken::Word(w) = t {
                            fill_word(w, bodies);
                        }
                    }
                }
            }
            fill_redirects(redirects, bodies);
        }
        Command::Function { body, .. } => fill_command(body, bodies),
    }
}

fn fill_redirects(rs: &mut [Redirect], bodies: &mut [HereDoc]) {
    for r in rs {
        match r {
            Redirect::File { target, .. } | Redirect::HereString(target) => fill_word(target, bodies),
            Redirect::HereDoc(h) => {
                if !h.filled
                    && let Some(b) = bodies.get_mut(h.id)
                {
                    h.body = std::mem::take(&mut b.body);
                    h.parts = b.parts.take();
                    h.filled = true;
                }
            }
        }
    }
}

fn fill_word(w: &mut Word, bodies: &mut [HereDoc]) {
    for p in &mut w.parts {
        fill_part(p, bodies);
    }
}

fn fill_part(p: &mut Part, bodies: &mut [HereDoc]) {
    match p {
        Part::Double(inner) => {
            for q in inner {
                fill_part(q, bodies);
            }
        }
        // Backquoted code was parsed (and filled) by its own parser; its table is not this one.
        Part::CmdSub(l) | Part::ProcSub { list: l, .. } => fill_list(l, bodies),
        Part::Array(items) => {
            for (_, w) in items {
                fill_word(w, bodies);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes that blew up brush-parser (nested subscripts, runs of `<<`, unclosed `(`, `$((`,
    /// `case`, `${`, backquotes), and every nesting opener: deep nesting is refused at the depth
    /// limit, within the test thread's small stack, and never panics.
    const SHAPES: &[&str] = &[
        "(",
        "$(",
        "{ ",
        "if a; then ",
        "`",
        "\"$(",
        "${x:-",
        "[[ ( ",
        "case a in a) ",
        "for i in a; do ",
        "a=(",
        "<(",
        "f() { ",
        "${a[",
        "$((",
        "<< ",
        "<<\r ",
        "$(<< ",
        "! ",
        "a | ",
        "a && ",
        "\"",
        "'",
        "$'",
        "[",
        "]",
        "${",
        "}",
        "\\\n",
    ];

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        for shape in SHAPES {
            let line = shape.repeat(20_000);
            let _ = parse(&line);
            let closed = format!("{}x{}", shape.repeat(5_000), ")".repeat(5_000));
            let _ = parse(&closed);
        }
    }

    #[test]
    fn parse_cost_grows_linearly_on_the_known_blow_up_shapes() {
        for shape in SHAPES.iter().chain(&["${a[${b[${c[0]}]}]}", "p[=t\"e\"t", "<<", "cat <<A\nA\n", "x=$(a) ", "echo `b` "]) {
            let cost = |n: usize| parse_cost(&shape.repeat(n)).max(1);
            let (small, large) = (cost(1_000), cost(2_000));
            let ratio = large as f64 / small as f64;
            assert!(ratio < 2.3, "{shape:?}: cost {small} -> {large} when the input doubles");
        }
    }

    #[test]
    fn heredoc_delimiters_are_unquoted_as_bash_does() {
        let body = |line: &str| -> Option<String> {
            let list = parse(line).ok()?;
            let and_or = list.items.first()?;
            let Command::Simple(sc) = and_or.pipelines.first()?.commands.first()? else { return None };
            sc.redirects.iter().find_map(|r| match r {
                Redirect::HereDoc(h) => Some(h.body.clone()),
                _ => None,
            })
        };
        for (line, want) in [
            ("cat <<EOF\nx\nEOF", "x\n"),
            ("cat <<'EOF'\nx\nEOF", "x\n"),
            ("cat <<$'EOF'\nx\nEOF\nrm y\n$EOF", "x\n"),
            ("cat <<E\"O\"F\nx\nEOF", "x\n"),
            ("cat <<\\EOF\nx\nEOF", "x\n"),
            ("cat <<-EOF\n\tx\n\tEOF", "x\n"),
            ("cat <<EOF\nx", "x\n"),
        ] {
            assert_eq!(body(line).as_deref(), Some(want), "{line:?}");
        }
        for line in ["cat <<$EOF\nx\n$EOF", "cat <<$'E\\x4fF'\nx\nEOF", "cat <<\r x", "cat <<EOF; a $(b\nc)\nx\nEOF"] {
            assert!(parse(line).is_err(), "{line:?}");
        }
    }
}
