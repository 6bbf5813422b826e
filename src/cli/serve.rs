//! `handrail serve`: the decision sidecar over HTTP ([`handrail::serve`]). This file turns flags into a validated
//! [`handrail::serve::Config`] and runs it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Exit, PolicyArgs};
use handrail::diagnostic::ErrorFormat;
use handrail::serve::{Config, Limits, PolicySource};

/// Serve decisions over HTTP/1.1 and HTTP/2: the sidecar a bot in any language calls on every message.
///
/// `POST /v1/decide` takes one event (the JSON of one `handrail eval` line, with the same validation and error
/// wording) and answers one decision; `POST /v1/decide/batch` takes a JSON array of events and answers the
/// array of their decisions, in order. `GET /v1/conversations/{id}` shows a conversation's state; `/healthz`,
/// `/readyz`, `/metrics` (Prometheus) and `/openapi.json` are for the platform. docs/serve.md has it all.
///
/// With `--audit DIR --audit-key KEY` every decision is durable in the audit log before its answer leaves
/// (requests of all connections share one fsync); when the log cannot be written, decide requests get 503 with
/// the fail-safe decision and `/readyz` turns false. At start, conversation state is rebuilt by replaying the
/// log, so a restart forgets no conversation.
///
/// SIGHUP (and `POST /v1/policy/reload` with `--admin-token-file`) recompiles the policy; one with errors never
/// replaces the one in force. SIGTERM or SIGINT drains requests in flight, closes the log and exits 0.
///
/// Once listening, the address is printed on stdout as `listening on http://ADDR` (and written to
/// `--address-file`). Access logs go to stderr with `HANDRAIL_LOG=info`; they hold no message text.
///
/// Exit codes: 0 stopped by a signal, the log closed; 1 the policy has errors; 2 usage error (an unusable key or
/// token file); 3 the address could not be bound or the log could not be opened or closed; 4 internal error.
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLE)]
pub struct Args {
    /// Where to listen: an address and port; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Write the address listened on to this file once ready (for scripts that start the server on port 0).
    #[arg(long, value_name = "FILE")]
    pub address_file: Option<PathBuf>,
    /// The policy and where its packs are.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The audit log's directory (created if absent); with `--audit-key` and without this, `handrail-audit`.
    #[arg(long, value_name = "DIR", requires = "audit_key")]
    pub audit: Option<PathBuf>,
    /// The audit log's signing key (from `handrail audit keygen`). Given a key, every decision is recorded
    /// before it is answered: audit is on by default whenever a key is.
    #[arg(long, value_name = "KEY")]
    pub audit_key: Option<PathBuf>,
    /// Require `Authorization: Bearer <token>` on /v1/ routes, with the tokens in this file (one a line).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Allow `POST /v1/policy/reload` with the tokens in this file (one a line); without it, only SIGHUP reloads.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// The largest request body, in bytes (413 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body)]
    pub max_body: usize,
    /// The longest a request may take, in milliseconds (503 beyond).
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub timeout: u64,
    /// The most decide requests in flight at once (429 with Retry-After beyond).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_in_flight)]
    pub max_in_flight: usize,
    /// The most decide requests waiting for their group commit (503 with Retry-After beyond).
    #[arg(long, value_name = "N", default_value_t = Limits::default().queue)]
    pub queue: usize,
    /// The most decisions that share one fsync (group commit).
    #[arg(long, value_name = "N", default_value_t = Limits::default().audit_batch)]
    pub audit_batch: usize,
    /// Forget a conversation whose latest event is older than this many seconds; its next event starts afresh.
    #[arg(long, value_name = "SECONDS", default_value_t = 24 * 60 * 60)]
    pub idle: u64,
    /// The most conversations held in memory; beyond, the longest idle are forgotten first.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_conversations)]
    pub max_conversations: usize,
    /// On SIGTERM, the longest to wait for requests in flight before closing the log, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub drain: u64,
    /// The longest a connection may take to send a request head, in milliseconds, counted from when it opens
    /// and from each answer: slow senders (slowloris) and idle HTTP/1.1 keep-alive connections are closed.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub header_timeout: u64,
    /// The most connections open at once; one more is closed at once (keep `ulimit -n` above it).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
}

/// The example at the end of `handrail serve --help`.
const EXAMPLE: &str = "Example (a key from `handrail audit keygen --name clinic.example/handrail --out clinic`):

  handrail serve --policy clinic.policy --audit-key clinic.key --token-file tokens
  curl -H \"Authorization: Bearer $TOKEN\" -d '{\"conversation\":\"c1\",\"text\":\"can I talk to a nurse\"}' \\
       http://127.0.0.1:8787/v1/decide";

/// The audit log's directory when `--audit-key` is given without `--audit`.
pub const DEFAULT_AUDIT_DIR: &str = "handrail-audit";

/// Runs `handrail serve`.
pub fn run(args: Args) -> Exit {
    let policy = match args.policy.load(ErrorFormat::Human) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let audit = match &args.audit_key {
        Some(key) => match super::audit::signer(key) {
            Ok(signer) => Some((args.audit.clone().unwrap_or_else(|| DEFAULT_AUDIT_DIR.into()), signer)),
            Err(why) => {
                eprintln!("error: {why}");
                return Exit::Usage;
            }
        },
        None => None,
    };
    let tokens = match tokens_of(args.token_file.as_deref()) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let admin_tokens = match tokens_of(args.admin_token_file.as_deref()) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let config = Config {
        listen: args.listen,
        policy,
        source: PolicySource { path: args.policy.policy.clone(), options: args.policy.options() },
        audit,
        tokens,
        admin_tokens,
        limits: Limits {
            max_body: args.max_body,
            timeout: Duration::from_millis(args.timeout.max(1)),
            max_in_flight: args.max_in_flight.max(1),
            queue: args.queue.max(1),
            audit_batch: args.audit_batch.max(1),
            idle: Duration::from_secs(args.idle),
            max_conversations: args.max_conversations.max(1),
            drain: Duration::from_secs(args.drain),
            header_timeout: Duration::from_millis(args.header_timeout.max(1)),
            max_connections: args.max_connections.max(1),
        },
    };
    let address_file = args.address_file.clone();
    let listening = move |addr: SocketAddr, restored: &handrail::serve::Restored| {
        if restored.replayed > 0 {
            eprintln!(
                "rebuilt {} conversations from the audit log ({} decisions replayed, {} differed from their record)",
                restored.conversations, restored.replayed, restored.differed
            );
        }
        out!("listening on http://{addr}");
        if let Some(path) = &address_file
            && let Err(e) = std::fs::write(path, format!("{addr}\n"))
        {
            eprintln!("error: cannot write `{}`: {e}", path.display());
        }
    };
    match handrail::serve::run(config, listening) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                handrail::serve::ServeError::Start(_) => Exit::Internal,
                _ => Exit::Io,
            }
        }
    }
}

/// The tokens of a token file, checked: a file given must hold at least one.
fn tokens_of(path: Option<&Path>) -> Result<Vec<String>, Exit> {
    let Some(path) = path else { return Ok(Vec::new()) };
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", path.display());
        Exit::Io
    })?;
    let tokens = handrail::serve::parse_tokens(&text);
    if tokens.is_empty() {
        eprintln!("error: `{}` holds no token (one a line; `#` starts a comment)", path.display());
        return Err(Exit::Usage);
    }
    Ok(tokens)
}
