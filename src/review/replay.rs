//! Every logged decision evaluated again: under the policy in force at the time (`handrail audit replay`, which
//! shows that each decision follows from the policy and the event), or under another policy
//! ([`whatif`](super::whatif)).
//!
//! The log is walked in seq order, the way `handrail eval --audit` wrote it. Each `policy_deployed` record starts
//! a fresh evaluator, as each run of `eval --audit` does: the conversation states are emptied, and under the
//! policy in force the deployed policy is compiled again from the sources the record stored (its hash must be
//! the recorded one). Each `decision` record's stored event is then decided from the state its conversation had,
//! at the event's time (or the record's, when the event carried none), and the state is kept for the next.
//!
//! A decision cannot be replayed when its payload was erased, when it was stored unreadable (the line was
//! malformed; it failed safe), when an earlier event of its conversation could not be replayed (its state is
//! unknown from there on), or when the deployment in force stored no sources (a log written before they were).
//! Each is counted by why, never silently passed.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{Log, Progress, Stored, Window};
use crate::audit::DecisionRecord;
use crate::audit::record::Body;
use crate::{ConversationState, Decision, Event, Policy};

/// Which policy decides the replay.
#[derive(Debug, Clone, Copy)]
pub enum Under<'p> {
    /// The one each `policy_deployed` record put in force.
    InForce,
    /// This one, for every decision.
    Policy(&'p Policy),
}

/// Why a decision was not replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// Its payload was erased.
    Erased,
    /// Its payload is not an event (the line was malformed and failed safe).
    Unreadable,
    /// An earlier event of its conversation was not replayed, so the state it started from is unknown.
    StateUnknown,
    /// The policy in force could not be compiled again (no stored sources, or they do not match the hash).
    NoPolicy,
}

impl Skip {
    /// The words a summary uses.
    pub fn describe(self) -> &'static str {
        match self {
            Skip::Erased => "payload erased",
            Skip::Unreadable => "stored unreadable (a malformed line, failed safe)",
            Skip::StateUnknown => "after an earlier event of the conversation that was not replayed",
            Skip::NoPolicy => "the policy in force has no usable stored source",
        }
    }
}

/// One decision of the log, replayed or not.
#[derive(Debug)]
pub enum Step<'a> {
    /// Decided again.
    Replayed {
        /// The record's seq.
        seq: u64,
        /// The record as logged.
        record: &'a DecisionRecord,
        /// The stored event (redacted as stored).
        event: Box<Event>,
        /// The decision now.
        decision: Box<Decision>,
    },
    /// Not decided again, and why.
    Skipped {
        /// The record's seq.
        seq: u64,
        /// The record as logged.
        record: &'a DecisionRecord,
        /// Why.
        why: Skip,
    },
}

/// What a replay walked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Walked {
    /// Decisions inside the window.
    pub decisions: u64,
    /// Of those, decided again.
    pub replayed: u64,
    /// Of those, not, by why.
    pub skipped: Vec<(Skip, u64)>,
    /// The deployments in the log: policy id, version, hash, handrail version, and why it cannot be replayed.
    pub deployments: Vec<Deployment>,
}

/// A `policy_deployed` record, as the replay found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    /// The record's seq.
    pub seq: u64,
    /// The policy id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Its hash.
    pub hash: String,
    /// The handrail version that decided under it, when recorded.
    pub handrail: Option<String>,
    /// Why it cannot be compiled again (only asked under [`Under::InForce`]).
    pub problem: Option<String>,
}

