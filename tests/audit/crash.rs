//! The crash suite: a writer process is killed with SIGKILL at random moments, 200 times over one log. After
//! each kill, recovery keeps every acknowledged record, and the log verifies.
//!
//! The child is this test binary itself, re-run on `crash::crash_child` with `HANDRAIL_CRASH_DIR` set: it opens
//! the log (recovering it), appends records, commits in small groups, and prints `ACK <durable count>` after each
//! commit returns, until it is killed.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use handrail::audit::{self, AuditLog, VerifyOptions};

use crate::{decision, options, signer, time};

/// Kills of the writer.
const KILLS: u32 = 200;

/// The writer process the crash test kills: not a test of its own, so it is ignored and run only by its parent
/// (with `--ignored`), never counted as a pass.
#[test]
#[ignore = "run by sigkill_at_random_moments_loses_no_acknowledged_record"]
fn crash_child() {
    let dir =
        std::env::var("HANDRAIL_CRASH_DIR").expect("HANDRAIL_CRASH_DIR names the log the parent test kills");
    let mut log = AuditLog::open(std::path::Path::new(&dir), signer(1), options()).unwrap();
    let mut n = log.durable();
    let stdout = std::io::stdout();
    loop {
        for _ in 0..1 + n % 4 {
            log.append(time(n), decision(n)).unwrap();
            n += 1;
        }
        let durable = log.commit().unwrap();
        let mut out = stdout.lock();
        writeln!(out, "ACK {durable}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed: u64 = 0x5eed;
    let mut acked_total = 0u64;
    let mut recoveries_seen = 0;
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash::crash_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env("HANDRAIL_CRASH_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_micros(1_000 + (seed >> 33) % 20_000));
        child.kill().unwrap(); // SIGKILL on Unix
        let out = child.wait_with_output().unwrap();
        let acked = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("ACK ").and_then(|n| n.trim().parse::<u64>().ok()))
            .max()
            .unwrap_or(0);
        acked_total = acked_total.max(acked);

        // Recovery: every acknowledged record is still there, byte for byte as the child wrote it.
        let log = AuditLog::open(dir.path(), signer(1), options()).unwrap();
        assert!(
            log.durable() >= acked,
            "kill {kill}: {acked} records were acknowledged but only {} survived",
            log.durable()
        );
        drop(log);
        if kill % 20 == 19 || kill == KILLS - 1 {
            let report = audit::verify(
                dir.path(),
                &VerifyOptions { keys: vec![signer(1).verifier()], ..VerifyOptions::default() },
            )
            .unwrap();
            let problems: Vec<_> =
                report.problems.iter().filter(|p| !p.what.contains("incomplete")).collect();
            assert!(problems.is_empty(), "kill {kill}: {problems:?}");
            recoveries_seen = report.recoveries;
        }
    }
    let log = AuditLog::open(dir.path(), signer(1), options()).unwrap();
    log.close().unwrap();
    let report = audit::verify(
        dir.path(),
        &VerifyOptions { keys: vec![signer(1).verifier()], ..VerifyOptions::default() },
    )
    .unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    let records = audit::read_records(&dir.path().join(audit::files::LOG)).unwrap();
    let decisions = records.iter().filter(|r| r.body.kind() == "decision").count() as u64;
    assert!(
        decisions >= acked_total.saturating_sub(recoveries_seen),
        "acknowledged decisions are all present"
    );
    println!(
        "crash suite: {KILLS} SIGKILLs, {} records in the log ({decisions} decisions, {} recovery records), every acknowledged record kept",
        report.records, report.recoveries
    );
    assert!(acked_total > 0, "the child never acknowledged anything: the suite would prove nothing");
}
