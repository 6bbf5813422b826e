//! The decider and the recorder: two threads in a pipeline that own the order of decisions and of the log.
//!
//! Every decide request of every connection is a [`Job`] on one bounded queue. The decider takes the first job
//! waiting, then every other already waiting (up to [`Limits::audit_batch`] events), decides them in order, and
//! hands the group to the recorder. The recorder appends the records of every group waiting for it (up to the
//! same bound), makes them durable with one group commit (one fsync of the payloads, one of the log), and only
//! then publishes their states and answers their jobs: many requests, one fsync, no artificial wait. The two
//! overlap: while the recorder builds, hashes, signs and fsyncs one commit, the decider decides the next groups,
//! so neither the decision's CPU nor the disk waits for the other, and the commits grow with the load.
//!
//! A conversation's events are decided in the order they reached the queue, each from the state the one before
//! left, which the decider keeps (`pending`) until the recorder has settled its group. Its state in
//! [`Shared::conversations`] (what a restart rebuilds, what `GET /v1/conversations/{id}` shows) advances only once
//! the records are durable. A commit that fails answers every job of its groups with a fail-safe decision that is
//! *not* a decision the client may act on (HTTP 503), publishes no state, and marks the server unready for good:
//! the log's writer refuses further use until it is reopened (FORMAT.md §6), so every group decided after it, from
//! states that never became durable, is refused too and none of those states is ever published.
//!
//! A policy swap is a job too, so its `policy_deployed` record lands in the log between the last decision under
//! the old policy and the first under the new one, and the swap is answered once that record is durable.
//!
//! Without a log there is nothing to wait for: the recorder runs in the decider's thread and answers at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// The number of the last decided group whose fate is settled: durable and its states published in
    /// `conversations`, or refused. The decider reads the states of later groups from its own `pending`.
    pub(crate) settled: AtomicU64,
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

/// Starts the decider on `policy`, and, with a `log`, the recorder beside it; returns the queue to the decider
/// and the decider's thread (which joins the recorder's as it ends).
pub(crate) fn start(
    policy: Arc<Policy>,
    log: Option<AuditLog>,
    shared: Arc<Shared>,
    queue: usize,
    batch: usize,
) -> std::io::Result<(Queue, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(queue.max(1));
    let idle = shared.conversations().idle;
    let batch = batch.max(1);
    let recorder = Recorder { log, broken: None, shared: shared.clone(), batch };
    let next = if recorder.log.is_some() {
        let (to_recorder, decided) = std::sync::mpsc::sync_channel(RECORDER_QUEUE);
        let thread = std::thread::Builder::new()
            .name("handrail-recorder".into())
            .spawn(move || recorder.run(decided))?;
        Next::Thread { to_recorder, thread }
    } else {
        Next::Inline(Box::new(recorder))
    };
    let decider = Decider {
        policy,
        next: Some(next),
        pending: HashMap::new(),
        batches: 0,
        shared: shared.clone(),
        batch,
        idle,
    };
    let handle =
        std::thread::Builder::new().name("handrail-decider".into()).spawn(move || decider.run(rx))?;
    Ok((Queue { tx, shared }, handle))
}

/// The most decided groups waiting for the recorder; beyond, the decider waits (and requests gather in its own
/// queue, whose bound answers 503). The recorder merges all that wait into one commit, so this bounds memory,
/// not the size of a commit.
const RECORDER_QUEUE: usize = 16;

/// The first stage: decides every job in the order it was queued, each event from the state the conversation's
/// event before left (durable or not yet), and hands the group on to be recorded.
struct Decider {
    policy: Arc<Policy>,
    /// Where decided groups go; `None` once closed.
    next: Option<Next>,
    /// The states decided but not yet settled (durable and published in [`Shared::conversations`], or refused),
    /// by conversation: (state, time of its latest event, the group that made it).
    pending: HashMap<String, (ConversationState, DateTime<Utc>, u64)>,
    /// Groups handed on so far; a group's number is its place in this count.
    batches: u64,
    shared: Arc<Shared>,
    /// The most events in one group.
    batch: usize,
    /// [`Conversations::idle`], copied.
    idle: chrono::Duration,
}

/// The recorder, on its own thread when there is a log (so one group is decided while the one before is made
/// durable), or run in the decider's when there is none (there is nothing to wait for).
enum Next {
    /// Boxed: the enum is held once, and a log is large beside a channel's end.
    Inline(Box<Recorder>),
    Thread {
        to_recorder: SyncSender<Decided>,
        thread: std::thread::JoinHandle<()>,
    },
}

/// A group of jobs decided, in order, waiting to be recorded and answered.
struct Decided {
    /// The group's number ([`Decider::batches`]).
    number: u64,
    jobs: Vec<Pending>,
    /// The state each conversation of the group was left in, published once the group is durable.
    states: HashMap<String, (ConversationState, DateTime<Utc>)>,
    events: usize,
}

