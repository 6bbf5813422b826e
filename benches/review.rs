//! Benchmark the review loop on a realistic log (issue 10, point 5): `report` and `whatif` over one million
//! logged decisions, each under 10 seconds on this machine, reading the log from disk as the commands do.
//!
//! Run with `cargo bench --bench review` (`REVIEW_DECISIONS=N` for another size); it prints the machine and the
//! figures. The log is generated first by [`handrail::review::generate`] (conversations over six weeks with a
//! mix of outcomes, decided by the engine and recorded as `eval --audit` records them) into a temporary
//! directory; generation is timed too but has no budget.

// Benchmark inputs are generated here, so a failure is a bug in the benchmark itself: panicking is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Instant;

use handrail::audit::{AuditLog, Signer, WriterOptions};
use handrail::review::{self, no_progress};

fn policy(path: &str) -> handrail::Policy {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    handrail::compile_file(&path, &handrail::CompileOptions::default()).unwrap().policy.unwrap()
}

fn main() {
    let decisions: u64 =
        std::env::var("REVIEW_DECISIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    println!("review benchmark on {}", common::machine());
    let shop = policy("examples/review/shop.policy");
    let stricter = policy("examples/review/stricter.policy");
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::from_seed("bench.example/log", [9; 32]).unwrap();
    let options = WriterOptions { origin: "bench.example/log".into(), ..WriterOptions::default() };
    let mut log = AuditLog::open(dir.path(), signer, options).unwrap();
    let started = Instant::now();
    let made = review::generate::generate(
        &mut log,
        &shop,
        &review::generate::Options { decisions, ..Default::default() },
        &no_progress,
    )
    .unwrap();
    log.close().unwrap();
    let bytes = std::fs::metadata(dir.path().join("log.jsonl")).unwrap().len()
        + std::fs::metadata(dir.path().join("payloads.bin")).unwrap().len();
    println!(
        "generated {} decisions in {} conversations ({:.0} MB on disk) in {:.1} s",
        made.decisions,
        made.conversations,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let read = review::Log::read(dir.path(), &no_progress).unwrap();
    let read_s = started.elapsed().as_secs_f64();
    let report = review::report::build(&read, &review::report::Options::default(), &no_progress);
    let report_s = started.elapsed().as_secs_f64();
    drop(read);
    println!(
        "report: {report_s:.2} s for {} decisions (reading {read_s:.2} s): {} conversations, handoff rate {:.1}%, {} silent failures  [budget 10 s: {}]",
        report.decisions,
        report.conversations,
        report.handoff_rate * 100.0,
        report.silent_failures.len(),
        if report_s < 10.0 { "met" } else { "MISSED" }
    );

    let started = Instant::now();
    let read = review::Log::read(dir.path(), &no_progress).unwrap();
    let whatif = review::whatif::whatif(&read, &stricter, &review::whatif::Options::default(), &no_progress);
    let whatif_s = started.elapsed().as_secs_f64();
    println!(
        "whatif: {whatif_s:.2} s for {} decisions replayed: {} change action, handoffs {:+}  [budget 10 s: {}]",
        whatif.replayed,
        whatif.changed_action,
        whatif.handoff_delta(),
        if whatif_s < 10.0 { "met" } else { "MISSED" }
    );
}
