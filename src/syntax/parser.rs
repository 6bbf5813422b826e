//! From source text to [`PolicyFile`]: pest parses, then one walker function per grammar rule builds the AST.
//!
//! pest types never leave this file. A pest error becomes a [`SyntaxError`] whose message lists what was
//! expected in plain words (`a condition such as \`says cardiac\``), never grammar rule names.

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};

use super::ast::*;
use super::error::{SyntaxError, SyntaxErrorKind};

/// The largest policy file accepted, in bytes. A policy is written by people; anything larger is a mistake
/// (or an attack on the parser), and is refused before parsing.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;

/// The deepest nesting in one condition or value: parentheses, `[` lists and chained `not`, counted together.
/// pest recurses per level (and so do the walkers, the compiler and the evaluator); the limit keeps a hostile
/// file from exhausting the stack (9,000 chained `not`s once overflowed it).
pub const MAX_CONDITION_DEPTH: usize = 32;

mod grammar {
    #![allow(missing_docs)]
    /// The pest parser generated from `grammar/policy.pest`.
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/policy.pest"]
    pub(super) struct PolicyParser;
}

use grammar::{PolicyParser, Rule};

/// Parses a policy source. Returns the first syntax error: after a syntax error the rest of the file cannot be
/// read reliably, so later stages (which report every error at once) run only on files that parse.
pub fn parse(source: &str) -> Result<PolicyFile, SyntaxError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(SyntaxError::new(
            SyntaxErrorKind::FileTooLarge { size: source.len(), limit: MAX_SOURCE_BYTES },
            Span::new(0, 0),
        ));
    }
    check_nesting(source)?;
    let mut pairs = PolicyParser::parse(Rule::file, source).map_err(|e| from_pest(source, e))?;
    let file = next(&mut pairs, Span::new(0, source.len()))?;
    let mut items = Vec::new();
    for pair in file.into_inner() {
        if pair.as_rule() == Rule::item {
            items.push(item(pair)?);
        }
    }
    Ok(PolicyFile { items, comments: comments(source) })
}

