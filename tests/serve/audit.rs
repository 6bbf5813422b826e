//! Audit before answer: every decision a client receives is durable in the log first, and a log that cannot be
//! written gives 503 with the fail-safe, never a decision that is not recorded.

use serde_json::json;

use crate::{Scratch, Server, request};

#[test]
fn every_decision_answered_is_in_the_log_which_verifies() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.audit_args());
    assert_eq!(server.get("/readyz").json()["audit"], "writable");
    // Concurrent clients, so decisions share group commits.
    let addr = server.addr;
    let answered: Vec<serde_json::Value> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|w| {
                s.spawn(move || {
                    (0..10)
                        .map(|i| {
                            let event = json!({"conversation": format!("w{w}"), "text": format!("question {i} about opening hours"), "confidence": 0.9});
                            let reply = request(addr, "POST", "/v1/decide", &[], event.to_string().as_bytes());
                            assert_eq!(reply.status, 200, "{}", reply.text());
                            reply.json()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(answered.len(), 80);
    // Read while the server runs: what was answered is on disk already, not only after shutdown.
    let records = scratch.records();
    let decisions: Vec<&serde_json::Value> = records.iter().filter(|r| r["kind"] == "decision").collect();
    assert_eq!(decisions.len(), 80, "every answered decision is a record before shutdown");
    for d in &answered {
        let turn_time = d["time"].as_str().unwrap();
        assert!(
            decisions.iter().any(|r| r["conversation"] == d["conversation"] && r["time"] == turn_time),
            "answered but not in the log: {d}"
        );
    }
    assert_eq!(records[0]["kind"], "policy_deployed");
    let metrics = server.get("/metrics").text();
    let commits = metrics.lines().find(|l| l.starts_with("handrail_audit_fsync_seconds_count ")).unwrap();
    let commits: u64 = commits.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((1..=81).contains(&commits), "{commits} group commits for 80 decisions");
    assert!(server.stop().success());
    let (ok, report) = scratch.verify();
    assert!(ok, "{report}");
    assert!(report.contains("0 problems"), "{report}");
}

#[test]
fn a_log_that_cannot_be_written_gives_503_with_the_fail_safe_and_readyz_false() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.audit_args());
    let first = server
        .decide(&json!({"conversation": "f1", "text": "what are your opening hours?", "confidence": 0.93}));
    assert_eq!(first["action"], "answer");
    // The log file is moved away under the writer: its next commit refuses to write to a file it no longer holds.
    std::fs::rename(scratch.path("log").join("log.jsonl"), scratch.path("moved.jsonl")).unwrap();
    let reply = server.post(
        "/v1/decide",
        &json!({"conversation": "f1", "text": "what are your opening hours?", "confidence": 0.93})
            .to_string(),
    );
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.header("retry-after"), Some("1"));
    let body = reply.json();
    assert!(body["error"].as_str().unwrap().starts_with("the audit log cannot be written"), "{body}");
    assert_eq!(body["decision"]["action"], "handoff", "the fail-safe sends a person, never `answer`");
    assert_eq!(body["decision"]["reasons"], json!(["engine_error"]));
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["audit"], "failed");
    // The state did not advance on the refused decision, and later requests are refused too.
    assert_eq!(server.get("/v1/conversations/f1").json()["state"]["turn"], 1);
    let later = server.post("/v1/decide/batch", &json!([{"conversation": "f2", "text": "hi"}]).to_string());
    assert_eq!(later.status, 503);
    assert_eq!(later.json()["decision"][0]["reasons"], json!(["engine_error"]), "{}", later.text());
    assert!(server.get("/metrics").text().contains("handrail_ready 0"));
    // Nothing answered with 200 is missing from what was written.
    let moved = std::fs::read_to_string(scratch.path("moved.jsonl")).unwrap();
    assert_eq!(moved.lines().filter(|l| l.contains(r#""kind":"decision""#)).count(), 1);
}

#[test]
fn a_key_alone_turns_the_log_on_in_its_default_directory() {
    let scratch = Scratch::new();
    let key = scratch.path("key.key").display().to_string();
    let server = Server::start_in(scratch.dir.path(), &["--audit-key".into(), key], &[]);
    assert_eq!(server.get("/readyz").json()["audit"], "writable");
    server.decide(&json!({"conversation": "d1", "text": "hi"}));
    assert!(server.stop().success());
    let log = std::fs::read_to_string(scratch.path("handrail-audit/log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains(r#""kind":"decision""#)).count(), 1, "{log}");
}
