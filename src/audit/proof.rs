//! Inclusion and consistency proofs of a log directory (the JSON that `handrail audit prove` prints), and their
//! checking (`handrail audit check-proof`).
//!
//! A proof carries the signed checkpoint it leads to. Checking it trusts nothing else in it: the checkpoint's
//! signature is checked with the auditor's keys, every size in the proof must be the checkpoint's, an inclusion
//! proof's record must hash to its leaf and name its own seq, and a consistency proof's starting point is only the
//! prover's word unless the auditor ties it to a checkpoint they kept (FORMAT.md §9).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::hash::Hash;
use super::merkle::{self, leaf_hash};
use super::note::{self, Checkpoint, Verifier};
use super::{AuditError, files, record};

/// A proof, as printed by `prove` and read by `check-proof`. Hashes are lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Proof {
    /// Record `seq` is leaf `seq` of the tree the checkpoint signs.
    Inclusion {
        /// The record's seq (its leaf index).
        seq: u64,
        /// The size of the tree: the checkpoint's size.
        tree_size: u64,
        /// The record's leaf hash, SHA-256(0x00 || record).
        leaf_hash: String,
        /// The record's exact line, without its newline.
        record: String,
        /// The audit path, leaf to root.
        proof: Vec<String>,
        /// The signed checkpoint (a signed note).
        checkpoint: String,
    },
    /// The tree the checkpoint signs extends the tree of the first `size1` records.
    Consistency {
        /// The older size.
        size1: u64,
        /// The newer size: the checkpoint's size.
        size2: u64,
        /// The root of the first `size1` records.
        root1: String,
        /// The consistency proof.
        proof: Vec<String>,
        /// The signed checkpoint (a signed note).
        checkpoint: String,
    },
}

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// A file could not be read.
    #[error(transparent)]
    Io(#[from] AuditError),
    /// The log cannot give this proof.
    #[error("{0}")]
    Refused(String),
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The input is not a proof.
    #[error("the proof cannot be read: {0}")]
    Unreadable(String),
    /// The checkpoint it carries does not verify with the keys given.
    #[error("the proof's checkpoint: {0}")]
    Checkpoint(String),
    /// The checkpoint the auditor kept does not verify, or is not the one the proof starts from.
    #[error("your checkpoint: {0}")]
    Kept(String),
    /// A part of the proof disagrees with another.
    #[error("{0}")]
    Inconsistent(String),
    /// The hashes do not lead to the signed root.
    #[error("the proof does not verify: {0}")]
    Merkle(#[from] merkle::ProofError),
}

/// What a proof that verified showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The log's origin.
    pub origin: String,
    /// The size of the signed tree.
    pub size: u64,
    /// Labels of the keys that signed the checkpoint.
    pub signed_by: Vec<String>,
    /// For a consistency proof: the size it starts from, and whether that start is a checkpoint the auditor
    /// kept (otherwise only the prover's word).
    pub since: Option<(u64, bool)>,
}

/// The inclusion proof of record `seq` against the log's latest checkpoint.
pub fn inclusion(dir: &Path, seq: u64) -> Result<Proof, ProveError> {
    let log = Latest::read(dir)?;
    let index = usize::try_from(seq).ok().filter(|i| *i < log.covered.len()).ok_or_else(|| {
        ProveError::Refused(format!(
            "record {seq} is not covered by the latest checkpoint (size {})",
            log.checkpoint.size
        ))
    })?;
    let (leaf, line) = log.covered.get(index).zip(log.lines.get(index)).ok_or_else(|| {
        ProveError::Refused(format!("record {seq} is not covered by the latest checkpoint"))
    })?;
    let record = std::str::from_utf8(line)
        .map_err(|_| ProveError::Refused(format!("record {seq} is not UTF-8: it cannot be a record")))?;
    Ok(Proof::Inclusion {
        seq,
        tree_size: log.checkpoint.size,
        leaf_hash: leaf.hex(),
        record: record.to_string(),
        proof: hexes(&merkle::inclusion_proof(index, &log.covered)),
        checkpoint: log.note,
    })
}

