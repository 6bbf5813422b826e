//! `handrail report`: how handoff is going, from the audit log alone.
//!
//! The log is cut into **conversations**: the decisions of one conversation id, from its first event to its
//! `closed` event (a message after `closed` starts a new one, as the engine does). For each, the report finds:
//!
//! - the **escalation**: the first decision that handed off, captured or answered an emergency, with its typed
//!   reasons, determining rules and route (queue, channel, live or not, the promise made);
//! - what happened after it: an `agent_joined` (the wait is the time between), `agent_reply` events, and how it
//!   ended: `closed` (with the caller's `outcome`) or `customer_inactive`;
//! - for conversations never escalated, whether it is a **silent failure**: the bot answered with low confidence
//!   (below [`Options::low_confidence`]) or a strike was counted, and after that the customer went quiet (no
//!   further message: `customer_inactive`, `closed` without a word, or nothing for [`Options::quiet_after`]), or
//!   closed with a flat reply ("ok", "whatever", "never mind", [`Options::flat_replies`]) or an
//!   `unresolved`/`customer_left` outcome. Each is shown with what almost fired: the first rule, by precedence,
//!   one of whose phrases a customer message of it said (negated, or without the rest of the condition), found
//!   by scanning the stored message again under the policy in force, and the fallback threshold it came near.
//!
//! Resolution of an escalated conversation: **resolved** (a person joined, then it closed, not as
//! `unresolved`/`customer_left`), **unresolved** (a person joined; it closed unresolved or the customer went
//! quiet), **abandoned** (it ended before anyone joined: the customer left while waiting, or it closed), or
//! **pending** (still open when the window ends). A rule is **over-eager** when most of its escalations that a
//! person resolved took at most one agent reply: a person was not needed for long.
//!
//! Everything is read from the records' own facts (FORMAT.md: `event` and `route` in `decision` records), so
//! erased payloads cost nothing but the text of the examples; a log written before those facts falls back to
//! reading each stored event.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::{Log, Progress, Stored, Window, shown_text};
use crate::audit::record::Body;
use crate::audit::{DecisionRecord, EventFacts};
use crate::compile::policy::{Cond, Policy};

/// What the report looks for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only conversations that start inside the window.
    pub window: Window,
    /// An answer below this confidence is a shaky one (a silent failure when the customer then goes quiet).
    pub low_confidence: f64,
    /// A conversation with no event for this long before the end of the log has gone quiet.
    pub quiet_after: Duration,
    /// A rule is judged over-eager only with at least this many resolved escalations.
    pub over_eager_min: u64,
    /// ...and when at least this share of them took at most one agent reply.
    pub over_eager_share: f64,
    /// How many of the last customer messages a silent failure shows.
    pub last_messages: usize,
    /// The replies that count as flat, normalised ([`flat_replies`]).
    pub flat_replies: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            window: Window::default(),
            low_confidence: 0.6,
            quiet_after: Duration::minutes(30),
            over_eager_min: 5,
            over_eager_share: 0.5,
            last_messages: 3,
            flat_replies: flat_replies(&[]),
        }
    }
}

/// The report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The window asked for.
    pub since: Option<DateTime<Utc>>,
    /// The end of the window asked for.
    pub until: Option<DateTime<Utc>>,
    /// The first and last decision read inside the window.
    pub first: Option<DateTime<Utc>>,
    /// The last.
    pub last: Option<DateTime<Utc>>,
    /// Decisions in the window.
    pub decisions: u64,
    /// Conversations started in the window.
    pub conversations: u64,
    /// Conversations escalated (handoff, capture or emergency).
    pub escalated: u64,
    /// `escalated / conversations`.
    pub handoff_rate: f64,
    /// Escalations to a person who was there (live chat, open, staffed).
    pub live: u64,
    /// Escalations where nobody was there: the customer was promised a follow-up.
    pub capture: u64,
    /// Escalations that were emergencies.
    pub emergency: u64,
    /// Conversations by the typed reasons of their escalation.
    pub by_reason: Vec<Share>,
    /// Escalations by determining rule (`(fallback)` when the confidence fallback decided).
    pub by_rule: Vec<Group>,
    /// Escalations by queue.
    pub by_queue: Vec<Group>,
    /// Escalations by the channel they were routed to (`live_chat`, `ticket`, `email`, `callback`).
    pub by_channel: Vec<Group>,
    /// Conversations and escalations by the channel the customer wrote on (`web`, `sms`, ...; `(unknown)` when
    /// the events did not say), each rate a share of that channel's conversations.
    pub by_customer_channel: Vec<Group>,
    /// Post-handoff resolution over every escalation.
    pub resolution: Group,
    /// Conversations failed without anyone noticing, oldest first.
    pub silent_failures: Vec<SilentFailure>,
    /// Rules whose escalations a person mostly resolved in one reply.
    pub over_eager: Vec<OverEager>,
    /// Conversations and escalations per day.
    pub daily: Vec<Day>,
    /// Silent failures per week (weeks start on Monday).
    pub weekly_silent: Vec<Week>,
    /// How long the customers who got a person waited for them, in buckets.
    pub waits: Vec<Bucket>,
    /// Decisions whose stored event was needed (a log written before records carried their facts) but erased.
    pub erased: u64,
    /// Records of kinds this version does not know, skipped.
    pub unknown_kinds: u64,
}

