//! The abstract syntax tree of a policy file: what the officer wrote, with the position of every piece.
//!
//! Every node carries a [`Span`] (byte offsets into the source). Spans are for error messages and the
//! formatter; equality ignores them (`Span == Span` is always true), so `parse(fmt(x)) == parse(x)` compares
//! meaning, not layout.

use std::fmt;

/// A byte range in a policy source. Equality ignores spans: two spans always compare equal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        // INVARIANT: spans never take part in equality, so that reformatting a file leaves its AST equal.
        true
    }
}

/// A node with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The node.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

/// A name: of a rule, phrase set, queue, disclaimer, pack, retention class, field or priority.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// The name as written.
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A string literal, with its escapes resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    /// The value, escapes resolved.
    pub value: String,
    /// Where it was written, quotes included.
    pub span: Span,
}

/// A number literal.
#[derive(Debug, Clone)]
pub struct Number {
    /// Its value.
    pub value: f64,
    /// The digits as written, so the formatter prints `0.50` back as `0.50`.
    pub raw: String,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.value == other.value
    }
}

/// A whole number literal.
#[derive(Debug, Clone, PartialEq)]
pub struct Integer {
    /// Its value.
    pub value: u32,
    /// Where it was written.
    pub span: Span,
}

/// A comment, kept so that the formatter can put it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The text after `#`, without the line break.
    pub text: String,
    /// Where it was written, `#` included.
    pub span: Span,
}

/// A parsed policy file.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    /// The items, in source order.
    pub items: Vec<Item>,
    /// Every comment, in source order.
    pub comments: Vec<Comment>,
}

/// One top-level item with its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `@id("...")`, `@locked`, ... written before it.
    pub annotations: Vec<Annotation>,
    /// What it is.
    pub kind: ItemKind,
    /// From the first annotation to the closing brace.
    pub span: Span,
}

/// An annotation such as `@id("EMER-CARDIAC")` or `@locked`.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// `id`, `cite`, `owner`, `message`, `locked`.
    pub name: Name,
    /// The argument, if any.
    pub value: Option<Str>,
    /// From `@` to the closing parenthesis.
    pub span: Span,
}

/// The kinds of top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// `policy <id> { ... }`.
    Header(Header),
    /// `phrases <name> { ... }`.
    Phrases(PhraseSet),
    /// `extend phrases <name> { ... }`.
    ExtendPhrases(PhraseSet),
    /// `emergency`, `request`, `hard_route` or `escalate`.
    Rule(Rule),
    /// `fallback { ... }`.
    Fallback(Fallback),
    /// `disclaimer <name> { ... }`.
    Disclaimer(Disclaimer),
    /// `retain <name> { ... }`.
    Retain(Retain),
    /// `queue <name> { ... }`.
    Queue(Queue),
    /// `disable <rule>`.
    Disable(Name),
}

/// The policy header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The policy id.
    pub id: Name,
    /// Its settings, in source order.
    pub settings: Vec<Spanned<HeaderSetting>>,
}

/// One setting of the header.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderSetting {
    /// `title "..."`.
    Title(Str),
    /// `version "..."`.
    Version(Str),
    /// `extends <pack>`.
    Extends(Name),
    /// `timezone "..."`.
    Timezone(Str),
    /// `safe_queue <queue>`.
    SafeQueue(Name),
}

/// A phrase set (or an extension of one).
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseSet {
    /// Its name.
    pub name: Name,
    /// `stem english`, `typos`, ... (a definition only; an extension has none).
    pub options: Vec<Spanned<SetOption>>,
    /// Its entries, as written.
    pub entries: Vec<PhraseEntry>,
}

impl PhraseSet {
    /// The quoted phrases among its entries (not proximities or included sets).
    pub fn phrases(&self) -> impl Iterator<Item = &Str> {
        self.entries.iter().filter_map(|e| match &e.kind {
            EntryKind::Phrase(p) => Some(p),
            _ => None,
        })
    }
}

/// An option of a phrase set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOption {
    /// `stem english` or `stem spanish`.
    Stem(StemLanguage),
    /// `typos`.
    Typos,
}

/// A language a set may be stemmed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StemLanguage {
    /// `english`.
    English,
    /// `spanish`.
    Spanish,
}

impl StemLanguage {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            StemLanguage::English => "english",
            StemLanguage::Spanish => "spanish",
        }
    }
}

/// One entry of a phrase set, with the annotations written before it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseEntry {
    /// `@reviewed("...")`, written before it.
    pub annotations: Vec<Annotation>,
    /// What it is.
    pub kind: EntryKind,
    /// Where it was written, annotations included.
    pub span: Span,
}

/// The kinds of phrase-set entry.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryKind {
    /// `"chest pain"`.
    Phrase(Str),
    /// `cardiac`: every entry of another set.
    Include(Name),
    /// `bleeding near "won't stop" within 3 words`.
    Proximity(Proximity),
}

/// "A phrase of one side, at most `within` words, a phrase of the other", in one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Proximity {
    /// The first side.
    pub left: ProximitySide,
    /// The other side.
    pub right: ProximitySide,
    /// `before` (in this order) rather than `near` (either order).
    pub ordered: bool,
    /// The most words allowed between the two sides.
    pub within: Integer,
}

/// One side of a proximity.
#[derive(Debug, Clone, PartialEq)]
pub enum ProximitySide {
    /// A phrase set, by name.
    Set(Name),
    /// A quoted phrase.
    Phrase(Str),
}

impl ProximitySide {
    /// Where it was written.
    pub fn span(&self) -> Span {
        match self {
            ProximitySide::Set(n) => n.span,
            ProximitySide::Phrase(s) => s.span,
        }
    }
}

