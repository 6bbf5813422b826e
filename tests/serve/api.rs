//! Every route of the API, against a server without a log (the audit tests run with one).

use serde_json::json;

use crate::{Server, request};

#[test]
fn decide_answers_the_decision_eval_gives_and_the_state_follows() {
    let server = Server::start(&[]);
    let event = json!({"conversation": "a1", "time": "2026-11-24T15:04:00Z", "text": "can I talk to a real person please", "confidence": 0.95});
    let decision = server.decide(&event);
    assert_eq!(decision["action"], "handoff");
    assert_eq!(decision["determining"], json!(["REQ-HUMAN"]));
    // The same event through `handrail eval` decides the same (the decision is the same JSON).
    let out = std::process::Command::new(crate::bin())
        .arg("eval")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(format!("{event}\n").as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let eval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decision, eval, "serve and eval decide one event alike");

    // The conversation now waits for a person: the next message holds, and the state says so.
    let again =
        server.decide(&json!({"conversation": "a1", "time": "2026-11-24T15:05:00Z", "text": "hello?"}));
    assert_eq!(again["action"], "hold");
    let state = server.get("/v1/conversations/a1");
    assert_eq!(state.status, 200, "{}", state.text());
    let state = state.json();
    assert_eq!(state["state"]["phase"], "waiting");
    assert_eq!(state["state"]["turn"], 2);
    assert_eq!(state["last_event"], "2026-11-24T15:05:00Z");

    // The other event types go through the same endpoint: an agent joins (the bot holds), hands back (the bot
    // answers again), the conversation closes.
    server.decide(&json!({"conversation": "a1", "time": "2026-11-24T15:06:00Z", "type": "agent_joined"}));
    assert_eq!(server.get("/v1/conversations/a1").json()["state"]["phase"], "human");
    server.decide(&json!({"conversation": "a1", "time": "2026-11-24T15:07:00Z", "type": "hand_back"}));
    assert_eq!(server.get("/v1/conversations/a1").json()["state"]["phase"], "bot");
    let answer = server.decide(&json!({"conversation": "a1", "time": "2026-11-24T15:08:00Z", "text": "what are your opening hours?", "confidence": 0.93}));
    assert_eq!(answer["action"], "answer");
    server.decide(&json!({"conversation": "a1", "time": "2026-11-24T15:09:00Z", "type": "closed"}));
    assert_eq!(server.get("/v1/conversations/a1").json()["state"]["phase"], "closed");

    let missing = server.get("/v1/conversations/nobody");
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].as_str().unwrap().contains("`nobody`"));
}

#[test]
fn an_invalid_event_names_its_fields_in_evals_words_and_gets_the_fail_safe() {
    let server = Server::start(&[]);
    let reply = server.post("/v1/decide", r#"{"conversation":"b1","txet":"hi","confidence":"high"}"#);
    assert_eq!(reply.status, 400, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["fields"], json!(["confidence", "txet"]), "{body}");
    let errors: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(errors.contains(&"`confidence` must be a number between 0 and 1, found a string"), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("unknown field `txet`, did you mean `text`?")), "{errors:?}");
    assert_eq!(body["decision"]["action"], "handoff");
    assert_eq!(body["decision"]["reasons"], json!(["engine_error"]));

    let not_json = server.post("/v1/decide", "chest pain help");
    assert_eq!(not_json.status, 400);
    assert!(
        not_json.json()["errors"][0].as_str().unwrap().starts_with("not valid JSON"),
        "{}",
        not_json.text()
    );
    let bytes =
        request(server.addr, "POST", "/v1/decide", &[], b"{\"conversation\":\"b2\",\"text\":\"caf\xe9\"}");
    assert_eq!(bytes.status, 400);
    assert!(bytes.json()["errors"][0].as_str().unwrap().starts_with("not valid UTF-8"), "{}", bytes.text());
}

