//! Static word resolution: what a shell word is before it runs, or that it cannot be known.
//!
//! Quotes, backslash escapes, ANSI-C `$'…'` strings, concatenation and literal brace
//! expansion are resolved exactly. Parameter expansions (except `$HOME`), command and
//! arithmetic substitutions make a word dynamic. Globs are kept as patterns.

/// One argument after static resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Known exactly.
    Lit(String),
    /// Known text with unquoted glob characters: the shell will expand it at run time.
    Glob(String),
    /// Known only at run time. `tainted` when the value comes from downloaded or decoded data.
    Dyn { text: String, tainted: bool },
}

impl Arg {
    pub fn lit(&self) -> Option<&str> {
        match self {
            Arg::Lit(s) => Some(s),
            _ => None,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Arg::Lit(s) | Arg::Glob(s) => s,
            Arg::Dyn { text, .. } => text,
        }
    }

    pub fn is_tainted(&self) -> bool {
        matches!(self, Arg::Dyn { tainted: true, .. })
    }

    pub fn dynamic(text: impl Into<String>) -> Arg {
        Arg::Dyn { text: text.into(), tainted: false }
    }
}

/// Decodes the body of an ANSI-C quoted string (`$'…'`) as bash does.
pub fn decode_ansi_c(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            out.push('\\');
            break;
        };
        let radix_digits = |it: &mut std::iter::Peekable<std::str::Chars>, radix: u32, max: usize| {
            let mut v: u32 = 0;
            let mut n = 0;
            while n < max {
                match it.peek().and_then(|c| c.to_digit(radix)) {
                    Some(d) => {
                        v = v * radix + d;
                        it.next();
                        n += 1;
                    }
                    None => break,
                }
            }
            (v, n)
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'e' | 'E' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' | '\'' | '"' | '?' => out.push(e),
            '0'..='7' => {
                let (rest, n) = radix_digits(&mut it, 8, 2);
                let v = e.to_digit(8).unwrap_or(0) * 8u32.pow(u32::try_from(n).unwrap_or(0)) + rest;
                out.push(char::from_u32(v & 0xff).unwrap_or('\u{fffd}'));
            }
            'x' => {
                let (v, n) = radix_digits(&mut it, 16, 2);
                if n == 0 {
                    out.push_str("\\x");
                } else {
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
            }
            'u' | 'U' => {
                let (v, n) = radix_digits(&mut it, 16, if e == 'u' { 4 } else { 8 });
                if n == 0 {
                    out.push('\\');
                    out.push(e);
                } else {
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
            }
            'c' => match it.next() {
                Some(c) => out.push(char::from_u32(u32::from(c) & 0x1f).unwrap_or('\u{fffd}')),
                None => out.push_str("\\c"),
            },
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// Whether unquoted text holds a brace expression bash would expand (`{a,b}`, `{1..3}`).
pub fn has_brace_expansion(s: &str) -> bool {
    let Some(open) = s.find('{') else {
        return false;
    };
    let rest = s.get(open..).unwrap_or_default();
    rest.contains('}') && (rest.contains(',') || rest.contains(".."))
}

/// Expands literal brace expressions (`{a,b}`, `{1..3}`, `{a..c}`, nested), at most `cap` words.
/// `None` when the result would be too large or the form is not understood.
pub fn expand_braces(s: &str, cap: usize) -> Option<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    // Find the first top-level `{` whose matching `}` holds a top-level `,` or `..`.
    let mut i = 0;
    while i < chars.len() {
        if chars.get(i) == Some(&'{') {
            let mut depth = 0usize;
            let mut commas = Vec::new();
            let mut close = None;
            for (j, &c) in chars.iter().enumerate().skip(i) {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(j);
                            break;
                        }
                    }
                    ',' if depth == 1 => commas.push(j),
                    _ => {}
                }
            }
            let close = close?;
            let prefix: String = chars.get(..i)?.iter().collect();
            let suffix: String = chars.get(close + 1..)?.iter().collect();
            let inner: String = chars.get(i + 1..close)?.iter().collect();
            let alternatives: Vec<String> = if !commas.is_empty() {
                let mut alts = Vec::new();
                let mut start = i + 1;
                for &c in commas.iter().chain(std::iter::once(&close)) {
                    alts.push(chars.get(start..c)?.iter().collect());
                    start = c + 1;
                }
                alts
            } else if let Some(seq) = sequence(&inner, cap) {
                // A sequence too long to follow is not expanded: the caller treats it as unknown.
                seq?
            } else {
                i += 1;
                continue;
            };
            let mut out = Vec::new();
            for alt in alternatives {
                for tail in expand_braces(&format!("{alt}{suffix}"), cap)? {
                    out.push(format!("{prefix}{tail}"));
                    if out.len() > cap {
                        return None;
                    }
                }
            }
            return Some(out);
        }
        i += 1;
    }
    Some(vec![s.to_string()])
}

/// `{a..b[..step]}`: `None` when `inner` is not a sequence, `Some(None)` when it is one with
/// more than `cap` members.
fn sequence(inner: &str, cap: usize) -> Option<Option<Vec<String>>> {
    let parts: Vec<&str> = inner.split("..").collect();
    let (a, b, step) = match parts.as_slice() {
        [a, b] => (*a, *b, 1i64),
        [a, b, s] => (*a, *b, s.parse::<i64>().ok()?.checked_abs()?.max(1)),
        _ => return None,
    };
    if let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>()) {
        let n = x.abs_diff(y) / step.unsigned_abs() + 1;
        if n > cap as u64 {
            return Some(None);
        }
        let dir = if y >= x { step } else { -step };
        return Some(Some((0..n).map(|k| (x + dir * k as i64).to_string()).collect()));
    }
    let (mut ca, mut cb) = (a.chars(), b.chars());
    let (Some(x), None, Some(y), None) = (ca.next(), ca.next(), cb.next(), cb.next()) else {
        return None;
    };
    let (x, y) = (u32::from(x), u32::from(y));
    let n = x.abs_diff(y) as u64 / step.unsigned_abs() + 1;
    if n > cap as u64 {
        return Some(None);
    }
    let out = (0..n)
        .filter_map(|k| {
            let v = if y >= x { x + (k as u32) * step as u32 } else { x - (k as u32) * step as u32 };
            char::from_u32(v).map(String::from)
        })
        .collect();
    Some(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_c_strings_decode_like_bash() {
        assert_eq!(decode_ansi_c(r"\x72\x6d"), "rm");
        assert_eq!(decode_ansi_c(r"\162\155"), "rm");
        assert_eq!(decode_ansi_c(r"\u0072m"), "rm");
        assert_eq!(decode_ansi_c(r"a\tb\\"), "a\tb\\");
    }

    #[test]
    fn braces_expand_like_bash() {
        assert_eq!(expand_braces("{rm,-rf,/}", 64), Some(vec!["rm".into(), "-rf".into(), "/".into()]));
        assert_eq!(expand_braces("a{b,c}d", 64), Some(vec!["abd".into(), "acd".into()]));
        assert_eq!(expand_braces("x{1..3}", 64), Some(vec!["x1".into(), "x2".into(), "x3".into()]));
        assert_eq!(expand_braces("{a,b}{c,d}", 64).map(|v| v.len()), Some(4));
        assert_eq!(expand_braces("{1..100000}", 64), None);
        assert_eq!(expand_braces("{x}", 64), Some(vec!["{x}".into()]));
    }
}
