//! Evaluating compiled conditions against one event, and explaining the outcome in words.

use chrono::{Datelike, Timelike};

use crate::compile::policy::{CompareOp, NegationMode};
use crate::compile::policy::{Cond, Literal, NumberField, Policy, TextField};
use crate::text::{Hit, Said};

use super::event::Event;

/// Everything a condition may look at.
pub(super) struct Facts<'a> {
    pub policy: &'a Policy,
    pub event: &'a Event,
    pub hits: &'a [Hit],
    /// Which sets the hits speak for.
    pub said: &'a Said,
    pub strikes: u32,
    pub turn: u32,
    pub frustration: f64,
    pub local: chrono::DateTime<chrono_tz::Tz>,
    /// For retention and disclaimers: which rules (by index) matched.
    pub matched: &'a [bool],
}

impl Facts<'_> {
    /// Whether a phrase of `set` occurs, honouring negation as the rule asks.
    pub(super) fn says(&self, set: u32, negation: NegationMode) -> bool {
        match negation {
            NegationMode::Ignored => self.said.any(set),
            NegationMode::Respected => self.said.affirmed(set),
        }
    }

    fn number(&self, field: NumberField) -> Option<f64> {
        match field {
            NumberField::Confidence => self.event.confidence,
            NumberField::Sentiment => self.event.sentiment,
            NumberField::Frustration => Some(self.frustration),
            NumberField::Strikes => Some(f64::from(self.strikes)),
            NumberField::Turn => Some(f64::from(self.turn)),
            NumberField::Hour => Some(f64::from(self.local.hour())),
        }
    }

    fn text(&self, field: TextField) -> Option<String> {
        match field {
            TextField::Feedback => self.event.feedback.map(|f| f.as_str().to_string()),
            TextField::Channel => self.event.channel.clone(),
            TextField::Page => self.event.page.clone(),
            TextField::Weekday => Some(self.local.weekday().to_string()),
        }
    }
}

/// Evaluates a condition. A test on a field the event does not carry is false.
pub(super) fn holds(c: &Cond, facts: &Facts<'_>, negation: NegationMode) -> bool {
    match c {
        Cond::True => true,
        Cond::And(parts) => parts.iter().all(|p| holds(p, facts, negation)),
        Cond::Or(parts) => parts.iter().any(|p| holds(p, facts, negation)),
        Cond::Not(inner) => !holds(inner, facts, negation),
        Cond::Says(set) => facts.says(*set, negation),
        Cond::Matched(rule) => facts.matched.get(*rule).copied().unwrap_or(false),
        Cond::Number(field, op, v) => facts.number(*field).is_some_and(|x| compare_numbers(x, *op, *v)),
        Cond::NumberIn(field, values) => facts.number(*field).is_some_and(|x| values.contains(&x)),
        Cond::Text(field, op, values) => facts.text(*field).is_some_and(|x| compare_text(&x, *op, values)),
        Cond::Intent(op, values) => {
            let any = facts.event.intents.iter().any(|i| values.iter().any(|v| v == i));
            if *op == CompareOp::Ne { !any } else { any }
        }
        Cond::Customer(attr, op, lit) => {
            facts.event.customer.get(attr).is_some_and(|v| compare_json(v, *op, lit))
        }
    }
}

fn compare_numbers(x: f64, op: CompareOp, v: f64) -> bool {
    match op {
        CompareOp::Eq => x == v,
        CompareOp::Ne => x != v,
        CompareOp::Lt => x < v,
        CompareOp::Le => x <= v,
        CompareOp::Gt => x > v,
        CompareOp::Ge => x >= v,
        CompareOp::In | CompareOp::Has | CompareOp::StartsWith => false,
    }
}

fn compare_text(x: &str, op: CompareOp, values: &[String]) -> bool {
    match op {
        CompareOp::Eq | CompareOp::In => values.iter().any(|v| v == x),
        CompareOp::Ne => values.iter().all(|v| v != x),
        CompareOp::StartsWith => values.iter().any(|v| x.starts_with(v.as_str())),
        _ => false,
    }
}

