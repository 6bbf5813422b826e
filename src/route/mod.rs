//! Beside the pipeline, `route`: queues, their hours, and the honest promise when nobody is there.
//!
//! - [`hours`]: weekly hours and closures in the queue's IANA zone (chrono-tz), DST-correct, and the next opening.
//! - [`route`]: where a handoff goes now. Live chat only when the queue is open **and** staffed (the event may say
//!   which queues have agents online); otherwise the queue's after-hours channel (ticket, email, callback) with a
//!   promise built from the next opening plus the queue's follow-up delay. Never a "connecting you now" when
//!   nobody is there.
//! - Templates: a queue's messages may use `{queue}`, `{wait}`, `{phone}`, `{next_open}`, `{next_open_day}`,
//!   `{next_open_time}`, `{follow_up}`, `{follow_up_day}`, `{follow_up_time}`. Days read "today", "tomorrow",
//!   a weekday name within a week, else the date; times use the 24-hour clock in the queue's zone. Unknown
//!   placeholders are compile errors ([`check_template`]), so rendering cannot fail.
//!
//! Everything takes the time as a parameter: nothing here reads the clock.

pub mod hours;
mod select;

use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;

pub use hours::{HoursError, Schedule};
pub use select::{Directory, Priority, Route, Staffing, Target};

/// The placeholders a queue message may use.
pub const PLACEHOLDERS: [&str; 9] = [
    "queue",
    "wait",
    "phone",
    "next_open",
    "next_open_day",
    "next_open_time",
    "follow_up",
    "follow_up_day",
    "follow_up_time",
];

/// Checks that every `{placeholder}` in a template is known; the error carries the byte offset.
pub fn check_template(template: &str) -> Result<(), HoursError> {
    let mut rest = template;
    let mut base = 0;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..).unwrap_or("");
        let Some(close) = after.find('}') else {
            return Err(HoursError {
                message: "a `{` is never closed".into(),
                offset: base + open,
                help: Some("write placeholders as {follow_up}".into()),
            });
        };
        let name = after.get(..close).unwrap_or("");
        if !PLACEHOLDERS.contains(&name) {
            let help = crate::diagnostic::did_you_mean(name, PLACEHOLDERS)
                .map(|p| format!("did you mean `{{{p}}}`?"))
                .unwrap_or_else(|| {
                    format!("the placeholders are {}", PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", "))
                });
            return Err(HoursError {
                message: format!("`{{{name}}}` is not a placeholder"),
                offset: base + open,
                help: Some(help),
            });
        }
        base += open + close + 2;
        rest = after.get(close + 1..).unwrap_or("");
    }
    Ok(())
}

/// Renders a checked template.
pub fn render(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open).unwrap_or(""));
        let after = rest.get(open + 1..).unwrap_or("");
        match after.find('}') {
            Some(close) => {
                out.push_str(&value(after.get(..close).unwrap_or("")));
                rest = after.get(close + 1..).unwrap_or("");
            }
            None => {
                out.push_str(rest.get(open..).unwrap_or(""));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// How a person takes over: only live chat puts someone in the conversation now; the others are honest
/// promises (a call back, a reply by email or to a ticket).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum Channel {
    /// A person joins the chat.
    LiveChat,
    /// A ticket someone answers.
    Ticket,
    /// A reply by email.
    Email,
    /// A phone call back.
    Callback,
}

impl Channel {
    /// Every channel, as the policy language lists them.
    pub const ALL: &'static [Channel] = <Channel as strum::VariantArray>::VARIANTS;

    /// The channel's name in policies and decisions.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The channel named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Channel> {
        name.parse().ok()
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A queue, as the compiler leaves it: its channel, hours and honest promises.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// Its name.
    pub name: String,
    /// Channel while open.
    pub channel: Channel,
    /// Honest wait text while open.
    pub wait: Option<String>,
    /// Channel and promise template when nobody is there.
    pub after_hours: Option<(Channel, String)>,
    /// Follow-up delay after the next opening, in minutes.
    pub follow_up_minutes: u32,
    /// The skill of its agents.
    pub skill: Option<String>,
    /// Its phone number.
    pub phone: Option<String>,
    /// The hours and closures, parsed.
    pub schedule: Schedule,
}

/// Where a handoff goes now, and what the customer is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The channel.
    pub channel: Channel,
    /// Whether a person is there now.
    pub open_now: bool,
    /// The honest wait, when live.
    pub wait: Option<String>,
    /// The promised follow-up (RFC 3339, queue's local time), when not live.
    pub follow_up_by: Option<String>,
    /// The message for the customer.
    pub message: String,
}