/// Refuses nesting deeper than [`MAX_CONDITION_DEPTH`] before pest recurses into it.
///
/// Every recursive rule of the grammar counts: parentheses (`parenthesised`), lists (`list` in `value`) and
/// chained `not` (`negated`), together, since pest (and the walkers below, the compiler and the evaluator after
/// them) recurse once per level of any of them. A `not` nests inside the level it is written in until the next
/// word that is not `not` (the test it negates); counting that way can only over-estimate, never miss a level.
fn check_nesting(source: &str) -> Result<(), SyntaxError> {
    // Not-counts per open bracket level (the outermost level is the condition itself), and their sum.
    let mut nots: Vec<usize> = vec![0];
    let mut depth = 0usize;
    let too_deep = |at: usize, len: usize| {
        Err(SyntaxError::new(
            SyntaxErrorKind::TooDeep { limit: MAX_CONDITION_DEPTH },
            Span::new(at, at + len),
        ))
    };
    let mut in_string = false;
    let mut escaped = false;
    let mut in_comment = false;
    let mut word_start: Option<usize> = None;
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut chars = source.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
            continue;
        }
        if is_word(c) {
            word_start.get_or_insert(at);
            if chars.peek().is_some_and(|(_, next)| is_word(*next)) {
                continue;
            }
            let word = source.get(word_start.take().unwrap_or(at)..at + c.len_utf8()).unwrap_or("");
            let level = nots.last_mut();
            if word == "not" {
                depth += 1;
                if let Some(n) = level {
                    *n += 1;
                }
                if depth > MAX_CONDITION_DEPTH {
                    return too_deep(at + 1 - word.len(), word.len());
                }
            } else if let Some(n) = level {
                // The test the `not`s negate: they close with it.
                depth -= *n;
                *n = 0;
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' => in_string = true,
            '(' | '[' => {
                depth += 1;
                nots.push(0);
                if depth > MAX_CONDITION_DEPTH {
                    return too_deep(at, 1);
                }
            }
            ')' | ']' if nots.len() > 1 => {
                let closed = nots.pop().unwrap_or(0);
                depth = depth.saturating_sub(closed + 1);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every comment in the source, found by a small scan that skips strings (a `#` inside quotes is text).
pub(crate) fn comments(source: &str) -> Vec<Comment> {
    let mut found = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    for (at, c) in source.char_indices() {
        if let Some(from) = start {
            if c == '\n' {
                push_comment(source, from, at, &mut found);
                start = None;
            }
            continue;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '#' => start = Some(at),
            '"' => in_string = true,
            _ => {}
        }
    }
    if let Some(from) = start {
        push_comment(source, from, source.len(), &mut found);
    }
    found
}

fn push_comment(source: &str, from: usize, to: usize, found: &mut Vec<Comment>) {
    let raw = source.get(from + 1..to).unwrap_or("");
    found.push(Comment { text: raw.trim_end_matches('\r').to_string(), span: Span::new(from, to) });
}

// -------------------------------------------------------------------------------------------------------------
// Walkers: one per grammar rule.
// -------------------------------------------------------------------------------------------------------------

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

/// The next child of a rule. A missing child means the walker and the grammar disagree: a bug, not bad input.
fn next<'a>(pairs: &mut Pairs<'a, Rule>, near: Span) -> Result<Pair<'a, Rule>, SyntaxError> {
    pairs.next().ok_or_else(|| {
        SyntaxError::new(SyntaxErrorKind::Internal("a grammar rule has fewer parts than expected"), near)
    })
}

/// The next child that is not a keyword.
fn next_value<'a>(pairs: &mut Pairs<'a, Rule>, near: Span) -> Result<Pair<'a, Rule>, SyntaxError> {
    loop {
        let pair = next(pairs, near)?;
        if !is_keyword(pair.as_rule()) {
            return Ok(pair);
        }
    }
}

fn is_keyword(kind: Rule) -> bool {
    format!("{kind:?}").starts_with("kw_")
}

fn item(pair: Pair<'_, Rule>) -> Result<Item, SyntaxError> {
    let span = span_of(&pair);
    let mut annotations = Vec::new();
    let mut kind = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::annotation => annotations.push(annotation(inner)?),
            Rule::header => kind = Some(ItemKind::Header(header(inner)?)),
            Rule::phrases => kind = Some(ItemKind::Phrases(phrase_set(inner)?)),
            Rule::extend_phrases => kind = Some(ItemKind::ExtendPhrases(phrase_set(inner)?)),
            Rule::policy_rule => kind = Some(ItemKind::Rule(policy_rule(inner)?)),
            Rule::fallback => kind = Some(ItemKind::Fallback(fallback(inner)?)),
            Rule::disclaimer => kind = Some(ItemKind::Disclaimer(disclaimer(inner)?)),
            Rule::retain => kind = Some(ItemKind::Retain(retain(inner)?)),
            Rule::queue => kind = Some(ItemKind::Queue(queue(inner)?)),
            Rule::disable => {
                let near = span_of(&inner);
                kind = Some(ItemKind::Disable(name_of(next_value(&mut inner.into_inner(), near)?)));
            }
            _ => {}
        }
    }
    let kind =
        kind.ok_or_else(|| SyntaxError::new(SyntaxErrorKind::Internal("an item without a kind"), span))?;
    Ok(Item { annotations, kind, span })
}

fn annotation(pair: Pair<'_, Rule>) -> Result<Annotation, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let name = name_of(next(&mut inner, span)?);
    let value = inner.next().map(string).transpose()?;
    Ok(Annotation { name, value, span })
}

