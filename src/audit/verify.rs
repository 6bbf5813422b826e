//! The verifier: checks a log directory without trusting the machine that wrote it, and reports every problem.
//!
//! The algorithm, step by step, is in `audit/FORMAT.md` ("Verifying a log"): walk the chain, rebuild the Merkle
//! tree, check every checkpoint's signature and root, check the auditor's own checkpoint, check every payload
//! against its commitment and every erasure against its record. One line is hashed once: its leaf hash is both
//! the next record's `prev` and the tree's leaf.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::hash::{Hash, SALT_LEN, commitment};
use super::merkle::{CompactRange, leaf_hash};
use super::note::{self, Checkpoint, Verifier};
use super::record::{self, Body, PayloadHead, Record};
use super::{AuditError, files};

/// What the auditor trusts.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The log's public key(s); keys introduced by `key_rotated` records are learnt from the log itself.
    pub keys: Vec<Verifier>,
    /// A checkpoint the auditor kept earlier (note bytes): the log must still contain what it covered.
    pub trusted: Option<Vec<u8>>,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The record concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Its line in `log.jsonl` (from 1), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// What is wrong, in words.
    pub what: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Records in the log.
    pub records: u64,
    /// Checkpoints whose signature and root verified.
    pub checkpoints_verified: u64,
    /// The largest size covered by a verified checkpoint.
    pub signed_size: u64,
    /// Payloads that match their commitment.
    pub payloads_verified: u64,
    /// Payloads erased under an erasure or retention record.
    pub payloads_erased: u64,
    /// Erasures: (record seq erased, the erasure record's seq, reason).
    pub erasures: Vec<(u64, u64, String)>,
    /// Crash recoveries recorded in the log.
    pub recoveries: u64,
    /// Keys that signed verified checkpoints.
    pub keys: Vec<String>,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the log verified with no problem.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, seq: Option<u64>, what: impl Into<String>) {
        self.problems.push(Problem { seq, line: seq.map(|s| s.saturating_add(1)), what: what.into() });
    }
}

