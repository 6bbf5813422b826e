//! The handoff packet: everything a person needs to pick up a conversation without asking the customer to repeat
//! themselves. Built by [`build`], a pure function of its input; its JSON shape is documented in
//! `docs/handoff.md`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::redact::{PiiKind, find, replaced};

/// Who said something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// The customer.
    Customer,
    /// The bot.
    Bot,
    /// A person.
    Agent,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// Who.
    pub role: Role,
    /// When.
    pub time: DateTime<Utc>,
    /// What they wrote. Shared: a conversation state is cloned per decision, and its turns with it, without
    /// copying their text.
    pub text: std::sync::Arc<str>,
}

/// A value found or supplied, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The value (or `[kind]` when the retention rule redacts that kind and it was found in free text).
    pub value: String,
    /// `supplied` (from the caller's own systems) or `turn N` (found in the transcript, from 1).
    pub source: String,
}

/// Who the customer is, and the references they gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Their name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Field>,
    /// Their email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Field>,
    /// Their phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Field>,
    /// An order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Field>,
    /// An account number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Field>,
}

/// A short extractive summary: sentences taken from the conversation, never invented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// What the customer wants: their first substantive message, and the latest if it differs.
    pub wants: String,
    /// What was tried: how many bot answers, and the last one.
    pub tried: String,
    /// Why it escalated, in words.
    pub why: String,
}

/// The retention the packet is stored and transferred under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketRetention {
    /// The data class.
    pub class: String,
    /// Keep until.
    pub keep_until: DateTime<Utc>,
    /// The kinds redacted.
    pub redact: Vec<String>,
}

/// The packet a person receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Packet {
    /// The conversation.
    pub conversation: String,
    /// When the handoff happened.
    pub created: DateTime<Utc>,
    /// Typed reason codes, the determining one first.
    pub reasons: Vec<String>,
    /// The determining rule ids.
    pub rules: Vec<String>,
    /// The queue.
    pub queue: String,
    /// Its priority.
    pub priority: String,
    /// The channel (`live_chat`, `ticket`, `email`, `callback`).
    pub channel: String,
    /// What the customer wants, what was tried, why it escalated.
    pub summary: Summary,
    /// Who the customer is.
    pub identity: Identity,
    /// The conversation, redacted per the retention rule.
    pub transcript: Vec<Turn>,
    /// How many pieces of each kind were redacted (never the values).
    pub redactions: BTreeMap<String, usize>,
    /// The retention class, if a rule matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<PacketRetention>,
}

/// What [`build`] needs.
#[derive(Debug, Clone)]
pub struct PacketInput<'a> {
    /// The conversation.
    pub conversation: &'a str,
    /// Now.
    pub time: DateTime<Utc>,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Determining rule ids.
    pub rules: Vec<String>,
    /// The queue, priority and channel.
    pub queue: &'a str,
    /// Priority name.
    pub priority: &'a str,
    /// Channel name.
    pub channel: &'a str,
    /// The transcript so far (unredacted).
    pub transcript: &'a [Turn],
    /// Failures in a row before the handoff.
    pub strikes: u32,
    /// What the caller knows (`name`, `email`, `phone`, `order`, `account`, ...).
    pub supplied: &'a BTreeMap<String, serde_json::Value>,
    /// The kinds the retention rule redacts.
    pub redact: &'a [PiiKind],
    /// The retention.
    pub retention: Option<PacketRetention>,
}

/// Builds the packet. Pure and deterministic.
pub fn build(input: PacketInput<'_>) -> Packet {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let transcript: Vec<Turn> = input
        .transcript
        .iter()
        .map(|t| {
            let found = find(&t.text, input.redact);
            for f in &found {
                *counts.entry(f.kind.name().to_string()).or_insert(0) += 1;
            }
            // Nothing redacted: the turn's text is shared, not copied.
            let text = if found.is_empty() { t.text.clone() } else { replaced(&t.text, &found).into() };
            Turn { role: t.role, time: t.time, text }
        })
        .collect();
    let identity = identity(input.transcript, input.supplied, input.redact);
    let summary = summary(&transcript, &input.reasons, &input.rules, input.strikes);
    Packet {
        conversation: input.conversation.to_string(),
        created: input.time,
        reasons: input.reasons,
        rules: input.rules,
        queue: input.queue.to_string(),
        priority: input.priority.to_string(),
        channel: input.channel.to_string(),
        summary,
        identity,
        transcript,
        redactions: counts,
        retention: input.retention,
    }
}