fn header(pair: Pair<'_, Rule>) -> Result<Header, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let id = name_of(next_value(&mut inner, span)?);
    let mut settings = Vec::new();
    for setting in inner {
        let at = span_of(&setting);
        let kind = setting.as_rule();
        let value = next_value(&mut setting.into_inner(), at)?;
        let node = match kind {
            Rule::title_setting => HeaderSetting::Title(string(value)?),
            Rule::version_setting => HeaderSetting::Version(string(value)?),
            Rule::extends_setting => HeaderSetting::Extends(name_of(value)),
            Rule::timezone_setting => HeaderSetting::Timezone(string(value)?),
            Rule::safe_queue_setting => HeaderSetting::SafeQueue(name_of(value)),
            _ => continue,
        };
        settings.push(Spanned { node, span: at });
    }
    Ok(Header { id, settings })
}

fn phrase_set(pair: Pair<'_, Rule>) -> Result<PhraseSet, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let name = name_of(next_value(&mut inner, span)?);
    let mut options = Vec::new();
    let mut entries = Vec::new();
    for part in inner {
        let at = span_of(&part);
        match part.as_rule() {
            Rule::stem_option => {
                let language = next_value(&mut part.into_inner(), at)?;
                let language = match language.into_inner().next().map(|p| p.as_rule()) {
                    Some(Rule::kw_spanish) => StemLanguage::Spanish,
                    _ => StemLanguage::English,
                };
                options.push(Spanned { node: SetOption::Stem(language), span: at });
            }
            Rule::typos_option => options.push(Spanned { node: SetOption::Typos, span: at }),
            Rule::phrase_entry => entries.push(phrase_entry(part)?),
            _ => {}
        }
    }
    Ok(PhraseSet { name, options, entries })
}

fn phrase_entry(pair: Pair<'_, Rule>) -> Result<PhraseEntry, SyntaxError> {
    let span = span_of(&pair);
    let mut annotations = Vec::new();
    let mut kind = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::annotation => annotations.push(annotation(part)?),
            Rule::string => kind = Some(EntryKind::Phrase(string(part)?)),
            Rule::set_include => {
                let at = span_of(&part);
                kind = Some(EntryKind::Include(name_of(next(&mut part.into_inner(), at)?)));
            }
            Rule::proximity => kind = Some(EntryKind::Proximity(proximity(part)?)),
            _ => {}
        }
    }
    let kind = kind
        .ok_or_else(|| SyntaxError::new(SyntaxErrorKind::Internal("a phrase entry without a kind"), span))?;
    Ok(PhraseEntry { annotations, kind, span })
}

fn proximity(pair: Pair<'_, Rule>) -> Result<Proximity, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let left = proximity_side(next(&mut inner, span)?, span)?;
    let ordered = next(&mut inner, span)?.into_inner().next().map(|p| p.as_rule()) == Some(Rule::kw_before);
    let right = proximity_side(next(&mut inner, span)?, span)?;
    let within = integer(next_value(&mut inner, span)?)?;
    Ok(Proximity { left, right, ordered, within })
}

fn proximity_side(pair: Pair<'_, Rule>, near: Span) -> Result<ProximitySide, SyntaxError> {
    let side = next(&mut pair.into_inner(), near)?;
    Ok(match side.as_rule() {
        Rule::string => ProximitySide::Phrase(string(side)?),
        _ => ProximitySide::Set(name_of(side)),
    })
}

fn policy_rule(pair: Pair<'_, Rule>) -> Result<super::ast::Rule, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let tier_pair = next(&mut inner, span)?;
    let tier = match tier_pair.into_inner().next().map(|p| p.as_rule()) {
        Some(Rule::kw_emergency) => Tier::Emergency,
        Some(Rule::kw_request) => Tier::Request,
        Some(Rule::kw_hard_route) => Tier::HardRoute,
        _ => Tier::Escalate,
    };
    let name = name_of(next(&mut inner, span)?);
    let mut clauses = Vec::new();
    for clause in inner {
        let at = span_of(&clause);
        let node = match clause.as_rule() {
            Rule::when_clause => RuleClause::When(when(clause)?),
            Rule::say_clause => RuleClause::Say(string(next_value(&mut clause.into_inner(), at)?)?),
            Rule::route_clause => RuleClause::Route(route_target(clause)?),
            Rule::disclaimer_clause => {
                RuleClause::Disclaimer(name_of(next_value(&mut clause.into_inner(), at)?))
            }
            Rule::negation_clause => {
                let mode = next_value(&mut clause.into_inner(), at)?;
                let respected = mode.into_inner().next().map(|p| p.as_rule()) == Some(Rule::kw_respected);
                RuleClause::Negation(if respected { NegationMode::Respected } else { NegationMode::Ignored })
            }
            Rule::rank_clause => RuleClause::Rank(integer(next_value(&mut clause.into_inner(), at)?)?),
            _ => continue,
        };
        clauses.push(Spanned { node, span: at });
    }
    Ok(super::ast::Rule { tier, name, clauses })
}

