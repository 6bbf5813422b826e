//! Beside the pipeline, `audit`: the tamper-evident log of every decision and transcript transfer.
//!
//! It depends on nothing else in the crate (callers give it plain strings), so an auditor's verifier shares no
//! code with the engine whose output it checks. The format is specified in `audit/FORMAT.md`; in short:
//!
//! - `log.jsonl`: one JSON record per line. Each carries `seq` and `prev`, the leaf hash of the previous line, so
//!   the lines form a hash chain; hashes are over the exact bytes written, so no JSON canonicalisation is needed.
//! - The records are the leaves of an RFC 9162 Merkle tree ([`merkle`]); `checkpoints/` holds C2SP signed notes
//!   of (origin, size, root), signed with Ed25519 ([`note`]); `checkpoint` is the latest. The header of
//!   `payloads.bin` holds the writer's signature over every group commit ([`seal`]), made durable before the
//!   commit's records are written, so a record past the last seal is not the writer's.
//! - `payloads.bin`: the seal header, then message texts and handoff packets, each behind a 32-byte random salt. The chain holds only
//!   the commitment SHA-256(tag || salt || payload). Erasure zeroes the salt and the payload and appends a record
//!   saying so: the chain still verifies, and the erased text is gone.
//!
//! [`AuditLog`] writes (group commit, one writer, crash recovery that adopts nothing it cannot prove);
//! [`verify()`] checks a log directory and reports every problem and every record nothing signed; [`proof`] makes
//! and checks inclusion and consistency proofs.

// STYLE rule 15: every length, offset and count in a log comes from a file an attacker may have written.
#![deny(clippy::arithmetic_side_effects)]

pub mod hash;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod record;
mod recovery;
pub mod seal;
pub mod verify;
mod writer;

use std::path::{Path, PathBuf};

pub use note::{Checkpoint, Signer, Verifier};
pub use record::{
    DecisionRecord, EventFacts, PolicyRef, PolicySource, Retention, RouteFacts, TransferRecord,
};
pub use verify::{Outcome, Problem, Report, VerifyOptions, verify};
pub use writer::{AuditLog, Entry, Unproven, WriterOptions, read_records, write_atomically};

/// The files of a log directory.
pub mod files {
    /// The records.
    pub const LOG: &str = "log.jsonl";
    /// The salted payloads.
    pub const PAYLOADS: &str = "payloads.bin";
    /// Every signed checkpoint, one file per size.
    pub const CHECKPOINTS: &str = "checkpoints";
    /// The latest signed checkpoint.
    pub const CHECKPOINT: &str = "checkpoint";
    /// The writer's seals in a log begun before seals (others keep them in the header of `payloads.bin`).
    pub const SEAL: &str = "seal";
    /// The writer's lock.
    pub const LOCK: &str = "LOCK";

    /// The file name of the checkpoint of a given size (zero-padded, so names sort by size).
    pub fn checkpoint_name(size: u64) -> String {
        format!("{size:020}.note")
    }
}

/// An error that stops the writer or the verifier from working at all (problems found in a log are reported
/// by [`verify()`], not returned as errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing a file failed.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Another writer holds the log.
    #[error(
        "another writer holds the log in `{0}` (its LOCK file is locked); only one writer may append at a time"
    )]
    Locked(PathBuf),
    /// The log is damaged where it is signed: the writer refuses to touch it.
    #[error("the log is damaged: {0}")]
    Damaged(String),
    /// Complete records past the last seal: the writer cannot prove it wrote them and will not adopt them.
    #[error(
        "the log in `{dir}` has {records} complete records past its last seal (seq {first} on, {bytes} bytes) that this writer cannot prove it wrote{detail}: someone appended them, a writer older than seals wrote them, or the seal file was deleted. Look at them with `handrail audit verify`, then `handrail audit recover` with `--cut` removes them or `--adopt {records}` vouches for them; either is recorded in the log"
    )]
    Unproven {
        /// The log directory.
        dir: PathBuf,
        /// The seq of the first of them.
        first: u64,
        /// How many there are.
        records: u64,
        /// How many bytes of `log.jsonl` they take.
        bytes: u64,
        /// More about why they were not adopted.
        detail: String,
    },
    /// A key could not be used.
    #[error("{0}")]
    Key(#[from] note::NoteError),
}

impl AuditError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        AuditError::Io { path: path.to_path_buf(), source }
    }
}
