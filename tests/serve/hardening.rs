//! Hardening: the body limit, bearer tokens, 429 under overload, the time bound, the header timeout and the
//! connection cap, graceful shutdown, access logs.

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Scratch, Server, head, read_reply, request, write};

/// A decide request whose head and first bytes are sent, the rest held back: it is in flight until `finish`.
struct Held {
    stream: TcpStream,
    rest: Vec<u8>,
}

fn hold(server: &Server, event: &serde_json::Value) -> Held {
    let body = event.to_string().into_bytes();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream.write_all(&head("POST", "/v1/decide", &[], body.len())).unwrap();
    stream.write_all(&body[..5]).unwrap();
    stream.flush().unwrap();
    // Held until the server has read the head and admitted the request (no guess at how long that takes).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !server.get("/metrics").text().lines().any(|l| l == "handrail_in_flight 1") {
        assert!(std::time::Instant::now() < deadline, "the held request was never admitted");
        std::thread::sleep(Duration::from_millis(5));
    }
    Held { stream, rest: body[5..].to_vec() }
}

impl Held {
    fn finish(mut self) -> crate::Reply {
        self.stream.write_all(&self.rest).unwrap();
        read_reply(&mut self.stream)
    }
}

#[test]
fn a_body_over_the_limit_is_413_with_a_json_error() {
    let server = Server::start(&["--max-body".into(), "256".into()]);
    let big = json!({"conversation": "b", "text": "x".repeat(300)}).to_string();
    let reply = server.post("/v1/decide", &big);
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(reply.json()["error"].as_str().unwrap().contains("over the limit of 256 bytes"));
    let small = json!({"conversation": "b", "text": "hi"}).to_string();
    assert_eq!(server.post("/v1/decide", &small).status, 200);
}

#[test]
fn v1_routes_need_a_valid_bearer_token_and_probes_do_not() {
    let scratch = Scratch::new();
    write(&scratch.path("tokens"), "# bots\nbot-one\n\nbot-two\n");
    let server = Server::start(&["--token-file".into(), scratch.path("tokens").display().to_string()]);
    let event = json!({"conversation": "t1", "text": "hi"}).to_string();
    let none = server.post("/v1/decide", &event);
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert!(none.json()["error"].as_str().unwrap().contains("Authorization: Bearer"));
    for bad in ["Bearer bot-three", "Bearer bot-on", "Basic Ym90LW9uZQ==", "bot-one"] {
        let reply = request(server.addr, "POST", "/v1/decide", &[("Authorization", bad)], event.as_bytes());
        assert_eq!(reply.status, 401, "{bad}");
    }
    for good in ["Bearer bot-one", "Bearer bot-two"] {
        let reply = request(server.addr, "POST", "/v1/decide", &[("Authorization", good)], event.as_bytes());
        assert_eq!(reply.status, 200, "{good}: {}", reply.text());
    }
    assert_eq!(server.get("/v1/conversations/t1").status, 401);
    assert_eq!(
        request(server.addr, "GET", "/v1/conversations/t1", &[("Authorization", "Bearer bot-two")], b"")
            .status,
        200
    );
    for probe in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(server.get(probe).status, 200, "{probe} is for the platform, without a token");
    }
}

