//! `handrail eval`: decide a stream of events, one JSON decision per line.
//!
//! The stream never stops on one bad line. Lines are read as bytes by a reader thread, at most
//! [`MAX_EVENT_LINE_BYTES`] of each held in memory ([`read_bounded_line`]); a line that is not UTF-8, not JSON,
//! not a valid event, or over the limit gets a fail-safe decision saying what was wrong, and the next line is
//! read. Only a failure to read the input at all, or to write a decision or its audit record, ends the run, and
//! then every decision already durable is printed first.
//!
//! Streaming: each decision is written as soon as it may be (at once without `--audit`; once its record is
//! durable with it), and stdout is flushed whenever no further input is waiting, so a caller that writes one
//! event and waits reads its decision. With `--audit`, the group commit is bounded in size (`--audit-batch`)
//! and in time (`--audit-max-wait`): no decision waits longer than that for its fsync.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use super::{Exit, PolicyArgs};
use handrail::diagnostic::ErrorFormat;
use handrail::eval::event::{MAX_EVENT_LINE_BYTES, UNKNOWN_CONVERSATION};
use handrail::eval::{ConversationState, DecideOptions, Decision, Event};

/// Decide events: JSON Lines in (one event per line), one decision per line out.
///
/// Each conversation's state (phase, strikes, disclaimers shown) is kept in memory by its `conversation` id. A
/// line that is not a valid event (not UTF-8, not JSON, a field of the wrong type or out of range, over 1 MiB)
/// is reported on stderr with its line number and the field at fault, gets a fail-safe decision (the emergency
/// response if what can be read of it is an emergency, else `handoff` or `capture` with reason `engine_error`),
/// and the stream goes on. A line whose conversation cannot be read gets a decision with an empty
/// `conversation`: it never lands in, or changes, a real conversation.
///
/// Each decision is printed as soon as it is decided (with `--audit`: as soon as its record is durable).
/// Without `--policy`, the built-in `common` pack decides. Events without `time` are stamped with the clock.
///
/// Exit codes: 0 every line decided, 1 at least one line was malformed (it still got a fail-safe decision) or the
/// policy has errors, 2 usage error (an unusable `--audit-key`), 3 the input could not be read or a decision or
/// audit record could not be written (disk full, closed stdout), 4 internal error.
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
    /// once their records are durable. Stored events are redacted per the conversation's retention rules.
    #[arg(long, value_name = "DIR", requires = "audit_key")]
    pub audit: Option<PathBuf>,
    /// The signing key of the audit log (from `handrail audit keygen`).
    #[arg(long, value_name = "KEY")]
    pub audit_key: Option<PathBuf>,
    /// With `--audit`: the most decisions that share one fsync (group commit). 1 acknowledges each at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub audit_batch: usize,
    /// With `--audit`: the longest a decision waits for its group commit, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_MAX_WAIT_MS)]
    pub audit_max_wait: u64,
}

/// The default time bound of the group commit, in milliseconds: a few fsyncs' worth, short enough that a caller
/// waiting on one event does not notice it.
pub const DEFAULT_MAX_WAIT_MS: u64 = 5;

/// How many read lines may wait for the decider; the reader blocks beyond (so memory stays bounded).
const INPUT_QUEUE: usize = 256;

/// One line of input, as the reader thread hands it on.
#[derive(Debug)]
enum Input {
    /// A line, without its newline, of at most [`MAX_EVENT_LINE_BYTES`].
    Line(Vec<u8>),
    /// A line over the limit, with its length in bytes: its content was dropped as it was read.
    TooLong(u64),
    /// Reading the input failed; nothing more comes.
    Failed(std::io::Error),
}

/// Reads one line into `buf` (cleared first), keeping at most `limit` bytes of it; the rest of a longer line is
/// read and dropped, so memory stays bounded whatever the input. Returns the line's full length (without the
/// newline), or `None` at the end of the input. Interrupted reads are retried.
pub fn read_bounded_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<u64>> {
    buf.clear();
    let mut total: u64 = 0;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(total));
        }
        any = true;
        let newline = memchr::memchr(b'\n', available);
        let line = available.get(..newline.unwrap_or(available.len())).unwrap_or_default();
        let room = limit.saturating_sub(buf.len()).min(line.len());
        buf.extend_from_slice(line.get(..room).unwrap_or_default());
        total = total.saturating_add(line.len() as u64);
        let used = newline.map_or(available.len(), |at| at + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some(total));
        }
    }
}

