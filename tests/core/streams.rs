//! `handrail eval` as a stream (issue 8): one bad line never stops it, an answer comes back while the input stays
//! open, an emergency survives a malformed event, a line whose conversation cannot be read stays out of every
//! conversation, and personal data is redacted before the audit log stores it.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::cli::{handrail, handrail_bytes};

fn decisions(stdout: &str) -> Vec<serde_json::Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A signing key in `dir`: returns (secret, public) paths.
fn keys(dir: &std::path::Path) -> (String, String) {
    let prefix = dir.join("k");
    let run =
        handrail(&["audit", "keygen", "--name", "test.example/log", "--out", prefix.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    (format!("{}.key", prefix.display()), format!("{}.pub", prefix.display()))
}

/// A caller that writes one event and waits reads its decision, with the input still open: with and without
/// the audit log (whose group commit must not wait for more input to fill its batch).
#[test]
fn one_event_in_one_decision_out_while_the_input_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, _) = keys(dir.path());
    let log = dir.path().join("log");
    let audited = ["eval", "--audit", log.to_str().unwrap(), "--audit-key", &secret];
    for args in [&["eval"][..], &audited[..]] {
        let mut child = crate::cli::spawn(args, Stdio::null());
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        for (text, action) in [("hello there", "answer"), ("I want a human", "handoff")] {
            writeln!(stdin, "{{\"conversation\":\"s1\",\"text\":\"{text}\",\"confidence\":0.9}}").unwrap();
            stdin.flush().unwrap();
            let line = rx.recv_timeout(Duration::from_secs(20));
            let Ok(line) = line else {
                let _ = child.kill();
                panic!("{args:?}: no decision within 20 s for one event with the input still open");
            };
            let d: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(d["action"], action, "{args:?}: {line}");
        }
        drop(stdin);
        assert!(child.wait().unwrap().success(), "{args:?}");
    }
}

/// Invalid UTF-8 in one line stopped the run with exit 3, and with `--audit` the decisions waiting in the group
/// commit were neither printed nor recorded. Now every line is decided and recorded.
#[test]
fn invalid_utf8_in_one_line_gets_a_fail_safe_and_every_line_is_decided_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = keys(dir.path());
    let log = dir.path().join("log");
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"conversation\":\"a\",\"text\":\"hello\",\"confidence\":0.9}\n");
    input.extend_from_slice(b"{\"conversation\":\"b\",\"text\":\"caf\xe9 \xff\xfe\",\"confidence\":0.9}\n");
    input.extend_from_slice(b"{\"conversation\":\"c\",\"text\":\"hello\",\"confidence\":0.9}\n");
    let run = handrail_bytes(
        &["eval", "--audit", log.to_str().unwrap(), "--audit-key", &secret, "--audit-batch", "1000"],
        &input,
    );
    assert_eq!(run.code, 1, "a malformed line is exit 1, not 3: {}", run.stderr);
    assert!(run.stderr.contains("<stdin>:2: not valid UTF-8"), "{}", run.stderr);
    let d = decisions(&run.stdout);
    assert_eq!(d.len(), 3, "every line gets a decision: {}", run.stdout);
    assert_eq!(d[1]["reasons"][0], "engine_error");
    assert_eq!(d[1]["conversation"], "b", "bad bytes in the text leave the conversation readable");
    assert!(d[1]["errors"][0].as_str().unwrap().contains("not valid UTF-8"));
    assert_eq!(d[2]["action"], "answer");
    let verify =
        handrail(&["audit", "verify", log.to_str().unwrap(), "--key", &public, "--format", "json"], "");
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    let shown = handrail(&["audit", "show", log.to_str().unwrap(), "--kind", "decision"], "");
    assert_eq!(shown.stdout.lines().count(), 3, "every decision is recorded: {}", shown.stdout);
}

