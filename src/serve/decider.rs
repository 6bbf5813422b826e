//! The decider: one thread that owns the policy in force, the audit log and the order of decisions.
//!
//! Every decide request of every connection is a [`Job`] on one bounded queue. The thread takes the first job
//! waiting, then every other already waiting (up to [`Limits::audit_batch`] events), decides them in order,
//! appends their records, and makes them durable with one group commit (one fsync of the payloads, one of the
//! log) before it answers any of them: many requests, one fsync, and no artificial wait (while one commit runs,
//! the next group gathers). A conversation's events are decided in the order they reached the queue, and its
//! state advances only once the records of its decisions are durable: a commit that fails answers every job of
//! its group with a fail-safe decision that is *not* a decision the client may act on (HTTP 503), leaves every
//! state as it was, and marks the server unready for good (the log's writer refuses further use until it is
//! reopened, FORMAT.md §6).
//!
//! A policy swap is a job too, so its `policy_deployed` record lands in the log between the last decision under
//! the old policy and the first under the new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::metrics::Metrics;
use crate::audit::AuditLog;
use crate::compile::Policy;
use crate::eval::event::UNKNOWN_CONVERSATION;
use crate::eval::{ConversationState, DecideOptions, Decision};
use crate::evidence::Received;

/// What the decider is asked to do.
#[derive(Debug)]
pub(crate) enum Job {
    /// Decide these events, in order; answered with their decisions once their records are durable.
    Decide { events: Vec<Received>, reply: oneshot::Sender<Result<Vec<Decision>, Refusal>> },
    /// Put this policy in force (after its `policy_deployed` record is durable).
    Deploy { policy: Arc<Policy>, reply: oneshot::Sender<Result<(), String>> },
    /// Commit and close the log, then stop.
    Close { reply: oneshot::Sender<Result<u64, String>> },
}

/// Why decisions were not given: the audit log could not record them. The fail-safe decisions say what the bot
/// must do meanwhile (a person, reason `engine_error`); none of them was recorded.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) why: String,
    pub(crate) fail_safe: Vec<Decision>,
}

/// A conversation held in memory.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    pub(crate) state: ConversationState,
    /// The time of its latest event (the event's `time`, stamped with the clock on arrival when absent).
    pub(crate) last: DateTime<Utc>,
}

/// The conversations held in memory, with their bounds.
#[derive(Debug)]
pub(crate) struct Conversations {
    pub(crate) map: HashMap<String, Kept>,
    /// A conversation whose latest event is older than this is forgotten: its next event starts afresh.
    pub(crate) idle: chrono::Duration,
    /// The most conversations held; beyond, the longest idle are forgotten first.
    pub(crate) max: usize,
}

impl Conversations {
    /// The state a new event at `time` of `conversation` starts from: the kept state, or a fresh one when there is
    /// none or it was idle longer than the bound. The same rule is applied when the log is replayed at start.
    pub(crate) fn state_for(&self, conversation: &str, time: DateTime<Utc>) -> ConversationState {
        match self.map.get(conversation) {
            Some(kept) if time.signed_duration_since(kept.last) <= self.idle => kept.state.clone(),
            _ => ConversationState::default(),
        }
    }

    /// Keeps `state` as the conversation's latest, then holds memory to its bound. Returns how many
    /// conversations were forgotten to do so.
    pub(crate) fn keep(
        &mut self,
        conversation: String,
        state: ConversationState,
        time: DateTime<Utc>,
    ) -> usize {
        self.map.insert(conversation, Kept { state, last: time });
        if self.map.len() <= self.max {
            return 0;
        }
        // Forget the longest idle down to 90% of the bound, so the sort is paid once per tenth of it.
        let keep = self.max.saturating_sub(self.max / 10).max(1);
        let mut by_age: Vec<(DateTime<Utc>, String)> =
            self.map.iter().map(|(id, k)| (k.last, id.clone())).collect();
        by_age.sort();
        let drop = self.map.len().saturating_sub(keep);
        for (_, id) in by_age.into_iter().take(drop) {
            self.map.remove(&id);
        }
        drop
    }

