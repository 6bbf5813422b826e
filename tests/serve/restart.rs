//! State that survives a restart (issue 9, point 3): rebuilt from the audit log, so a server killed between two
//! messages of a conversation decides the rest of it exactly as one that ran through.

use serde_json::json;

use crate::{Scratch, Server, at};

/// Three interleaved conversations of the clinic (phases, strikes, disclaimers, a handoff and its packet), with
/// times near now so they are within the idle bound when the server restarts.
fn conversation() -> Vec<serde_json::Value> {
    let base = chrono::Utc::now() - chrono::Duration::minutes(30);
    let lines = [
        ("k1", json!({"text": "Hi, can I book a checkup for next week?", "confidence": 0.91})),
        (
            "k2",
            json!({"text": "I've had a fever and a rash since Friday, is it serious?", "confidence": 0.62}),
        ),
        ("k1", json!({"text": "And where do I park?", "confidence": 0.3})),
        ("k3", json!({"text": "can I talk to a nurse please", "confidence": 0.95})),
        ("k1", json!({"text": "That didn't help. Where do I park my car?", "confidence": 0.31})),
        ("k2", json!({"text": "the rash is spreading to my arms", "confidence": 0.5})),
        ("k3", json!({"text": "hello? is anyone there?", "confidence": 0.9})),
        ("k1", json!({"text": "where can I park???", "confidence": 0.2})),
        ("k3", json!({"type": "agent_joined"})),
        ("k2", json!({"text": "thanks, what are your opening hours?", "confidence": 0.9})),
        ("k3", json!({"text": "thank you nurse", "confidence": 0.9})),
        ("k3", json!({"type": "hand_back"})),
        ("k1", json!({"text": "can I talk to the front desk", "confidence": 0.9})),
        ("k3", json!({"text": "one more question: do you take walk-ins?", "confidence": 0.9})),
    ];
    lines
        .into_iter()
        .enumerate()
        .map(|(i, (id, mut event))| {
            event["conversation"] = json!(id);
            event["time"] = json!(at(base, 20 * i as i64));
            event
        })
        .collect()
}

fn args(scratch: &Scratch) -> Vec<String> {
    let mut args = vec!["--policy".to_string(), "examples/clinic/clinic.policy".to_string()];
    args.extend(scratch.audit_args());
    args
}

#[test]
fn a_server_killed_mid_conversation_decides_the_rest_as_one_that_ran_through() {
    let events = conversation();
    let through = Scratch::new();
    let server = Server::start(&args(&through));
    let uninterrupted: Vec<serde_json::Value> = events.iter().map(|e| server.decide(e)).collect();
    let states: Vec<serde_json::Value> =
        ["k1", "k2", "k3"].iter().map(|id| server.get(&format!("/v1/conversations/{id}")).json()).collect();
    assert!(server.stop().success());

    // The same events, with SIGKILL (no drain, no close) after every third: each restart replays the log.
    let killed = Scratch::new();
    let mut interrupted = Vec::new();
    let mut server = Server::start(&args(&killed));
    for (i, event) in events.iter().enumerate() {
        if i > 0 && i % 3 == 0 {
            server.kill();
            server = Server::start(&args(&killed));
        }
        interrupted.push(server.decide(event));
    }
    for (i, (a, b)) in uninterrupted.iter().zip(&interrupted).enumerate() {
        assert_eq!(a, b, "event {i} ({}) decided otherwise after a restart", events[i]);
    }
    let after: Vec<serde_json::Value> =
        ["k1", "k2", "k3"].iter().map(|id| server.get(&format!("/v1/conversations/{id}")).json()).collect();
    assert_eq!(states, after, "the states after the last event");
    // What would make this fail: a restart that forgot the conversations. The seventh event ("hello? is anyone
    // there?", right after a restart) holds only because k3 is known to be waiting for a nurse.
    assert_eq!(interrupted[6]["action"], "hold", "{}", interrupted[6]);
    assert!(
        server.stderr_text().contains("rebuilt 3 conversations from the audit log"),
        "{}",
        server.stderr_text()
    );
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("handrail_restore_differed_total 0"), "{metrics}");
    assert!(server.stop().success());
    let (ok, report) = killed.verify();
    assert!(ok, "{report}");
}

#[test]
fn an_idle_conversation_starts_afresh_and_memory_is_bounded() {
    let server = Server::start(&["--idle".into(), "3600".into(), "--max-conversations".into(), "10".into()]);
    let base = chrono::Utc::now() - chrono::Duration::hours(3);
    let first = server.decide(
        &json!({"conversation": "i1", "time": at(base, 0), "text": "can I talk to a real person please"}),
    );
    assert_eq!(first["action"], "handoff");
    // Two hours later, past the one-hour bound: the conversation starts afresh (turn 1, a new handoff).
    let later = server.decide(
        &json!({"conversation": "i1", "time": at(base, 7200), "text": "can I talk to a real person please"}),
    );
    assert_eq!(later["turn"], 1, "{later}");
    assert_eq!(later["action"], "handoff");
    // Within the bound it goes on (turn 2, and the customer already waits: hold).
    let soon = server.decide(&json!({"conversation": "i1", "time": at(base, 7260), "text": "hello?"}));
    assert_eq!((soon["turn"].as_u64(), soon["action"].as_str()), (Some(2), Some("hold")));

    // Eleven conversations in a bound of ten: the longest idle ones are forgotten, the newest kept.
    let now = chrono::Utc::now();
    for n in 0..11 {
        server.decide(&json!({"conversation": format!("m{n}"), "time": at(now, n - 60), "text": "hi"}));
    }
    assert_eq!(server.get("/v1/conversations/m10").status, 200);
    assert_eq!(server.get("/v1/conversations/m0").status, 404, "the longest idle is forgotten first");
    let metrics = server.get("/metrics").text();
    let conversations = metrics.lines().find(|l| l.starts_with("handrail_conversations ")).unwrap();
    let held: u64 = conversations.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(held <= 10, "{conversations}");
    assert!(metrics.contains(r#"handrail_conversations_forgotten_total{why="memory"}"#), "{metrics}");
}
