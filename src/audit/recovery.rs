//! What the writer finds when it opens a log: how much of it is proven (covered by a seal or checkpoint signed with
//! its key, root and all), and what lies past that. A pure function of the bytes, so the decision is made before any
//! file is touched; [`super::AuditLog::open`] then carries it out.
//!
//! The rules (FORMAT.md §6), in the order they are applied:
//!
//! 1. Every complete line (one that ends in `\n`) must be a record continuing the chain, with its payload on disk.
//!    A complete broken line is never a torn write, wherever it is: the writer refuses to open rather than cut
//!    synced records.
//! 2. Every checkpoint must be covered by the log and match it. Every seal no larger than the log must match it.
//! 3. The proven size P is the largest checkpoint or seal that matches.
//! 4. A seal larger than the log ("ahead") is an interrupted commit: its seal was written, its records were not
//!    (all of them). Only one can exist, and the other slot must hold the seal of size P (the commit before).
//!    Its records past P were never acknowledged and are cut.
//! 5. Otherwise, complete records past P were not written by this writer (it seals before it writes): it refuses,
//!    unless the operator said to cut or adopt them.
//! 6. A last line without its `\n` is a torn write (or junk nobody can read as a record): it is cut.

use std::collections::HashMap;

use super::AuditError;
use super::hash::Hash;
use super::merkle::{CompactRange, leaf_hash};
use super::record;

/// A signed statement about the log that the writer checked with its key.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    /// How many records it covers.
    pub size: u64,
    /// Their Merkle root.
    pub root: Hash,
    /// Where it came from.
    pub source: Source,
}

/// Where a [`Claim`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A checkpoint file (its name): it signs records that were durable.
    Checkpoint(String),
    /// A seal slot: it signs records a commit was about to write.
    Seal(usize),
}

/// The writer's position after some records: what it needs to go on appending from there.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub range: CompactRange,
    pub prev: Hash,
    pub records: u64,
    /// Bytes of `log.jsonl` these records take.
    pub log_end: usize,
    /// The end of the last payload these records refer to.
    pub payload_end: u64,
}

/// What lies past the proven records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Nothing (perhaps a torn line).
    None,
    /// A commit whose seal was written and whose records were not all: `records` of its records are complete.
    Interrupted { sealed: u64, records: u64 },
    /// Complete records the writer cannot prove it wrote; `authority` lists the seq and kind of those whose force
    /// comes from a signature (erasures, purges, rotations), which are never adopted.
    Unproven { records: u64, authority: Vec<(u64, String)> },
}

/// The verdict on a log's bytes.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The writer's state after the proven records.
    pub proven: State,
    /// The state after every complete record (what adopting the tail would keep).
    pub all: State,
    pub tail: Tail,
    /// Bytes after the last complete line.
    pub torn: usize,
    /// The slot holding the seal of the proven state, if one does.
    pub sealed_slot: Option<usize>,
}