/// Verifies the log in `dir`. `Err` only when the log cannot be read at all; everything wrong inside it is a
/// [`Problem`] in the report.
pub fn verify(dir: &Path, options: &VerifyOptions) -> Result<Report, AuditError> {
    let log_path = dir.join(files::LOG);
    let log = std::fs::read(&log_path).map_err(|e| AuditError::io(&log_path, e))?;
    let payloads = std::fs::read(dir.join(files::PAYLOADS)).unwrap_or_default();
    let mut report = Report::default();

    // The sizes at which a root is needed: every checkpoint's, and the auditor's.
    let checkpoints = list_checkpoints(dir, &mut report);
    let trusted = options.trusted.as_ref().and_then(|bytes| match note::open(bytes, &options.keys) {
        Ok(opened) => match Checkpoint::parse(&opened.text) {
            Ok(cp) => Some(cp),
            Err(e) => {
                report.problem(None, format!("your trusted checkpoint is not a checkpoint: {e}"));
                None
            }
        },
        Err(e) => {
            report.problem(None, format!("your trusted checkpoint does not verify with the given key: {e}"));
            None
        }
    });
    let latest = std::fs::read(dir.join(files::CHECKPOINT)).ok();
    let mut wanted: Vec<u64> = checkpoints.keys().copied().collect();
    wanted.extend(trusted.as_ref().map(|c| c.size));
    // The latest checkpoint's size, read before its signature is checked, only to know which root to keep.
    if let Some(text) = latest.as_deref().and_then(|b| std::str::from_utf8(b).ok()) {
        wanted.extend(
            text.split("\n\n")
                .next()
                .and_then(|body| Checkpoint::parse(&format!("{body}\n")).ok())
                .map(|c| c.size),
        );
    }
    let wanted: std::collections::HashSet<u64> = wanted.into_iter().collect();

    // 1. The chain, the tree, and what the records say.
    let mut with_payload: Vec<(u64, PayloadHead)> = Vec::new();
    let mut erased: BTreeMap<u64, (u64, String)> = BTreeMap::new();
    let mut rotations: Vec<Rotation> = Vec::new();
    let mut rest = log.as_slice();
    // Split into lines, then hash every line on all cores: the leaf hashes are independent; only the walk
    // below (chain, tree, records) is sequential.
    let mut lines: Vec<&[u8]> = Vec::new();
    while !rest.is_empty() {
        let Some(end) = memchr::memchr(b'\n', rest) else {
            report.problem(Some(lines.len() as u64), "the last line is incomplete (a crash or a cut); the writer cuts it when it next opens the log");
            break;
        };
        let (line, tail) = rest.split_at(end);
        lines.push(line);
        rest = tail.get(1..).unwrap_or_default();
    }
    let hashes = parallel_map(&lines, |line| leaf_hash(line));
    // The tree is built on its own thread while this one walks the chain: the two need only the leaf hashes.
    let tree = |hashes: &[Hash]| {
        let mut range = CompactRange::new();
        let mut roots: HashMap<u64, Hash> = HashMap::new();
        if wanted.contains(&0) {
            roots.insert(0, range.root());
        }
        for hash in hashes {
            range.push(*hash);
            if wanted.contains(&range.size()) {
                roots.insert(range.size(), range.root());
            }
        }
        roots
    };
    let roots = std::thread::scope(|scope| {
        let builder = scope.spawn(|| tree(&hashes));
        walk(&lines, &hashes, &mut report, &mut with_payload, &mut erased, &mut rotations);
        // INVARIANT: the builder does not panic; if it ever failed, the roots are computed here instead.
        builder.join().unwrap_or_else(|_| tree(&hashes))
    });
    report.records = lines.len() as u64;
    let keys = Keys::authorise(&options.keys, &rotations, &mut report);

    // 2. Every checkpoint: signed by a key in force at its size, and the root of that many records.
    let mut origin: Option<String> = None;
    for (&size, bytes) in &checkpoints {
        let name = files::checkpoint_name(size);
        let opened = match note::open(bytes, &keys.at(size)) {
            Ok(opened) => opened,
            Err(e) => {
                report.problem(None, format!("checkpoint `{name}`: {e}"));
                continue;
            }
        };
        let cp = match Checkpoint::parse(&opened.text) {
            Ok(cp) => cp,
            Err(e) => {
                report.problem(None, format!("checkpoint `{name}`: {e}"));
                continue;
            }
        };
        if cp.size != size {
            report.problem(None, format!("checkpoint `{name}` says size {}: the file was replaced", cp.size));
            continue;
        }
        if origin.get_or_insert_with(|| cp.origin.clone()) != &cp.origin {
            report.problem(None, format!("checkpoint `{name}` is for another log (`{}`)", cp.origin));
            continue;
        }
        match roots.get(&size) {
            None => {
                report.problem(None, format!("checkpoint `{name}` covers {size} records but the log has only {}: records were removed from the end", report.records));
                continue;
            }
            Some(root) if *root != cp.root => {
                report.problem(
                    None,
                    format!("the first {size} records do not hash to the root signed in checkpoint `{name}`"),
                );
                continue;
            }
            Some(_) => {}
        }
        report.checkpoints_verified = report.checkpoints_verified.saturating_add(1);
        report.signed_size = report.signed_size.max(size);
        for label in opened.verified {
            if !report.keys.contains(&label) {
                report.keys.push(label);
            }
        }
    }
    // `checkpoint` is the latest: a copy of the newest file in `checkpoints/`, written just after it.
    match &latest {
        Some(bytes) => match keys.open_checkpoint(bytes) {
            Err(e) => report.problem(None, format!("`checkpoint`: {e}")),
            Ok(cp) => {
                let newest = checkpoints.keys().next_back().copied().unwrap_or(0);
                if cp.size < newest {
                    report.problem(None, format!(
                        "`checkpoint` covers {} records but `checkpoints/` has one of {newest}: it was rolled back (or the writer stopped between the two writes; opening the log completes them)",
                        cp.size
                    ));
                } else if roots.get(&cp.size) != Some(&cp.root) {
                    report.problem(None, format!("`checkpoint` (size {}) does not match the log: it was replaced, or records were removed", cp.size));
                }
            }
        },
        None if report.records > 0 => {
            report.problem(None, "there is no `checkpoint`: nothing vouches for these records")
        }
        None => {}
    }

    // 3. The auditor's own checkpoint: the log must still hold exactly what it covered.
    if let Some(cp) = &trusted {
        match roots.get(&cp.size) {
            None => report.problem(None, format!("your trusted checkpoint covers {} records but the log has only {}: the log was truncated", cp.size, report.records)),
            Some(root) if *root != cp.root => report.problem(None, format!("the log's first {} records are not those of your trusted checkpoint: history was rewritten", cp.size)),
            Some(_) => {}
        }
    }

    // 4. Payloads against their commitments (hashed on all cores); erasures against their records.
    let matches = parallel_map(&with_payload, |(_, p)| {
        p.slice(&payloads)
            .and_then(|r| r.split_first_chunk::<SALT_LEN>())
            .is_some_and(|(salt, payload)| commitment(salt, payload) == p.commitment)
    });
    for ((s, p), matched) in with_payload.iter().zip(matches) {
        let region = p.slice(&payloads);
        let zeroed = region.is_none_or(|r| r.iter().all(|b| *b == 0));
        match (erased.remove(s), region) {
            (Some((by, why)), _) if zeroed => {
                report.payloads_erased = report.payloads_erased.saturating_add(1);
                report.erasures.push((*s, by, why));
            }
            (Some((by, _)), _) => report.problem(
                Some(*s),
                format!("record {by} says this payload was erased, but it is still there"),
            ),
            (None, _) if zeroed => {
                report.problem(Some(*s), "the payload is missing, and no erasure record explains it")
            }
            (None, Some(_)) if matched => {
                report.payloads_verified = report.payloads_verified.saturating_add(1)
            }
            (None, Some(_)) => {
                report.problem(Some(*s), "the payload does not match its commitment: it was changed")
            }
            (None, None) => report.problem(Some(*s), "the payload is missing"),
        }
    }
    for (s, (by, _)) in erased {
        report.problem(Some(by), format!("this record erases record {s}, which has no payload"));
    }
    Ok(report)
}

