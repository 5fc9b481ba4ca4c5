//! Decisions are values: an ordered enum combined with `max`, and the reasons behind them.
//!
//! This module owns no policy and does no I/O; it only says how decisions combine.

use serde::{Deserialize, Serialize};

/// The one answer every guarded invocation gets. Order matters: `Allow < Escalate < Block`,
/// so combining the decisions of a compound line is `max`.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Escalate,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Escalate => "escalate",
            Decision::Block => "block",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a decision was taken: a stable rule id that tests, logs and users can grep for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: String,
    pub message: String,
    #[serde(skip)]
    pub decision: Option<Decision>,
}

/// A decision together with every reason that contributed to it.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    /// The programs a shell line runs, after wrappers and paths are seen through: what the
    /// sandbox profile is derived from (a line that runs a network program gets the network).
    pub programs: std::collections::BTreeSet<String>,
}

impl Default for Verdict {
    fn default() -> Self {
        Self::allow()
    }
}

impl Verdict {
    pub fn allow() -> Self {
        Verdict { decision: Decision::Allow, reasons: Vec::new(), programs: Default::default() }
    }

    pub fn single(decision: Decision, rule: &str, message: impl Into<String>) -> Self {
        let mut v = Verdict::allow();
        v.add(decision, rule, message);
        v
    }

    /// Adds a reason; the verdict's decision becomes the most severe seen so far.
    pub fn add(&mut self, decision: Decision, rule: &str, message: impl Into<String>) {
        let message = message.into();
        if self.reasons.iter().any(|r| r.rule == rule && r.message == message) {
            self.decision = self.decision.max(decision);
            return;
        }
        self.decision = self.decision.max(decision);
        self.reasons.push(Reason { rule: rule.to_string(), message, decision: Some(decision) });
    }

    /// Combines two verdicts: `max` of decisions, union of reasons.
    pub fn merge(&mut self, other: Verdict) {
        self.programs.extend(other.programs);
        for r in other.reasons {
            let d = r.decision.unwrap_or(other.decision);
            self.add(d, &r.rule, r.message);
        }
        self.decision = self.decision.max(other.decision);
    }

    /// The reasons that carry the verdict's own decision (the ones worth showing first).
    pub fn deciding_reasons(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(move |r| r.decision.unwrap_or(self.decision) == self.decision)
    }

    /// The first deciding reason, for one-line messages.
    pub fn headline(&self) -> Option<&Reason> {
        self.deciding_reasons().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_ordered_allow_escalate_block() {
        assert!(Decision::Allow < Decision::Escalate);
        assert!(Decision::Escalate < Decision::Block);
        assert_eq!(Decision::Allow.max(Decision::Block), Decision::Block);
    }

    #[test]
    fn merge_takes_the_most_severe() {
        let mut v = Verdict::single(Decision::Escalate, "a", "x");
        v.merge(Verdict::single(Decision::Block, "b", "y"));
        v.merge(Verdict::allow());
        assert_eq!(v.decision, Decision::Block);
        assert_eq!(v.headline().map(|r| r.rule.as_str()), Some("b"));
    }
}