/// Identity from what was supplied (kept as is: it comes from the caller's systems) and from the customer's own
/// turns (the first occurrence; replaced by its marker when the retention rule redacts that kind).
pub fn identity(
    turns: &[Turn],
    supplied: &BTreeMap<String, serde_json::Value>,
    redacted: &[PiiKind],
) -> Identity {
    let given = |key: &str| {
        supplied
            .get(key)
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .map(|value| Field { value, source: "supplied".into() })
    };
    let mut name = given("name");
    let mut email = given("email");
    let mut phone = given("phone");
    let mut order = given("order");
    let mut account = given("account");
    // One walk over the customer's turns, each read once for what is still unknown, stopping when nothing is.
    for (i, t) in turns.iter().enumerate().filter(|(_, t)| t.role == Role::Customer) {
        let source = || format!("turn {}", i + 1);
        // Every kind searched for here but a name needs a digit or an `@`: most turns have neither.
        let (digit, at) =
            t.text.bytes().fold((false, false), |(d, a), b| (d || b.is_ascii_digit(), a || b == b'@'));
        let first = |slot: &mut Option<Field>, kind: PiiKind| {
            if slot.is_none()
                && let Some(f) = find(&t.text, &[kind]).first()
            {
                let value = if redacted.contains(&kind) {
                    format!("[{}]", kind.name())
                } else {
                    t.text.get(f.span.clone()).unwrap_or("").to_string()
                };
                *slot = Some(Field { value, source: source() });
            }
        };
        if at {
            first(&mut email, PiiKind::Email);
        }
        if digit {
            first(&mut phone, PiiKind::Phone);
            first(&mut account, PiiKind::AccountNumber);
            if order.is_none() {
                order = order_in(&t.text).map(|value| Field { value, source: source() });
            }
        }
        if name.is_none() {
            name = name_in(&t.text).map(|value| Field { value, source: source() });
        }
        if name.is_some() && email.is_some() && phone.is_some() && order.is_some() && account.is_some() {
            break;
        }
    }
    Identity { name, email, phone, order, account }
}

/// What introduces a name, in the order they are tried.
const NAME_CUES: [&str; 7] =
    ["my name is ", "this is ", "i'm ", "i am ", "me llamo ", "mi nombre es ", "soy "];

/// Words that follow "I'm" without being a name.
const NOT_NAMES: &[&str] = &[
    "Not",
    "So",
    "Very",
    "Really",
    "Just",
    "Still",
    "Trying",
    "Looking",
    "Having",
    "Getting",
    "Sorry",
    "Sure",
    "Fine",
    "Good",
    "Here",
    "Calling",
    "Writing",
    "Asking",
    "Frustrated",
    "Angry",
    "Confused",
    "Unable",
    "Going",
    "The",
    "A",
];

/// A name after "my name is", "this is", "I'm", "I am", "me llamo", "soy": one to three capitalised words.
fn name_in(text: &str) -> Option<String> {
    // Every cue in one pass over the text (ASCII case ignored, offsets the text's own); then the cues in order,
    // each at its first occurrence. Two occurrences of cues never overlap (each ends with a space, and no cue
    // begins with the end of another), so the plain search finds them all without the overlapping one's
    // bookkeeping. It still reads every byte of every customer turn: a packet at turn 50 spends most of its
    // time here.
    static CUES: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> = std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(NAME_CUES).ok()
    });
    let mut first = [None; NAME_CUES.len()];
    for m in CUES.as_ref()?.find_iter(text) {
        if let Some(slot @ None) = first.get_mut(m.pattern().as_usize()) {
            *slot = Some(m.start());
        }
    }
    for (cue, at) in NAME_CUES.iter().zip(first) {
        let Some(at) = at else { continue };
        if at > 0 && text.as_bytes().get(at - 1).is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        let rest = text.get(at + cue.len()..)?;
        let words: Vec<&str> = rest
            .split(|c: char| c.is_whitespace() || c == ',' || c == '.' || c == '!' || c == '?')
            .take_while(|w| {
                let mut chars = w.chars();
                chars.next().is_some_and(char::is_uppercase)
                    && chars.all(|c| c.is_alphabetic() || c == '-' || c == '\'')
                    && !NOT_NAMES.contains(w)
            })
            .take(3)
            .collect();
        if !words.is_empty() {
            return Some(words.join(" "));
        }
    }
    None
}

