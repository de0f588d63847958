//! Clients that leave in the middle of a response: `aio::hyper::serve`
//! reports nothing to the exception handler (the peer went away; that is
//! not the server's error), every connection's task ends, and no file
//! descriptor is left open, on current_thread, 1 and 4 workers. An error
//! of the server's own (its service fails) is reported, once per
//! connection.
//!
//! Open fds are counted in `/proc/self/fd`, so the tests of this file run
//! one at a time (`SERIAL`); closed sockets are released when their last
//! in-flight operation completes, so the count is awaited with
//! `eventually`, a bounded loop (waiting for a condition, not sleeping as
//! synchronisation).

mod common;

use std::sync::Mutex;
use std::time::Duration;

use aio::net::{TcpListener, TcpStream};
use aio::sync::CancellationToken;
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use hyper::body::Bytes;

use common::{on_all_flavors_with, Reports};

/// Clients per flavor that leave mid-response.
const CLIENTS: usize = 20;
/// The response body: far more than the socket buffers hold, so the
/// server is still writing when the client goes.
const BIG: usize = 32 << 20;

static SERIAL: Mutex<()> = Mutex::new(());

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .count()
}

async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..10_000 {
        if cond() {
            return true;
        }
        aio::sleep(Duration::from_millis(1)).await;
    }
    cond()
}

fn router() -> Router {
    let big = Bytes::from(vec![b'x'; BIG]);
    Router::new()
        .route("/big", get(move || async move { big.clone() }))
        .route(
            "/fails",
            get(|| async {
                // A streamed body whose second chunk is an error.
                let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                    Ok(Bytes::from_static(b"partial")),
                    Err(std::io::Error::other("the database went away")),
                ];
                Body::from_stream(futures::stream::iter(chunks))
            }),
        )
}

/// Serves `router()` gracefully until `stop`, runs `clients`, then stops
/// it and waits for it to end.
async fn with_server<F, Fut>(clients: F)
where
    F: FnOnce(std::net::SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let stop = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = aio::hyper::serve(listener, router()).with_graceful_shutdown({
        let stop = stop.clone();
        async move { stop.cancelled().await }
    });
    let addr = server.local_addr();
    let server = aio::spawn(server);
    clients(addr).await;
    stop.cancel();
    // Resolves once every connection's task has ended.
    server.await.unwrap().unwrap();
}

/// Sends `GET path`, reads until `at_least` bytes of the response came,
/// then closes without reading the rest (the kernel resets the
/// connection: unread data was pending).
async fn leave_mid_response(addr: std::net::SocketAddr, path: &str, at_least: usize) {
    let s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(req.into_bytes()).await.0.unwrap();
    let mut got = 0;
    while got < at_least {
        let (n, _) = s.read(Vec::with_capacity(16 * 1024)).await;
        let n = n.unwrap();
        assert!(n > 0, "end of stream after {got} bytes");
        got += n;
    }
    drop(s);
}

/// Runs `body` on every flavor, one test of this file at a time (the fd
/// counts), with the exception handler's reports recorded in the
/// `Reports` it gets (and returns).
fn serially_reporting<F, Fut>(body: F) -> Reports
where
    F: Fn(common::Flavor, Reports) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let reports = Reports::new();
    on_all_flavors_with(
        |_, b| {
            b.exception_handler(reports.handler());
        },
        |flavor| body(flavor, reports.clone()),
    );
    reports
}

#[test]
fn clients_leaving_mid_response_cause_no_report_and_leak_no_fd() {
    let reports = serially_reporting(|flavor, _| async move {
        let base = open_fds();
        with_server(|addr| async move {
            let clients: Vec<_> = (0..CLIENTS)
                .map(|_| aio::spawn(leave_mid_response(addr, "/big", 64 * 1024)))
                .collect();
            for c in clients {
                c.await.unwrap();
            }
        })
        .await;
        let back = eventually(|| open_fds() <= base).await;
        assert!(
            back,
            "[{flavor:?}] open fds: {} before, {} after",
            base,
            open_fds()
        );
    });
    assert_eq!(reports.messages(), Vec::<String>::new());
}

/// `reports` holds exactly one report, of `/fails`'s body error.
fn one_report_of_the_failing_body(reports: &Reports, flavor: common::Flavor) {
    let got = reports.take();
    assert_eq!(got.len(), 1, "[{flavor:?}] {got:?}");
    let msg = &got[0].message;
    assert!(
        msg.starts_with("aio::hyper::serve: error serving 127.0.0.1:")
            && msg.contains("the database went away"),
        "[{flavor:?}] {msg}"
    );
}

#[test]
fn a_failing_response_body_is_reported_once_per_connection() {
    serially_reporting(|flavor, reports| async move {
        with_server(|addr| async move {
            let s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /fails HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())
                .await
                .0
                .unwrap();
            // The server closes the connection after the failure.
            loop {
                let (n, _) = s.read(Vec::with_capacity(4096)).await;
                if n.map_or(true, |n| n == 0) {
                    break;
                }
            }
        })
        .await;
        one_report_of_the_failing_body(&reports, flavor);
    });
}

#[test]
fn an_http2_services_failing_body_is_reported_once_and_the_connection_serves_on() {
    use aio::hyper::{Connector, Executor, Timer};
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    serially_reporting(|flavor, reports| async move {
        with_server(|addr| async move {
            // h2c with prior knowledge: hyper handles a failing
            // stream inside the connection (it resets that stream
            // and goes on), so the connection's result never
            // carries the error.
            let client: Client<_, Empty<Bytes>> = Client::builder(Executor::default())
                .timer(Timer::default())
                .http2_only(true)
                .build(Connector::new());
            // The reset may overtake the head.
            let first = client
                .get(format!("http://{addr}/fails").parse().unwrap())
                .await;
            if let Ok(res) = first {
                assert!(
                    res.into_body().collect().await.is_err(),
                    "the stream is reset"
                );
            }
            let res = client
                .get(format!("http://{addr}/big").parse().unwrap())
                .await
                .expect("the same connection serves on");
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body.len(), BIG);
        })
        .await;
        one_report_of_the_failing_body(&reports, flavor);
    });
}
