//! The formatter: the AST printed back in the one canonical layout, with every comment kept.
//!
//! Comments are not in the tree; they are placed by position. Before a node is printed, every comment that
//! starts before it in the source is printed on its own line above it. When a line ends, a comment that sat on
//! the same source line after the last printed node is kept at the end of that line. So a comment stays next to
//! what it was written about, and `fmt` never drops one.
//!
//! Layout: two-space indent; an empty line between items where the author left one; annotations on one line
//! above their item (one per line when they do not fit); a rule's
//! clauses one per line; a phrase set on one line when it fits in [`LINE_WIDTH`] and has no comments inside,
//! otherwise one phrase per line.

use super::ast::*;

/// The widest line the formatter keeps a short phrase set on.
pub const LINE_WIDTH: usize = 100;

/// Formats a parsed file. `source` is the text it was parsed from (for comment positions).
pub fn print(file: &PolicyFile, source: &str) -> String {
    let mut p =
        Printer { out: String::new(), source, comments: &file.comments, next: 0, indent: 0, last_end: None };
    let mut previous_end: Option<usize> = None;
    for item in &file.items {
        // Only the gap before the item's leading comments counts; blank lines among comments are kept by
        // `comments_before`.
        let first_comment = file.comments.iter().find(|c| previous_end.is_some_and(|e| c.span.start >= e));
        let upto = first_comment.map(|c| c.span.start).unwrap_or(item.span.start).min(item.span.start);
        if let Some(end) = previous_end
            && blank_line_between(source, end, upto)
        {
            p.out.push('\n');
        }
        p.item(item);
        previous_end = Some(item.span.end);
    }
    p.comments_before(usize::MAX);
    p.out
}

struct Printer<'a> {
    out: String,
    source: &'a str,
    comments: &'a [Comment],
    /// The first comment not yet printed.
    next: usize,
    indent: usize,
    /// Where, in the source, the last printed node ended (for trailing comments).
    last_end: Option<usize>,
}