fn when(pair: Pair<'_, Rule>) -> Result<Condition, SyntaxError> {
    let span = span_of(&pair);
    condition(next_value(&mut pair.into_inner(), span)?)
}

fn route_target(pair: Pair<'_, Rule>) -> Result<RouteTarget, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let target = next_value(&mut inner, span)?;
    let (queue, by_skill) = match target.as_rule() {
        Rule::skill_target => {
            let at = span_of(&target);
            (name_of(next_value(&mut target.into_inner(), at)?), true)
        }
        _ => (name_of(target), false),
    };
    let priority = inner.find(|p| p.as_rule() == Rule::name).map(name_of);
    Ok(RouteTarget { queue, by_skill, priority })
}

/// `unary (bool_op unary)*`: builds `And`/`Or`, refusing a mix of the two without parentheses.
fn condition(pair: Pair<'_, Rule>) -> Result<Condition, SyntaxError> {
    let span = span_of(&pair);
    let mut operands = Vec::new();
    let mut op: Option<(Rule, Span)> = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::unary => operands.push(unary(inner)?),
            Rule::bool_op => {
                let at = span_of(&inner);
                let this = inner.into_inner().next().map(|p| p.as_rule()).unwrap_or(Rule::kw_and);
                match op {
                    Some((first, _)) if first != this => {
                        return Err(SyntaxError::new(SyntaxErrorKind::MixedAndOr, at));
                    }
                    _ => op = Some((this, at)),
                }
            }
            _ => {}
        }
    }
    match (op, operands.len()) {
        (None, 1) => operands
            .pop()
            .ok_or_else(|| SyntaxError::new(SyntaxErrorKind::Internal("an empty condition"), span)),
        (Some((Rule::kw_or, _)), _) => Ok(Condition { kind: ConditionKind::Or(operands), span }),
        _ => Ok(Condition { kind: ConditionKind::And(operands), span }),
    }
}

fn unary(pair: Pair<'_, Rule>) -> Result<Condition, SyntaxError> {
    let span = span_of(&pair);
    let inner = next(&mut pair.into_inner(), span)?;
    let inner_span = span_of(&inner);
    match inner.as_rule() {
        Rule::negated => {
            let operand = unary(next_value(&mut inner.into_inner(), inner_span)?)?;
            Ok(Condition { kind: ConditionKind::Not(Box::new(operand)), span })
        }
        Rule::parenthesised => condition(next(&mut inner.into_inner(), inner_span)?),
        Rule::says => {
            let set = name_of(next_value(&mut inner.into_inner(), inner_span)?);
            Ok(Condition { kind: ConditionKind::Says(set), span })
        }
        Rule::matched => {
            let rule = name_of(next_value(&mut inner.into_inner(), inner_span)?);
            Ok(Condition { kind: ConditionKind::Matched(rule), span })
        }
        Rule::comparison => {
            let mut parts = inner.into_inner();
            let field = name_of(next(&mut parts, inner_span)?);
            let op_pair = next(&mut parts, inner_span)?;
            let op = Spanned { node: compare_op(&op_pair), span: span_of(&op_pair) };
            let value = value(next(&mut parts, inner_span)?)?;
            Ok(Condition { kind: ConditionKind::Compare { field, op, value }, span })
        }
        _ => Err(SyntaxError::new(SyntaxErrorKind::Internal("an unknown kind of condition"), span)),
    }
}

