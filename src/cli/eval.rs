//! `handrail eval`: decide a stream of events, one JSON decision per line.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use super::{Exit, PolicyArgs};
use crate::diagnostic::ErrorFormat;
use crate::eval::{ConversationState, DecideOptions, Decision, Event};

/// Decide events: JSON Lines in (one event per line), one decision per line out.
///
/// Each conversation's state (phase, strikes, disclaimers shown) is kept in memory by its `conversation` id. A
/// line that is not a valid event is reported on stderr with its line number and the field at fault, gets a
/// fail-safe decision (`handoff`, reason `engine_error`), and the stream goes on.
///
/// Without `--policy`, the built-in `common` pack decides. Events without `time` are stamped with the clock.
///
/// Exit codes: 0 every line decided, 1 at least one line was malformed (it still got a fail-safe decision) or the
/// policy has errors, 3 the input could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The events, as JSON Lines; `-` or nothing reads stdin.
    #[arg(value_name = "EVENTS")]
    pub input: Option<PathBuf>,
    /// Add to each decision why every rule did or did not fire.
    #[arg(long)]
    pub explain: bool,
    /// Pretty-print each decision over several lines (not JSON Lines).
    #[arg(long)]
    pub pretty: bool,
    /// The policy and where its packs are.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// How to print policy errors.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
    /// Record every decision in the audit log in this directory (created if absent). Decisions are printed only
    /// once their records are durable.
    #[arg(long, value_name = "DIR", requires = "audit_key")]
    pub audit: Option<PathBuf>,
    /// The signing key of the audit log (from `handrail audit keygen`).
    #[arg(long, value_name = "KEY")]
    pub audit_key: Option<PathBuf>,
    /// With `--audit`: how many decisions share one fsync (group commit). 1 acknowledges each at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub audit_batch: usize,
}

/// The audit log and the decisions waiting for their records to be durable.
struct Audited {
    log: crate::audit::AuditLog,
    pending: Vec<String>,
    batch: usize,
}

impl Audited {
    fn open(
        dir: &std::path::Path,
        key: &std::path::Path,
        batch: usize,
        policy: &crate::compile::Policy,
    ) -> Result<Audited, String> {
        let signer = super::audit::signer(key)?;
        let origin = signer.verifier().name.clone();
        let options = crate::audit::WriterOptions { origin, ..crate::audit::WriterOptions::default() };
        let mut log = crate::audit::AuditLog::open(dir, signer, options).map_err(|e| e.to_string())?;
        log.append(crate::audit::Entry::PolicyDeployed {
            time: chrono::Utc::now(),
            policy: policy_ref(policy),
        })
        .map_err(|e| e.to_string())?;
        Ok(Audited { log, pending: Vec::new(), batch: batch.max(1) })
    }

    /// Records a decision; returns the decisions now durable, to print.
    fn record(&mut self, decision: &Decision, event_line: &str, json: String) -> Result<Vec<String>, String> {
        let reasons = decision.reasons.iter().map(|r| r.as_str().to_string()).collect();
        let retention = decision.retention.as_ref().map(|r| crate::audit::Retention {
            class: r.class.clone(),
            keep_until: r.keep_until,
            legal_hold: r.legal_hold,
        });
        self.log
            .append(crate::audit::Entry::Decision {
                time: decision.time,
                conversation: decision.conversation.clone(),
                policy: policy_ref_of(decision),
                action: decision.action.as_str().to_string(),
                reasons,
                rules: decision.determining.clone(),
                retention: retention.clone(),
                payload: event_line.as_bytes().to_vec(),
            })
            .map_err(|e| e.to_string())?;
        if let Some(packet) = &decision.handoff {
            // The packet handed to a person is itself evidence: a `transfer` record commits to it, erasable under
            // the same retention as the decision.
            self.log
                .append(crate::audit::Entry::Transfer {
                    time: decision.time,
                    conversation: decision.conversation.clone(),
                    queue: packet.queue.clone(),
                    policy: policy_ref_of(decision),
                    reasons: packet.reasons.clone(),
                    rules: packet.rules.clone(),
                    retention: retention.clone(),
                    payload: serde_json::to_vec(packet).unwrap_or_default(),
                })
                .map_err(|e| e.to_string())?;
        }
        self.pending.push(json);
        if self.pending.len() >= self.batch { self.flush() } else { Ok(Vec::new()) }
    }

