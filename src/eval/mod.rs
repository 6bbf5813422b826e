//! Stage 3, `eval`: compiled [`Policy`] + [`ConversationState`] + [`Event`] in, [`Decision`] + next state out.
//!
//! [`decide`] is a pure function of its inputs (the event carries its time). Precedence is fixed and fits in
//! one sentence: **emergency > explicit request > hard route > topic and business rules > confidence fallback >
//! answer**. Every rule is evaluated and every match reported; the highest tier decides, and within a tier the
//! highest `rank`, then the smallest rule id. Nothing the bot's confidence says can stop a higher tier.
//!
//! Fail safe: an event that cannot be evaluated (out-of-range field, over a limit, an internal fault) yields a
//! `handoff` (or `capture`) to the policy's safe queue with reason `engine_error`, never an `answer`; when what can
//! be read of it is an emergency, the emergency response instead ([`fail_safe`]).

mod cond;
pub mod decision;
pub mod event;
mod failsafe;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Months, Utc};

pub use decision::{Action, Decision};
pub use event::{ConversationState, Decoded, Event, EventKind, Feedback, Phase, decode};

use crate::compile::policy::{NegationMode, PeriodUnit, ShowMode, Tier};
use crate::compile::policy::{Policy, Priority, ReasonCode, Rule, Target};
use cond::Facts;
use decision::*;

/// Options for one decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecideOptions {
    /// Record why every rule did or did not fire.
    pub explain: bool,
}

/// Decides one event. Never panics and never answers when it cannot evaluate: see the module docs.
pub fn decide(policy: &Policy, state: &ConversationState, event: &Event) -> (Decision, ConversationState) {
    decide_with(policy, state, event, DecideOptions::default())
}

/// [`decide`] with options.
pub fn decide_with(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    options: DecideOptions,
) -> (Decision, ConversationState) {
    let problems = event.problems();
    if !problems.is_empty() {
        return fail_safe(policy, state, event, problems.iter().map(ToString::to_string).collect());
    }
    // INVARIANT: evaluation does not panic (the crate denies panicking constructs); if a dependency ever does,
    // the customer still reaches a person.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| evaluate(policy, state, event, options))) {
        Ok(result) => result,
        Err(_) => {
            fail_safe(policy, state, event, vec!["internal error while evaluating; this is a bug".into()])
        }
    }
}

/// [`decide_with`] at an explicit time: `now` stands for the clock when the event carries no `time`, so the
/// result depends on nothing but the arguments (replays and tests pin it).
pub fn decide_at(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    now: DateTime<Utc>,
    options: DecideOptions,
) -> (Decision, ConversationState) {
    if event.time.is_some() {
        return decide_with(policy, state, event, options);
    }
    let event = Event { time: Some(now), ..event.clone() };
    decide_with(policy, state, &event, options)
}

/// The decision for an event that could not be evaluated: the emergency response when what can be read of it is
/// an emergency, else a person at the safe queue; reason `engine_error` either way (see `src/eval/failsafe.rs`).
pub fn fail_safe(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    errors: Vec<String>,
) -> (Decision, ConversationState) {
    failsafe::fail_safe(policy, state, event, errors)
}

fn policy_ref(policy: &Policy) -> PolicyRef {
    PolicyRef { id: policy.id.clone(), version: policy.version.clone(), hash: policy.hash.clone() }
}

