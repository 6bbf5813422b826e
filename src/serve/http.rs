//! The HTTP side of `serve`: routes, authentication, limits, error bodies, access logs, signals.
//!
//! Every answer is JSON (but `/metrics`), and every error body is `{"error": "<sentence>", ...}` with, for an
//! invalid event, `errors` (each naming the field at fault, in `handrail eval`'s words), `fields` (the fields
//! named) and the fail-safe `decision`, which was recorded like any other. Access logs go through `tracing` at
//! level `info` and hold the method, path, status and latency only: never a message or a conversation id.

// A refusal is a whole response, built once on a path that is not the fast one; boxing it buys nothing.
#![expect(clippy::result_large_err, reason = "a refused request's `Err` is its whole HTTP response")]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use chrono::Utc;
use serde::Serialize;
use tokio::sync::{Semaphore, oneshot};

use super::decider::{Job, QueueError, Refusal, Shared};
use super::metrics::Metrics;
use super::{Config, Events, Limits, PolicySource, ROUTES, ServeError};
use crate::eval::Decision;
use crate::evidence::Received;

/// What every handler sees.
struct App {
    shared: Arc<Shared>,
    queue: super::decider::Queue,
    limits: Limits,
    /// SHA-256 of each accepted token: compared in constant time, and all of them every time.
    tokens: Vec<[u8; 32]>,
    admin_tokens: Vec<[u8; 32]>,
    in_flight: Arc<Semaphore>,
    source: PolicySource,
}

/// The handlers' state.
type AppRef = Arc<App>;

impl App {
    fn new(config: &Config, started: &super::Started) -> AppRef {
        Arc::new(App {
            shared: started.shared.clone(),
            queue: started.queue.clone(),
            limits: config.limits.clone(),
            tokens: config.tokens.iter().map(|t| digest(t.as_bytes())).collect(),
            admin_tokens: config.admin_tokens.iter().map(|t| digest(t.as_bytes())).collect(),
            in_flight: Arc::new(Semaphore::new(config.limits.max_in_flight.max(1))),
            source: config.source.clone(),
        })
    }
}

/// Serves `config` until SIGTERM or SIGINT (see [`super::run`]).
pub(super) async fn serve(mut config: Config, mut events: impl Events) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen { addr: config.listen, source })?;
    let started = tokio::task::block_in_place(|| super::start(&mut config))?;
    let app = App::new(&config, &started);
    let router = router(app.clone());
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(signals(app.clone(), stop_tx));
    tokio::spawn(sweep(app.clone()));
    events.listening(addr, &started.restored);
    tracing::info!(%addr, "listening");
    let server = {
        let (app, stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move {
            super::connections::accept(listener, router, &app.limits, &app.shared.metrics, stop).await;
        })
    };
    let _ = stop_rx.wait_for(|stop| *stop).await;
    tracing::info!("shutting down: draining requests in flight");
    if tokio::time::timeout(config.limits.drain, server).await.is_err() {
        tracing::warn!("requests still in flight after the drain time; closing the log anyway");
    }
    let (reply, closed) = oneshot::channel();
    let queue = app.queue.clone();
    let sent = tokio::task::spawn_blocking(move || queue.send_waiting(Job::Close { reply })).await;
    if matches!(sent, Ok(Ok(()))) {
        match closed.await {
            Ok(Ok(records)) => tracing::info!(records, "the audit log is closed"),
            Ok(Err(why)) => return Err(ServeError::Close(why)),
            Err(_) => return Err(ServeError::Close("the decider stopped before closing the log".into())),
        }
    }
    let decider = started.decider;
    let _ = tokio::task::spawn_blocking(move || decider.join()).await;
    Ok(())
}

/// The router: one handler per entry of [`ROUTES`], behind the timeout and the access log.
fn router(app: AppRef) -> axum::Router {
    let mut router = axum::Router::new();
    for (method, path) in ROUTES {
        let handler: MethodRouter<AppRef> = match (*method, *path) {
            ("POST", "/v1/decide") => post(decide),
            ("POST", "/v1/decide/batch") => post(decide_batch),
            ("GET", "/v1/conversations/{id}") => get(conversation),
            ("POST", "/v1/policy/reload") => post(reload_route),
            ("GET", "/healthz") => get(healthz),
            ("GET", "/readyz") => get(readyz),
            ("GET", "/metrics") => get(metrics),
            ("GET", "/openapi.json") => get(openapi),
            _ => continue,
        };
        router = router.route(path, handler);
    }
    router.fallback(not_found).layer(axum::middleware::from_fn_with_state(app.clone(), guard)).with_state(app)
}

