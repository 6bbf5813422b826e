//! The tamper suite: every kind of change to a log is detected, every time.

use std::path::Path;

use handrail::audit::{self, Signer, VerifyOptions, files, note};

use crate::{signer, write_log};

fn verify(dir: &Path, trusted: Option<Vec<u8>>) -> audit::Report {
    audit::verify(
        dir,
        &VerifyOptions { keys: vec![signer(1).verifier()], trusted, ..VerifyOptions::default() },
    )
    .unwrap()
}

/// A fresh closed log of `n` records, in a temporary directory.
fn fresh(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), n);
    assert!(verify(dir.path(), None).ok(), "{:?}", verify(dir.path(), None).problems);
    dir
}

fn lines(dir: &Path) -> Vec<Vec<u8>> {
    let log = std::fs::read(dir.join(files::LOG)).unwrap();
    log.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

fn write_lines(dir: &Path, lines: &[Vec<u8>]) {
    std::fs::write(dir.join(files::LOG), lines.concat()).unwrap();
}

#[test]
fn every_flipped_byte_is_detected() {
    let dir = fresh(8);
    let original = std::fs::read(dir.path().join(files::LOG)).unwrap();
    for at in 0..original.len() {
        let mut tampered = original.clone();
        tampered[at] ^= 0x01;
        std::fs::write(dir.path().join(files::LOG), &tampered).unwrap();
        assert!(!verify(dir.path(), None).ok(), "a flipped byte at {at} went unnoticed");
    }
    std::fs::write(dir.path().join(files::LOG), &original).unwrap();
    assert!(verify(dir.path(), None).ok());
}

#[test]
fn deleted_inserted_and_reordered_records_are_detected() {
    let dir = fresh(12);
    let original = lines(dir.path());
    for i in 0..original.len() {
        let mut deleted = original.clone();
        deleted.remove(i);
        write_lines(dir.path(), &deleted);
        assert!(!verify(dir.path(), None).ok(), "deleting record {i} went unnoticed");

        let mut inserted = original.clone();
        inserted.insert(i, original[i].clone());
        write_lines(dir.path(), &inserted);
        assert!(!verify(dir.path(), None).ok(), "duplicating record {i} went unnoticed");

        if i + 1 < original.len() {
            let mut swapped = original.clone();
            swapped.swap(i, i + 1);
            write_lines(dir.path(), &swapped);
            assert!(!verify(dir.path(), None).ok(), "swapping records {i} and {} went unnoticed", i + 1);
        }
    }
}

#[test]
fn a_truncated_tail_is_detected_with_or_without_the_auditors_checkpoint() {
    let dir = fresh(12);
    let kept = std::fs::read(dir.path().join(files::CHECKPOINT)).unwrap();
    let original = lines(dir.path());
    for keep in 0..original.len() {
        write_lines(dir.path(), &original[..keep]);
        assert!(!verify(dir.path(), None).ok(), "cutting to {keep} records went unnoticed");
    }
    // A thorough attacker also rolls the checkpoints back to an older size, cuts the payloads that went with the
    // cut records and deletes the seal: only the auditor's own kept checkpoint can tell.
    let rollback = crate::forge::checkpoint_sizes(dir.path()).into_iter().find(|s| *s > 0).unwrap();
    write_lines(dir.path(), &original);
    crate::forge::truncate_carefully(dir.path(), rollback);
    assert!(verify(dir.path(), None).ok(), "the rolled-back log is self-consistent");
    let report = verify(dir.path(), Some(kept));
    assert!(!report.ok());
    assert!(report.problems.iter().any(|p| p.what.contains("truncated")), "{:?}", report.problems);
}

#[test]
fn replaced_and_foreign_checkpoints_are_detected() {
    // The latest checkpoint replaced by an older one.
    let dir = fresh(12);
    let names: Vec<_> =
        std::fs::read_dir(dir.path().join(files::CHECKPOINTS)).unwrap().map(|e| e.unwrap().path()).collect();
    let oldest = names.iter().min().unwrap();
    std::fs::copy(oldest, dir.path().join(files::CHECKPOINT)).unwrap();
    assert!(!verify(dir.path(), None).ok(), "an older checkpoint in place of the latest went unnoticed");

    // A checkpoint file replaced by one of another size.
    let dir = fresh(12);
    let newest = names.iter().max().unwrap().file_name().unwrap().to_owned();
    let oldest = names.iter().min().unwrap().file_name().unwrap().to_owned();
    let cps = dir.path().join(files::CHECKPOINTS);
    std::fs::copy(cps.join(&oldest), cps.join(&newest)).unwrap();
    assert!(!verify(dir.path(), None).ok(), "a checkpoint file replaced by another went unnoticed");

    // A checkpoint of the same content signed by another key.
    let dir = fresh(12);
    let latest = std::fs::read_to_string(dir.path().join(files::CHECKPOINT)).unwrap();
    let body = latest.split("\n\n").next().unwrap().to_string() + "\n";
    let forged = note::sign(&body, &[&Signer::from_seed("test.example/log", [9; 32]).unwrap()]);
    let cps = dir.path().join(files::CHECKPOINTS);
    std::fs::write(dir.path().join(files::CHECKPOINT), &forged).unwrap();
    let newest_path = std::fs::read_dir(&cps).unwrap().map(|e| e.unwrap().path()).max().unwrap();
    std::fs::write(newest_path, &forged).unwrap();
    let report = verify(dir.path(), None);
    assert!(!report.ok(), "a checkpoint signed by another key went unnoticed");
    assert!(
        report.problems.iter().any(|p| p.what.contains("no verifiable signatures")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_payload_deleted_without_an_erasure_record_is_detected() {
    let dir = fresh(6);
    let records = audit::read_records(&dir.path().join(files::LOG)).unwrap();
    for r in records.iter().filter(|r| r.body.payload().is_some()) {
        let p = r.body.payload().unwrap();
        let path = dir.path().join(files::PAYLOADS);
        let original = std::fs::read(&path).unwrap();
        let mut zeroed = original.clone();
        for b in &mut zeroed[p.offset as usize..(p.offset + 32 + p.length) as usize] {
            *b = 0;
        }
        std::fs::write(&path, &zeroed).unwrap();
        let report = verify(dir.path(), None);
        assert!(
            report.problems.iter().any(|x| x.seq == Some(r.seq) && x.what.contains("no erasure record")),
            "{:?}",
            report.problems
        );

        let mut changed = original.clone();
        changed[p.offset as usize + 33] ^= 0x20;
        std::fs::write(&path, &changed).unwrap();
        assert!(!verify(dir.path(), None).ok(), "a changed payload went unnoticed");

        std::fs::write(&path, &original[..p.offset as usize]).unwrap();
        assert!(!verify(dir.path(), None).ok(), "a cut payload file went unnoticed");
        std::fs::write(&path, &original).unwrap();
    }
    assert!(verify(dir.path(), None).ok());
}

#[test]
fn erasure_and_purge_keep_the_log_verifying_and_are_reported() {
    let dir = fresh(9);
    let mut log = audit::AuditLog::open(dir.path(), signer(1), crate::options()).unwrap();
    let erased = log.erase("c1", "data subject request").unwrap();
    assert_eq!(erased, vec![1, 4, 7]);
    assert!(log.erase("c1", "again").unwrap().is_empty(), "nothing left to erase");
    let purged =
        log.purge(chrono::DateTime::parse_from_rfc3339("2026-01-03T00:00:00Z").unwrap().to_utc()).unwrap();
    assert!(!purged.is_empty() && purged.iter().all(|s| !erased.contains(s)));
    log.close().unwrap();
    let report = verify(dir.path(), None);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.payloads_erased as usize, erased.len() + purged.len());
    assert!(report.erasures.iter().any(|(s, _, why)| *s == 1 && why == "data subject request"));
    // The erased text is gone from the payload file.
    let payloads = std::fs::read(dir.path().join(files::PAYLOADS)).unwrap();
    assert!(!String::from_utf8_lossy(&payloads).contains("message number 4\""));
}

#[test]
fn a_second_writer_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _first = audit::AuditLog::open(dir.path(), signer(1), crate::options()).unwrap();
    let second = audit::AuditLog::open(dir.path(), signer(1), crate::options());
    let message = second.unwrap_err().to_string();
    assert!(message.contains("another writer holds the log"), "{message}");
}

#[test]
fn key_rotation_is_recorded_and_followed_by_the_verifier() {
    let dir = fresh(5);
    let mut log = audit::AuditLog::open(dir.path(), signer(1), crate::options()).unwrap();
    log.rotate_key(signer(2)).unwrap();
    log.close().unwrap();
    let mut log = audit::AuditLog::open(dir.path(), signer(2), crate::options()).unwrap();
    for i in 5..10 {
        log.append(crate::time(i), crate::decision(i)).unwrap();
    }
    log.close().unwrap();
    let report = verify(dir.path(), None);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.keys.len(), 2, "{:?}", report.keys);
    // Without the old key, nothing links the new key to the auditor's trust.
    let only_new = audit::verify(
        dir.path(),
        &VerifyOptions { keys: vec![signer(3).verifier()], ..VerifyOptions::default() },
    )
    .unwrap();
    assert!(!only_new.ok());
}

#[test]
fn damage_before_a_signed_checkpoint_stops_the_writer() {
    let dir = fresh(8);
    let mut lines = lines(dir.path());
    lines[2][20] ^= 0x01;
    write_lines(dir.path(), &lines);
    let err = audit::AuditLog::open(dir.path(), signer(1), crate::options()).unwrap_err().to_string();
    assert!(err.contains("will not be repaired"), "{err}");
}

#[test]
fn a_crash_between_the_erasure_record_and_the_zeroing_is_completed_on_open() {
    let dir = fresh(6);
    let before = std::fs::read(dir.path().join(files::PAYLOADS)).unwrap();
    let mut log = audit::AuditLog::open(dir.path(), signer(1), crate::options()).unwrap();
    let erased = log.erase("c1", "request").unwrap();
    assert!(!erased.is_empty());
    log.close().unwrap();
    // The crash: the erasure record is durable, the payloads were never zeroed.
    std::fs::write(dir.path().join(files::PAYLOADS), &before).unwrap();
    let report = verify(dir.path(), None);
    assert!(report.problems.iter().any(|p| p.what.contains("still there")), "{:?}", report.problems);
    // Opening the log completes the erasure; nothing is lost, and the text is gone.
    audit::AuditLog::open(dir.path(), signer(1), crate::options()).unwrap().close().unwrap();
    let report = verify(dir.path(), None);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.payloads_erased as usize, erased.len());
    let payloads = std::fs::read(dir.path().join(files::PAYLOADS)).unwrap();
    assert!(!String::from_utf8_lossy(&payloads).contains("message number 1\""));
}

