//! `handrail diff`: what changed between two compiled policies, structurally (not a text diff), and which
//! messages of a corpus now decide differently.
//!
//! Each part of a policy is compared by its name: rules by `@id`, phrase sets by name (phrases added and
//! removed), queues by name, retention classes by class, the `@locked` floor, the fallback and the header. Each
//! item is first put into words field by field (a condition as the policy language writes it, with phrase sets
//! and rules by name, not by the compiler's indices), so renumbering never shows as a change; an item is
//! `changed` when one of its fields reads differently, and the fields are listed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::shown_text;
use crate::compile::policy::{Cond, Literal, Rule};
use crate::{ConversationState, Event, Policy};

/// What changed between two policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyDiff {
    /// The old policy.
    pub old: crate::audit::PolicyRef,
    /// The new policy.
    pub new: crate::audit::PolicyRef,
    /// Changes to the header (id, version, time zone, safe queue).
    pub header: Vec<Change>,
    /// Rules added, removed or changed.
    pub rules: Vec<Change>,
    /// Phrase sets added, removed or changed (phrases added and removed).
    pub phrases: Vec<Change>,
    /// Queues.
    pub queues: Vec<Change>,
    /// Retention classes.
    pub retention: Vec<Change>,
    /// Rules that became or stopped being `@locked`.
    pub locks: Vec<Change>,
    /// The confidence fallback.
    pub fallback: Vec<Change>,
}

impl PolicyDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(|(_, changes)| changes.is_empty())
    }

    /// The parts, named, in the order they print.
    pub fn parts(&self) -> [(&'static str, &[Change]); 7] {
        [
            ("header", &self.header),
            ("rules", &self.rules),
            ("phrases", &self.phrases),
            ("queues", &self.queues),
            ("retention", &self.retention),
            ("locks", &self.locks),
            ("fallback", &self.fallback),
        ]
    }
}

/// One item added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// The item's name (rule id, set, queue, class).
    pub name: String,
    /// What changed: `field: old → new`, or the phrases `+ "x"` / `- "y"`.
    pub details: Vec<String>,
}

/// An item put into words, field by field.
type Fields = BTreeMap<&'static str, String>;

/// Compares two policies.
pub fn policies(old: &Policy, new: &Policy) -> PolicyDiff {
    PolicyDiff {
        old: old.into(),
        new: new.into(),
        header: compare(&header(old), &header(new)),
        rules: compare(&rules(old), &rules(new)),
        phrases: phrase_changes(old, new),
        queues: compare(&queues(old), &queues(new)),
        retention: compare(&retention(old), &retention(new)),
        locks: lock_changes(old, new),
        fallback: compare(&fallback(old), &fallback(new)),
    }
}

fn compare(old: &BTreeMap<String, Fields>, new: &BTreeMap<String, Fields>) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, fields) in old {
        match new.get(name) {
            None => out.push(Change { change: "removed", name: name.clone(), details: Vec::new() }),
            Some(now) if now != fields => {
                let keys: BTreeSet<&&str> = fields.keys().chain(now.keys()).collect();
                let details = keys
                    .into_iter()
                    .filter_map(|k| {
                        let (a, b) = (fields.get(*k), now.get(*k));
                        (a != b).then(|| {
                            format!(
                                "{k}: {} → {}",
                                a.map_or("-", String::as_str),
                                b.map_or("-", String::as_str)
                            )
                        })
                    })
                    .collect();
                out.push(Change { change: "changed", name: name.clone(), details });
            }
            Some(_) => {}
        }
    }
    for name in new.keys().filter(|n| !old.contains_key(*n)) {
        out.push(Change { change: "added", name: name.clone(), details: Vec::new() });
    }
    out
}

fn one(name: &str, fields: Fields) -> BTreeMap<String, Fields> {
    BTreeMap::from([(name.to_string(), fields)])
}