/// Every request: the time bound, and one access-log line.
async fn guard(State(app): State<AppRef>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = match tokio::time::timeout(app.limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            Metrics::count(&app.shared.metrics.refused, "timeout");
            let ms = app.limits.timeout.as_millis();
            retry_later(error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the request did not complete within {ms} ms"),
            ))
        }
    };
    tracing::info!(
        target: "handrail::access",
        %method,
        path = %route_of(&path),
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    response
}

/// The path as logged: a conversation id is the customer's business, not the access log's.
fn route_of(path: &str) -> &str {
    if path.starts_with("/v1/conversations/") { "/v1/conversations/{id}" } else { path }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route; the API is in /openapi.json")
}

async fn decide(State(app): State<AppRef>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (_permit, bytes) = match admit(&app, &headers, body).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let received = received(&bytes);
    let response = match submit(&app, vec![received], true).await {
        Ok(mut decisions) => match decisions.pop() {
            Some(decision) if decision.errors.is_empty() => json(StatusCode::OK, &decision),
            Some(decision) => invalid_event(decision),
            None => error(StatusCode::INTERNAL_SERVER_ERROR, "no decision came back; this is a bug"),
        },
        Err(refused) => refused,
    };
    app.shared.metrics.latency.observe(started.elapsed().as_secs_f64());
    response
}

async fn decide_batch(State(app): State<AppRef>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (_permit, bytes) = match admit(&app, &headers, body).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let items: Vec<serde_json::Value> = match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Array(items)) => items,
        Ok(_) | Err(_) => {
            return error(StatusCode::BAD_REQUEST, "the body must be a JSON array of events");
        }
    };
    if items.len() > super::MAX_BATCH_EVENTS {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("a batch holds at most {} events, this one {}", super::MAX_BATCH_EVENTS, items.len()),
        );
    }
    // Each event is decoded from its own text, so it is validated and worded exactly as one `/v1/decide` body.
    let events = items.iter().map(|item| received(item.to_string().as_bytes())).collect();
    let response = match submit(&app, events, false).await {
        Ok(decisions) => json(StatusCode::OK, &decisions),
        Err(refused) => refused,
    };
    app.shared.metrics.latency.observe(started.elapsed().as_secs_f64());
    response
}

/// Decodes one event and stamps it with the clock when it carries no time, as `eval` does: the stamped time is
/// what is decided and stored, so a replay decides the same event.
fn received(bytes: &[u8]) -> Received {
    let mut received = Received::decode(bytes);
    received.event.time.get_or_insert_with(Utc::now);
    received
}

/// Hands events to the decider and waits for their decisions, durable first. `one`: the request was for one
/// event (its fail-safe is then an object, not an array).
async fn submit(app: &App, events: Vec<Received>, one: bool) -> Result<Vec<Decision>, Response> {
    let (reply, answer) = oneshot::channel();
    match app.queue.send(Job::Decide { events, reply }) {
        Ok(()) => {}
        Err(QueueError::Full) => {
            Metrics::count(&app.shared.metrics.refused, "queue_full");
            return Err(retry_later(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is overloaded (its decision queue is full); retry shortly",
            )));
        }
        Err(QueueError::Stopped) => {
            return Err(retry_later(error(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down")));
        }
    }
    match answer.await {
        Ok(Ok(decisions)) => {
            for d in &decisions {
                app.shared.metrics.decided(d);
            }
            Ok(decisions)
        }
        Ok(Err(Refusal { why, fail_safe })) => {
            Metrics::count(&app.shared.metrics.refused, "audit");
            #[derive(Serialize)]
            struct Body<'a> {
                error: String,
                /// What the bot must do meanwhile; not recorded, so not a decision of the policy.
                decision: &'a [Decision],
            }
            let body = Body {
                error: format!("the audit log cannot be written, so no decision was given ({why})"),
                decision: &fail_safe,
            };
            let mut value = serde_json::to_value(&body).unwrap_or_default();
            // One event, one decision: the fail-safe is an object as `/v1/decide` answers one.
            if let (true, Some(first), Some(slot)) = (one, fail_safe.first(), value.get_mut("decision")) {
                *slot = serde_json::to_value(first).unwrap_or_default();
            }
            Err(retry_later(json(StatusCode::SERVICE_UNAVAILABLE, &value)))
        }
        Err(_) => Err(retry_later(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server stopped before this request was decided",
        ))),
    }
}