/// Reads `log` (the bytes of `log.jsonl`) against the checked `claims`, with `payload_len` bytes in
/// `payloads.bin`, whose payloads start at `payload_start` (after the seal header, if it has one).
pub(crate) fn analyse(
    log: &[u8],
    payload_start: u64,
    payload_len: u64,
    claims: &[Claim],
) -> Result<Plan, AuditError> {
    let wanted: Vec<u64> = claims.iter().map(|c| c.size).collect();
    let signed = claims.iter().filter(|c| matches!(c.source, Source::Checkpoint(_))).map(|c| c.size).max();
    let signed = signed.unwrap_or(0);

    // Rule 1: the walk.
    let mut state = State { payload_end: payload_start, ..State::default() };
    // The state before any record is always kept: with nothing proven, it is what the writer keeps.
    let mut snapshots: HashMap<u64, State> = HashMap::from([(0, state.clone())]);
    let mut authority: Vec<(u64, String)> = Vec::new();
    let mut rest = log;
    while let Some((line, after)) = memchr::memchr(b'\n', rest).and_then(|n| rest.split_at_checked(n)) {
        let seq = state.records;
        let head = record::head(line);
        let problem = match &head {
            None => Some("not a record".to_string()),
            Some(h) if h.seq != seq => Some(format!("seq {} where {seq} was expected", h.seq)),
            Some(h) if !state.prev.is_hex(h.prev) => Some("a record whose prev does not match".to_string()),
            Some(h) => match h.payload.map(|p| p.region().map(|r| r.end)) {
                Some(Some(end)) if end <= payload_len => {
                    state.payload_end = state.payload_end.max(end);
                    None
                }
                Some(_) => Some("a record whose payload is not in `payloads.bin`".to_string()),
                None => None,
            },
        };
        if let Some(problem) = problem {
            let line_no = seq.saturating_add(1);
            return Err(AuditError::Damaged(if seq < signed {
                format!(
                    "record {seq} (line {line_no}) is {problem}, at or before the signed checkpoint of size {signed}; the log will not be repaired"
                )
            } else {
                format!(
                    "record {seq} (line {line_no}) is {problem}, and it is a complete line (it ends in a newline), so no crash tore it: the writer will not cut synced records; run `handrail audit verify`"
                )
            }));
        }
        if let Some(kind @ (b"erasure" | b"retention_purge" | b"key_rotated")) = head.map(|h| h.kind) {
            authority.push((seq, String::from_utf8_lossy(kind).into_owned()));
        }
        let hash = leaf_hash(line);
        state.range.push(hash);
        state.prev = hash;
        // One record per line of a file held in memory: fewer than 2^64.
        state.records = state.records.saturating_add(1);
        // `after` starts with the newline.
        rest = after.get(1..).unwrap_or_default();
        state.log_end = log.len().saturating_sub(rest.len());
        if wanted.contains(&state.records) {
            snapshots.insert(state.records, state.clone());
        }
    }
    let torn = rest.len();
    let good = state.records;

    // Rules 2 and 3.
    let mut matched: Vec<(u64, Option<usize>)> = Vec::new();
    let mut ahead: Vec<&Claim> = Vec::new();
    for claim in claims {
        let root = snapshots.get(&claim.size).map(|s| s.range.root());
        match (&claim.source, root) {
            (Source::Checkpoint(name), None) => {
                return Err(AuditError::Damaged(format!(
                    "the log has {good} records but the signed checkpoint `{name}` covers {}: records were removed",
                    claim.size
                )));
            }
            (Source::Seal(_), None) => ahead.push(claim),
            (source, Some(root)) if root != claim.root => {
                let what = match source {
                    Source::Checkpoint(name) => format!("the signed checkpoint `{name}`'s root"),
                    Source::Seal(slot) => format!("the root the writer sealed (slot {slot})"),
                };
                return Err(AuditError::Damaged(format!(
                    "the first {} records do not hash to {what}: they were changed; the log will not be repaired",
                    claim.size
                )));
            }
            (Source::Checkpoint(_), Some(_)) => matched.push((claim.size, None)),
            (Source::Seal(slot), Some(_)) => matched.push((claim.size, Some(*slot))),
        }
    }
    let p = matched.iter().map(|(size, _)| *size).max().unwrap_or(0);
    let sealed_slot = matched.iter().filter(|(size, _)| *size == p).find_map(|(_, slot)| *slot);
    // INVARIANT: `p` is 0 or the size of a matched claim, and a snapshot was taken at each.
    let proven_state = snapshots.get(&p).cloned().unwrap_or_default();
    let past = good.saturating_sub(p);

    // Rules 4 and 5.
    let tail = match ahead.as_slice() {
        [] if past == 0 => Tail::None,
        [] => Tail::Unproven {
            records: past,
            authority: authority.into_iter().filter(|(s, _)| *s >= p).collect(),
        },
        [seal] if sealed_slot.is_some() => Tail::Interrupted { sealed: seal.size, records: past },
        [seal] => {
            return Err(AuditError::Damaged(format!(
                "the writer sealed {} records but the log holds {good}, and no seal of the commit before matches: records were removed",
                seal.size
            )));
        }
        _ => {
            return Err(AuditError::Damaged(format!(
                "both seals cover more records than the log's {good}: records were removed from the end"
            )));
        }
    };
    Ok(Plan { proven: proven_state, all: state, tail, torn, sealed_slot })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle;

    /// `n` chained records without payloads.
    fn log(n: u64) -> (Vec<u8>, Vec<Hash>) {
        let mut prev = Hash::default();
        let (mut bytes, mut leaves) = (Vec::new(), Vec::new());
        for seq in 0..n {
            let line = format!(
                r#"{{"seq":{seq},"prev":"{}","time":"2026-01-01T00:00:00Z","kind":"policy_deployed"}}"#,
                prev.hex()
            );
            prev = leaf_hash(line.as_bytes());
            leaves.push(prev);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        (bytes, leaves)
    }

    fn seal(slot: usize, size: u64, leaves: &[Hash]) -> Claim {
        let root = merkle::root(leaves.get(..size as usize).unwrap_or(leaves));
        Claim { size, root, source: Source::Seal(slot) }
    }

    #[test]
    fn the_shapes_a_crash_leaves_and_the_shapes_it_cannot() {
        let (bytes, leaves) = log(6);
        // Sealed to the end: nothing past it.
        let plan = analyse(&bytes, 0, 0, &[seal(0, 4, &leaves), seal(1, 6, &leaves)]).unwrap();
        assert_eq!((plan.proven.records, plan.tail.clone(), plan.sealed_slot), (6, Tail::None, Some(1)));
        // A commit of 4 more sealed, 2 of them written: interrupted.
        let ahead = Claim { size: 10, root: Hash([1; 32]), source: Source::Seal(1) };
        let plan = analyse(&bytes[..bytes.len() - 5], 0, 0, &[seal(0, 4, &leaves), ahead.clone()]).unwrap();
        assert_eq!(plan.tail, Tail::Interrupted { sealed: 10, records: 1 });
        assert!(plan.torn > 0);
        // Records past the newest seal: not the writer's.
        let plan = analyse(&bytes, 0, 0, &[seal(0, 3, &leaves), seal(1, 4, &leaves)]).unwrap();
        assert_eq!(plan.tail, Tail::Unproven { records: 2, authority: vec![] });
        // A seal ahead with no seal of the commit before: records removed.
        assert!(analyse(&bytes, 0, 0, std::slice::from_ref(&ahead)).is_err());
        // A complete line broken in the middle of the unsealed part.
        let mut broken = bytes.clone();
        // In the prev of record 4 (line 5), past the seal, with a complete record after it.
        let line_start = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(3).unwrap().0 + 1;
        broken[line_start + 20] ^= 1;
        let err = analyse(&broken, 0, 0, &[seal(0, 4, &leaves)]).unwrap_err().to_string();
        assert!(err.contains("complete line"), "{err}");
        // No claim at all, and records: a log whose seals and checkpoints were deleted.
        assert_eq!(
            analyse(&bytes, 0, 0, &[]).unwrap().tail,
            Tail::Unproven { records: 6, authority: vec![] }
        );
    }
}
