//! The tiers: which rules match, what the highest tier says ([`Verdict`]), and what doing it means
//! ([`Outcome`]: the action, its reasons, what the customer is told and where they go).
//!
//! Precedence is the order of [`Policy::rules`] (the compiler sorts them by tier, then rank, then id), so the
//! first rule that matches decides; with none, the confidence fallback looks at the failure signals.

use chrono::{DateTime, Utc};

use super::cond::{self, Facts};
use super::conversation::Step;
use super::decision::Action;
use super::event::{ConversationState, Event, EventKind, Feedback};
use crate::compile::policy::{Policy, Priority, ReasonCode, Rule, Target, Tier};
use crate::route::Route;
use crate::text::Scan;

/// The signals the confidence fallback reads from one event.
#[derive(Debug, Clone, Copy)]
pub(super) struct Failure {
    /// Retrieval confidence below the fallback's `weak below`.
    pub weak: bool,
    /// The message repeats the previous one above the fallback's `rephrase above`.
    pub rephrased: bool,
    /// A phrase of the fallback's dissatisfied set, not negated.
    pub dissatisfied: bool,
    /// Negative feedback on the bot's reply.
    pub thumbs_down: bool,
    /// The frustration score, 0 to 1.
    pub frustration: f64,
    /// Similarity to the previous message, when there is one.
    pub rephrase: Option<f64>,
}

impl Failure {
    /// Whether the event counts as a strike.
    pub(super) fn failed(&self) -> bool {
        self.weak || self.rephrased || self.dissatisfied || self.thumbs_down
    }
}

/// Reads the failure signals of `event` (with its `scan`), against the state before it.
pub(super) fn failure(policy: &Policy, state: &ConversationState, scan: &Scan, event: &Event) -> Failure {
    let fb = &policy.fallback;
    let text = event.text.as_deref().unwrap_or("");
    // Only a policy that counts rephrasing pays for comparing the message with the previous one.
    let rephrase = match (&state.last_message, event.kind == EventKind::Message && !text.is_empty()) {
        (Some(prev), true) if fb.rephrase_above.is_some() => {
            Some(f64::from(crate::text::similarity(prev, text)))
        }
        _ => None,
    };
    let said = |set: Option<u32>| {
        set.is_some_and(|set| scan.hits.iter().any(|h| policy.matcher.counts_for(h.set, set) && !h.negated))
    };
    Failure {
        weak: matches!((event.confidence, fb.weak_below), (Some(c), Some(w)) if c < w),
        rephrased: matches!((rephrase, fb.rephrase_above), (Some(s), Some(t)) if s > t),
        dissatisfied: said(fb.dissatisfied_phrases),
        thumbs_down: event.feedback == Some(Feedback::Negative),
        frustration: frustration_score(policy, scan, text, event),
        rephrase,
    }
}

/// Which rules match, by index into [`Policy::rules`]. Only a customer message is matched against rules.
pub(super) fn matched(policy: &Policy, facts: &Facts<'_>) -> Vec<bool> {
    if facts.event.kind == EventKind::Message {
        policy.rules.iter().map(|r| cond::holds(&r.when, facts, r.negation)).collect()
    } else {
        vec![false; policy.rules.len()]
    }
}

/// What the highest tier says.
#[derive(Debug, Clone)]
pub(super) enum Verdict<'p> {
    /// An emergency rule matched.
    Emergency(&'p Rule),
    /// A rule of another tier matched: request, hard route or topic.
    Rule(&'p Rule),
    /// No rule matched and the confidence fallback hands off, for these reasons.
    Fallback(Vec<ReasonCode>),
    /// The bot may answer.
    Answer,
}

/// The verdict: the first matching rule (they are in precedence order), else the confidence fallback.
pub(super) fn verdict<'p>(
    policy: &'p Policy,
    matched: &[bool],
    failure: &Failure,
    strikes: u32,
    event: &Event,
) -> Verdict<'p> {
    if let Some(rule) = matched.iter().position(|m| *m).and_then(|i| policy.rules.get(i)) {
        return if rule.tier == Tier::Emergency { Verdict::Emergency(rule) } else { Verdict::Rule(rule) };
    }
    let fb = &policy.fallback;
    let mut reasons = Vec::new();
    if matches!((event.confidence, fb.handoff_below), (Some(c), Some(f)) if c < f) {
        reasons.push(ReasonCode::LowConfidence);
    }
    if fb.strikes.is_some_and(|limit| strikes >= limit) {
        reasons.push(ReasonCode::RepeatedFailure);
        if failure.weak && !reasons.contains(&ReasonCode::LowConfidence) {
            reasons.push(ReasonCode::LowConfidence);
        }
        if failure.rephrased {
            reasons.push(ReasonCode::Rephrase);
        }
        if failure.thumbs_down {
            reasons.push(ReasonCode::Feedback);
        }
    }
    if fb.frustration_above.is_some_and(|t| failure.frustration > t) {
        reasons.push(ReasonCode::Frustration);
    }
    if reasons.is_empty() { Verdict::Answer } else { Verdict::Fallback(reasons) }
}

/// What one decision does: the action, why, what the customer is told and where they go.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    /// The action.
    pub action: Action,
    /// Typed reasons, in the order they apply.
    pub reasons: Vec<ReasonCode>,
    /// The rules that decided.
    pub determining: Vec<String>,
    /// What the customer is told.
    pub say: Vec<String>,
    /// Where the conversation goes, when a person is involved.
    pub route: Option<Route>,
}

