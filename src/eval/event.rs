//! Events in, as the caller sends them (one JSON object per event), and the conversation state kept between them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One conversation event.
///
/// Unknown fields are refused (a misspelt `confidnce` must not be silently ignored). Every field but the kind
/// is optional: a comparison on a field the event does not carry is false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// How a `closed` conversation ended, as the caller knows it (only on `closed` events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CloseOutcome>,
}

fn default_conversation() -> String {
    "default".to_string()
}

/// A message with no fields, in the `"default"` conversation: what `{}` decodes to (an empty conversation id
/// is refused, so the default must not be one).
impl Default for Event {
    fn default() -> Self {
        Event {
            conversation: default_conversation(),
            kind: EventKind::default(),
            text: None,
            time: None,
            confidence: None,
            sentiment: None,
            intents: Vec::new(),
            channel: None,
            page: None,
            customer: BTreeMap::new(),
            feedback: None,
            agents_online: None,
            outcome: None,
        }
    }
}

/// What an event is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// The conversation ended (its `outcome`, when the caller knows it, says how).
    Closed,
    /// The customer went quiet: the caller's inactivity timeout passed without a message from them. The bot
    /// holds; `handrail report` reads it as the customer leaving (while waiting: an abandoned handoff).
    CustomerInactive,
    /// A person answered the customer (its `text` joins the transcript). The bot holds; `handrail report` counts
    /// agent replies to find handoffs that one reply resolved.
    AgentReply,
}

impl EventKind {
    /// The name written in the `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Message => "message",
            EventKind::BotReply => "bot_reply",
            EventKind::Feedback => "feedback",
            EventKind::AgentJoined => "agent_joined",
            EventKind::HandBack => "hand_back",
            EventKind::Closed => "closed",
            EventKind::CustomerInactive => "customer_inactive",
            EventKind::AgentReply => "agent_reply",
        }
    }
}

/// How a conversation ended, on a `closed` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseOutcome {
    /// The customer's need was met.
    Resolved,
    /// It was not (the customer gave up, or the agent could not help).
    Unresolved,
    /// The customer left (closed the window, stopped answering).
    CustomerLeft,
}

impl CloseOutcome {
    /// The name written in the `outcome` field.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseOutcome::Resolved => "resolved",
            CloseOutcome::Unresolved => "unresolved",
            CloseOutcome::CustomerLeft => "customer_left",
        }
    }
}

/// Explicit feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Feedback {
    /// Thumbs up.
    Positive,
    /// Thumbs down.
    Negative,
}

impl Feedback {
    /// The value a condition compares with.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The largest message evaluated, in bytes. A longer one is refused (fail safe to a person), so the cost of a
/// decision stays bounded; the fail-safe still scans its first [`MAX_TEXT_BYTES`] for an emergency.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// The longest event line `handrail eval` reads, in bytes (room for a message at [`MAX_TEXT_BYTES`] written
/// entirely in `\uXXXX` escapes, and the other fields). A longer line is refused while it is read, never held
/// whole in memory: it gets a fail-safe decision and the stream goes on.
pub const MAX_EVENT_LINE_BYTES: usize = 1024 * 1024;

/// The `conversation` of a fail-safe decision for a line whose conversation id could not be read. No event may
/// use it (an empty `conversation` is refused), so such a decision never lands in, or changes the state of, a
/// real conversation.
pub const UNKNOWN_CONVERSATION: &str = "";

/// Every field of an event, and what it must be, in the words of an error message.
const FIELDS: [(&str, &str); 13] = [
    ("conversation", "a non-empty string"),
    (
        "type",
        "one of `message`, `bot_reply`, `feedback`, `agent_joined`, `agent_reply`, `hand_back`, `customer_inactive` or `closed`",
    ),
    ("text", "a string"),
    ("time", "an RFC 3339 time such as `2026-11-24T15:00:00Z`"),
    ("confidence", "a number between 0 and 1"),
    ("sentiment", "a number between -1 and 1"),
    ("intents", "a list of strings"),
    ("channel", "a string"),
    ("page", "a string"),
    ("customer", "an object of attributes"),
    ("feedback", "`positive` or `negative`"),
    ("agents_online", "an object from queue names to true or false"),
    ("outcome", "one of `resolved`, `unresolved` or `customer_left`"),
];

/// A field of an event that is out of its range, in words naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct EventError {
    /// The field.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// A line that could not be read as an event: every problem, each naming the field and what it must be.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
#[non_exhaustive]
pub struct InvalidEvent {
    /// The problems, in the order of the fields.
    pub problems: Vec<String>,
}

/// An event line decoded: the event, and every problem with it. When there are problems, `event` holds what
/// could be salvaged (every field that is itself valid, the rest left out) for the fail-safe to scan: a crisis
/// written in a line with a misspelt field still gets the emergency response.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The event, or what could be salvaged of it.
    pub event: Event,
    /// What is wrong, each naming the field (empty: the event is valid).
    pub errors: Vec<String>,
}

