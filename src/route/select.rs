//! Where a handoff goes: the queue a target names at a time, and the route to it (live or an honest promise).
//!
//! Takes the policy's queues ([`Directory`]), a [`Target`], a [`Priority`], the time and who is online
//! ([`Staffing`]); hands on a [`Route`]. Which priority a customer gets is the policy's business and is decided
//! before routing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Channel, Queue, route};

/// Urgency of a handoff, lowest first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
#[non_exhaustive]
pub enum Priority {
    /// Whenever someone is free.
    Low,
    /// The default.
    Normal,
    /// Ahead of normal.
    High,
    /// Now: emergencies.
    Urgent,
}

impl Priority {
    /// The priority's name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every priority, by name, lowest first.
    pub const NAMES: &'static [&'static str] = <Priority as strum::VariantNames>::VARIANTS;

    /// Parses a priority name.
    pub fn parse(name: &str) -> Option<Priority> {
        name.parse().ok()
    }
}

/// Where a rule routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A queue by name.
    Queue(String),
    /// Any queue whose agents have this skill: the first open and staffed, else the one that opens soonest.
    Skill(String),
}

/// Where the conversation goes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Route {
    /// The queue.
    pub queue: String,
    /// Its priority.
    pub priority: Priority,
    /// `live_chat`, `ticket`, `email` or `callback`.
    pub channel: Channel,
    /// The skill of the queue's agents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// Whether a person is there now.
    pub open_now: bool,
    /// The honest wait when live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// When someone will follow up, when not live (RFC 3339, local time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up_by: Option<String>,
    /// What the customer is told about the handoff.
    pub message: String,
}

impl Route {
    /// Whether a person joins this conversation now: the queue is open and staffed **and** its channel is live
    /// chat. An open callback, ticket or email queue is an honest `capture`, never a "connecting you now".
    pub fn live(&self) -> bool {
        self.open_now && self.channel == Channel::LiveChat
    }
}

/// Who is online, by queue name, as the event says (`None`: unknown, every queue assumed staffed in its hours).
pub type Staffing<'a> = Option<&'a BTreeMap<String, bool>>;

/// The queues a policy routes to.
#[derive(Debug, Clone, Copy)]
pub struct Directory<'a> {
    /// Every queue.
    pub queues: &'a [Queue],
    /// Where a handoff with no target goes.
    pub safe_queue: &'a str,
    /// What the customer is told when a route names a queue there is not (the compiler rules it out).
    pub unknown_queue: &'a str,
}

impl Directory<'_> {
    /// The route for a handoff to `target` at `time`.
    pub fn hand_off(
        &self,
        target: Option<&Target>,
        priority: Priority,
        time: DateTime<Utc>,
        staffing: Staffing<'_>,
    ) -> Route {
        let queue = self.resolve(target, time, staffing);
        self.route(queue, priority, time, staffing)
    }

    /// The queue a target names at `time`: the queue itself; for a skill, the first queue with it that is open
    /// and staffed, else the one that opens soonest; with no target (or a skill no queue has), the safe queue.
    pub fn resolve<'t>(
        &'t self,
        target: Option<&'t Target>,
        time: DateTime<Utc>,
        staffing: Staffing<'_>,
    ) -> &'t str {
        let skill = match target {
            None => return self.safe_queue,
            Some(Target::Queue(q)) => return q,
            Some(Target::Skill(s)) => s,
        };
        let with_skill = || self.queues.iter().filter(|q| q.skill.as_deref() == Some(skill.as_str()));
        with_skill()
            .find(|q| q.schedule.is_open(time) && staffed(staffing, &q.name) != Some(false))
            .or_else(|| {
                with_skill().min_by_key(|q| {
                    q.schedule
                        .next_open(time)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or(DateTime::<Utc>::MAX_UTC)
                })
            })
            .map_or(self.safe_queue, |q| q.name.as_str())
    }

    /// The route to the queue named `queue`: its hours and staffing decide live chat or an honest promise.
    pub fn route(
        &self,
        queue: &str,
        priority: Priority,
        time: DateTime<Utc>,
        staffing: Staffing<'_>,
    ) -> Route {
        let Some(q) = self.queues.iter().find(|q| q.name == queue) else {
            // INVARIANT: the compiler checks every route names a queue; should one not, the customer still
            // reaches a person through an honest ticket rather than a live-transfer promise.
            return Route {
                queue: queue.to_string(),
                priority,
                channel: Channel::Ticket,
                skill: None,
                open_now: false,
                wait: None,
                follow_up_by: None,
                message: self.unknown_queue.to_string(),
            };
        };
        let routed = route(q, time, staffed(staffing, queue));
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
}

fn staffed(staffing: Staffing<'_>, queue: &str) -> Option<bool> {
    staffing.and_then(|m| m.get(queue).copied())
}
