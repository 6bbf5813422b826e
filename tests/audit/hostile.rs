//! Total on hostile input: whatever bytes `log.jsonl`, `payloads.bin` and the checkpoint files hold, the
//! verifier, the writer's recovery on open and the prover return (a report, a proof or an error) and never panic.
//!
//! The property tests do not catch panics: proptest reports a panicking case as a failure and shrinks it, so a
//! single panic anywhere (including the verifier's worker threads, whose work is redone on the calling thread)
//! fails the test. A test that only needed "no panic" could pass while the verifier accepts garbage, so each
//! also states what must be true of the result.

use std::path::Path;

use handrail::audit::{self, AuditLog, VerifyOptions, files, note};
use proptest::prelude::*;

use crate::{options, signer, write_log};

fn verify(dir: &Path) -> Result<audit::Report, audit::AuditError> {
    audit::verify(dir, &VerifyOptions { keys: vec![signer(1).verifier()], ..VerifyOptions::default() })
}

/// Numbers that break unchecked arithmetic: the edges of u64, i64 and u32, and small ones that make lines
/// almost valid.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        Just(u64::MAX - 31),
        Just(u64::MAX - 32),
        Just(1 << 63),
        Just(i64::MAX as u64),
        Just(u32::MAX as u64),
        0u64..12,
        any::<u64>(),
    ]
}

/// A line shaped like a record (so it passes the first checks and reaches the arithmetic), with hostile numbers.
fn record_line() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![
        Just("decision"),
        Just("transfer"),
        Just("erasure"),
        Just("retention_purge"),
        Just("key_rotated"),
        Just("recovery"),
        Just("policy_deployed"),
        Just("seal"),
    ];
    let prev = prop_oneof![Just("0".repeat(64)), "[0-9a-f]{64}", "[0-9a-fA-F+]{60,66}"];
    (number(), prev, kind, number(), number(), prop::collection::vec(number(), 0..4), any::<bool>()).prop_map(
        |(seq, prev, kind, offset, length, seqs, payload)| {
            let mut line = format!(r#"{{"seq":{seq},"prev":"{prev}","time":"2026-01-01T00:00:00Z","kind":"{kind}""#);
            if payload {
                line.push_str(&format!(
                    r#","payload":{{"offset":{offset},"length":{length},"commitment":"{}"}}"#,
                    "ab".repeat(32)
                ));
            }
            let seqs: Vec<String> = seqs.iter().map(u64::to_string).collect();
            line.push_str(&format!(
                r#","conversation":"c","seqs":[{}],"reason":"r","at":"2026-01-01T00:00:00Z","old_key":"k","new_key":"x","log_bytes_cut":{offset},"payload_bytes_cut":{length},"cause":"c"}}"#,
                seqs.join(",")
            ));
            line.into_bytes()
        },
    )
}

fn log_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![record_line(), prop::collection::vec(any::<u8>(), 0..80)];
    (prop::collection::vec(line, 0..6), any::<bool>()).prop_map(|(lines, end_newline)| {
        let mut out = lines.join(&b'\n');
        if end_newline && !out.is_empty() {
            out.push(b'\n');
        }
        out
    })
}

/// A checkpoint file: garbage, or a note signed by the log's key over a hostile size and root (so the verifier
/// and the writer believe it and go on to use the size).
fn checkpoint_bytes() -> impl Strategy<Value = Vec<u8>> {
    let signed = (number(), any::<[u8; 32]>(), any::<bool>()).prop_map(|(size, root, seal)| {
        let cp = note::Checkpoint { origin: "test.example/log".into(), size, root: audit::hash::Hash(root) };
        let body = if seal { audit::seal::body(&cp) } else { cp.body() };
        note::sign(&body, &[&signer(1)]).into_bytes()
    });
    prop_oneof![signed, prop::collection::vec(any::<u8>(), 0..120)]
}

/// The seal file: garbage of any length, or two slots holding signed seals (or zeros).
fn seal_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    let slots = (checkpoint_bytes(), checkpoint_bytes(), any::<bool>()).prop_map(|(a, b, empty)| {
        let mut file = vec![0u8; 2 * audit::seal::SLOT_LEN];
        let a = if empty { Vec::new() } else { a };
        file[..a.len().min(audit::seal::SLOT_LEN)].copy_from_slice(&a[..a.len().min(audit::seal::SLOT_LEN)]);
        let b = &b[..b.len().min(audit::seal::SLOT_LEN)];
        file[audit::seal::SLOT_LEN..audit::seal::SLOT_LEN + b.len()].copy_from_slice(b);
        file
    });
    proptest::option::of(prop_oneof![slots, prop::collection::vec(any::<u8>(), 0..64)])
}

/// Everything a log directory holds, hostile.
#[derive(Debug, Clone)]
struct Files {
    log: Vec<u8>,
    payloads: Option<Vec<u8>>,
    latest: Option<Vec<u8>>,
    numbered: Vec<(u64, Vec<u8>)>,
    seal: Option<Vec<u8>>,
}

fn files() -> impl Strategy<Value = Files> {
    (
        log_bytes(),
        proptest::option::of(prop::collection::vec(any::<u8>(), 0..200)),
        proptest::option::of(checkpoint_bytes()),
        prop::collection::vec((number(), checkpoint_bytes()), 0..3),
        seal_bytes(),
    )
        .prop_map(|(log, payloads, latest, numbered, seal)| Files {
            log,
            payloads,
            latest,
            numbered,
            seal,
        })
}