    fn flush(&mut self) -> Result<Vec<String>, String> {
        self.log.commit().map_err(|e| e.to_string())?;
        Ok(std::mem::take(&mut self.pending))
    }
}

fn policy_ref_of(decision: &Decision) -> crate::audit::PolicyRef {
    crate::audit::PolicyRef {
        id: decision.policy.id.clone(),
        version: decision.policy.version.clone(),
        hash: decision.policy.hash.clone(),
    }
}

fn policy_ref(policy: &crate::compile::Policy) -> crate::audit::PolicyRef {
    crate::audit::PolicyRef {
        id: policy.id.clone(),
        version: policy.version.clone(),
        hash: policy.hash.clone(),
    }
}

/// Runs `handrail eval`.
pub fn run(args: Args) -> Exit {
    let policy = match args.policy.load(args.error_format) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let reader: Box<dyn BufRead> = match &args.input {
        Some(path) if path.as_os_str() != "-" => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Exit::Io;
            }
        },
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let name = match &args.input {
        Some(path) if path.as_os_str() != "-" => path.display().to_string(),
        _ => "<stdin>".to_string(),
    };
    let options = DecideOptions { explain: args.explain };
    let mut audited = match (&args.audit, &args.audit_key) {
        (Some(dir), Some(key)) => match Audited::open(dir, key, args.audit_batch, &policy) {
            Ok(a) => Some(a),
            Err(why) => {
                eprintln!("error: the audit log: {why}");
                return Exit::Failed;
            }
        },
        _ => None,
    };
    let mut states: HashMap<String, ConversationState> = HashMap::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut exit = Exit::Ok;
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("error: {name}:{number}: cannot read: {e}");
                return Exit::Io;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let (decision, next) = match Event::from_json(&line) {
            Ok(mut event) => {
                event.time.get_or_insert_with(chrono::Utc::now);
                let state = states.get(&event.conversation).cloned().unwrap_or_default();
                let (decision, next) = crate::eval::decide_with(&policy, &state, &event, options);
                for why in &decision.errors {
                    eprintln!("error: {name}:{number}: {why}");
                    exit = Exit::Failed;
                }
                (decision, next)
            }
            Err(why) => {
                eprintln!("error: {name}:{number}: {why}");
                exit = Exit::Failed;
                let event = Event {
                    conversation: conversation_of(&line),
                    time: Some(chrono::Utc::now()),
                    ..Event::default()
                };
                let state = states.get(&event.conversation).cloned().unwrap_or_default();
                crate::eval::fail_safe(&policy, &state, &event, vec![format!("line {number}: {why}")])
            }
        };
        states.insert(decision.conversation.clone(), next);
        let json = if args.pretty {
            serde_json::to_string_pretty(&decision)
        } else {
            serde_json::to_string(&decision)
        };
        let json = json.unwrap_or_default();
        let ready = match audited.as_mut() {
            Some(a) => match a.record(&decision, &line, json) {
                Ok(ready) => ready,
                Err(why) => {
                    eprintln!("error: {name}:{number}: the audit log: {why}");
                    return Exit::Failed;
                }
            },
            None => vec![json],
        };
        if ready.iter().any(|d| writeln!(out, "{d}").is_err()) {
            return Exit::Io;
        }
    }
    if let Some(mut a) = audited {
        let ready = a.flush().and_then(|ready| a.log.close().map(|_| ready).map_err(|e| e.to_string()));
        match ready {
            Ok(ready) => {
                if ready.iter().any(|d| writeln!(out, "{d}").is_err()) {
                    return Exit::Io;
                }
            }
            Err(why) => {
                eprintln!("error: the audit log: {why}");
                return Exit::Failed;
            }
        }
    }
    if out.flush().is_err() {
        return Exit::Io;
    }
    exit
}

/// The conversation id of a line that is not a valid event, when it can still be read, so the fail-safe
/// decision lands in the right conversation.
fn conversation_of(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("conversation").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_else(|| "default".into())
}
