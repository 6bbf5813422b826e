//! Conditions: the AST's `when` expressions type-checked against the fields an event has, lowered to [`Cond`].

use crate::diagnostic::SourceId;
use crate::syntax::ast::*;

use super::build::Builder;
use super::error::{CompileError, CompileErrorKind as K};
use super::lower::Names;
use super::policy::{Cond, Literal, NumberField, TextField};

fn weekday_long(short: &str, value: &str) -> bool {
    value.len() > 3 && value.to_ascii_lowercase().starts_with(&short.to_ascii_lowercase())
}

pub(super) fn says(set: &Name, span: Span) -> Condition {
    Condition { kind: ConditionKind::Says(set.clone()), span }
}

pub(super) fn mentions_message(c: &Cond) -> bool {
    match c {
        Cond::Says(_) | Cond::Intent(..) => true,
        Cond::And(parts) | Cond::Or(parts) => parts.iter().any(mentions_message),
        Cond::Not(inner) => mentions_message(inner),
        _ => false,
    }
}

fn literal(v: &Value) -> Literal {
    match v {
        Value::Number(n) => Literal::Number(n.value),
        Value::Str(s) => Literal::Text(s.value.clone()),
        Value::Bool(b) => Literal::Bool(b.node),
        Value::List(items) => Literal::List(items.node.iter().map(literal).collect()),
    }
}

fn describe_value(v: &Value) -> &'static str {
    match v {
        Value::Number(_) => "a number",
        Value::Str(_) => "text",
        Value::Bool(_) => "a boolean",
        Value::List(_) => "a list",
    }
}

fn mismatch(field: &str, expected: &'static str, found: &Value, src: SourceId) -> CompileError {
    CompileError::new(
        K::TypeMismatch { field: field.into(), expected, found: describe_value(found) },
        src,
        found.span(),
    )
}

/// The fields of an event a condition may test (besides `customer.<attribute>`).
const FIELDS: [&str; 11] = [
    "confidence",
    "sentiment",
    "frustration",
    "strikes",
    "turn",
    "hour",
    "feedback",
    "channel",
    "page",
    "weekday",
    "intent",
];

impl Builder {
    /// Lowers a condition, checking names and types. `allow_matched` is true in retention rules and disclaimers.
    pub(super) fn cond(
        &mut self,
        c: &Condition,
        src: SourceId,
        names: &Names<'_>,
        allow_matched: bool,
    ) -> Cond {
        match &c.kind {
            ConditionKind::And(parts) => {
                Cond::And(parts.iter().map(|p| self.cond(p, src, names, allow_matched)).collect())
            }
            ConditionKind::Or(parts) => {
                Cond::Or(parts.iter().map(|p| self.cond(p, src, names, allow_matched)).collect())
            }
            ConditionKind::Not(inner) => Cond::Not(Box::new(self.cond(inner, src, names, allow_matched))),
            ConditionKind::Says(set) => match names.sets.iter().position(|s| *s == set.text) {
                Some(i) => Cond::Says(i as u32),
                None => {
                    self.push(
                        CompileError::new(K::UnknownPhraseSet(set.text.clone()), src, set.span)
                            .suggest(&set.text, names.sets.iter().map(String::as_str)),
                    );
                    Cond::Or(Vec::new())
                }
            },
            ConditionKind::Matched(rule) => {
                if !allow_matched {
                    self.push(CompileError::new(K::MatchedOutsideRetain, src, c.span));
                    return Cond::Or(Vec::new());
                }
                match names.rules.iter().position(|r| *r == rule.text) {
                    Some(i) => Cond::Matched(i),
                    None => {
                        self.push(
                            CompileError::new(K::UnknownRule(rule.text.clone()), src, rule.span)
                                .suggest(&rule.text, names.rules.iter().map(String::as_str)),
                        );
                        Cond::Or(Vec::new())
                    }
                }
            }
            ConditionKind::Compare { field, op, value } => self.compare(field, op, value, src),
        }
    }