impl Event {
    /// Parses one JSON event. The error names every field at fault and what it must be (`\`confidence\` must
    /// be a number between 0 and 1, found a string`); displayed, several are joined by `; `. Ranges are checked by
    /// [`Event::validate`], which [`crate::eval::decide`] calls (an out-of-range event fails safe to a person);
    /// [`decode`] does both at once.
    pub fn from_json(line: &str) -> Result<Event, InvalidEvent> {
        serde_json::from_str(line).map_err(|_| InvalidEvent { problems: decode(line).errors })
    }

    /// Checks ranges and limits that JSON types cannot express; the first problem.
    pub fn validate(&self) -> Result<(), EventError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every range or limit problem of the event.
    pub fn problems(&self) -> Vec<EventError> {
        let mut problems = Vec::new();
        let mut range = |field: &'static str, v: Option<f64>, lo: f64, hi: f64| {
            if let Some(v) = v
                && !(lo..=hi).contains(&v)
            {
                problems.push(EventError {
                    field,
                    problem: format!("must be a number between {lo} and {hi}, found {v}"),
                });
            }
        };
        range("confidence", self.confidence, 0.0, 1.0);
        range("sentiment", self.sentiment, -1.0, 1.0);
        if self.conversation.is_empty() {
            problems.push(EventError {
                field: "conversation",
                problem: "must be a non-empty string, found an empty one".into(),
            });
        }
        if self.outcome.is_some() && self.kind != EventKind::Closed {
            problems.push(EventError {
                field: "outcome",
                problem: format!("is only for `closed` events, found on a `{}` event", self.kind.as_str()),
            });
        }
        if let Some(text) = &self.text
            && text.len() > MAX_TEXT_BYTES
        {
            problems.push(EventError {
                field: "text",
                problem: format!("is {} bytes, over the limit of {MAX_TEXT_BYTES}", text.len()),
            });
        }
        problems
    }

    /// The event with every field that fails [`Event::problems`] made harmless: an out-of-range number left
    /// out, an over-long text cut to its first [`MAX_TEXT_BYTES`] (at a character boundary), an empty
    /// conversation id left as [`UNKNOWN_CONVERSATION`]. What the fail-safe evaluates.
    pub fn salvaged(&self) -> Event {
        let mut event = self.clone();
        event.confidence = event.confidence.filter(|c| (0.0..=1.0).contains(c));
        event.sentiment = event.sentiment.filter(|s| (-1.0..=1.0).contains(s));
        if event.kind != EventKind::Closed {
            event.outcome = None;
        }
        if let Some(text) = &mut event.text {
            truncate_at_char(text, MAX_TEXT_BYTES);
        }
        event
    }
}

