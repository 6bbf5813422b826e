//! The decision: what the bot may do, why, where the conversation goes, and what the customer is told.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::compile::policy::ReasonCode;
pub use crate::route::Route;

use super::event::Phase;

/// What the bot may do with this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// An emergency: the emergency text now, and a person.
    Emergency,
    /// A person, now: the queue is open and staffed.
    Handoff,
    /// No person is available: take contact details and promise an honest time.
    Capture,
    /// The bot may answer.
    Answer,
    /// A person owns (or is about to own) the conversation: the bot stays silent or only gathers details.
    Hold,
}

impl Action {
    /// The action's name as written in decisions and test cases.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Decision {
    /// The conversation.
    pub conversation: String,
    /// The customer's message count in the conversation.
    pub turn: u32,
    /// The event's time.
    pub time: DateTime<Utc>,
    /// What the bot may do.
    pub action: Action,
    /// Typed reason codes, the determining one first.
    pub reasons: Vec<ReasonCode>,
    /// Ids of the rules that determined the action.
    pub determining: Vec<String>,
    /// Every rule that matched, the determining ones marked.
    pub rules: Vec<RuleHit>,
    /// Where the conversation goes, for every action but `answer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// What the customer is told, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub say: Vec<String>,
    /// Disclaimers shown with this decision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disclaimers: Vec<ShownDisclaimer>,
    /// The data class of this conversation's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionDecision>,
    /// The failure signals the fallback looked at.
    pub signals: Signals,
    /// The conversation's phase after this event.
    pub state: Phase,
    /// The policy that decided.
    pub policy: PolicyRef,
    /// The packet for the person taking over, when this event escalated the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<crate::handoff::Packet>,
    /// Why the event could not be evaluated (reason `engine_error`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// With `--explain`: every rule considered, and why it did or did not fire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Vec<RuleTrace>>,
    /// The type of the event decided, for its audit record ([`crate::evidence`]); not printed (the caller sent it).
    #[serde(skip)]
    pub event: super::EventKind,
    /// How the conversation ended, on a `closed` event, for its audit record; not printed.
    #[serde(skip)]
    pub outcome: Option<super::event::CloseOutcome>,
}

/// A rule that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleHit {
    /// Its id.
    pub id: String,
    /// Its tier.
    pub tier: &'static str,
    /// The reason code it gives.
    pub reason: ReasonCode,
    /// Whether it determined the action.
    pub determining: bool,
    /// The phrases that made it match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<PhraseMatch>,
}

/// A phrase found in the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PhraseMatch {
    /// The phrase set.
    pub set: String,
    /// The phrase as written in the policy.
    pub phrase: String,
    /// The text it matched, as the customer wrote it.
    pub text: String,
    /// Byte offset of the match in the message.
    pub start: usize,
    /// Byte offset one past the match.
    pub end: usize,
    /// Whether a negation governs it ("I don't need an agent").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
    /// For a proximity (`bleeding near "won't stop" within 3 words`), the two parts it joined, in message order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<MatchPart>,
}

/// One part of a proximity match.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MatchPart {
    /// The text, as the customer wrote it.
    pub text: String,
    /// Byte offset in the message.
    pub start: usize,
    /// Byte offset one past it.
    pub end: usize,
}

/// A disclaimer shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ShownDisclaimer {
    /// Its name.
    pub name: String,
    /// Its words.
    pub text: String,
}

/// The retention class of the conversation's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionDecision {
    /// The class.
    pub class: String,
    /// Keep until (UTC date), unless on legal hold.
    pub keep_until: DateTime<Utc>,
    /// The kinds of personal data to redact before storing or transferring, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<crate::handoff::PiiKind>,
    /// Never purge.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legal_hold: bool,
}

impl RetentionDecision {
    /// The stricter of two retentions, as the design combines them: the class kept longer (a legal hold beats
    /// any date), the redactions of both, a legal hold if either has one.
    pub fn strictest(
        a: Option<&RetentionDecision>,
        b: Option<&RetentionDecision>,
    ) -> Option<RetentionDecision> {
        let (a, b) = match (a, b) {
            (None, None) => return None,
            (Some(one), None) | (None, Some(one)) => return Some(one.clone()),
            (Some(a), Some(b)) => (a, b),
        };
        let b_wins =
            (b.legal_hold && !a.legal_hold) || (b.legal_hold == a.legal_hold && b.keep_until > a.keep_until);
        let mut out = if b_wins { b.clone() } else { a.clone() };
        out.redact = a.redact.iter().chain(&b.redact).copied().collect();
        out.redact.sort_by_key(|k| k.name());
        out.redact.dedup();
        out.legal_hold = a.legal_hold || b.legal_hold;
        Some(out)
    }
}

/// What the audit record keeps of a retention: the class and the date (the redactions were applied before the
/// payload was stored, so the record does not repeat them).
impl From<&RetentionDecision> for crate::audit::Retention {
    fn from(r: &RetentionDecision) -> Self {
        crate::audit::Retention { class: r.class.clone(), keep_until: r.keep_until, legal_hold: r.legal_hold }
    }
}

/// What the handoff packet says of a retention (the `handoff` module depends on nothing, so it has its own).
impl From<&RetentionDecision> for crate::handoff::PacketRetention {
    fn from(r: &RetentionDecision) -> Self {
        crate::handoff::PacketRetention {
            class: r.class.clone(),
            keep_until: r.keep_until,
            redact: r.redact.iter().map(|k| k.name().to_string()).collect(),
        }
    }
}

/// What the fallback looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Signals {
    /// The bot's confidence, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Failures in a row, this event's included: what the fallback compared with its `strikes` (an escalation
    /// then resets the conversation's count, in the state).
    pub strikes: u32,
    /// The frustration score, 0 to 1.
    pub frustration: f64,
    /// Similarity to the previous message, when there was one and the fallback counts rephrasing (`rephrase
    /// above`): without a threshold it is not computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rephrase: Option<f64>,
    /// The channel the customer wrote on (`web`, `sms`, ...), when the event said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// The policy that decided: the audit log's own reference type, so a decision and its record name the policy
/// the same way (issue 12: one fact, one type).
pub use crate::audit::PolicyRef;

/// Why a rule did or did not fire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleTrace {
    /// The rule id.
    pub id: String,
    /// Its tier.
    pub tier: &'static str,
    /// Whether its condition held.
    pub matched: bool,
    /// Whether it determined the action.
    pub determining: bool,
    /// The condition with each test's outcome, e.g. `says human_request [yes: "agent" at 10..15]`.
    pub why: String,
}
