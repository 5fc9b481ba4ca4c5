//! Data rules for simple shell commands: a program name, leading-argument globs, a decision.
//!
//! Built-in rules (`shell.builtin_rules` in policies/default.toml) and user rules
//! (`[[shell.rules]]`) share this shape. Matching is pure string work.

use serde::{Deserialize, Serialize};

use crate::decision::Decision;

/// One example a rule (or the policy) must get right when the policy loads.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LineExample {
    pub line: String,
    pub decision: Decision,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id shown in reasons and logs.
    pub id: String,
    /// The command's name after wrappers and paths are seen through; a glob (`mkfs*`).
    pub program: String,
    /// Globs the leading arguments must match, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Globs of which at least one must match some argument after the leading ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_args: Vec<String>,
    /// Globs none of which may match an argument after the leading ones (`--staged`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless_args: Vec<String>,
    pub decision: Decision,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<LineExample>,
}

impl Rule {
    /// Whether this rule matches a command whose name is `program` and arguments `args`.
    /// An argument that guard could not resolve statically (`None`) matches no glob.
    #[must_use]
    pub fn matches(&self, program: &str, args: &[Option<&str>]) -> bool {
        if !glob(&self.program, program) || args.len() < self.args.len() {
            return false;
        }
        let leading_ok = self.args.iter().zip(args).all(|(pat, arg)| arg.is_some_and(|a| glob(pat, a)));
        if !leading_ok {
            return false;
        }
        let later = || args.iter().skip(self.args.len()).flatten();
        if later().any(|a| self.unless_args.iter().any(|p| glob(p, a))) {
            return false;
        }
        self.any_args.is_empty() || later().any(|a| self.any_args.iter().any(|p| glob(p, a)))
    }
}

/// Shell-style glob: `*` any run, `?` one character, everything else literal.
///
/// It runs for every rule against every command and argument of every line, so it allocates
/// nothing: the matcher walks both strings by byte offset, and a `{a,b}` alternative is spliced
/// into a stack buffer (a heap copy only for a pattern longer than the buffer).
#[must_use]
pub fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.bytes().any(|b| matches!(b, b'*' | b'?' | b'{')) {
        // Most patterns are plain names (one pass over the pattern, no searcher set up).
        return pattern == text;
    }
    // `{a,b}` alternation, as shells write it: the first group expands, each alternative is
    // matched on its own (the rules' own patterns are short, so this stays cheap).
    if let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}'))
        && open < close
    {
        let (head, rest) = pattern.split_at(open);
        let (group, tail) = rest.split_at(close - open);
        let tail = tail.get(1..).unwrap_or_default();
        return group.get(1..).unwrap_or_default().split(',').any(|alt| with_spliced(head, alt, tail, |p| glob(p, text)));
    }
    wildcard(pattern, text)
}

/// `f(head + alt + tail)`, the concatenation built on the stack when it fits.
fn with_spliced(head: &str, alt: &str, tail: &str, f: impl Fn(&str) -> bool) -> bool {
    let mut buf = [0u8; 256];
    let n = head.len() + alt.len() + tail.len();
    if let Some(dst) = buf.get_mut(..n) {
        let (h, rest) = dst.split_at_mut(head.len());
        let (a, t) = rest.split_at_mut(alt.len());
        h.copy_from_slice(head.as_bytes());
        a.copy_from_slice(alt.as_bytes());
        t.copy_from_slice(tail.as_bytes());
        // Whole strings split at ASCII `{`, `,`, `}` stay valid UTF-8 when joined.
        if let Ok(p) = std::str::from_utf8(dst) {
            return f(p);
        }
    }
    f(&format!("{head}{alt}{tail}"))
}

/// `*` and `?` matching, one character at a time (so `?` is one character, not one byte);
/// backtracks only to the last `*`.
fn wildcard(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    // `X*`, `*X` and `*X*` with a literal X — nearly every pattern of the policy's lists (the
    // environment's `AWS_*`, `*_TOKEN`, `*SECRET*` are matched against every variable of
    // every contained line): a prefix, suffix or substring test.
    let inner = pattern.trim_matches('*');
    if !inner.contains(['*', '?']) {
        return match (pattern.starts_with('*'), pattern.ends_with('*')) {
            (true, true) => text.contains(inner),
            (true, false) => text.ends_with(inner),
            (false, true) => text.starts_with(inner),
            (false, false) => pattern == text,
        };
    }
    let at = |s: &str, i: usize| s.get(i..).and_then(|r| r.chars().next());
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(tc) = at(text, ti) {
        match at(pattern, pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if c == '?' || c == tc => {
                pi += c.len_utf8();
                ti += tc.len_utf8();
            }
            _ => match star {
                Some((sp, st)) => {
                    let next = st + at(text, st).map_or(1, char::len_utf8);
                    pi = sp + 1;
                    ti = next;
                    star = Some((sp, next));
                }
                None => return false,
            },
        }
    }
    pattern.get(pi..).unwrap_or_default().chars().all(|c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn braces_alternate_as_in_the_shell() {
        assert!(glob("{owner,yank}", "yank"));
        assert!(glob("sys{tem,ctl}*", "systemctl"));
        assert!(!glob("{owner,yank}", "login"));
        assert!(!glob("{owner,yank}", "{owner,yank}"));
    }

    /// The matcher before it stopped allocating (Vec<char> per call, `format!` per
    /// alternative): the new one must agree with it on every pair.
    fn reference(pattern: &str, text: &str) -> bool {
        if let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}'))
            && open < close
        {
            let (head, rest) = pattern.split_at(open);
            let (group, tail) = rest.split_at(close - open);
            let tail = tail.get(1..).unwrap_or_default();
            return group.get(1..).unwrap_or_default().split(',').any(|alt| reference(&format!("{head}{alt}{tail}"), text));
        }
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        let (mut pi, mut ti) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                    pi += 1;
                    ti += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p.get(pi..).unwrap_or_default().iter().all(|&c| c == '*')
    }

    #[test]
    fn glob_agrees_with_the_allocating_reference() {
        // Every string of up to 4 symbols from an alphabet with the metacharacters, braces,
        // a comma and a multi-byte character, as pattern and as text.
        let alphabet = ["a", "b", "*", "?", "{", "}", ",", "é"];
        let mut words = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            let next: Vec<String> = last.iter().flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}"))).collect();
            words.extend(next.iter().cloned());
            last = next;
        }
        let texts: Vec<&String> = words.iter().filter(|w| w.chars().count() <= 3).collect();
        let mut checked = 0;
        for p in &words {
            for t in &texts {
                assert_eq!(glob(p, t), reference(p, t), "pattern {p:?} text {t:?}");
                checked += 1;
            }
        }
        let long = format!("{{{},x}}*", "y".repeat(300));
        assert_eq!(glob(&long, "xz"), reference(&long, "xz"));
        assert!(checked > 1_000_000);
    }

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob("prod*", "prod-eu"));
        assert!(glob("*", ""));
        assert!(glob("mkfs*", "mkfs.ext4"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("prod*", "staging"));
        assert!(!glob("a", "ab"));
        assert!(glob("*-f*", "git-force"));
    }
}
