//! `serve`: an HTTP server for any tower service (an `axum::Router` as
//! it is) on a `TcpListener`, without tokio: accepts with
//! `incoming().with_backoff()`, spawns one task per connection (see
//! `connection.rs`), and ends either with the listener's error or, with
//! `with_graceful_shutdown`, when its signal completes and every
//! connection has finished.
//!
//! Graceful shutdown, in order: the accept loop stops and the listener is
//! dropped (it stops listening, so new connections are refused); a
//! `CancellationToken` tells every connection task, which calls hyper's
//! `graceful_shutdown` on its connection (an idle HTTP/1 keep-alive
//! connection closes at once, one in the middle of a request closes after
//! its response, HTTP/2 sends GOAWAY and finishes its open streams); the
//! future resolves when a count of live connections reaches zero (a
//! `Notify`, whose stored permit makes the wait race-free).
//!
//! Called by users; calls `connection.rs`, `Incoming` and aio's sync
//! primitives.

use super::connection::{serve_connection, Live, Settings};
use super::Executor;
use crate::loom::sync::Arc;
use crate::{Incoming, TcpListener, TcpStream};
use aio_runtime::sync::CancellationToken;
use hyper_util::server::conn::auto;
use std::error::Error as StdError;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync>;
type BoxRun = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;
type BoxSignal = Pin<Box<dyn Future<Output = ()> + Send>>;
/// Starts the serving future, with or without a shutdown signal.
type Start = Box<dyn FnOnce(Settings, Option<BoxSignal>) -> BoxRun + Send>;

/// How long a connection may stay silent after its accept
/// (`Serve::first_bytes_timeout`): hyper's default header-read timeout.
const FIRST_BYTES: Duration = Duration::from_secs(30);
/// HTTP/2 keep-alive: an idle connection is pinged this often, and closed
/// if the ping is not answered within hyper's keep-alive timeout (20 s).
const H2_KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Serves HTTP/1.1 and HTTP/2 (h2c, prior knowledge; detected per
/// connection) on `listener` with `service`: any
/// `tower_service::Service<http::Request<hyper::body::Incoming>>` that is
/// `Clone + Send + 'static`, such as an `axum::Router`. Await the returned
/// [`Serve`] to run the server; it serves until the listener fails.
///
/// Each connection runs in a task of its own (detached: dropping the
/// `Serve` stops accepting but lets connections go on; see
/// [`Serve::with_graceful_shutdown`] to wait for them). Connections get
/// `TCP_NODELAY`, the [`Timer`](super::Timer) (so hyper's default 30 s
/// header-read timeout applies) and the [`Executor`]. Silent peers are
/// bounded: a connection that sends nothing for 30 s after its accept is
/// closed ([`Serve::first_bytes_timeout`]; hyper's timeouts only start
/// with the first bytes), and an idle HTTP/2 connection is pinged every
/// 30 s and closed if the ping goes unanswered for 20 s (hyper's
/// keep-alive, which `serve` turns on; change it with
/// [`Serve::configure`]). Accepting rides out running out of file
/// descriptors (`EMFILE`: it reports, waits and goes on; see
/// [`Incoming::with_backoff`]).
///
/// A connection's error is reported to the runtime's exception handler
/// (`aio::hyper::serve: error serving 127.0.0.1:50312: …`) when the
/// server is to blame: the service returned an error, a response body
/// failed (on HTTP/2 too, where hyper resets only that stream and the
/// connection serves on), a socket error that is not the peer's doing.
/// What peers do (disconnect mid-response, reset, send garbage, time out)
/// is not reported.
///
/// # Examples
///
/// ```
/// use axum::{extract::Path, routing::get, Router};
/// use http_body_util::{BodyExt, Empty};
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
///
/// aio::run(async {
///     let app = Router::new()
///         .route("/", get(|| async { "Hello, world!" }))
///         .route("/hello/{name}", get(|Path(name): Path<String>| async move {
///             format!("Hello, {name}!")
///         }));
///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
///     let server = aio::hyper::serve(listener, app);
///     let addr = server.local_addr();
///     let server = aio::spawn(server);
///
///     let client: Client<_, Empty<Bytes>> = Client::builder(aio::hyper::Executor::default())
///         .build(aio::hyper::Connector::new());
///     let res = client.get(format!("http://{addr}/hello/aio").parse().unwrap()).await.unwrap();
///     assert_eq!(res.status(), 200);
///     let body = res.into_body().collect().await.unwrap().to_bytes();
///     assert_eq!(body, "Hello, aio!");
///     server.cancel();
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub fn serve<S, B>(listener: TcpListener, service: S) -> Serve
where
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
    let local = listener.local_addr();
    // Only the Incoming keeps listening from here on: dropping it stops.
    let incoming = listener.incoming().with_backoff();
    let start: Start = Box::new(move |settings, signal| {
        Box::pin(run(incoming, service, Arc::new(settings), signal))
    });
    let mut builder = auto::Builder::new(Executor::default());
    builder.http1().timer(super::Timer::default());
    builder
        .http2()
        .timer(super::Timer::default())
        .keep_alive_interval(H2_KEEP_ALIVE);
    Serve {
        local: local.map_err(|e| e.kind()),
        settings: Some(Settings {
            hyper: builder,
            first_bytes: Some(FIRST_BYTES),
        }),
        start: Some(start),
        run: None,
    }
}