/// The default promise when a queue has no `after_hours` template.
pub const DEFAULT_AFTER_HOURS: &str = "Nobody from {queue} is available right now. We've passed on your message and will get back to you by {follow_up}.";

/// Routes to a queue at `at`. `staffed` is what the event says about agents online for this queue (`None`:
/// unknown, assumed staffed in its hours).
pub fn route(plan: &Queue, at: DateTime<Utc>, staffed: Option<bool>) -> Routed {
    let tz = plan.schedule.timezone();
    let open = plan.schedule.is_open(at);
    if open && staffed != Some(false) {
        return open_route(plan, at);
    }
    // Nobody is there: promise a time counted from the next opening (or from now, if open but unstaffed).
    let next_open = if open { Some(at.with_timezone(&tz)) } else { plan.schedule.next_open(at) };
    let follow_up = next_open.map(|t| t + Duration::minutes(i64::from(plan.follow_up_minutes)));
    let (channel, template) = plan
        .after_hours
        .as_ref()
        .map(|(c, t)| (*c, t.as_str()))
        .unwrap_or((Channel::Ticket, DEFAULT_AFTER_HOURS));
    let now = at.with_timezone(&tz);
    let message = render(template, |name| match name {
        "queue" => plan.name.replace('_', " "),
        "wait" => plan.wait.as_deref().unwrap_or("a short while").to_string(),
        "phone" => plan.phone.as_deref().unwrap_or("").to_string(),
        "next_open" => next_open.map(|t| moment(now, t)).unwrap_or_else(|| "when we reopen".into()),
        "next_open_day" => next_open.map(|t| day(now, t)).unwrap_or_default(),
        "next_open_time" => next_open.map(|t| t.format("%H:%M").to_string()).unwrap_or_default(),
        "follow_up" => follow_up.map(|t| moment(now, t)).unwrap_or_else(|| "as soon as we can".into()),
        "follow_up_day" => follow_up.map(|t| day(now, t)).unwrap_or_default(),
        "follow_up_time" => follow_up.map(|t| t.format("%H:%M").to_string()).unwrap_or_default(),
        _ => String::new(),
    });
    Routed { channel, open_now: false, wait: None, follow_up_by: follow_up.map(|t| t.to_rfc3339()), message }
}

/// The route of an open, staffed queue. Only live chat puts a person in the conversation now; a queue whose
/// open channel is a callback, a ticket or email says so, with its wait (or its follow-up delay, counted from
/// now) as the promise: never "connecting you with a person now" when the person will call or write back.
fn open_route(plan: &Queue, at: DateTime<Utc>) -> Routed {
    let wait = plan.wait.clone();
    let queue = plan.name.replace('_', " ");
    let follow_up = (plan.follow_up_minutes > 0).then(|| {
        at.with_timezone(&plan.schedule.timezone()) + Duration::minutes(i64::from(plan.follow_up_minutes))
    });
    let when = match (plan.wait.as_deref(), follow_up) {
        (Some(w), _) => format!("; the wait is {w}"),
        (None, Some(t)) => format!(" by {}", moment(at.with_timezone(&plan.schedule.timezone()), t)),
        (None, None) => String::new(),
    };
    let promise = |verb: &str| {
        if when.is_empty() { format!("{verb} as soon as possible") } else { format!("{verb}{when}") }
    };
    let message = match plan.channel {
        Channel::LiveChat => match plan.wait.as_deref() {
            Some(w) => format!("I'm connecting you with a person now; the wait is {w}."),
            None => "I'm connecting you with a person now.".to_string(),
        },
        Channel::Callback => format!("Someone from {queue} will {}.", promise("call you back")),
        Channel::Email => format!("Someone from {queue} will {}.", promise("reply to you by email")),
        Channel::Ticket => format!("We've opened a ticket; someone from {queue} will {}.", promise("reply")),
    };
    Routed {
        channel: plan.channel,
        open_now: true,
        wait,
        follow_up_by: if plan.channel == Channel::LiveChat {
            None
        } else {
            follow_up.map(|t| t.to_rfc3339())
        },
        message,
    }
}

