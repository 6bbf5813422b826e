//! One test per conversation state transition (DESIGN §4), against a small policy written here.

use super::*;
use crate::compile::{Options, compile_source};

const POLICY: &str = r#"
policy t {
  version "1"
  safe_queue desk
}
phrases human { "human" }
phrases crisis { "kill myself" }
phrases billing { "refund" }
@id("EMER") emergency crisis { when says crisis }
@id("REQ") request human { when says human route desk }
@id("HR") hard_route billing { when says billing route desk }
fallback {
  confidence below 0.5
  strikes 2
  route desk
}
queue desk { hours "24/7" }
"#;

/// The pinned time of events that carry none: a Monday afternoon (UTC).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_625_200, 0).unwrap_or_default()
}

fn policy() -> Policy {
    let out = compile_source("t.policy", POLICY, &Options::default());
    out.policy.unwrap_or_else(|| panic!("{:?}", out.diagnostics))
}

fn message(text: &str) -> Event {
    Event { text: Some(text.into()), confidence: Some(0.9), time: Some(now()), ..Event::default() }
}

fn kind(kind: EventKind) -> Event {
    Event { kind, time: Some(now()), ..Event::default() }
}

fn at(phase: Phase) -> ConversationState {
    ConversationState { phase, queue: Some("desk".into()), ..ConversationState::default() }
}

fn step(state: &ConversationState, event: &Event) -> (Action, Phase) {
    let (d, next) = decide(&policy(), state, event, now());
    assert_eq!(d.state, next.phase, "the decision reports the state it leaves behind");
    (d.action, next.phase)
}

#[test]
fn bot_answers_and_stays_bot() {
    assert_eq!(step(&at(Phase::Bot), &message("opening hours?")), (Action::Answer, Phase::Bot));
}

#[test]
fn bot_to_waiting_on_an_explicit_request() {
    assert_eq!(step(&at(Phase::Bot), &message("a human please")), (Action::Handoff, Phase::Waiting));
}

#[test]
fn bot_to_waiting_with_capture_when_nobody_is_online() {
    let mut e = message("a human please");
    e.agents_online = Some([("desk".to_string(), false)].into());
    assert_eq!(step(&at(Phase::Bot), &e), (Action::Capture, Phase::Waiting));
}

#[test]
fn bot_to_waiting_on_an_emergency() {
    assert_eq!(step(&at(Phase::Bot), &message("I want to kill myself")), (Action::Emergency, Phase::Waiting));
}

#[test]
fn bot_to_waiting_after_two_strikes() {
    let weak = Event { confidence: Some(0.2), ..message("where is it") };
    let (d, next) = decide(&policy(), &at(Phase::Bot), &weak, now());
    assert_eq!((d.action, next.strikes), (Action::Answer, 1));
    let (d, next) = decide(&policy(), &next, &Event { text: Some("and now?".into()), ..weak }, now());
    assert_eq!((d.action, next.phase, next.strikes), (Action::Handoff, Phase::Waiting, 0));
}

#[test]
fn waiting_holds_and_never_requeues() {
    assert_eq!(step(&at(Phase::Waiting), &message("a human please")), (Action::Hold, Phase::Waiting));
    assert_eq!(step(&at(Phase::Waiting), &message("I want a refund")), (Action::Hold, Phase::Waiting));
}

#[test]
fn waiting_still_answers_an_emergency_as_an_emergency() {
    assert_eq!(
        step(&at(Phase::Waiting), &message("I want to kill myself")),
        (Action::Emergency, Phase::Waiting)
    );
}

#[test]
fn waiting_to_human_when_an_agent_joins() {
    assert_eq!(step(&at(Phase::Waiting), &kind(EventKind::AgentJoined)), (Action::Hold, Phase::Human));
}

#[test]
fn human_holds_every_message() {
    assert_eq!(step(&at(Phase::Human), &message("a human please")), (Action::Hold, Phase::Human));
    assert_eq!(step(&at(Phase::Human), &message("I want a refund")), (Action::Hold, Phase::Human));
}

#[test]
fn human_still_gets_the_emergency_response() {
    assert_eq!(step(&at(Phase::Human), &message("I want to kill myself")), (Action::Emergency, Phase::Human));
}

#[test]
fn human_to_bot_on_hand_back() {
    let (action, phase) = step(&at(Phase::Human), &kind(EventKind::HandBack));
    assert_eq!((action, phase), (Action::Answer, Phase::Bot));
}

#[test]
fn any_state_to_closed() {
    for phase in [Phase::Bot, Phase::Waiting, Phase::Human] {
        assert_eq!(step(&at(phase), &kind(EventKind::Closed)), (Action::Hold, Phase::Closed));
    }
}

#[test]
fn closed_to_bot_on_a_new_message() {
    let (d, next) = decide(&policy(), &at(Phase::Closed), &message("hello again"), now());
    assert_eq!((d.action, next.phase, next.turn), (Action::Answer, Phase::Bot, 1));
}

#[test]
fn an_invalid_event_fails_safe_to_a_person() {
    let bad = Event { confidence: Some(3.0), ..message("hi") };
    let (d, next) = decide(&policy(), &at(Phase::Bot), &bad, now());
    assert_eq!((d.action, next.phase), (Action::Handoff, Phase::Waiting));
    assert_eq!(d.reasons, vec![ReasonCode::EngineError]);
    assert!(d.errors[0].contains("`confidence`"));
}

#[test]
fn a_bot_reply_is_recorded_and_a_weak_one_counts_a_strike() {
    let (_, state) = decide(&policy(), &at(Phase::Bot), &message("where is the office?"), now());
    let reply = Event {
        kind: EventKind::BotReply,
        text: Some("We're at 12 Main St.".into()),
        confidence: Some(0.2),
        ..kind(EventKind::BotReply)
    };
    let (d, next) = decide(&policy(), &state, &reply, now());
    assert_eq!((d.action, next.phase, next.strikes), (Action::Answer, Phase::Bot, 1));
    assert_eq!(next.transcript.len(), 2);
    assert_eq!(next.transcript[1].role, crate::handoff::Role::Bot);
}

#[test]
fn a_bot_reply_while_waiting_holds() {
    let reply =
        Event { kind: EventKind::BotReply, text: Some("Please hold.".into()), ..kind(EventKind::BotReply) };
    assert_eq!(step(&at(Phase::Waiting), &reply), (Action::Hold, Phase::Waiting));
}
