//! The audit log's tests: conformance with public vectors, the tamper suite, the crash suite, the shipped
//! sample logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod adopt;
mod conformance;
mod crash;
mod forge;
mod forgery;
mod hostile;
mod lock;
mod proofs;
mod samples;
mod tamper;

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use handrail::audit::{AuditLog, DecisionRecord, Entry, PolicyRef, Retention, Signer, WriterOptions, files};

#[path = "../support/shared.rs"]
pub mod shared;

/// A deterministic signing key for tests.
pub fn signer(byte: u8) -> Signer {
    Signer::from_seed("test.example/log", [byte; 32]).unwrap()
}

/// Writer options that sign a checkpoint every 7 records, so tests cross checkpoints.
pub fn options() -> WriterOptions {
    WriterOptions { origin: "test.example/log".into(), checkpoint_every: 7, ..WriterOptions::default() }
}

/// The time of the decision entry `n`.
pub fn time(n: u64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + n as i64, 0).unwrap()
}

/// A decision entry for conversation `c{n % 3}`, with a payload naming `n`.
pub fn decision(n: u64) -> Entry {
    Entry::Decision(DecisionRecord {
        conversation: format!("c{}", n % 3),
        policy: PolicyRef { id: "p".into(), version: "1".into(), hash: "ab".repeat(32) },
        action: "answer".into(),
        reasons: vec!["default".into()],
        rules: vec![],
        retention: Some(Retention {
            class: "standard".into(),
            keep_until: Utc.timestamp_opt(1_767_225_600 + 86_400 * (n as i64 % 5), 0).unwrap(),
            legal_hold: false,
        }),
        event: None,
        route: None,
        payload: format!("{{\"text\":\"message number {n}\"}}").into_bytes(),
    })
}

/// Copies a log directory (its files and checkpoints, not the writer's `LOCK`) from `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join(files::CHECKPOINTS)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() && entry.file_name() != files::LOCK {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    for entry in std::fs::read_dir(from.join(files::CHECKPOINTS)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(files::CHECKPOINTS).join(entry.file_name())).unwrap();
    }
}

/// Writes a closed log of `n` decisions in `dir`.
pub fn write_log(dir: &Path, n: u64) {
    let mut log = AuditLog::open(dir, signer(1), options()).unwrap();
    for i in 0..n {
        log.append(time(i), decision(i)).unwrap();
        if i % 5 == 4 {
            log.commit().unwrap();
        }
    }
    log.close().unwrap();
}