/// A line over the limit is refused while it is read (never held whole), gets its fail-safe saying so, and the
/// next line is decided.
#[test]
fn an_over_long_line_is_refused_and_the_stream_goes_on() {
    let limit = handrail::eval::event::MAX_EVENT_LINE_BYTES;
    let mut input = b"{\"text\":\"hello\",\"confidence\":0.9}\n{\"text\":\"".to_vec();
    input.resize(input.len() + 3 * limit, b'a');
    input.extend_from_slice(b"\"}\n{\"conversation\":\"next\",\"text\":\"hello\",\"confidence\":0.9}\n");
    let run = handrail_bytes(&["eval"], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let d = decisions(&run.stdout);
    assert_eq!(d.len(), 3);
    let why = d[1]["errors"][0].as_str().unwrap();
    assert!(why.contains(&format!("over the limit of {limit}; it was not read")), "{why}");
    assert_eq!(d[1]["conversation"], "", "its conversation could not be read");
    assert!(d[1]["handoff"]["transcript"].as_array().unwrap().is_empty(), "its text is not copied anywhere");
    assert!(run.stdout.len() < 64 * 1024, "nothing of the long line is echoed: {} bytes", run.stdout.len());
    assert_eq!(d[2]["action"], "answer");
}

/// A crisis written in an event whose other fields are wrong still gets the emergency response.
#[test]
fn a_crisis_in_a_malformed_event_gets_the_emergency_response() {
    for fault in ["\"confidence\":1.5", "\"confidnce\":0.5", "\"confidence\":\"high\"", "\"type\":\"mesage\""]
    {
        let line = format!("{{\"conversation\":\"c9\",\"text\":\"I want to kill myself\",{fault}}}\n");
        let run = handrail(&["eval"], &line);
        assert_eq!(run.code, 1, "{fault}");
        let d = &decisions(&run.stdout)[0];
        assert_eq!(d["action"], "emergency", "{fault}: {d}");
        assert_eq!(d["route"]["priority"], "urgent", "{fault}");
        assert_eq!(d["determining"][0], "EMER-SELF-HARM");
        assert_eq!(d["reasons"], serde_json::json!(["emergency", "engine_error"]), "{fault}");
        assert!(d["say"][0].as_str().unwrap().contains("988"), "{fault}");
        assert_eq!(d["conversation"], "c9");
    }
    // Not JSON at all: the line itself is scanned.
    let run = handrail(&["eval"], "{\"conversation\":\"c9\",\"text\":\"I want to kill myself\n");
    assert_eq!(decisions(&run.stdout)[0]["action"], "emergency", "{}", run.stdout);
}

/// A fail-safe for a line whose conversation cannot be read landed in the `default` conversation and left it
/// waiting for a person, so its next real message was held. It now lands in no conversation.
#[test]
fn a_line_whose_conversation_cannot_be_read_touches_no_conversation() {
    let input = [
        "{\"conversation\":5,\"text\":\"hello\"}",
        "[1,2,3]",
        "not json",
        "{\"conversation\":\"\",\"text\":\"hello\"}",
        "{\"text\":\"where is my parcel\",\"confidence\":0.9}",
    ]
    .join("\n");
    let run = handrail(&["eval"], &input);
    let d = decisions(&run.stdout);
    assert_eq!(d.len(), 5);
    for bad in &d[..4] {
        assert_eq!(bad["conversation"], "", "{bad}");
        assert_eq!(bad["reasons"][0], "engine_error");
    }
    assert!(run.stderr.contains("<stdin>:1: `conversation` must be a non-empty string, found a number"));
    assert!(run.stderr.contains("<stdin>:2: an event must be a JSON object, found a list"), "{}", run.stderr);
    assert!(run.stderr.contains("<stdin>:4: `conversation` must be a non-empty string, found an empty one"));
    assert_eq!(d[4]["conversation"], "default");
    assert_eq!(d[4]["action"], "answer", "the default conversation was not put in a queue: {}", d[4]);
    assert_eq!(d[4]["state"], "bot");
}

/// Type errors name the field and what it must be.
#[test]
fn type_errors_name_the_field() {
    let cases = [
        ("{\"confidence\":\"high\"}", "`confidence` must be a number between 0 and 1, found a string"),
        ("{\"sentiment\":true}", "`sentiment` must be a number between -1 and 1, found true or false"),
        ("{\"intents\":\"billing\"}", "`intents` must be a list of strings, found a string"),
        (
            "{\"time\":\"yesterday\"}",
            "`time` must be an RFC 3339 time such as `2026-11-24T15:00:00Z`, found a string",
        ),
        (
            "{\"type\":\"mesage\"}",
            "`type` must be one of `message`, `bot_reply`, `feedback`, `agent_joined`, `agent_reply`, `hand_back`, `customer_inactive` or `closed`, found `mesage`",
        ),
        ("{\"feedback\":1}", "`feedback` must be `positive` or `negative`, found a number"),
        (
            "{\"agents_online\":{\"q\":\"yes\"}}",
            "`agents_online` must be an object from queue names to true or false, found an object",
        ),
        ("{\"txet\":\"hi\"}", "unknown field `txet`, did you mean `text`?"),
        (
            "{\"outcome\":\"fixed\"}",
            "`outcome` must be one of `resolved`, `unresolved` or `customer_left`, found `fixed`",
        ),
        ("{\"outcome\":\"resolved\"}", "`outcome` is only for `closed` events, found on a `message` event"),
    ];
    for (line, message) in cases {
        let run = handrail(&["eval"], line);
        assert_eq!(run.code, 1, "{line}");
        assert!(run.stderr.contains(&format!("<stdin>:1: {message}")), "{line}: {}", run.stderr);
    }
}

/// With `--audit`, the payload stored for each decision is the event redacted per the conversation's retention:
/// a card number and an SSN the customer typed sat in clear in `payloads.bin` although the `retain` rule said to
/// redact them. A malformed line is stored redacted of every kind.
#[test]
fn personal_data_is_redacted_before_the_audit_log_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = keys(dir.path());
    let policy = dir.path().join("shop.policy");
    std::fs::write(
        &policy,
        r#"policy shop { version "1" safe_queue support }
phrases billing { "charged" }
@id("HR-BILLING") hard_route billing { when says billing route support }
retain pci { when matched billing keep 30 days redact ssn, card_number }
queue support { hours "24/7" }
"#,
    )
    .unwrap();
    let log = dir.path().join("log");
    let input = [
        r#"{"conversation":"p1","text":"I was charged twice on card 4111 1111 1111 1111","confidence":0.9}"#,
        // Held while waiting: no retention rule matches this event, but the conversation's does.
        r#"{"conversation":"p1","text":"my ssn is 123-45-6789","confidence":0.9}"#,
        r#"{"conversation":"p2","text":"ssn 078-05-1120 and card 5555 5555 5555 4444","confidnce":1}"#,
    ]
    .join("\n");
    let run = handrail(
        &[
            "eval",
            "--policy",
            policy.to_str().unwrap(),
            "--audit",
            log.to_str().unwrap(),
            "--audit-key",
            &secret,
        ],
        &input,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let d = decisions(&run.stdout);
    assert_eq!(d[0]["handoff"]["transcript"][0]["text"], "I was charged twice on card [card_number]");
    let stored = std::fs::read(log.join("payloads.bin")).unwrap();
    let stored = String::from_utf8_lossy(&stored);
    for secret in ["4111 1111 1111 1111", "123-45-6789", "078-05-1120", "5555 5555 5555 4444"] {
        assert!(!stored.contains(secret), "`{secret}` is stored in clear");
    }
    assert!(stored.contains("card [card_number]") && stored.contains("my ssn is [ssn]"), "{stored}");
    let verify = handrail(&["audit", "verify", log.to_str().unwrap(), "--key", &public], "");
    assert_eq!(verify.code, 0, "{}", verify.stdout);
}
