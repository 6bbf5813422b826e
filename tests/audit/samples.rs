//! The sample logs under `audit/samples/`, each checked against its expected verdict with the sample key.
//! `regenerate_samples` (ignored) rebuilds them: `cargo test --test audit -- --ignored regenerate_samples`.

use std::path::PathBuf;

use handrail::audit::{self, AuditLog, Signer, Verifier, VerifyOptions, files};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("audit/samples")
}

/// The sample signing key: **for the samples only**, its seed is public (32 bytes of 0x5a).
fn sample_signer() -> Signer {
    Signer::from_seed("samples.handrail.example/log", [0x5a; 32]).unwrap()
}

fn sample_key() -> Verifier {
    Verifier::parse(&std::fs::read_to_string(samples().join("sample.pub")).unwrap()).unwrap()
}

fn verify(name: &str, trusted: Option<&str>) -> audit::Report {
    let trusted = trusted.map(|t| std::fs::read(samples().join(t)).unwrap());
    audit::verify(
        &samples().join(name),
        &VerifyOptions { keys: vec![sample_key()], trusted, ..VerifyOptions::default() },
    )
    .unwrap()
}

#[test]
fn the_sample_key_is_the_one_that_signed_the_samples() {
    assert_eq!(sample_key(), sample_signer().verifier());
}

#[test]
fn the_valid_sample_verifies() {
    let report = verify("valid", None);
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.records >= 10 && report.payloads_verified >= 8);
}

#[test]
fn the_tampered_sample_fails_at_the_changed_record() {
    let report = verify("tampered", None);
    assert!(!report.ok());
    assert!(
        report.problems.iter().any(|p| p.seq == Some(5) && p.what.contains("prev does not match")),
        "{:?}",
        report.problems
    );
}

#[test]
fn the_truncated_sample_fails_and_the_auditors_checkpoint_says_so() {
    // A careful truncation (checkpoints rolled back too) is self-consistent: only the auditor's kept checkpoint
    // can tell.
    assert!(verify("truncated", None).ok());
    let report = verify("truncated", Some("truncated-auditor-checkpoint.note"));
    assert!(!report.ok());
    assert!(report.problems.iter().any(|p| p.what.contains("truncated")), "{:?}", report.problems);
}

#[test]
fn the_erasure_sample_verifies_and_reports_what_was_erased() {
    let report = verify("erasures", None);
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.payloads_erased >= 3);
    assert!(report.erasures.iter().any(|(_, _, why)| why.contains("data subject request")));
}

#[test]
fn the_appended_sample_is_unsigned_not_verified() {
    let report = verify("appended", None);
    assert_eq!(report.outcome, audit::Outcome::Unsigned, "{:?}", report.problems);
    assert_eq!((report.unsigned, report.signed_size), (1, 12));
    let allowed = audit::verify(
        &samples().join("appended"),
        &VerifyOptions { keys: vec![sample_key()], allow_unsigned: 1, ..VerifyOptions::default() },
    )
    .unwrap();
    assert!(allowed.ok(), "--allow-unsigned 1 accepts it");
}

/// What `regenerate_samples` writes; everything else under `audit/samples/` (the README) is left alone.
const GENERATED: &[&str] = &[
    "valid",
    "tampered",
    "truncated",
    "erasures",
    "appended",
    "sample.pub",
    "truncated-auditor-checkpoint.note",
];

#[test]
#[ignore = "rebuilds audit/samples; run by hand"]
fn regenerate_samples() {
    let root = samples();
    for name in GENERATED {
        let path = root.join(name);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else if path.exists() {
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("sample.pub"), sample_signer().verifier().to_vkey() + "\n").unwrap();
    let options = audit::WriterOptions {
        origin: "samples.handrail.example/log".into(),
        checkpoint_every: 4,
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(tmp.path(), sample_signer(), options.clone()).unwrap();
    for i in 0..12 {
        log.append(crate::time(i), crate::decision(i)).unwrap();
        log.commit().unwrap();
    }
    log.close().unwrap();
    crate::copy_dir(tmp.path(), &root.join("valid"));

    // tampered: one character of record 4's text changed (its hash no longer matches record 5's prev).
    crate::copy_dir(tmp.path(), &root.join("tampered"));
    let path = root.join("tampered").join(files::LOG);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[4] = lines[4].replace("\"answer\"", "\"handoff\"");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    // truncated: the auditor kept the checkpoint of all 12; the log was cut to 8 (payloads too), its checkpoints
    // rolled back and its seal deleted.
    crate::copy_dir(tmp.path(), &root.join("truncated"));
    std::fs::copy(tmp.path().join(files::CHECKPOINT), root.join("truncated-auditor-checkpoint.note"))
        .unwrap();
    crate::forge::truncate_carefully(&root.join("truncated"), 8);

    // appended: a forged decision chained after the last sealed record; nothing signs it.
    crate::copy_dir(tmp.path(), &root.join("appended"));
    crate::forge::append_decision(&root.join("appended"), "{\"text\":\"a decision nobody made\"}");

    // erasures: conversation c1 erased on request, then retention applied.
    let mut log = AuditLog::open(tmp.path(), sample_signer(), options).unwrap();
    log.erase("c1", "data subject request #2026-114").unwrap();
    log.purge(chrono::DateTime::parse_from_rfc3339("2026-01-02T12:00:00Z").unwrap().to_utc()).unwrap();
    log.close().unwrap();
    crate::copy_dir(tmp.path(), &root.join("erasures"));
    assert!(root.join("README.md").is_file(), "the samples' README survives regeneration");
}
