//! Beside the pipeline, `evidence`: a [`Decision`] turned into the audit records that prove it.
//!
//! Takes a decision, the conversation state after it and the event it decided, and hands on
//! [`audit::Entry`](crate::audit::Entry) values: a `decision` record committing to the event as it may be
//! stored (redacted of every kind the conversation's retention names), and, when the conversation was handed to
//! a person, a `transfer` record committing to the packet. The CLI's `eval --audit`, an embedding program, a
//! server and `audit replay` all record through here, so they record the same thing.
//!
//! `audit` depends on nothing else in the crate; this module is where the engine's types meet it.

use crate::audit::{
    AuditError, AuditLog, DecisionRecord, Entry, EventFacts, PolicyRef, PolicySource, Retention, RouteFacts,
    Signer, TransferRecord, WriterOptions,
};
use crate::compile::Policy;
use crate::eval::decision::RetentionDecision;
use crate::eval::{Action, ConversationState, Decision, Event};
use crate::handoff::PiiKind;

impl From<&Policy> for PolicyRef {
    fn from(policy: &Policy) -> Self {
        PolicyRef { id: policy.id.clone(), version: policy.version.clone(), hash: policy.hash.clone() }
    }
}

/// The version of handrail that decides, as `policy_deployed` records name it: a hash of the policy text alone
/// does not pin the evaluator.
pub const HANDRAIL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The record that `policy` was deployed, written before the first decision under it: the policy's reference,
/// its sources (packs first, so `handrail audit replay` can compile it again) and the handrail version.
pub fn deployed(policy: &Policy) -> Entry {
    deployment(policy, false)
}

/// The record that `policy` now decides and that the conversations in progress carry on under it with the state
/// they had: a server's reload, or its restart (which rebuilds their state from the log). `audit replay` keeps
/// their state across it instead of starting afresh.
pub fn redeployed(policy: &Policy) -> Entry {
    deployment(policy, true)
}

fn deployment(policy: &Policy, continues: bool) -> Entry {
    Entry::PolicyDeployed {
        continues,
        policy: policy.into(),
        handrail: Some(HANDRAIL_VERSION.to_string()),
        sources: policy
            .sources
            .iter()
            .map(|s| PolicySource { file: s.name.clone(), text: s.text.clone() })
            .collect(),
    }
}

/// The facts of the decided event kept in its record: type, confidence, strikes, outcome, channel.
fn event_facts(decision: &Decision) -> EventFacts {
    EventFacts {
        kind: decision.event.as_str().to_string(),
        confidence: decision.signals.confidence,
        strikes: decision.signals.strikes,
        outcome: decision.outcome.map(|o| o.as_str().to_string()),
        channel: decision.signals.channel.clone(),
    }
}

impl From<&crate::route::Route> for RouteFacts {
    fn from(route: &crate::route::Route) -> Self {
        RouteFacts {
            queue: route.queue.clone(),
            channel: route.channel.name().to_string(),
            live: route.live(),
            promise: route.wait.clone().or_else(|| route.follow_up_by.clone()),
        }
    }
}

/// Opens (creating if absent) the audit log in `dir` signed by `signer`, whose key name is the log's origin,
/// and appends the record that `policy` is deployed (durable at the next commit), as every writer of decisions
/// does before its first decision; `continues` says whether conversations in progress carry on ([`redeployed`]).
pub fn open_log(
    dir: &std::path::Path,
    signer: Signer,
    policy: &Policy,
    continues: bool,
) -> Result<AuditLog, AuditError> {
    let origin = signer.verifier().name.clone();
    let options = WriterOptions { origin, ..WriterOptions::default() };
    let mut log = AuditLog::open(dir, signer, options)?;
    log.append(chrono::Utc::now(), deployment(policy, continues))?;
    Ok(log)
}

/// One event as received (a line of `eval`'s input, the body of a `serve` request), decoded: the event, or what
/// could be salvaged of it, what is wrong with it, and the text that may be stored for it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The event; when `errors` is not empty, what could be salvaged of it (the fail-safe evaluates that).
    pub event: Event,
    /// What is wrong with it, each naming the field at fault; empty for a valid event.
    pub errors: Vec<String>,
    /// The bytes as received (lossy UTF-8), stored redacted of every kind when the event is malformed.
    pub raw: String,
}