fn literal_matches(v: &serde_json::Value, lit: &Literal) -> bool {
    match (v, lit) {
        (serde_json::Value::String(s), Literal::Text(t)) => s == t,
        (serde_json::Value::Number(n), Literal::Number(x)) => n.as_f64() == Some(*x),
        (serde_json::Value::Bool(b), Literal::Bool(x)) => b == x,
        _ => false,
    }
}

fn compare_json(v: &serde_json::Value, op: CompareOp, lit: &Literal) -> bool {
    match op {
        CompareOp::Eq => literal_matches(v, lit),
        CompareOp::Ne => !literal_matches(v, lit),
        CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => match (v.as_f64(), lit) {
            (Some(x), Literal::Number(y)) => compare_numbers(x, op, *y),
            _ => false,
        },
        CompareOp::In => match lit {
            Literal::List(items) => items.iter().any(|i| literal_matches(v, i)),
            _ => false,
        },
        CompareOp::Has => match v {
            serde_json::Value::Array(items) => items.iter().any(|i| literal_matches(i, lit)),
            _ => false,
        },
        CompareOp::StartsWith => match (v, lit) {
            (serde_json::Value::String(s), Literal::Text(t)) => s.starts_with(t.as_str()),
            _ => false,
        },
    }
}

/// Text as the author writes it, quoted.
fn quote_text(text: &str) -> String {
    crate::syntax::print::quote(text)
}

/// The right-hand side of a text comparison as written: one quoted value, or a list after `in`.
fn texts(op: CompareOp, values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| quote_text(v)).collect();
    match (op, quoted.as_slice()) {
        (CompareOp::In, _) | (_, []) => format!("[{}]", quoted.join(", ")),
        (_, [one]) => one.clone(),
        _ => format!("[{}]", quoted.join(", ")),
    }
}

/// The fallback in words, as a trace of its own (it is a tier, though not a rule): each clause the policy sets,
/// with the signal it compared and the outcome, e.g. `confidence below 0.45 [yes: 0.31]`. It matched when one of
/// its reasons is among the decision's, and determined the action when its reason comes first.
pub(super) fn explain_fallback(
    fallback: &crate::compile::policy::Fallback,
    signals: &super::decision::Signals,
    reasons: &[crate::compile::policy::ReasonCode],
) -> super::decision::RuleTrace {
    use crate::compile::policy::ReasonCode as R;
    let mark = |ok: bool| if ok { "yes" } else { "no" };
    let given = |reason: R| reasons.contains(&reason);
    let number = |x: Option<f64>| x.map_or_else(|| "absent".to_string(), |x| x.to_string());
    let mut clauses = Vec::new();
    if let Some(t) = fallback.weak_below {
        clauses.push(format!(
            "confidence below {t} [{}: {}]",
            mark(given(R::LowConfidence)),
            number(signals.confidence)
        ));
    }
    if let Some(t) = fallback.handoff_below {
        let below = signals.confidence.is_some_and(|c| c < t);
        clauses.push(format!("handoff below {t} [{}: {}]", mark(below), number(signals.confidence)));
    }
    if let Some(n) = fallback.strikes {
        clauses.push(format!("strikes {n} [{}: {}]", mark(given(R::RepeatedFailure)), signals.strikes));
    }
    if let Some(t) = fallback.frustration_above {
        clauses.push(format!(
            "frustration above {t} [{}: {}]",
            mark(given(R::Frustration)),
            signals.frustration
        ));
    }
    if let Some(t) = fallback.rephrase_above {
        clauses.push(format!(
            "rephrase above {t} [{}: {}]",
            mark(given(R::Rephrase)),
            number(signals.rephrase)
        ));
    }
    if fallback.dissatisfied_phrases.is_some() || given(R::Feedback) {
        clauses.push(format!("dissatisfied or thumbs down [{}]", mark(given(R::Feedback))));
    }
    let ours = [R::LowConfidence, R::RepeatedFailure, R::Rephrase, R::Frustration, R::Feedback];
    let matched = reasons.iter().any(|r| ours.contains(r));
    super::decision::RuleTrace {
        id: "fallback".into(),
        tier: "fallback",
        matched,
        determining: reasons.first().is_some_and(|r| ours.contains(r)),
        why: if clauses.is_empty() { "no clause set [no]".into() } else { clauses.join("; ") },
    }
}