impl Printer<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.source.get(..offset).map(|s| s.bytes().filter(|b| *b == b'\n').count()).unwrap_or(usize::MAX)
    }

    /// Prints, each on its own line, every comment that starts before `pos`.
    fn comments_before(&mut self, pos: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.span.start >= pos {
                break;
            }
            self.pad();
            self.out.push('#');
            self.out.push_str(&c.text);
            self.out.push('\n');
            self.next += 1;
            // Keep one empty line after a comment where the author left one before what follows it.
            let following = self.comments.get(self.next).map(|n| n.span.start).unwrap_or(pos).min(pos);
            if pos != usize::MAX && blank_line_between(self.source, c.span.end, following) {
                self.out.push('\n');
            }
        }
    }

    /// Ends the current line, keeping a comment that followed the last node on the same source line.
    fn end_line(&mut self) {
        if let (Some(end), Some(c)) = (self.last_end, self.comments.get(self.next))
            && c.span.start >= end
            && self.line_of(c.span.start) == self.line_of(end)
        {
            self.out.push_str(" #");
            self.out.push_str(&c.text);
            self.next += 1;
        }
        self.out.push('\n');
    }

    fn pad(&mut self) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    /// Starts a line for a node at `span`: comments before it first.
    fn start(&mut self, span: Span) {
        self.comments_before(span.start);
        self.pad();
    }

    fn done(&mut self, span: Span) {
        self.last_end = Some(span.end);
        self.end_line();
    }

    /// Opens a `{` block whose closing brace is at the end of `span`.
    fn close_block(&mut self, span: Span) {
        self.indent += 1;
        self.comments_before(span.end.saturating_sub(1));
        self.indent -= 1;
        self.pad();
        self.out.push('}');
        self.last_end = Some(span.end);
        self.end_line();
    }

    fn item(&mut self, item: &Item) {
        self.start(item.span);
        let words: Vec<String> = item.annotations.iter().map(annotation).collect();
        if self.indent * 2 + words.join(" ").len() <= LINE_WIDTH {
            if let Some(last) = item.annotations.last() {
                self.out.push_str(&words.join(" "));
                self.done(last.span);
                self.pad();
            }
        } else {
            // Too long for one line: one annotation per line.
            for (a, text) in item.annotations.iter().zip(&words) {
                self.out.push_str(text);
                self.done(a.span);
                self.start(a.span);
            }
        }
        match &item.kind {
            ItemKind::Header(h) => {
                self.out.push_str(&format!("policy {} {{", h.id));
                self.done(h.id.span);
                self.block(&h.settings, |s| match s {
                    HeaderSetting::Title(t) => format!("title {}", quote(&t.value)),
                    HeaderSetting::Version(v) => format!("version {}", quote(&v.value)),
                    HeaderSetting::Extends(n) => format!("extends {n}"),
                    HeaderSetting::Timezone(t) => format!("timezone {}", quote(&t.value)),
                    HeaderSetting::SafeQueue(n) => format!("safe_queue {n}"),
                });
                self.close_block(item.span);
            }
            ItemKind::Phrases(set) => self.phrase_set("phrases", set, item.span),
            ItemKind::ExtendPhrases(set) => self.phrase_set("extend phrases", set, item.span),
            ItemKind::Rule(rule) => {
                self.out.push_str(&format!("{} {} {{", rule.tier.keyword(), rule.name));
                self.done(rule.name.span);
                self.block(&rule.clauses, |c| match c {
                    RuleClause::When(cond) => format!("when {}", condition(cond)),
                    RuleClause::Say(s) => format!("say {}", quote(&s.value)),
                    RuleClause::Route(r) => route(r),
                    RuleClause::Disclaimer(n) => format!("disclaimer {n}"),
                    RuleClause::Negation(NegationMode::Respected) => "negation respected".into(),
                    RuleClause::Negation(NegationMode::Ignored) => "negation ignored".into(),
                    RuleClause::Rank(n) => format!("rank {}", n.value),
                });
                self.close_block(item.span);
            }
            ItemKind::Fallback(f) => {
                self.out.push_str("fallback {");
                self.last_end = Some(item.span.start);
                self.end_line();
                self.block(&f.clauses, |c| match c {
                    FallbackClause::WeakBelow(n) => format!("confidence below {}", n.raw),
                    FallbackClause::HandoffBelow(n) => format!("handoff below {}", n.raw),
                    FallbackClause::Strikes(n) => format!("strikes {}", n.value),
                    FallbackClause::FrustrationAbove(n) => format!("frustration above {}", n.raw),
                    FallbackClause::FrustrationSays(s) => format!("frustration says {s}"),
                    FallbackClause::RephraseAbove(n) => format!("rephrase above {}", n.raw),
                    FallbackClause::DissatisfiedSays(s) => format!("dissatisfied says {s}"),
                    FallbackClause::Route(r) => route(r),
                    FallbackClause::Say(s) => format!("say {}", quote(&s.value)),
                });
                self.close_block(item.span);
            }
            ItemKind::Disclaimer(d) => {
                self.out.push_str(&format!("disclaimer {} {{", d.name));
                self.done(d.name.span);
                self.block(&d.clauses, |c| match c {
                    DisclaimerClause::Text(t) => format!("text {}", quote(&t.value)),
                    DisclaimerClause::Show(ShowMode::Once) => "show once".into(),
                    DisclaimerClause::Show(ShowMode::Always) => "show always".into(),
                    DisclaimerClause::Show(ShowMode::FirstMessage) => "show first_message".into(),
                    DisclaimerClause::When(cond) => format!("when {}", condition(cond)),
                });
                self.close_block(item.span);
            }
            ItemKind::Retain(r) => {
                self.out.push_str(&format!("retain {} {{", r.name));
                self.done(r.name.span);
                self.block(&r.clauses, |c| match c {
                    RetainClause::When(cond) => format!("when {}", condition(cond)),
                    RetainClause::Keep(n, unit) => format!("keep {} {}", n.value, period(n.value, *unit)),
                    RetainClause::Redact(names) => {
                        let names: Vec<&str> = names.iter().map(|n| n.text.as_str()).collect();
                        format!("redact {}", names.join(", "))
                    }
                    RetainClause::LegalHold => "legal_hold".into(),
                });
                self.close_block(item.span);
            }
            ItemKind::Queue(q) => {
                self.out.push_str(&format!("queue {} {{", q.name));
                self.done(q.name.span);
                self.block(&q.clauses, |c| match c {
                    QueueClause::Timezone(t) => format!("timezone {}", quote(&t.value)),
                    QueueClause::Hours(h) => format!("hours {}", quote(&h.value)),
                    QueueClause::Closed(days) => {
                        let days: Vec<String> = days.iter().map(|d| quote(&d.value)).collect();
                        format!("closed {}", days.join(" "))
                    }
                    QueueClause::Channel(n) => format!("channel {n}"),
                    QueueClause::Wait(w) => format!("wait {}", quote(&w.value)),
                    QueueClause::AfterHours(ch, t) => format!("after_hours {ch} {}", quote(&t.value)),
                    QueueClause::FollowUp(n, unit) => {
                        format!("follow_up {} {}", n.value, duration(n.value, *unit))
                    }
                    QueueClause::Skill(n) => format!("skill {n}"),
                    QueueClause::Phone(p) => format!("phone {}", quote(&p.value)),
                });
                self.close_block(item.span);
            }
            ItemKind::Disable(name) => {
                self.out.push_str(&format!("disable {name}"));
                self.done(item.span);
            }
        }
    }

    fn block<T>(&mut self, clauses: &[Spanned<T>], render: impl Fn(&T) -> String) {
        self.indent += 1;
        for clause in clauses {
            self.start(clause.span);
            self.out.push_str(&render(&clause.node));
            self.done(clause.span);
        }
        self.indent -= 1;
    }

    fn phrase_set(&mut self, keyword: &str, set: &PhraseSet, span: Span) {
        let head = std::iter::once(format!("{keyword} {}", set.name))
            .chain(set.options.iter().map(|o| set_option(o.node)))
            .collect::<Vec<_>>()
            .join(" ");
        let rendered: Vec<String> = set.entries.iter().map(entry).collect();
        let one_line = format!("{head} {{ {} }}", rendered.join(" "));
        let has_inner_comment = self.comments.get(self.next).is_some_and(|c| c.span.start < span.end);
        if !has_inner_comment && self.indent * 2 + one_line.len() <= LINE_WIDTH {
            self.out.push_str(&one_line);
            self.done(span);
            return;
        }
        self.out.push_str(&format!("{head} {{"));
        self.done(set.options.last().map_or(set.name.span, |o| o.span));
        self.indent += 1;
        for (e, text) in set.entries.iter().zip(&rendered) {
            self.start(e.span);
            self.out.push_str(text);
            self.done(e.span);
        }
        self.indent -= 1;
        self.close_block(span);
    }
}

