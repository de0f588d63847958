//! The asyncio streams: `StreamReader` (buffered, limit-checked reads that
//! keep their bytes across cancellation), `StreamWriter` (synchronous
//! buffered writes flushed by the ring, `drain` for flow control), and the
//! `open_connection` / `start_server` family built on them.
//!
//! Calls the socket layer (`crate::tcp`, `crate::unix`) through the two
//! small traits below; called by users.

mod error;
mod pipe;
mod reader;
mod server;
mod sink;
mod source;
mod unix;
mod writer;

pub use error::{IncompleteReadError, ReadError};
pub use reader::{Lines, StreamReader};
pub use server::Server;
pub use unix::{open_unix_connection, start_unix_server};
pub use writer::StreamWriter;
pub(crate) use writer::LINGER;

pub(crate) use server::{streams, Accepted, Callback, Listen};

use crate::tcp::{TcpListener, TcpStream};
use crate::Incoming;
use std::future::Future;
use std::pin::Pin;

/// Opens a TCP connection and returns its stream pair (asyncio's
/// `open_connection`). `TCP_NODELAY` is set, as asyncio does.
///
/// # Errors
/// An invalid host or port, a failed resolution (naming the host), or the
/// connect error naming the address.
///
/// # Cancel safety
/// Dropping the future cancels the connect and closes its socket.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let err = aio::net::open_connection("127.0.0.1", 1).await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
/// assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
/// # });
/// ```
pub async fn open_connection(host: &str, port: u16) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    Ok(streams(stream.into_conn()))
}

/// The server accepts with one multishot SQE per listener.
impl Listen for Incoming<TcpStream> {
    fn accept(&mut self) -> Pin<Box<dyn Future<Output = Accepted> + Send + '_>> {
        Box::pin(async move {
            let s = Incoming::accept(self).await?;
            // As asyncio: small writes go out at once.
            let _ = s.set_nodelay(true);
            Ok(s.into_conn())
        })
    }
}

/// Starts a TCP server on every address `host` resolves to (asyncio's
/// `start_server`): each connection runs `cb(reader, writer)` in its own
/// task. Port 0 picks a free port (see [`Server::local_addrs`]).
///
/// # Errors
/// An invalid host or port, a failed resolution, or a bind error naming
/// the address (`AddrInUse`, …).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let server = aio::net::start_server(|_r, w| async move {
///     w.write(b"hello\n");
///     w.close();
/// }, "127.0.0.1", 0).await?;
/// let port = server.local_addrs()[0].port();
/// let (mut r, _w) = aio::net::open_connection("127.0.0.1", port).await?;
/// assert_eq!(r.readline().await?, b"hello\n");
/// server.close();
/// server.wait_closed().await;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn start_server<F, Fut>(cb: F, host: &str, port: u16) -> io::Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut listeners: Vec<Box<dyn Listen>> = Vec::new();
    let mut addrs = Vec::new();
    for a in crate::addr::resolve_nonempty((host, port)).await? {
        let l = TcpListener::bind(a).await?;
        addrs.push(l.local_addr()?);
        listeners.push(Box::new(l.incoming().with_backoff()));
    }
    Ok(Server::start(listeners, addrs, boxed(cb)))
}

/// Boxes a user callback.
pub(crate) fn boxed<F, Fut>(cb: F) -> Callback
where
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    crate::loom::sync::Arc::new(move |r, w| Box::pin(cb(r, w)))
}

use std::io;
use std::task::{Context, Poll};

/// Where a [`StreamReader`]'s bytes come from: a socket's read side, or a
/// child process's pipe.
///
/// Cancel safety is this trait's contract: a receive that is in flight when
/// the caller stops polling stays inside `self`, and the bytes it brings are
/// delivered by the next `poll_fill` call. Nothing received is ever dropped.
pub(crate) trait ByteSource: Send + 'static {
    /// Appends newly received bytes to `buf` and returns how many; `Ok(0)`
    /// means end of stream. `hint` is how many bytes the reader would like
    /// (an implementation may deliver fewer or more).
    fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        hint: usize,
    ) -> Poll<io::Result<usize>>;
}