/// A decided event that was not valid: 400, the fields at fault, and the fail-safe decision (recorded).
fn invalid_event(decision: Decision) -> Response {
    let fields: Vec<String> = decision.errors.iter().filter_map(|e| field_named(e)).collect();
    let body = serde_json::json!({
        "error": "the event is not valid; it got the fail-safe decision",
        "errors": decision.errors,
        "fields": fields,
        "decision": decision,
    });
    json(StatusCode::BAD_REQUEST, &body)
}

/// The field an error names: its first word in backticks (`eval`'s wording names the field first).
fn field_named(error: &str) -> Option<String> {
    let start = error.find('`')?.checked_add(1)?;
    let rest = error.get(start..)?;
    let end = rest.find('`')?;
    rest.get(..end).map(str::to_string)
}

async fn conversation(State(app): State<AppRef>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(refused) = authorised(&app, &headers, &app.tokens) {
        return refused;
    }
    let kept = app.shared.conversations().map.get(&id).cloned();
    match kept {
        Some(kept) => json(
            StatusCode::OK,
            &serde_json::json!({ "conversation": id, "last_event": kept.last, "state": kept.state }),
        ),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("no conversation `{id}` is held (never seen, idle past the bound, or forgotten)"),
        ),
    }
}

async fn reload_route(State(app): State<AppRef>, headers: HeaderMap) -> Response {
    if app.admin_tokens.is_empty() {
        return error(
            StatusCode::FORBIDDEN,
            "reload over HTTP is off; start with --admin-token-file, or send the server SIGHUP",
        );
    }
    if let Err(refused) = authorised(&app, &headers, &app.admin_tokens) {
        return refused;
    }
    match reload(&app).await {
        Ok(policy) => json(StatusCode::OK, &serde_json::json!({ "deployed": policy })),
        Err(Rejected::Errors(diagnostics)) => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &serde_json::json!({
                "error": "the policy has errors; the policy in force is unchanged",
                "diagnostics": diagnostics,
            }),
        ),
        Err(Rejected::Failed(why)) => error(StatusCode::SERVICE_UNAVAILABLE, &why),
    }
}

/// Why a reload left the policy in force.
enum Rejected {
    /// The new policy has errors (each as `handrail check --error-format json` prints it).
    Errors(Vec<serde_json::Value>),
    /// It could not be read or deployed.
    Failed(String),
}

/// Recompiles the policy from its source and, when it has no error, deploys it (its `policy_deployed` record
/// durable first). A policy with errors never replaces the one in force.
async fn reload(app: &App) -> Result<crate::audit::PolicyRef, Rejected> {
    let source = app.source.clone();
    let compiled = tokio::task::spawn_blocking(move || match &source.path {
        Some(path) => crate::compile::compile_file(path, &source.options).map_err(|e| e.to_string()),
        None => Ok(crate::compile::builtin_default()),
    })
    .await
    .map_err(|e| Rejected::Failed(format!("the compiler stopped: {e}")))
    .and_then(|r| r.map_err(Rejected::Failed));
    let output = match compiled {
        Ok(output) => output,
        Err(rejected) => {
            Metrics::count(&app.shared.metrics.reloads, "rejected");
            if let Rejected::Failed(why) = &rejected {
                tracing::error!(error = %why, "reload: the policy could not be read; the policy in force is unchanged");
            }
            return Err(rejected);
        }
    };
    let policy = match output.policy {
        Some(policy) if output.errors() == 0 => policy,
        _ => {
            Metrics::count(&app.shared.metrics.reloads, "rejected");
            let errors: Vec<_> = output
                .diagnostics
                .iter()
                .filter(|d| d.severity == crate::diagnostic::Severity::Error)
                .collect();
            for d in &errors {
                tracing::error!(
                    diagnostic = %d.render(&output.sources, crate::diagnostic::ErrorFormat::Plain).trim_end(),
                    "reload: the policy has errors; the policy in force is unchanged"
                );
            }
            return Err(Rejected::Errors(errors.iter().map(|d| d.json(&output.sources)).collect()));
        }
    };
    let reference = crate::audit::PolicyRef::from(&policy);
    let (reply, deployed) = oneshot::channel();
    let queue = app.queue.clone();
    let job = Job::Deploy { policy: Arc::new(policy), reply };
    let sent = tokio::task::spawn_blocking(move || queue.send_waiting(job)).await;
    if !matches!(sent, Ok(Ok(()))) {
        return Err(Rejected::Failed("the server is shutting down".into()));
    }
    match deployed.await {
        Ok(Ok(())) => {
            Metrics::count(&app.shared.metrics.reloads, "deployed");
            Ok(reference)
        }
        Ok(Err(why)) => {
            Metrics::count(&app.shared.metrics.reloads, "rejected");
            Err(Rejected::Failed(why))
        }
        Err(_) => Err(Rejected::Failed("the decider stopped".into())),
    }
}