/// Starts the reader thread: lines of `reader` into the returned channel, ending at the end of the input or the
/// first read error.
fn spawn_reader(mut reader: Box<dyn BufRead + Send>) -> Receiver<Input> {
    let (tx, rx) = std::sync::mpsc::sync_channel(INPUT_QUEUE);
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        loop {
            let input = match read_bounded_line(&mut reader, &mut buf, MAX_EVENT_LINE_BYTES) {
                Ok(None) => return,
                Ok(Some(len)) if len > MAX_EVENT_LINE_BYTES as u64 => Input::TooLong(len),
                Ok(Some(_)) => Input::Line(std::mem::take(&mut buf)),
                Err(e) => Input::Failed(e),
            };
            let last = matches!(input, Input::Failed(_));
            if tx.send(input).is_err() || last {
                return;
            }
        }
    });
    rx
}

/// One line decoded ([`handrail::evidence::Received`]).
type Line = handrail::evidence::Received;

/// Decodes the bytes of one line. Anything wrong is in `errors`; the event is then what could be salvaged.
fn decode_line(bytes: &[u8]) -> Line {
    Line::decode(bytes)
}

/// An audit failure: what to tell, and the exit code (3 when a file could not be read or written).
struct AuditFailure(Exit, String);

impl From<handrail::audit::AuditError> for AuditFailure {
    fn from(e: handrail::audit::AuditError) -> Self {
        let exit = match e {
            handrail::audit::AuditError::Io { .. } => Exit::Io,
            _ => Exit::Failed,
        };
        AuditFailure(exit, e.to_string())
    }
}

/// The audit log and the decisions waiting for their records to be durable: a group commit bounded in size
/// (`batch`) and time (`max_wait`), kept here in the eval loop on the log's public `append`/`commit`.
struct Audited {
    log: handrail::audit::AuditLog,
    pending: Vec<String>,
    /// When the oldest pending decision was recorded.
    oldest: Option<Instant>,
    batch: usize,
    max_wait: Duration,
}

impl Audited {
    fn open(
        args: &Args,
        dir: &Path,
        key: &Path,
        policy: &handrail::compile::Policy,
    ) -> Result<Audited, AuditFailure> {
        let text = std::fs::read_to_string(key)
            .map_err(|e| AuditFailure(Exit::Io, format!("cannot read `{}`: {e}", key.display())))?;
        let signer = handrail::audit::Signer::parse(&text)
            .map_err(|e| AuditFailure(Exit::Usage, format!("`{}`: {e}", key.display())))?;
        let log = handrail::evidence::open_log(dir, signer, policy, false)?;
        Ok(Audited {
            log,
            pending: Vec::new(),
            oldest: None,
            batch: args.audit_batch.max(1),
            max_wait: Duration::from_millis(args.audit_max_wait),
        })
    }

    /// Records a decision (and its packet's transfer) through [`handrail::evidence`], with `payload` the event as
    /// it may be stored and `next` the conversation's state after it; the decision is printed once durable.
    fn record(
        &mut self,
        decision: &Decision,
        next: &ConversationState,
        payload: Vec<u8>,
        json: String,
    ) -> Result<(), AuditFailure> {
        handrail::evidence::record(&mut self.log, decision, next, payload)?;
        self.pending.push(json);
        self.oldest.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// When the pending decisions must be committed at the latest.
    fn deadline(&self) -> Option<Instant> {
        self.oldest.map(|t| t + self.max_wait)
    }

    /// Whether the pending decisions must be committed now: the batch is full, or the oldest has waited its
    /// time (checked here too, not only when the input is idle, so a steady stream cannot hold it back).
    fn due(&self) -> bool {
        self.pending.len() >= self.batch || self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Makes every pending record durable and returns their decisions, to print.
    fn commit(&mut self) -> Result<Vec<String>, AuditFailure> {
        self.log.commit()?;
        self.oldest = None;
        Ok(std::mem::take(&mut self.pending))
    }
}

/// Where decisions go: stdout, flushed when the input is idle. A write that fails (a closed pipe, a full disk)
/// is remembered and ends the run with exit 3.
struct Output<'a> {
    out: std::io::BufWriter<std::io::StdoutLock<'a>>,
    failed: bool,
}

impl Output<'_> {
    fn print(&mut self, decisions: &[String]) {
        if !self.failed && decisions.iter().any(|d| writeln!(self.out, "{d}").is_err()) {
            self.failed = true;
        }
    }

