//! `handrail audit`: keys, verification, proofs, and the operations on a log (show, erase, purge, rotate-key).

// Proofs and logs handed to these commands are hostile input, as in `handrail::audit`.
#![deny(clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Exit, Format};
use handrail::audit::{self, AuditLog, Signer, Verifier, VerifyOptions, WriterOptions, files};

/// Work with the tamper-evident audit log: create keys, verify a log, prove one record, erase and purge payloads.
///
/// A log directory holds `log.jsonl` (the hash-chained records), `payloads.bin` (salted message texts and
/// packets), `checkpoints/` (signed tree heads) and `checkpoint` (the latest). `audit/FORMAT.md` specifies it.
///
/// Exit codes: 0 success (for `verify`: no problem, and every record signed), 1 problems found, a proof does not
/// verify, or the writer refused the log, 2 usage error, 3 a file could not be read or written, 4 internal
/// error, 5 (`verify`) no problem, but more records after the last signature than `--allow-unsigned` allows.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The audit subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a signing key: writes PREFIX.key (secret, mode 0600) and PREFIX.pub (the verifier key auditors use).
    Keygen {
        /// The key's name, usually the log's origin, e.g. `clinic.example/handrail`.
        #[arg(long)]
        name: String,
        /// Where to write the two files.
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
    /// Verify a log: the chain, the Merkle tree, every checkpoint and seal signature, your trusted checkpoint,
    /// every payload commitment. Prints one line per problem and a summary.
    ///
    /// Records after the last signature (checkpoint or seal) are unsigned: nothing vouches for them. They make
    /// the outcome UNSIGNED (exit 5), not verified, unless `--allow-unsigned` allows that many; an erasure among
    /// them never counts.
    Verify {
        /// The log directory.
        dir: PathBuf,
        /// The log's public key (a `.pub` file or the key itself); may be repeated.
        #[arg(long, required = true, value_name = "PUB")]
        key: Vec<String>,
        /// A checkpoint you kept earlier: the log must still contain what it covered (truncation is caught).
        #[arg(long, value_name = "CHECKPOINT")]
        trusted: Option<PathBuf>,
        /// Accept up to N records after the last signature (default 0: any unsigned record makes the outcome
        /// UNSIGNED, exit 5).
        #[arg(long, value_name = "N", default_value_t = 0)]
        allow_unsigned: u64,
        /// `human` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print an inclusion proof of one record (against the latest checkpoint), or with `--since` a consistency
    /// proof between an older size and the latest checkpoint. The output is JSON for `check-proof`.
    Prove {
        /// The log directory.
        dir: PathBuf,
        /// The record to prove.
        #[arg(required_unless_present = "since")]
        seq: Option<u64>,
        /// Prove the latest checkpoint extends the log as it was at this size (at least 1: every log extends
        /// the empty one).
        #[arg(long, conflicts_with = "seq", value_parser = clap::value_parser!(u64).range(1..))]
        since: Option<u64>,
    },
    /// Check a proof printed by `prove`: the signature of its checkpoint, that its sizes are the checkpoint's,
    /// that an inclusion proof's record is the one proven, and the proof itself.
    CheckProof {
        /// The proof (JSON).
        proof: PathBuf,
        /// The log's public key (a `.pub` file or the key itself); may be repeated.
        #[arg(long, required = true, value_name = "PUB")]
        key: Vec<String>,
        /// A checkpoint you kept: a consistency proof must start from it (so the latest checkpoint provably
        /// extends what you saw), an inclusion proof must be against it.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// For an inclusion proof: the record's exact line, to check it is the one proven.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    /// Show records, filtered.
    Show {
        /// The log directory.
        dir: PathBuf,
        /// Only this conversation.
        #[arg(long)]
        conversation: Option<String>,
        /// Only this kind (`decision`, `transfer`, `erasure`, `retention_purge`, `policy_deployed`,
        /// `key_rotated`, `recovery`).
        #[arg(long)]
        kind: Option<String>,
        /// Only records whose determining rules include this id.
        #[arg(long)]
        rule: Option<String>,
        /// Only records at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
        /// Only records before this time (RFC 3339).
        #[arg(long)]
        until: Option<DateTime<Utc>>,
    },
    /// Erase the payloads (message texts, packets) of one conversation, with a reason. The chain keeps verifying.
    Erase {
        /// The log directory.
        dir: PathBuf,
        /// The conversation.
        #[arg(long)]
        conversation: String,
        /// Why (recorded in the log).
        #[arg(long)]
        reason: String,
        /// The signing key file.
        #[arg(long, value_name = "KEY")]
        signing_key: PathBuf,
    },
    /// Apply retention: erase every payload whose keep-until date is before `--at` (legal holds excepted).
    Purge {
        /// The log directory.
        dir: PathBuf,
        /// The time to apply retention at (RFC 3339); default now.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        /// The signing key file.
        #[arg(long, value_name = "KEY")]
        signing_key: PathBuf,
    },
    /// Deal with records past the last seal that the writer refused to open (it cannot prove it wrote them):
    /// `--cut` removes them, `--adopt N` keeps exactly N of them on your word. Either is recorded in the log in a
    /// `recovery` record. Look at them first with `verify` and `show`.
    Recover {
        /// The log directory.
        dir: PathBuf,
        /// The signing key file.
        #[arg(long, value_name = "KEY")]
        signing_key: PathBuf,
        /// Cut the records the writer cannot prove it wrote.
        #[arg(long, conflicts_with = "adopt", required_unless_present = "adopt")]
        cut: bool,
        /// Keep them: exactly N records (erasures, purges and key rotations are never adopted).
        #[arg(long, value_name = "N")]
        adopt: Option<u64>,
    },
    /// Re-evaluate every logged decision under the policy that was in force and report each one that differs:
    /// what an auditor runs to show that each decision follows from the policy and the event.
    ///
    /// Each `policy_deployed` record stores the policy's sources and the handrail version; the policy is compiled
    /// again from those sources (they must hash to the recorded hash) and each stored event is decided again from
    /// the state its conversation had (a deployment starts afresh, as each `eval --audit` run does). A decision
    /// whose payload was erased cannot be replayed: it, and the rest of its conversation, is counted as skipped.
    /// Decisions under a deployment recorded without sources (a log older than them) cannot be replayed either.
    ///
    /// Replaying with another handrail version than the one recorded is allowed, with a note: a difference may
    /// then come from the evaluator, not the policy.
    ///
    /// The summary starts with `replayed` (every decision that could be replayed is as recorded), `DIFFERS` (one
    /// is not) or `INCOMPLETE` (none differs, but some decisions had no policy with usable sources in force).
    ///
    /// Exit codes: 0 `replayed`; 1 `DIFFERS` or `INCOMPLETE`; 3 the log could not be read.
    Replay {
        /// The log directory.
        dir: PathBuf,
        /// Only decisions from this time on (RFC 3339).
        #[arg(long, value_name = "TIME")]
        since: Option<DateTime<Utc>>,
        /// Only decisions before this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        until: Option<DateTime<Utc>>,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Switch to a new signing key; the old key signs the change, and the checkpoint covering it is signed by
    /// both keys.
    RotateKey {
        /// The log directory.
        dir: PathBuf,
        /// The current signing key file.
        #[arg(long, value_name = "KEY")]
        signing_key: PathBuf,
        /// The new signing key file (from `keygen`).
        #[arg(long, value_name = "KEY")]
        new_signing_key: PathBuf,
    },
}

/// Runs `handrail audit`.
pub fn run(args: Args) -> Exit {
    match run_command(args.command) {
        Ok(exit) => exit,
        Err(Failure(exit, message)) => {
            eprintln!("error: {message}");
            exit
        }
    }
}

struct Failure(Exit, String);

impl From<audit::AuditError> for Failure {
    fn from(e: audit::AuditError) -> Self {
        let exit = match e {
            audit::AuditError::Io { .. } => Exit::Io,
            _ => Exit::Failed,
        };
        Failure(exit, e.to_string())
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure(Exit::Io, format!("cannot read `{}`: {e}", path.display())))
}

/// A verifier key given as a file or as the key itself.
fn verifier(key: &str) -> Result<Verifier, Failure> {
    let text = if Path::new(key).is_file() { read(Path::new(key))? } else { key.to_string() };
    Verifier::parse(&text).map_err(|e| Failure(Exit::Usage, format!("`{key}`: {e}")))
}

/// A signing key from its file.
pub fn signer(path: &Path) -> Result<Signer, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Signer::parse(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

fn writer(dir: &Path, key: &Path) -> Result<AuditLog, Failure> {
    let signer = signer(key).map_err(|e| Failure(Exit::Usage, e))?;
    let origin = signer.verifier().name.clone();
    Ok(AuditLog::open(dir, signer, WriterOptions { origin, ..WriterOptions::default() })?)
}

fn run_command(command: Command) -> Result<Exit, Failure> {
    match command {
        Command::Replay { dir, since, until, format } => Ok(replay(&dir, since, until, format)),
        Command::Keygen { name, out } => {
            let signer = Signer::generate(&name).map_err(|e| Failure(Exit::Usage, e.to_string()))?;
            let secret = out.with_extension("key");
            let public = out.with_extension("pub");
            write_secret(&secret, &signer.to_skey())?;
            std::fs::write(&public, signer.verifier().to_vkey() + "\n")
                .map_err(|e| Failure(Exit::Io, format!("cannot write `{}`: {e}", public.display())))?;
            out!("{}", signer.verifier().to_vkey());
            eprintln!(
                "wrote {} (keep it secret) and {} (give it to auditors)",
                secret.display(),
                public.display()
            );
            Ok(Exit::Ok)
        }
        Command::Verify { dir, key, trusted, allow_unsigned, format } => {
            let keys = key.iter().map(|k| verifier(k)).collect::<Result<Vec<_>, _>>()?;
            let trusted = match trusted {
                Some(path) => Some(
                    std::fs::read(&path)
                        .map_err(|e| Failure(Exit::Io, format!("cannot read `{}`: {e}", path.display())))?,
                ),
                None => None,
            };
            let report = audit::verify(&dir, &VerifyOptions { keys, trusted, allow_unsigned })?;
            match format {
                Format::Json => out!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
                Format::Text => print_report(&report),
            }
            Ok(match report.outcome {
                audit::Outcome::Verified => Exit::Ok,
                audit::Outcome::Unsigned => Exit::Unsigned,
                audit::Outcome::Failed => Exit::Failed,
            })
        }
        Command::Prove { dir, seq, since } => {
            let proof = match (seq, since) {
                (Some(seq), _) => audit::proof::inclusion(&dir, seq),
                (None, Some(since)) => audit::proof::consistency(&dir, since),
                (None, None) => return Err(Failure(Exit::Usage, "give a SEQ or --since".into())),
            };
            let proof = proof.map_err(|e| match e {
                audit::proof::ProveError::Io(e) => Failure::from(e),
                audit::proof::ProveError::Refused(why) => Failure(Exit::Failed, why),
            })?;
            out!("{}", serde_json::to_string_pretty(&proof).unwrap_or_default());
            Ok(Exit::Ok)
        }
        Command::CheckProof { proof, key, checkpoint, record } => {
            check_proof(&proof, &key, checkpoint.as_deref(), record.as_deref())
        }
        Command::Show { dir, conversation, kind, rule, since, until } => {
            let records = audit::read_records(&dir.join(files::LOG))?;
            for r in records {
                let value = serde_json::to_value(&r).unwrap_or_default();
                let keep = conversation.as_ref().is_none_or(|c| field(&value, "conversation") == c.as_str())
                    && kind.as_ref().is_none_or(|k| r.body.kind() == k)
                    && rule.as_ref().is_none_or(|id| {
                        field(&value, "rules").as_array().is_some_and(|a| a.iter().any(|x| x == id.as_str()))
                    })
                    && since.is_none_or(|t| r.time >= t)
                    && until.is_none_or(|t| r.time < t);
                if keep {
                    out!("{}", serde_json::to_string(&r).unwrap_or_default());
                }
            }
            Ok(Exit::Ok)
        }
        Command::Erase { dir, conversation, reason, signing_key } => {
            let mut log = writer(&dir, &signing_key)?;
            let seqs = log.erase(&conversation, &reason)?;
            log.close()?;
            out!("erased the payloads of {} records of `{conversation}`", seqs.len());
            Ok(Exit::Ok)
        }
        Command::Purge { dir, at, signing_key } => {
            let mut log = writer(&dir, &signing_key)?;
            let seqs = log.purge(at.unwrap_or_else(Utc::now))?;
            log.close()?;
            out!("purged the payloads of {} records whose retention ended", seqs.len());
            Ok(Exit::Ok)
        }
        Command::Recover { dir, signing_key, cut, adopt } => {
            let unproven = match adopt {
                Some(n) if !cut => audit::Unproven::Adopt(n),
                _ => audit::Unproven::Cut,
            };
            let signer = signer(&signing_key).map_err(|e| Failure(Exit::Usage, e))?;
            let origin = signer.verifier().name.clone();
            let log =
                AuditLog::open(&dir, signer, WriterOptions { origin, unproven, ..WriterOptions::default() })?;
            let recovered = log.recovered().map(str::to_string);
            let records = log.close()?;
            match recovered {
                Some(cause) => out!(
                    "recovered ({cause}); the log now holds {records} records, the last a `recovery` record"
                ),
                None => out!("nothing to recover: every record is sealed ({records} records)"),
            }
            Ok(Exit::Ok)
        }
        Command::RotateKey { dir, signing_key, new_signing_key } => {
            let mut log = writer(&dir, &signing_key)?;
            let new = signer(&new_signing_key).map_err(|e| Failure(Exit::Usage, e))?;
            log.rotate_key(new)?;
            log.close()?;
            out!("rotated the signing key; the checkpoint covering the change is signed by both keys");
            Ok(Exit::Ok)
        }
    }
}

fn write_secret(path: &Path, text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Failure(Exit::Io, format!("cannot create `{}`: {e}", path.display())))?;
    writeln!(f, "{text}").map_err(|e| Failure(Exit::Io, format!("cannot write `{}`: {e}", path.display())))
}

fn print_report(report: &audit::Report) {
    for p in &report.problems {
        match (p.seq, p.line) {
            (Some(seq), Some(line)) => out!("problem: seq {seq} (line {line}): {}", p.what),
            _ => out!("problem: {}", p.what),
        }
    }
    for (seq, by, why) in &report.erasures {
        out!("erased: seq {seq} by record {by}: {why}");
    }
    for (seq, what) in &report.recovered {
        out!("recovery: seq {seq}: {what}");
    }
    if report.unsigned > 0 {
        let first = report.signed_size;
        let last = report.records.saturating_sub(1);
        out!(
            "unsigned: {} records after the last signature (seq {first} to {last}): nothing vouches for them{}",
            report.unsigned,
            if report.unsigned <= report.allowed_unsigned {
                format!(" (allowed: --allow-unsigned {})", report.allowed_unsigned)
            } else {
                String::new()
            }
        );
    }
    out!(
        "{}: {} records, {} checkpoints and {} seals verified (signed up to {}), {} unsigned, {} payloads verified, {} erased, {} recoveries, keys {}; {} problems",
        match report.outcome {
            audit::Outcome::Verified => "verified",
            audit::Outcome::Unsigned => "UNSIGNED",
            audit::Outcome::Failed => "FAILED",
        },
        report.records,
        report.checkpoints_verified,
        report.seals_verified,
        report.signed_size,
        report.unsigned,
        report.payloads_verified,
        report.payloads_erased,
        report.recoveries,
        if report.keys.is_empty() { "none".to_string() } else { report.keys.join(", ") },
        report.problems.len(),
    );
}

fn check_proof(
    path: &Path,
    keys: &[String],
    kept: Option<&Path>,
    record: Option<&Path>,
) -> Result<Exit, Failure> {
    let keys = keys.iter().map(|k| verifier(k)).collect::<Result<Vec<_>, _>>()?;
    let bytes = |path: &Path| {
        std::fs::read(path).map_err(|e| Failure(Exit::Io, format!("cannot read `{}`: {e}", path.display())))
    };
    let proof = bytes(path)?;
    let kept = kept.map(bytes).transpose()?;
    let record = record.map(bytes).transpose()?;
    match audit::proof::check(&proof, &keys, kept.as_deref(), record.as_deref()) {
        Ok(checked) => {
            let since = match checked.since {
                Some((size, true)) => format!("; it extends your checkpoint of size {size}"),
                Some((size, false)) => format!(
                    "; it extends the tree of size {size} the prover describes (give --checkpoint with a checkpoint you kept to tie it to yours)"
                ),
                None => String::new(),
            };
            out!(
                "the proof verifies against checkpoint {} of size {} signed by {}{since}",
                checked.origin,
                checked.size,
                checked.signed_by.join(", ")
            );
            Ok(Exit::Ok)
        }
        Err(e) => {
            out!("the proof does not verify: {e}");
            Ok(Exit::Failed)
        }
    }
}

/// A JSON field, or `null` when absent.
fn field<'a>(value: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    value.get(name).unwrap_or(&serde_json::Value::Null)
}

/// A decision that replays differently, as `audit replay --format json` prints it.
#[derive(Debug, serde::Serialize)]
struct Differs<'a> {
    seq: u64,
    conversation: &'a str,
    differences: Vec<String>,
}

/// Runs `handrail audit replay`.
fn replay(dir: &Path, since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, format: Format) -> Exit {
    use handrail::review::replay::{Step, Under, differences, replay};
    let bar = super::ProgressBar::new("reading");
    let log = match super::read_log(dir, &bar) {
        Ok(log) => log,
        Err(exit) => return exit,
    };
    bar.stage("replaying");
    let window = handrail::review::Window { since, until };
    let mut differ = Vec::new();
    let walked = replay(&log, Under::InForce, &window, &|d, t| bar.draw(d, t), |step| {
        if let Step::Replayed { seq, record, decision, .. } = step {
            let found = differences(record, &decision, Some(&decision.policy.hash));
            if !found.is_empty() {
                differ.push(Differs { seq, conversation: &record.conversation, differences: found });
            }
        }
    });
    drop(bar);
    let unusable: Vec<&handrail::review::replay::Deployment> =
        walked.deployments.iter().filter(|d| d.problem.is_some()).collect();
    let without_policy =
        walked.skipped.iter().any(|(why, n)| *why == handrail::review::replay::Skip::NoPolicy && *n > 0);
    let version = handrail::evidence::HANDRAIL_VERSION;
    if format == Format::Json {
        let json = serde_json::json!({
            "decisions": walked.decisions,
            "replayed": walked.replayed,
            "skipped": walked.skipped.iter().map(|(why, n)| (handrail::review::whatif::skip_name(*why), n)).collect::<std::collections::BTreeMap<_, _>>(),
            "deployments": walked.deployments,
            "differ": differ,
            "handrail": version,
        });
        out!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    } else {
        for d in &walked.deployments {
            let by = d.handrail.as_deref().unwrap_or("an unrecorded version");
            out!(
                "deployment seq {}: {} {} ({}), handrail {by}",
                d.seq,
                d.id,
                d.version,
                d.hash.get(..12).unwrap_or_default()
            );
            if let Some(problem) = &d.problem {
                out!("  cannot replay: {problem}");
            } else if d.handrail.as_deref().is_some_and(|v| v != version) {
                out!(
                    "  note: recorded under handrail {by}, replayed with {version}: a difference may come from the evaluator"
                );
            }
        }
        for d in &differ {
            out!("seq {} {}: {}", d.seq, d.conversation, d.differences.join("; "));
        }
        let skipped: Vec<String> =
            walked.skipped.iter().map(|(why, n)| format!("{n} {}", why.describe())).collect();
        let verdict = if !differ.is_empty() {
            "DIFFERS"
        } else if !unusable.is_empty() || without_policy {
            "INCOMPLETE"
        } else {
            "replayed"
        };
        out!(
            "{verdict}: {} of {} decisions replayed under the policy in force, {} differ{}",
            walked.replayed,
            walked.decisions,
            differ.len(),
            if skipped.is_empty() { String::new() } else { format!("; skipped: {}", skipped.join(", ")) }
        );
    }
    if differ.is_empty() && unusable.is_empty() && !without_policy { Exit::Ok } else { Exit::Failed }
}