    /// Forgets every conversation idle at `now`; returns how many.
    pub(crate) fn expire(&mut self, now: DateTime<Utc>) -> usize {
        let before = self.map.len();
        let idle = self.idle;
        self.map.retain(|_, k| now.signed_duration_since(k.last) <= idle);
        before.saturating_sub(self.map.len())
    }
}

/// What the decider and the HTTP handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) conversations: Mutex<Conversations>,
    /// The policy in force, for the handlers (readiness, fail-safe answers, metrics); the decider holds its own.
    pub(crate) policy: RwLock<Arc<Policy>>,
    /// Whether the log (if any) is writable.
    pub(crate) writable: AtomicBool,
    /// Whether decisions are recorded.
    pub(crate) audited: bool,
    pub(crate) metrics: Metrics,
}

impl Shared {
    /// The policy in force.
    pub(crate) fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The conversations, even after a panic elsewhere held the lock (their data is always whole: every change
    /// is one insert or remove).
    pub(crate) fn conversations(&self) -> std::sync::MutexGuard<'_, Conversations> {
        self.conversations.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_policy(&self, policy: Arc<Policy>) {
        self.metrics.policy(&policy);
        match self.policy.write() {
            Ok(mut p) => *p = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }
}

/// The queue to the decider, as the handlers hold it.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    tx: SyncSender<Job>,
    shared: Arc<Shared>,
}

/// Why a job could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QueueError {
    /// The queue is full: the server is overloaded.
    Full,
    /// The decider has stopped (the server is shutting down).
    Stopped,
}

impl Queue {
    /// Queues a job without waiting.
    pub(crate) fn send(&self, job: Job) -> Result<(), QueueError> {
        self.shared.metrics.queue_depth.inc();
        let sent = self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => QueueError::Full,
            TrySendError::Disconnected(_) => QueueError::Stopped,
        });
        if sent.is_err() {
            self.shared.metrics.queue_depth.dec();
        }
        sent
    }

    /// Queues a job, waiting for room (for reloads and shutdown, which must not be refused under load).
    pub(crate) fn send_waiting(&self, job: Job) -> Result<(), QueueError> {
        self.shared.metrics.queue_depth.inc();
        let sent = self.tx.send(job).map_err(|_| QueueError::Stopped);
        if sent.is_err() {
            self.shared.metrics.queue_depth.dec();
        }
        sent
    }
}

/// Starts the decider thread on `policy` and `log`; returns the queue to it.
pub(crate) fn start(
    policy: Arc<Policy>,
    log: Option<AuditLog>,
    shared: Arc<Shared>,
    queue: usize,
    batch: usize,
) -> std::io::Result<(Queue, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(queue.max(1));
    let idle = shared.conversations().idle;
    let decider = Decider { policy, log, broken: None, shared: shared.clone(), batch: batch.max(1), idle };
    let handle =
        std::thread::Builder::new().name("handrail-decider".into()).spawn(move || decider.run(rx))?;
    Ok((Queue { tx, shared }, handle))
}

struct Decider {
    policy: Arc<Policy>,
    log: Option<AuditLog>,
    /// Why the log cannot be written, once a write failed.
    broken: Option<String>,
    shared: Arc<Shared>,
    /// The most events in one group commit.
    batch: usize,
    /// [`Conversations::idle`], copied.
    idle: chrono::Duration,
}

/// A job of the group being decided, with what it awaits.
enum Pending {
    Decide {
        reply: oneshot::Sender<Result<Vec<Decision>, Refusal>>,
        events: Vec<Received>,
        decided: Vec<Decided>,
    },
    Deploy {
        reply: oneshot::Sender<Result<(), String>>,
        policy: Arc<Policy>,
    },
    Close {
        reply: oneshot::Sender<Result<u64, String>>,
    },
}

/// One decision of the group, with the state it was decided from (for the fail-safe that replaces it if the
/// commit fails; computed only then).
struct Decided {
    decision: Decision,
    before: ConversationState,
}