/// The server [`serve`] returns: a future that serves until the listener
/// fails (`Err`), never otherwise.
///
/// # Cancel safety
/// Dropping it stops accepting and closes the listener; connections
/// already accepted go on in their tasks.
///
/// # Examples
///
/// ```no_run
/// # async fn app() -> std::io::Result<()> {
/// let listener = aio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let router = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
/// aio::hyper::serve(listener, router).await
/// # }
/// ```
#[must_use = "a server does nothing unless awaited"]
pub struct Serve {
    local: Result<SocketAddr, io::ErrorKind>,
    settings: Option<Settings>,
    start: Option<Start>,
    run: Option<BoxRun>,
}

impl fmt::Debug for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("local_addr", &self.local)
            .field("running", &self.run.is_some())
            .finish()
    }
}

impl Serve {
    /// The address the listener is bound to (for a listener bound to port
    /// 0, the port it got).
    ///
    /// # Panics
    /// If the listener's address could not be read when `serve` was
    /// called (not an IP socket), which a `TcpListener` from `bind` never
    /// causes.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let router = axum::Router::new();
    ///     let server = aio::hyper::serve(listener, router);
    ///     assert_ne!(server.local_addr().port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local
            .unwrap_or_else(|e| panic!("the listener's address could not be read: {e}"))
    }

    /// Changes the connections' hyper settings: `f` gets hyper-util's
    /// per-connection builder (`http1()`, `http2()`: timeouts, limits,
    /// keep-alive), already given aio's [`Timer`](super::Timer).
    ///
    /// # Panics
    /// If called after the server was first polled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// aio::run(async {
    ///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let server = aio::hyper::serve(listener, axum::Router::new()).configure(|b| {
    ///         b.http1().header_read_timeout(Duration::from_secs(5));
    ///         b.http2().max_concurrent_streams(100);
    ///     });
    ///     drop(server);
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn configure(mut self, f: impl FnOnce(&mut auto::Builder<Executor>)) -> Serve {
        f(&mut self
            .settings
            .as_mut()
            .expect("Serve::configure called after the server started")
            .hyper);
        self
    }

    /// Closes a connection that has sent nothing `timeout` after it was
    /// accepted (default 30 s, as hyper's header-read timeout); `None`:
    /// never. hyper's own timeouts only start with the first bytes (which
    /// tell HTTP/1.1 from h2c), so this is what bounds a peer that connects
    /// and stays silent. Such a connection is not reported.
    ///
    /// # Panics
    /// If called after the server was first polled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// aio::run(async {
    ///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let server = aio::hyper::serve(listener, axum::Router::new())
    ///         .first_bytes_timeout(Duration::from_secs(5));
    ///     drop(server);
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn first_bytes_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Serve {
        self.settings
            .as_mut()
            .expect("Serve::first_bytes_timeout called after the server started")
            .first_bytes = timeout.into();
        self
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops
    /// accepting (the listener is closed: new connections are refused),
    /// lets in-flight requests finish, closes idle keep-alive
    /// connections (HTTP/2 ones get a GOAWAY), and resolves once every
    /// connection has ended.
    ///
    /// A client that keeps a request unfinished keeps the shutdown
    /// waiting; bound it with [`aio::wait_for`](aio_runtime::time::wait_for)
    /// if needed (dropping the future then leaves the connections to
    /// their tasks). Connections hyper handed over as upgraded (a
    /// WebSocket's) are the application's from then on: the shutdown
    /// neither tells nor waits for them, as with `axum::serve`.
    ///
    /// # Panics
    /// If called after the server was first polled.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let stop = aio::sync::CancellationToken::new();
    ///     let server = aio::hyper::serve(listener, axum::Router::new())
    ///         .with_graceful_shutdown({
    ///             let stop = stop.clone();
    ///             async move { stop.cancelled().await }
    ///         });
    ///     let server = aio::spawn(server);
    ///     stop.cancel();
    ///     server.await.unwrap()?; // every connection has ended
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> WithGracefulShutdown
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let start = self
            .start
            .take()
            .expect("Serve::with_graceful_shutdown called after the server started");
        let settings = self.settings.take().expect("the settings");
        WithGracefulShutdown {
            local: self.local,
            run: start(settings, Some(Box::pin(signal))),
        }
    }
}

