//! The compiled policy: what `eval` runs. Names are resolved to indices, phrases are in one automaton, rules are
//! sorted by precedence, and nothing here can fail to evaluate.

use crate::syntax::ast;
use crate::text::Matcher;

pub use crate::route::{Priority, Queue, Target};

/// A compiled policy, ready for [`crate::eval::decide`].
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy id from its header.
    pub id: String,
    /// Its title, if given.
    pub title: Option<String>,
    /// Its version (`"0"` when none is given).
    pub version: String,
    /// SHA-256 (hex) of the sources it was compiled from, pack first, framed by length: decisions carry it so
    /// they can be replayed against exactly this policy.
    pub hash: String,
    /// The policy's time zone.
    pub timezone: chrono_tz::Tz,
    /// Where decisions go when an event cannot be evaluated.
    pub safe_queue: String,
    /// Phrase sets, by index.
    pub phrase_sets: Vec<PhraseSetInfo>,
    /// Every phrase, by the index the matcher reports.
    pub phrases: Vec<PhraseInfo>,
    /// One automaton over every phrase.
    pub matcher: Matcher,
    /// Rules, in precedence order: tier, then `rank` (higher first), then id.
    pub rules: Vec<Rule>,
    /// The confidence fallback.
    pub fallback: Fallback,
    /// Disclaimers, by index.
    pub disclaimers: Vec<Disclaimer>,
    /// Retention rules.
    pub retention: Vec<Retention>,
    /// Queues, by name.
    pub queues: Vec<Queue>,
    /// The files compiled, pack first.
    pub files: Vec<String>,
    /// The same files with their texts, pack first: what `hash` is over, recorded when the policy is deployed
    /// so that `handrail audit replay` can compile exactly this policy again ([`crate::compile::compile_sources`]).
    pub sources: Vec<crate::diagnostic::Source>,
    /// What the engine says and assumes where the language has no words for it yet.
    pub conventions: Conventions,
}

/// Customer-facing sentences and priority rules the evaluator applies, held by the policy (issue 12: policy
/// does not hide in the engine). The compiler sets the defaults; an embedder may change them on its `Policy`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conventions {
    /// Told a customer who is already waiting for a person and asks again; `{queue}` is the queue's name.
    pub waiting: String,
    /// Told when a route names a queue the policy lacks (the compiler rules this out; it is the safe answer).
    pub unknown_queue: String,
    /// Customers whose `tier` attribute is one of these are routed at `high` priority at least.
    pub priority_tiers: Vec<String>,
    /// Above this frustration score a handoff is `high` priority at least, unless the fallback sets its own
    /// `frustration above`.
    pub upset_above: f64,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            waiting: "You're in the queue for {queue}; a person will pick up this conversation with everything you've written so far.".into(),
            unknown_queue: "We've passed on your message and someone will get back to you.".into(),
            priority_tiers: vec!["vip".into()],
            upset_above: 0.7,
        }
    }
}

impl Policy {
    /// A queue by name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }

    /// A rule by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The policy's queues, as routing needs them.
    pub fn directory(&self) -> crate::route::Directory<'_> {
        crate::route::Directory {
            queues: &self.queues,
            safe_queue: &self.safe_queue,
            unknown_queue: &self.conventions.unknown_queue,
        }
    }
}

/// A phrase set.
#[derive(Debug, Clone)]
pub struct PhraseSetInfo {
    /// Its name.
    pub name: String,
    /// How many phrases and proximities it has (not counting the sets it includes).
    pub len: usize,
    /// How its words may vary (`stem`, `typos`).
    pub variation: crate::text::Variation,
    /// For a side of a proximity written as a quoted phrase, the set whose proximity it is: such a set has no
    /// name of its own and counts only as that side.
    pub side_of: Option<u32>,
}

/// A phrase or proximity, by the index its hits carry.
#[derive(Debug, Clone)]
pub struct PhraseInfo {
    /// The set it belongs to.
    pub set: u32,
    /// The phrase as written (a proximity as `a near b within 3 words`).
    pub text: String,
    /// Where it was written.
    pub location: crate::diagnostic::Location,
    /// `@reviewed("...")`: may stand alone although it looks generic.
    pub reviewed: bool,
    /// Whether it is a proximity rather than a quoted phrase.
    pub proximity: bool,
}