impl Decider {
    fn run(mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut group = vec![first];
            let mut events = group.first().map_or(0, Job::events);
            while events < self.batch {
                match rx.try_recv() {
                    Ok(job) => {
                        events = events.saturating_add(job.events());
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            let jobs = i64::try_from(group.len()).unwrap_or(i64::MAX);
            self.shared.metrics.queue_depth.dec_by(jobs);
            if self.decide_group(group) {
                return;
            }
        }
        // Every sender is gone: commit what there is.
        if let Some(log) = self.log.take()
            && let Err(e) = log.close()
        {
            tracing::error!(error = %e, "the audit log could not be closed");
        }
    }

    /// Decides a group of jobs and answers them after one commit. Returns whether to stop (a `Close` job).
    fn decide_group(&mut self, group: Vec<Job>) -> bool {
        let mut overlay: HashMap<String, (ConversationState, DateTime<Utc>)> = HashMap::new();
        let mut pending = Vec::with_capacity(group.len());
        let mut failed: Option<String> = self.broken.clone();
        let mut close = false;
        for job in group {
            match job {
                Job::Decide { events, reply } => {
                    let mut decided = Vec::with_capacity(events.len());
                    for received in &events {
                        let d = self.decide_one(received, &mut overlay, failed.is_none());
                        if let Err(e) = d.1 {
                            failed.get_or_insert(e);
                        }
                        decided.push(d.0);
                    }
                    pending.push(Pending::Decide { reply, events, decided });
                }
                Job::Deploy { policy, reply } => {
                    if failed.is_none()
                        && let Some(log) = self.log.as_mut()
                        && let Err(e) = log.append(Utc::now(), crate::evidence::redeployed(&policy))
                    {
                        failed = Some(e.to_string());
                    }
                    // Later decisions of the group are decided under the new policy, after its record.
                    self.policy = policy.clone();
                    pending.push(Pending::Deploy { reply, policy });
                }
                Job::Close { reply } => {
                    close = true;
                    pending.push(Pending::Close { reply });
                }
            }
        }
        let started = Instant::now();
        let committed = match (&failed, self.log.as_mut()) {
            (Some(why), _) => Err(why.clone()),
            (None, Some(log)) => log.commit().map_err(|e| e.to_string()),
            (None, None) => Ok(0),
        };
        if self.log.is_some() && failed.is_none() {
            self.shared.metrics.fsync.observe(started.elapsed().as_secs_f64());
        }
        if let Err(why) = &committed {
            if self.broken.is_none() {
                tracing::error!(error = %why, "the audit log cannot be written; every decide request gets 503");
            }
            self.broken = Some(why.clone());
            self.shared.writable.store(false, Ordering::SeqCst);
            self.shared.metrics.ready.set(0);
        } else {
            let mut conversations = self.shared.conversations();
            let mut forgotten = 0;
            for (id, (state, time)) in overlay {
                forgotten += conversations.keep(id, state, time);
            }
            self.shared.metrics.conversations.set(i64::try_from(conversations.map.len()).unwrap_or(i64::MAX));
            drop(conversations);
            for _ in 0..forgotten {
                Metrics::count(&self.shared.metrics.forgotten, "memory");
            }
        }
        let mut records = 0u32;
        for job in pending {
            match job {
                Pending::Decide { reply, events, decided } => {
                    records = records.saturating_add(u32::try_from(decided.len()).unwrap_or(u32::MAX));
                    let answer = match &committed {
                        Ok(_) => Ok(decided.into_iter().map(|d| d.decision).collect()),
                        Err(why) => Err(Refusal {
                            why: why.clone(),
                            fail_safe: events
                                .iter()
                                .zip(decided)
                                .map(|(received, d)| self.fail_safe(received, &d.before))
                                .collect(),
                        }),
                    };
                    // A client that went away does not take its decision with it: it is recorded all the same.
                    let _ = reply.send(answer);
                }
                Pending::Deploy { reply, policy } => {
                    let answer = match &committed {
                        Ok(_) => {
                            tracing::info!(policy = %policy.id, hash = %policy.hash, "policy deployed");
                            self.shared.set_policy(policy);
                            Ok(())
                        }
                        Err(why) => {
                            // Not deployed: what decides (the fail-safes, here) stays the policy last in force.
                            self.policy = self.shared.policy();
                            Err(format!("the audit log could not record the deployment: {why}"))
                        }
                    };
                    let _ = reply.send(answer);
                }
                Pending::Close { reply } => {
                    let closed = match self.log.take() {
                        Some(log) => log.close().map_err(|e| e.to_string()),
                        None => Ok(0),
                    };
                    let _ = reply.send(closed);
                }
            }
        }
        if self.log.is_some() && committed.is_ok() && records > 0 {
            self.shared.metrics.commit_size.observe(f64::from(records));
        }
        close
    }

    /// Decides one event against the group's overlay of states, and appends its records when `record` (no
    /// earlier failure in the group). Returns the decision (and its fail-safe stand-in) and any append error.
    fn decide_one(
        &mut self,
        received: &Received,
        overlay: &mut HashMap<String, (ConversationState, DateTime<Utc>)>,
        record: bool,
    ) -> (Decided, Result<(), String>) {
        let event = &received.event;
        let time = event.time.unwrap_or_else(Utc::now);
        let known = event.conversation != UNKNOWN_CONVERSATION;
        let state = match overlay.get(&event.conversation) {
            Some((state, last)) if known && time.signed_duration_since(*last) <= self.idle => state.clone(),
            Some(_) => ConversationState::default(),
            None if known => self.shared.conversations().state_for(&event.conversation, time),
            None => ConversationState::default(),
        };
        let (decision, next) = decide(&self.policy, &state, received, time);
        let mut result = Ok(());
        if record && let Some(log) = self.log.as_mut() {
            let payload = received.stored(&decision, &next);
            if let Err(e) = crate::evidence::record(log, &decision, &next, payload) {
                result = Err(e.to_string());
            }
        }
        if known {
            overlay.insert(event.conversation.clone(), (next, time));
        }
        (Decided { decision, before: state }, result)
    }

    /// What the bot must do when the decision on `received` could not be recorded: a person, reason
    /// `engine_error` (the emergency response if the message is one).
    fn fail_safe(&self, received: &Received, before: &ConversationState) -> Decision {
        let why = "the audit log could not record this decision; a person must take over".to_string();
        let time = received.event.time.unwrap_or_else(Utc::now);
        crate::eval::fail_safe(&self.policy, before, &received.event, time, vec![why]).0
    }
}

impl Job {
    /// How many events the job decides.
    fn events(&self) -> usize {
        match self {
            Job::Decide { events, .. } => events.len(),
            _ => 1,
        }
    }
}

/// Decides `received` from `state` at `time`: the policy's decision for a valid event, the fail-safe (reason
/// `engine_error`, naming every field at fault) for a malformed one. The one rule for live requests and for the
/// replay of the log at start.
pub(crate) fn decide(
    policy: &Policy,
    state: &ConversationState,
    received: &Received,
    time: DateTime<Utc>,
) -> (Decision, ConversationState) {
    if received.errors.is_empty() {
        crate::eval::decide_with(policy, state, &received.event, time, DecideOptions::default())
    } else {
        let time = received.event.time.unwrap_or(time);
        crate::eval::fail_safe(policy, state, &received.event, time, received.errors.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn conversations(max: usize) -> Conversations {
        Conversations { map: HashMap::new(), idle: chrono::Duration::hours(1), max }
    }

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    #[test]
    fn a_state_idle_past_the_bound_starts_afresh() {
        let mut c = conversations(10);
        let state = ConversationState { turn: 3, ..ConversationState::default() };
        c.keep("a".into(), state, t(0));
        assert_eq!(c.state_for("a", t(60)).turn, 3, "exactly the bound is still live");
        assert_eq!(c.state_for("a", t(61)).turn, 0, "past it, afresh");
        assert_eq!(c.expire(t(30)), 0);
        assert_eq!(c.expire(t(61)), 1);
        assert!(c.map.is_empty());
    }

    #[test]
    fn beyond_the_bound_the_longest_idle_are_forgotten_first() {
        let mut c = conversations(10);
        let mut forgotten = 0;
        for n in 0..11 {
            forgotten += c.keep(format!("c{n}"), ConversationState::default(), t(n));
        }
        // Down to 90% of the bound: the two oldest go.
        assert_eq!(forgotten, 2);
        assert_eq!(c.map.len(), 9);
        assert!(!c.map.contains_key("c0") && !c.map.contains_key("c1"));
        assert!(c.map.contains_key("c2") && c.map.contains_key("c10"));
    }
}
