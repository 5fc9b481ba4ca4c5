//! Reading a passphrase from the controlling terminal.
//!
//! Echo goes off *before* the prompt is written. The usual order — write the prompt, then
//! `tcsetattr(TCSAFLUSH)` — throws away whatever was typed between the two, so a fast answer
//! to a prompt already on the screen was lost and guard waited for ever (CI saw it once in a
//! few hundred pty runs). Here, everything typed after the prompt appears is kept, and what was
//! typed before it is flushed, as a password prompt should.
//!
//! The line is edited by guard, not the kernel: Backspace deletes a character (not a byte),
//! Ctrl-U the whole line, Enter ends it; Ctrl-C and Ctrl-D cancel. Signals from the keyboard are
//! off while reading, so a Ctrl-C cannot leave the terminal without echo: the settings are
//! restored on every path.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};

use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

use crate::error::{Error, Result};

/// Longer than any passphrase a person types; stops a pasted file from growing without bound.
const MAX_LEN: usize = 4096;

/// The line being typed, fed a byte at a time.
#[derive(Default)]
struct Line {
    bytes: Vec<u8>,
    /// Inside an escape sequence (an arrow or function key): 1 after ESC, 2 inside `ESC [`.
    escape: u8,
}

/// How typing a line ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Enter,
    Cancel,
    TooLong,
}

impl Line {
    fn feed(&mut self, b: u8) -> Option<End> {
        match (self.escape, b) {
            (1, b'[' | b'O') => self.escape = 2,
            (1, _) => self.escape = 0,
            (2, 0x40..=0x7e) => self.escape = 0,
            (2, _) => {}
            (_, b'\r' | b'\n') => return Some(End::Enter),
            (_, 0x03) => return Some(End::Cancel),
            (_, 0x04) if self.bytes.is_empty() => return Some(End::Cancel),
            (_, 0x1b) => self.escape = 1,
            (_, 0x7f | 0x08) => self.erase_char(),
            (_, 0x15) => self.bytes.clear(),
            (_, 0x00..=0x1f) => {}
            (_, _) if self.bytes.len() >= MAX_LEN => return Some(End::TooLong),
            (_, _) => self.bytes.push(b),
        }
        None
    }

    /// Drops the last character (all its UTF-8 continuation bytes too).
    fn erase_char(&mut self) {
        while let Some(b) = self.bytes.pop() {
            if b & 0xc0 != 0x80 {
                break;
            }
        }
    }
}

/// Puts the terminal's settings back when reading ends, however it ends.
struct Restore<'a> {
    tty: &'a File,
    saved: Termios,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        // Nothing better to do if this fails: the terminal is going away.
        let _ = termios::tcsetattr(self.tty, OptionalActions::Now, &self.saved);
    }
}

/// Asks for a secret on `/dev/tty` with `prompt: ` and returns what was typed, without echo.
pub fn read_passphrase(prompt: &str) -> Result<String> {
    let failed = |e: std::io::Error| Error::Usage(format!("guard: cannot read the passphrase from the terminal: {e}"));
    let tty = OpenOptions::new().read(true).write(true).open("/dev/tty").map_err(failed)?;
    let saved = termios::tcgetattr(&tty).map_err(|e| failed(e.into()))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG | LocalModes::IEXTEN);
    quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
    quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
    termios::tcsetattr(&tty, OptionalActions::Flush, &quiet).map_err(|e| failed(e.into()))?;
    let restore = Restore { tty: &tty, saved };

    write!(&tty, "{prompt}: ").and_then(|()| (&tty).flush()).map_err(failed)?;
    let mut line = Line::default();
    let outcome = loop {
        let mut b = [0u8; 1];
        match (&tty).read(&mut b) {
            Ok(0) => break Err(Error::Usage("guard: the terminal closed while the passphrase was typed".into())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(failed(e)),
        }
        match line.feed(b[0]) {
            None => {}
            Some(End::Enter) => break Ok(()),
            Some(End::Cancel) => break Err(Error::Usage("guard: cancelled at the passphrase prompt; nothing was signed".into())),
            Some(End::TooLong) => break Err(Error::Usage(format!("guard: a passphrase is at most {MAX_LEN} bytes"))),
        }
    };
    drop(restore);
    let _ = writeln!(&tty);
    outcome?;
    String::from_utf8(line.bytes).map_err(|_| Error::Usage("guard: the passphrase is not valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keys: &[u8]) -> Option<String> {
        let mut line = Line::default();
        for &b in keys {
            match line.feed(b) {
                None => {}
                Some(End::Enter) => return String::from_utf8(line.bytes).ok(),
                Some(_) => return None,
            }
        }
        None
    }

    #[test]
    fn backspace_deletes_a_whole_character() {
        assert_eq!(typed("pä\x7fx\r".as_bytes()).as_deref(), Some("px"));
        assert_eq!(typed("a€\x08\x08b\n".as_bytes()).as_deref(), Some("b"));
    }

    #[test]
    fn ctrl_u_clears_and_ctrl_c_cancels() {
        assert_eq!(typed(b"wrong\x15right\r").as_deref(), Some("right"));
        assert_eq!(typed(b"abc\x03def\r"), None);
        assert_eq!(typed(b"\x04"), None);
        assert_eq!(typed(b"a\x04b\r").as_deref(), Some("ab"));
    }

    #[test]
    fn control_bytes_and_arrow_keys_are_not_part_of_the_passphrase() {
        assert_eq!(typed(b"a\tb\x1b[Dc\x1bOAd\r").as_deref(), Some("abcd"));
        let mut longest = vec![b'x'; MAX_LEN];
        longest.push(b'\r');
        assert_eq!(typed(&longest).map(|s| s.len()), Some(MAX_LEN));
        longest.insert(0, b'x');
        assert_eq!(typed(&longest), None);
    }
}
