//! # aio — Python's asyncio programming model on io_uring
//!
//! Write `async fn`s, run them with [`run`], start tasks with
//! [`create_task`], await them, cancel them, sleep, gather. Underneath, a
//! multithreaded work-stealing runtime whose workers park on io_uring
//! completions.
//!
//! ```
//! use std::time::Duration;
//!
//! async fn say_after(delay: Duration, what: &str) {
//!     aio::sleep(delay).await;
//!     println!("{what}");
//! }
//!
//! aio::run(async {
//!     let a = aio::create_task(say_after(Duration::from_millis(10), "hello"));
//!     let b = aio::create_task(say_after(Duration::from_millis(20), "world"));
//!     a.await.unwrap();
//!     b.await.unwrap();
//! });
//! ```
//!
//! Where asyncio's semantics bend for Rust (cancellation drops the future,
//! task handles detach on drop, no GIL), in short:
//!
//! - [`Task::cancel`](task::Task::cancel) drops the future at its current
//!   await point; `task.await` is linked (dropping the await cancels the
//!   task), `(&mut task).await` is not.
//! - Panics are caught per task and become a [`TaskError`](task::TaskError).
//! - The multi_thread flavor needs `Send` futures; `spawn_local` and the
//!   current_thread flavor take any future.

#![warn(missing_docs)]

pub use aio_macros::{main, select, stream, test};
pub use aio_runtime::runtime::run;
#[doc(hidden)]
pub use aio_runtime::stream_gen as __stream_gen;
pub use aio_runtime::task::{create_task, spawn, spawn_local};
pub use aio_runtime::time::{sleep, wait_for};
pub use aio_runtime::to_thread;

pub use aio_runtime::{context, future, io, queue, runtime, stream, sync, task, time};
// The operating system's parts sit on the op layer, which loom models
// (`--cfg loom`) do not build.
#[cfg(not(loom))]
pub use aio_runtime::{fs, process, signal};

pub mod net {
    //! Sockets and the asyncio streams: TCP ([`TcpListener`],
    //! [`TcpStream`], [`TcpSocket`]), UDP ([`UdpSocket`]), Unix sockets
    //! ([`UnixListener`], [`UnixStream`]), name resolution
    //! ([`lookup_host`]), and asyncio's high-level streams
    //! ([`open_connection`], [`start_server`], [`StreamReader`],
    //! [`StreamWriter`]).
    //!
    //! ```
    //! # aio::run(async {
    //! use aio::net::{TcpListener, TcpStream};
    //!
    //! let listener = TcpListener::bind("127.0.0.1:0").await?;
    //! let addr = listener.local_addr()?;
    //! let server = aio::spawn(async move {
    //!     let (conn, _) = listener.accept().await?;
    //!     conn.write_all(b"hello".to_vec()).await.0
    //! });
    //! let client = TcpStream::connect(addr).await?;
    //! let (n, buf) = client.read(Vec::with_capacity(16)).await;
    //! assert_eq!(&buf[..n?], b"hello");
    //! server.await.unwrap()?;
    //! # Ok::<(), std::io::Error>(()) }).unwrap();
    //! ```
    //!
    //! # Owned buffers, and the ecosystem's `read` and `write_all`
    //!
    //! The socket types' own `read`, `write` and `write_all` take an
    //! owned buffer and give it back (`BufResult`), because io_uring
    //! writes into the buffer after the call returns. The same types also
    //! implement the ecosystem's I/O traits (futures-io's `AsyncRead` /
    //! `AsyncWrite`, tokio's with feature `tokio-compat`, hyper's with
    //! feature `hyper`) through internally buffered adapters, so they can
    //! be handed to codecs, hyper, tungstenite or rustls as they are.
    //!
    //! Rust picks an inherent method over a trait's, so with
    //! `futures::AsyncWriteExt` or `tokio::io::AsyncWriteExt` imported,
    //! `stream.write_all(&payload)` still calls the owned-buffer method
    //! (and the compiler says that `&Vec<u8>` is not an owned buffer).
    //! Reach each one this way:
    //!
    //! - the owned-buffer methods: `stream.write_all(payload).await.0?`,
    //!   `let (n, buf) = stream.read(buf).await;`
    //! - the extension traits' methods: through [`Compat`], which has no
    //!   methods of its own: `let mut s = stream.compat();` then
    //!   `s.write_all(&payload).await?`, `s.read_to_end(&mut v).await?`
    //!   (or call them by path: `AsyncWriteExt::write_all(&mut stream, &payload)`).
    //!
    //! The adapters buffer: a read may receive ahead of what it returns
    //! (and leave a receive in flight when its caller stops polling), a
    //! write returns once its bytes are in the adapter, and a flush waits
    //! for the kernel to take them (hyper's flush only hands them to it).
    //! So in each direction use the adapter or the owned-buffer methods,
    //! not both (flush the adapter before an owned write — an owned write
    //! or shutdown says so if you did not, also on a stream hyper handed
    //! back after an upgrade; once you read through the adapter, keep
    //! reading through it). Dropping or `close()`ing a stream sends what the
    //! adapter's writes accepted first, as asyncio's `transport.close()`
    //! does; a send's error is returned by every later write and flush.
    //!
    //! Why not rename one side: the owned-buffer methods are the
    //! asyncio-shaped API this crate is built around (and the names
    //! tokio-uring and monoio use for the same thing), and the extension
    //! traits' names belong to those crates. `Compat` costs nothing (the
    //! adapters are the same) and keeps both names meaning what their
    //! users expect.
    #[doc(inline)]
    pub use aio_net::*;
}

/// hyper 1.x, hyper-util and tower (axum) on aio, without a tokio runtime
/// (feature `hyper`).
///
/// - `hyper::rt::Read` and `hyper::rt::Write` are implemented for
///   [`net::TcpStream`], [`net::UnixStream`] and the owned halves, so
///   hyper's connection builders take them as they are.
/// - [`Executor`](hyper::Executor) spawns hyper's background futures as aio
///   tasks; [`Timer`](hyper::Timer) runs hyper's timeouts on aio's timer
///   wheel (and follows a paused clock).
/// - [`serve`](hyper::serve) serves any tower service (an `axum::Router`
///   as it is) over HTTP/1.1 and h2c, with graceful shutdown.
/// - [`Connector`](hyper::Connector) connects hyper-util's pooled client.
///
/// ```
/// use axum::{routing::get, Router};
/// use http_body_util::{BodyExt, Empty};
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
///
/// aio::run(async {
///     let app = Router::new().route("/", get(|| async { "Hello, world!" }));
///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
///     let stop = aio::sync::CancellationToken::new();
///     let server = aio::hyper::serve(listener, app)
///         .with_graceful_shutdown({
///             let stop = stop.clone();
///             async move { stop.cancelled().await }
///         });
///     let url = format!("http://{}/", server.local_addr());
///     let server = aio::spawn(server);
///
///     let client: Client<_, Empty<Bytes>> = Client::builder(aio::hyper::Executor::default())
///         .timer(aio::hyper::Timer::default())
///         .build(aio::hyper::Connector::new());
///     let res = client.get(url.parse().unwrap()).await.unwrap();
///     let body = res.into_body().collect().await.unwrap().to_bytes();
///     assert_eq!(body, "Hello, world!");
///
///     stop.cancel();
///     server.await.unwrap()
/// }).unwrap();
/// ```
#[cfg(feature = "hyper")]
pub mod hyper {
    #[doc(inline)]
    pub use aio_net::hyper::*;
}
pub use aio_runtime::{gather, try_gather};