async fn healthz() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "alive": true }))
}

async fn readyz(State(app): State<AppRef>) -> Response {
    let policy = crate::audit::PolicyRef::from(app.shared.policy().as_ref());
    let audit = if !app.shared.audited {
        "off"
    } else if app.shared.writable.load(Ordering::SeqCst) {
        "writable"
    } else {
        "failed"
    };
    let ready = audit != "failed";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json(status, &serde_json::json!({ "ready": ready, "policy": policy, "audit": audit }))
}

async fn metrics(State(app): State<AppRef>) -> Response {
    let free = app.in_flight.available_permits();
    let admitted = app.limits.max_in_flight.max(1).saturating_sub(free);
    app.shared.metrics.in_flight.set(i64::try_from(admitted).unwrap_or(i64::MAX));
    let mut response = Response::new(Body::from(app.shared.metrics.render()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

async fn openapi() -> Response {
    let mut response = Response::new(Body::from(super::OPENAPI));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Admits a decide request: authenticated, under the in-flight bound (429 beyond, with `Retry-After`), its body
/// read within the limit. The permit is held while the body is read: a slow sender counts as in flight.
async fn admit(
    app: &App,
    headers: &HeaderMap,
    body: Body,
) -> Result<(tokio::sync::OwnedSemaphorePermit, axum::body::Bytes), Response> {
    authorised(app, headers, &app.tokens)?;
    let permit = app.in_flight.clone().try_acquire_owned().map_err(|_| {
        Metrics::count(&app.shared.metrics.refused, "in_flight");
        retry_later(error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many requests in flight (at most {}); retry shortly", app.limits.max_in_flight),
        ))
    })?;
    Ok((permit, read_body(app, body).await?))
}

/// Checks the bearer token against `tokens` (none configured: everyone is let in). Every token is compared, in
/// constant time, whatever matched, so the time taken tells nothing about any of them.
fn authorised(app: &App, headers: &HeaderMap, tokens: &[[u8; 32]]) -> Result<(), Response> {
    if tokens.is_empty() {
        return Ok(());
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| digest(t.trim().as_bytes()));
    let matched = presented.is_some_and(|p| {
        use subtle::ConstantTimeEq as _;
        tokens.iter().fold(subtle::Choice::from(0), |any, t| any | t.ct_eq(&p)).into()
    });
    if matched {
        return Ok(());
    }
    Metrics::count(&app.shared.metrics.refused, "unauthorized");
    let mut response =
        error(StatusCode::UNAUTHORIZED, "a valid `Authorization: Bearer <token>` header is required");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Err(response)
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Reads a body of at most [`Limits::max_body`] bytes (413 beyond).
async fn read_body(app: &App, body: Body) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, app.limits.max_body).await.map_err(|_| {
        Metrics::count(&app.shared.metrics.refused, "too_large");
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over the limit of {} bytes (--max-body)", app.limits.max_body),
        )
    })
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    // INVARIANT: decisions, states and error bodies are strings, numbers and times only, so they serialise.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

/// Adds `Retry-After: 1` (seconds): overload and audit failures are worth retrying soon, on this or another
/// instance.
fn retry_later(mut response: Response) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// SIGTERM and SIGINT stop the server; SIGHUP reloads the policy.
async fn signals(app: AppRef, stop: tokio::sync::watch::Sender<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        tracing::error!("cannot install the signal handlers; stop the server with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => match reload(&app).await {
                Ok(policy) => tracing::info!(policy = %policy.id, hash = %policy.hash, "SIGHUP: policy deployed"),
                Err(_) => tracing::error!("SIGHUP: the policy was not replaced"),
            },
        }
    }
    let _ = stop.send(true);
}