fn header(p: &Policy) -> BTreeMap<String, Fields> {
    one(
        "policy",
        Fields::from([
            ("id", p.id.clone()),
            ("version", p.version.clone()),
            ("timezone", p.timezone.name().to_string()),
            ("safe_queue", p.safe_queue.clone()),
        ]),
    )
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

fn target(t: Option<&crate::route::Target>) -> String {
    match t {
        Some(crate::route::Target::Queue(q)) => q.clone(),
        Some(crate::route::Target::Skill(s)) => format!("skill {s}"),
        None => "(the safe queue)".to_string(),
    }
}

fn rules(p: &Policy) -> BTreeMap<String, Fields> {
    p.rules
        .iter()
        .map(|r: &Rule| {
            let disclaimers: Vec<&str> =
                r.disclaimers.iter().filter_map(|i| p.disclaimers.get(*i).map(|d| d.name.as_str())).collect();
            let fields = Fields::from([
                ("tier", r.tier.keyword().to_string()),
                ("reason", r.reason.as_str().to_string()),
                ("when", condition(&r.when, p)),
                ("route", target(r.route.as_ref())),
                ("priority", r.priority.as_str().to_string()),
                ("rank", r.rank.to_string()),
                ("say", opt(r.say.as_ref())),
                ("disclaimers", disclaimers.join(", ")),
                ("cite", opt(r.cite.as_ref())),
            ]);
            (r.id.clone(), fields)
        })
        .collect()
}

/// A condition as the policy language writes it, with names for sets and rules.
pub fn condition(c: &Cond, p: &Policy) -> String {
    let join = |parts: &[Cond], word: &str| {
        let parts: Vec<String> = parts.iter().map(|c| condition(c, p)).collect();
        format!("({})", parts.join(&format!(" {word} ")))
    };
    let list = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    match c {
        Cond::True => "true".into(),
        Cond::And(parts) => join(parts, "and"),
        Cond::Or(parts) => join(parts, "or"),
        Cond::Not(inner) => format!("not {}", condition(inner, p)),
        Cond::Says(set) => {
            let name = usize::try_from(*set).ok().and_then(|i| p.phrase_sets.get(i)).map(|s| s.name.as_str());
            format!("says {}", name.unwrap_or("?"))
        }
        Cond::Matched(rule) => format!("matched {}", p.rules.get(*rule).map_or("?", |r| r.name.as_str())),
        Cond::Number(field, op, n) => format!("{} {} {n}", field.name(), op.symbol()),
        Cond::NumberIn(field, values) => {
            let values: Vec<String> = values.iter().map(ToString::to_string).collect();
            format!("{} in [{}]", field.name(), values.join(", "))
        }
        Cond::Text(field, op, values) => format!("{} {} [{}]", field.name(), op.symbol(), list(values)),
        Cond::Intent(op, values) => format!("intent {} [{}]", op.symbol(), list(values)),
        Cond::Customer(attr, op, lit) => format!("customer.{attr} {} {}", op.symbol(), literal(lit)),
    }
}

fn literal(l: &Literal) -> String {
    l.to_string()
}

/// The phrases of each set, as written.
fn phrase_sets(p: &Policy) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> =
        p.phrase_sets.iter().map(|s| (s.name.clone(), BTreeSet::new())).collect();
    for phrase in &p.phrases {
        if let Some(set) = usize::try_from(phrase.set).ok().and_then(|i| p.phrase_sets.get(i)) {
            out.entry(set.name.clone()).or_default().insert(phrase.text.clone());
        }
    }
    out
}

fn phrase_changes(old: &Policy, new: &Policy) -> Vec<Change> {
    let (old, new) = (phrase_sets(old), phrase_sets(new));
    let mut out = Vec::new();
    for (name, phrases) in &old {
        match new.get(name) {
            None => out.push(Change { change: "removed", name: name.clone(), details: Vec::new() }),
            Some(now) if now != phrases => {
                let added = now.difference(phrases).map(|p| format!("+ {p:?}"));
                let removed = phrases.difference(now).map(|p| format!("- {p:?}"));
                out.push(Change {
                    change: "changed",
                    name: name.clone(),
                    details: added.chain(removed).collect(),
                });
            }
            Some(_) => {}
        }
    }
    for (name, phrases) in new.iter().filter(|(n, _)| !old.contains_key(*n)) {
        let details = phrases.iter().map(|p| format!("+ {p:?}")).collect();
        out.push(Change { change: "added", name: name.clone(), details });
    }
    out
}

fn queues(p: &Policy) -> BTreeMap<String, Fields> {
    p.queues
        .iter()
        .map(|q| {
            let fields = Fields::from([
                ("hours", q.schedule.written_hours().unwrap_or("24/7").to_string()),
                ("closed", q.schedule.written_closures().join(", ")),
                ("timezone", q.schedule.timezone().name().to_string()),
                ("channel", q.channel.name().to_string()),
                ("wait", opt(q.wait.as_ref())),
                ("after_hours", q.after_hours.as_ref().map_or("-".into(), |(c, t)| format!("{c} {t:?}"))),
                ("follow_up_minutes", q.follow_up_minutes.to_string()),
                ("skill", opt(q.skill.as_ref())),
                ("phone", opt(q.phone.as_ref())),
            ]);
            (q.name.clone(), fields)
        })
        .collect()
}

