//! `GET /metrics`: what the server counts, in the Prometheus text format (through `prometheus-client`, the
//! Prometheus project's own Rust client). Every family is registered once at start; the handlers only add.
//!
//! Label values are policy and rule ids, action and reason codes: never message text or conversation ids, whose
//! number is unbounded and which may be personal data.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::compile::Policy;
use crate::eval::Decision;

/// A label set: (name, value) pairs.
type Labels = Vec<(&'static str, String)>;

/// The server's metrics and the registry that renders them.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    /// Decisions answered, by action and reason code (a decision with two reasons counts once for each).
    decisions: Family<Labels, Counter>,
    /// Determining rule hits, by rule id.
    rule_hits: Family<Labels, Counter>,
    /// Time from a decide request's arrival to its answer (its record durable first), in seconds.
    pub(crate) latency: Histogram,
    /// Time of one group commit (the fsyncs of the payloads and the log), in seconds.
    pub(crate) fsync: Histogram,
    /// Records in the last group commit.
    pub(crate) commit_size: Histogram,
    /// Decide jobs waiting for the decider (and so for their group commit).
    pub(crate) queue_depth: Gauge,
    /// Decide requests admitted (under `--max-in-flight`) and not yet answered, read at each scrape.
    pub(crate) in_flight: Gauge,
    /// The policy in force: one series, value 1, labelled with its id, version and hash.
    policy: Family<Labels, Gauge>,
    /// Conversations held in memory.
    pub(crate) conversations: Gauge,
    /// Conversations dropped from memory, by why (`idle`, `memory`).
    pub(crate) forgotten: Family<Labels, Counter>,
    /// Requests refused before deciding, by why (`in_flight`, `queue_full`, `timeout`, `unauthorized`,
    /// `too_large`, `audit`), and connections refused over the cap (`connections`).
    pub(crate) refused: Family<Labels, Counter>,
    /// Policy reloads, by outcome (`deployed`, `rejected`).
    pub(crate) reloads: Family<Labels, Counter>,
    /// Decisions replayed from the log at start, and those whose replay differed from the record.
    pub(crate) replayed: Counter,
    pub(crate) replay_differed: Counter,
    /// 1 while the server may decide (policy loaded, log writable), else 0.
    pub(crate) ready: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("handrail");
        let decisions = Family::<Labels, Counter>::default();
        registry.register("decisions", "Decisions answered, by action and reason code", decisions.clone());
        let rule_hits = Family::<Labels, Counter>::default();
        registry.register("rule_hits", "Rules that determined a decision, by rule id", rule_hits.clone());
        // 50 µs to about 1.6 s: a decision without the log is microseconds, an fsync milliseconds.
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "decide_seconds",
            "Time from a decide request's arrival to its answer, its audit record durable first",
            latency.clone(),
        );
        let fsync = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register("audit_fsync_seconds", "Time of one group commit of the audit log", fsync.clone());
        let commit_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "audit_commit_records",
            "Records made durable by one group commit",
            commit_size.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "audit_queue_depth",
            "Decide requests waiting for the decider and its group commit",
            queue_depth.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight",
            "Decide requests admitted under --max-in-flight and not yet answered",
            in_flight.clone(),
        );
        let policy = Family::<Labels, Gauge>::default();
        registry.register(
            "policy_info",
            "The policy in force (value 1), by id, version and hash",
            policy.clone(),
        );
        let conversations = Gauge::default();
        registry.register("conversations", "Conversations held in memory", conversations.clone());
        let forgotten = Family::<Labels, Counter>::default();
        registry.register(
            "conversations_forgotten",
            "Conversations dropped from memory, by why",
            forgotten.clone(),
        );
        let refused = Family::<Labels, Counter>::default();
        registry.register("refused", "Requests refused without a decision, by why", refused.clone());
        let reloads = Family::<Labels, Counter>::default();
        registry.register("policy_reloads", "Policy reloads, by outcome", reloads.clone());
        let replayed = Counter::default();
        registry.register(
            "restore_replayed",
            "Logged decisions replayed at start to rebuild state",
            replayed.clone(),
        );
        let replay_differed = Counter::default();
        registry.register(
            "restore_differed",
            "Logged decisions whose replay at start decided otherwise than the record",
            replay_differed.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "ready",
            "1 while the server may decide (policy loaded, log writable)",
            ready.clone(),
        );
        Metrics {
            registry,
            decisions,
            rule_hits,
            latency,
            fsync,
            commit_size,
            queue_depth,
            in_flight,
            policy,
            conversations,
            forgotten,
            refused,
            reloads,
            replayed,
            replay_differed,
            ready,
        }
    }

    /// Counts a decision that a client received.
    pub(crate) fn decided(&self, decision: &Decision) {
        for reason in &decision.reasons {
            self.decisions
                .get_or_create(&vec![
                    ("action", decision.action.as_str().to_string()),
                    ("reason", reason.as_str().to_string()),
                ])
                .inc();
        }
        for rule in &decision.determining {
            self.rule_hits.get_or_create(&vec![("rule", rule.clone())]).inc();
        }
    }

    /// Names the policy in force.
    pub(crate) fn policy(&self, policy: &Policy) {
        self.policy.clear();
        self.policy
            .get_or_create(&vec![
                ("id", policy.id.clone()),
                ("version", policy.version.clone()),
                ("hash", policy.hash.clone()),
            ])
            .set(1);
    }

    /// Counts one of a labelled family under `why`.
    pub(crate) fn count(family: &Family<Labels, Counter>, why: &'static str) {
        family.get_or_create(&vec![("why", why.to_string())]).inc();
    }

    /// The metrics in the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        // INVARIANT: writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
