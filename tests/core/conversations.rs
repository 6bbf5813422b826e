//! Conversations end to end (DESIGN §4): failures lead to a handoff with the packet an agent needs, after hours
//! the promise is honest, emergencies cut through every state, and a person's conversation is left to them.

use handrail::compile::{Options, compile_file};
use handrail::eval::{Action, ConversationState, Decision, Event, Phase, decide};

use crate::root;

use crate::clock::now;

fn policy() -> handrail::compile::Policy {
    compile_file(&root().join("tests/cases/compile/ok/everything.policy"), &Options::default())
        .unwrap()
        .policy
        .unwrap()
}

fn message(time: &str, text: &str, confidence: f64) -> Event {
    Event {
        conversation: "c1".into(),
        text: Some(text.into()),
        confidence: Some(confidence),
        time: Some(chrono::DateTime::parse_from_rfc3339(time).unwrap().to_utc()),
        customer: [("name".to_string(), serde_json::json!("Dana Reyes"))].into(),
        ..Event::default()
    }
}

/// Two weak answers: "where do I park" then a rephrase with an email in it.
fn two_failures(day: &str, hour_utc: &str) -> (Decision, ConversationState) {
    let p = policy();
    let (first, state) = decide(
        &p,
        &ConversationState::default(),
        &message(&format!("{day}T{hour_utc}:00:00Z"), "Where do I park for my appointment?", 0.3),
        now(),
    );
    assert_eq!(first.action, Action::Answer);
    let bot = Event {
        kind: handrail::eval::EventKind::BotReply,
        text: Some("Our address is 12 Main St.".into()),
        ..message(&format!("{day}T{hour_utc}:00:30Z"), "", 0.9)
    };
    let (_, state) = decide(&p, &state, &Event { confidence: None, ..bot }, now());
    decide(
        &p,
        &state,
        &message(
            &format!("{day}T{hour_utc}:01:00Z"),
            "That didn't help. Where can I park? Reach me at dana@example.com",
            0.25,
        ),
        now(),
    )
}

#[test]
fn a_bot_that_fails_twice_hands_off_to_an_open_queue_with_the_packet() {
    // Monday 5 January 2026, 10:00 in Chicago (16:00 UTC): the front desk is open.
    let (d, state) = two_failures("2026-01-05", "16");
    assert_eq!(d.action, Action::Handoff);
    assert_eq!(d.reasons[0], handrail::compile::policy::ReasonCode::RepeatedFailure);
    let route = d.route.as_ref().unwrap();
    assert!(route.open_now && route.queue == "front_desk" && route.channel.name() == "live_chat");
    assert!(route.message.contains("connecting you with a person now; the wait is a few minutes"));
    assert_eq!(state.phase, Phase::Waiting);
    let packet = d.handoff.as_ref().expect("a packet on handoff");
    assert_eq!(packet.transcript.len(), 3, "two customer turns and the bot's answer");
    assert_eq!(packet.identity.name.as_ref().unwrap().value, "Dana Reyes");
    assert_eq!(packet.identity.email.as_ref().unwrap().value, "dana@example.com");
    assert!(packet.summary.wants.contains("Where do I park"));
    assert!(packet.summary.tried.contains("1 bot answer(s), 2 of them failed"), "{}", packet.summary.tried);
    assert!(packet.summary.why.contains("failed repeatedly"));
    assert_eq!(packet.reasons[0], "repeated_failure");
}

#[test]
fn the_same_conversation_at_23_00_gets_an_honest_capture() {
    // Monday 23:00 in Chicago (Tuesday 05:00 UTC): the front desk opens at 07:30, replies 30 minutes later.
    let (d, _) = two_failures("2026-01-06", "05");
    assert_eq!(d.action, Action::Capture);
    let route = d.route.as_ref().unwrap();
    assert!(!route.open_now && route.channel.name() == "ticket");
    assert_eq!(route.message, "We've opened a ticket; the front desk will reply by 08:00 tomorrow.");
    assert_eq!(route.follow_up_by.as_deref(), Some("2026-01-06T08:00:00-06:00"));
    assert!(
        d.say.iter().all(|s| !s.contains("connecting")),
        "never a live-transfer message when nobody is there"
    );
    assert!(d.handoff.is_some(), "the packet is ready for whoever picks up the ticket");
}