/// Cuts `text` to at most `limit` bytes, at a character boundary.
pub(crate) fn truncate_at_char(text: &mut String, limit: usize) {
    if text.len() > limit {
        let mut at = limit;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
}

/// Decodes one event line, naming every field at fault and salvaging the rest (see [`Decoded`]).
///
/// A line that is not JSON at all is salvaged as a message whose text is the line itself (cut to
/// [`MAX_TEXT_BYTES`]) in [`UNKNOWN_CONVERSATION`]: the fail-safe can still find an emergency in it, and it
/// belongs to no conversation.
pub fn decode(line: &str) -> Decoded {
    let value: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            let mut text = line.to_string();
            truncate_at_char(&mut text, MAX_TEXT_BYTES);
            return Decoded {
                event: unknown_with_text(text),
                errors: vec![format!("not valid JSON: {message} (column {})", e.column())],
            };
        }
    };
    let serde_json::Value::Object(fields) = value else {
        return Decoded {
            event: unknown_with_text(String::new()),
            errors: vec![format!("an event must be a JSON object, found {}", kind_of(&value, false))],
        };
    };
    let mut errors = Vec::new();
    let mut good = serde_json::Map::new();
    let mut conversation_readable = true;
    for (name, value) in fields {
        let Some((field, expected)) = FIELDS.iter().find(|(f, _)| *f == name) else {
            let hint = crate::diagnostic::did_you_mean(&name, FIELDS.iter().map(|(f, _)| *f))
                .map(|f| format!(", did you mean `{f}`?"))
                .unwrap_or_else(|| {
                    format!(" (the fields are {})", FIELDS.map(|(f, _)| format!("`{f}`")).join(", "))
                });
            errors.push(format!("unknown field `{name}`{hint}"));
            continue;
        };
        // Each field alone, against the event's own types, so a wrong type is named by its field.
        let mut alone = serde_json::Map::new();
        alone.insert(name.clone(), value.clone());
        match serde_json::from_value::<Event>(serde_json::Value::Object(alone)) {
            Ok(_) => {
                good.insert(name, value);
            }
            Err(_) => {
                if *field == "conversation" {
                    conversation_readable = false;
                }
                let quoted = matches!(*field, "type" | "feedback" | "outcome");
                errors.push(format!("`{field}` must be {expected}, found {}", kind_of(&value, quoted)));
            }
        }
    }
    let mut event = match serde_json::from_value::<Event>(serde_json::Value::Object(good)) {
        Ok(event) => event,
        Err(e) => {
            // INVARIANT: every field was checked alone, so together they decode; should they not, the line still
            // fails safe.
            errors.push(format!("the event could not be decoded: {e}"));
            Event::default()
        }
    };
    if !conversation_readable {
        event.conversation = UNKNOWN_CONVERSATION.to_string();
    }
    for problem in event.problems() {
        if problem.field != "conversation" || conversation_readable {
            errors.push(problem.to_string());
        }
    }
    let event = if errors.is_empty() { event } else { event.salvaged() };
    Decoded { event, errors }
}

fn unknown_with_text(text: String) -> Event {
    Event {
        conversation: UNKNOWN_CONVERSATION.to_string(),
        text: (!text.is_empty()).then_some(text),
        ..Event::default()
    }
}

/// A JSON value's kind, for "found ...": `a string`, `a number`, `true or false`, `null`, `a list`, `an object`.
/// With `quoted`, a short string is shown (where the field takes one of a few words, the word matters).
fn kind_of(value: &serde_json::Value, quoted: bool) -> String {
    use serde_json::Value as V;
    match value {
        V::String(s) if quoted && s.chars().count() <= 30 && !s.chars().any(char::is_control) => {
            format!("`{s}`")
        }
        V::String(_) => "a string".into(),
        V::Number(_) => "a number".into(),
        V::Bool(_) => "true or false".into(),
        V::Null => "null".into(),
        V::Array(_) => "a list".into(),
        V::Object(_) => "an object".into(),
    }
}

/// Where the conversation is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    pub last_message: Option<std::sync::Arc<str>>,
    /// Disclaimers already shown (for `show once`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disclaimers_shown: Vec<String>,
    /// The queue the conversation waits in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The conversation so far (the last [`MAX_TRANSCRIPT_TURNS`] turns), for the handoff packet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<crate::handoff::Turn>,
    /// The strictest retention of the conversation so far: a later packet carries earlier turns, so it is
    /// redacted and kept under it, and `eval --audit` redacts every stored event of the conversation by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<super::decision::RetentionDecision>,
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
        self.transcript.push(crate::handoff::Turn { role, time, text: text.into() });
    }
}
