//! One writer, for real (issue 8): the lock does not live in a file an operator may delete as stale.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use handrail::audit::{self, AuditLog, VerifyOptions, files};

use crate::{decision, options, signer, time, write_log};

/// Runs the binary with `args` and `stdin`; returns its exit code and stderr.
fn handrail(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handrail"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused the lock exits without reading its input: a broken pipe here is that, not a failure
    // (the exit code and stderr below are what the test checks).
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn key_file(dir: &Path, name: &str, byte: u8) -> String {
    let path = dir.join(name);
    std::fs::write(&path, signer(byte).to_skey() + "\n").unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn deleting_lock_while_a_writer_holds_the_log_keeps_every_other_writer_out() {
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    write_log(dir.path(), 6);
    let (key, new_key) = (key_file(keys.path(), "log.key", 1), key_file(keys.path(), "new.key", 2));
    let log_dir = dir.path().to_str().unwrap();

    let mut holder = AuditLog::open(dir.path(), signer(1), options()).unwrap();
    holder.append(time(6), decision(6)).unwrap();
    holder.commit().unwrap();
    // The operator's "stale lock" clean-up.
    std::fs::remove_file(dir.path().join(files::LOCK)).unwrap();

    let second = AuditLog::open(dir.path(), signer(1), options()).unwrap_err();
    assert!(matches!(second, audit::AuditError::Locked(_)), "a second writer: {second}");
    let commands: [&[&str]; 5] = [
        &["audit", "erase", log_dir, "--conversation", "c1", "--reason", "r", "--signing-key", &key],
        &["audit", "purge", log_dir, "--at", "2030-01-01T00:00:00Z", "--signing-key", &key],
        &["audit", "rotate-key", log_dir, "--signing-key", &key, "--new-signing-key", &new_key],
        &["audit", "recover", log_dir, "--signing-key", &key, "--cut"],
        &["eval", "--audit", log_dir, "--audit-key", &key],
    ];
    for args in commands {
        let (code, stderr) = handrail(args, "{\"conversation\":\"c9\",\"text\":\"hello\"}\n");
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("another writer holds the log"), "{args:?}: {stderr}");
    }

    // The holder lost nothing: its records are all there and the log verifies.
    holder.append(time(7), decision(7)).unwrap();
    assert_eq!(holder.close().unwrap(), 8);
    let report = audit::verify(
        dir.path(),
        &VerifyOptions { keys: vec![signer(1).verifier()], ..VerifyOptions::default() },
    )
    .unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.records, 8);
    // Released at close: the next writer gets in.
    AuditLog::open(dir.path(), signer(1), options()).unwrap().close().unwrap();
}

#[test]
fn a_log_file_replaced_under_the_writer_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 3);
    let mut writer = AuditLog::open(dir.path(), signer(1), options()).unwrap();
    let path = dir.path().join(files::LOG);
    std::fs::copy(&path, dir.path().join("copy")).unwrap();
    std::fs::rename(dir.path().join("copy"), &path).unwrap();
    writer.append(time(3), decision(3)).unwrap();
    let err = writer.commit().unwrap_err().to_string();
    assert!(err.contains("renamed, deleted or replaced"), "{err}");
}
