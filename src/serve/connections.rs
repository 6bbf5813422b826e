//! The accept loop: every connection under the cap, each one HTTP/1.1 or h2c (prior knowledge), its request
//! heads bounded in time, and all of them drained on shutdown.
//!
//! axum's own `serve` gives neither bound: it sets no timer, so hyper's header timeout never runs, and it accepts
//! every connection. A client that opens connections and sends nothing, or sends its headers a byte at a time
//! (slowloris), would hold a socket and a task each for as long as it liked. Here:
//!
//! - at most [`Limits::max_connections`] connections are open; one more is closed as soon as it is accepted
//!   (counted in `handrail_refused_total{why="connections"}`), so a flood is refused, not queued;
//! - a connection whose first byte does not arrive within [`Limits::header_timeout`] is closed (hyper starts its
//!   header timer only once it knows the protocol, which takes that first byte), and hyper closes an HTTP/1.1
//!   connection whose request head does not arrive within the same time after the first byte, or after the
//!   previous answer (so an idle keep-alive connection is closed after it too).

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::Limits;
use super::metrics::Metrics;

/// Accepts connections on `listener` and serves `router` on each until `stop` turns true; then stops accepting,
/// lets every connection finish the request it is on, and returns once all are closed.
pub(super) async fn accept(
    listener: TcpListener,
    router: axum::Router,
    limits: &Limits,
    metrics: &Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let cap = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS).min(u32::MAX as usize);
    let open = Arc::new(Semaphore::new(cap));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => Some(accepted),
            _ = stop.wait_for(|stop| *stop) => None,
        };
        let stream = match accepted {
            Some(Ok((stream, _))) => stream,
            Some(Err(e)) => {
                pause_after(&e).await;
                continue;
            }
            None => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            Metrics::count(&metrics.refused, "connections");
            drop(stream);
            continue;
        };
        // Answers are written whole: Nagle's wait would only add latency.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, permit, router.clone(), limits.header_timeout, stop.clone()));
    }
    drop(listener);
    // Every open connection holds a permit: all of them back means every connection is closed.
    let _ = open.acquire_many(u32::try_from(cap).unwrap_or(u32::MAX)).await;
}

/// Serves one connection, holding its place under the cap (`_open`) until it closes.
async fn connection(
    stream: TcpStream,
    _open: OwnedSemaphorePermit,
    router: axum::Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    // `peek`, not `readable`: readiness may be reported before any byte is there, and a byte must be.
    let mut first = [0u8; 1];
    tokio::select! {
        first = tokio::time::timeout(header_timeout, stream.peek(&mut first)) => {
            if !matches!(first, Ok(Ok(1..))) {
                tracing::debug!("a connection sent nothing within the header timeout, or closed; closed");
                return;
            }
        }
        _ = stop.wait_for(|stop| *stop) => return,
    }
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let served = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    tokio::pin!(served);
    let ended = tokio::select! {
        result = served.as_mut() => Some(result),
        _ = stop.wait_for(|stop| *stop) => None,
    };
    let result = match ended {
        Some(result) => result,
        None => {
            // Finishes the request in flight (its record durable first, as always), then closes.
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "a connection ended with an error");
    }
}

/// After a failed accept: at once for an error of that one connection, else (out of file descriptors, most
/// likely) a pause, so the loop does not spin while nothing can be accepted.
async fn pause_after(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
