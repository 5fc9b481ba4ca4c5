//! Text shown to people. Everything guard prints that an agent could have written (commands,
//! argv, paths, environment values, rule messages quoting them, resource names) goes through
//! [`escape`], so it cannot move the cursor, erase a line, recolour the screen, start a new line
//! that looks like guard's own, or reorder itself with bidirectional controls.
//!
//! It must never be skipped where agent text reaches a terminal: `guard approve`, `requests`,
//! `audit tail`, `lease` and every refusal line. Colour is guard's own, added after escaping,
//! only on a terminal and never when `NO_COLOR` is set.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;

/// Characters a terminal or a reader would not show as themselves.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{1b}' => out.push_str("\\e"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` with every control character written out (`\e`, `\n`, `\x07`, `\u{202e}` …): one line, shown
/// as typed, never interpreted by the terminal.
#[must_use]
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`] for multi-line text guard composed itself: its line breaks stay, every other
/// control character is written out.
#[must_use]
pub fn escape_lines(s: &str) -> String {
    s.split('\n').map(|l| escape(l).into_owned()).collect::<Vec<_>>().join("\n")
}

/// Whether guard may colour what it prints on stdout: a terminal, and `NO_COLOR` unset or empty.
pub fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// `text` in red when `color` (deletes and replaces at approve time); `text` must be escaped already.
pub fn red(text: &str, color: bool) -> String {
    if color { format!("\u{1b}[31m{text}\u{1b}[0m") } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_out() {
        let hidden = "git push --force origin main #\u{1b}[2K\u{1b}[1G  echo harmless";
        assert_eq!(escape(hidden), "git push --force origin main #\\e[2K\\e[1G  echo harmless");
        assert_eq!(escape("a\nrule: fake\r\u{7}\u{9b}x"), "a\\nrule: fake\\r\\x07\\x9bx");
        assert_eq!(escape("abc \u{202e}cba"), "abc \\u{202e}cba");
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
        assert_eq!(escape_lines("one\u{1b}[2K\ntwo"), "one\\e[2K\ntwo");
    }
}