/// Issue 8: a forged `key_rotated` record naming the attacker's key made verifiers trust that key for later
/// checkpoints. Here the forgery is as good as it gets: even a checkpoint signed with the real key covers the
/// forged rotation (what the writer used to do when it adopted a forged tail), and the attacker signs everything
/// after it.
#[test]
fn a_rotation_not_signed_by_the_old_key_is_refused() {
    let attacker = Signer::from_seed("test.example/log", [66; 32]).unwrap();
    let forge_rotation = |signature: &str| {
        let dir = fresh(5);
        crate::forge::append(
            dir.path(),
            "key_rotated",
            &format!(
                ",\"old_key\":\"{}\",\"new_key\":\"{}\",\"signature\":\"{signature}\"",
                signer(1).verifier().label(),
                attacker.verifier().to_vkey()
            ),
        );
        crate::forge::sign_checkpoint(dir.path(), &[&signer(1), &attacker]);
        crate::forge::append_decision(dir.path(), "{\"text\":\"forged\"}");
        crate::forge::sign_checkpoint(dir.path(), &[&attacker]);
        let report = verify(dir.path(), None);
        assert!(!report.ok(), "the attacker's key was trusted: {report:?}");
        assert!(
            report.problems.iter().any(|p| p.seq == Some(5) && p.what.contains("not signed by the old key")),
            "{:?}",
            report.problems
        );
        assert!(
            report.problems.iter().any(|p| p.what.contains("no verifiable signatures")),
            "{:?}",
            report.problems
        );
        assert!(!report.keys.contains(&attacker.verifier().label()), "{:?}", report.keys);
    };
    // No authorisation at all (also how rotations were written before they were authorised).
    forge_rotation("");
    // Authorised by the attacker's own key.
    forge_rotation(&attacker.sign_detached(b"handrail/key-rotation/v1\n5\n"));

    // A real authorisation replayed: taken from an honest rotation at another position.
    let honest = fresh(3);
    let mut log = audit::AuditLog::open(honest.path(), signer(1), crate::options()).unwrap();
    log.rotate_key(Signer::from_seed("test.example/log", [66; 32]).unwrap()).unwrap();
    log.close().unwrap();
    let record = audit::read_records(&honest.path().join(files::LOG)).unwrap().pop().unwrap();
    let audit::record::Body::KeyRotated { signature, .. } = record.body else { panic!("a rotation") };
    assert!(verify(honest.path(), None).ok(), "the honest rotation verifies");
    forge_rotation(&signature);
}