/// The four rule tiers, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// `emergency`.
    Emergency,
    /// `request`: an explicit request for a person.
    Request,
    /// `hard_route`: a topic the bot must never answer.
    HardRoute,
    /// `escalate`: topic and business rules.
    Escalate,
}

impl Tier {
    /// The keyword that introduces a rule of this tier.
    pub fn keyword(self) -> &'static str {
        match self {
            Tier::Emergency => "emergency",
            Tier::Request => "request",
            Tier::HardRoute => "hard_route",
            Tier::Escalate => "escalate",
        }
    }
}

/// A rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its tier.
    pub tier: Tier,
    /// Its name.
    pub name: Name,
    /// Its clauses, in source order.
    pub clauses: Vec<Spanned<RuleClause>>,
}

/// A clause of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleClause {
    /// `when <condition>`.
    When(Condition),
    /// `say "..."`.
    Say(Str),
    /// `route <queue> [priority <p>]`.
    Route(RouteTarget),
    /// `disclaimer <name>`.
    Disclaimer(Name),
    /// `negation respected|ignored`.
    Negation(NegationMode),
    /// `rank <n>`.
    Rank(Integer),
}

/// Where a rule sends the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteTarget {
    /// The queue, or the skill when `by_skill`.
    pub queue: Name,
    /// `route skill <name>`: any queue with this skill.
    pub by_skill: bool,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<Name>,
}

/// Whether negation stops a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegationMode {
    /// "I don't need an agent" does not match.
    Respected,
    /// Negation is ignored: the phrase matches anyway.
    Ignored,
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What it tests.
    pub kind: ConditionKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of condition.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionKind {
    /// All must hold.
    And(Vec<Condition>),
    /// Any must hold.
    Or(Vec<Condition>),
    /// Must not hold.
    Not(Box<Condition>),
    /// `says <phrase set>`.
    Says(Name),
    /// `matched <rule>`.
    Matched(Name),
    /// `<field> <op> <value>`.
    Compare {
        /// The field, such as `confidence` or `customer.tier`.
        field: Name,
        /// The operator.
        op: Spanned<CompareOp>,
        /// The value compared with.
        value: Value,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
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

/// A literal value in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Number(Number),
    /// A string.
    Str(Str),
    /// `true` or `false`.
    Bool(Spanned<bool>),
    /// `[a, b]`.
    List(Spanned<Vec<Value>>),
}

impl Value {
    /// Where the value was written.
    pub fn span(&self) -> Span {
        match self {
            Value::Number(n) => n.span,
            Value::Str(s) => s.span,
            Value::Bool(b) => b.span,
            Value::List(l) => l.span,
        }
    }
}

/// The confidence fallback.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// Its settings, in source order.
    pub clauses: Vec<Spanned<FallbackClause>>,
}

/// A setting of the fallback.
#[derive(Debug, Clone, PartialEq)]
pub enum FallbackClause {
    /// `confidence below <n>`.
    WeakBelow(Number),
    /// `handoff below <n>`.
    HandoffBelow(Number),
    /// `strikes <n>`.
    Strikes(Integer),
    /// `frustration above <n>`.
    FrustrationAbove(Number),
    /// `frustration says <set>`.
    FrustrationSays(Name),
    /// `rephrase above <n>`.
    RephraseAbove(Number),
    /// `dissatisfied says <set>`.
    DissatisfiedSays(Name),
    /// `route <queue> [priority <p>]`.
    Route(RouteTarget),
    /// `say "..."`.
    Say(Str),
}

/// A scope disclaimer.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclaimer {
    /// Its name.
    pub name: Name,
    /// Its settings.
    pub clauses: Vec<Spanned<DisclaimerClause>>,
}

/// A setting of a disclaimer.
#[derive(Debug, Clone, PartialEq)]
pub enum DisclaimerClause {
    /// `text "..."`.
    Text(Str),
    /// `show once|always|first_message`.
    Show(ShowMode),
    /// `when <condition>`: show it whenever this holds, besides rules that name it.
    When(Condition),
}

/// When a disclaimer is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShowMode {
    /// Once per conversation.
    Once,
    /// Every time it applies.
    Always,
    /// On the first message of a conversation.
    FirstMessage,
}

/// A retention rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Retain {
    /// The data class it defines.
    pub name: Name,
    /// Its settings.
    pub clauses: Vec<Spanned<RetainClause>>,
}

/// A setting of a retention rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RetainClause {
    /// `when <condition>`.
    When(Condition),
    /// `keep <n> <unit>`.
    Keep(Integer, PeriodUnit),
    /// `redact a, b`.
    Redact(Vec<Name>),
    /// `legal_hold`.
    LegalHold,
}

/// The unit of a retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodUnit {
    /// Days.
    Days,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

/// A queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// Its name.
    pub name: Name,
    /// Its settings.
    pub clauses: Vec<Spanned<QueueClause>>,
}

/// A setting of a queue.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueClause {
    /// `timezone "..."`.
    Timezone(Str),
    /// `hours "..."`.
    Hours(Str),
    /// `closed "..." "..."`.
    Closed(Vec<Str>),
    /// `channel <channel>`.
    Channel(Name),
    /// `wait "..."`.
    Wait(Str),
    /// `after_hours <channel> "<template>"`.
    AfterHours(Name, Str),
    /// `follow_up <n> <unit>`.
    FollowUp(Integer, DurationUnit),
    /// `skill <name>`.
    Skill(Name),
    /// `phone "..."`.
    Phone(Str),
}

/// The unit of a follow-up delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days.
    Days,
}
