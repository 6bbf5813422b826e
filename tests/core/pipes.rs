//! Every subcommand into a closed pipe (`handrail check x.policy 2>&1 | head -1`): with more output than a pipe
//! buffer holds (64 KiB on Linux), so the writes really fail, the command must end with its documented exit code,
//! never a panic (Rust's 101) or a signal.

use std::io::{Read, Write};
use std::process::Stdio;

/// More than a pipe buffer.
const BIG: usize = 96 * 1024;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Closed {
    Stdout,
    Stderr,
}

/// Runs `handrail ARGS` with one of stdout or stderr closed before anything is written; returns the exit code
/// (None when killed by a signal) and what the other stream said.
fn into_closed(args: &[&str], stdin: Vec<u8>, closed: Closed) -> (Option<i32>, String) {
    let mut child = crate::cli::spawn(args, Stdio::piped());
    let (mut open, shut): (Box<dyn Read + Send>, Box<dyn Read + Send>) = match closed {
        Closed::Stdout => (Box::new(child.stderr.take().unwrap()), Box::new(child.stdout.take().unwrap())),
        Closed::Stderr => (Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())),
    };
    drop(shut);
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = open.read_to_string(&mut text);
        text
    });
    let status = child.wait().unwrap();
    writer.join().unwrap();
    (status.code(), reader.join().unwrap())
}

fn assert_exits(args: &[&str], stdin: Vec<u8>, closed: Closed, expected: i32) {
    let (code, other) = into_closed(args, stdin, closed);
    assert!(!other.contains("panicked"), "{args:?} with {closed:?} closed panicked: {other}");
    assert_eq!(code, Some(expected), "{args:?} with {closed:?} closed: {}", &other[..other.len().min(2000)]);
}

/// A policy with many rules and no `@id`: a warning each, far more than a pipe buffer of diagnostics.
fn noisy_policy(dir: &std::path::Path, rules: usize) -> String {
    let mut text = String::from(
        "policy p { version \"1\" safe_queue q }\nqueue q { hours \"24/7\" }\nphrases a { \"x\" }\n",
    );
    for i in 0..rules {
        text.push_str(&format!("escalate r{i} {{ when says a rank {i} }}\n"));
    }
    let path = dir.join("noisy.policy");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn eval_into_a_closed_stdout_or_stderr() {
    let good = "{\"text\":\"hello there\",\"confidence\":0.9}\n".repeat(BIG / 40);
    // Nobody reads the decisions: the run stops with "could not be written".
    assert_exits(&["eval"], good.into_bytes(), Closed::Stdout, 3);
    // Nobody reads the diagnostics: every line is still decided, the exit code still says some were malformed.
    let bad = "{\"text\":\"hello\",\"confidnce\":0.9}\n".repeat(BIG / 30);
    let (code, stdout) = into_closed(&["eval"], bad.into_bytes(), Closed::Stderr);
    assert_eq!(code, Some(1));
    assert_eq!(stdout.lines().count(), BIG / 30, "every line is decided");
}

#[test]
fn check_into_a_closed_stdout_or_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let policy = noisy_policy(dir.path(), 600);
    for format in ["human", "plain"] {
        assert_exits(&["check", "--error-format", format, &policy], Vec::new(), Closed::Stderr, 0);
    }
    assert_exits(&["check", "--error-format", "json", &policy], Vec::new(), Closed::Stdout, 0);
    assert_exits(&["check", "--deny-warnings", &policy], Vec::new(), Closed::Stderr, 1);
}

#[test]
fn fmt_test_and_score_into_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    // Every rule is reformatted onto several lines: a diff of about 130 KiB.
    let policy = noisy_policy(dir.path(), 1_500);
    assert_exits(&["fmt", "--check", &policy], Vec::new(), Closed::Stdout, 1);

    let cases = dir.path().join("cases.toml");
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(&format!(
            "[[case]]\nname = \"case {i} expects what it will not get\"\nevents = [{{ text = \"hello\", confidence = 0.9 }}]\nexpect = {{ action = \"handoff\" }}\n\n"
        ));
    }
    std::fs::write(&cases, text).unwrap();
    assert_exits(&["test", cases.to_str().unwrap()], Vec::new(), Closed::Stdout, 1);

    let csv = dir.path().join("labelled.csv");
    let mut text = String::from("text,trigger\n");
    for i in 0..3_000 {
        text.push_str(&format!("the weather is nice today number {i},human_request\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let args = [
        "score",
        csv.to_str().unwrap(),
        "--triggers",
        "policies/common/triggers.toml",
        "--label-column",
        "trigger",
        "--show-errors",
        "3000",
    ];
    assert_exits(&args, Vec::new(), Closed::Stdout, 0);
}

#[test]
fn audit_and_help_into_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("k");
    let keygen = crate::cli::handrail(
        &["audit", "keygen", "--name", "t.example/log", "--out", prefix.to_str().unwrap()],
        "",
    );
    assert_eq!(keygen.code, 0);
    let log = dir.path().join("log");
    let events = "{\"text\":\"I want a human\",\"confidence\":0.9}\n".repeat(2_000);
    let key = format!("{}.key", prefix.display());
    let run = crate::cli::handrail(&["eval", "--audit", log.to_str().unwrap(), "--audit-key", &key], &events);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_exits(&["audit", "show", log.to_str().unwrap()], Vec::new(), Closed::Stdout, 0);
    let public = format!("{}.pub", prefix.display());
    assert_exits(
        &["audit", "verify", log.to_str().unwrap(), "--key", &public],
        Vec::new(),
        Closed::Stdout,
        0,
    );
    for help in [&["--help"][..], &["eval", "--help"], &["audit", "verify", "--help"]] {
        assert_exits(help, Vec::new(), Closed::Stdout, 0);
    }
    // A usage error into a closed stderr is still exit 2.
    assert_exits(&["eval", "--no-such-flag"], Vec::new(), Closed::Stderr, 2);
}
