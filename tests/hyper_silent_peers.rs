//! Peers that connect and then stay silent, against `aio::hyper::serve`:
//! one that sends nothing (or only the start of the h2c preface) is
//! closed after `Serve::first_bytes_timeout` (hyper's own header-read
//! timeout starts only with the first bytes); an HTTP/2 peer that never
//! answers a ping is closed by the keep-alive `serve` turns on, so it
//! cannot hold up a graceful shutdown. Nothing is reported: a silent peer
//! is not the server's error.
//!
//! On a paused clock (current_thread) the defaults are checked on the
//! virtual clock, moved an hour away from the real one first; on 1 and 4
//! workers (real time) the timeouts are 100 ms and the tests assert that
//! the connections end, and not before the timeout, which a loaded
//! machine cannot break.

mod common;

use std::time::Duration;

use aio::net::{TcpListener, TcpStream};
use aio::time::Instant;
use axum::routing::get;
use axum::Router;

use common::{
    on_all_flavors_with, read_until_closed, reporting_and_paused_on_current_thread, Reports,
};

/// `serve`'s default first-bytes timeout (hyper's header-read timeout).
const DEFAULT_FIRST_BYTES: Duration = Duration::from_secs(30);
/// The timeouts configured on real time.
const SHORT: Duration = Duration::from_millis(100);

fn app() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

/// Connects, sends `first` (maybe nothing), and reads until the server
/// closes; returns what it read and when the end came.
async fn stay_silent(addr: std::net::SocketAddr, first: &[u8]) -> (Vec<u8>, Instant) {
    let s = TcpStream::connect(addr).await.unwrap();
    if !first.is_empty() {
        s.write_all(first.to_vec()).await.0.unwrap();
    }
    read_until_closed(&s).await
}

#[test]
fn a_peer_that_sends_nothing_is_closed_after_the_first_bytes_timeout() {
    let reports = Reports::new();
    on_all_flavors_with(
        reporting_and_paused_on_current_thread(&reports),
        |flavor| async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut server = aio::hyper::serve(listener, app());
            let timeout = if flavor.is_current_thread() {
                aio::time::advance(Duration::from_secs(3600)).await;
                DEFAULT_FIRST_BYTES
            } else {
                server = server.first_bytes_timeout(SHORT);
                SHORT
            };
            let addr = server.local_addr();
            let server = aio::spawn(server);
            // Nothing at all; the first bytes of the h2c preface (which
            // hyper-util waits to complete before choosing HTTP/2).
            for first in [&b""[..], b"PRI"] {
                let start = Instant::now();
                let (got, closed_at) = if flavor.is_current_thread() {
                    // No guard timer here: the virtual clock jumps to the
                    // earliest timer whenever the runtime is idle, also
                    // while the connect is in flight, so a guard would move
                    // it before the server's timer exists (the watchdog
                    // catches a hang).
                    stay_silent(addr, first).await
                } else {
                    aio::wait_for(stay_silent(addr, first), Duration::from_secs(30))
                        .await
                        .expect("the server closed the silent connection")
                };
                let waited = closed_at - start;
                assert!(got.is_empty(), "[{flavor:?}] {got:?}");
                assert!(waited >= timeout, "[{flavor:?}] closed after {waited:?}");
                if flavor.is_current_thread() {
                    assert!(
                        waited <= timeout + Duration::from_millis(2),
                        "closed after {waited:?}"
                    );
                }
            }
            // A peer that talks is served as before.
            let s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec())
                .await
                .0
                .unwrap();
            let (n, buf) = s.read(Vec::with_capacity(1024)).await;
            assert!(buf[..n.unwrap()].starts_with(b"HTTP/1.1 200"));
            server.cancel();
        },
    );
    assert_eq!(reports.messages(), Vec::<String>::new());
}

#[test]
fn a_graceful_shutdown_ends_an_http2_peer_that_answers_no_ping() {
    let reports = Reports::new();
    on_all_flavors_with(
        reporting_and_paused_on_current_thread(&reports),
        |flavor| async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let stop = aio::sync::CancellationToken::new();
            let mut server = aio::hyper::serve(listener, app());
            if !flavor.is_current_thread() {
                server = server.configure(|b| {
                    b.http2()
                        .keep_alive_interval(SHORT)
                        .keep_alive_timeout(SHORT);
                });
            }
            let addr = server.local_addr();
            let server = aio::spawn(server.with_graceful_shutdown({
                let stop = stop.clone();
                async move { stop.cancelled().await }
            }));
            // The h2c preface and an empty SETTINGS frame, then silence:
            // no SETTINGS ack, no PING answer, nothing read.
            let peer = TcpStream::connect(addr).await.unwrap();
            let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
            peer.write_all(hello).await.0.unwrap();
            // Let the server take the connection in (it answers with its
            // SETTINGS), then shut down.
            let (n, _) = peer.read(Vec::with_capacity(1024)).await;
            assert!(n.unwrap() > 0);
            stop.cancel();
            // Ends: the keep-alive closes the silent peer. On the paused
            // clock the bound is virtual time (the defaults: a ping after
            // 30 s idle, 20 s to answer).
            let bound = if flavor.is_current_thread() {
                Duration::from_secs(600)
            } else {
                Duration::from_secs(30)
            };
            aio::wait_for(server, bound)
                .await
                .expect("the graceful shutdown ended")
                .unwrap()
                .unwrap();
            drop(peer);
        },
    );
    assert_eq!(reports.messages(), Vec::<String>::new());
}
