//! `Incoming`: a listener's connections through one multishot accept.

use crate::listening::Listening;
use crate::loom::sync::Arc;
use crate::{TcpStream, UnixStream};
use aio_runtime::io::ops::{self, AcceptMulti, MultiOp};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::OwnedFd;
use std::task::Poll;

/// A stream type a listener accepts.
pub trait Accepted: sealed::Sealed + Sized {}

mod sealed {
    use std::os::fd::OwnedFd;

    pub trait Sealed {
        fn from_accepted(fd: OwnedFd) -> Self;
    }
}

impl sealed::Sealed for TcpStream {
    fn from_accepted(fd: OwnedFd) -> TcpStream {
        TcpStream::from_fd(fd)
    }
}
impl Accepted for TcpStream {}

impl sealed::Sealed for UnixStream {
    fn from_accepted(fd: OwnedFd) -> UnixStream {
        UnixStream::from_fd(fd)
    }
}
impl Accepted for UnixStream {}

/// The connections of a listener, accepted with one multishot SQE
/// (`IORING_ACCEPT_MULTISHOT`) instead of one SQE per connection: the
/// kernel accepts each connection as it arrives and queues it here until
/// [`accept`](Self::accept) takes it. Made by
/// [`TcpListener::incoming`](crate::TcpListener::incoming) and
/// [`UnixListener::incoming`](crate::UnixListener::incoming);
/// `start_server` accepts this way.
///
/// At most [`ACCEPT_QUEUE_MAX`](aio_runtime::io::ops::ACCEPT_QUEUE_MAX)
/// (64) connections wait here: then the kernel's accept is paused, later
/// connections stay in the listen backlog, and the next `accept` after the
/// queue has drained arms a new one. A slow consumer never turns a flood
/// of connections into a flood of open fds.
///
/// It keeps the socket listening until dropped, even after the listener
/// is gone. Dropping it cancels the accept and closes connections
/// accepted but not yet taken (their clients see a reset); once the
/// listener and all its `Incoming`s are dropped, the socket stops
/// listening at once. Unlike `accept` on the listener,
/// no peer address comes with a connection (the kernel cannot report it
/// for multishot accepts): ask the stream (`peer_addr`).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::{TcpListener, TcpStream};
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let mut incoming = listener.incoming();
/// let clients = aio::spawn(async move {
///     let a = TcpStream::connect(addr).await?;
///     let b = TcpStream::connect(addr).await?;
///     Ok::<_, std::io::Error>((a, b))
/// });
/// let first = incoming.accept().await?;
/// let second = incoming.accept().await?;
/// let (a, b) = clients.await.unwrap()?;
/// assert_eq!(first.peer_addr()?, a.local_addr()?);
/// assert_eq!(second.peer_addr()?, b.local_addr()?);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct Incoming<S: Accepted> {
    listening: Arc<Listening>,
    /// The armed accept; `None` before the first call and after the kernel
    /// ended one (re-armed by the next call).
    op: Option<MultiOp<AcceptMulti>>,
    _stream: std::marker::PhantomData<fn() -> S>,
}

impl<S: Accepted> fmt::Debug for Incoming<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listening", &self.listening)
            .field("armed", &self.op.is_some())
            .finish()
    }
}

impl<S: Accepted> Incoming<S> {
    pub(crate) fn new(listening: Arc<Listening>) -> Incoming<S> {
        Incoming {
            listening,
            op: None,
            _stream: std::marker::PhantomData,
        }
    }

    /// The next connection (non-blocking, close-on-exec).
    ///
    /// # Errors
    /// The accept error that ended the kernel's multishot accept: `EMFILE`
    /// / `ENFILE` (out of file descriptors), `ENOMEM`, … The next call
    /// arms a new one, so the caller can back off and go on; connections
    /// still in the backlog are not lost. (The kernel reads
    /// `RLIMIT_NOFILE` when it arms the accept: a limit lowered later
    /// applies from the next arming.)
    ///
    /// # Cancel safety
    /// Cancel-safe: a connection accepted while nobody waits stays queued
    /// for the next call.
    pub async fn accept(&mut self) -> io::Result<S> {
        poll_fn(|cx| loop {
            let fd = self.listening.fd();
            let op = self.op.get_or_insert_with(|| ops::accept_multi(fd));
            match op.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(res)) => {
                    return Poll::Ready(res.map(<S as sealed::Sealed>::from_accepted));
                }
                // The kernel ended it after its last result: arm another.
                Poll::Ready(None) => self.op = None,
            }
        })
        .await
    }
}