/// The reason code a rule's tier gives its decisions.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum ReasonCode {
    /// An emergency rule.
    Emergency,
    /// An explicit request for a person.
    ExplicitRequest,
    /// A hard-route topic.
    HardRoute,
    /// An `escalate` rule that tests what the customer said or an upstream intent.
    Topic,
    /// An `escalate` rule on business facts only (tier, page, time).
    BusinessRule,
    /// The bot's confidence is below the hand-off floor.
    LowConfidence,
    /// Failures in a row reached the strike limit.
    RepeatedFailure,
    /// The customer repeated the previous question.
    Rephrase,
    /// The frustration score is above the threshold.
    Frustration,
    /// The customer gave negative feedback.
    Feedback,
    /// The event could not be evaluated: fail safe to a person.
    EngineError,
    /// No rule and no fallback applied.
    Default,
}

impl ReasonCode {
    /// The code as written in decisions, audit records and test cases.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The stable id (`@id`, or the name when there is none).
    pub id: String,
    /// The rule's name.
    pub name: String,
    /// Its tier.
    pub tier: Tier,
    /// The reason code its decisions carry.
    pub reason: ReasonCode,
    /// When it matches.
    pub when: Cond,
    /// What the customer is told.
    pub say: Option<String>,
    /// Where it routes (the policy's safe queue when none is given).
    pub route: Option<Target>,
    /// The priority of the route.
    pub priority: Priority,
    /// Disclaimers it attaches, by index.
    pub disclaimers: Vec<usize>,
    /// Whether negation stops it.
    pub negation: NegationMode,
    /// Tie-break between rules of one tier (higher wins).
    pub rank: u32,
    /// Locked by a pack: a compliance floor.
    pub locked: bool,
    /// `@cite`.
    pub cite: Option<String>,
    /// `@owner`.
    pub owner: Option<String>,
    /// `@message`: the business-readable explanation.
    pub message: Option<String>,
    /// `file:line` where it was defined.
    pub defined_at: String,
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Always true (a retention rule without `when`).
    True,
    /// All hold.
    And(Vec<Cond>),
    /// Any holds.
    Or(Vec<Cond>),
    /// Does not hold.
    Not(Box<Cond>),
    /// A phrase of the set occurs (negation handled per rule).
    Says(u32),
    /// The rule (by index in [`Policy::rules`]) matched this event.
    Matched(usize),
    /// A numeric field compared with a number.
    Number(NumberField, CompareOp, f64),
    /// A numeric field is one of several numbers.
    NumberIn(NumberField, Vec<f64>),
    /// A text field compared with text (`==`, `!=`, `starts_with`) or a list (`in`).
    Text(TextField, CompareOp, Vec<String>),
    /// The upstream intents include one of the values (`==`, `in`, `has`), or none of them (`!=`).
    Intent(CompareOp, Vec<String>),
    /// A customer attribute compared with a literal; the type is checked when the event arrives.
    Customer(String, CompareOp, Literal),
}

impl Cond {
    /// The phrase sets this condition tests with `says`, in order of appearance.
    pub fn phrase_sets(&self) -> Vec<u32> {
        let mut out = Vec::new();
        self.collect_sets(&mut out);
        out
    }

    fn collect_sets(&self, out: &mut Vec<u32>) {
        match self {
            Cond::Says(set) => out.push(*set),
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| p.collect_sets(out)),
            Cond::Not(inner) => inner.collect_sets(out),
            _ => {}
        }
    }
}

/// A literal in a customer comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<Literal>),
}

/// A literal as the author writes it: `"vip"`, `3`, `true`, `["gold", "vip"]`.
impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Text(t) => f.write_str(&crate::syntax::print::quote(t)),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::List(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
        }
    }
}

/// Numeric fields of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum NumberField {
    /// The bot's retrieval confidence, 0 to 1.
    Confidence,
    /// Upstream sentiment, -1 to 1.
    Sentiment,
    /// handrail's frustration score, 0 to 1.
    Frustration,
    /// Failures in a row.
    Strikes,
    /// The customer's message count in this conversation, from 1.
    Turn,
    /// The hour of day in the policy's time zone, 0 to 23.
    Hour,
}

