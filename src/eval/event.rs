//! Events in, as the caller sends them (one JSON object per event), and the conversation state kept between them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One conversation event.
///
/// Unknown fields are refused (a misspelt `confidnce` must not be silently ignored). Every field but the kind
/// is optional: a comparison on a field the event does not carry is false.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The conversation it belongs to (`"default"` when absent).
    #[serde(default = "default_conversation")]
    pub conversation: String,
    /// What happened (`message` when absent).
    #[serde(rename = "type", default)]
    pub kind: EventKind,
    /// The customer's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// When it happened (UTC, RFC 3339). The CLI fills in the clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    /// The bot's retrieval confidence for the answer it would give, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Upstream sentiment, -1 (negative) to 1 (positive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f64>,
    /// Upstream intent labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<String>,
    /// The channel the customer writes on (`web`, `sms`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The page the customer is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Customer attributes (`tier`, `tags`, ...), tested as `customer.<attribute>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub customer: BTreeMap<String, serde_json::Value>,
    /// Explicit feedback on the bot's previous answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// Which queues have agents online now; a queue not listed is assumed staffed in its hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents_online: Option<BTreeMap<String, bool>>,
}

fn default_conversation() -> String {
    "default".to_string()
}

/// What an event is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The customer wrote something.
    #[default]
    Message,
    /// The bot answered (its `text` goes into the transcript; a `confidence` below the fallback's threshold is a
    /// weak answer and counts a strike). Send the confidence on the message or on the reply, not both.
    BotReply,
    /// The customer rated the bot's previous answer.
    Feedback,
    /// An agent joined: a person owns the conversation.
    AgentJoined,
    /// The agent handed the conversation back to the bot.
    HandBack,
    /// The conversation ended.
    Closed,
}

/// Explicit feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Thumbs up.
    Positive,
    /// Thumbs down.
    Negative,
}

impl Feedback {
    /// The value a condition compares with.
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Positive => "positive",
            Feedback::Negative => "negative",
        }
    }
}

/// The largest message evaluated, in bytes. A longer one is refused (fail safe to a person), so the cost of a
/// decision stays bounded.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// A field of an event that is out of its range, in words naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct EventError {
    /// The field.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl Event {
    /// Parses one JSON event. The error names the field and position. Ranges are checked by
    /// [`Event::validate`], which [`crate::eval::decide`] calls (an out-of-range event fails safe to a person).
    pub fn from_json(line: &str) -> Result<Event, String> {
        serde_json::from_str(line).map_err(|e| describe_json_error(&e))
    }

    /// Checks ranges and limits that JSON types cannot express.
    pub fn validate(&self) -> Result<(), EventError> {
        let range = |field: &'static str, v: Option<f64>, lo: f64, hi: f64| match v {
            Some(v) if !(lo..=hi).contains(&v) => {
                Err(EventError { field, problem: format!("must be between {lo} and {hi}, not {v}") })
            }
            _ => Ok(()),
        };
        range("confidence", self.confidence, 0.0, 1.0)?;
        range("sentiment", self.sentiment, -1.0, 1.0)?;
        if let Some(text) = &self.text
            && text.len() > MAX_TEXT_BYTES
        {
            return Err(EventError {
                field: "text",
                problem: format!("is {} bytes, over the limit of {MAX_TEXT_BYTES}", text.len()),
            });
        }
        Ok(())
    }
}

/// serde's message, which already names the field (`unknown field \`confidnce\``, `invalid type ... for
/// \`confidence\``), in our lowercase style.
fn describe_json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    format!("{message} (column {})", e.column())
}

/// Where the conversation is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The bot is answering.
    #[default]
    Bot,
    /// Escalated and waiting for a person; the bot gathers details and does not re-queue.
    Waiting,
    /// A person owns the conversation; the bot holds.
    Human,
    /// The conversation ended.
    Closed,
}

/// What the engine remembers about a conversation between events: small and serialisable, so a caller may keep
/// it instead of the engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationState {
    /// Where the conversation is.
    pub phase: Phase,
    /// Customer messages so far.
    pub turn: u32,
    /// Failures in a row.
    pub strikes: u32,
    /// The previous customer message (for rephrase detection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<String>,
    /// Disclaimers already shown (for `show once`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disclaimers_shown: Vec<String>,
    /// The queue the conversation waits in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The conversation so far (the last [`MAX_TRANSCRIPT_TURNS`] turns), for the handoff packet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<crate::handoff::Turn>,
}

/// The most turns a conversation state keeps; older ones are dropped first.
pub const MAX_TRANSCRIPT_TURNS: usize = 100;

impl ConversationState {
    /// Adds a turn to the transcript, dropping the oldest beyond [`MAX_TRANSCRIPT_TURNS`].
    pub fn record(&mut self, role: crate::handoff::Role, time: DateTime<Utc>, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.transcript.len() >= MAX_TRANSCRIPT_TURNS {
            self.transcript.remove(0);
        }
        self.transcript.push(crate::handoff::Turn { role, time, text: text.to_string() });
    }
}
