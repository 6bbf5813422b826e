//! State rebuilt from the audit log at start, so that a restart between two messages of a conversation changes
//! no decision (issue 9, point 3).
//!
//! The choice: **replay the stored events**, not a snapshot of the state. Every decision record commits to the
//! event it decided (its payload, beside the chain), so the log already holds what the state was made from; a
//! snapshot would be a second copy of the transcript, in a record kind of its own that erasure and retention
//! would have to learn. Replay decides each stored event of every conversation still live (its latest event
//! within the idle bound), in log order, from the state the previous one left, under the policy in force at
//! start, with the same rules as a live request ([`super::decider::decide`], the idle bound).
//!
//! Where replay is exact, and where it is not (docs/serve.md says the same to operators):
//! - exact for every event stored as it was received: the payload is the event's JSON, time included, so the
//!   replay decides the same event at the same time from the same state;
//! - **not exact when retention redacted the stored event** (a rule whose retention names `redact`): the log
//!   keeps only the redacted text, by design, so the replay sees `[phone]` where the customer wrote a number.
//!   Phase, strikes and disclaimers follow from the decisions and come out the same unless a rule matches on
//!   what was redacted; the transcript holds the redacted text, which is what a packet under that retention
//!   carries anyway;
//! - not exact when the policy changed between the decisions and the restart (replay uses the policy in force);
//! - a conversation whose payloads were erased or purged is not rebuilt: it starts afresh, which is what erasure
//!   means.
//!
//! Each replayed decision is compared with its record (action and determining rules); those that differ are
//! counted (`handrail_restore_differed_total`) and logged, so an operator sees when a rebuild was inexact.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};

use super::decider::Conversations;
use crate::audit::record::{Body, PayloadRef};
use crate::audit::{AuditError, files};
use crate::compile::Policy;
use crate::evidence::Received;

/// What a rebuild did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Conversations rebuilt.
    pub conversations: usize,
    /// Decisions replayed.
    pub replayed: u64,
    /// Replayed decisions whose action or determining rules differ from their record.
    pub differed: u64,
    /// Decision records of live conversations whose payload is gone (erased or purged).
    pub missing: u64,
}

/// Rebuilds into `conversations` the state of every conversation of the log in `dir` whose latest event is within
/// the idle bound at `now`, replaying its stored events under `policy`.
pub(crate) fn restore(
    dir: &Path,
    policy: &Policy,
    conversations: &mut Conversations,
    now: DateTime<Utc>,
) -> Result<Restored, AuditError> {
    let log = dir.join(files::LOG);
    if !log.exists() {
        return Ok(Restored::default());
    }
    let records = crate::audit::read_records(&log)?;
    // First pass: which conversations are still live, and which were erased.
    let mut latest: HashMap<&str, DateTime<Utc>> = HashMap::new();
    let mut erased: HashSet<&str> = HashSet::new();
    for record in &records {
        match &record.body {
            Body::Decision(d) => {
                latest.insert(d.conversation.as_str(), record.time);
            }
            Body::Erasure { conversation, .. } => {
                erased.insert(conversation.as_str());
            }
            _ => {}
        }
    }
    let live: HashSet<&str> = latest
        .into_iter()
        .filter(|(id, last)| !erased.contains(id) && now.signed_duration_since(*last) <= conversations.idle)
        .map(|(id, _)| id)
        .collect();
    if live.is_empty() {
        return Ok(Restored::default());
    }
    let payloads_path = dir.join(files::PAYLOADS);
    let payloads = std::fs::read(&payloads_path).map_err(|e| AuditError::io(&payloads_path, e))?;
    let mut restored = Restored::default();
    let mut lost: HashSet<&str> = HashSet::new();
    for record in &records {
        let Body::Decision(d) = &record.body else { continue };
        let id = d.conversation.as_str();
        // A decision on input whose conversation could not be read belongs to none: it left no state.
        if id == crate::eval::event::UNKNOWN_CONVERSATION || !live.contains(id) || lost.contains(id) {
            continue;
        }
        let Some(bytes) = payload(&payloads, &d.payload) else {
            // The conversation cannot be rebuilt past a gap: it starts afresh.
            restored.missing = restored.missing.saturating_add(1);
            lost.insert(id);
            conversations.map.remove(id);
            continue;
        };
        let received = Received::decode(bytes);
        if received.event.conversation != id {
            restored.missing = restored.missing.saturating_add(1);
            continue;
        }
        let state = conversations.state_for(id, record.time);
        let (decision, next) = super::decider::decide(policy, &state, &received, record.time);
        restored.replayed = restored.replayed.saturating_add(1);
        if decision.action.as_str() != d.action || decision.determining != d.rules {
            restored.differed = restored.differed.saturating_add(1);
            tracing::warn!(
                seq = record.seq,
                recorded = %d.action,
                replayed = decision.action.as_str(),
                "a replayed decision differs from its record (redacted text or another policy)"
            );
        }
        conversations.keep(id.to_string(), next, record.time);
    }
    restored.conversations = conversations.map.len();
    Ok(restored)
}

/// The payload a record commits to, when `payloads` (the bytes of `payloads.bin`) still holds it and it matches
/// the commitment; `None` when it was erased, purged or cut.
fn payload<'a>(payloads: &'a [u8], at: &PayloadRef) -> Option<&'a [u8]> {
    const SALT: usize = crate::audit::hash::SALT_LEN;
    let start = usize::try_from(at.offset).ok()?;
    let body = start.checked_add(SALT)?;
    let end = body.checked_add(usize::try_from(at.length).ok()?)?;
    let salt: &[u8; SALT] = payloads.get(start..body)?.try_into().ok()?;
    let bytes = payloads.get(body..end)?;
    (crate::audit::hash::commitment(salt, bytes).hex() == at.commitment).then_some(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_payload_is_read_only_while_it_matches_its_commitment() {
        let salt = [9u8; crate::audit::hash::SALT_LEN];
        let mut file = vec![0u8; 10];
        file.extend_from_slice(&salt);
        file.extend_from_slice(b"{\"conversation\":\"c\"}");
        let at = PayloadRef {
            offset: 10,
            length: 20,
            commitment: crate::audit::hash::commitment(&salt, b"{\"conversation\":\"c\"}").hex(),
        };
        assert_eq!(payload(&file, &at), Some(&b"{\"conversation\":\"c\"}"[..]));
        // Erased (zeroed, as erasure leaves it), cut short, or pointing past the end: not read.
        let mut erased = file.clone();
        erased[10..].fill(0);
        assert_eq!(payload(&erased, &at), None);
        assert_eq!(payload(&file[..35], &at), None);
        assert_eq!(payload(&file, &PayloadRef { offset: u64::MAX, ..at.clone() }), None);
    }
}