    fn flush(&mut self) {
        if !self.failed && self.out.flush().is_err() {
            self.failed = true;
        }
    }
}

/// The next line of input, `None` at its end. Before waiting for it, every decision already decided is flushed
/// to the caller; while waiting, the group commit's time bound is kept (the pending decisions are committed and
/// printed when the oldest has waited `--audit-max-wait`).
fn next_input(
    input: &Receiver<Input>,
    audited: &mut Option<Audited>,
    out: &mut Output<'_>,
) -> Result<Option<Input>, AuditFailure> {
    loop {
        match input.try_recv() {
            Ok(next) => return Ok(Some(next)),
            Err(TryRecvError::Disconnected) => return Ok(None),
            Err(TryRecvError::Empty) => {}
        }
        out.flush();
        let Some(deadline) = audited.as_ref().and_then(Audited::deadline) else {
            return Ok(input.recv().ok());
        };
        match input.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(next) => return Ok(Some(next)),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
            Err(RecvTimeoutError::Timeout) => {
                if let Some(a) = audited.as_mut() {
                    out.print(&a.commit()?);
                }
            }
        }
    }
}

/// Runs `handrail eval`.
pub fn run(args: Args) -> Exit {
    let policy = match args.policy.load(args.error_format) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let (reader, name): (Box<dyn BufRead + Send>, String) = match &args.input {
        Some(path) if path.as_os_str() != "-" => match std::fs::File::open(path) {
            Ok(f) => (Box::new(std::io::BufReader::new(f)), path.display().to_string()),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Exit::Io;
            }
        },
        _ => (Box::new(std::io::BufReader::new(std::io::stdin())), "<stdin>".to_string()),
    };
    let mut audited = match (&args.audit, &args.audit_key) {
        (Some(dir), Some(key)) => match Audited::open(&args, dir, key, &policy) {
            Ok(a) => Some(a),
            Err(AuditFailure(exit, why)) => {
                eprintln!("error: the audit log: {why}");
                return exit;
            }
        },
        _ => None,
    };
    let options = DecideOptions { explain: args.explain };
    let input = spawn_reader(reader);
    let stdout = std::io::stdout();
    let mut out = Output { out: std::io::BufWriter::new(stdout.lock()), failed: false };
    let mut states: HashMap<String, ConversationState> = HashMap::new();
    let mut exit = Exit::Ok;
    let mut number = 0usize;
    loop {
        let next = match next_input(&input, &mut audited, &mut out) {
            Ok(next) => next,
            Err(AuditFailure(code, why)) => {
                eprintln!("error: the audit log: {why}");
                return code;
            }
        };
        let Some(next) = next else { break };
        let line = match next {
            Input::Line(bytes) => {
                number += 1;
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                decode_line(&bytes)
            }
            Input::TooLong(len) => {
                number += 1;
                Line {
                    event: Event { conversation: UNKNOWN_CONVERSATION.to_string(), ..Event::default() },
                    errors: vec![format!(
                        "the line is {len} bytes, over the limit of {MAX_EVENT_LINE_BYTES}; it was not read"
                    )],
                    raw: String::new(),
                }
            }
            Input::Failed(e) => {
                eprintln!("error: {name}:{}: cannot read: {e}", number + 1);
                exit = Exit::Io;
                break;
            }
        };
        // Stamped with the clock when it carries no time, so the stored event says when it was decided.
        let mut event = line.event.clone();
        let now = *event.time.get_or_insert_with(chrono::Utc::now);
        let known = event.conversation != UNKNOWN_CONVERSATION;
        let state = if known {
            states.get(&event.conversation).cloned().unwrap_or_default()
        } else {
            Default::default()
        };
        let (decision, next_state) = if line.errors.is_empty() {
            handrail::eval::decide_with(&policy, &state, &event, now, options)
        } else {
            let errors = line.errors.iter().map(|why| format!("line {number}: {why}")).collect();
            handrail::eval::fail_safe(&policy, &state, &event, now, errors)
        };
        for why in line.errors.iter().chain(if line.errors.is_empty() { &decision.errors[..] } else { &[] }) {
            eprintln!("error: {name}:{number}: {why}");
        }
        if !decision.errors.is_empty() && exit == Exit::Ok {
            exit = Exit::Failed;
        }
        let json = if args.pretty {
            serde_json::to_string_pretty(&decision)
        } else {
            serde_json::to_string(&decision)
        };
        // INVARIANT: a decision is strings, numbers and times only, so it always serialises.
        let json = json.unwrap_or_default();
        match audited.as_mut() {
            Some(a) => {
                let payload = line.stored(&decision, &next_state);
                let committed = a
                    .record(&decision, &next_state, payload, json)
                    .and_then(|()| if a.due() { a.commit() } else { Ok(Vec::new()) });
                match committed {
                    Ok(ready) => out.print(&ready),
                    Err(AuditFailure(code, why)) => {
                        eprintln!("error: {name}:{number}: the audit log: {why}");
                        return code;
                    }
                }
            }
            None => out.print(&[json]),
        }
        if known {
            states.insert(decision.conversation.clone(), next_state);
        }
        if out.failed {
            // Nobody reads the decisions any more: stop deciding (what is recorded is committed below).
            break;
        }
    }
    if let Some(mut a) = audited {
        let ready = a.commit().and_then(|ready| a.log.close().map(|_| ready).map_err(AuditFailure::from));
        match ready {
            Ok(ready) => out.print(&ready),
            Err(AuditFailure(code, why)) => {
                eprintln!("error: the audit log: {why}");
                return code;
            }
        }
    }
    out.flush();
    if out.failed {
        eprintln!("error: the decisions could not be written to stdout");
        return Exit::Io;
    }
    exit
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn a_line_over_the_limit_is_measured_not_kept() {
        let mut input = std::io::BufReader::with_capacity(7, &b"short\nthis one is long\n\nlast"[..]);
        let mut buf = Vec::new();
        assert_eq!(read_bounded_line(&mut input, &mut buf, 8).unwrap(), Some(5));
        assert_eq!(buf, b"short");
        assert_eq!(read_bounded_line(&mut input, &mut buf, 8).unwrap(), Some(16));
        assert_eq!(buf, b"this one", "only the first `limit` bytes are held");
        assert_eq!(read_bounded_line(&mut input, &mut buf, 8).unwrap(), Some(0));
        assert_eq!(read_bounded_line(&mut input, &mut buf, 8).unwrap(), Some(4));
        assert_eq!(buf, b"last");
        assert_eq!(read_bounded_line(&mut input, &mut buf, 8).unwrap(), None);
    }

    #[test]
    fn bad_utf8_in_the_conversation_id_names_no_conversation() {
        let line = decode_line(b"{\"conversation\":\"c\xff1\",\"text\":\"I want to kill myself\"}");
        assert_eq!(line.event.conversation, UNKNOWN_CONVERSATION);
        assert!(line.errors[0].starts_with("not valid UTF-8"), "{:?}", line.errors);
        assert_eq!(line.event.text.as_deref(), Some("I want to kill myself"));
        let line = decode_line(b"{\"conversation\":\"c1\",\"text\":\"chest pain \xff\"}");
        assert_eq!(line.event.conversation, "c1", "bad bytes in the text leave the conversation readable");
    }
}
