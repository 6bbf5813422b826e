//! Beside the pipeline, `review`: what support leads and auditors learn from an audit log after the fact.
//!
//! Takes a log directory (read with the [`audit`](crate::audit) module's own record types, never parsed a second
//! way) and hands on values that print nothing, so the CLI, a server or an embedder can show them as they like:
//!
//! - [`report`]: handoff rate, live versus capture, post-handoff resolution, silent failures and over-eager
//!   rules over a time window (`handrail report`); [`html`] draws it as one self-contained page.
//! - [`replay`]: every logged decision evaluated again, under the policy that was in force (`handrail audit
//!   replay`) or under a new one ([`whatif`], `handrail whatif`).
//! - [`diff`]: what changed between two policies, structurally, and which messages of a corpus now decide
//!   differently (`handrail diff`).
//! - [`generate`]: a realistic synthetic log (many conversations over weeks, a mix of outcomes) for the
//!   benchmark and the tests.
//!
//! A log is read whole into memory: `log.jsonl` as records, `payloads.bin` as bytes (a million decisions take
//! a few hundred megabytes). Records of a kind this version does not know are counted and skipped, so a log
//! written by a newer handrail still reads.

pub mod diff;
pub mod generate;
pub mod html;
pub mod replay;
pub mod report;
pub mod whatif;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::audit::record::{Body, Record, head};
use crate::audit::{DecisionRecord, files};

/// Why a log could not be read for review. Each names the file, and for a record the line and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a record of the log's format.
    #[error("`{}`:{line}: {problem}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong, naming the field.
        problem: String,
    },
    /// A policy recorded in the log, or given, could not be used.
    #[error("{0}")]
    Policy(String),
}

/// Reports how far reading or replaying has got: records done out of the total. Called every few thousand
/// records; the CLI draws a progress bar with it on a terminal.
pub type Progress<'a> = &'a dyn Fn(u64, u64);

/// A progress callback that does nothing.
pub fn no_progress(_done: u64, _total: u64) {}

/// A log read for review: its records in order and the bytes of its payload file.
#[derive(Debug)]
pub struct Log {
    /// Where it was read from.
    pub dir: PathBuf,
    /// The records of known kinds, in seq order.
    pub records: Vec<Record>,
    /// The records of kinds this version does not know (written by a newer handrail), skipped.
    pub unknown_kinds: u64,
    /// `payloads.bin`, whole (empty when absent).
    pub payloads: Vec<u8>,
}

/// How often the progress callback is called, in records.
const PROGRESS_EVERY: usize = 8192;

/// Parses consecutive lines (the first is line `offset + 1`): the records, and how many were of unknown kinds.
fn parse_part(
    part: &[&[u8]],
    offset: usize,
    path: &Path,
    done: &std::sync::atomic::AtomicU64,
    total: u64,
    progress: Progress<'_>,
) -> Result<(Vec<Record>, u64), ReviewError> {
    let mut records = Vec::with_capacity(part.len());
    let mut unknown = 0;
    for (i, line) in part.iter().enumerate() {
        match parse_line(line, path, offset.saturating_add(i).saturating_add(1))? {
            Some(record) => records.push(record),
            None => unknown += 1,
        }
        if i % PROGRESS_EVERY == 0 {
            let so_far = done.fetch_add(PROGRESS_EVERY as u64, std::sync::atomic::Ordering::Relaxed);
            progress(so_far.min(total), total);
        }
    }
    Ok((records, unknown))
}

/// Parses one line: `None` for a kind this version does not know. A decision (nearly every line of a log) is
/// read straight into its record type, its seq and time taken from the fixed head every line begins with
/// (FORMAT.md §3), which is several times faster than the general [`Record`] and its tagged body.
fn parse_line(line: &[u8], path: &Path, number: usize) -> Result<Option<Record>, ReviewError> {
    let bad = |problem: String| ReviewError::Record { path: path.to_path_buf(), line: number, problem };
    let Some(h) = head(line) else {
        return Err(bad("the line does not begin as a record (`{\"seq\":N,\"prev\":...`)".into()));
    };
    if !KNOWN_KINDS.contains(&h.kind) {
        return Ok(None);
    }
    let problem = |e: serde_json::Error| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        bad(format!("record seq {}: {message}", h.seq))
    };
    if h.kind == b"decision" {
        let time = record_time(line)
            .ok_or_else(|| bad(format!("record seq {}: `time` is not an RFC 3339 time", h.seq)))?;
        let decision: DecisionRecord = serde_json::from_slice(line).map_err(problem)?;
        let prev = String::from_utf8_lossy(h.prev).into_owned();
        return Ok(Some(Record { seq: h.seq, prev, time, body: Body::Decision(decision) }));
    }
    serde_json::from_slice(line).map(Some).map_err(problem)
}