fn set_option(o: SetOption) -> String {
    match o {
        SetOption::Stem(language) => format!("stem {}", language.keyword()),
        SetOption::Typos => "typos".to_string(),
    }
}

/// One phrase-set entry, annotations first.
fn entry(e: &PhraseEntry) -> String {
    let body = match &e.kind {
        EntryKind::Phrase(p) => quote(&p.value),
        EntryKind::Include(name) => name.text.clone(),
        EntryKind::Proximity(p) => proximity(p),
    };
    e.annotations.iter().map(annotation).chain(std::iter::once(body)).collect::<Vec<_>>().join(" ")
}

/// `left near right within N words`, as the author would write it.
pub fn proximity(p: &Proximity) -> String {
    let side = |s: &ProximitySide| match s {
        ProximitySide::Set(name) => name.text.clone(),
        ProximitySide::Phrase(text) => quote(&text.value),
    };
    let unit = if p.within.value == 1 { "word" } else { "words" };
    let op = if p.ordered { "before" } else { "near" };
    format!("{} {op} {} within {} {unit}", side(&p.left), side(&p.right), p.within.value)
}

/// Whether the author left an empty line between two items (kept: it groups related items).
fn blank_line_between(source: &str, from: usize, to: usize) -> bool {
    let gap = source.get(from..to).unwrap_or("");
    // A blank line is two line breaks with only white space between them.
    let lines: Vec<&str> = gap.split('\n').collect();
    lines.len() > 2
        && lines.get(1..lines.len() - 1).is_some_and(|middle| middle.iter().any(|l| l.trim().is_empty()))
}

fn annotation(a: &Annotation) -> String {
    match &a.value {
        Some(v) => format!("@{}({})", a.name, quote(&v.value)),
        None => format!("@{}", a.name),
    }
}

fn route(r: &RouteTarget) -> String {
    let target = if r.by_skill { format!("skill {}", r.queue) } else { r.queue.to_string() };
    match &r.priority {
        Some(p) => format!("route {target} priority {p}"),
        None => format!("route {target}"),
    }
}

fn period(n: u32, unit: PeriodUnit) -> &'static str {
    match (unit, n == 1) {
        (PeriodUnit::Days, true) => "day",
        (PeriodUnit::Days, false) => "days",
        (PeriodUnit::Months, true) => "month",
        (PeriodUnit::Months, false) => "months",
        (PeriodUnit::Years, true) => "year",
        (PeriodUnit::Years, false) => "years",
    }
}

fn duration(n: u32, unit: DurationUnit) -> &'static str {
    match (unit, n == 1) {
        (DurationUnit::Minutes, true) => "minute",
        (DurationUnit::Minutes, false) => "minutes",
        (DurationUnit::Hours, true) => "hour",
        (DurationUnit::Hours, false) => "hours",
        (DurationUnit::Days, true) => "day",
        (DurationUnit::Days, false) => "days",
    }
}

/// A condition on one line. A compound operand is always parenthesised, so the printed text parses back to the
/// same tree (`a and (b and c)` stays two levels).
pub fn condition(c: &Condition) -> String {
    match &c.kind {
        ConditionKind::And(parts) => join(parts, " and "),
        ConditionKind::Or(parts) => join(parts, " or "),
        ConditionKind::Not(inner) => format!("not {}", operand(inner)),
        ConditionKind::Says(set) => format!("says {set}"),
        ConditionKind::Matched(rule) => format!("matched {rule}"),
        ConditionKind::Compare { field, op, value: v } => {
            format!("{field} {} {}", op.node.symbol(), value(v))
        }
    }
}

fn join(parts: &[Condition], sep: &str) -> String {
    parts.iter().map(operand).collect::<Vec<_>>().join(sep)
}

fn operand(c: &Condition) -> String {
    match c.kind {
        ConditionKind::And(_) | ConditionKind::Or(_) => format!("({})", condition(c)),
        _ => condition(c),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Number(n) => n.raw.clone(),
        Value::Str(s) => quote(&s.value),
        Value::Bool(b) => b.node.to_string(),
        Value::List(items) => format!("[{}]", items.node.iter().map(value).collect::<Vec<_>>().join(", ")),
    }
}

/// A string literal that parses back to `s`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