/// A count and its share of the conversations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Share {
    /// What is counted.
    pub name: String,
    /// How many conversations.
    pub conversations: u64,
    /// Their share of every conversation in the window.
    pub rate: f64,
}

/// Escalations of one rule, queue or channel, and what became of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Group {
    /// The rule id, queue or channel.
    pub name: String,
    /// The conversations `rate` is a share of: every conversation in the window, or, per customer channel,
    /// that channel's.
    pub conversations: u64,
    /// Escalations.
    pub escalated: u64,
    /// `escalated / conversations`.
    pub rate: f64,
    /// To a person who was there.
    pub live: u64,
    /// Nobody there: a follow-up promised.
    pub capture: u64,
    /// A person joined and it closed resolved.
    pub resolved: u64,
    /// A person joined; it closed unresolved, or the customer went quiet.
    pub unresolved: u64,
    /// It ended before a person joined.
    pub abandoned: u64,
    /// Still open at the end of the window.
    pub pending: u64,
    /// Resolved with at most one agent reply.
    pub one_reply: u64,
    /// Median wait for a person, in seconds, over those who got one.
    pub median_wait_s: Option<i64>,
    /// 90th percentile of the wait, in seconds.
    pub p90_wait_s: Option<i64>,
    /// Median time before an abandoned customer left, in seconds.
    pub median_abandon_s: Option<i64>,
    /// The promises made (the honest wait when live, the follow-up time otherwise), most frequent first (at
    /// most five).
    pub promises: Vec<Promise>,
    #[serde(skip)]
    waits: Vec<i64>,
    #[serde(skip)]
    abandon_after: Vec<i64>,
    #[serde(skip)]
    promise_counts: HashMap<String, u64>,
}

/// A promise made at escalation, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promise {
    /// `live: about 5 minutes` or `follow-up by 2026-11-25T10:00:00-06:00`.
    pub promise: String,
    /// How often.
    pub count: u64,
}

/// A conversation the bot failed without escalating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilentFailure {
    /// The conversation id.
    pub conversation: String,
    /// The seq of its first decision in the log.
    pub first_seq: u64,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When its last event was.
    pub ended: DateTime<Utc>,
    /// What made the bot's answer shaky: `confidence 0.52` or `strike 1`.
    pub shaky: String,
    /// What almost fired: the first rule whose phrase was said (`REQ-HUMAN (request): "human" was said, but
    /// negated`), when one was, then the fallback threshold it came near.
    pub near_miss: String,
    /// How the customer disengaged: `went quiet`, `customer_inactive`, `closed: unresolved`, `flat reply`.
    pub ending: String,
    /// The customer's last messages, redacted of every kind of personal data (`[erased]` when erased).
    pub last_messages: Vec<String>,
}

/// A rule whose escalations were mostly resolved in one agent reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverEager {
    /// The rule id.
    pub rule: String,
    /// Its escalations that a person resolved.
    pub resolved: u64,
    /// Of those, resolved in at most one agent reply.
    pub one_reply: u64,
    /// `one_reply / resolved`.
    pub share: f64,
}

/// One day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Conversations started.
    pub conversations: u64,
    /// Of those, escalated.
    pub escalated: u64,
    /// `escalated / conversations`.
    pub rate: f64,
}