/// Step 1 of verification, record by record: `seq` and `prev`, the payload references, and what erasure, key
/// rotation and recovery records say.
fn walk(
    lines: &[&[u8]],
    hashes: &[Hash],
    report: &mut Report,
    with_payload: &mut Vec<(u64, PayloadHead)>,
    erased: &mut BTreeMap<u64, (u64, String)>,
    rotations: &mut Vec<Rotation>,
) {
    let mut prev = Hash::default();
    for (seq, (line, hash)) in lines.iter().zip(hashes).enumerate() {
        let (line, seq) = (*line, seq as u64);
        let head = record::head(line);
        match &head {
            None => report.problem(
                Some(seq),
                "the line is not a record (it does not start with seq, prev, time and kind)",
            ),
            Some(h) => {
                if h.seq != seq {
                    report.problem(
                        Some(seq),
                        format!(
                            "seq is {} where {seq} was expected: a record was inserted, removed or reordered",
                            h.seq
                        ),
                    );
                }
                if !prev.is_hex(h.prev) {
                    report.problem(Some(seq), "prev does not match the previous line: that line was changed, or records were removed or reordered");
                }
            }
        }
        prev = *hash;
        match head.map(|h| (h.kind, h.payload)) {
            Some((b"decision" | b"transfer", Some(p))) => with_payload.push((seq, p)),
            Some((b"decision" | b"transfer", None)) => {
                report.problem(Some(seq), "the record's payload reference cannot be read")
            }
            _ => match serde_json::from_slice::<Record>(line) {
                Ok(r) => match r.body {
                    Body::Erasure { seqs, reason, .. } => {
                        for s in seqs {
                            erased.insert(s, (r.seq, reason.clone()));
                        }
                    }
                    Body::RetentionPurge { seqs, at } => {
                        for s in seqs {
                            erased.insert(s, (r.seq, format!("retention ended (purged at {at})")));
                        }
                    }
                    Body::KeyRotated { old_key, new_key, signature } => match Verifier::parse(&new_key) {
                        Ok(new) => rotations.push(Rotation {
                            seq: r.seq,
                            message: record::rotation_message(r.seq, &r.prev, &new_key),
                            old_key,
                            new,
                            signature,
                        }),
                        Err(e) => report.problem(Some(r.seq), format!("the rotated key cannot be read: {e}")),
                    },
                    Body::Recovery { .. } => report.recoveries = report.recoveries.saturating_add(1),
                    _ => {}
                },
                Err(e) => report.problem(Some(seq), format!("the record cannot be read: {e}")),
            },
        }
    }
}