/// The `time` of a line, read at its fixed place after `seq` and `prev`.
fn record_time(line: &[u8]) -> Option<DateTime<Utc>> {
    const KEY: &[u8] = b",\"time\":\"";
    let at = memchr::memmem::find(line, KEY)?.checked_add(KEY.len())?;
    let rest = line.get(at..)?;
    let end = memchr::memchr(b'"', rest)?;
    let text = std::str::from_utf8(rest.get(..end)?).ok()?;
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The kinds of record this version reads.
const KNOWN_KINDS: &[&[u8]] = &[
    b"decision",
    b"transfer",
    b"erasure",
    b"retention_purge",
    b"policy_deployed",
    b"key_rotated",
    b"recovery",
];

impl Log {
    /// Reads the log in `dir`. A line that does not parse is an error naming the file, the line and the field
    /// (`handrail audit verify` says whether the log is sound; review needs it readable).
    pub fn read(dir: &Path, progress: Progress<'_>) -> Result<Log, ReviewError> {
        let path = dir.join(files::LOG);
        let text = std::fs::read(&path).map_err(|source| ReviewError::Io { path: path.clone(), source })?;
        let payload_path = dir.join(files::PAYLOADS);
        let payloads = match std::fs::read(&payload_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(ReviewError::Io { path: payload_path, source }),
        };
        let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        let total = lines.len() as u64;
        // Two halves on two threads: parsing JSON is the cost of reading a log, and it splits cleanly.
        let half = lines.len().div_ceil(2);
        let (first, second) = lines.split_at(half);
        let done = std::sync::atomic::AtomicU64::new(0);
        let (a, b) = std::thread::scope(|scope| {
            let worker = scope.spawn(|| parse_part(second, half, &path, &done, total, &no_progress));
            let a = parse_part(first, 0, &path, &done, total, progress);
            let b = worker.join().unwrap_or_else(|_| {
                Err(ReviewError::Policy("internal error: a reading thread panicked (a bug)".into()))
            });
            (a, b)
        });
        let (mut records, unknown_a) = a?;
        let (more, unknown_b) = b?;
        records.extend(more);
        let unknown_kinds = unknown_a.saturating_add(unknown_b);
        progress(total, total);
        Ok(Log { dir: dir.to_path_buf(), records, unknown_kinds, payloads })
    }

    /// The stored event of a decision, when its payload is there (not erased) and reads as an event.
    pub fn event(&self, record: &DecisionRecord) -> Stored {
        match record.payload.bytes(&self.payloads) {
            None => Stored::Erased,
            Some(bytes) => {
                match std::str::from_utf8(bytes).ok().and_then(|t| crate::Event::from_json(t).ok()) {
                    Some(event) => Stored::Event(Box::new(event)),
                    None => Stored::Unreadable,
                }
            }
        }
    }
}

/// A decision's stored event, as far as it can be had.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// The event, as stored (redacted per retention).
    Event(Box<crate::Event>),
    /// The payload was erased (on request or by retention), or is missing.
    Erased,
    /// The payload is there but is not an event: the line was malformed when it was decided (it was stored
    /// redacted of everything, as read).
    Unreadable,
}

/// A time window: records at or after `since` and before `until`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// The start, inclusive.
    pub since: Option<DateTime<Utc>>,
    /// The end, exclusive.
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    /// Whether `time` is inside.
    pub fn contains(&self, time: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }
}

/// A message for showing to a reviewer: redacted of every kind of personal data handrail knows (whatever the
/// retention already redacted), cut to `max` characters.
pub fn shown_text(text: &str, max: usize) -> String {
    let redacted = crate::handoff::redact(text, &crate::handoff::PiiKind::ALL).text;
    let mut out: String = redacted.chars().take(max).collect();
    if redacted.chars().count() > max {
        out.push('…');
    }
    out
}

/// Why the policy a `policy_deployed` record names cannot be compiled again ([`deployed_policy`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeployedPolicyError {
    /// The record is not a deployment.
    #[error("not a `policy_deployed` record")]
    NotADeployment,
    /// The log was written before deployments stored their sources.
    #[error(
        "the deployment of `{id}` {version} records no policy source (the log was written before sources were stored)"
    )]
    NoSources {
        /// The policy id.
        id: String,
        /// Its version.
        version: String,
    },
    /// The stored sources have errors under this handrail.
    #[error("the recorded sources of `{id}` {version} do not compile with this handrail: {first}")]
    DoesNotCompile {
        /// The policy id.
        id: String,
        /// Its version.
        version: String,
        /// The first error.
        first: String,
    },
    /// The stored sources compile to another policy than the one deployed.
    #[error("the recorded sources of `{id}` hash to {found}, not to the recorded {recorded}")]
    HashMismatch {
        /// The policy id.
        id: String,
        /// The hash they compile to.
        found: String,
        /// The hash the record names.
        recorded: String,
    },
}

/// The policy a `policy_deployed` record names, compiled again from the sources it stored. `Err` says why it
/// cannot be: the record predates stored sources, the sources do not compile, or they do not hash to the
/// recorded hash.
pub fn deployed_policy(body: &Body) -> Result<crate::Policy, DeployedPolicyError> {
    let Body::PolicyDeployed { policy, sources, .. } = body else {
        return Err(DeployedPolicyError::NotADeployment);
    };
    if sources.is_empty() {
        return Err(DeployedPolicyError::NoSources {
            id: policy.id.clone(),
            version: policy.version.clone(),
        });
    }
    let sources: Vec<crate::diagnostic::Source> = sources
        .iter()
        .map(|s| crate::diagnostic::Source { name: s.file.clone(), text: s.text.clone() })
        .collect();
    let output = crate::compile::compile_sources(&sources);
    let Some(compiled) = output.policy else {
        let first = output.diagnostics.first().map(|d| d.message.clone()).unwrap_or_default();
        return Err(DeployedPolicyError::DoesNotCompile {
            id: policy.id.clone(),
            version: policy.version.clone(),
            first,
        });
    };
    if compiled.hash != policy.hash {
        return Err(DeployedPolicyError::HashMismatch {
            id: policy.id.clone(),
            found: compiled.hash,
            recorded: policy.hash.clone(),
        });
    }
    Ok(compiled)
}
