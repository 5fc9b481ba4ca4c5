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
#[must_use]
pub fn glob(pattern: &str, text: &str) -> bool {
    // `{a,b}` alternation, as shells write it: the first group expands, each alternative is
    // matched on its own (the rules' own patterns are short, so this stays cheap).
    if let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}'))
        && open < close
    {
        let (head, rest) = pattern.split_at(open);
        let (group, tail) = rest.split_at(close - open);
        let tail = tail.get(1..).unwrap_or_default();
        return group.get(1..).unwrap_or_default().split(',').any(|alt| glob(&format!("{head}{alt}{tail}"), text));
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
