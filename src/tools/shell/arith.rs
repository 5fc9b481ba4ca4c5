//! Arithmetic is code. Bash evaluates a variable's value as an arithmetic expression, and an
//! array subscript inside that value expands `$(…)`: `i='a[$(rm -rf ~)]'; (( i ))` runs `rm`.
//! The same happens in `$((…))`, `let`, `for ((…))`, array subscripts (`${a[i]}`, `a[i]=`),
//! substring offsets (`${x:i}`), `[[ … -eq … ]]` and assignments to `declare -i` variables.
//!
//! So a variable read in arithmetic must hold a number guard can vouch for: one assigned in the
//! line from an integer or by arithmetic, before it is read, and never assigned anything else
//! anywhere in the line (a loop can run the later assignment first). Anything else — the
//! environment, `read`, `$(…)`, positional parameters — escalates.

use std::collections::HashSet;

use super::words::Arg;

/// Variables bash itself keeps as numbers.
const INTEGER_SPECIALS: &[&str] =
    &["RANDOM", "SRANDOM", "SECONDS", "LINENO", "BASHPID", "PPID", "UID", "EUID", "EPOCHSECONDS", "OPTIND", "#", "?", "$", "!"];

/// Builtins that assign variables from data guard cannot see (their identifier arguments are
/// taken as assigned; naming a few too many only makes guard stricter).
pub(super) const ASSIGNS_FROM_DATA: &[&str] = &["read", "mapfile", "readarray", "getopts", "printf", "wait", "select"];

/// What the line does to shell variables, as far as arithmetic cares.
#[derive(Default)]
pub(crate) struct Integers {
    /// Names that hold a number at this point of the walk.
    known: HashSet<String>,
    /// Names assigned somewhere in the line with a value guard cannot vouch for.
    tainted: HashSet<String>,
    /// Names read in arithmetic while known; checked against `tainted` once the line is walked.
    read_while_known: Vec<String>,
    /// Names with the integer attribute (`declare -i`): assigning to them is arithmetic.
    pub(super) integer_attr: HashSet<String>,
    /// `declare -n` makes an assignment to one name reach another: nothing is known after it.
    pub(super) nameref: bool,
    /// Associative arrays (`declare -A`): their subscripts are strings, not arithmetic.
    pub(super) assoc: HashSet<String>,
}

/// How an arithmetic expression uses a name.
#[derive(Debug, PartialEq)]
pub(super) enum Access {
    Read,
    /// `name = …` (plain assignment: the old value is not evaluated).
    Write,
}

impl Integers {
    /// Whether reading `name` now is safe; if so it is remembered for [`Integers::late_taint`].
    pub(super) fn read(&mut self, name: &str) -> bool {
        let known = !self.nameref && (INTEGER_SPECIALS.contains(&name) || self.known.contains(name));
        if known {
            self.read_while_known.push(name.to_string());
        }
        known
    }

    /// Records an assignment; `value` is `None` when it comes from data guard cannot see.
    /// `sets_variable` is false for `NAME=value cmd`, which only sets the command's environment.
    pub(super) fn assign(&mut self, name: &str, value: Option<&Arg>, sets_variable: bool) {
        if value.is_some_and(is_number) || self.integer_attr.contains(name) {
            // An integer-attributed variable always ends up holding the expression's number
            // (the expression itself is checked by the caller).
            if sets_variable {
                self.known.insert(name.to_string());
            }
        } else {
            self.known.remove(name);
            self.tainted.insert(name.to_string());
        }
    }

    /// `name = …` in arithmetic: the name now holds a number.
    pub(super) fn assign_number(&mut self, name: &str) {
        self.known.insert(name.to_string());
    }

    /// Names read while known that the line also assigns from data elsewhere (in a loop the
    /// later assignment can come first).
    pub(super) fn late_taint(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.read_while_known.iter().filter(|n| self.tainted.contains(*n) && seen.insert(*n)).map(String::as_str).collect()
    }
}

/// Whether `${!…}` (its source text) is an indirect expansion, which evaluates the name held in a
/// variable, subscript included. `${!a[@]}` (keys) and `${!prefix*}` (names) are not.
pub(super) fn is_indirect(source: &str) -> bool {
    let Some(rest) = source.strip_prefix("${!") else { return false };
    let name = rest.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
    let after = rest.get(name..).unwrap_or_default();
    !(name > 0 && ["[@]}", "[*]}", "*}", "@}"].contains(&after))
}

