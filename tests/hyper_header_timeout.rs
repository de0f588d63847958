//! hyper's header-read timeout fires through `aio::hyper::Timer`: a
//! client that sends part of a request head and then nothing has its
//! connection closed by `aio::hyper::serve`, and nothing is reported (a
//! slow client is not the server's error).
//!
//! On a paused clock (current_thread, `start_paused`) the default timeout
//! of `serve` (hyper's 30 s) is checked to the millisecond on the virtual
//! clock, which jumps to the timer once every task is idle, after the
//! virtual clock was moved an hour away from the real one: this only
//! holds if hyper's deadline went through aio's clock (`Timer::now` and
//! `sleep_until`). On 1 and 4 workers (real time) the timeout is 100 ms
//! and the test asserts the connection is closed, and not before the
//! timeout, which a loaded machine cannot break.

mod common;

use std::time::Duration;

use aio::net::{TcpListener, TcpStream};
use aio::time::Instant;
use axum::routing::get;
use axum::Router;

use common::{
    on_all_flavors_with, read_until_closed, reporting_and_paused_on_current_thread, Reports,
};

/// hyper's default header-read timeout, which `serve` enables by giving
/// hyper a timer.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The timeout configured on real time.
const SHORT_TIMEOUT: Duration = Duration::from_millis(100);

/// Connects, sends an unfinished request head, and reads until the server
/// closes; returns what it read and when the end came.
async fn stall(addr: std::net::SocketAddr) -> (Vec<u8>, Instant) {
    let s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: slow".to_vec())
        .await
        .0
        .unwrap();
    read_until_closed(&s).await
}

#[test]
fn an_unfinished_request_head_is_timed_out_through_aio_timer() {
    let reports = Reports::new();
    on_all_flavors_with(
        reporting_and_paused_on_current_thread(&reports),
        |flavor| async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let app = Router::new().route("/", get(|| async { "never asked" }));
            let mut server = aio::hyper::serve(listener, app);
            let timeout = if flavor.is_current_thread() {
                // Move the virtual clock well away from the real one: a
                // deadline taken from the real clock would now be an hour
                // in the virtual past and fire at once.
                aio::time::advance(Duration::from_secs(3600)).await;
                DEFAULT_TIMEOUT
            } else {
                server = server.configure(|b| {
                    b.http1().header_read_timeout(SHORT_TIMEOUT);
                });
                SHORT_TIMEOUT
            };
            let addr = server.local_addr();
            let server = aio::spawn(server);

            let start = Instant::now();
            let (got, closed_at) = stall(addr).await;
            let waited = closed_at - start;
            assert!(
                got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
                "[{flavor:?}] {:?}",
                String::from_utf8_lossy(&got)
            );
            assert!(waited >= timeout, "[{flavor:?}] closed after {waited:?}");
            if flavor.is_current_thread() {
                // Virtual time: exactly the timeout, up to the wheel's
                // 1 ms rounding.
                assert!(
                    waited <= timeout + Duration::from_millis(2),
                    "closed after {waited:?}"
                );
            }
            server.cancel();
        },
    );
    assert_eq!(reports.messages(), Vec::<String>::new());
}
