//! Queues: hours, closures and channels checked and lowered.

use std::collections::HashMap;

use crate::diagnostic::SourceId;
use crate::route::Channel;
use crate::syntax::ast::{self, *};

use super::build::Builder;
use super::error::{CompileError, CompileErrorKind as K};
use super::merge::Def;
use super::policy::{self};

/// An hours, closure or template error, pointed at the character inside the string (after its opening quote).
fn hours_error(e: crate::route::HoursError, src: SourceId, string: Span) -> CompileError {
    let at = string.start + 1 + e.offset.min(string.end.saturating_sub(string.start + 2));
    let err = CompileError::new(K::BadQueueSetting(e.message), src, Span::new(at, (at + 1).min(string.end)));
    match e.help {
        Some(help) => err.help(help),
        None => err,
    }
}

impl Builder {
    pub(super) fn queue_ref(&mut self, name: &str, src: SourceId, span: Span, queues: &[String]) {
        if !queues.iter().any(|q| q == name) {
            self.push(
                CompileError::new(K::UnknownQueue(name.into()), src, span)
                    .suggest(name, queues.iter().map(String::as_str)),
            );
        }
    }

    pub(super) fn queue(&mut self, def: &Def<'_, ast::Queue>, default_tz: chrono_tz::Tz) -> policy::Queue {
        let q = def.node;
        let src = def.source;
        let mut out = policy::Queue {
            name: q.name.text.clone(),
            channel: Channel::LiveChat,
            wait: None,
            after_hours: None,
            follow_up_minutes: 0,
            skill: None,
            phone: None,
            schedule: crate::route::Schedule::always(default_tz),
        };
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut hours_span = None;
        let mut closed_spans: Vec<Span> = Vec::new();
        // Read here, kept in the schedule only (parsed, with the text as written).
        let mut timezone = default_tz;
        let mut hours: Option<String> = None;
        let mut closed: Vec<String> = Vec::new();
        for clause in &q.clauses {
            let key = match &clause.node {
                QueueClause::Timezone(t) => {
                    timezone = self.timezone(&t.value, src, t.span);
                    "timezone"
                }
                QueueClause::Hours(h) => {
                    hours = Some(h.value.clone());
                    hours_span = Some(h.span);
                    "hours"
                }
                QueueClause::Closed(days) => {
                    closed.extend(days.iter().map(|d| d.value.clone()));
                    closed_spans.extend(days.iter().map(|d| d.span));
                    "closed"
                }
                QueueClause::Channel(c) => {
                    if let Some(channel) = self.channel(c, src, false) {
                        out.channel = channel;
                    }
                    "channel"
                }
                QueueClause::Wait(w) => {
                    out.wait = Some(w.value.clone());
                    "wait"
                }
                QueueClause::AfterHours(c, t) => {
                    let channel = self.channel(c, src, true);
                    if let Err(e) = crate::route::check_template(&t.value) {
                        self.push(hours_error(e, src, t.span));
                    }
                    if let Some(channel) = channel {
                        out.after_hours = Some((channel, t.value.clone()));
                    }
                    "after_hours"
                }
                QueueClause::FollowUp(n, unit) => {
                    let per = match unit {
                        DurationUnit::Minutes => 1,
                        DurationUnit::Hours => 60,
                        DurationUnit::Days => 24 * 60,
                    };
                    out.follow_up_minutes = n.value.saturating_mul(per);
                    "follow_up"
                }
                QueueClause::Skill(s) => {
                    out.skill = Some(s.text.clone());
                    "skill"
                }
                QueueClause::Phone(p) => {
                    out.phone = Some(p.value.clone());
                    "phone"
                }
            };
            if let Some(first) = seen.insert(key, clause.span) {
                self.push(CompileError::new(K::DuplicateClause(key), src, clause.span).note(
                    src,
                    first,
                    "first here",
                ));
            }
        }
        match crate::route::Schedule::parse(timezone, hours.as_deref(), &closed) {
            Ok(schedule) => out.schedule = schedule,
            Err((which, e)) => {
                let span = if which == usize::MAX { hours_span } else { closed_spans.get(which).copied() };
                self.push(hours_error(e, src, span.unwrap_or(q.name.span)));
            }
        }
        out
    }

    /// The channel named by `c`, checked: an unknown name, or live chat after hours, is an error.
    fn channel(&mut self, c: &Name, src: SourceId, after_hours: bool) -> Option<Channel> {
        let Some(channel) = Channel::parse(&c.text) else {
            let names: Vec<&str> = Channel::ALL.iter().map(|c| c.name()).collect();
            self.push(
                CompileError::new(K::UnknownChannel(c.text.clone()), src, c.span)
                    .suggest(&c.text, names.iter().copied())
                    .help(format!("the channels are {}", names.join(", "))),
            );
            return None;
        };
        if after_hours && channel == Channel::LiveChat {
            self.push(
                CompileError::new(
                    K::BadQueueSetting("after hours nobody is there to chat live".into()),
                    src,
                    c.span,
                )
                .help(
                    "use `ticket`, `email` or `callback`: off hours is never a fake \"connecting you now\"",
                ),
            );
        }
        Some(channel)
    }
}