/// Forgets idle conversations, every tenth of the idle bound (at most every minute).
async fn sweep(app: AppRef) {
    let every = (app.limits.idle / 10)
        .clamp(std::time::Duration::from_millis(100), std::time::Duration::from_secs(60));
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        let mut conversations = app.shared.conversations();
        let forgotten = conversations.expire(Utc::now());
        app.shared.metrics.conversations.set(i64::try_from(conversations.map.len()).unwrap_or(i64::MAX));
        drop(conversations);
        for _ in 0..forgotten {
            Metrics::count(&app.shared.metrics.forgotten, "idle");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::Duration;

    use axum::http::Request;
    use hyper::service::Service as _;

    use super::*;

    /// A server's state (no log, the built-in policy) with a decider queue of `queue`, without a listener.
    fn app(queue: usize) -> (AppRef, super::super::Started) {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            policy: crate::compile::builtin_default().policy.unwrap(),
            source: PolicySource::default(),
            audit: None,
            tokens: Vec::new(),
            admin_tokens: Vec::new(),
            limits: Limits { queue, ..Limits::default() },
        };
        let started = super::super::start(&mut config).unwrap();
        (App::new(&config, &started), started)
    }

    fn job(conversation: &str) -> (Job, oneshot::Receiver<Result<Vec<Decision>, Refusal>>) {
        let (reply, answer) = oneshot::channel();
        let event =
            format!(r#"{{"conversation":"{conversation}","text":"hi","time":"2026-01-05T10:00:00Z"}}"#);
        (Job::Decide { events: vec![Received::decode(event.as_bytes())], reply }, answer)
    }

    async fn post_decide(app: &AppRef, conversation: &str) -> Response {
        let body = format!(r#"{{"conversation":"{conversation}","text":"hi"}}"#);
        let request = Request::post("/v1/decide").body(Body::from(body)).unwrap();
        let service = hyper_util::service::TowerToHyperService::new(router(app.clone()));
        service.call(request).await.unwrap()
    }

    /// Waits until the decider has taken every job queued (the depth gauge is lowered as it takes them).
    fn until_taken(app: &App) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while app.shared.metrics.queue_depth.get() > 0 {
            assert!(std::time::Instant::now() < deadline, "the decider never took its job");
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_full_decider_queue_answers_503_with_retry_after_and_loses_no_queued_job() {
        let (app, started) = app(1);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // Held busy: the decider looks up a conversation it has not seen in the shared states, which this lock
        // keeps from it, so it stops at its first job until the lock is released.
        let held = app.shared.conversations();
        let (busy, busy_answer) = job("q-busy");
        app.queue.send(busy).unwrap();
        until_taken(&app);
        let (waiting, waiting_answer) = job("q-waiting");
        app.queue.send(waiting).expect("a queue of one has room for one while the decider is busy");
        let refused = runtime.block_on(post_decide(&app, "q-refused"));
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
        let body = runtime.block_on(axum::body::to_bytes(refused.into_body(), 1 << 20)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(body["error"].as_str().unwrap().contains("queue is full"), "{body}");
        assert!(app.shared.metrics.render().contains(r#"handrail_refused_total{why="queue_full"} 1"#));
        drop(held);
        // Both queued jobs are decided, and the queue takes requests again.
        for answer in [busy_answer, waiting_answer] {
            let decisions = runtime.block_on(answer).unwrap().unwrap();
            assert_eq!(decisions.len(), 1);
        }
        assert_eq!(runtime.block_on(post_decide(&app, "q-after")).status(), StatusCode::OK);
        drop(app);
        drop(started.queue);
        started.decider.join().unwrap();
    }
}
