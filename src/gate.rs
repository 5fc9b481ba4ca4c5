//! The gate: the one place where "may this run?" is answered.
//!
//! [`gate`] turns a verdict into either an [`Authorized`] value or the refusal (77 / 75) with
//! its one-line message. [`crate::exec::run`] takes an `Authorized`, and only this module can
//! make one, so nothing executes except through here.

use crate::approval::Proof;
use crate::decision::{Decision, Verdict};
use crate::error::{Error, Result};
use crate::request::Request;
use crate::{display_command, next_step_for_block};

/// Proof that the gate allowed a request; only [`gate`] makes one.
#[must_use]
pub struct Authorized<'a> {
    pub request: &'a Request,
    // Private to this module (not only to the crate): nothing but `gate` can make one.
    _sealed: Sealed,
}

struct Sealed;

/// The one place where "may this run?" is answered.
/// An escalated request runs only with a [`Proof`] (a consumed approval or a lease use) for its
/// exact digest; a block never runs.
pub fn gate<'a>(request: &'a Request, verdict: &Verdict, proof: Option<&Proof>) -> Result<Authorized<'a>> {
    let shown = shorten(&display_command(request));
    let headline = verdict.headline().map(|r| format!("{}: {}", r.rule, r.message)).unwrap_or_default();
    match verdict.decision {
        Decision::Allow => Ok(Authorized { request, _sealed: Sealed }),
        Decision::Escalate if proof.is_some_and(|p| p.digest == request.digest()) => Ok(Authorized { request, _sealed: Sealed }),
        Decision::Block => {
            Err(Error::Blocked(format!("guard: blocked `{shown}` ({headline}); nothing ran. {}", next_step_for_block(verdict))))
        }
        Decision::Escalate => Err(Error::NeedsApproval(format!("guard: `{shown}` needs a human approval ({headline}); nothing ran"))),
    }
}

/// Longest command shown whole in a one-line message.
const SHOWN_MAX: usize = 200;

/// A command as a one-line message shows it: whole when short, else its start, its length and
/// its SHA-256 (which the audit record's full `command` hashes to), so a 120 KB line neither
/// floods the agent's terminal nor hides what was refused.
#[must_use]
pub fn shorten(command: &str) -> String {
    if command.len() <= SHOWN_MAX {
        return command.to_string();
    }
    let mut end = SHOWN_MAX - 40;
    while !command.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [{} bytes in all, sha256 {}]",
        command.get(..end).unwrap_or_default(),
        command.len(),
        crate::digest::sha256_hex(command.as_bytes())
    )
}
