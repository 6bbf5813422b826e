//! Stage 3, `eval`: compiled [`Policy`] + [`ConversationState`] + [`Event`] in, [`Decision`] + next state out.
//!
//! [`decide`] is a pure function of its inputs (the event's time, or the `now` it is given). Precedence is fixed
//! and fits in
//! one sentence: **emergency > explicit request > hard route > topic and business rules > confidence fallback >
//! answer**. Every rule is evaluated and every match reported; the highest tier decides, and within a tier the
//! highest `rank`, then the smallest rule id. Nothing the bot's confidence says can stop a higher tier.
//!
//! Fail safe: an event that cannot be evaluated (out-of-range field, over a limit, an internal fault) yields a
//! `handoff` (or `capture`) to the policy's safe queue with reason `engine_error`, never an `answer`; when what can
//! be read of it is an emergency, the emergency response instead ([`fail_safe`]).
//!
//! One decision in stages, one file each: `conversation` (the state machine: turns, strikes, phases, what a
//! phase lets the tiers do), `tiers` (failure signals, matching rules, the verdict and its outcome, routed by
//! [`crate::route`]), `obligations` (disclaimers and retention), `cond` (conditions, and explaining them).

mod cond;
mod conversation;
pub mod decision;
pub mod event;
mod failsafe;
mod obligations;
#[cfg(test)]
mod tests;
mod tiers;

use chrono::{DateTime, Utc};

pub use decision::{Action, Decision};
pub use event::{
    CloseOutcome, ConversationState, Decoded, Event, EventKind, Feedback, InvalidEvent, Phase, decode,
};

use crate::compile::policy::{NegationMode, Policy, ReasonCode, Rule};
use cond::Facts;
use decision::*;

/// Options for one decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecideOptions {
    /// Record why every rule did or did not fire.
    pub explain: bool,
}

/// Decides one event at the event's `time`, or at `now` when it carries none. Never panics and never answers
/// when it cannot evaluate: see the module docs. A pure function of its arguments: nothing here reads the clock,
/// so a replay or a test that pins `now` gets the same decision every time.
pub fn decide(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    now: DateTime<Utc>,
) -> (Decision, ConversationState) {
    decide_with(policy, state, event, now, DecideOptions::default())
}

/// [`decide`] with options.
pub fn decide_with(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    now: DateTime<Utc>,
    options: DecideOptions,
) -> (Decision, ConversationState) {
    let time = event.time.unwrap_or(now);
    let problems = event.problems();
    if !problems.is_empty() {
        return fail_safe(policy, state, event, time, problems.iter().map(ToString::to_string).collect());
    }
    // INVARIANT: evaluation does not panic (the crate denies panicking constructs); if a dependency ever does,
    // the customer still reaches a person.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evaluate(policy, state, event, time, options)
    })) {
        Ok(result) => result,
        Err(_) => fail_safe(
            policy,
            state,
            event,
            time,
            vec!["internal error while evaluating; this is a bug".into()],
        ),
    }
}

/// The decision, at `time`, for an event that could not be evaluated: the emergency response when what can be
/// read of it is an emergency, else a person at the safe queue; reason `engine_error` either way (see
/// `src/eval/failsafe.rs`).
pub fn fail_safe(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    time: DateTime<Utc>,
    errors: Vec<String>,
) -> (Decision, ConversationState) {
    failsafe::fail_safe(policy, state, event, time, errors)
}

fn policy_ref(policy: &Policy) -> PolicyRef {
    PolicyRef { id: policy.id.clone(), version: policy.version.clone(), hash: policy.hash.clone() }
}

