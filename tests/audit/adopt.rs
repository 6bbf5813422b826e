//! The writer does not adopt what it did not write (issue 8): records past its last seal are refused, or cut or
//! adopted on the operator's word with a `recovery` record; a log whose seals and checkpoints were deleted is not
//! new; an interrupted commit is cut; a complete broken line is never cut silently.

use std::path::Path;

use handrail::audit::record::Body;
use handrail::audit::{self, AuditError, AuditLog, Unproven, VerifyOptions, WriterOptions, files};

use crate::forge;
use crate::{decision, options, signer, time, write_log};

fn open(dir: &Path, unproven: Unproven) -> Result<AuditLog, AuditError> {
    AuditLog::open(dir, signer(1), WriterOptions { unproven, ..options() })
}

fn report(dir: &Path) -> audit::Report {
    audit::verify(dir, &VerifyOptions { keys: vec![signer(1).verifier()], ..VerifyOptions::default() })
        .unwrap()
}

fn records(dir: &Path) -> Vec<audit::record::Record> {
    audit::read_records(&dir.join(files::LOG)).unwrap()
}

/// Commits decisions `from..to` in one group and stops without closing (no checkpoint of them): a crash after
/// the commit.
fn commit_then_crash(dir: &Path, from: u64, to: u64) {
    let mut log = AuditLog::open(dir, signer(1), options()).unwrap();
    for i in from..to {
        log.append(time(i), decision(i)).unwrap();
    }
    log.commit().unwrap();
}

fn fresh(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), n);
    dir
}

#[test]
fn appended_records_are_refused_then_cut_or_adopted_on_the_operators_word() {
    let dir = fresh(6);
    forge::append_decision(dir.path(), "{\"text\":\"forged 1\"}");
    forge::append_decision(dir.path(), "{\"text\":\"forged 2\"}");
    let before = std::fs::read(dir.path().join(files::LOG)).unwrap();
    // The auditor sees them as unsigned; the writer refuses and names them.
    assert_eq!(report(dir.path()).outcome, audit::Outcome::Unsigned);
    let err = open(dir.path(), Unproven::Refuse).unwrap_err();
    assert!(
        matches!(err, AuditError::Unproven { first: 6, records: 2, .. }),
        "the writer opened a log with records it did not write: {err}"
    );
    assert!(err.to_string().contains("--adopt 2"), "{err}");
    // Refusing touched nothing.
    assert_eq!(std::fs::read(dir.path().join(files::LOG)).unwrap(), before);
    // Adopting the wrong number is refused too.
    assert!(matches!(open(dir.path(), Unproven::Adopt(3)), Err(AuditError::Unproven { .. })));

    // Cut: gone, and the cut is on record.
    let cut = tempfile::tempdir().unwrap();
    crate::copy_dir(dir.path(), cut.path());
    open(cut.path(), Unproven::Cut).unwrap().close().unwrap();
    let all = records(cut.path());
    assert_eq!(all.len(), 7, "6 records and the recovery");
    let Body::Recovery { records_cut, records_adopted, cut_sha256, .. } = &all[6].body else {
        panic!("a recovery record: {:?}", all[6])
    };
    assert_eq!((*records_cut, *records_adopted), (2, 0));
    // The hash of what was cut lets anyone holding a copy of it recognise it.
    let kept = forge::lines(cut.path())[..6].concat().len();
    assert_eq!(cut_sha256.as_deref(), Some(audit::hash::sha256(&before[kept..]).hex().as_str()));
    let r = report(cut.path());
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.recoveries, 1);

    // Adopt: kept, signed from now on, and the adoption is on record.
    open(dir.path(), Unproven::Adopt(2)).unwrap().close().unwrap();
    let all = records(dir.path());
    assert_eq!(all.len(), 9);
    assert!(matches!(all[8].body, Body::Recovery { records_adopted: 2, records_cut: 0, .. }), "{:?}", all[8]);
    let r = report(dir.path());
    assert!(r.ok(), "{:?}", r.problems);
    assert!(r.recovered.iter().any(|(seq, what)| *seq == 8 && what.contains("adopted")), "{:?}", r.recovered);
}

