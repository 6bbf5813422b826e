//! Policy reload without downtime: SIGHUP and `POST /v1/policy/reload` recompile and swap; a policy with errors
//! never replaces a good one; every swap is a `policy deployed` record.

use serde_json::json;

use crate::{Scratch, Server, request, write};

const GOOD: &str = r#"policy shop { version "1" safe_queue support }
phrases human { "agent" "a person" }
@id("REQ-HUMAN") request human { when says human route support }
queue support { hours "24/7" }
"#;

fn readyz_hash(server: &Server) -> String {
    server.get("/readyz").json()["policy"]["hash"].as_str().unwrap().to_string()
}

#[test]
fn a_bad_policy_never_replaces_a_good_one_and_every_swap_is_recorded() {
    let scratch = Scratch::new();
    let policy = scratch.path("shop.policy");
    write(&policy, GOOD);
    write(&scratch.path("admin"), "# the operators' token\nsecret-admin\n");
    let mut args = vec!["--policy".to_string(), policy.display().to_string()];
    args.extend(["--admin-token-file".to_string(), scratch.path("admin").display().to_string()]);
    args.extend(scratch.audit_args());
    let mut server = Server::start(&args);
    let first = readyz_hash(&server);
    let admin = [("Authorization", "Bearer secret-admin")];

    assert_eq!(request(server.addr, "POST", "/v1/policy/reload", &[], b"").status, 401);
    let wrong = request(server.addr, "POST", "/v1/policy/reload", &[("Authorization", "Bearer nope")], b"");
    assert_eq!(wrong.status, 401);

    // A policy with an error: refused with its diagnostics, the good one stays in force and keeps deciding.
    write(&policy, &GOOD.replace("says human", "says humans"));
    let refused = request(server.addr, "POST", "/v1/policy/reload", &admin, b"");
    assert_eq!(refused.status, 422, "{}", refused.text());
    let body = refused.json();
    assert!(body["error"].as_str().unwrap().contains("unchanged"), "{body}");
    assert!(body["diagnostics"].to_string().contains("humans"), "{body}");
    assert_eq!(readyz_hash(&server), first);
    let decision = server.decide(&json!({"conversation": "r1", "text": "an agent please"}));
    assert_eq!(decision["policy"]["hash"], first.as_str());
    assert_eq!(decision["determining"], json!(["REQ-HUMAN"]));
    assert!(server.stderr_text().contains("the policy has errors"), "the errors are logged too");

    // A good change over HTTP: swapped, the next decision under it.
    write(&policy, &GOOD.replace("version \"1\"", "version \"2\""));
    let deployed = request(server.addr, "POST", "/v1/policy/reload", &admin, b"");
    assert_eq!(deployed.status, 200, "{}", deployed.text());
    let second = deployed.json()["deployed"]["hash"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(readyz_hash(&server), second);
    assert_eq!(server.decide(&json!({"conversation": "r2", "text": "hi"}))["policy"]["version"], "2");

    // SIGHUP: a bad file is refused again, then a good one is swapped in.
    write(&policy, "policy broken {");
    server.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(readyz_hash(&server), second, "a policy with errors never replaces a good one");
    write(&policy, &GOOD.replace("version \"1\"", "version \"3\""));
    server.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let third = loop {
        let now = readyz_hash(&server);
        if now != second {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "SIGHUP did not swap the policy");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(server.get("/metrics").text().contains(&format!(r#"version="3",hash="{third}"}} 1"#)));
    assert!(server.stop().success());

    // The log: a deployment record for each policy put in force, in order, and each decision under its own.
    let records = scratch.records();
    let deployments: Vec<&str> = records
        .iter()
        .filter(|r| r["kind"] == "policy_deployed")
        .map(|r| r["policy"]["hash"].as_str().unwrap())
        .collect();
    assert_eq!(deployments, [first.as_str(), second.as_str(), third.as_str()]);
    let (ok, report) = scratch.verify();
    assert!(ok, "{report}");
}

#[test]
fn reload_over_http_is_off_without_an_admin_token() {
    let server = Server::start(&[]);
    let reply = server.post("/v1/policy/reload", "");
    assert_eq!(reply.status, 403);
    assert!(reply.json()["error"].as_str().unwrap().contains("--admin-token-file"));
}

/// A reload carries conversations on with their state, and its record says so: `audit replay` then keeps their
/// state across it instead of starting them afresh, and finds every decision where the server put it (a
/// customer waiting for a person before the reload is still waiting after it).
#[test]
fn a_reload_carries_conversations_on_and_replay_follows_them() {
    let scratch = Scratch::new();
    let policy = scratch.path("shop.policy");
    write(&policy, GOOD);
    let mut args = vec!["--policy".to_string(), policy.display().to_string()];
    args.extend(scratch.audit_args());
    let mut server = Server::start(&args);
    assert_eq!(server.decide(&json!({"conversation": "w", "text": "an agent please"}))["action"], "handoff");
    server.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while scratch.records_lenient().iter().filter(|r| r["kind"] == "policy_deployed").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "SIGHUP wrote no deployment record");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.decide(&json!({"conversation": "w", "text": "hello?"}))["action"], "hold");
    assert!(server.stop().success());

    let deployments: Vec<serde_json::Value> =
        scratch.records().into_iter().filter(|r| r["kind"] == "policy_deployed").collect();
    assert_eq!(deployments[1]["continues"], true, "{:?}", deployments[1]);
    let out = std::process::Command::new(crate::bin())
        .args(["audit", "replay"])
        .arg(scratch.path("log"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("0 differ"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
