//! `handrail whatif`: the logged history replayed under a new policy ([`replay`](super::replay) with
//! [`Under::Policy`]), and how its decisions would change: actions before and after, the transitions between
//! them with a few redacted examples each, and each rule's determining count before and after.
//!
//! "Before" is what the log recorded, not a replay under the old policy: the comparison is with what customers
//! were actually told. Each conversation's state evolves under the new policy (a conversation the new policy
//! escalates earlier is then waiting, as it would have been).

use std::collections::BTreeMap;

use serde::Serialize;

use super::replay::{Skip, Step, Under, replay};
use super::{Log, Progress, Window, shown_text};
use crate::Policy;

/// What to replay and show.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only decisions inside it are compared (earlier ones are replayed for their state).
    pub window: Window,
    /// How many examples each transition keeps.
    pub examples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { window: Window::default(), examples: 3 }
    }
}

/// How the decisions would change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WhatIf {
    /// The new policy: id, version, hash.
    pub policy: crate::audit::PolicyRef,
    /// Decisions in the window.
    pub decisions: u64,
    /// Of those, replayed.
    pub replayed: u64,
    /// Not replayed, by why (erased payloads, unreadable lines, the rest of their conversation).
    pub skipped: BTreeMap<String, u64>,
    /// Replayed decisions whose action changes.
    pub changed_action: u64,
    /// Replayed decisions whose action or determining rules change.
    pub changed: u64,
    /// Actions as logged, over the replayed decisions.
    pub before: BTreeMap<String, u64>,
    /// Actions under the new policy.
    pub after: BTreeMap<String, u64>,
    /// Each change of action (`answer → handoff`), most frequent first, with examples.
    pub transitions: Vec<Transition>,
    /// Each rule's determining count before and after, changed ones only, largest change first.
    pub by_rule: Vec<RuleChange>,
}

impl WhatIf {
    /// How many more decisions hand off (`handoff`) under the new policy than logged (negative: fewer).
    pub fn handoff_delta(&self) -> i64 {
        count(&self.after, "handoff") - count(&self.before, "handoff")
    }

    /// The share of replayed decisions whose action changes, 0 to 1.
    pub fn changed_share(&self) -> f64 {
        if self.replayed == 0 { 0.0 } else { self.changed_action as f64 / self.replayed as f64 }
    }
}

fn count(map: &BTreeMap<String, u64>, key: &str) -> i64 {
    i64::try_from(map.get(key).copied().unwrap_or_default()).unwrap_or(i64::MAX)
}

/// A change of action, and examples of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// The action logged.
    pub from: String,
    /// The action now.
    pub to: String,
    /// How many decisions.
    pub count: u64,
    /// A few of them.
    pub examples: Vec<Example>,
}

/// One decision that changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    /// The record's seq.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// The message, redacted of every kind of personal data.
    pub text: String,
    /// The determining rules logged.
    pub rules_before: Vec<String>,
    /// The determining rules now.
    pub rules_after: Vec<String>,
}

/// One rule's determining count before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleChange {
    /// The rule id.
    pub rule: String,
    /// Decisions it determined, as logged.
    pub before: u64,
    /// Under the new policy.
    pub after: u64,
}

/// Replays `log` under `policy`.
pub fn whatif(log: &Log, policy: &Policy, options: &Options, progress: Progress<'_>) -> WhatIf {
    let mut out = WhatIf { policy: policy.into(), ..WhatIf::default() };
    let mut transitions: BTreeMap<(String, String), Transition> = BTreeMap::new();
    let mut rules: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let walked = replay(log, Under::Policy(policy), &options.window, progress, |step| {
        let Step::Replayed { seq, record, event, decision } = step else { return };
        let now = decision.action.as_str();
        *out.before.entry(record.action.clone()).or_default() += 1;
        *out.after.entry(now.to_string()).or_default() += 1;
        for rule in &record.rules {
            rules.entry(rule.clone()).or_default().0 += 1;
        }
        for rule in &decision.determining {
            rules.entry(rule.clone()).or_default().1 += 1;
        }
        let action_changed = record.action != now;
        if action_changed {
            out.changed_action += 1;
        }
        if action_changed || record.rules != decision.determining {
            out.changed += 1;
        }
        if !action_changed {
            return;
        }
        let t = transitions.entry((record.action.clone(), now.to_string())).or_insert_with(|| Transition {
            from: record.action.clone(),
            to: now.to_string(),
            count: 0,
            examples: Vec::new(),
        });
        t.count += 1;
        if t.examples.len() < options.examples {
            t.examples.push(Example {
                seq,
                conversation: record.conversation.clone(),
                text: shown_text(event.text.as_deref().unwrap_or(""), 160),
                rules_before: record.rules.clone(),
                rules_after: decision.determining.clone(),
            });
        }
    });
    out.decisions = walked.decisions;
    out.replayed = walked.replayed;
    out.skipped = walked.skipped.iter().map(|(why, n)| (skip_name(*why).to_string(), *n)).collect();
    out.transitions = transitions.into_values().collect();
    out.transitions.sort_by(|a, b| b.count.cmp(&a.count).then(a.from.cmp(&b.from)).then(a.to.cmp(&b.to)));
    out.by_rule = rules
        .into_iter()
        .filter(|(_, (b, a))| b != a)
        .map(|(rule, (before, after))| RuleChange { rule, before, after })
        .collect();
    out.by_rule.sort_by_key(|r| std::cmp::Reverse(r.before.abs_diff(r.after)));
    out
}

/// A skip reason's name in JSON.
pub fn skip_name(why: Skip) -> &'static str {
    match why {
        Skip::Erased => "erased",
        Skip::Unreadable => "unreadable",
        Skip::StateUnknown => "state_unknown",
        Skip::NoPolicy => "no_policy",
    }
}