#[test]
fn a_forged_erasure_is_never_adopted_and_zeroes_nothing() {
    let dir = fresh(6);
    let payloads_before = std::fs::read(dir.path().join(files::PAYLOADS)).unwrap();
    forge::append(dir.path(), "erasure", ",\"conversation\":\"c1\",\"seqs\":[1,4],\"reason\":\"forged\"");
    // The forger zeroes the payloads too.
    let mut zeroed = payloads_before.clone();
    for r in records(dir.path()).iter().filter(|r| r.seq == 1 || r.seq == 4) {
        let p = r.body.payload().unwrap();
        zeroed[p.offset as usize..(p.offset + 32 + p.length) as usize].fill(0);
    }
    std::fs::write(dir.path().join(files::PAYLOADS), &zeroed).unwrap();
    let r = report(dir.path());
    assert_eq!(r.outcome, audit::Outcome::Failed, "an unsigned erasure explains nothing: {r:?}");
    assert!(r.erasures.is_empty(), "an unsigned erasure was listed as legitimate: {:?}", r.erasures);
    assert!(r.problems.iter().any(|p| p.seq == Some(1) && p.what.contains("not signed")), "{:?}", r.problems);

    for unproven in [Unproven::Refuse, Unproven::Adopt(1)] {
        let err = open(dir.path(), unproven).unwrap_err().to_string();
        assert!(err.contains("erasure 6") || unproven == Unproven::Refuse, "{err}");
    }
    // The real payloads were not zeroed further by a writer that believed the erasure.
    std::fs::write(dir.path().join(files::PAYLOADS), &payloads_before).unwrap();
    assert!(open(dir.path(), Unproven::Refuse).is_err());
    assert_eq!(std::fs::read(dir.path().join(files::PAYLOADS)).unwrap(), payloads_before);
}

#[test]
fn a_log_whose_seals_and_checkpoints_were_deleted_is_not_new() {
    let dir = fresh(8);
    // The forger rewrites record 2 and the whole chain after it, then deletes every signature.
    let mut lines = forge::lines(dir.path());
    lines[2] = String::from_utf8(lines[2].clone()).unwrap().replace("\"answer\"", "\"handoff\"").into_bytes();
    forge::write_lines(dir.path(), &forge::rechain(&lines));
    std::fs::remove_dir_all(dir.path().join(files::CHECKPOINTS)).unwrap();
    std::fs::remove_file(dir.path().join(files::CHECKPOINT)).unwrap();
    forge::delete_seals(dir.path());
    let r = report(dir.path());
    assert!(!r.ok(), "{r:?}");
    let err = open(dir.path(), Unproven::Refuse).unwrap_err();
    assert!(matches!(err, AuditError::Unproven { first: 0, records: 8, .. }), "re-signed as new: {err}");
}

#[test]
fn records_past_the_last_checkpoint_of_a_log_without_seals_are_refused() {
    // A log written before seals, or whose seal file was deleted: the records after its last checkpoint.
    let dir = fresh(7);
    commit_then_crash(dir.path(), 7, 10);
    forge::delete_seals(dir.path());
    assert_eq!(report(dir.path()).outcome, audit::Outcome::Unsigned);
    let err = open(dir.path(), Unproven::Refuse).unwrap_err();
    assert!(matches!(err, AuditError::Unproven { first: 7, records: 3, .. }), "{err}");
    // The operator vouches for them.
    open(dir.path(), Unproven::Adopt(3)).unwrap().close().unwrap();
    assert!(report(dir.path()).ok());
}

#[test]
fn an_interrupted_commit_is_cut_and_recorded() {
    let dir = fresh(6);
    let sealed = std::fs::read(dir.path().join(files::LOG)).unwrap();
    let payloads = std::fs::read(dir.path().join(files::PAYLOADS)).unwrap();
    // The next commit: its payloads and seal were written, then the crash came one and a half records into its
    // three records.
    commit_then_crash(dir.path(), 6, 9);
    let full = std::fs::read(dir.path().join(files::LOG)).unwrap();
    let cut_at = sealed.len() + (full.len() - sealed.len()) / 2;
    std::fs::write(dir.path().join(files::LOG), &full[..cut_at]).unwrap();
    let r = report(dir.path());
    assert!(
        r.problems.iter().any(|p| p.what.contains("a group commit was interrupted")),
        "the verifier names the interrupted commit: {:?}",
        r.problems
    );
    let log = open(dir.path(), Unproven::Refuse).unwrap();
    let cause = log.recovered().unwrap().to_string();
    assert!(cause.contains("interrupted group commit"), "{cause}");
    assert_eq!(log.close().unwrap(), 7, "6 sealed records and the recovery");
    let all = records(dir.path());
    assert!(matches!(all[6].body, Body::Recovery { records_cut: 1, .. }), "{:?}", all[6]);
    // The sealed records' payloads are untouched (the seal header before them has new seals).
    let after = std::fs::read(dir.path().join(files::PAYLOADS)).unwrap();
    let start = audit::seal::HEADER_LEN as usize;
    assert!(after[start..payloads.len()] == payloads[start..], "the sealed payloads changed");
    let r = report(dir.path());
    assert!(r.ok(), "{:?}", r.problems);
}