#[test]
fn an_emergency_while_waiting_still_gets_the_emergency_response() {
    let (_, state) = two_failures("2026-01-05", "16");
    let (d, next) =
        decide(&policy(), &state, &message("2026-01-05T16:05:00Z", "now I have chest pain", 0.9), now());
    assert_eq!(d.action, Action::Emergency);
    assert!(d.say.iter().any(|s| s.contains("call 911")));
    assert_eq!(next.phase, Phase::Waiting);
}

#[test]
fn a_customer_with_a_person_gets_hold() {
    let (_, state) = two_failures("2026-01-05", "16");
    let joined =
        Event { kind: handrail::eval::EventKind::AgentJoined, ..message("2026-01-05T16:06:00Z", "", 0.9) };
    let (_, state) = decide(&policy(), &state, &Event { text: None, ..joined }, now());
    let (d, _) = decide(&policy(), &state, &message("2026-01-05T16:07:00Z", "I want a refund", 0.9), now());
    assert_eq!(d.action, Action::Hold);
    assert!(d.handoff.is_none(), "no second packet: the person already has the conversation");
}

#[test]
fn a_vip_or_a_frustrated_customer_is_routed_with_high_priority() {
    let p = policy();
    let mut e = message("2026-01-05T16:00:00Z", "I need a human", 0.9);
    let (d, _) = decide(&p, &ConversationState::default(), &e, now());
    assert_eq!(d.route.unwrap().priority, handrail::compile::policy::Priority::Normal);
    e.customer.insert("tier".into(), serde_json::json!("vip"));
    let (d, _) = decide(&p, &ConversationState::default(), &e, now());
    assert_eq!(d.route.unwrap().priority, handrail::compile::policy::Priority::High);

    // The bump is the policy's convention, not the engine's: a policy that ranks `gold` instead ranks it.
    let mut gold = policy();
    gold.conventions.priority_tiers = vec!["gold".into()];
    let (d, _) = decide(&gold, &ConversationState::default(), &e, now());
    assert_eq!(
        d.route.unwrap().priority,
        handrail::compile::policy::Priority::Normal,
        "vip is no longer special"
    );
    e.customer.insert("tier".into(), serde_json::json!("gold"));
    let (d, _) = decide(&gold, &ConversationState::default(), &e, now());
    assert_eq!(d.route.unwrap().priority, handrail::compile::policy::Priority::High);
}

/// A packet carries earlier turns, so it is redacted and kept under the strictest retention of its conversation:
/// an SSN typed in a message whose retention class redacts SSNs stayed in clear in a later packet whose own
/// message matched no retention rule.
#[test]
fn a_later_packet_is_redacted_and_kept_under_the_conversations_strictest_retention() {
    let source = r#"
        policy t { version "1" safe_queue desk }
        phrases human { "human" }
        phrases health { "diagnosis" }
        @id("REQ") request human { when says human route desk }
        retain phi { when says health keep 6 years redact ssn }
        queue desk { hours "24/7" }
    "#;
    let p = handrail::compile::compile_source("t.policy", source, &Options::default()).policy.unwrap();
    let (first, state) = decide(
        &p,
        &ConversationState::default(),
        &message("2026-01-05T16:00:00Z", "my diagnosis came back; my ssn is 123-45-6789", 0.9),
        now(),
    );
    assert_eq!(first.action, Action::Answer);
    let kept_until = first.retention.as_ref().unwrap().keep_until;
    let (d, _) = decide(&p, &state, &message("2026-01-05T16:01:00Z", "a human please", 0.9), now());
    assert!(d.retention.is_none(), "this message matches no retention rule");
    let packet = d.handoff.unwrap();
    assert_eq!(&*packet.transcript[0].text, "my diagnosis came back; my ssn is [ssn]");
    let retention = packet.retention.unwrap();
    assert_eq!(retention.class, "phi");
    assert!(retention.keep_until >= kept_until, "the packet is never purged before a message it carries");
}
