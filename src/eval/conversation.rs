//! The conversation state machine: what an event does to [`ConversationState`], and what the conversation's
//! phase lets the tiers' verdict become.
//!
//! ```text
//!   bot ──escalation──▶ waiting ──agent_joined──▶ human ──hand_back──▶ bot
//!    ▲                                                                  │
//!    └──────── a message after `closed` starts afresh ◀── closed ◀──────┘ (from any phase)
//! ```
//!
//! While a person owns the conversation (`human`) or is about to (`waiting`) the bot holds; only an emergency is
//! acted on whoever holds the conversation. A waiting customer is never queued again: they are told where they
//! stand.

use chrono::{DateTime, Utc};

use super::event::{ConversationState, Event, EventKind, Phase};
use super::tiers::{Failure, Verdict};
use crate::compile::policy::Rule;
use crate::handoff::Role;
use crate::route::Route;

/// The state an event starts from: a customer message counts a turn (a message after `closed` opens a new
/// conversation) and joins the transcript, as does the bot's reply.
pub(super) fn begin(state: &ConversationState, event: &Event, time: DateTime<Utc>) -> ConversationState {
    let mut next = state.clone();
    let text = event.text.as_deref().unwrap_or("");
    match event.kind {
        EventKind::Message => {
            next.turn = next.turn.saturating_add(1);
            if next.phase == Phase::Closed {
                next = ConversationState { turn: 1, ..ConversationState::default() };
            }
            next.record(Role::Customer, time, text);
        }
        EventKind::BotReply => next.record(Role::Bot, time, text),
        EventKind::AgentReply => next.record(Role::Agent, time, text),
        _ => {}
    }
    next
}

/// Counts a strike for a failure; a message the bot is confident about (any confidence given, no failure)
/// clears them.
pub(super) fn count_strike(next: &mut ConversationState, failure: &Failure, event: &Event) {
    if failure.failed() {
        next.strikes = next.strikes.saturating_add(1);
    } else if event.kind == EventKind::Message && event.confidence.is_some() {
        next.strikes = 0;
    }
}

/// What the conversation's phase makes of the tiers' verdict.
#[derive(Debug)]
pub(super) enum Step<'p> {
    /// The bot says nothing: a person owns the conversation, the event is the bot's own or feedback while one is
    /// awaited, a person joined, or the conversation closed.
    Hold,
    /// The customer already waits in a queue: they are told where they stand, never queued again. The rule is
    /// the one that matched, if any (an explicit request is honoured by the answer).
    Queued(Option<&'p Rule>),
    /// A person handed the conversation back: the bot answers again.
    HandedBack,
    /// The tiers decide.
    Act(Verdict<'p>),
}

/// The step for an event of `kind` in the phase `next` is in, applying the lifecycle events' transitions.
pub(super) fn step<'p>(next: &mut ConversationState, kind: EventKind, verdict: Verdict<'p>) -> Step<'p> {
    let held = matches!(next.phase, Phase::Waiting | Phase::Human);
    match (kind, verdict) {
        (_, verdict @ Verdict::Emergency(_)) => Step::Act(verdict),
        (EventKind::BotReply | EventKind::Feedback, _) if held => Step::Hold,
        (EventKind::AgentJoined, _) => {
            next.phase = Phase::Human;
            next.strikes = 0;
            Step::Hold
        }
        (EventKind::HandBack, _) => {
            next.phase = Phase::Bot;
            next.queue = None;
            next.strikes = 0;
            Step::HandedBack
        }
        // Neither is the customer asking anything: the bot stays silent whoever holds the conversation.
        (EventKind::CustomerInactive | EventKind::AgentReply, _) => Step::Hold,
        (EventKind::Closed, _) => {
            next.phase = Phase::Closed;
            Step::Hold
        }
        (_, verdict) => match next.phase {
            Phase::Human => Step::Hold,
            Phase::Waiting => Step::Queued(match verdict {
                Verdict::Rule(rule) => Some(rule),
                _ => None,
            }),
            Phase::Bot | Phase::Closed => Step::Act(verdict),
        },
    }
}

/// What the conversation is after the decision: an escalation moves a bot conversation into the queue (one
/// already queued or with a person stays where it is) and resets its strikes; a message becomes the one the
/// next is compared with for rephrasing. Returns whether it escalated.
pub(super) fn settle(
    next: &mut ConversationState,
    escalating: bool,
    route: Option<&Route>,
    event: &Event,
) -> bool {
    let escalated = escalating && next.phase == Phase::Bot;
    if escalated {
        next.phase = Phase::Waiting;
        next.queue = route.map(|r| r.queue.clone());
        next.strikes = 0;
    }
    if let (EventKind::Message, Some(text)) = (event.kind, event.text.as_deref())
        && !text.is_empty()
    {
        // The text the transcript already holds, shared rather than copied.
        let shared = next.transcript.last().filter(|t| t.role == Role::Customer && &*t.text == text);
        next.last_message = Some(shared.map_or_else(|| text.into(), |t| t.text.clone()));
    }
    escalated
}