    fn compare(&mut self, field: &Name, op: &Spanned<CompareOp>, value: &Value, src: SourceId) -> Cond {
        let f = field.text.as_str();
        if let Some(attr) = f.strip_prefix("customer.") {
            if matches!(op.node, CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge)
                && !matches!(value, Value::Number(_))
            {
                self.push(mismatch(f, "is compared by order only with numbers", value, src));
            }
            if op.node == CompareOp::In && !matches!(value, Value::List(_)) {
                self.push(mismatch(f, "is tested with `in` against a list", value, src));
            }
            return Cond::Customer(attr.to_string(), op.node.into(), literal(value));
        }
        let number_field = match f {
            "confidence" => Some((NumberField::Confidence, 0.0, 1.0)),
            "sentiment" => Some((NumberField::Sentiment, -1.0, 1.0)),
            "frustration" => Some((NumberField::Frustration, 0.0, 1.0)),
            "strikes" => Some((NumberField::Strikes, 0.0, f64::from(u32::MAX))),
            "turn" => Some((NumberField::Turn, 0.0, f64::from(u32::MAX))),
            "hour" => Some((NumberField::Hour, 0.0, 23.0)),
            _ => None,
        };
        if let Some((nf, min, max)) = number_field {
            return match (op.node, value) {
                (CompareOp::Has | CompareOp::StartsWith, _) => {
                    self.push(CompileError::new(
                        K::BadOperator { field: f.into(), op: op.node.symbol() },
                        src,
                        op.span,
                    ));
                    Cond::Or(Vec::new())
                }
                (CompareOp::In, Value::List(items)) => {
                    let mut values = Vec::new();
                    for item in &items.node {
                        match item {
                            Value::Number(n) => values.push(n.value),
                            other => self.push(mismatch(f, "is a number", other, src)),
                        }
                    }
                    Cond::NumberIn(nf, values)
                }
                (CompareOp::In, other) => {
                    self.push(mismatch(f, "is tested with `in` against a list", other, src));
                    Cond::Or(Vec::new())
                }
                (_, Value::Number(n)) => {
                    if n.value < min || n.value > max {
                        self.push(CompileError::new(
                            K::OutOfRange { field: f.into(), min, max, value: n.value },
                            src,
                            n.span,
                        ));
                    }
                    Cond::Number(nf, op.node.into(), n.value)
                }
                (_, other) => {
                    self.push(mismatch(f, "is a number", other, src));
                    Cond::Or(Vec::new())
                }
            };
        }
        let text_field = match f {
            "feedback" => Some((TextField::Feedback, &["positive", "negative"][..])),
            "channel" => Some((TextField::Channel, &[][..])),
            "page" => Some((TextField::Page, &[][..])),
            "weekday" => Some((TextField::Weekday, &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][..])),
            "intent" => None,
            _ => {
                self.push(
                    CompileError::new(K::UnknownField(f.into()), src, field.span)
                        .suggest(f, FIELDS.iter().copied())
                        .help(format!(
                            "the fields are {}, and `customer.<attribute>`",
                            FIELDS.map(|x| format!("`{x}`")).join(", ")
                        )),
                );
                return Cond::Or(Vec::new());
            }
        };
        let allowed = match text_field {
            Some(_) => [CompareOp::Eq, CompareOp::Ne, CompareOp::In, CompareOp::StartsWith].as_slice(),
            None => [CompareOp::Eq, CompareOp::Ne, CompareOp::In, CompareOp::Has].as_slice(),
        };
        if !allowed.contains(&op.node) {
            self.push(CompileError::new(
                K::BadOperator { field: f.into(), op: op.node.symbol() },
                src,
                op.span,
            ));
            return Cond::Or(Vec::new());
        }
        let values: Vec<String> = match (op.node, value) {
            (CompareOp::In, Value::List(items)) => items
                .node
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(s.value.clone()),
                    other => {
                        self.push(mismatch(f, "is text", other, src));
                        None
                    }
                })
                .collect(),
            (CompareOp::In, other) => {
                self.push(mismatch(f, "is tested with `in` against a list", other, src));
                Vec::new()
            }
            (_, Value::Str(s)) => vec![s.value.clone()],
            (_, other) => {
                self.push(mismatch(f, "is text", other, src));
                Vec::new()
            }
        };
        match text_field {
            Some((tf, known)) => {
                let mut canonical = Vec::with_capacity(values.len());
                for v in values {
                    if known.is_empty() {
                        canonical.push(v);
                        continue;
                    }
                    match known.iter().find(|k| k.eq_ignore_ascii_case(&v) || weekday_long(k, &v)) {
                        Some(k) => canonical.push(k.to_string()),
                        None => self.push(
                            CompileError::new(
                                K::UnknownValue { field: f.into(), value: v.clone() },
                                src,
                                value.span(),
                            )
                            .suggest(&v, known.iter().copied())
                            .help(format!("`{f}` is one of {}", known.join(", "))),
                        ),
                    }
                }
                Cond::Text(tf, op.node.into(), canonical)
            }
            None => Cond::Intent(op.node.into(), values),
        }
    }
}