/// The arguments a builtin takes as variable names: a subscript in one is arithmetic
/// (`read 'x[$(cmd)]'`, `printf -v`, `unset`, `test -v` all run cmd).
pub(super) fn name_args<'a>(program: &str, rest: &'a [Arg]) -> Vec<&'a Arg> {
    let mut out = Vec::new();
    let mut it = rest.iter();
    let mut operands = Vec::new();
    // Options that take a value, and which of those values is a name.
    let (valued, named): (&[u8], &[u8]) = match program {
        "read" => (b"adinNptu", b"a"),
        "mapfile" | "readarray" => (b"dnOsuCc", b""),
        "printf" => (b"v", b"v"),
        "wait" => (b"p", b"p"),
        _ => (b"", b""),
    };
    while let Some(a) = it.next() {
        let t = a.text();
        if program == "test" || program == "[" {
            if t == "-v" {
                out.extend(it.next());
            }
            continue;
        }
        if t == "--" {
            operands.extend(it.by_ref());
            break;
        }
        if let Some(cluster) = t.strip_prefix('-').filter(|c| !c.is_empty() && matches!(a, Arg::Lit(_))) {
            for (at, flag) in cluster.bytes().enumerate() {
                if valued.contains(&flag) {
                    let glued = cluster.get(at + 1..).unwrap_or_default();
                    let value = if glued.is_empty() { it.next() } else { None };
                    if named.contains(&flag) {
                        match value {
                            Some(v) => out.push(v),
                            // `-vNAME`: checked through the whole argument.
                            None => out.push(a),
                        }
                    }
                    break;
                }
            }
            continue;
        }
        operands.push(a);
    }
    match program {
        "read" | "mapfile" | "readarray" | "unset" => out.extend(operands),
        "getopts" => out.extend(operands.get(1).copied()),
        _ => {}
    }
    out
}

/// An integer literal, or nothing but one arithmetic expansion (`$((…))`): its value is a number.
fn is_number(value: &Arg) -> bool {
    match value {
        Arg::Lit(v) => {
            let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
            digits.is_empty() || digits.bytes().all(|b| b.is_ascii_digit())
        }
        Arg::Dyn { text, .. } => text == "$((…))",
        Arg::Glob(_) => false,
    }
}

/// The variables an arithmetic expression uses, in order. Positional and other special
/// parameters whose value is text (`$1`, `$@`, `$-`, `$0`) are returned as reads of themselves.
/// `${#NAME}` (a length) reads nothing; any other `${…}` reads every name inside it.
pub(super) fn names(expr: &str) -> Vec<(String, Access)> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |at: usize| b.get(at..).unwrap_or_default().iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            // A number, in any base (`0x1f`, `16#ff`, `64#a_@`).
            i += b.get(i..).unwrap_or_default().iter().take_while(|c| c.is_ascii_alphanumeric() || b"_#@".contains(c)).count();
            continue;
        }
        if c == b'$' {
            match b.get(i + 1) {
                Some(b'{') if b.get(i + 2) == Some(&b'#') => {
                    // `${#NAME}`, `${#NAME[@]}`: a length. Anything else after `${#` is scanned.
                    let n = ident(i + 3);
                    let rest = b.get(i + 3 + n..).unwrap_or_default();
                    if n > 0 && (rest.starts_with(b"}") || rest.starts_with(b"[@]}") || rest.starts_with(b"[*]}")) {
                        i += 3 + n;
                        continue;
                    }
                    i += 3;
                }
                Some(b'(') if b.get(i + 2) != Some(&b'(') => {
                    // A command substitution: its output is evaluated, and guard cannot know it.
                    let mut depth = 0usize;
                    let len = b.get(i + 1..).unwrap_or_default().iter().position(|c| {
                        match c {
                            b'(' => depth += 1,
                            b')' => depth = depth.saturating_sub(1),
                            _ => {}
                        }
                        depth == 0
                    });
                    out.push(("$(…)".to_string(), Access::Read));
                    i += 2 + len.unwrap_or(b.len());
                }
                Some(b'{') if b.get(i + 2) == Some(&b'!') => {
                    // `${!r}`: the value of whatever variable r names, and r's text is itself
                    // evaluated (`r='a[$(cmd)]'` runs cmd).
                    out.push(("${!…}".to_string(), Access::Read));
                    i += 3;
                }
                Some(b'{' | b'(') => i += 2,
                Some(x) if x.is_ascii_alphabetic() || *x == b'_' => {
                    let n = ident(i + 1);
                    out.push((String::from_utf8_lossy(b.get(i + 1..i + 1 + n).unwrap_or_default()).into_owned(), Access::Read));
                    i += 1 + n;
                }
                Some(x) if b"#?$!".contains(x) => i += 2,
                Some(x) if x.is_ascii_digit() || b"@*-0".contains(x) => {
                    out.push((format!("${}", char::from(*x)), Access::Read));
                    i += 2;
                }
                _ => i += 1,
            }
            continue;
        }
        if c == b'`' {
            out.push(("`…`".to_string(), Access::Read));
            i += 1 + b.get(i + 1..).unwrap_or_default().iter().position(|c| *c == b'`').map_or(b.len(), |p| p + 1);
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let n = ident(i);
            let name = String::from_utf8_lossy(b.get(i..i + n).unwrap_or_default()).into_owned();
            let after = b.get(i + n..).unwrap_or_default();
            let after = after.get(after.iter().take_while(|c| **c == b' ' || **c == b'\t').count()..).unwrap_or_default();
            let prefixed = i >= 2 && matches!(b.get(i - 2..i), Some(b"++" | b"--"));
            let plain_assign = after.first() == Some(&b'=') && after.get(1) != Some(&b'=');
            out.push((name, if plain_assign && !prefixed { Access::Write } else { Access::Read }));
            i += n;
            continue;
        }
        i += 1;
    }
    out
}