/// One decision, in the stages the module docs name: the state the event starts from, the failure signals and
/// matching rules, the tiers' verdict, what the conversation's phase makes of it, and the report of it all.
fn evaluate(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    time: DateTime<Utc>,
    options: DecideOptions,
) -> (Decision, ConversationState) {
    let text = event.text.as_deref().unwrap_or("");
    let mut next = conversation::begin(state, event, time);
    let scan = policy.matcher.scan(text);
    let failure = tiers::failure(policy, state, &scan, event);
    conversation::count_strike(&mut next, &failure, event);

    let said = policy.matcher.said(&scan.hits);
    let facts = Facts {
        policy,
        event,
        hits: &scan.hits,
        said: &said,
        strikes: next.strikes,
        turn: next.turn,
        frustration: failure.frustration,
        local: time.with_timezone(&policy.timezone),
        matched: &[],
    };
    let matched = tiers::matched(policy, &facts);
    let verdict = tiers::verdict(policy, &matched, &failure, next.strikes, event);
    let step = conversation::step(&mut next, event.kind, verdict);
    let outcome = tiers::outcome(policy, step, next.queue.as_deref(), &failure, event, time);
    // The strikes the fallback looked at (an escalation then resets the conversation's count).
    let strikes = next.strikes;
    let escalated = conversation::settle(&mut next, outcome.escalates(), outcome.route.as_ref(), event);

    let rules: Vec<RuleHit> = policy
        .rules
        .iter()
        .zip(&matched)
        .filter(|(_, m)| **m)
        .map(|(rule, _)| RuleHit {
            id: rule.id.clone(),
            tier: rule.tier.keyword(),
            reason: rule.reason,
            determining: outcome.determining.contains(&rule.id),
            matches: phrase_matches(policy, rule, &scan.hits, text),
        })
        .collect();

    let facts = Facts { matched: &matched, ..facts };
    let disclaimers = obligations::disclaimers(policy, &matched, &facts, &mut next);
    let retention = obligations::retention(policy, &facts, time);
    // A packet carries earlier turns: it is redacted and kept under the strictest retention of the conversation
    // (`next`, so a conversation reopened after `closed` starts afresh).
    next.retention = RetentionDecision::strictest(next.retention.as_ref(), retention.as_ref());
    let handoff = match (&outcome.route, escalated) {
        (Some(route), true) => Some(packet(&next, strikes, event, time, &outcome, route)),
        _ => None,
    };
    let signals = Signals {
        confidence: event.confidence,
        strikes,
        frustration: failure.frustration,
        rephrase: failure.rephrase,
        channel: event.channel.clone(),
    };
    let explain = options.explain.then(|| {
        policy
            .rules
            .iter()
            .zip(&matched)
            .map(|(rule, m)| RuleTrace {
                id: rule.id.clone(),
                tier: rule.tier.keyword(),
                matched: *m,
                determining: outcome.determining.contains(&rule.id),
                why: cond::explain(&rule.when, &facts, rule.negation, text),
            })
            .chain(std::iter::once(cond::explain_fallback(&policy.fallback, &signals, &outcome.reasons)))
            .collect()
    });
    let tiers::Outcome { action, reasons, determining, say, route } = outcome;
    let decision = Decision {
        conversation: event.conversation.clone(),
        turn: next.turn,
        time,
        action,
        reasons,
        determining,
        rules,
        route,
        say,
        disclaimers,
        retention,
        signals,
        state: next.phase,
        policy: policy_ref(policy),
        handoff,
        errors: Vec::new(),
        explain,
        event: event.kind,
        outcome: event.outcome,
    };
    (decision, next)
}

/// The phrases that made a rule match: hits of the sets its condition names, negated ones marked.
fn phrase_matches(policy: &Policy, rule: &Rule, hits: &[crate::text::Hit], text: &str) -> Vec<PhraseMatch> {
    let sets = rule.when.phrase_sets();
    let part = |span: &std::ops::Range<usize>| MatchPart {
        text: text.get(span.clone()).unwrap_or("").to_string(),
        start: span.start,
        end: span.end,
    };
    hits.iter()
        .filter(|h| sets.iter().any(|set| policy.matcher.counts_for(h.set, *set)))
        .map(|h| PhraseMatch {
            set: policy.phrase_sets.get(h.set as usize).map(|s| s.name.clone()).unwrap_or_default(),
            phrase: policy.phrases.get(h.phrase as usize).map(|p| p.text.clone()).unwrap_or_default(),
            text: text.get(h.span.clone()).unwrap_or("").to_string(),
            start: h.span.start,
            end: h.span.end,
            negated: h.negated && rule.negation == NegationMode::Respected,
            parts: h.parts.iter().flatten().map(part).collect(),
        })
        .collect()
}

/// The packet for the person taking over ([`crate::handoff`]), redacted per the conversation's retention;
/// `strikes` are those the fallback looked at (the state's count is reset by the escalation).
fn packet(
    state: &ConversationState,
    strikes: u32,
    event: &Event,
    time: DateTime<Utc>,
    outcome: &tiers::Outcome,
    route: &Route,
) -> crate::handoff::Packet {
    let retention = state.retention.as_ref();
    let code = |r: &ReasonCode| r.as_str().to_string();
    let redact: Vec<crate::handoff::PiiKind> = retention.map(|r| r.redact.clone()).unwrap_or_default();
    crate::handoff::build(crate::handoff::PacketInput {
        conversation: &event.conversation,
        time,
        reasons: outcome.reasons.iter().map(code).collect(),
        rules: outcome.determining.clone(),
        queue: &route.queue,
        priority: route.priority.as_str(),
        channel: route.channel.name(),
        transcript: &state.transcript,
        strikes,
        supplied: &event.customer,
        redact: &redact,
        retention: retention.map(crate::handoff::PacketRetention::from),
    })
}
