//! Inclusion and consistency proofs: every honest proof verifies, and every part of a proof that a prover could
//! change on its own (the record, the sizes, the starting root) is caught.

use std::path::Path;

use handrail::audit::proof::{self, CheckError, Proof};
use handrail::audit::{files, note};

use crate::{signer, write_log};

fn check(p: &Proof, kept: Option<&[u8]>) -> Result<proof::Checked, CheckError> {
    proof::check(&serde_json::to_vec(p).unwrap(), &[signer(1).verifier()], kept, None)
}

fn log(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), n);
    dir
}

fn latest(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(files::CHECKPOINT)).unwrap()
}

#[test]
fn every_honest_proof_verifies() {
    let dir = log(12);
    for seq in 0..12 {
        let p = proof::inclusion(dir.path(), seq).unwrap();
        assert_eq!(check(&p, None).unwrap().size, 12, "inclusion of {seq}");
        assert_eq!(check(&p, Some(&latest(dir.path()))).unwrap().since, None);
    }
    for since in 1..=12 {
        let p = proof::consistency(dir.path(), since).unwrap();
        assert_eq!(check(&p, None).unwrap().since, Some((since, false)), "consistency from {since}");
    }
}

#[test]
fn an_altered_record_in_an_inclusion_proof_is_refused() {
    let dir = log(8);
    let Proof::Inclusion { seq, tree_size, leaf_hash, record, proof, checkpoint } =
        proof::inclusion(dir.path(), 3).unwrap()
    else {
        panic!("an inclusion proof")
    };
    let altered = Proof::Inclusion {
        seq,
        tree_size,
        leaf_hash: leaf_hash.clone(),
        record: record.replace("\"answer\"", "\"handoff\""),
        proof: proof.clone(),
        checkpoint: checkpoint.clone(),
    };
    let err = check(&altered, None).unwrap_err();
    assert!(err.to_string().contains("does not hash to its `leaf_hash`"), "{err}");

    // Another record of the log, with its own (true) leaf hash, passed off as record 3.
    let Proof::Inclusion { record: other, leaf_hash: other_leaf, .. } =
        proof::inclusion(dir.path(), 4).unwrap()
    else {
        panic!("an inclusion proof")
    };
    let swapped = Proof::Inclusion {
        seq,
        tree_size,
        leaf_hash: other_leaf,
        record: other,
        proof: proof.clone(),
        checkpoint: checkpoint.clone(),
    };
    let err = check(&swapped, None).unwrap_err();
    assert!(err.to_string().contains("is seq 4, not 3"), "{err}");

    // The auditor's own copy of the line must be the one proven.
    let honest = Proof::Inclusion { seq, tree_size, leaf_hash, record, proof, checkpoint };
    let json = serde_json::to_vec(&honest).unwrap();
    let line =
        std::fs::read_to_string(dir.path().join(files::LOG)).unwrap().lines().nth(5).unwrap().to_string();
    let err = proof::check(&json, &[signer(1).verifier()], None, Some(line.as_bytes())).unwrap_err();
    assert!(err.to_string().contains("not the one proven"), "{err}");
}

#[test]
fn sizes_that_are_not_the_checkpoints_are_refused() {
    let dir = log(8);
    let Proof::Inclusion { seq, tree_size, leaf_hash, record, proof, checkpoint } =
        proof::inclusion(dir.path(), 2).unwrap()
    else {
        panic!("an inclusion proof")
    };
    let wrong = Proof::Inclusion { seq, tree_size: tree_size + 1, leaf_hash, record, proof, checkpoint };
    let err = check(&wrong, None).unwrap_err();
    assert!(err.to_string().contains("tree size 9 but its checkpoint is of size 8"), "{err}");

    let Proof::Consistency { size1, size2, root1, proof, checkpoint } =
        proof::consistency(dir.path(), 3).unwrap()
    else {
        panic!("a consistency proof")
    };
    let wrong = Proof::Consistency { size1, size2: size2 - 1, root1, proof, checkpoint };
    assert!(matches!(check(&wrong, None), Err(CheckError::Inconsistent(_))));
}

#[test]
fn a_consistency_proof_from_zero_is_refused_when_asked_for() {
    let dir = log(4);
    let err = proof::consistency(dir.path(), 0).unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_handrail"))
        .args(["audit", "prove", dir.path().to_str().unwrap(), "--since", "0"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "a usage error: {}", String::from_utf8_lossy(&run.stderr));
}

#[test]
fn a_consistency_proof_is_tied_to_the_checkpoint_the_auditor_kept() {
    let dir = log(5);
    let kept = latest(dir.path());
    let mut writer = handrail::audit::AuditLog::open(dir.path(), signer(1), crate::options()).unwrap();
    for i in 5..11 {
        writer.append(crate::time(i), crate::decision(i)).unwrap();
    }
    writer.close().unwrap();

    let p = proof::consistency(dir.path(), 5).unwrap();
    assert_eq!(check(&p, Some(&kept)).unwrap().since, Some((5, true)));

    // A prover who starts the proof elsewhere than the auditor's checkpoint is caught, even with a proof that
    // is internally sound.
    let p = proof::consistency(dir.path(), 4).unwrap();
    let err = check(&p, Some(&kept)).unwrap_err();
    assert!(matches!(err, CheckError::Kept(_)), "{err}");

    // A history rewritten after the auditor's visit: root1 is the rewritten log's, not the kept one.
    let Proof::Consistency { size1, size2, proof, checkpoint, .. } =
        proof::consistency(dir.path(), 5).unwrap()
    else {
        panic!("a consistency proof")
    };
    let rewritten = Proof::Consistency { size1, size2, root1: "ab".repeat(32), proof, checkpoint };
    assert!(matches!(check(&rewritten, Some(&kept)), Err(CheckError::Kept(_))));

    // A kept checkpoint signed by another key is not the auditor's.
    let body = String::from_utf8(kept.clone()).unwrap();
    let body = body.split_once("\n\n").unwrap().0.to_string() + "\n";
    let foreign = note::sign(&body, &[&signer(9)]);
    let p = proof::consistency(dir.path(), 5).unwrap();
    assert!(matches!(check(&p, Some(foreign.as_bytes())), Err(CheckError::Kept(_))));

    // The command line: --checkpoint on check-proof.
    let proof_path = dir.path().join("proof.json");
    std::fs::write(&proof_path, serde_json::to_vec(&proof::consistency(dir.path(), 5).unwrap()).unwrap())
        .unwrap();
    let kept_path = dir.path().join("kept.note");
    std::fs::write(&kept_path, &kept).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_handrail"))
        .args(["audit", "check-proof", proof_path.to_str().unwrap()])
        .args(["--key", &signer(1).verifier().to_vkey(), "--checkpoint", kept_path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("extends your checkpoint of size 5"), "{stdout}");
}