/// A `key_rotated` record, as the verifier needs it.
#[derive(Debug)]
struct Rotation {
    seq: u64,
    /// What the old key must have signed (FORMAT.md §5).
    message: Vec<u8>,
    old_key: String,
    new: Verifier,
    signature: String,
}

/// The keys a verifier trusts, and from which size on: the auditor's keys from the start, and each key a rotation
/// introduces once the key it replaces, trusted at that point, has signed the rotation.
#[derive(Debug)]
struct Keys {
    initial: Vec<Verifier>,
    /// (seq of the rotation record, the key it introduced): in force for checkpoints of a larger size.
    rotated: Vec<(u64, Verifier)>,
}

impl Keys {
    fn authorise(initial: &[Verifier], rotations: &[Rotation], report: &mut Report) -> Keys {
        let mut keys = Keys { initial: initial.to_vec(), rotated: Vec::new() };
        // In seq order (the walk's), so each rotation is judged by the keys in force where it stands.
        for r in rotations {
            let in_force = keys.at(r.seq);
            match in_force.iter().find(|k| k.label() == r.old_key) {
                Some(old) if old.verify_detached(&r.message, &r.signature) => {
                    keys.rotated.push((r.seq, r.new.clone()));
                }
                Some(_) => report.problem(
                    Some(r.seq),
                    format!(
                        "this key rotation is not signed by the old key `{}`: its new key `{}` is not trusted",
                        r.old_key,
                        r.new.label()
                    ),
                ),
                None => report.problem(
                    Some(r.seq),
                    format!(
                        "this key rotation names an old key `{}` that is not trusted here: its new key `{}` is not trusted",
                        r.old_key,
                        r.new.label()
                    ),
                ),
            }
        }
        keys
    }

    /// The keys in force for a note of `size` records: a rotation at seq s is covered from size s + 1.
    fn at(&self, size: u64) -> Vec<Verifier> {
        let rotated = self.rotated.iter().filter(|(seq, _)| *seq < size).map(|(_, k)| k.clone());
        self.initial.iter().cloned().chain(rotated).collect()
    }

    /// Opens a checkpoint whose size is known only from its body: with every key, then requiring a signature by
    /// a key in force at that size.
    fn open_checkpoint(&self, bytes: &[u8]) -> Result<Checkpoint, String> {
        let opened = note::open(bytes, &self.at(u64::MAX)).map_err(|e| e.to_string())?;
        let cp = Checkpoint::parse(&opened.text).map_err(|e| e.to_string())?;
        let in_force: Vec<String> = self.at(cp.size).iter().map(Verifier::label).collect();
        if opened.verified.iter().any(|label| in_force.contains(label)) {
            Ok(cp)
        } else {
            Err(format!("signed only by a key not yet in force at size {}", cp.size))
        }
    }
}

/// `f` over `items` on every available core, results in order.
/// Falls back to one thread if a worker fails, so the result always has one entry per item.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if threads < 2 || items.len() < 1024 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let parallel: Option<Vec<R>> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        let mut all = Vec::with_capacity(items.len());
        for h in handles {
            all.extend(h.join().ok()?);
        }
        Some(all)
    });
    // INVARIANT: one result per item, in order; a worker that failed (a bug) is redone here rather than skipped.
    match parallel {
        Some(all) if all.len() == items.len() => all,
        _ => items.iter().map(&f).collect(),
    }
}

/// Every `checkpoints/<size>.note`, by size.
fn list_checkpoints(dir: &Path, report: &mut Report) -> BTreeMap<u64, Vec<u8>> {
    let mut found = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join(files::CHECKPOINTS)) else { return found };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(size) = name.strip_suffix(".note").and_then(|n| n.parse::<u64>().ok()) else {
            if !name.ends_with(".tmp") {
                report.problem(None, format!("`checkpoints/{name}` is not a checkpoint file"));
            }
            continue;
        };
        match std::fs::read(entry.path()) {
            Ok(bytes) => {
                found.insert(size, bytes);
            }
            Err(e) => report.problem(None, format!("`checkpoints/{name}` cannot be read: {e}")),
        }
    }
    found
}