impl NumberField {
    /// The field's name in the policy language.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Text fields of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum TextField {
    /// `positive` or `negative`.
    Feedback,
    /// The channel the customer writes on.
    Channel,
    /// The page they are on.
    Page,
    /// `Mon` to `Sun` in the policy's time zone.
    Weekday,
}

impl TextField {
    /// The field's name in the policy language.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The confidence fallback's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// An answer below this confidence is weak and counts a strike.
    pub weak_below: Option<f64>,
    /// Below this confidence, hand off at once.
    pub handoff_below: Option<f64>,
    /// Hand off after this many failures in a row.
    pub strikes: Option<u32>,
    /// Hand off above this frustration score.
    pub frustration_above: Option<f64>,
    /// The phrase set that raises frustration.
    pub frustration_phrases: Option<u32>,
    /// A message this similar to the previous one is a rephrase.
    pub rephrase_above: Option<f64>,
    /// The phrase set of dissatisfaction ("that didn't help").
    pub dissatisfied_phrases: Option<u32>,
    /// Where fallback handoffs go (the safe queue when none).
    pub route: Option<Target>,
    /// Priority of fallback handoffs.
    pub priority: Priority,
    /// What the customer is told.
    pub say: Option<String>,
}

/// A disclaimer.
#[derive(Debug, Clone)]
pub struct Disclaimer {
    /// Its name.
    pub name: String,
    /// Its words.
    pub text: String,
    /// When it is shown.
    pub show: ShowMode,
    /// Shown whenever this holds, besides rules naming it.
    pub when: Option<Cond>,
}

/// A retention rule: a data class.
#[derive(Debug, Clone)]
pub struct Retention {
    /// The class name.
    pub class: String,
    /// When it applies (`Cond::True` for a default class).
    pub when: Cond,
    /// How long, in days, months or years.
    pub keep: (u32, PeriodUnit),
    /// Fields redacted before storing or transferring.
    pub redact: Vec<crate::handoff::PiiKind>,
    /// Never purge.
    pub legal_hold: bool,
    /// `@cite`.
    pub cite: Option<String>,
}

// The compiled policy's own vocabulary: the same words as the parser's AST, so that `eval` and everything after
// the compiler never see the AST (issue 12). Each is converted from its AST twin once, in `compile`.
macro_rules! lowered_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl From<ast::$name> for $name {
            fn from(x: ast::$name) -> Self {
                match x {
                    $(ast::$name::$variant => $name::$variant),*
                }
            }
        }
    };
}

lowered_enum! {
    /// The four rule tiers, highest precedence first.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, strum::IntoStaticStr)]
    #[strum(serialize_all = "snake_case")]
    Tier {
        /// `emergency`.
        Emergency,
        /// `request`: an explicit request for a person.
        Request,
        /// `hard_route`: a topic the bot must never answer.
        HardRoute,
        /// `escalate`: topic and business rules.
        Escalate,
    }
}

impl Tier {
    /// The keyword that introduces a rule of this tier.
    pub fn keyword(self) -> &'static str {
        self.into()
    }
}

lowered_enum! {
    /// A comparison operator.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    CompareOp {
        /// `==`.
        Eq,
        /// `!=`.
        Ne,
        /// `<`.
        Lt,
        /// `<=`.
        Le,
        /// `>`.
        Gt,
        /// `>=`.
        Ge,
        /// `in`: the field's value is one of a list.
        In,
        /// `has`: the field is a list containing the value.
        Has,
        /// `starts_with`: the field is text starting with the value.
        StartsWith,
    }
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::In => "in",
            CompareOp::Has => "has",
            CompareOp::StartsWith => "starts_with",
        }
    }
}

lowered_enum! {
    /// Whether negation stops a rule.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    NegationMode {
        /// "I don't need an agent" does not match.
        Respected,
        /// Negation is ignored: the phrase matches anyway.
        Ignored,
    }
}

lowered_enum! {
    /// When a disclaimer is shown.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    ShowMode {
        /// Once per conversation.
        Once,
        /// Every time it applies.
        Always,
        /// On the first message of a conversation.
        FirstMessage,
    }
}

lowered_enum! {
    /// The unit of a retention period.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    PeriodUnit {
        /// Days.
        Days,
        /// Calendar months.
        Months,
        /// Calendar years.
        Years,
    }
}