fn compare_op(pair: &Pair<'_, Rule>) -> CompareOp {
    match pair.as_str() {
        "==" => CompareOp::Eq,
        "!=" => CompareOp::Ne,
        "<=" => CompareOp::Le,
        ">=" => CompareOp::Ge,
        "<" => CompareOp::Lt,
        ">" => CompareOp::Gt,
        "has" => CompareOp::Has,
        "starts_with" => CompareOp::StartsWith,
        _ => CompareOp::In,
    }
}

fn value(pair: Pair<'_, Rule>) -> Result<Value, SyntaxError> {
    let span = span_of(&pair);
    let inner = next(&mut pair.into_inner(), span)?;
    let at = span_of(&inner);
    match inner.as_rule() {
        Rule::number => Ok(Value::Number(number(inner)?)),
        Rule::string => Ok(Value::Str(string(inner)?)),
        Rule::boolean => {
            let truth = inner.into_inner().next().map(|p| p.as_rule()) == Some(Rule::kw_true);
            Ok(Value::Bool(Spanned { node: truth, span: at }))
        }
        Rule::list => {
            let items = inner.into_inner().map(value).collect::<Result<_, _>>()?;
            Ok(Value::List(Spanned { node: items, span: at }))
        }
        _ => Err(SyntaxError::new(SyntaxErrorKind::Internal("an unknown kind of value"), at)),
    }
}

fn fallback(pair: Pair<'_, Rule>) -> Result<Fallback, SyntaxError> {
    let mut clauses = Vec::new();
    for clause in pair.into_inner() {
        let at = span_of(&clause);
        let kind = clause.as_rule();
        let node = match kind {
            Rule::route_clause => FallbackClause::Route(route_target(clause)?),
            Rule::say_clause => FallbackClause::Say(string(next_value(&mut clause.into_inner(), at)?)?),
            Rule::strikes_setting => {
                FallbackClause::Strikes(integer(next_value(&mut clause.into_inner(), at)?)?)
            }
            Rule::frustration_phrases_setting => {
                FallbackClause::FrustrationSays(name_of(next_value(&mut clause.into_inner(), at)?))
            }
            Rule::dissatisfied_setting => {
                FallbackClause::DissatisfiedSays(name_of(next_value(&mut clause.into_inner(), at)?))
            }
            Rule::weak_answer_setting
            | Rule::handoff_below_setting
            | Rule::frustration_setting
            | Rule::rephrase_setting => {
                let n = number(next_value(&mut clause.into_inner(), at)?)?;
                match kind {
                    Rule::weak_answer_setting => FallbackClause::WeakBelow(n),
                    Rule::handoff_below_setting => FallbackClause::HandoffBelow(n),
                    Rule::frustration_setting => FallbackClause::FrustrationAbove(n),
                    _ => FallbackClause::RephraseAbove(n),
                }
            }
            _ => continue,
        };
        clauses.push(Spanned { node, span: at });
    }
    Ok(Fallback { clauses })
}

fn disclaimer(pair: Pair<'_, Rule>) -> Result<Disclaimer, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let name = name_of(next_value(&mut inner, span)?);
    let mut clauses = Vec::new();
    for clause in inner {
        let at = span_of(&clause);
        let node = match clause.as_rule() {
            Rule::text_setting => DisclaimerClause::Text(string(next_value(&mut clause.into_inner(), at)?)?),
            Rule::show_setting => {
                let mode = next_value(&mut clause.into_inner(), at)?;
                DisclaimerClause::Show(match mode.into_inner().next().map(|p| p.as_rule()) {
                    Some(Rule::kw_always) => ShowMode::Always,
                    Some(Rule::kw_first_message) => ShowMode::FirstMessage,
                    _ => ShowMode::Once,
                })
            }
            Rule::when_clause => DisclaimerClause::When(when(clause)?),
            _ => continue,
        };
        clauses.push(Spanned { node, span: at });
    }
    Ok(Disclaimer { name, clauses })
}