impl Received {
    /// Decodes `bytes` with [`crate::eval::decode`]'s validation and wording; bytes that are not UTF-8 are named
    /// as such, and a conversation id they touch names no conversation.
    pub fn decode(bytes: &[u8]) -> Received {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                let decoded = crate::eval::decode(text);
                Received { event: decoded.event, errors: decoded.errors, raw: text.to_string() }
            }
            Err(e) => {
                let raw = String::from_utf8_lossy(bytes).into_owned();
                let mut decoded = crate::eval::decode(&raw);
                // The bad bytes may be in the conversation id itself: then it names no conversation we know.
                if decoded.event.conversation.contains(char::REPLACEMENT_CHARACTER) {
                    decoded.event.conversation = crate::eval::event::UNKNOWN_CONVERSATION.to_string();
                }
                let mut errors = vec![format!(
                    "not valid UTF-8 (the first bad byte is byte {} of the line)",
                    e.valid_up_to() + 1
                )];
                errors.extend(decoded.errors);
                Received { event: decoded.event, errors, raw }
            }
        }
    }

    /// The payload stored for the decision on this input: the event redacted per the conversation's retention
    /// ([`stored_event`]); malformed input as received, redacted of every kind ([`stored_unreadable`]); nothing
    /// for input that was not read at all.
    pub fn stored(&self, decision: &Decision, next: &ConversationState) -> Vec<u8> {
        if self.errors.is_empty() {
            stored_event(&self.event, decision, next)
        } else if self.raw.is_empty() {
            Vec::new()
        } else {
            stored_unreadable(&self.raw)
        }
    }
}

/// The entries that record `decision`: the decision itself, committing to `payload` (the event as it may be
/// stored, see [`stored_event`]), then, when the decision handed the conversation to a person, the transfer of
/// its packet. `next` is the conversation's state after the decision: the packet carries the earlier turns too,
/// so it is kept under the strictest retention of the conversation so far.
pub fn entries(decision: &Decision, next: &ConversationState, payload: Vec<u8>) -> Vec<Entry> {
    let retention = decision.retention.as_ref().map(Retention::from);
    let mut out = Vec::with_capacity(2);
    out.push(Entry::Decision(DecisionRecord {
        payload,
        conversation: decision.conversation.clone(),
        policy: decision.policy.clone(),
        action: decision.action.as_str().to_string(),
        reasons: decision.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        rules: decision.determining.clone(),
        retention: retention.clone(),
        event: Some(event_facts(decision)),
        route: match decision.action {
            Action::Handoff | Action::Capture | Action::Emergency => {
                decision.route.as_ref().map(RouteFacts::from)
            }
            _ => None,
        },
    }));
    if let Some(packet) = &decision.handoff {
        out.push(Entry::Transfer(TransferRecord {
            // INVARIANT: a packet is strings, numbers and times only, so it always serialises.
            payload: serde_json::to_vec(packet).unwrap_or_default(),
            conversation: decision.conversation.clone(),
            queue: packet.queue.clone(),
            policy: decision.policy.clone(),
            reasons: packet.reasons.clone(),
            rules: packet.rules.clone(),
            retention: next.retention.as_ref().map(Retention::from).or(retention),
        }));
    }
    out
}

/// Appends the entries that record `decision` ([`entries`]) to `log`, at the decision's time. They are durable,
/// and the decision may be acted on, after the log's next [`AuditLog::commit`]. Returns the seq of the first.
pub fn record(
    log: &mut AuditLog,
    decision: &Decision,
    next: &ConversationState,
    payload: Vec<u8>,
) -> Result<u64, AuditError> {
    let mut first = None;
    for entry in entries(decision, next, payload) {
        let seq = log.append(decision.time, entry)?;
        first.get_or_insert(seq);
    }
    // INVARIANT: `entries` always yields the decision record, so `first` is set.
    Ok(first.unwrap_or_default())
}

/// The payload stored for a decision on `event`: the event with its text and customer attributes redacted of
/// every kind the decision's retention or the conversation's (in `next`) names.
pub fn stored_event(event: &Event, decision: &Decision, next: &ConversationState) -> Vec<u8> {
    let kinds: Vec<PiiKind> = decision
        .retention
        .iter()
        .chain(next.retention.as_ref())
        .flat_map(|r: &RetentionDecision| r.redact.iter().copied())
        .collect();
    let mut event = event.clone();
    if !kinds.is_empty() {
        if let Some(text) = &mut event.text {
            *text = crate::handoff::redact(text, &kinds).text;
        }
        for value in event.customer.values_mut() {
            redact_strings(value, &kinds);
        }
    }
    // INVARIANT: an event is strings, numbers and times only, so it always serialises.
    serde_json::to_vec(&event).unwrap_or_default()
}

/// The payload stored for input that could not be read as an event: the text as read, redacted of every kind
/// (which retention applies could not be decided).
pub fn stored_unreadable(raw: &str) -> Vec<u8> {
    crate::handoff::redact(raw, &PiiKind::ALL).text.into_bytes()
}

fn redact_strings(value: &mut serde_json::Value, kinds: &[PiiKind]) {
    match value {
        serde_json::Value::String(s) => *s = crate::handoff::redact(s, kinds).text,
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_strings(v, kinds)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact_strings(v, kinds)),
        _ => {}
    }
}