/// Replays the decisions of `log` under `under`, calling `visit` for each one inside `window` (the ones before
/// it are replayed too, for the state they leave).
pub fn replay<'a>(
    log: &'a Log,
    under: Under<'_>,
    window: &Window,
    progress: Progress<'_>,
    mut visit: impl FnMut(Step<'a>),
) -> Walked {
    let mut walked = Walked::default();
    let mut compiled: HashMap<String, Result<Policy, super::DeployedPolicyError>> = HashMap::new();
    let mut current: Option<String> = None;
    let mut states: HashMap<&'a str, ConversationState> = HashMap::new();
    let mut unknown: HashSet<&'a str> = HashSet::new();
    let mut skipped: HashMap<Skip, u64> = HashMap::new();
    let total = log.records.len() as u64;
    for (i, record) in log.records.iter().enumerate() {
        if i % 8192 == 0 {
            progress(i as u64, total);
        }
        let decision = match &record.body {
            Body::PolicyDeployed { policy, handrail, continues, .. } => {
                // A new `eval` run starts its conversations afresh; a server's reload or restart carries them on.
                if !continues {
                    states.clear();
                    unknown.clear();
                }
                let mut problem = None;
                if let Under::InForce = under {
                    let entry = compiled
                        .entry(policy.hash.clone())
                        .or_insert_with(|| super::deployed_policy(&record.body));
                    problem = entry.as_ref().err().map(ToString::to_string);
                }
                walked.deployments.push(Deployment {
                    seq: record.seq,
                    id: policy.id.clone(),
                    version: policy.version.clone(),
                    hash: policy.hash.clone(),
                    handrail: handrail.clone(),
                    problem,
                });
                current = Some(policy.hash.clone());
                continue;
            }
            Body::Decision(d) => d,
            _ => continue,
        };
        let inside = window.contains(record.time);
        let conversation = decision.conversation.as_str();
        let policy = match under {
            Under::Policy(p) => Some(p),
            Under::InForce => current.as_ref().and_then(|h| compiled.get(h)).and_then(|r| r.as_ref().ok()),
        };
        // An erased or unreadable payload is named as such even after an earlier skip: it is the fact an
        // auditor needs (a conversation erased on request shows as erased, all of it).
        let stored = if policy.is_some() { log.event(decision) } else { Stored::Unreadable };
        let (why, event) = match stored {
            _ if policy.is_none() => (Some(Skip::NoPolicy), None),
            Stored::Erased => (Some(Skip::Erased), None),
            Stored::Unreadable => (Some(Skip::Unreadable), None),
            Stored::Event(_) if unknown.contains(conversation) => (Some(Skip::StateUnknown), None),
            Stored::Event(event) => (None, Some(event)),
        };
        let (Some(policy), Some(event), None) = (policy, event, why) else {
            let why = why.unwrap_or(Skip::Unreadable);
            if !conversation.is_empty() {
                unknown.insert(conversation);
            }
            if inside {
                walked.decisions += 1;
                *skipped.entry(why).or_default() += 1;
                visit(Step::Skipped { seq: record.seq, record: decision, why });
            }
            continue;
        };
        let time = event.time.unwrap_or(record.time);
        // Taken out, not cloned: a state holds the transcript so far, and it is put back decided.
        let state = states.remove(conversation).unwrap_or_default();
        let (now, next) = crate::decide(policy, &state, &event, time);
        states.insert(conversation, next);
        if inside {
            walked.decisions += 1;
            walked.replayed += 1;
            visit(Step::Replayed { seq: record.seq, record: decision, event, decision: Box::new(now) });
        }
    }
    progress(total, total);
    let mut skipped: Vec<(Skip, u64)> = skipped.into_iter().collect();
    skipped.sort_by_key(|(why, _)| *why as u8);
    walked.skipped = skipped;
    walked
}

/// How a replayed decision differs from its record: the action, the reason codes, the determining rules and
/// the policy named, each as `field: recorded → now`. Empty when it is the same.
pub fn differences(record: &DecisionRecord, now: &Decision, in_force: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if record.action != now.action.as_str() {
        out.push(format!("action: {} → {}", record.action, now.action.as_str()));
    }
    let reasons: Vec<&str> = now.reasons.iter().map(|r| r.as_str()).collect();
    if record.reasons != reasons {
        out.push(format!("reasons: [{}] → [{}]", record.reasons.join(", "), reasons.join(", ")));
    }
    if record.rules != now.determining {
        out.push(format!("rules: [{}] → [{}]", record.rules.join(", "), now.determining.join(", ")));
    }
    if let Some(hash) = in_force
        && record.policy.hash != hash
    {
        out.push(format!("policy: the record names {}, but {hash} was in force", record.policy.hash));
    }
    out
}