/// One week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    /// Its Monday (UTC).
    pub week: NaiveDate,
    /// Silent failures among the conversations started that week.
    pub silent_failures: u64,
    /// Conversations started that week.
    pub conversations: u64,
}

/// A bucket of a histogram of waits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// `< 1 min`, `1-5 min`, ...
    pub label: String,
    /// How many.
    pub count: u64,
}

/// The buckets of the wait histogram: upper bounds in seconds, and labels.
const WAIT_BUCKETS: &[(i64, &str)] = &[
    (60, "< 1 min"),
    (300, "1-5 min"),
    (900, "5-15 min"),
    (3600, "15-60 min"),
    (4 * 3600, "1-4 h"),
    (i64::MAX, "> 4 h"),
];

/// Customer replies that say nothing: a conversation closed on one of these after a shaky answer was not
/// helped. Compared after lowercasing and trimming punctuation.
const FLAT_REPLIES: &[&str] = &[
    "ok",
    "okay",
    "k",
    "kk",
    "fine",
    "whatever",
    "nvm",
    "never mind",
    "nevermind",
    "forget it",
    "meh",
    "sure",
    "ok thanks",
    "ok thx",
    "thanks anyway",
    "no",
    "nope",
    "bye",
    "useless",
    "vale",
    "da igual",
    "olvídalo",
];

/// The flat replies: the built-in ones ("ok", "whatever", "never mind", "vale", ...) and `extra`, normalised as
/// phrases are (case, accents, stretched letters), so "OKAYYY" and "olvidalo" are found.
pub fn flat_replies(extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> =
        FLAT_REPLIES.iter().copied().chain(extra.iter().map(String::as_str)).map(flat_form).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A reply as the flat-reply list compares it: normalised, without the punctuation around it.
fn flat_form(text: &str) -> String {
    let normal = crate::text::normalize(text).text;
    normal.trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace()).to_string()
}

/// Whether `text` is one of `flat` ([`flat_replies`]).
pub fn is_flat_reply(text: &str, flat: &[String]) -> bool {
    flat.binary_search(&flat_form(text)).is_ok()
}

/// One decided event of a conversation, with the facts the report reads.
struct Turn<'a> {
    seq: u64,
    time: DateTime<Utc>,
    kind: String,
    confidence: Option<f64>,
    strikes: u32,
    outcome: Option<String>,
    /// The channel the customer wrote on, when the event said.
    channel: Option<String>,
    record: &'a DecisionRecord,
    /// The policy in force (its hash), to find the fallback it came near.
    policy: &'a str,
}

/// The facts of a record: its own (`event`), or, in a log written before them, its stored event's. `None` when
/// they are needed and the payload was erased.
fn facts(log: &Log, record: &DecisionRecord) -> Option<EventFacts> {
    if let Some(e) = &record.event {
        return Some(e.clone());
    }
    match log.event(record) {
        Stored::Event(event) => Some(EventFacts {
            kind: event.kind.as_str().to_string(),
            confidence: event.confidence,
            strikes: 0,
            outcome: event.outcome.map(|o| o.as_str().to_string()),
            channel: event.channel.clone(),
        }),
        Stored::Unreadable => Some(EventFacts { kind: "message".into(), ..EventFacts::default() }),
        Stored::Erased => None,
    }
}

/// Cuts the log's decisions into conversations (see the module docs), in order of their first decision.
fn conversations<'a>(log: &'a Log, window: &Window, erased: &mut u64) -> Vec<Vec<Turn<'a>>> {
    let mut out: Vec<Vec<Turn<'a>>> = Vec::new();
    let mut open: HashMap<&'a str, usize> = HashMap::new();
    for record in &log.records {
        let Body::Decision(decision) = &record.body else { continue };
        if decision.conversation.is_empty() {
            continue;
        }
        let Some(EventFacts { kind, confidence, strikes, outcome, channel }) = facts(log, decision) else {
            *erased = erased.saturating_add(1);
            continue;
        };
        let closed = kind == "closed";
        let turn = Turn {
            seq: record.seq,
            time: record.time,
            kind,
            confidence,
            strikes,
            outcome,
            channel,
            record: decision,
            policy: &decision.policy.hash,
        };
        match open.get(decision.conversation.as_str()) {
            Some(&at) => {
                if let Some(turns) = out.get_mut(at) {
                    turns.push(turn);
                }
            }
            None => {
                // A conversation belongs to the window it starts in; later events of one started before are
                // not a conversation of their own.
                if !window.contains(record.time) || closed {
                    continue;
                }
                open.insert(&decision.conversation, out.len());
                out.push(vec![turn]);
            }
        }
        if closed {
            open.remove(decision.conversation.as_str());
        }
    }
    out
}