/// "today", "tomorrow", "Monday" (within a week) or "Monday 28 December".
fn day(now: DateTime<Tz>, t: DateTime<Tz>) -> String {
    match (t.date_naive() - now.date_naive()).num_days() {
        0 => "today".into(),
        1 => "tomorrow".into(),
        2..=6 => hours::weekday_name(t.weekday()).into(),
        _ => t.format("%A %-d %B").to_string(),
    }
}

/// "10:00 today", "10:00 tomorrow", "10:00 on Monday".
fn moment(now: DateTime<Tz>, t: DateTime<Tz>) -> String {
    let d = day(now, t);
    let on = if d == "today" || d == "tomorrow" { "" } else { "on " };
    format!("{} {on}{d}", t.format("%H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(schedule: &Schedule) -> Queue {
        Queue {
            name: "nurse_line".into(),
            schedule: schedule.clone(),
            channel: Channel::LiveChat,
            wait: Some("about 5 minutes".into()),
            after_hours: Some((Channel::Callback, "A nurse will call you back by {follow_up}.".into())),
            follow_up_minutes: 120,
            skill: None,
            phone: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn live_when_open_and_staffed_an_honest_promise_otherwise() {
        let s = Schedule::parse(chrono_tz::America::Chicago, Some("Mon-Fri 08:00-17:00"), &[]).unwrap();
        let live = route(&plan(&s), at("2026-01-05T15:00:00Z"), None);
        assert!(live.open_now && live.message.contains("about 5 minutes"));
        let nobody = route(&plan(&s), at("2026-01-05T15:00:00Z"), Some(false));
        assert!(!nobody.open_now && !nobody.message.contains("connecting"));
        // Friday 23:00 local: the next opening is Monday 08:00, the promise 10:00 on Monday.
        let night = route(&plan(&s), at("2026-01-10T05:00:00Z"), None);
        assert_eq!(night.channel, Channel::Callback);
        assert_eq!(night.message, "A nurse will call you back by 10:00 on Monday.");
        assert_eq!(night.follow_up_by.as_deref(), Some("2026-01-12T10:00:00-06:00"));
        // Monday 23:00: tomorrow.
        let tonight = route(&plan(&s), at("2026-01-06T05:00:00Z"), None);
        assert_eq!(tonight.message, "A nurse will call you back by 10:00 tomorrow.");
    }

    #[test]
    fn an_open_callback_or_ticket_queue_never_says_connecting_now() {
        let s = Schedule::always(chrono_tz::America::Chicago);
        let callback = Queue { channel: Channel::Callback, wait: None, follow_up_minutes: 0, ..plan(&s) };
        let r = route(&callback, at("2026-01-05T15:00:00Z"), None);
        assert!(r.open_now && r.channel == Channel::Callback);
        assert_eq!(r.message, "Someone from nurse line will call you back as soon as possible.");
        let ticket = Queue { channel: Channel::Ticket, wait: None, follow_up_minutes: 30, ..plan(&s) };
        let r = route(&ticket, at("2026-01-05T15:00:00Z"), None);
        assert_eq!(r.message, "We've opened a ticket; someone from nurse line will reply by 09:30 today.");
        assert_eq!(r.follow_up_by.as_deref(), Some("2026-01-05T09:30:00-06:00"));
        let email = Queue { channel: Channel::Email, ..plan(&s) };
        let r = route(&email, at("2026-01-05T15:00:00Z"), None);
        assert_eq!(
            r.message,
            "Someone from nurse line will reply to you by email; the wait is about 5 minutes."
        );
        for r in [&callback, &ticket, &email].map(|p| route(p, at("2026-01-05T15:00:00Z"), None)) {
            assert!(!r.message.contains("connecting"), "{}", r.message);
        }
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("by {follow_up} on {next_open_day}").is_ok());
        let e = check_template("by {folow_up}").unwrap_err();
        assert_eq!((e.offset, e.help.as_deref()), (3, Some("did you mean `{follow_up}`?")));
        assert!(check_template("by {follow_up").is_err());
    }
}