/// A job of a decided group, with what it awaits.
enum Pending {
    Decide {
        reply: oneshot::Sender<Result<Vec<Decision>, Refusal>>,
        events: Vec<Received>,
        decided: Vec<One>,
    },
    Deploy {
        reply: oneshot::Sender<Result<(), String>>,
        policy: Arc<Policy>,
    },
    Close {
        reply: oneshot::Sender<Result<u64, String>>,
    },
}

/// One decision, with the state it was decided from (for the fail-safe that replaces it if the commit fails)
/// and the state it left (which its records name).
struct One {
    decision: Decision,
    before: ConversationState,
    next: ConversationState,
    /// The event's time (stamped on arrival when it had none), which the idle bound counts from.
    time: DateTime<Utc>,
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
            // INVARIANT: lowered only once the group is formed (a test waits on it to know the decider is busy).
            let jobs = i64::try_from(group.len()).unwrap_or(i64::MAX);
            self.shared.metrics.queue_depth.dec_by(jobs);
            let decided = self.decide_group(group, events);
            let close = decided.jobs.iter().any(|j| matches!(j, Pending::Close { .. }));
            self.hand_on(decided);
            if close {
                break;
            }
        }
        // Stopped (closed, or every sender gone): the recorder commits what it holds and closes the log.
        match self.next.take() {
            Some(Next::Inline(recorder)) => recorder.close(),
            Some(Next::Thread { to_recorder, thread }) => {
                drop(to_recorder);
                let _ = thread.join();
            }
            None => {}
        }
    }

    fn hand_on(&mut self, decided: Decided) {
        match self.next.as_mut() {
            Some(Next::Inline(recorder)) => {
                recorder.record(vec![decided]);
            }
            Some(Next::Thread { to_recorder, .. }) => {
                // The recorder stops only when this side closes it, so the send fails only after a panic there;
                // its jobs' replies are then dropped, and their requests answer 503.
                let _ = to_recorder.send(decided);
            }
            None => {}
        }
    }

    /// Decides a group of jobs in order.
    fn decide_group(&mut self, group: Vec<Job>, events: usize) -> Decided {
        // States of groups already settled are in the shared map now (or were refused): read from there again.
        let settled = self.shared.settled.load(Ordering::Acquire);
        self.pending.retain(|_, (_, _, number)| *number > settled);
        self.batches = self.batches.saturating_add(1);
        let number = self.batches;
        let mut states = HashMap::new();
        let mut jobs = Vec::with_capacity(group.len());
        for job in group {
            match job {
                Job::Decide { events, reply } => {
                    let decided = events.iter().map(|received| self.decide_one(received, number)).collect();
                    jobs.push(Pending::Decide { reply, events, decided });
                }
                Job::Deploy { policy, reply } => {
                    // Later decisions are decided under the new policy, after its record.
                    self.policy = policy.clone();
                    jobs.push(Pending::Deploy { reply, policy });
                }
                Job::Close { reply } => jobs.push(Pending::Close { reply }),
            }
        }
        // The state each conversation is left in: its last decision's, so the group is read from its end.
        for job in jobs.iter().rev() {
            if let Pending::Decide { events, decided, .. } = job {
                for (received, one) in events.iter().zip(decided).rev() {
                    let conversation = &received.event.conversation;
                    if conversation != UNKNOWN_CONVERSATION && !states.contains_key(conversation) {
                        states.insert(conversation.clone(), (one.next.clone(), one.time));
                    }
                }
            }
        }
        Decided { number, jobs, states, events }
    }

    /// Decides one event from the conversation's latest state: pending (decided, not yet settled), else the
    /// shared (durable) one, else fresh; the idle bound applies to both.
    fn decide_one(&mut self, received: &Received, number: u64) -> One {
        let event = &received.event;
        let time = event.time.unwrap_or_else(Utc::now);
        let known = event.conversation != UNKNOWN_CONVERSATION;
        let before = match self.pending.get(&event.conversation) {
            Some((state, last, _)) if known && time.signed_duration_since(*last) <= self.idle => {
                state.clone()
            }
            Some(_) => ConversationState::default(),
            None if known => self.shared.conversations().state_for(&event.conversation, time),
            None => ConversationState::default(),
        };
        let (decision, next) = decide(&self.policy, &before, received, time);
        if known {
            self.pending.insert(event.conversation.clone(), (next.clone(), time, number));
        }
        One { decision, before, next, time }
    }
}

/// The second stage: appends the records of decided groups in order, makes them durable with one group commit
/// (merging every group waiting, up to [`Limits::audit_batch`] events), then publishes their states and
/// answers their jobs. Without a log it publishes and answers at once.
struct Recorder {
    log: Option<AuditLog>,
    /// Why the log cannot be written, once a write failed.
    broken: Option<String>,
    shared: Arc<Shared>,
    /// The most events in one group commit.
    batch: usize,
}