fn evaluate(
    policy: &Policy,
    state: &ConversationState,
    event: &Event,
    options: DecideOptions,
) -> (Decision, ConversationState) {
    let time = event.time.unwrap_or_else(Utc::now);
    let mut next = state.clone();
    let text = event.text.as_deref().unwrap_or("");
    let is_message = event.kind == EventKind::Message;
    if is_message {
        next.turn = next.turn.saturating_add(1);
        if next.phase == Phase::Closed {
            next = ConversationState { turn: 1, ..ConversationState::default() };
        }
        next.record(crate::handoff::Role::Customer, time, text);
    }
    if event.kind == EventKind::BotReply {
        next.record(crate::handoff::Role::Bot, time, text);
    }

    let scan = policy.matcher.scan(text);
    let local = time.with_timezone(&policy.timezone);

    // Failure signals for the fallback.
    let fb = &policy.fallback;
    let rephrase = match (&state.last_message, is_message && !text.is_empty()) {
        (Some(prev), true) => Some(f64::from(crate::text::similarity(prev, text))),
        _ => None,
    };
    let frustration = frustration_score(policy, &scan, text, event);
    let dissatisfied = fb
        .dissatisfied_phrases
        .is_some_and(|set| scan.hits.iter().any(|h| policy.matcher.counts_for(h.set, set) && !h.negated));
    let weak = matches!((event.confidence, fb.weak_below), (Some(c), Some(w)) if c < w);
    let rephrased = matches!((rephrase, fb.rephrase_above), (Some(s), Some(t)) if s > t);
    let thumbs_down = event.feedback == Some(Feedback::Negative);
    let failed = weak || rephrased || dissatisfied || thumbs_down;
    if failed {
        next.strikes = next.strikes.saturating_add(1);
    } else if is_message && event.confidence.is_some() {
        next.strikes = 0;
    }

    // Every rule, in precedence order.
    let facts = Facts {
        policy,
        event,
        hits: &scan.hits,
        strikes: next.strikes,
        turn: next.turn,
        frustration,
        local,
        matched: &[],
    };
    let matched: Vec<bool> = if is_message {
        policy.rules.iter().map(|r| cond::holds(&r.when, &facts, r.negation)).collect()
    } else {
        vec![false; policy.rules.len()]
    };
    // INVARIANT: rules are sorted by tier, then rank (higher first), then id, so the first match decides.
    let winner = matched.iter().position(|m| *m);

    let mut reasons = Vec::new();
    let mut determining = Vec::new();
    let mut say = Vec::new();
    let mut route = None;
    let action = match (next.phase, winner.and_then(|i| policy.rules.get(i))) {
        // A person owns the conversation, or is about to: the bot holds, except in an emergency.
        (Phase::Human | Phase::Waiting, Some(rule)) if rule.tier == Tier::Emergency => {
            self::emergency(policy, rule, event, time, &mut say, &mut route, &mut reasons, &mut determining)
        }
        (Phase::Waiting | Phase::Human, _)
            if matches!(event.kind, EventKind::BotReply | EventKind::Feedback) =>
        {
            Action::Hold
        }
        _ if matches!(event.kind, EventKind::AgentJoined) => {
            next.phase = Phase::Human;
            next.strikes = 0;
            Action::Hold
        }
        _ if matches!(event.kind, EventKind::HandBack) => {
            next.phase = Phase::Bot;
            next.queue = None;
            next.strikes = 0;
            reasons.push(ReasonCode::Default);
            Action::Answer
        }
        _ if matches!(event.kind, EventKind::Closed) => {
            next.phase = Phase::Closed;
            Action::Hold
        }
        (Phase::Human, _) => Action::Hold,
        (Phase::Waiting, rule) => {
            // Already in a queue: never re-queue. An explicit request is honoured by saying where they stand.
            if let Some(rule) = rule {
                reasons.push(rule.reason);
                determining.push(rule.id.clone());
            }
            let queue = state.queue.clone().unwrap_or_else(|| policy.safe_queue.clone());
            say.push(policy.conventions.waiting.replace("{queue}", &queue));
            Action::Hold
        }
        (_, Some(rule)) if rule.tier == Tier::Emergency => {
            self::emergency(policy, rule, event, time, &mut say, &mut route, &mut reasons, &mut determining)
        }
        (_, Some(rule)) => {
            reasons.push(rule.reason);
            determining.push(rule.id.clone());
            say.extend(rule.say.clone());
            let (action, r) = hand_off(policy, rule.route.as_ref(), rule.priority, event, time, frustration);
            say.push(r.message.clone());
            route = Some(r);
            action
        }
        (_, None) => {
            // The fallback tier.
            if matches!((event.confidence, fb.handoff_below), (Some(c), Some(f)) if c < f) {
                reasons.push(ReasonCode::LowConfidence);
            }
            if fb.strikes.is_some_and(|limit| next.strikes >= limit) {
                reasons.push(ReasonCode::RepeatedFailure);
                if weak && !reasons.contains(&ReasonCode::LowConfidence) {
                    reasons.push(ReasonCode::LowConfidence);
                }
                if rephrased {
                    reasons.push(ReasonCode::Rephrase);
                }
                if thumbs_down {
                    reasons.push(ReasonCode::Feedback);
                }
            }
            if fb.frustration_above.is_some_and(|t| frustration > t) {
                reasons.push(ReasonCode::Frustration);
            }
            if reasons.is_empty() {
                reasons.push(ReasonCode::Default);
                Action::Answer
            } else {
                say.extend(fb.say.clone());
                let (action, r) = hand_off(policy, fb.route.as_ref(), fb.priority, event, time, frustration);
                say.push(r.message.clone());
                route = Some(r);
                action
            }
        }
    };
    // Escalating moves a bot conversation into the queue; one already queued or with a person stays where it is.
    let escalated =
        matches!(action, Action::Handoff | Action::Capture | Action::Emergency) && next.phase == Phase::Bot;
    let strikes_before = next.strikes;
    if escalated {
        next.phase = Phase::Waiting;
        next.queue = route.as_ref().map(|r| r.queue.clone());
        next.strikes = 0;
    }
    if is_message && !text.is_empty() {
        next.last_message = Some(text.to_string());
    }

    let rules: Vec<RuleHit> = policy
        .rules
        .iter()
        .zip(&matched)
        .filter(|(_, m)| **m)
        .map(|(rule, _)| RuleHit {
            id: rule.id.clone(),
            tier: rule.tier.keyword(),
            reason: rule.reason,
            determining: determining.contains(&rule.id),
            matches: phrase_matches(policy, rule, &scan.hits, text),
        })
        .collect();

    let facts = Facts { matched: &matched, ..facts };
    let disclaimers = disclaimers(policy, &matched, &facts, &mut next);
    let retention = retention(policy, &facts, time);
    // A packet carries earlier turns: it is redacted and kept under the strictest retention of the conversation
    // (`next`, so a conversation reopened after `closed` starts afresh).
    next.retention = RetentionDecision::strictest(next.retention.as_ref(), retention.as_ref());
    let handoff = match (&route, escalated) {
        (Some(r), true) => {
            let mut with_strikes = next.clone();
            with_strikes.strikes = strikes_before;
            Some(packet(&with_strikes, event, time, &reasons, &determining, r, next.retention.as_ref()))
        }
        _ => None,
    };
    // The strikes the fallback looked at (an escalation then resets the conversation's count).
    let signals = Signals { confidence: event.confidence, strikes: strikes_before, frustration, rephrase };
    let explain = options.explain.then(|| {
        policy
            .rules
            .iter()
            .zip(&matched)
            .map(|(rule, m)| RuleTrace {
                id: rule.id.clone(),
                tier: rule.tier.keyword(),
                matched: *m,
                determining: determining.contains(&rule.id),
                why: cond::explain(&rule.when, &facts, rule.negation, text),
            })
            .chain(std::iter::once(cond::explain_fallback(&policy.fallback, &signals, &reasons)))
            .collect()
    });
    let decision = Decision {
        conversation: event.conversation.clone(),
        turn: next.turn,
        time,
        action,
        reasons,
        determining,
        rules,
        route,
        say,
        disclaimers,
        retention,
        signals,
        state: next.phase,
        policy: policy_ref(policy),
        handoff,
        errors: Vec::new(),
        explain,
    };
    (decision, next)
}

