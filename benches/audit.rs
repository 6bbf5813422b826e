//! Benchmark the audit log: durable appends with group commit, and verification speed against raw SHA-256.
//!
//! Budgets (DESIGN §6): over 50,000 durable records per second with group commit; `audit verify` at least 0.7 of
//! the speed of SHA-256 itself over the same bytes, measured in the same run. Run with
//! `cargo bench --bench audit`; it prints the machine and the figures. The log is written in a temporary
//! directory under `$TMPDIR` (so on that file system's fsync).

// Benchmark inputs are generated here, so a failure is a bug in the benchmark itself: panicking is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Instant;

use chrono::Utc;
use handrail::audit::{
    self, AuditLog, DecisionRecord, Entry, PolicyRef, Retention, Signer, VerifyOptions, WriterOptions, files,
};

/// Appends `records` decisions, committing every `batch`, and closes the log: durable records per second, and the
/// log (for verification) with its key.
fn append(records: u64, batch: u64) -> (f64, tempfile::TempDir, handrail::audit::Verifier) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let signer = Signer::from_seed("bench.example/log", [3; 32]).expect("a key");
    let verifier = signer.verifier();
    let options = WriterOptions { origin: "bench.example/log".into(), ..WriterOptions::default() };
    let policy = PolicyRef { id: "healthcare".into(), version: "2026.11.1".into(), hash: "ab".repeat(32) };
    let payload = br#"{"conversation":"c-000000","text":"I was charged twice for my appointment last week and the portal shows a balance","confidence":0.62,"channel":"web"}"#;

    let mut log = AuditLog::open(dir.path(), signer, options).expect("the log opens");
    let started = Instant::now();
    for i in 0..records {
        log.append(
            Utc::now(),
            Entry::Decision(DecisionRecord {
                conversation: format!("c-{:06}", i % 5_000),
                policy: policy.clone(),
                action: "handoff".into(),
                reasons: vec!["hard_route".into()],
                rules: vec!["HR-BILLING-DISPUTE".into()],
                retention: Some(Retention { class: "phi".into(), keep_until: Utc::now(), legal_hold: false }),
                event: None,
                route: None,
                payload: payload.to_vec(),
            }),
        )
        .expect("append");
        if (i + 1) % batch == 0 {
            log.commit().expect("commit");
        }
    }
    log.close().expect("close");
    (records as f64 / started.elapsed().as_secs_f64(), dir, verifier)
}

fn main() {
    println!("machine: {}", common::machine());
    let (records, batch) = (200_000u64, 1_000u64);
    let (rate, dir, verifier) = append(records, batch);
    println!(
        "append: {records} decision records, {batch} per fsync group: {rate:.0} durable records/s (budget: > 50,000)"
    );
    // Each commit is three fdatasyncs (payloads, seal, records) and one signature: with one record per commit,
    // as `eval --audit-batch 1`, that is the whole cost of a record.
    let (single, _, _) = append(2_000, 1);
    println!("append: 2000 decision records, 1 per fsync group: {single:.0} durable records/s");

    let log_bytes = std::fs::read(dir.path().join(files::LOG)).expect("log");
    let payload_bytes = std::fs::read(dir.path().join(files::PAYLOADS)).expect("payloads");
    let total = log_bytes.len() + payload_bytes.len();
    let mut verify_best = f64::MAX;
    let mut sha_best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let report = audit::verify(
            dir.path(),
            &VerifyOptions { keys: vec![verifier.clone()], ..VerifyOptions::default() },
        )
        .expect("verify");
        verify_best = verify_best.min(t.elapsed().as_secs_f64());
        assert!(report.ok(), "{:?}", report.problems.first());

        // Raw SHA-256 over the same bytes, read the same way.
        let t = Instant::now();
        let a = std::fs::read(dir.path().join(files::LOG)).expect("log");
        let b = std::fs::read(dir.path().join(files::PAYLOADS)).expect("payloads");
        std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, &a));
        std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, &b));
        sha_best = sha_best.min(t.elapsed().as_secs_f64());
    }
    let mib = total as f64 / (1024.0 * 1024.0);
    println!(
        "verify: {records} records, {:.1} MiB (log {:.1} MiB + payloads {:.1} MiB): {:.0} MiB/s; raw SHA-256 over the same bytes {:.0} MiB/s; ratio {:.2} (budget: >= 0.7)",
        mib,
        log_bytes.len() as f64 / 1048576.0,
        payload_bytes.len() as f64 / 1048576.0,
        mib / verify_best,
        mib / sha_best,
        sha_best / verify_best
    );
}
