//! Beside the pipeline, `serve`: the decision sidecar a bot in any language calls over HTTP (`handrail serve`,
//! issue 9), behind the `serve` feature.
//!
//! Takes a compiled [`Policy`], where to recompile it from, an optional audit log and its signer, and limits;
//! hands on decisions over HTTP/1.1 and HTTP/2 (cleartext, prior knowledge). The stack is tokio with axum on
//! hyper: the tokio project's own runtime, HTTP implementation and router, the most used and audited async HTTP
//! stack in Rust, and all that a JSON API of a few routes needs.
//!
//! The pieces, each in its file:
//! - `decider.rs`: the decider thread owns the policy and the order of decisions, the recorder thread the log;
//!   requests of every connection share one group commit, and no decision is answered before its record is
//!   durable;
//! - `restore.rs`: conversation state rebuilt at start by replaying the log's stored events;
//! - `http.rs`: the routes, authentication, limits and error bodies;
//! - `connections.rs`: the accept loop, with the connection cap and the header timeout;
//! - `metrics.rs`: `/metrics` in the Prometheus text format.
//!
//! The routes are [`ROUTES`]; `docs/openapi.json` describes them and a test holds the two together.

mod connections;
mod decider;
mod http;
mod metrics;
mod restore;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use restore::Restored;

use crate::audit::{AuditError, Signer};
use crate::compile::{Options as CompileOptions, Policy};

/// Every route the server answers, as (method, path) with axum's `{name}` path parameters; `docs/openapi.json`
/// lists the same operations.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/decide"),
    ("POST", "/v1/decide/batch"),
    ("GET", "/v1/conversations/{id}"),
    ("POST", "/v1/policy/reload"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

/// The OpenAPI document of the API, as served at `/openapi.json` (kept in the repository as `docs/openapi.json`).
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// The most events one `POST /v1/decide/batch` may carry.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// Where the policy is recompiled from on reload.
#[derive(Debug, Clone, Default)]
pub struct PolicySource {
    /// The policy file; `None` for the built-in `common` pack.
    pub path: Option<PathBuf>,
    /// Where to find packs.
    pub options: CompileOptions,
}

/// The bounds that keep the server up under load and hostile input.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body accepted, in bytes (413 beyond).
    pub max_body: usize,
    /// The longest a request may take, from arrival to answer (503 beyond).
    pub timeout: Duration,
    /// The most decide requests in flight at once (429 beyond).
    pub max_in_flight: usize,
    /// The most decide requests waiting for the decider (503 beyond).
    pub queue: usize,
    /// The most events in one group commit.
    pub audit_batch: usize,
    /// A conversation idle longer than this (by its events' times) is forgotten.
    pub idle: Duration,
    /// The most conversations held in memory; beyond, the longest idle are forgotten.
    pub max_conversations: usize,
    /// The longest shutdown waits for requests in flight before it closes the log anyway.
    pub drain: Duration,
    /// The longest a connection may take to send a request head: from its first byte, after it opens, and after
    /// the previous answer (an idle HTTP/1.1 keep-alive connection is closed after it too).
    pub header_timeout: Duration,
    /// The most connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_in_flight: 1024,
            queue: 4096,
            audit_batch: 1024,
            idle: Duration::from_secs(24 * 60 * 60),
            max_conversations: 1_000_000,
            drain: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Everything `handrail serve` runs with, validated.
#[derive(Debug)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The policy in force at start.
    pub policy: Policy,
    /// Where to recompile it from on reload.
    pub source: PolicySource,
    /// The audit log's directory and signer; `None` runs without a log (decisions are not recorded).
    pub audit: Option<(PathBuf, Signer)>,
    /// Bearer tokens accepted on `/v1/` routes; empty: no authentication.
    pub tokens: Vec<String>,
    /// Bearer tokens accepted on `POST /v1/policy/reload`; empty: reload over HTTP is off (SIGHUP still works).
    pub admin_tokens: Vec<String>,
    /// The bounds.
    pub limits: Limits,
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address could not be bound, or the runtime could not start.
    #[error("cannot listen on `{addr}`: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or the decider thread could not start.
    #[error("cannot start: {0}")]
    Start(std::io::Error),
    /// The audit log could not be opened, read or closed.
    #[error("the audit log: {0}")]
    Audit(#[from] AuditError),
    /// The log could not be closed at shutdown.
    #[error("the audit log could not be closed: {0}")]
    Close(String),
}

/// What the server tells its caller as it runs.
pub trait Events: Send + 'static {
    /// The server listens on `addr` and its state is rebuilt (`restored`): it is ready for requests.
    fn listening(&mut self, addr: SocketAddr, restored: &Restored);
}

impl<F: FnMut(SocketAddr, &Restored) + Send + 'static> Events for F {
    fn listening(&mut self, addr: SocketAddr, restored: &Restored) {
        self(addr, restored)
    }
}

/// Runs the server until SIGTERM or SIGINT: opens the log (recovering a torn tail), rebuilds conversation state
/// from it, listens, serves, and on the signal stops accepting, drains the requests in flight (at most
/// [`Limits::drain`]) and closes the log. SIGHUP recompiles the policy from its source. Blocks the calling thread.
pub fn run(config: Config, events: impl Events) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("handrail-serve")
        .build()
        .map_err(ServeError::Start)?;
    runtime.block_on(http::serve(config, events))
}

/// The tokens in `text` (a tokens file): one per line, blank lines and lines starting with `#` ignored.
pub fn parse_tokens(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

/// Shared with `http.rs`: the state built at start.
pub(crate) struct Started {
    pub(crate) shared: Arc<decider::Shared>,
    pub(crate) queue: decider::Queue,
    pub(crate) decider: std::thread::JoinHandle<()>,
    pub(crate) restored: Restored,
}

/// Opens the log, rebuilds the conversations and starts the decider.
pub(crate) fn start(config: &mut Config) -> Result<Started, ServeError> {
    let policy = Arc::new(config.policy.clone());
    let idle = chrono::Duration::from_std(config.limits.idle).unwrap_or(chrono::Duration::MAX);
    let mut conversations =
        decider::Conversations { map: Default::default(), idle, max: config.limits.max_conversations.max(1) };
    let metrics = metrics::Metrics::new();
    let (log, restored) = match config.audit.take() {
        Some((dir, signer)) => {
            // Opening first: the writer lock keeps a second writer out, and recovery cuts a torn tail before
            // the replay reads it.
            let mut log = crate::evidence::open_log(&dir, signer, &policy, true)?;
            log.commit()?;
            let restored = restore::restore(&dir, &policy, &mut conversations, chrono::Utc::now())?;
            metrics.replayed.inc_by(restored.replayed);
            metrics.replay_differed.inc_by(restored.differed);
            (Some(log), restored)
        }
        None => (None, Restored::default()),
    };
    metrics.policy(&policy);
    metrics.ready.set(1);
    metrics.conversations.set(i64::try_from(conversations.map.len()).unwrap_or(i64::MAX));
    let shared = Arc::new(decider::Shared {
        conversations: std::sync::Mutex::new(conversations),
        policy: std::sync::RwLock::new(policy.clone()),
        writable: std::sync::atomic::AtomicBool::new(true),
        settled: std::sync::atomic::AtomicU64::new(0),
        audited: log.is_some(),
        metrics,
    });
    let (queue, decider) =
        decider::start(policy, log, shared.clone(), config.limits.queue, config.limits.audit_batch)
            .map_err(ServeError::Start)?;
    Ok(Started { shared, queue, decider, restored })
}
