//! The gate: the one place where "may this run?" is answered.
//!
//! [`gate`] turns a verdict into either an [`Authorized`] value or the refusal (77 / 75) with
//! its one-line message. The runners ([`crate::exec::run`], [`crate::sandbox::run`]) take an
//! `Authorized`, and only this module can make one, so nothing executes except through here.
//! An `Authorized` covers the request's argv and the sandbox profile it runs under: a request
//! authorized with a profile can only run contained.

use crate::approval::Proof;
use crate::decision::{Decision, Verdict};
use crate::error::{Error, Result};
use crate::request::Request;
use crate::sandbox::Profile;
use crate::{display_command, next_step_for_block};

/// Proof that the gate allowed a request (under `profile`, when it runs contained); only
/// [`gate`] and [`human_run`] make one.
#[must_use]
pub struct Authorized<'a> {
    pub request: &'a Request,
    profile: Option<Profile>,
    // Private to this module (not only to the crate): nothing but the gate can make one.
    _sealed: Sealed,
}

struct Sealed;

impl Authorized<'_> {
    /// The sandbox profile the request was authorized to run under, if it runs contained.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }
}

/// The one place where "may this run?" is answered.
/// An escalated request runs only with a [`Proof`] (a consumed approval or a lease use) for its
/// exact digest; a block never runs. The request's digest already binds the profile's network
/// and writable trees ([`crate::sandbox::binding`]), so an approval covers exactly that profile.
pub fn gate<'a>(request: &'a Request, verdict: &Verdict, proof: Option<&Proof>, profile: Option<Profile>) -> Result<Authorized<'a>> {
    let shown = shorten(&display_command(request));
    let headline = verdict.headline().map(|r| format!("{}: {}", r.rule, r.message)).unwrap_or_default();
    match verdict.decision {
        Decision::Allow => Ok(Authorized { request, profile, _sealed: Sealed }),
        Decision::Escalate if proof.is_some_and(|p| p.digest() == request.digest()) => Ok(Authorized { request, profile, _sealed: Sealed }),
        Decision::Block => {
            Err(Error::Blocked(format!("guard: blocked `{shown}` ({headline}); nothing ran. {}", next_step_for_block(verdict))))
        }
        Decision::Escalate => Err(Error::NeedsApproval(format!("guard: `{shown}` needs a human approval ({headline}); nothing ran"))),
    }
}

/// `guard run`: a human starting an agent. There is nothing to decide — the human typed it —
/// but it runs only contained: the authorization carries the agent's profile.
pub fn human_run(request: &Request, profile: Profile) -> Authorized<'_> {
    Authorized { request, profile: Some(profile), _sealed: Sealed }
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