fn retain(pair: Pair<'_, Rule>) -> Result<Retain, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let name = name_of(next_value(&mut inner, span)?);
    let mut clauses = Vec::new();
    for clause in inner {
        let at = span_of(&clause);
        let node = match clause.as_rule() {
            Rule::when_clause => RetainClause::When(when(clause)?),
            Rule::keep_setting => {
                let mut parts = clause.into_inner();
                let amount = integer(next_value(&mut parts, at)?)?;
                let unit = next(&mut parts, at)?;
                let unit = match unit.into_inner().next().map(|p| p.as_rule()) {
                    Some(Rule::kw_day | Rule::kw_days) => PeriodUnit::Days,
                    Some(Rule::kw_month | Rule::kw_months) => PeriodUnit::Months,
                    _ => PeriodUnit::Years,
                };
                RetainClause::Keep(amount, unit)
            }
            Rule::redact_setting => RetainClause::Redact(
                clause.into_inner().filter(|p| p.as_rule() == Rule::name).map(name_of).collect(),
            ),
            Rule::legal_hold_setting => RetainClause::LegalHold,
            _ => continue,
        };
        clauses.push(Spanned { node, span: at });
    }
    Ok(Retain { name, clauses })
}

fn queue(pair: Pair<'_, Rule>) -> Result<Queue, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let name = name_of(next_value(&mut inner, span)?);
    let mut clauses = Vec::new();
    for clause in inner {
        let at = span_of(&clause);
        let kind = clause.as_rule();
        let mut parts = clause.into_inner();
        let node = match kind {
            Rule::timezone_setting => QueueClause::Timezone(string(next_value(&mut parts, at)?)?),
            Rule::hours_setting => QueueClause::Hours(string(next_value(&mut parts, at)?)?),
            Rule::closed_setting => QueueClause::Closed(
                parts.filter(|p| p.as_rule() == Rule::string).map(string).collect::<Result<_, _>>()?,
            ),
            Rule::channel_setting => QueueClause::Channel(name_of(next_value(&mut parts, at)?)),
            Rule::wait_setting => QueueClause::Wait(string(next_value(&mut parts, at)?)?),
            Rule::after_hours_setting => {
                let channel = name_of(next_value(&mut parts, at)?);
                QueueClause::AfterHours(channel, string(next_value(&mut parts, at)?)?)
            }
            Rule::follow_up_setting => {
                let amount = integer(next_value(&mut parts, at)?)?;
                let unit = match next(&mut parts, at)?.into_inner().next().map(|p| p.as_rule()) {
                    Some(Rule::kw_minute | Rule::kw_minutes) => DurationUnit::Minutes,
                    Some(Rule::kw_hour | Rule::kw_hours) => DurationUnit::Hours,
                    _ => DurationUnit::Days,
                };
                QueueClause::FollowUp(amount, unit)
            }
            Rule::skill_setting => QueueClause::Skill(name_of(next_value(&mut parts, at)?)),
            Rule::phone_setting => QueueClause::Phone(string(next_value(&mut parts, at)?)?),
            _ => continue,
        };
        clauses.push(Spanned { node, span: at });
    }
    Ok(Queue { name, clauses })
}

fn name_of(pair: Pair<'_, Rule>) -> Name {
    Name { text: pair.as_str().to_string(), span: span_of(&pair) }
}

fn integer(pair: Pair<'_, Rule>) -> Result<Integer, SyntaxError> {
    let span = span_of(&pair);
    let value =
        pair.as_str().parse::<u32>().map_err(|_| SyntaxError::new(SyntaxErrorKind::IntegerTooLarge, span))?;
    Ok(Integer { value, span })
}

