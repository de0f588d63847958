//! `aio::hyper::serve(..).with_graceful_shutdown(signal)`: once the
//! signal completes, new connections are refused, an idle keep-alive
//! connection is closed, a slow request in flight still gets its whole
//! response, and the server resolves `Ok` only after it; over HTTP/1.1
//! and HTTP/2 (h2c), on current_thread, 1 and 4 workers.
//!
//! The slow handler waits for an `Event` the test sets, so every step is
//! ordered by the test, not by time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aio::hyper::{Connector, Executor, Timer};
use aio::net::{TcpListener, TcpStream};
use aio::sync::{CancellationToken, Event};
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;

use common::on_all_flavors;

/// How long the test waits for what must happen at once (a hang guard).
const HANG: Duration = Duration::from_secs(30);

/// The slow handler's two events: it has started; it may answer.
#[derive(Default)]
struct Slow {
    started: Event,
    release: Event,
}

fn router(slow: Arc<Slow>) -> Router {
    Router::new().route("/", get(|| async { "quick" })).route(
        "/slow",
        get(move || async move {
            slow.started.set();
            slow.release.wait().await;
            "slow but complete"
        }),
    )
}

/// Reads from `s` until `end` has arrived; returns everything read.
async fn read_until(s: &TcpStream, end: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    while !got.ends_with(end) {
        let (n, buf) = s.read(Vec::with_capacity(4096)).await;
        let n = n.expect("read");
        assert!(
            n > 0,
            "end of stream after {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn graceful_shutdown_finishes_the_slow_request_and_refuses_new_connections(http2: bool) {
    on_all_flavors(|flavor| async move {
        let slow = Arc::new(Slow::default());
        let stop = CancellationToken::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = aio::hyper::serve(listener, router(slow.clone()))
            // Only the shutdown may close the idle connection (hyper's
            // default 30 s header-read timeout would close it too).
            .configure(|b| {
                b.http1().header_read_timeout(None);
            })
            .with_graceful_shutdown({
                let stop = stop.clone();
                async move { stop.cancelled().await }
            });
        let addr = server.local_addr();
        let server = aio::spawn(server);

        // An idle keep-alive HTTP/1.1 connection, after one request.
        let idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())
            .await
            .0
            .unwrap();
        let first = read_until(&idle, b"quick").await;
        assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));

        // The slow request, in flight.
        let client: Client<_, Empty<Bytes>> = Client::builder(Executor::default())
            .timer(Timer::default())
            .http2_only(http2)
            .build(Connector::new());
        let slow_request = aio::spawn(async move {
            let res = client
                .get(format!("http://{addr}/slow").parse().unwrap())
                .await
                .expect("the slow response");
            let status = res.status();
            (status, res.into_body().collect().await.unwrap().to_bytes())
        });
        slow.started.wait().await;

        stop.cancel();

        // The idle connection is closed by the server...
        // (The bound is only a hang guard.)
        let (n, _) = aio::wait_for(idle.read(Vec::with_capacity(64)), HANG)
            .await
            .unwrap_or_else(|_| panic!("[{flavor:?}] the idle connection stays open"));
        assert_eq!(
            n.expect("read"),
            0,
            "[{flavor:?}] bytes on the idle connection"
        );
        // ... which it does after it stopped listening.
        let refused = TcpStream::connect(addr).await.map(|_| ()).unwrap_err();
        assert_eq!(
            refused.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "[{flavor:?}] {refused}"
        );
        assert!(
            !server.is_done(),
            "[{flavor:?}] resolved before the slow request"
        );
        assert!(!slow_request.is_done());

        slow.release.set();
        let (status, body) = slow_request.await.expect("slow request task");
        assert_eq!(status, 200);
        assert_eq!(body, "slow but complete");
        server
            .await
            .expect("server task")
            .expect("the graceful shutdown");
    });
}

#[test]
fn http1_graceful_shutdown_finishes_the_slow_request_and_refuses_new_connections() {
    graceful_shutdown_finishes_the_slow_request_and_refuses_new_connections(false);
}

#[test]
fn h2c_graceful_shutdown_finishes_the_slow_request_and_refuses_new_connections() {
    graceful_shutdown_finishes_the_slow_request_and_refuses_new_connections(true);
}

#[test]
fn a_graceful_shutdown_with_no_connection_resolves_at_once() {
    on_all_flavors(|_| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        aio::hyper::serve(listener, Router::new())
            .with_graceful_shutdown(async {})
            .await
            .unwrap();
        let refused = TcpStream::connect(addr).await.map(|_| ()).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}
