//! One connection of [`serve`](super::serve): the task that drives
//! hyper-util's auto (HTTP/1.1 or h2c) connection over a `TcpStream`,
//! shuts it down gracefully when told, and reports its error if the
//! server is to blame; and `Live`, the count of connections a graceful
//! shutdown waits for.
//!
//! Called by `serve.rs`; calls hyper-util and the runtime's exception
//! handler (through `crate::incoming::report`).

use super::report::Reporting;
use super::Executor;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::Arc;
use crate::TcpStream;
use aio_runtime::sync::{CancellationToken, Notify};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::error::Error as StdError;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync>;

/// What every connection of a server is served with.
pub(crate) struct Settings {
    /// hyper-util's per-connection builder (HTTP/1.1 and h2c).
    pub(crate) hyper: auto::Builder<Executor>,
    /// A connection that sends nothing this long after its accept is
    /// closed (`Serve::first_bytes_timeout`); hyper's own timeouts start
    /// with the first bytes.
    pub(crate) first_bytes: Option<Duration>,
}

/// The count of live connections, for a graceful shutdown to wait on.
#[derive(Debug, Default)]
pub(crate) struct Live {
    count: AtomicUsize,
    /// Notified (a permit is stored if nobody waits) when `count` drops
    /// to zero.
    ended: Notify,
}

/// One live connection; dropped when its task ends (or is cancelled).
#[derive(Debug)]
pub(crate) struct LiveGuard(Arc<Live>);

impl Live {
    /// Counts a connection in.
    pub(crate) fn enter(self: &Arc<Self>) -> LiveGuard {
        self.count.fetch_add(1, AcqRel);
        LiveGuard(self.clone())
    }

    /// Waits until no connection is live. Only meaningful once no more
    /// `enter` can happen (the accept loop has stopped).
    pub(crate) async fn all_ended(&self) {
        // A drop to zero between the check and the wait stores a permit.
        while self.count.load(Acquire) > 0 {
            self.ended.notified().await;
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, AcqRel) == 1 {
            self.0.ended.notify_one();
        }
    }
}

/// Where a connection stands with the shutdown token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// Its wait was never polled.
    Unregistered,
    /// Its waker is queued on the token.
    Registered,
    /// `graceful_shutdown` was called.
    ShuttingDown,
}

/// Serves one connection to its end; with `watch`, shuts it down
/// gracefully once the token is cancelled.
pub(crate) async fn serve_connection<S, B>(
    mut stream: TcpStream,
    settings: Arc<Settings>,
    service: S,
    watch: Option<(CancellationToken, LiveGuard)>,
) where
    S: tower_service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let _ = stream.set_nodelay(true);
    if let Some(limit) = settings.first_bytes {
        if !first_bytes(&mut stream, limit, watch.as_ref().map(|w| &w.0)).await {
            return;
        }
    }
    let peer = stream.peer_addr();
    let service = Reporting {
        inner: service,
        peer: peer.as_ref().ok().copied(),
    };
    let mut conn = pin!(settings
        .hyper
        .serve_connection_with_upgrades(stream, TowerToHyperService::new(service)));
    let res = match &watch {
        None => conn.await,
        Some((token, _live)) => {
            // The wait is polled once, which queues this task's waker on
            // the token; later polls only read the token's flag. (Polling
            // the wait at every wake of a busy connection took the
            // token's lock each time, shared by every connection.) The
            // waker of an aio task wakes that task whichever poll it came
            // from, so the queued one stays good.
            let mut cancelled = pin!(token.cancelled());
            let mut state = Watch::Unregistered;
            poll_fn(|cx| {
                let fire = match state {
                    Watch::Unregistered => cancelled.as_mut().poll(cx).is_ready(),
                    Watch::Registered => token.is_cancelled(),
                    Watch::ShuttingDown => false,
                };
                if fire {
                    state = Watch::ShuttingDown;
                    conn.as_mut().graceful_shutdown();
                } else if state == Watch::Unregistered {
                    state = Watch::Registered;
                }
                conn.as_mut().poll(cx)
            })
            .await
        }
    };
    if let Err(e) = res {
        if !caused_by_peer(&*e) {
            let peer = peer.map_or_else(|_| "a peer".to_string(), |p| p.to_string());
            crate::incoming::report(&format!(
                "aio::hyper::serve: error serving {peer}: {}",
                chain(&*e)
            ));
        }
    }
}