impl Outcome {
    fn new(action: Action, reasons: Vec<ReasonCode>) -> Outcome {
        Outcome { action, reasons, determining: Vec::new(), say: Vec::new(), route: None }
    }

    /// Whether the outcome hands the conversation to a person (now, later or as an emergency).
    pub(super) fn escalates(&self) -> bool {
        matches!(self.action, Action::Handoff | Action::Capture | Action::Emergency)
    }
}

/// The outcome of a step of the conversation, routed at `time`.
pub(super) fn outcome(
    policy: &Policy,
    step: Step<'_>,
    queue: Option<&str>,
    failure: &Failure,
    event: &Event,
    time: DateTime<Utc>,
) -> Outcome {
    match step {
        Step::Hold => Outcome::new(Action::Hold, Vec::new()),
        Step::Queued(rule) => {
            let mut out = Outcome::new(Action::Hold, Vec::new());
            if let Some(rule) = rule {
                out.reasons.push(rule.reason);
                out.determining.push(rule.id.clone());
            }
            let queue = queue.unwrap_or(&policy.safe_queue);
            out.say.push(policy.conventions.waiting.replace("{queue}", queue));
            out
        }
        Step::HandedBack | Step::Act(Verdict::Answer) => {
            Outcome::new(Action::Answer, vec![ReasonCode::Default])
        }
        Step::Act(Verdict::Emergency(rule)) => {
            // The emergency's own words; its route is urgent whatever the rule says.
            let route =
                hand_off(policy, rule.route.as_ref(), Priority::Urgent.max(rule.priority), event, time, 0.0);
            Outcome {
                action: Action::Emergency,
                reasons: vec![ReasonCode::Emergency],
                determining: vec![rule.id.clone()],
                say: rule.say.iter().cloned().collect(),
                route: Some(route),
            }
        }
        Step::Act(Verdict::Rule(rule)) => {
            let route =
                hand_off(policy, rule.route.as_ref(), rule.priority, event, time, failure.frustration);
            let mut say: Vec<String> = rule.say.iter().cloned().collect();
            say.push(route.message.clone());
            Outcome {
                action: live_or_capture(&route),
                reasons: vec![rule.reason],
                determining: vec![rule.id.clone()],
                say,
                route: Some(route),
            }
        }
        Step::Act(Verdict::Fallback(reasons)) => {
            let fb = &policy.fallback;
            let route = hand_off(policy, fb.route.as_ref(), fb.priority, event, time, failure.frustration);
            let mut say: Vec<String> = fb.say.iter().cloned().collect();
            say.push(route.message.clone());
            Outcome {
                action: live_or_capture(&route),
                reasons,
                determining: Vec::new(),
                say,
                route: Some(route),
            }
        }
    }
}

/// `handoff` when a person is there now, else an honest `capture`.
pub(super) fn live_or_capture(route: &Route) -> Action {
    if route.live() { Action::Handoff } else { Action::Capture }
}

/// The route of a handoff to `target`, at the priority the policy gives this customer: the rule's, raised to
/// `high` for a customer whose `tier` is one of the policy's priority tiers or whose frustration is above the
/// fallback's threshold ([`Conventions`] otherwise).
///
/// [`Conventions`]: crate::compile::policy::Conventions
pub(super) fn hand_off(
    policy: &Policy,
    target: Option<&Target>,
    priority: Priority,
    event: &Event,
    time: DateTime<Utc>,
    frustration: f64,
) -> Route {
    let tier = event.customer.get("tier").and_then(|t| t.as_str());
    let vip = tier.is_some_and(|t| policy.conventions.priority_tiers.iter().any(|v| v == t));
    let upset = frustration > policy.fallback.frustration_above.unwrap_or(policy.conventions.upset_above);
    let priority = if vip || upset { priority.max(Priority::High) } else { priority };
    policy.directory().hand_off(target, priority, time, event.agents_online.as_ref())
}

/// The frustration score, 0 to 1. One clear frustration phrase (not negated) scores 0.75, enough on its own for
/// the usual threshold of 0.7; each further phrase adds 0.15. Shouting adds up to 0.35, each run of repeated
/// `!`/`?` 0.1 (three at most), and negative upstream sentiment up to 0.4. A contrast after the first phrase
/// ("frustrating, but you've been great") halves the score. Measured on goemotions: docs/frustration.md.
fn frustration_score(policy: &Policy, scan: &Scan, text: &str, event: &Event) -> f64 {
    let mut score = 0.0;
    let mut first_end = None;
    if let Some(set) = policy.fallback.frustration_phrases {
        let mut hits = scan.hits.iter().filter(|h| policy.matcher.counts_for(h.set, set) && !h.negated);
        if let Some(first) = hits.next() {
            score += 0.75 + 0.15 * hits.count() as f64;
            first_end = Some(first.span.end);
        }
    }
    score += 0.35 * f64::from(crate::text::shouting(text));
    score += 0.1 * f64::from(crate::text::repeated_punctuation(text).min(3));
    if let Some(s) = event.sentiment.filter(|s| *s < 0.0) {
        score += -s * 0.4;
    }
    if first_end.is_some_and(|end| scan.contrast_after(end)) {
        score *= 0.5;
    }
    score.clamp(0.0, 1.0)
}