/// What of a `${…}` expansion can be arithmetic.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Parameter<'s> {
    pub(super) name: &'s str,
    /// The array subscript, unless `@` or `*` (arithmetic unless the array is associative).
    pub(super) index: Option<&'s str>,
    /// A substring's offset and length (`${x:1:2}`, not `${x:-…}`).
    pub(super) range: Option<&'s str>,
}

/// Splits a `${…}` expansion's source text into what [`Parameter`] holds.
pub(super) fn in_parameter(source: &str) -> Parameter<'_> {
    let Some(inner) = source.strip_prefix("${").and_then(|s| s.strip_suffix('}')) else { return Parameter::default() };
    let inner = inner.strip_prefix(['!', '#']).unwrap_or(inner);
    let name = inner.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
    let mut out = Parameter { name: inner.get(..name).unwrap_or_default(), ..Parameter::default() };
    let mut rest = inner.get(name..).unwrap_or_default();
    if let Some(sub) = rest.strip_prefix('[') {
        // The subscript ends at its matching `]`.
        let mut depth = 0usize;
        let end = sub
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '[' => depth += 1,
                    ']' if depth == 0 => return true,
                    ']' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map_or(sub.len(), |(at, _)| at);
        let index = sub.get(..end).unwrap_or_default();
        if index != "@" && index != "*" {
            out.index = Some(index);
        }
        rest = sub.get(end + 1..).unwrap_or_default();
    }
    out.range = rest.strip_prefix(':').filter(|r| !r.starts_with(['-', '=', '?', '+']));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_or_written_as_bash_evaluates_them() {
        let got =
            |e: &str| names(e).into_iter().map(|(n, a)| format!("{n}{}", if a == Access::Write { "=" } else { "" })).collect::<Vec<_>>();
        assert_eq!(got("i=0"), ["i="]);
        assert_eq!(got("i < 10"), ["i"]);
        assert_eq!(got("i++"), ["i"]);
        assert_eq!(got("++i"), ["i"]);
        assert_eq!(got("i += 2"), ["i"]);
        assert_eq!(got("i == j"), ["i", "j"]);
        assert_eq!(got("x = y * 2"), ["x=", "y"]);
        assert_eq!(got("0x1f + 16#ff + 64#a_@ + 2"), Vec::<String>::new());
        assert_eq!(got("$n + ${m} + ${#s} + ${#a[@]} + $# + $? + $$"), ["n", "m"]);
        assert_eq!(got("$1 + $@ + $- + $0"), ["$1", "$@", "$-", "$0"]);
        assert_eq!(got("${x:-y} + a[k]"), ["x", "y", "a", "k"]);
        assert_eq!(got("$(wc -l < f) + `date` + $((n))"), ["$(…)", "`…`", "n"]);
        assert_eq!(got("${!r} + 1"), ["${!…}", "r"]);
    }

    #[test]
    fn parameter_arithmetic_is_the_subscript_and_the_substring_range() {
        let p = |name, index, range| Parameter { name, index, range };
        assert_eq!(in_parameter("${a[i+1]}"), p("a", Some("i+1"), None));
        assert_eq!(in_parameter("${a[@]}"), p("a", None, None));
        assert_eq!(in_parameter("${#a[b[0]]}"), p("a", Some("b[0]"), None));
        assert_eq!(in_parameter("${x:i:2}"), p("x", None, Some("i:2")));
        assert_eq!(in_parameter("${a[j]: -1}"), p("a", Some("j"), Some(" -1")));
        assert_eq!(in_parameter("${m[some key]}"), p("m", Some("some key"), None));
        assert_eq!(in_parameter("${HOME:-/tmp}"), p("HOME", None, None));
        assert_eq!(in_parameter("${x:=1}"), p("x", None, None));
        assert_eq!(in_parameter("$x"), p("", None, None));
    }
}