/// Whether an action escalates.
fn escalates(action: &str) -> bool {
    matches!(action, "handoff" | "capture" | "emergency")
}

/// What became of an escalated conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Resolved,
    Unresolved,
    Abandoned,
    Pending,
}

/// How a conversation ended: by `closed` (with its outcome), `customer_inactive`, or not yet.
fn ending<'t>(turns: &'t [Turn<'_>]) -> Option<&'t Turn<'t>> {
    turns.iter().rev().find(|t| t.kind == "closed" || t.kind == "customer_inactive")
}

/// Builds the report of `log`.
pub fn build(log: &Log, options: &Options, progress: Progress<'_>) -> Report {
    let mut report = Report {
        since: options.window.since,
        until: options.window.until,
        unknown_kinds: log.unknown_kinds,
        ..Report::default()
    };
    let mut erased = 0;
    let convs = conversations(log, &options.window, &mut erased);
    report.erased = erased;
    let log_end = log.records.last().map(|r| r.time);
    let policies = policies(log);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut rules: BTreeMap<String, Group> = BTreeMap::new();
    let mut queues: BTreeMap<String, Group> = BTreeMap::new();
    let mut channels: BTreeMap<String, Group> = BTreeMap::new();
    let mut customer_channels: BTreeMap<String, Group> = BTreeMap::new();
    let mut resolution = Group { name: "all".into(), ..Group::default() };
    let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    let mut weeks: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    let total = convs.len() as u64;
    for (i, turns) in convs.iter().enumerate() {
        if i % 8192 == 0 {
            progress(i as u64, total);
        }
        let Some(first) = turns.first() else { continue };
        report.conversations += 1;
        report.decisions += turns.len() as u64;
        report.first = Some(report.first.map_or(first.time, |f| f.min(first.time)));
        let last_time = turns.last().map_or(first.time, |t| t.time);
        report.last = Some(report.last.map_or(last_time, |l| l.max(last_time)));
        let day = first.time.date_naive();
        let week = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        let d = days.entry(day).or_default();
        d.0 += 1;
        let w = weeks.entry(week).or_default();
        w.1 += 1;
        // A conversation's channel is the first its events name.
        let source = turns.iter().find_map(|t| t.channel.as_deref()).unwrap_or("(unknown)");
        let source = customer_channels.entry(source.to_string()).or_insert_with(|| named(source));
        source.conversations += 1;
        let escalation = turns.iter().position(|t| escalates(&t.record.action));
        let Some(at) = escalation else {
            if let Some(failure) = silent_failure(log, turns, options, log_end, &policies) {
                w.0 += 1;
                report.silent_failures.push(failure);
            }
            continue;
        };
        d.1 += 1;
        report.escalated += 1;
        let Some(esc) = turns.get(at) else { continue };
        let record = esc.record;
        for reason in &record.reasons {
            *reasons.entry(reason.clone()).or_default() += 1;
        }
        // A log written before decisions carried their route has no queue to tell (live unknown, taken as not).
        let route = record.route.clone();
        let live = route.as_ref().is_some_and(|r| r.live) && record.action != "capture";
        match record.action.as_str() {
            "emergency" => report.emergency += 1,
            "capture" => report.capture += 1,
            _ if live => report.live += 1,
            _ => report.capture += 1,
        }
        let after = turns.get(at.saturating_add(1)..).unwrap_or_default();
        let joined = after.iter().find(|t| t.kind == "agent_joined");
        let end = ending(after);
        let replies =
            joined.map_or(0, |j| after.iter().filter(|t| t.kind == "agent_reply" && t.seq > j.seq).count());
        let fate = match (joined, end) {
            (Some(j), Some(e)) if e.seq > j.seq => {
                let bad = e.kind == "customer_inactive"
                    || matches!(e.outcome.as_deref(), Some("unresolved" | "customer_left"));
                if bad { Fate::Unresolved } else { Fate::Resolved }
            }
            (Some(_), _) => Fate::Pending,
            (None, Some(_)) => Fate::Abandoned,
            (None, None) => Fate::Pending,
        };
        let wait = joined.map(|j| (j.time - esc.time).num_seconds());
        let abandon_after =
            (fate == Fate::Abandoned).then(|| end.map(|e| (e.time - esc.time).num_seconds())).flatten();
        let promise = route.as_ref().and_then(|r| {
            r.promise
                .as_ref()
                .map(|p| if r.live { format!("live: {p}") } else { format!("follow-up by {p}") })
        });
        let rule_names: Vec<String> =
            if record.rules.is_empty() { vec!["(fallback)".to_string()] } else { record.rules.clone() };
        let queue = route.as_ref().map_or("(none)".to_string(), |r| r.queue.clone());
        let channel = route.as_ref().map_or("(none)".to_string(), |r| r.channel.clone());
        let facts = Escalation {
            live,
            emergency: record.action == "emergency",
            fate,
            replies,
            wait,
            abandon_after,
            promise: promise.as_deref(),
        };
        source.add(&facts);
        resolution.add(&facts);
        queues.entry(queue.clone()).or_insert_with(|| named(&queue)).add(&facts);
        channels.entry(channel.clone()).or_insert_with(|| named(&channel)).add(&facts);
        for rule in rule_names {
            rules.entry(rule.clone()).or_insert_with(|| named(&rule)).add(&facts);
        }
    }
    progress(total, total);
    let conversations = report.conversations;
    let rate = |n: u64| if conversations == 0 { 0.0 } else { n as f64 / conversations as f64 };
    report.handoff_rate = rate(report.escalated);
    report.by_reason =
        reasons.into_iter().map(|(name, n)| Share { name, conversations: n, rate: rate(n) }).collect();
    report.by_reason.sort_by(|a, b| b.conversations.cmp(&a.conversations).then(a.name.cmp(&b.name)));
    // Each group's rate is a share of every conversation in the window, except a customer channel's: a share of
    // that channel's own conversations (counted into it above).
    let finish = |groups: BTreeMap<String, Group>, of: fn(&Group) -> Option<u64>| {
        let mut groups: Vec<Group> = groups
            .into_values()
            .map(|g| {
                let of = of(&g).unwrap_or(conversations);
                g.finish(of)
            })
            .collect();
        groups.sort_by(|a, b| b.escalated.cmp(&a.escalated).then(a.name.cmp(&b.name)));
        groups
    };
    report.by_rule = finish(rules, |_| None);
    report.by_queue = finish(queues, |_| None);
    report.by_channel = finish(channels, |_| None);
    report.by_customer_channel = finish(customer_channels, |g| Some(g.conversations));
    report.waits = WAIT_BUCKETS
        .iter()
        .scan(i64::MIN, |low, (high, label)| {
            let count = resolution.waits.iter().filter(|w| **w >= *low && **w < *high).count() as u64;
            *low = *high;
            Some(Bucket { label: (*label).to_string(), count })
        })
        .collect();
    report.resolution = resolution.finish(conversations);
    report.over_eager = report
        .by_rule
        .iter()
        .filter(|g| g.resolved >= options.over_eager_min)
        .map(|g| OverEager {
            rule: g.name.clone(),
            resolved: g.resolved,
            one_reply: g.one_reply,
            share: g.one_reply as f64 / g.resolved as f64,
        })
        .filter(|o| o.share >= options.over_eager_share)
        .collect();
    report.daily = days
        .into_iter()
        .map(|(day, (n, e))| Day {
            day,
            conversations: n,
            escalated: e,
            rate: if n == 0 { 0.0 } else { e as f64 / n as f64 },
        })
        .collect();
    report.weekly_silent =
        weeks.into_iter().map(|(week, (s, n))| Week { week, silent_failures: s, conversations: n }).collect();
    report
}