fn number(pair: Pair<'_, Rule>) -> Result<Number, SyntaxError> {
    let span = span_of(&pair);
    let raw = pair.as_str().to_string();
    let value = raw
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| SyntaxError::new(SyntaxErrorKind::BadNumber, span))?;
    Ok(Number { value, raw, span })
}

/// A string literal with its escapes resolved.
fn string(pair: Pair<'_, Rule>) -> Result<Str, SyntaxError> {
    let span = span_of(&pair);
    let content = pair.into_inner().next().map(|p| p.as_str()).unwrap_or("");
    let mut value = String::with_capacity(content.len());
    let mut chars = content.char_indices();
    // Offset of the content inside the literal: one byte for the opening quote.
    let base = span.start + 1;
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        let bad =
            |len: usize| SyntaxError::new(SyntaxErrorKind::BadEscape, Span::new(base + at, base + at + len));
        match chars.next() {
            Some((_, '"')) => value.push('"'),
            Some((_, '\\')) => value.push('\\'),
            Some((_, 'n')) => value.push('\n'),
            Some((_, 't')) => value.push('\t'),
            Some((_, 'u')) => {
                let rest = content.get(at + 2..).unwrap_or("");
                let close = rest.find('}').filter(|_| rest.starts_with('{')).ok_or_else(|| bad(2))?;
                let hex = rest.get(1..close).unwrap_or("");
                let decoded = u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| bad(close + 3))?;
                value.push(decoded);
                for _ in 0..=close {
                    chars.next();
                }
            }
            Some((_, other)) => return Err(bad(1 + other.len_utf8())),
            None => return Err(bad(1)),
        }
    }
    Ok(Str { value, span })
}

// -------------------------------------------------------------------------------------------------------------
// pest errors in plain words.
// -------------------------------------------------------------------------------------------------------------

fn from_pest(source: &str, error: pest::error::Error<Rule>) -> SyntaxError {
    let at = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let found = found_token(source, at);
    let expected: Vec<String> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<String> = positives.iter().map(|r| describe(*r)).collect();
            words.sort_unstable();
            words.dedup();
            words
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let rest_of_line = source.get(at..).and_then(|r| r.split('\n').next()).unwrap_or("");
    if found == "\"" && rest_of_line.get(1..).is_some_and(|r| !r.replace("\\\"", "").contains('"')) {
        return SyntaxError::new(SyntaxErrorKind::UnclosedString, Span::new(at, at + rest_of_line.len()));
    }
    let mut expected = expected;
    if inside_block(source, at) && !expected.is_empty() {
        // pest lists rules, not literal tokens; inside `{ ... }` a closing brace is always possible.
        expected.push("`}`".to_string());
    }
    let end = at + found.len().max(1).min(source.len().saturating_sub(at).max(1));
    SyntaxError::new(
        SyntaxErrorKind::Unexpected { expected, found },
        Span::new(at, end.min(source.len()).max(at)),
    )
}

/// Whether a position is inside braces (ignoring braces in strings and comments).
fn inside_block(source: &str, at: usize) -> bool {
    let before = source.get(..at).unwrap_or("");
    let mut depth = 0i64;
    for line in before.split('\n') {
        let mut in_string = false;
        let mut escaped = false;
        for c in line.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '#' if !in_string => break,
                '{' if !in_string => depth += 1,
                '}' if !in_string => depth -= 1,
                _ => {}
            }
        }
    }
    depth > 0
}

/// The token at a position, for "found `wen`": a word, a quoted string's start, or one character.
fn found_token(source: &str, at: usize) -> String {
    let rest = source.get(at..).unwrap_or("");
    let word: String =
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '.').collect();
    if !word.is_empty() {
        return word;
    }
    rest.chars().next().map(String::from).unwrap_or_default()
}

/// What a grammar rule is, in the words of the policy language's documentation.
fn describe(kind: Rule) -> String {
    let name = format!("{kind:?}");
    if let Some(keyword) = name.strip_prefix("kw_") {
        return format!("`{keyword}`");
    }
    describe_rule(kind).to_string()
}