impl Recorder {
    fn run(mut self, rx: Receiver<Decided>) {
        while let Ok(first) = rx.recv() {
            let mut events = first.events;
            let mut groups = vec![first];
            while events < self.batch {
                match rx.try_recv() {
                    Ok(group) => {
                        events = events.saturating_add(group.events);
                        groups.push(group);
                    }
                    Err(_) => break,
                }
            }
            if self.record(groups) {
                return;
            }
        }
        self.close();
    }

    /// Commits what there is and closes the log (every sender gone, no `Close` job).
    fn close(mut self) {
        if let Some(log) = self.log.take()
            && let Err(e) = log.close()
        {
            tracing::error!(error = %e, "the audit log could not be closed");
        }
    }

    /// Records decided groups, in order, with one commit, and answers their jobs. Returns whether a `Close` job
    /// closed the log.
    fn record(&mut self, mut groups: Vec<Decided>) -> bool {
        let mut failed: Option<String> = self.broken.clone();
        if let Some(log) = self.log.as_mut() {
            for job in groups.iter().flat_map(|g| &g.jobs) {
                if failed.is_some() {
                    break;
                }
                let appended = match job {
                    Pending::Decide { events, decided, .. } => {
                        events.iter().zip(decided).try_for_each(|(r, one)| {
                            let payload = r.stored(&one.decision, &one.next);
                            crate::evidence::record(log, &one.decision, &one.next, payload).map(|_| ())
                        })
                    }
                    Pending::Deploy { policy, .. } => {
                        log.append(Utc::now(), crate::evidence::redeployed(policy)).map(|_| ())
                    }
                    Pending::Close { .. } => Ok(()),
                };
                if let Err(e) = appended {
                    failed = Some(e.to_string());
                }
            }
        }
        let started = Instant::now();
        let committed = match (&failed, self.log.as_mut()) {
            (Some(why), _) => Err(why.clone()),
            (None, Some(log)) => log.commit().map(|_| ()).map_err(|e| e.to_string()),
            (None, None) => Ok(()),
        };
        if self.log.is_some() && failed.is_none() {
            self.shared.metrics.fsync.observe(started.elapsed().as_secs_f64());
        }
        let last = groups.last().map_or(0, |g| g.number);
        match &committed {
            Ok(()) => self.publish(&mut groups),
            Err(why) => {
                if self.broken.is_none() {
                    tracing::error!(error = %why, "the audit log cannot be written; every decide request gets 503");
                }
                self.broken = Some(why.clone());
                self.shared.writable.store(false, Ordering::SeqCst);
                self.shared.metrics.ready.set(0);
            }
        }
        // INVARIANT: after the states are published, so the decider reads them from the shared map.
        self.shared.settled.store(last, Ordering::Release);
        let mut records = 0u32;
        let mut close = false;
        for job in groups.into_iter().flat_map(|g| g.jobs) {
            match job {
                Pending::Decide { reply, events, decided } => {
                    records = records.saturating_add(u32::try_from(decided.len()).unwrap_or(u32::MAX));
                    let answer = match &committed {
                        Ok(()) => Ok(decided.into_iter().map(|one| one.decision).collect()),
                        Err(why) => {
                            // What decides the fail-safes is the policy last in force (a deployment that was
                            // not recorded is not in force).
                            let policy = self.shared.policy();
                            let fail_safe =
                                events.iter().zip(decided).map(|(r, one)| fail_safe(&policy, r, &one.before));
                            Err(Refusal { why: why.clone(), fail_safe: fail_safe.collect() })
                        }
                    };
                    // A client that went away does not take its decision with it: it is recorded all the same.
                    let _ = reply.send(answer);
                }
                Pending::Deploy { reply, policy } => {
                    let answer = match &committed {
                        Ok(()) => {
                            tracing::info!(policy = %policy.id, hash = %policy.hash, "policy deployed");
                            self.shared.set_policy(policy);
                            Ok(())
                        }
                        Err(why) => Err(format!("the audit log could not record the deployment: {why}")),
                    };
                    let _ = reply.send(answer);
                }
                Pending::Close { reply } => {
                    close = true;
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

    /// Keeps the groups' states as the conversations' latest, in order, within the memory bound.
    fn publish(&self, groups: &mut [Decided]) {
        let mut conversations = self.shared.conversations();
        let mut forgotten = 0;
        for group in groups {
            for (id, (state, time)) in std::mem::take(&mut group.states) {
                forgotten += conversations.keep(id, state, time);
            }
        }
        self.shared.metrics.conversations.set(i64::try_from(conversations.map.len()).unwrap_or(i64::MAX));
        drop(conversations);
        for _ in 0..forgotten {
            Metrics::count(&self.shared.metrics.forgotten, "memory");
        }
    }
}

/// What the bot must do when the decision on `received` could not be recorded: a person, reason
/// `engine_error` (the emergency response if the message is one).
fn fail_safe(policy: &Policy, received: &Received, before: &ConversationState) -> Decision {
    let why = "the audit log could not record this decision; a person must take over".to_string();
    let time = received.event.time.unwrap_or_else(Utc::now);
    crate::eval::fail_safe(policy, before, &received.event, time, vec![why]).0
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