fn named(name: &str) -> Group {
    Group { name: name.to_string(), ..Group::default() }
}

/// One escalation's facts, added to each group it belongs to.
#[derive(Debug, Clone, Copy)]
struct Escalation<'a> {
    live: bool,
    emergency: bool,
    fate: Fate,
    /// Agent replies after the person joined.
    replies: usize,
    /// Seconds until a person joined.
    wait: Option<i64>,
    /// Seconds until an abandoned customer left.
    abandon_after: Option<i64>,
    promise: Option<&'a str>,
}

impl Group {
    fn add(&mut self, e: &Escalation<'_>) {
        let Escalation { live, emergency, fate, replies, wait, abandon_after, promise } = *e;
        self.escalated += 1;
        if live {
            self.live += 1;
        } else if !emergency {
            self.capture += 1;
        }
        match fate {
            Fate::Resolved => {
                self.resolved += 1;
                if replies <= 1 {
                    self.one_reply += 1;
                }
            }
            Fate::Unresolved => self.unresolved += 1,
            Fate::Abandoned => self.abandoned += 1,
            Fate::Pending => self.pending += 1,
        }
        self.waits.extend(wait);
        self.abandon_after.extend(abandon_after);
        if let Some(p) = promise {
            *self.promise_counts.entry(p.to_string()).or_default() += 1;
        }
    }