fn describe_rule(kind: Rule) -> &'static str {
    match kind {
        Rule::EOI => "the end of the file",
        Rule::item | Rule::header | Rule::policy_rule | Rule::rule_tier => {
            "an item such as `policy`, `phrases`, `emergency`, `request`, `hard_route`, `escalate`, `fallback`, `disclaimer`, `retain` or `queue`"
        }
        Rule::annotation => "an annotation such as `@id(\"...\")`",
        Rule::name | Rule::identifier => "a name",
        Rule::string | Rule::string_content => "a quoted string",
        Rule::number => "a number",
        Rule::integer => "a whole number",
        Rule::condition
        | Rule::unary
        | Rule::negated
        | Rule::parenthesised
        | Rule::says
        | Rule::matched
        | Rule::comparison
        | Rule::field => "a condition such as `says cardiac` or `confidence < 0.5`",
        Rule::bool_op | Rule::kw_and | Rule::kw_or => "`and` or `or`",
        Rule::compare_op => "a comparison such as `==`, `<`, `in` or `has`",
        Rule::value | Rule::list | Rule::boolean => {
            "a value (a number, a quoted string, `true`, `false` or a list)"
        }
        Rule::when_clause
        | Rule::say_clause
        | Rule::route_clause
        | Rule::disclaimer_clause
        | Rule::negation_clause
        | Rule::rank_clause => {
            "a rule clause (`when`, `say`, `route`, `disclaimer`, `negation`, `rank`) or `}`"
        }
        Rule::negation_mode => "`respected` or `ignored`",
        Rule::title_setting
        | Rule::version_setting
        | Rule::extends_setting
        | Rule::timezone_setting
        | Rule::safe_queue_setting => {
            "a header setting (`title`, `version`, `extends`, `timezone`, `safe_queue`) or `}`"
        }
        Rule::weak_answer_setting
        | Rule::handoff_below_setting
        | Rule::strikes_setting
        | Rule::frustration_setting
        | Rule::frustration_phrases_setting
        | Rule::rephrase_setting
        | Rule::dissatisfied_setting => {
            "a fallback setting (`confidence below`, `handoff below`, `strikes`, `frustration`, `rephrase above`, `dissatisfied says`, `route`, `say`) or `}`"
        }
        Rule::text_setting | Rule::show_setting => "a disclaimer setting (`text`, `show`, `when`) or `}`",
        Rule::show_mode => "`once`, `always` or `first_message`",
        Rule::keep_setting | Rule::redact_setting | Rule::legal_hold_setting => {
            "a retention setting (`when`, `keep`, `redact`, `legal_hold`) or `}`"
        }
        Rule::period_unit => "`days`, `months` or `years`",
        Rule::duration_unit => "`minutes`, `hours` or `days`",
        Rule::hours_setting
        | Rule::closed_setting
        | Rule::channel_setting
        | Rule::wait_setting
        | Rule::after_hours_setting
        | Rule::follow_up_setting
        | Rule::skill_setting
        | Rule::phone_setting => {
            "a queue setting (`timezone`, `hours`, `closed`, `channel`, `wait`, `after_hours`, `follow_up`, `skill`, `phone`) or `}`"
        }
        Rule::kw_below => "`below`",
        Rule::kw_above => "`above`",
        Rule::kw_says => "`says`",
        Rule::kw_priority => "`priority`",
        Rule::kw_phrases => "`phrases`",
        Rule::stem_option | Rule::typos_option => {
            "a set option (`stem english`, `stem spanish`, `typos`) or `{`"
        }
        Rule::stem_language => "`english` or `spanish`",
        Rule::phrase_entry | Rule::set_include | Rule::proximity | Rule::proximity_side => {
            "a quoted phrase, the name of a set, a proximity such as `a near b within 3 words`, or `}`"
        }
        Rule::proximity_op => "`near` or `before`",
        Rule::kw_within => "`within`",
        Rule::kw_words | Rule::kw_word => "`words`",
        _ => "something else",
    }
}