fn retention(p: &Policy) -> BTreeMap<String, Fields> {
    p.retention
        .iter()
        .map(|r| {
            let redact: Vec<&str> = r.redact.iter().map(|k| <&str>::from(*k)).collect();
            let fields = Fields::from([
                ("when", condition(&r.when, p)),
                ("keep", format!("{} {:?}", r.keep.0, r.keep.1).to_lowercase()),
                ("redact", redact.join(", ")),
                ("legal_hold", r.legal_hold.to_string()),
            ]);
            (r.class.clone(), fields)
        })
        .collect()
}

fn lock_changes(old: &Policy, new: &Policy) -> Vec<Change> {
    let locked = |p: &Policy| -> BTreeSet<String> {
        p.rules.iter().filter(|r| r.locked).map(|r| r.id.clone()).collect()
    };
    let (old, new) = (locked(old), locked(new));
    let added =
        new.difference(&old).map(|id| Change { change: "added", name: id.clone(), details: Vec::new() });
    let removed =
        old.difference(&new).map(|id| Change { change: "removed", name: id.clone(), details: Vec::new() });
    added.chain(removed).collect()
}

fn fallback(p: &Policy) -> BTreeMap<String, Fields> {
    let f = &p.fallback;
    one(
        "fallback",
        Fields::from([
            ("confidence below", opt(f.weak_below)),
            ("handoff below", opt(f.handoff_below)),
            ("strikes", opt(f.strikes)),
            ("frustration above", opt(f.frustration_above)),
            ("rephrase above", opt(f.rephrase_above)),
            ("route", target(f.route.as_ref())),
            ("priority", f.priority.as_str().to_string()),
        ]),
    )
}

/// Which messages of a corpus decide differently under the new policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CorpusDiff {
    /// Messages decided.
    pub messages: u64,
    /// Of those, deciding differently (action or determining rules).
    pub changed: u64,
    /// The changes grouped by rule (the new determining rule, else the old one; `(fallback)` or `(default)`),
    /// most first.
    pub by_rule: Vec<RuleGroup>,
}

/// The changed messages of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleGroup {
    /// The rule.
    pub rule: String,
    /// How many messages.
    pub count: u64,
    /// A few, redacted.
    pub examples: Vec<CorpusExample>,
}

/// One message that decides differently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorpusExample {
    /// Where it is (`file:line`).
    pub at: String,
    /// The message, redacted.
    pub text: String,
    /// Old action and rules.
    pub before: String,
    /// New action and rules.
    pub after: String,
}

/// A corpus message: where it is and the event. Events of one conversation are decided in order with its
/// state; a labelled CSV row is a conversation of its own.
#[derive(Debug, Clone)]
pub struct CorpusEvent {
    /// `file:line`.
    pub at: String,
    /// The event.
    pub event: Event,
}

fn summary(d: &crate::Decision) -> String {
    format!("{} [{}]", d.action.as_str(), d.determining.join(", "))
}

/// Decides every event of `corpus` under both policies, at the event's time or `at`.
pub fn corpus(
    old: &Policy,
    new: &Policy,
    corpus: &[CorpusEvent],
    at: DateTime<Utc>,
    examples: usize,
) -> CorpusDiff {
    let mut out = CorpusDiff::default();
    let mut states: BTreeMap<&str, (ConversationState, ConversationState)> = BTreeMap::new();
    let mut groups: BTreeMap<String, RuleGroup> = BTreeMap::new();
    for item in corpus {
        let time = item.event.time.unwrap_or(at);
        let (s_old, s_new) = states.remove(item.event.conversation.as_str()).unwrap_or_default();
        let (a, next_old) = crate::decide(old, &s_old, &item.event, time);
        let (b, next_new) = crate::decide(new, &s_new, &item.event, time);
        states.insert(&item.event.conversation, (next_old, next_new));
        out.messages += 1;
        if a.action == b.action && a.determining == b.determining {
            continue;
        }
        out.changed += 1;
        let rule = b.determining.first().or(a.determining.first()).cloned().unwrap_or_else(|| {
            let fallback = [&a, &b].iter().any(|d| d.reasons.iter().any(|r| r.as_str() != "default"));
            if fallback { "(fallback)".into() } else { "(default)".into() }
        });
        let group =
            groups.entry(rule.clone()).or_insert_with(|| RuleGroup { rule, count: 0, examples: Vec::new() });
        group.count += 1;
        if group.examples.len() < examples {
            group.examples.push(CorpusExample {
                at: item.at.clone(),
                text: shown_text(item.event.text.as_deref().unwrap_or(""), 160),
                before: summary(&a),
                after: summary(&b),
            });
        }
    }
    out.by_rule = groups.into_values().collect();
    out.by_rule.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule.cmp(&b.rule)));
    out
}