/// The condition in words, each test followed by its outcome: `says human_request [yes: "agent" at 10..15]`.
pub(super) fn explain(c: &Cond, facts: &Facts<'_>, negation: NegationMode, text: &str) -> String {
    let policy = facts.policy;
    let mark = |ok: bool| if ok { "yes" } else { "no" };
    match c {
        Cond::True => "always [yes]".into(),
        Cond::And(parts) | Cond::Or(parts) => {
            let sep = if matches!(c, Cond::And(_)) { " and " } else { " or " };
            let inner: Vec<String> = parts.iter().map(|p| explain(p, facts, negation, text)).collect();
            format!("({})", inner.join(sep))
        }
        Cond::Not(inner) => {
            format!("not {} [{}]", explain(inner, facts, negation, text), mark(holds(c, facts, negation)))
        }
        Cond::Says(set) => {
            let name = policy.phrase_sets.get(*set as usize).map(|s| s.name.as_str()).unwrap_or("?");
            let found: Vec<String> = facts
                .hits
                .iter()
                .filter(|h| policy.matcher.counts_for(h.set, *set))
                .map(|h| {
                    let quote = |span: &std::ops::Range<usize>| {
                        format!(
                            "\"{}\" at {}..{}",
                            text.get(span.clone()).unwrap_or(""),
                            span.start,
                            span.end
                        )
                    };
                    let negated =
                        if h.negated && negation == NegationMode::Respected { ", negated" } else { "" };
                    let found = match &h.parts {
                        Some([a, b]) => format!("{} near {}", quote(a), quote(b)),
                        None => quote(&h.span),
                    };
                    let phrase =
                        policy.phrases.get(h.phrase as usize).map(|p| p.text.as_str()).unwrap_or("?");
                    format!("{found}{negated} by {phrase}")
                })
                .collect();
            if found.is_empty() {
                format!("says {name} [no: no phrase found]")
            } else {
                format!("says {name} [{}: {}]", mark(facts.says(*set, negation)), found.join(", "))
            }
        }
        Cond::Matched(rule) => {
            let name = policy.rules.get(*rule).map(|r| r.name.as_str()).unwrap_or("?");
            format!("matched {name} [{}]", mark(holds(c, facts, negation)))
        }
        Cond::Number(field, op, v) => {
            let actual = facts.number(*field).map(|x| x.to_string()).unwrap_or_else(|| "absent".into());
            format!("{} {} {v} [{}: {actual}]", field.name(), op.symbol(), mark(holds(c, facts, negation)))
        }
        Cond::NumberIn(field, values) => {
            let actual = facts.number(*field).map(|x| x.to_string()).unwrap_or_else(|| "absent".into());
            let values: Vec<String> = values.iter().map(ToString::to_string).collect();
            format!(
                "{} in [{}] [{}: {actual}]",
                field.name(),
                values.join(", "),
                mark(holds(c, facts, negation))
            )
        }
        Cond::Text(field, op, values) => {
            let actual = facts.text(*field).map_or_else(|| "absent".into(), |t| quote_text(&t));
            format!(
                "{} {} {} [{}: {actual}]",
                field.name(),
                op.symbol(),
                texts(*op, values),
                mark(holds(c, facts, negation))
            )
        }
        Cond::Intent(op, values) => {
            let actual: Vec<String> = facts.event.intents.iter().map(|i| quote_text(i)).collect();
            format!(
                "intent {} {} [{}: {}]",
                op.symbol(),
                texts(*op, values),
                mark(holds(c, facts, negation)),
                if actual.is_empty() { "none".to_string() } else { actual.join(", ") }
            )
        }
        Cond::Customer(attr, op, lit) => {
            let actual =
                facts.event.customer.get(attr).map(|v| v.to_string()).unwrap_or_else(|| "absent".into());
            format!("customer.{attr} {} {lit} [{}: {actual}]", op.symbol(), mark(holds(c, facts, negation)))
        }
    }
}