#[allow(clippy::too_many_arguments)]
fn emergency(
    policy: &Policy,
    rule: &Rule,
    event: &Event,
    time: DateTime<Utc>,
    say: &mut Vec<String>,
    route: &mut Option<Route>,
    reasons: &mut Vec<ReasonCode>,
    determining: &mut Vec<String>,
) -> Action {
    reasons.push(ReasonCode::Emergency);
    determining.push(rule.id.clone());
    say.extend(rule.say.clone());
    let queue = resolve(policy, rule.route.as_ref(), event, time);
    *route = Some(route_to(policy, &queue, Priority::Urgent.max(rule.priority), event, time, 0.0));
    Action::Emergency
}

/// The phrases that made a rule match: hits of the sets its condition names, negated ones marked.
fn phrase_matches(policy: &Policy, rule: &Rule, hits: &[crate::text::Hit], text: &str) -> Vec<PhraseMatch> {
    let sets = rule.when.phrase_sets();
    let part = |span: &std::ops::Range<usize>| MatchPart {
        text: text.get(span.clone()).unwrap_or("").to_string(),
        start: span.start,
        end: span.end,
    };
    hits.iter()
        .filter(|h| sets.iter().any(|set| policy.matcher.counts_for(h.set, *set)))
        .map(|h| PhraseMatch {
            set: policy.phrase_sets.get(h.set as usize).map(|s| s.name.clone()).unwrap_or_default(),
            phrase: policy.phrases.get(h.phrase as usize).map(|p| p.text.clone()).unwrap_or_default(),
            text: text.get(h.span.clone()).unwrap_or("").to_string(),
            start: h.span.start,
            end: h.span.end,
            negated: h.negated && rule.negation == NegationMode::Respected,
            parts: h.parts.iter().flatten().map(part).collect(),
        })
        .collect()
}