impl Future for Serve {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.run.is_none() {
            let start = this.start.take().expect("Serve polled after completion");
            let settings = this.settings.take().expect("the settings");
            this.run = Some(start(settings, None));
        }
        this.run.as_mut().expect("started").as_mut().poll(cx)
    }
}

/// The server of [`Serve::with_graceful_shutdown`]: a future that serves
/// until its signal, then shuts down gracefully and resolves `Ok` once
/// every connection has ended (or `Err` if the listener failed first,
/// after the same shutdown).
///
/// # Cancel safety
/// Dropping it stops accepting and closes the listener; connections go on
/// in their tasks (those told to shut down still finish gracefully).
///
/// # Examples
///
/// ```no_run
/// # async fn app() -> std::io::Result<()> {
/// let listener = aio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let router = axum::Router::new();
/// let ctrl_c = async { /* a signal */ };
/// aio::hyper::serve(listener, router).with_graceful_shutdown(ctrl_c).await
/// # }
/// ```
#[must_use = "a server does nothing unless awaited"]
pub struct WithGracefulShutdown {
    local: Result<SocketAddr, io::ErrorKind>,
    run: BoxRun,
}

impl fmt::Debug for WithGracefulShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithGracefulShutdown")
            .field("local_addr", &self.local)
            .finish()
    }
}

impl WithGracefulShutdown {
    /// The address the listener is bound to; see [`Serve::local_addr`].
    ///
    /// # Panics
    /// As [`Serve::local_addr`].
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let server = aio::hyper::serve(listener, axum::Router::new())
    ///         .with_graceful_shutdown(async {});
    ///     assert_eq!(server.local_addr(), addr);
    ///     Ok::<(), std::io::Error>(())
    /// }).unwrap();
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local
            .unwrap_or_else(|e| panic!("the listener's address could not be read: {e}"))
    }
}

impl Future for WithGracefulShutdown {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.run.as_mut().poll(cx)
    }
}

/// The accept loop; with a signal, the graceful shutdown after it.
async fn run<S, B>(
    mut incoming: Incoming<TcpStream>,
    service: S,
    settings: Arc<Settings>,
    signal: Option<BoxSignal>,
) -> io::Result<()>
where
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
    let Some(mut signal) = signal else {
        loop {
            let stream = incoming.accept().await?;
            spawn(stream, &settings, &service, None);
        }
    };
    let shutdown = CancellationToken::new();
    let live = Arc::new(Live::default());
    let res = loop {
        let accepted = {
            let mut accept = std::pin::pin!(incoming.accept());
            poll_fn(|cx| {
                if signal.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                accept.as_mut().poll(cx).map(Some)
            })
            .await
        };
        match accepted {
            None => break Ok(()),
            Some(Ok(stream)) => {
                let watch = (shutdown.clone(), live.enter());
                spawn(stream, &settings, &service, Some(watch));
            }
            Some(Err(e)) => break Err(e),
        }
    };
    // Stop listening: connections from now on are refused.
    drop(incoming);
    shutdown.cancel();
    live.all_ended().await;
    res
}

/// Spawns the task of one connection.
fn spawn<S, B>(
    stream: TcpStream,
    settings: &Arc<Settings>,
    service: &S,
    watch: Option<(CancellationToken, super::connection::LiveGuard)>,
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
    let task = serve_connection(stream, settings.clone(), service.clone(), watch);
    drop(aio_runtime::task::spawn(task));
}