/// The consistency proof between the log at `since` records and its latest checkpoint. `since` must be at least
/// 1: every tree extends the empty one, so a proof from 0 proves nothing and verifiers refuse it (RFC 9162
/// §2.1.4.2).
pub fn consistency(dir: &Path, since: u64) -> Result<Proof, ProveError> {
    if since == 0 {
        return Err(ProveError::Refused(
            "a consistency proof starts from a size of at least 1: every log extends the empty one".into(),
        ));
    }
    let log = Latest::read(dir)?;
    let m = usize::try_from(since).ok().filter(|m| *m <= log.covered.len()).ok_or_else(|| {
        ProveError::Refused(format!(
            "size {since} is larger than the latest checkpoint's {}",
            log.checkpoint.size
        ))
    })?;
    let old = log.covered.get(..m).unwrap_or_default();
    Ok(Proof::Consistency {
        size1: since,
        size2: log.checkpoint.size,
        root1: merkle::root(old).hex(),
        proof: hexes(&merkle::consistency_proof(m, &log.covered)),
        checkpoint: log.note,
    })
}

/// Checks a proof (JSON bytes) with the log's keys. `kept` is a checkpoint the auditor kept (note bytes): a
/// consistency proof must start from it, an inclusion proof must be against it. `record` is a line the auditor
/// holds: it must be the one proven.
pub fn check(
    proof: &[u8],
    keys: &[Verifier],
    kept: Option<&[u8]>,
    record: Option<&[u8]>,
) -> Result<Checked, CheckError> {
    let proof: Proof = serde_json::from_slice(proof).map_err(|e| CheckError::Unreadable(e.to_string()))?;
    let note_text = match &proof {
        Proof::Inclusion { checkpoint, .. } | Proof::Consistency { checkpoint, .. } => checkpoint,
    };
    let opened = note::open(note_text.as_bytes(), keys).map_err(|e| CheckError::Checkpoint(e.to_string()))?;
    let cp = Checkpoint::parse(&opened.text).map_err(|e| CheckError::Checkpoint(e.to_string()))?;
    let kept = kept
        .map(|bytes| {
            let opened = note::open(bytes, keys).map_err(|e| CheckError::Kept(e.to_string()))?;
            let kept = Checkpoint::parse(&opened.text).map_err(|e| CheckError::Kept(e.to_string()))?;
            if kept.origin != cp.origin {
                return Err(CheckError::Kept(format!(
                    "it is of another log (`{}`, the proof's is `{}`)",
                    kept.origin, cp.origin
                )));
            }
            Ok(kept)
        })
        .transpose()?;
    let inconsistent = |what: String| Err(CheckError::Inconsistent(what));
    let since = match &proof {
        Proof::Inclusion { seq, tree_size, leaf_hash: leaf, record: line, proof, .. } => {
            if *tree_size != cp.size {
                return inconsistent(format!(
                    "the proof says tree size {tree_size} but its checkpoint is of size {}",
                    cp.size
                ));
            }
            let leaf = hash(leaf, "leaf_hash")?;
            if merkle::leaf_hash(line.as_bytes()) != leaf {
                return inconsistent(
                    "the record in the proof does not hash to its `leaf_hash`: it was changed".into(),
                );
            }
            match record::head(line.as_bytes()) {
                Some(head) if head.seq == *seq => {}
                Some(head) => {
                    return inconsistent(format!("the record in the proof is seq {}, not {seq}", head.seq));
                }
                None => return inconsistent("the record in the proof is not a record".into()),
            }
            if let Some(given) = record {
                let given = given.strip_suffix(b"\n").unwrap_or(given);
                if leaf_hash(given) != leaf {
                    return inconsistent("the record given is not the one proven".into());
                }
            }
            if let Some(kept) = &kept
                && (kept.size != cp.size || kept.root != cp.root)
            {
                return Err(CheckError::Kept(format!(
                    "an inclusion proof is checked against the checkpoint it carries (size {}), and yours is of size {}: check a consistency proof from yours (`prove --since {}`)",
                    cp.size, kept.size, kept.size
                )));
            }
            merkle::verify_inclusion(*seq, cp.size, &leaf, &hashes(proof)?, &cp.root)?;
            None
        }
        Proof::Consistency { size1, size2, root1, proof, .. } => {
            if *size2 != cp.size {
                return inconsistent(format!(
                    "the proof says size2 {size2} but its checkpoint is of size {}",
                    cp.size
                ));
            }
            let root1 = hash(root1, "root1")?;
            if let Some(kept) = &kept
                && (kept.size != *size1 || kept.root != root1)
            {
                return Err(CheckError::Kept(format!(
                    "the proof starts from size {size1}, and your checkpoint (size {}) is not that tree",
                    kept.size
                )));
            }
            merkle::verify_consistency(*size1, cp.size, &root1, &cp.root, &hashes(proof)?)?;
            Some((*size1, kept.is_some()))
        }
    };
    Ok(Checked { origin: cp.origin, size: cp.size, signed_by: opened.verified, since })
}