#[test]
fn over_the_in_flight_bound_a_request_gets_429_with_retry_after() {
    let server = Server::start(&["--max-in-flight".into(), "1".into()]);
    let held = hold(&server, &json!({"conversation": "o1", "text": "hi"}));
    let refused = server.post("/v1/decide", &json!({"conversation": "o2", "text": "hi"}).to_string());
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.json()["error"].as_str().unwrap().contains("at most 1"));
    assert_eq!(held.finish().status, 200, "the request in flight is answered");
    assert_eq!(
        server.post("/v1/decide", &json!({"conversation": "o2", "text": "hi"}).to_string()).status,
        200
    );
    assert!(server.get("/metrics").text().contains(r#"handrail_refused_total{why="in_flight"} 1"#));
}

#[test]
fn a_request_past_the_time_bound_gets_503() {
    let server = Server::start(&["--timeout".into(), "400".into()]);
    let started = Instant::now();
    let held = hold(&server, &json!({"conversation": "s1", "text": "hi"}));
    let mut stream = held.stream;
    let reply = read_reply(&mut stream);
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.json()["error"].as_str().unwrap().contains("within 400 ms"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigterm_drains_the_requests_in_flight_and_closes_the_log() {
    let scratch = Scratch::new();
    let mut server = Server::start(&scratch.audit_args());
    let held = hold(&server, &json!({"conversation": "g1", "text": "can I talk to a real person please"}));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.child.try_wait().unwrap().is_none(), "the server waits for the request in flight");
    let reply = held.finish();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["action"], "handoff");
    let status = server.wait();
    assert!(status.success(), "{status}: {}", server.stderr_text());
    // Closed cleanly: signed to its last record, nothing unsigned, the drained decision in it.
    let (ok, report) = scratch.verify();
    assert!(ok, "{report}");
    assert!(report.contains(" 0 unsigned"), "{report}");
    assert!(scratch.records().iter().any(|r| r["kind"] == "decision" && r["conversation"] == "g1"));
}

#[test]
fn access_logs_name_the_request_but_never_the_message() {
    let server = Server::start_with_env(&[], &[("HANDRAIL_LOG", "info")]);
    let secret = "my purple elephant is called Bartholomew";
    server.decide(&json!({"conversation": "private-id-77", "text": secret}));
    server.get("/v1/conversations/private-id-77");
    let server_log = {
        std::thread::sleep(Duration::from_millis(200));
        server.stderr_text()
    };
    assert!(server_log.contains("handrail::access"), "{server_log}");
    assert!(server_log.contains("path=/v1/decide") && server_log.contains("status=200"), "{server_log}");
    assert!(!server_log.contains("Bartholomew"), "message text in the log:\n{server_log}");
    assert!(!server_log.contains("private-id-77"), "a conversation id in the log:\n{server_log}");
}

/// Reads from `stream` until the server closes it (or resets it); returns what it sent first. Fails the test if
/// the connection is still open after `within`.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut sent = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match std::io::Read::read(stream, &mut buf) {
            Ok(0) => return sent,
            Ok(n) => sent.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return sent,
            Err(e) => panic!("the connection is still open after {within:?}: {e}"),
        }
    }
}

#[test]
fn a_client_that_sends_nothing_or_its_headers_slowly_is_cut_off() {
    let server = Server::start(&["--header-timeout".into(), "300".into()]);
    let started = Instant::now();
    let mut silent = TcpStream::connect(server.addr).unwrap();
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"POST /v1/decide HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").unwrap();
    // Slowloris: one byte of the header every 50 ms (the read timeout paces it), never the end of the head.
    slow.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 1024];
    let cut = loop {
        assert!(started.elapsed() < Duration::from_secs(10), "the slow sender was never cut off");
        if slow.write_all(b"a").is_err() {
            break started.elapsed();
        }
        match std::io::Read::read(&mut slow, &mut buf) {
            Ok(_) => break started.elapsed(),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break started.elapsed(),
            Err(_) => {}
        }
    };
    assert!(cut >= Duration::from_millis(300), "cut before its time: {cut:?}");
    assert!(cut < Duration::from_secs(5), "cut too late: {cut:?}");
    let before_any_byte = read_until_closed(&mut silent, Duration::from_secs(5));
    assert!(before_any_byte.is_empty(), "{}", String::from_utf8_lossy(&before_any_byte));
    // A client that sends its request in good time is served as ever.
    assert_eq!(
        server.post("/v1/decide", &json!({"conversation": "h1", "text": "hi"}).to_string()).status,
        200
    );
}

#[test]
fn a_connection_over_the_cap_is_closed_at_once_and_the_place_freed_is_reused() {
    let server = Server::start(&["--max-connections".into(), "2".into()]);
    // Two connections open (silent ones count: they hold a socket all the same). The server accepts in order,
    // so these two get the places and the third is over the cap.
    let first = TcpStream::connect(server.addr).unwrap();
    let _second = TcpStream::connect(server.addr).unwrap();
    let mut third = TcpStream::connect(server.addr).unwrap();
    let body = json!({"conversation": "cap1", "text": "hi"}).to_string();
    // The server may have closed it before the request is written: a failed write is the same refusal.
    let _ = third
        .write_all(&head("POST", "/v1/decide", &[], body.len()))
        .and_then(|_| third.write_all(body.as_bytes()));
    let answered = read_until_closed(&mut third, Duration::from_secs(5));
    assert!(answered.is_empty(), "over the cap, yet answered: {}", String::from_utf8_lossy(&answered));
    // The first closes: its place goes to the next connection (once the server has seen it close).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match crate::try_request(server.addr, "POST", "/v1/decide", &[], body.as_bytes()) {
            Ok(reply) => {
                assert_eq!(reply.status, 200, "{}", reply.text());
                break;
            }
            Err(_) => {
                assert!(Instant::now() < deadline, "the place of a closed connection was never freed");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    assert!(server.get("/metrics").text().contains(r#"handrail_refused_total{why="connections"}"#));
}