/// Review item: one missing record made a "seq is X where Y was expected" line for every later record.
#[test]
fn a_missing_record_is_reported_once() {
    let dir = fresh(12);
    let mut all = lines(dir.path());
    all.remove(3);
    write_lines(dir.path(), &all);
    let report = verify(dir.path(), None);
    let seq_problems: Vec<_> = report.problems.iter().filter(|p| p.what.starts_with("seq is")).collect();
    assert_eq!(seq_problems.len(), 1, "{:?}", report.problems);
    assert_eq!(seq_problems[0].seq, Some(3));
    assert!(seq_problems[0].what.contains("seq is 4 where 3 was expected"), "{:?}", seq_problems);
}

/// Review item: the verifier accepted an erasure record that lists a later seq. Here it is even signed with the
/// real key (as if the writer had been fooled), and the later payload zeroed.
#[test]
fn an_erasure_of_a_later_record_is_refused() {
    let dir = fresh(5);
    crate::forge::append(dir.path(), "erasure", ",\"conversation\":\"c0\",\"seqs\":[6],\"reason\":\"ahead\"");
    crate::forge::append_decision(dir.path(), "{\"text\":\"later\"}");
    let payloads = dir.path().join(files::PAYLOADS);
    let mut bytes = std::fs::read(&payloads).unwrap();
    let len = bytes.len();
    bytes[len - 50..].fill(0);
    std::fs::write(&payloads, &bytes).unwrap();
    crate::forge::sign_checkpoint(dir.path(), &[&signer(1)]);
    crate::forge::sign_seal(dir.path(), &[&signer(1)]);
    let report = verify(dir.path(), None);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.seq == Some(5) && p.what.contains("record 6, which is not before it")),
        "{:?}",
        report.problems
    );
    assert!(report.erasures.is_empty(), "{:?}", report.erasures);
    assert!(
        report.problems.iter().any(|p| p.seq == Some(6) && p.what.contains("missing")),
        "{:?}",
        report.problems
    );
}