fn hash(hex: &str, what: &str) -> Result<Hash, CheckError> {
    Hash::from_hex(hex)
        .ok_or_else(|| CheckError::Unreadable(format!("`{what}` is not a SHA-256 in lowercase hex")))
}

fn hashes(hexes: &[String]) -> Result<Vec<Hash>, CheckError> {
    hexes.iter().map(|h| hash(h, "proof")).collect()
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::hex).collect()
}

/// The log's lines and the leaves its latest checkpoint covers, checked against that checkpoint's root.
struct Latest {
    lines: Vec<Vec<u8>>,
    covered: Vec<Hash>,
    checkpoint: Checkpoint,
    note: String,
}

impl Latest {
    fn read(dir: &Path) -> Result<Latest, ProveError> {
        let log_path = dir.join(files::LOG);
        let log = std::fs::read(&log_path).map_err(|e| AuditError::io(&log_path, e))?;
        let note = std::fs::read(dir.join(files::CHECKPOINT))
            .map_err(|e| ProveError::Refused(format!("the log has no checkpoint to prove against: {e}")))?;
        let note = String::from_utf8(note)
            .map_err(|_| ProveError::Refused("`checkpoint` is not a signed note (not UTF-8)".into()))?;
        // The prover needs no key: the checker checks the signature. It needs the checkpoint's body only.
        let body = note.split_once("\n\n").map(|(body, _)| format!("{body}\n")).unwrap_or_default();
        let checkpoint =
            Checkpoint::parse(&body).map_err(|e| ProveError::Refused(format!("`checkpoint`: {e}")))?;
        // Complete lines only: a last line without its newline is not (yet) a record.
        let mut lines: Vec<Vec<u8>> = log.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        if lines.last().is_some_and(|l| !l.ends_with(b"\n")) {
            lines.pop();
        }
        for line in &mut lines {
            line.pop();
        }
        let size = usize::try_from(checkpoint.size).ok().filter(|s| *s <= lines.len()).ok_or_else(|| {
            ProveError::Refused(format!(
                "the checkpoint covers {} records but the log has only {}: run `handrail audit verify`",
                checkpoint.size,
                lines.len()
            ))
        })?;
        let covered: Vec<Hash> = lines.iter().take(size).map(|l| leaf_hash(l)).collect();
        if merkle::root(&covered) != checkpoint.root {
            return Err(ProveError::Refused(format!(
                "the first {size} records do not hash to the latest checkpoint's root: run `handrail audit verify`"
            )));
        }
        Ok(Latest { lines, covered, checkpoint, note })
    }
}