#[test]
fn a_batch_is_decided_in_order_each_event_from_the_state_the_one_before_left() {
    let server = Server::start(&[]);
    let batch = json!([
        {"conversation": "c1", "time": "2026-11-24T15:04:00Z", "text": "can I talk to a real person please"},
        {"conversation": "c2", "time": "2026-11-24T15:04:10Z", "text": "what are your opening hours?", "confidence": 0.93},
        {"conversation": "c1", "time": "2026-11-24T15:04:20Z", "text": "hello? a person please"},
        {"conversation": "c3", "confidence": 7},
    ]);
    let reply = server.post("/v1/decide/batch", &batch.to_string());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let decisions = reply.json();
    let actions: Vec<&str> =
        decisions.as_array().unwrap().iter().map(|d| d["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["handoff", "answer", "hold", "handoff"]);
    assert_eq!(decisions[3]["reasons"], json!(["engine_error"]));
    assert!(
        decisions[3]["errors"][0].as_str().unwrap().starts_with("`confidence` must be"),
        "{}",
        decisions[3]
    );

    let not_array = server.post("/v1/decide/batch", r#"{"conversation":"c1"}"#);
    assert_eq!(not_array.status, 400);
    assert_eq!(not_array.json()["error"], "the body must be a JSON array of events");
    let too_many = format!("[{}]", vec!["{}"; handrail::serve::MAX_BATCH_EVENTS + 1].join(","));
    assert_eq!(server.post("/v1/decide/batch", &too_many).status, 413);
}

#[test]
fn health_readiness_and_metrics_tell_what_the_server_did() {
    let server = Server::start(&[]);
    assert_eq!(server.get("/healthz").json(), json!({"alive": true}));
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 200);
    let ready = ready.json();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["audit"], "off");
    let hash = ready["policy"]["hash"].as_str().unwrap().to_string();

    server.decide(&json!({"conversation": "m1", "text": "can I talk to a real person please"}));
    server.decide(&json!({"conversation": "m2", "text": "what are your opening hours?", "confidence": 0.93}));
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let text = metrics.text();
    for line in [
        r#"handrail_decisions_total{action="handoff",reason="explicit_request"} 1"#.to_string(),
        r#"handrail_decisions_total{action="answer",reason="default"} 1"#.to_string(),
        r#"handrail_rule_hits_total{rule="REQ-HUMAN"} 1"#.to_string(),
        "handrail_decide_seconds_count 2".to_string(),
        "handrail_audit_queue_depth 0".to_string(),
        "handrail_ready 1".to_string(),
        r#"handrail_policy_info{id="common",version="#.to_string(),
    ] {
        assert!(text.lines().any(|l| l.starts_with(&line)), "no `{line}` in\n{text}");
    }
    assert!(text.contains(&format!(r#"hash="{hash}"}} 1"#)), "the policy hash in force:\n{text}");
}

#[test]
fn the_openapi_document_is_the_one_in_the_repository_and_lists_exactly_the_routes() {
    let server = Server::start(&[]);
    let served = server.get("/openapi.json");
    assert_eq!(served.status, 200);
    let file = std::fs::read_to_string(crate::root().join("docs/openapi.json")).unwrap();
    assert_eq!(served.text(), file);
    let doc: serde_json::Value = serde_json::from_str(&file).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> =
        handrail::serve::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    routes.sort();
    assert_eq!(documented, routes, "docs/openapi.json and handrail::serve::ROUTES");
    // And the server answers every documented operation (with a path parameter filled in), but nothing else.
    for (method, path) in &documented {
        let path = path.replace("{id}", "x");
        let reply = request(server.addr, method, &path, &[], b"{}");
        assert!(
            ![404, 405].contains(&reply.status) || path == "/v1/conversations/x",
            "{method} {path}: {}",
            reply.status
        );
    }
    let unknown = server.get("/v1/nothing");
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].as_str().unwrap().contains("/openapi.json"));
    assert_eq!(request(server.addr, "DELETE", "/v1/decide", &[], b"").status, 405);
}

#[test]
fn http2_with_prior_knowledge_is_served() {
    // An HTTP/2 client: curl, which the machine has (a missing curl fails the test, it does not pass it).
    let server = Server::start(&[]);
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--http2-prior-knowledge",
            "-w",
            "\n%{http_version}",
            &format!("http://{}/healthz", server.addr),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, "{\"alive\":true}\n2", "{}", String::from_utf8_lossy(&out.stderr));
}