fn write(dir: &Path, f: &Files) {
    std::fs::create_dir_all(dir.join(files::CHECKPOINTS)).unwrap();
    std::fs::write(dir.join(files::LOG), &f.log).unwrap();
    if let Some(p) = &f.payloads {
        std::fs::write(dir.join(files::PAYLOADS), p).unwrap();
    }
    if let Some(c) = &f.latest {
        std::fs::write(dir.join(files::CHECKPOINT), c).unwrap();
    }
    for (size, bytes) in &f.numbered {
        std::fs::write(dir.join(files::CHECKPOINTS).join(files::checkpoint_name(*size)), bytes).unwrap();
    }
    if let Some(s) = &f.seal {
        std::fs::write(dir.join(files::SEAL), s).unwrap();
    }
}

/// Everything the auditor's tools do with a log: verify it, prove some of its records and a consistency, and
/// check what was proven.
fn audit_everything(dir: &Path) -> Result<audit::Report, audit::AuditError> {
    let report = verify(dir);
    for seq in [0, 1, 5, u64::MAX] {
        if let Ok(proof) = audit::proof::inclusion(dir, seq) {
            let json = serde_json::to_vec(&proof).unwrap();
            let _ = audit::proof::check(&json, &[signer(1).verifier()], None, None);
        }
    }
    for since in [1, 2, u64::MAX] {
        if let Ok(proof) = audit::proof::consistency(dir, since) {
            let json = serde_json::to_vec(&proof).unwrap();
            let _ = audit::proof::check(&json, &[signer(1).verifier()], None, None);
        }
    }
    report
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Arbitrary files: verify, prove and the writer's open return, and a garbage log never verifies.
    #[test]
    fn arbitrary_files_never_panic_verify_prove_or_open(f in files()) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &f);
        if let Ok(report) = audit_everything(dir.path()) {
            // Only an empty log can verify: nothing here was written by the writer.
            prop_assert!(!report.ok() || report.records == 0, "{report:?}");
        }
        if let Ok(log) = AuditLog::open(dir.path(), signer(1), options()) {
            let _ = log.close();
        }
        // Whatever the writer made of it, the result is still readable without a panic.
        let _ = audit_everything(dir.path());
        // Arbitrary bytes handed to check-proof as the proof, the kept checkpoint and the record.
        let _ = audit::proof::check(&f.log, &[signer(1).verifier()], f.latest.as_deref(), Some(&f.log));
    }

    /// A real log with some bytes changed, inserted or removed in one file: never a panic, and never verified.
    #[test]
    fn mutated_logs_never_panic_and_never_verify(
        which in 0usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let dir = base_log();
        // The payload file twice: its seal header, and the payloads after it (edits spread over the whole file
        // would almost all land in the header).
        let name = [files::LOG, files::PAYLOADS, files::CHECKPOINT, files::PAYLOADS][which];
        let path = dir.path().join(name);
        let original = std::fs::read(&path).unwrap();
        let mut bytes = original.clone();
        let from = if which == 3 { audit::seal::HEADER_LEN as usize } else { 0 };
        for (at, byte, op) in &edits {
            let i = (from + at.index(bytes.len().saturating_sub(from).max(1))).min(bytes.len());
            match op {
                0 if i < bytes.len() => bytes[i] = *byte,
                1 => bytes.insert(i, *byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.push(*byte),
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let report = audit_everything(dir.path()).unwrap();
        if bytes != original {
            prop_assert!(!report.ok(), "{name} changed and still verified: {edits:?}");
        }
        if let Ok(log) = AuditLog::open(dir.path(), signer(1), options()) {
            let _ = log.close();
        }
        let _ = audit_everything(dir.path());
    }
}

/// A copy of one small closed log (erasures, checkpoints, seals), made once.
fn base_log() -> tempfile::TempDir {
    static BASE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), 9);
        let mut log = AuditLog::open(dir.path(), signer(1), options()).unwrap();
        log.erase("c1", "request").unwrap();
        log.close().unwrap();
        dir
    });
    let copy = tempfile::tempdir().unwrap();
    crate::copy_dir(base.path(), copy.path());
    copy
}

/// The issue's crash: a one-line log whose payload `length` is 2^64-1 made `audit verify` exit 101.
#[test]
fn a_payload_length_of_2_pow_64_minus_1_is_a_problem_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        r#"{{"seq":0,"prev":"{}","time":"2026-01-01T00:00:00Z","kind":"decision","payload":{{"offset":0,"length":18446744073709551615,"commitment":"{}"}},"conversation":"c","policy":{{"id":"p","version":"1","hash":"h"}},"action":"answer","reasons":[],"rules":[]}}"#,
        "0".repeat(64),
        "ab".repeat(32)
    );
    std::fs::write(dir.path().join(files::LOG), format!("{line}\n")).unwrap();
    std::fs::write(dir.path().join(files::PAYLOADS), [7u8; 40]).unwrap();
    let report = verify(dir.path()).unwrap();
    assert!(report.problems.iter().any(|p| p.seq == Some(0) && p.what.contains("payload")), "{report:?}");

    let run = std::process::Command::new(env!("CARGO_BIN_EXE_handrail"))
        .args(["audit", "verify", dir.path().to_str().unwrap(), "--key", &signer(1).verifier().to_vkey()])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));

    // The writer reads the same length without wrapping its arithmetic, and refuses the line: it is complete,
    // so no crash tore it, and nothing signed it.
    let err = AuditLog::open(dir.path(), signer(1), options()).unwrap_err().to_string();
    assert!(err.contains("payload is not in `payloads.bin`"), "{err}");
}