    fn finish(mut self, conversations: u64) -> Group {
        self.conversations = conversations;
        self.rate = if conversations == 0 { 0.0 } else { self.escalated as f64 / conversations as f64 };
        self.waits.sort_unstable();
        self.abandon_after.sort_unstable();
        self.median_wait_s = percentile(&self.waits, 50);
        self.p90_wait_s = percentile(&self.waits, 90);
        self.median_abandon_s = percentile(&self.abandon_after, 50);
        let mut promises: Vec<Promise> =
            self.promise_counts.drain().map(|(promise, count)| Promise { promise, count }).collect();
        promises.sort_by(|a, b| b.count.cmp(&a.count).then(a.promise.cmp(&b.promise)));
        promises.truncate(5);
        self.promises = promises;
        self
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The confidence fallback of each deployed policy whose sources the log holds, by policy hash.
fn policies(log: &Log) -> HashMap<String, Policy> {
    let mut out = HashMap::new();
    for record in &log.records {
        if let Body::PolicyDeployed { policy, .. } = &record.body
            && !out.contains_key(&policy.hash)
            && let Ok(compiled) = super::deployed_policy(&record.body)
        {
            out.insert(policy.hash.clone(), compiled);
        }
    }
    out
}

/// Whether a conversation that was never escalated is a silent failure (module docs), and what it shows.
fn silent_failure(
    log: &Log,
    turns: &[Turn<'_>],
    options: &Options,
    log_end: Option<DateTime<Utc>>,
    policies: &HashMap<String, Policy>,
) -> Option<SilentFailure> {
    let mut previous_strikes = 0;
    let mut shaky: Option<(usize, String)> = None;
    for (i, t) in turns.iter().enumerate() {
        let answered = t.record.action == "answer";
        let low = t.confidence.filter(|c| *c < options.low_confidence);
        let strike = t.strikes > previous_strikes;
        if answered && (low.is_some() || strike) && matches!(t.kind.as_str(), "message" | "bot_reply") {
            let why = match low {
                Some(c) => format!("confidence {c}"),
                None => format!("strike {}", t.strikes),
            };
            shaky = Some((i, why));
        }
        previous_strikes = t.strikes;
    }
    let (at, why) = shaky?;
    let last = turns.last()?;
    let after = turns.get(at.saturating_add(1)..).unwrap_or_default();
    let messages_after: Vec<&Turn<'_>> = after.iter().filter(|t| t.kind == "message").collect();
    let end = ending(turns);
    let quiet = messages_after.is_empty();
    let ending_text = match end {
        Some(e) if e.outcome.as_deref() == Some("resolved") => return None,
        Some(e) if matches!(e.outcome.as_deref(), Some("unresolved" | "customer_left")) => {
            format!("closed: {}", e.outcome.as_deref().unwrap_or_default())
        }
        Some(e) if quiet => e.kind.clone(),
        Some(_) => {
            let flat = messages_after.last().is_some_and(|t| match log.event(t.record) {
                Stored::Event(event) => {
                    event.text.as_deref().is_some_and(|t| is_flat_reply(t, &options.flat_replies))
                }
                _ => false,
            });
            if !flat {
                return None;
            }
            "flat reply".to_string()
        }
        None if quiet && log_end.is_some_and(|end| end - last.time >= options.quiet_after) => {
            "went quiet".into()
        }
        None => return None,
    };
    let shaky_turn = turns.get(at)?;
    let policy = policies.get(shaky_turn.policy);
    let said = turns.get(..=at).unwrap_or_default().iter().rev().filter(|t| t.kind == "message");
    let rule = said.filter_map(|t| Some((t, policy?))).find_map(|(t, policy)| match log.event(t.record) {
        Stored::Event(event) => rule_near_miss(policy, event.text.as_deref().unwrap_or("")),
        _ => None,
    });
    let threshold = near_miss(shaky_turn, policy.map(|p| &p.fallback));
    let near_miss = match rule {
        Some(rule) => format!("{rule}; {threshold}"),
        None => threshold,
    };
    let mut last_messages: Vec<String> = turns
        .iter()
        .filter(|t| t.kind == "message")
        .rev()
        .take(options.last_messages)
        .map(|t| match log.event(t.record) {
            Stored::Event(event) => shown_text(event.text.as_deref().unwrap_or(""), 160),
            Stored::Erased => "[erased]".to_string(),
            Stored::Unreadable => "[unreadable]".to_string(),
        })
        .collect();
    last_messages.reverse();
    Some(SilentFailure {
        conversation: shaky_turn.record.conversation.clone(),
        first_seq: turns.first().map_or(0, |t| t.seq),
        started: turns.first().map_or(last.time, |t| t.time),
        ended: last.time,
        shaky: why,
        near_miss,
        ending: ending_text,
        last_messages,
    })
}

/// The first rule (in the policy's order of precedence) a customer message came near without firing: one of the
/// phrase sets its condition asks for was said, but the phrase was negated, or the rest of the condition did not
/// hold. `None` when no rule's phrases were said. The message is the stored one, redacted as retention asked.
fn rule_near_miss(policy: &Policy, text: &str) -> Option<String> {
    let scan = policy.matcher.scan(text);
    if scan.hits.is_empty() {
        return None;
    }
    let said = policy.matcher.said(&scan.hits);
    let near = policy.rules.iter().filter_map(|rule| {
        let mut sets = Vec::new();
        affirmed_sets(&rule.when, &mut sets);
        let set = sets.into_iter().find(|s| said.any(*s))?;
        let hit = scan.hits.iter().find(|h| policy.matcher.counts_for(h.set, set))?;
        let quoted = shown_text(text.get(hit.span.clone()).unwrap_or(""), 40);
        let respected = rule.negation == crate::compile::policy::NegationMode::Respected;
        let why = if !said.affirmed(set) && respected {
            "but negated"
        } else {
            "but the rest of its condition did not hold"
        };
        Some((rule.tier, format!("{} ({}): \"{quoted}\" was said, {why}", rule.id, rule.tier.keyword())))
    });
    near.min_by_key(|(tier, _)| *tier).map(|(_, what)| what)
}

/// The phrase sets a condition needs said for it to hold (not those under a `not`).
fn affirmed_sets(cond: &Cond, out: &mut Vec<u32>) {
    match cond {
        Cond::Says(set) => out.push(*set),
        Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| affirmed_sets(p, out)),
        _ => {}
    }
}

/// The fallback threshold the shaky turn came near, in the policy's words: the strikes it counts towards, or
/// the confidence below which an answer is weak (a strike) or hands off at once.
fn near_miss(turn: &Turn<'_>, fallback: Option<&crate::compile::policy::Fallback>) -> String {
    let Some(fallback) = fallback else {
        return "fallback (the log holds no copy of the policy to name its thresholds)".to_string();
    };
    if let (true, Some(n)) = (turn.strikes > 0, fallback.strikes) {
        return format!("fallback `strikes {n}`: {} of {n} strikes", turn.strikes);
    }
    match (turn.confidence, fallback.weak_below, fallback.handoff_below) {
        (Some(c), _, Some(below)) if c < below + 0.15 => {
            format!("fallback hands off below confidence {below}: confidence was {c}")
        }
        (Some(c), Some(below), _) => format!("fallback `confidence below {below}`: confidence was {c}"),
        (Some(c), None, None) => {
            format!("fallback: confidence was {c} (the policy sets no confidence threshold)")
        }
        _ => "fallback".to_string(),
    }
}