/// Waits up to `limit` for the connection's first bytes, which stay in the
/// stream's read buffer for hyper. hyper-util reads them to tell HTTP/1.1
/// from h2c before hyper's header-read timeout starts, so without this a
/// peer that connects and sends nothing (or only the start of the h2c
/// preface) would hold its fd and task forever. `false` (close the
/// connection, report nothing: the peer's doing) if none came in time, the
/// peer closed or failed, or `shutdown` was cancelled meanwhile.
async fn first_bytes(
    stream: &mut TcpStream,
    limit: Duration,
    shutdown: Option<&CancellationToken>,
) -> bool {
    let arrive = aio_runtime::time::wait_for(until_decidable(stream), limit);
    let arrived = match shutdown {
        None => arrive.await,
        Some(token) => {
            let mut arrive = pin!(arrive);
            let mut stop = pin!(token.cancelled());
            let raced = poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                arrive.as_mut().poll(cx).map(Some)
            })
            .await;
            match raced {
                Some(r) => r,
                None => return false,
            }
        }
    };
    matches!(arrived, Ok(Ok(true)))
}

/// The HTTP/2 connection preface, which hyper-util reads whole before it
/// picks HTTP/2.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Receives until hyper-util can tell the protocol from the bytes: they
/// hold the whole h2c preface, or they stop matching it (any HTTP/1
/// method does at once). `false` at end of stream.
async fn until_decidable(stream: &mut TcpStream) -> io::Result<bool> {
    loop {
        if !poll_fn(|cx| stream.poll_receive_more(cx)).await? {
            return Ok(false);
        }
        let got = stream.adapter_buffered();
        if got.len() >= H2_PREFACE.len() || !H2_PREFACE.starts_with(got) {
            return Ok(true);
        }
    }
}

/// Whether a connection's error is the peer's doing (it went away, reset,
/// sent something hyper rejects, was too slow), or the end of a
/// connection that a graceful shutdown interrupted before its first
/// request: those are not reported. An error of the service or of a
/// response body (hyper's "user" errors), a socket error of the server's
/// own, or an error from outside hyper is reported.
pub(crate) fn caused_by_peer(e: &(dyn StdError + 'static)) -> bool {
    let mut seen_hyper = false;
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return is_peer_io(io);
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_user() {
                return false;
            }
            seen_hyper = true;
        }
        cur = e.source();
    }
    seen_hyper
}

/// I/O errors a peer causes (or its network: unreachable when the
/// retransmits to a vanished client run out). `Interrupted` is
/// hyper-util's "Cancelled": a graceful shutdown ended a connection that
/// had not sent its first bytes yet.
fn is_peer_io(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset
            | ConnectionAborted
            | BrokenPipe
            | UnexpectedEof
            | NotConnected
            | TimedOut
            | Interrupted
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
    )
}

/// The error and its sources, `: `-separated.
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.ends_with(&s_text) {
            out += ": ";
            out += &s_text;
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_errors_are_told_from_the_servers_own() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(caused_by_peer(&reset));
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        assert!(!caused_by_peer(&emfile));
        let cancelled = io::Error::new(io::ErrorKind::Interrupted, "Cancelled");
        assert!(caused_by_peer(&cancelled));
        // A client whose network went away mid-response (ICMP unreachable
        // when the retransmits run out).
        let gone = io::Error::from_raw_os_error(libc::EHOSTUNREACH);
        assert!(caused_by_peer(&gone));
        let other: BoxError = "HTTP/2 is not supported".into();
        assert!(!caused_by_peer(&*other));
    }

    #[test]
    fn the_chain_names_each_source_once() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("body write error")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(io::Error::other("disk on fire"));
        assert_eq!(chain(&e), "body write error: disk on fire");
        assert!(!caused_by_peer(&e));
    }

    #[test]
    fn live_counts_down_to_a_stored_permit() {
        aio_runtime::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let live = Arc::new(Live::default());
                let a = live.enter();
                let b = live.enter();
                drop(a);
                drop(b); // zero before anyone waits: the permit is stored
                live.all_ended().await;
                let c = live.enter();
                let waiter = aio_runtime::task::spawn({
                    let live = live.clone();
                    async move { live.all_ended().await }
                });
                aio_runtime::task::yield_now().await;
                assert!(!waiter.is_done());
                drop(c);
                waiter.await.unwrap();
            });
    }
}