/// An order reference: a token with 3+ digits after "order" (and "number", "no", "#", ":").
fn order_in(text: &str) -> Option<String> {
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let at = find_ascii_ignoring_case(text, "order")? + "order".len();
    let rest = text.get(at..)?;
    rest.split(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .take(4)
        .map(|w| w.trim_start_matches('#').trim_end_matches(['.', '!', '?']))
        .find(|w| {
            w.bytes().filter(u8::is_ascii_digit).count() >= 3
                && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_string)
}

/// The byte offset in `text` of the first occurrence of the ASCII `needle`, ignoring ASCII case. Offsets are the
/// text's own (lowercasing a copy could change its length), and nothing is allocated.
fn find_ascii_ignoring_case(text: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (text.as_bytes(), needle.as_bytes());
    let first = needle.first()?;
    (0..hay.len().checked_sub(needle.len())? + 1).find(|&at| {
        hay.get(at).is_some_and(|b| b.eq_ignore_ascii_case(first))
            && hay.get(at..at + needle.len()).is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// The summary, taken from the (already redacted) transcript.
fn summary(transcript: &[Turn], reasons: &[String], rules: &[String], strikes: u32) -> Summary {
    let customer: Vec<&Turn> = transcript.iter().filter(|t| t.role == Role::Customer).collect();
    let first = customer.iter().find(|t| t.text.split_whitespace().count() >= 3).or(customer.first());
    let last = customer.last();
    let wants = match (first, last) {
        (Some(f), Some(l)) if f.text != l.text => format!("\"{}\" (latest: \"{}\")", f.text, l.text),
        (Some(f), _) => format!("\"{}\"", f.text),
        _ => "nothing written yet".to_string(),
    };
    let bot: Vec<&Turn> = transcript.iter().filter(|t| t.role == Role::Bot).collect();
    let tried = match bot.last() {
        None => "the bot had not answered yet".to_string(),
        Some(last) => {
            let failed =
                if strikes > 0 { format!(", {strikes} of them failed in a row") } else { String::new() };
            format!("{} bot answer(s){failed}; the last: \"{}\"", bot.len(), last.text)
        }
    };
    let why: Vec<String> = reasons
        .iter()
        .map(|r| match r.as_str() {
            "emergency" => "a possible emergency".to_string(),
            "explicit_request" => "the customer asked for a person".to_string(),
            "hard_route" => "a topic the bot must not handle".to_string(),
            "topic" => "a topic routed to people".to_string(),
            "business_rule" => "a business rule (customer, page or time)".to_string(),
            "low_confidence" => "the bot's answer was too uncertain".to_string(),
            "repeated_failure" => "the bot failed repeatedly".to_string(),
            "rephrase" => "the customer repeated the question".to_string(),
            "frustration" => "the customer is frustrated".to_string(),
            "feedback" => "the customer rated an answer as unhelpful".to_string(),
            "engine_error" => "handrail could not evaluate the message, so a person decides".to_string(),
            other => other.replace('_', " "),
        })
        .collect();
    let rules = if rules.is_empty() { String::new() } else { format!(" (rule {})", rules.join(", ")) };
    Summary { wants, tried, why: format!("{}{rules}", why.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: Role, text: &str) -> Turn {
        Turn { role, time: DateTime::<Utc>::default(), text: text.into() }
    }

    #[test]
    fn a_packet_carries_everything_an_agent_needs() {
        let turns = vec![
            turn(Role::Customer, "Hi, my name is Dana Reyes and my order #A1234 never arrived"),
            turn(Role::Bot, "You can track orders on the orders page."),
            turn(Role::Customer, "That didn't help. Email me at dana@example.com or call 555-201-7788"),
        ];
        let supplied = BTreeMap::from([("account".to_string(), serde_json::json!("AC-99812"))]);
        let p = build(PacketInput {
            conversation: "c1",
            time: DateTime::<Utc>::default(),
            reasons: vec!["repeated_failure".into()],
            rules: vec![],
            queue: "support",
            priority: "normal",
            channel: "live_chat",
            transcript: &turns,
            strikes: 2,
            supplied: &supplied,
            redact: &[PiiKind::Email, PiiKind::Phone],
            retention: None,
        });
        assert_eq!(p.identity.name.as_ref().unwrap().value, "Dana Reyes");
        assert_eq!(p.identity.order.as_ref().unwrap().value, "A1234");
        assert_eq!(p.identity.account.as_ref().unwrap().source, "supplied");
        assert_eq!(p.identity.email.as_ref().unwrap().value, "[email]");
        assert_eq!(&*p.transcript[2].text, "That didn't help. Email me at [email] or call [phone]");
        assert_eq!(p.redactions.get("email"), Some(&1));
        assert!(p.summary.wants.contains("never arrived"));
        assert!(p.summary.tried.contains("2 of them failed"));
        assert!(p.summary.why.contains("failed repeatedly"));
    }

    #[test]
    fn feelings_are_not_names() {
        assert_eq!(name_in("I'm Frustrated with this"), None);
        assert_eq!(name_in("hello, this is Priya"), Some("Priya".into()));
        assert_eq!(name_in("me llamo Lucía Gómez"), Some("Lucía Gómez".into()));
    }

    #[test]
    fn cues_are_found_in_any_case_at_the_text_own_offsets() {
        // `İ` lowercases to three bytes from two: a lowercased copy would put the name one byte off.
        assert_eq!(name_in("İstanbul office. MY NAME IS Ana Ruiz"), Some("Ana Ruiz".into()));
        assert_eq!(order_in("Ünïcode first, then ORDER #A-12345 please"), Some("A-12345".into()));
        assert_eq!(find_ascii_ignoring_case("abc", "abcd"), None);
        assert_eq!(find_ascii_ignoring_case("xxOrder", "order"), Some(2));
    }
}
