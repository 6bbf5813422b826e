//! A realistic synthetic audit log: many conversations over weeks with a mix of outcomes, decided by the engine
//! and recorded through [`evidence`](crate::evidence) exactly as `handrail eval --audit` records them. The
//! benchmark of `report` and `whatif` (`benches/review.rs`) reads one of a million decisions; tests use small
//! ones.
//!
//! Each conversation draws its story from a seeded generator (the same seed gives the same log, but for the
//! salts): a question the bot answers well, a shaky answer the customer walks away from, a request for a
//! person, a billing problem, two weak answers in a row; after an escalation a person joins (after a wait of a
//! few seconds to an hour) and replies, or the customer gives up first; conversations close resolved,
//! unresolved, or go quiet.

use chrono::{DateTime, Duration, Utc};

use crate::audit::{AuditError, AuditLog};
use crate::eval::{CloseOutcome, EventKind};
use crate::{ConversationState, Event, Policy};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop once this many decisions are recorded (the last conversation is finished first).
    pub decisions: u64,
    /// Over how many weeks the conversations start.
    pub weeks: u32,
    /// When the first one starts.
    pub start: DateTime<Utc>,
    /// The seed of the story generator.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            decisions: 10_000,
            weeks: 6,
            start: DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
            seed: 1,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    /// Conversations.
    pub conversations: u64,
    /// Decisions recorded.
    pub decisions: u64,
}

/// A small, fast, seeded generator (SplitMix64): the log needs variety, not cryptographic randomness.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..1`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.next() % items.len().max(1) as u64).unwrap_or_default();
        items.get(i).copied().unwrap_or_default()
    }

    fn minutes(&mut self, low: i64, high: i64) -> Duration {
        let span = u64::try_from(high.saturating_sub(low).max(1)).unwrap_or(1);
        Duration::seconds(
            low.saturating_mul(60).saturating_add(i64::try_from(self.next() % (span * 60)).unwrap_or(0)),
        )
    }
}

const QUESTIONS: &[&str] = &[
    "what are your opening hours?",
    "do you ship to Canada?",
    "where is my parcel?",
    "can I change my delivery address?",
    "how do I reset my password?",
    "is the blue jacket back in stock?",
    "how long does a return take?",
    "my email is sam@example.com, can you update my account",
];
const BILLING: &[&str] =
    &["I was charged twice for my order", "I want a refund", "there is a double charge on my card"];
const HUMAN: &[&str] = &["I want to talk to a person", "can I speak to a human please", "get me an agent"];
const FLAT: &[&str] = &["ok", "whatever", "never mind", "fine"];

/// Appends a generated history to `log`, deciding each event under `policy` (a `policy_deployed` record first).
/// The log is committed every few thousand records and at the end.
pub fn generate(
    log: &mut AuditLog,
    policy: &Policy,
    options: &Options,
    progress: super::Progress<'_>,
) -> Result<Generated, AuditError> {
    log.append(options.start, crate::evidence::deployed(policy))?;
    let mut dice = Dice(options.seed);
    let mut done = Generated::default();
    let span = Duration::weeks(i64::from(options.weeks.max(1)));
    // About six decisions per conversation: spread the starts so the last begins near the end of the span.
    let expected = (options.decisions / 6).max(1);
    let gap = span / i32::try_from(expected).unwrap_or(i32::MAX).max(1);
    let mut start = options.start;
    while done.decisions < options.decisions {
        let id = format!("g{}", done.conversations);
        let mut state = ConversationState::default();
        let mut time = start;
        let mut events: Vec<Event> = Vec::new();
        let roll = dice.unit();
        // Three in five conversations on the web, one in five by SMS, one on WhatsApp (from the conversation's
        // number, so the dice, and every other figure of the log, stay as they were).
        let channel = ["web", "sms", "web", "whatsapp", "web"].get(done.conversations as usize % 5).copied();
        let message = |text: &str, confidence: f64, time: DateTime<Utc>| Event {
            conversation: id.clone(),
            text: Some(text.to_string()),
            confidence: Some((confidence * 100.0).round() / 100.0),
            time: Some(time),
            channel: channel.map(str::to_string),
            ..Event::default()
        };
        let lifecycle =
            |kind: EventKind, time: DateTime<Utc>, text: Option<&str>, outcome: Option<CloseOutcome>| Event {
                conversation: id.clone(),
                kind,
                text: text.map(str::to_string),
                time: Some(time),
                outcome,
                ..Event::default()
            };
        if roll < 0.25 {
            // Escalated: a request, a billing problem, or two weak answers.
            let first = match dice.next() % 3 {
                0 => message(dice.pick(HUMAN), 0.9, time),
                1 => message(dice.pick(BILLING), 0.5 + dice.unit() * 0.4, time),
                _ => {
                    events.push(message(dice.pick(QUESTIONS), 0.1 + dice.unit() * 0.2, time));
                    time += dice.minutes(0, 2);
                    message(dice.pick(QUESTIONS), 0.1 + dice.unit() * 0.2, time)
                }
            };
            events.push(first);
            if dice.unit() < 0.8 {
                let longest = if dice.unit() < 0.9 { 10 } else { 60 };
                time += dice.minutes(0, longest);
                events.push(lifecycle(EventKind::AgentJoined, time, None, None));
                for _ in 0..=(dice.next() % 3) {
                    time += dice.minutes(1, 5);
                    events.push(lifecycle(EventKind::AgentReply, time, Some("Let me help with that."), None));
                }
                time += dice.minutes(1, 10);
                let outcome =
                    if dice.unit() < 0.85 { CloseOutcome::Resolved } else { CloseOutcome::Unresolved };
                events.push(lifecycle(EventKind::Closed, time, None, Some(outcome)));
            } else {
                time += dice.minutes(5, 40);
                events.push(lifecycle(EventKind::CustomerInactive, time, None, None));
            }
        } else {
            // The bot answers: well, or shakily.
            let shaky = dice.unit() < 0.2;
            let confidence = if shaky { 0.36 + dice.unit() * 0.2 } else { 0.7 + dice.unit() * 0.3 };
            events.push(message(dice.pick(QUESTIONS), confidence, time));
            time += dice.minutes(0, 1);
            events.push(lifecycle(EventKind::BotReply, time, Some("Here is what I found."), None));
            if dice.unit() < 0.5 {
                time += dice.minutes(1, 4);
                events.push(message(dice.pick(QUESTIONS), 0.7 + dice.unit() * 0.3, time));
            }
            time += dice.minutes(1, 20);
            let end = dice.unit();
            if shaky && end < 0.4 {
                events.push(lifecycle(EventKind::CustomerInactive, time, None, None));
            } else if shaky && end < 0.7 {
                events.push(message(dice.pick(FLAT), 0.9, time));
                events.push(lifecycle(EventKind::Closed, time + Duration::seconds(30), None, None));
            } else {
                events.push(lifecycle(EventKind::Closed, time, None, Some(CloseOutcome::Resolved)));
            }
        }
        for event in events {
            let at = event.time.unwrap_or(time);
            let (decision, next) = crate::decide(policy, &state, &event, at);
            let stored = crate::evidence::stored_event(&event, &decision, &next);
            crate::evidence::record(log, &decision, &next, stored)?;
            state = next;
            done.decisions += 1;
            if done.decisions % 4096 == 0 {
                log.commit()?;
                progress(done.decisions, options.decisions);
            }
        }
        done.conversations += 1;
        start += gap;
    }
    log.commit()?;
    progress(done.decisions, options.decisions);
    Ok(done)
}
