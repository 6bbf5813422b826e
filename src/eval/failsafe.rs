//! The fail-safe: the decision for an event that cannot be evaluated as it stands (a field out of range, a
//! misspelt field, a line that is not JSON, an internal fault). It is never `answer`.
//!
//! It scans what it can first: the event as salvaged ([`Event::salvaged`]: every valid field, the text cut to
//! [`super::event::MAX_TEXT_BYTES`]) is evaluated, and when that finds an emergency the customer gets the
//! emergency response (its text, its route, priority `urgent`), with reason `engine_error` added. Otherwise the
//! conversation goes to a person at the policy's safe queue, priority `high`, with reason `engine_error`.
//!
//! The packet of a plain fail-safe is redacted of every kind of personal data: which retention rule applies
//! could not be decided, so the strictest is assumed.

use chrono::{DateTime, Utc};

use super::decision::{Action, Decision, Signals};
use super::event::{ConversationState, Event, Phase};
use super::tiers::live_or_capture;
use super::{DecideOptions, policy_ref};
use crate::compile::policy::{Policy, Priority, ReasonCode};

/// The fail-safe decision for `event` in `state`, with `errors` saying why it could not be evaluated.
pub(super) fn fail_safe(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    time: DateTime<Utc>,
    errors: Vec<String>,
) -> (Decision, ConversationState) {
    let salvaged = event.salvaged();
    if let Some((mut decision, next)) = emergency_in(policy, state, &salvaged, time) {
        decision.reasons.push(ReasonCode::EngineError);
        if let Some(packet) = &mut decision.handoff {
            packet.reasons.push(ReasonCode::EngineError.as_str().to_string());
        }
        decision.errors = errors;
        return (decision, next);
    }
    to_safe_queue(policy, state, &salvaged, time, errors)
}

/// The decision for the salvaged event when it is an emergency. Evaluation is guarded: if it faults, there is
/// no emergency to report and the plain fail-safe follows.
fn emergency_in(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    time: DateTime<Utc>,
) -> Option<(Decision, ConversationState)> {
    let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        super::evaluate(policy, state, event, time, DecideOptions::default())
    }))
    .ok()?;
    (evaluated.0.action == Action::Emergency).then_some(evaluated)
}

/// A person at the safe queue, with a packet redacted of every kind of personal data.
fn to_safe_queue(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    time: DateTime<Utc>,
    errors: Vec<String>,
) -> (Decision, ConversationState) {
    let next =
        ConversationState { phase: Phase::Waiting, queue: Some(policy.safe_queue.clone()), ..state.clone() };
    // The safe queue at `high`, whoever the customer is (no priority tier raises it further).
    let route =
        policy.directory().route(&policy.safe_queue, Priority::High, time, event.agents_online.as_ref());
    let mut transcript = state.clone();
    if let Some(text) = &event.text {
        transcript.record(crate::handoff::Role::Customer, time, text);
    }
    let handoff = crate::handoff::build(crate::handoff::PacketInput {
        conversation: &event.conversation,
        time,
        reasons: vec![ReasonCode::EngineError.as_str().to_string()],
        rules: Vec::new(),
        queue: &route.queue,
        priority: route.priority.as_str(),
        channel: route.channel.name(),
        transcript: &transcript.transcript,
        strikes: state.strikes,
        supplied: &event.customer,
        redact: &crate::handoff::PiiKind::ALL,
        retention: None,
    });
    let decision = Decision {
        conversation: event.conversation.clone(),
        turn: state.turn,
        time,
        action: live_or_capture(&route),
        handoff: Some(handoff),
        reasons: vec![ReasonCode::EngineError],
        determining: Vec::new(),
        rules: Vec::new(),
        say: vec![route.message.clone()],
        route: Some(route),
        disclaimers: Vec::new(),
        retention: None,
        signals: Signals { strikes: state.strikes, channel: event.channel.clone(), ..Signals::default() },
        state: Phase::Waiting,
        policy: policy_ref(policy),
        errors,
        explain: None,
        event: event.kind,
        outcome: event.outcome,
    };
    (decision, next)
}