#[test]
fn a_complete_broken_line_past_the_last_checkpoint_is_not_cut() {
    // Review item: recovery cut everything from the first broken line on, synced records included.
    let dir = fresh(6);
    commit_then_crash(dir.path(), 6, 10);
    let mut lines = forge::lines(dir.path());
    lines[7][20] ^= 0x01;
    forge::write_lines(dir.path(), &lines);
    let before = std::fs::read(dir.path().join(files::LOG)).unwrap();
    let err = open(dir.path(), Unproven::Refuse).unwrap_err().to_string();
    assert!(err.contains("complete line"), "{err}");
    assert_eq!(std::fs::read(dir.path().join(files::LOG)).unwrap(), before, "nothing was cut");
}

/// The command line: an unsigned tail is exit 5 (not 0) unless allowed; the writer's refusal is exit 1 and
/// names `recover`; `recover --cut` leaves a log that verifies.
#[test]
fn verify_exits_5_on_an_unsigned_tail_and_recover_deals_with_it() {
    let dir = fresh(5);
    forge::append_decision(dir.path(), "{\"text\":\"forged\"}");
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("log.key");
    std::fs::write(&key, signer(1).to_skey() + "\n").unwrap();
    let log_dir = dir.path().to_str().unwrap();
    let public = signer(1).verifier().to_vkey();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_handrail")).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = run(&["audit", "verify", log_dir, "--key", &public]);
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains("UNSIGNED: 6 records")
            && out.contains("unsigned: 1 records after the last signature (seq 5 to 5)"),
        "{out}"
    );
    let (code, out) = run(&["audit", "verify", log_dir, "--key", &public, "--allow-unsigned", "1"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&["audit", "verify", log_dir, "--key", &public, "--format", "json"]);
    assert_eq!(code, Some(5));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((json["outcome"].as_str(), json["unsigned"].as_u64()), (Some("unsigned"), Some(1)));

    let key = key.to_str().unwrap();
    let (code, out) =
        run(&["audit", "erase", log_dir, "--conversation", "c1", "--reason", "r", "--signing-key", key]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cannot prove it wrote") && out.contains("handrail audit recover"), "{out}");
    let (code, out) = run(&["audit", "recover", log_dir, "--signing-key", key, "--cut"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("cut on the operator's instruction"), "{out}");
    let (code, out) = run(&["audit", "verify", log_dir, "--key", &public]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("recovery: seq 5: 1 records"), "{out}");
    let (code, out) = run(&["audit", "recover", log_dir, "--signing-key", key, "--cut"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("nothing to recover"), "{out}");
}

/// A log begun before seals (payloads from offset 0, no seal header) cannot grow a header, since its payload
/// offsets are signed: the writer keeps its seals in a `seal` file instead, and everything else works the same.
#[test]
fn a_log_from_before_seals_gets_a_seal_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(files::CHECKPOINTS)).unwrap();
    std::fs::write(dir.path().join(files::LOG), b"").unwrap();
    for i in 0..3 {
        forge::append_decision(dir.path(), &format!("{{\"text\":\"old {i}\"}}"));
    }
    forge::sign_checkpoint(dir.path(), &[&signer(1)]);
    assert!(report(dir.path()).ok(), "{:?}", report(dir.path()).problems);

    let mut log = open(dir.path(), Unproven::Refuse).unwrap();
    assert!(dir.path().join(files::SEAL).is_file());
    log.append(time(3), decision(3)).unwrap();
    log.commit().unwrap();
    drop(log); // a crash: the last commit is covered by the seal file only
    let r = report(dir.path());
    assert!(r.ok() && r.seals_verified > 0, "{r:?}");
    commit_then_crash(dir.path(), 4, 6);
    open(dir.path(), Unproven::Refuse).unwrap().close().unwrap();
    let r = report(dir.path());
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.records, 6);
}