/// The frustration score, 0 to 1. One clear frustration phrase (not negated) scores 0.75, enough on its own for
/// the usual threshold of 0.7; each further phrase adds 0.15. Shouting adds up to 0.35, each run of repeated
/// `!`/`?` 0.1 (three at most), and negative upstream sentiment up to 0.4. A contrast after the first phrase
/// ("frustrating, but you've been great") halves the score. Measured on goemotions: docs/frustration.md.
fn frustration_score(policy: &Policy, scan: &crate::text::Scan, text: &str, event: &Event) -> f64 {
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

/// A handoff to a target: the route, and `handoff` when a person is there now, else `capture`.
fn hand_off(
    policy: &Policy,
    target: Option<&Target>,
    priority: Priority,
    event: &Event,
    time: DateTime<Utc>,
    frustration: f64,
) -> (Action, Route) {
    let queue = resolve(policy, target, event, time);
    let route = route_to(policy, &queue, priority, event, time, frustration);
    (if route.live() { Action::Handoff } else { Action::Capture }, route)
}

/// The queue a target names at `time`: the queue itself; for a skill, the first queue with it that is open and
/// staffed, else the one that opens soonest; with no target, the safe queue.
fn resolve(policy: &Policy, target: Option<&Target>, event: &Event, time: DateTime<Utc>) -> String {
    let skill = match target {
        None => return policy.safe_queue.clone(),
        Some(Target::Queue(q)) => return q.clone(),
        Some(Target::Skill(s)) => s,
    };
    let candidates: Vec<&crate::compile::policy::Queue> =
        policy.queues.iter().filter(|q| q.skill.as_deref() == Some(skill.as_str())).collect();
    let staffed = |q: &str| event.agents_online.as_ref().and_then(|m| m.get(q).copied()) != Some(false);
    candidates
        .iter()
        .find(|q| q.schedule.is_open(time) && staffed(&q.name))
        .or_else(|| {
            let opens = |q: &&&crate::compile::policy::Queue| {
                q.schedule.next_open(time).map(|t| t.with_timezone(&Utc)).unwrap_or(DateTime::<Utc>::MAX_UTC)
            };
            candidates.iter().min_by_key(opens)
        })
        .map(|q| q.name.clone())
        .unwrap_or_else(|| policy.safe_queue.clone())
}

/// Where a handoff goes: the queue's hours and staffing decide live chat or an honest promise
/// ([`crate::route`]). Priority is the rule's, raised to `high` for a customer whose `tier` is one of the
/// policy's priority tiers or whose frustration is above the fallback's threshold ([`Conventions`] otherwise).
///
/// [`Conventions`]: crate::compile::policy::Conventions
fn route_to(
    policy: &Policy,
    queue: &str,
    priority: Priority,
    event: &Event,
    time: DateTime<Utc>,
    frustration: f64,
) -> Route {
    let tier = event.customer.get("tier").and_then(|t| t.as_str());
    let vip = tier.is_some_and(|t| policy.conventions.priority_tiers.iter().any(|v| v == t));
    let upset = frustration > policy.fallback.frustration_above.unwrap_or(policy.conventions.upset_above);
    let priority = if vip || upset { priority.max(Priority::High) } else { priority };
    let staffed = event.agents_online.as_ref().and_then(|m| m.get(queue).copied());
    let Some(q) = policy.queue(queue) else {
        // INVARIANT: the compiler checks every route names a queue; should one not, the customer still reaches a
        // person through an honest ticket rather than a live-transfer promise.
        return Route {
            queue: queue.to_string(),
            priority,
            channel: crate::route::Channel::Ticket,
            skill: None,
            open_now: false,
            wait: None,
            follow_up_by: None,
            message: policy.conventions.unknown_queue.clone(),
        };
    };
    let plan = crate::route::QueuePlan {
        name: &q.name,
        schedule: &q.schedule,
        channel: q.channel,
        wait: q.wait.as_deref(),
        after_hours: q.after_hours.as_ref().map(|(c, t)| (*c, t.as_str())),
        follow_up_minutes: q.follow_up_minutes,
        phone: q.phone.as_deref(),
    };
    let routed = crate::route::route(&plan, time, staffed);
    Route {
        queue: queue.to_string(),
        priority,
        channel: routed.channel,
        skill: q.skill.clone(),
        open_now: routed.open_now,
        wait: routed.wait,
        follow_up_by: routed.follow_up_by,
        message: routed.message,
    }
}

/// The packet for the person taking over ([`crate::handoff`]), redacted per the retention decision.
#[allow(clippy::too_many_arguments)]
fn packet(
    state: &ConversationState,
    event: &Event,
    time: DateTime<Utc>,
    reasons: &[ReasonCode],
    rules: &[String],
    route: &Route,
    retention: Option<&RetentionDecision>,
) -> crate::handoff::Packet {
    let code = |r: &ReasonCode| r.as_str().to_string();
    let redact: Vec<crate::handoff::PiiKind> = retention.map(|r| r.redact.clone()).unwrap_or_default();
    crate::handoff::build(crate::handoff::PacketInput {
        conversation: &event.conversation,
        time,
        reasons: reasons.iter().map(code).collect(),
        rules: rules.to_vec(),
        queue: &route.queue,
        priority: route.priority.as_str(),
        channel: route.channel.name(),
        transcript: &state.transcript,
        strikes: state.strikes,
        supplied: &event.customer,
        redact: &redact,
        retention: retention.map(crate::handoff::PacketRetention::from),
    })
}

/// Disclaimers: those named by matching rules, and those whose `when` holds, each per its `show` mode.
fn disclaimers(
    policy: &Policy,
    matched: &[bool],
    facts: &Facts<'_>,
    next: &mut ConversationState,
) -> Vec<ShownDisclaimer> {
    let mut wanted: Vec<usize> = Vec::new();
    for (rule, m) in policy.rules.iter().zip(matched) {
        if *m {
            wanted.extend(&rule.disclaimers);
        }
    }
    for (i, d) in policy.disclaimers.iter().enumerate() {
        let fires = match (&d.when, d.show) {
            (Some(c), _) => cond::holds(c, facts, NegationMode::Respected),
            (None, ShowMode::FirstMessage) => true,
            (None, _) => false,
        };
        if fires {
            wanted.push(i);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut shown = Vec::new();
    for i in wanted {
        let Some(d) = policy.disclaimers.get(i) else {
            continue;
        };
        let already = next.disclaimers_shown.contains(&d.name);
        let show = match d.show {
            ShowMode::Always => true,
            ShowMode::Once => !already,
            ShowMode::FirstMessage => facts.turn == 1 && !already,
        };
        if show {
            if !already {
                next.disclaimers_shown.push(d.name.clone());
            }
            shown.push(ShownDisclaimer { name: d.name.clone(), text: d.text.clone() });
        }
    }
    shown
}

/// The strictest matching retention class: the longest period (legal hold beats any), redactions united.
fn retention(policy: &Policy, facts: &Facts<'_>, time: DateTime<Utc>) -> Option<RetentionDecision> {
    let mut best: Option<RetentionDecision> = None;
    let mut redact: Vec<crate::handoff::PiiKind> = Vec::new();
    let mut hold = false;
    for r in &policy.retention {
        if !cond::holds(&r.when, facts, NegationMode::Respected) {
            continue;
        }
        redact.extend(r.redact.iter().copied());
        hold |= r.legal_hold;
        let until = keep_until(time, r.keep);
        let stricter = match &best {
            None => true,
            Some(b) => r.legal_hold && !b.legal_hold || until > b.keep_until,
        };
        if stricter {
            best = Some(RetentionDecision {
                class: r.class.clone(),
                keep_until: until,
                redact: Vec::new(),
                legal_hold: r.legal_hold,
            });
        }
    }
    // By name, as the decision lists them.
    redact.sort_by_key(|k| k.name());
    redact.dedup();
    best.map(|b| RetentionDecision { redact, legal_hold: hold, ..b })
}

fn keep_until(time: DateTime<Utc>, (n, unit): (u32, PeriodUnit)) -> DateTime<Utc> {
    let far = DateTime::<Utc>::MAX_UTC;
    match unit {
        PeriodUnit::Days => time.checked_add_signed(chrono::Duration::days(i64::from(n))).unwrap_or(far),
        PeriodUnit::Months => time.checked_add_months(Months::new(n)).unwrap_or(far),
        PeriodUnit::Years => time.checked_add_months(Months::new(n.saturating_mul(12))).unwrap_or(far),
    }
}
