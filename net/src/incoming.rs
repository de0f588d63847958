//! `Incoming`: a listener's connections through one multishot accept,
//! and the accept loop's error policy (`with_backoff`) that `start_server`
//! and users share.

use crate::listening::Listening;
use crate::loom::sync::Arc;
use crate::{TcpStream, UnixStream};
use aio_runtime::io::ops::{self, AcceptMulti, MultiOp};
use aio_runtime::runtime::{ExceptionContext, Handle};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::OwnedFd;
use std::task::Poll;
use std::time::Duration;

/// The first wait of [`Incoming::with_backoff`] after an accept ran out of
/// a resource (as `start_server` has always waited).
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// Each further failure doubles the wait, up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

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
/// For an accept loop that must not end when the process runs out of file
/// descriptors, use [`with_backoff`](Self::with_backoff).
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
    /// `with_backoff` was called.
    backoff: bool,
    _stream: std::marker::PhantomData<fn() -> S>,
}

impl<S: Accepted> fmt::Debug for Incoming<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listening", &self.listening)
            .field("armed", &self.op.is_some())
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl<S: Accepted> Incoming<S> {
    pub(crate) fn new(listening: Arc<Listening>) -> Incoming<S> {
        Incoming {
            listening,
            op: None,
            backoff: false,
            _stream: std::marker::PhantomData,
        }
    }

    /// Makes [`accept`](Self::accept) ride out the errors an accept loop
    /// should survive, so that `accept().await?` in a loop only ends on an
    /// error of the listener itself (as `start_server` does):
    ///
    /// - out of a resource (`EMFILE`, `ENFILE`: out of file descriptors;
    ///   `ENOBUFS`, `ENOMEM`): reported to the runtime's exception handler
    ///   (`accept() out of system resource (…); retrying in 100 ms`), then
    ///   it waits and tries again, 100 ms the first time, doubling up to
    ///   1 s. Connections meanwhile wait in the listen backlog and are
    ///   served once descriptors are free.
    /// - an error of one connection that accept(2) passes on (the peer
    ///   reset or aborted it, `EPROTO`, network unreachable, a firewall's
    ///   `EPERM`, …), and `EINTR` / `EAGAIN`: it tries again at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let mut incoming = listener.incoming().with_backoff();
    /// let client = aio::spawn(async move { TcpStream::connect(addr).await });
    /// // In a server's loop: `EMFILE` waits for free descriptors instead of
    /// // ending the loop through `?`.
    /// let conn = incoming.accept().await?;
    /// assert_eq!(conn.peer_addr()?, client.await.unwrap()?.local_addr()?);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn with_backoff(mut self) -> Incoming<S> {
        self.backoff = true;
        self
    }

    /// The next connection (non-blocking, close-on-exec).
    ///
    /// # Errors
    /// Without [`with_backoff`](Self::with_backoff): the accept error that
    /// ended the kernel's multishot accept: `EMFILE` / `ENFILE` (out of
    /// file descriptors), `ENOMEM`, `ECONNABORTED`, … The next call arms a
    /// new one, so the caller can back off and go on; connections still in
    /// the backlog are not lost. (The kernel reads `RLIMIT_NOFILE` when it
    /// arms the accept: a limit lowered later applies from the next
    /// arming.) With it: only errors of the listener itself (`EBADF`,
    /// `EINVAL` once it no longer listens, …).
    ///
    /// # Cancel safety
    /// Cancel-safe: a connection accepted while nobody waits stays queued
    /// for the next call, and one that arrives during a backoff waits in
    /// the listen backlog.
    pub async fn accept(&mut self) -> io::Result<S> {
        if !self.backoff {
            return self.accept_once().await;
        }
        let mut delay = BACKOFF_FIRST;
        loop {
            match self.accept_once().await {
                Err(e) if is_resource_exhaustion(&e) => {
                    report(&format!(
                        "accept() out of system resource ({e}); retrying in {} ms",
                        delay.as_millis()
                    ));
                    aio_runtime::time::sleep(delay).await;
                    delay = (delay * 2).min(BACKOFF_MAX);
                }
                Err(e) if is_per_connection(&e) => {}
                res => return res,
            }
        }
    }

    /// One result of the multishot accept, re-armed when the kernel ended it.
    async fn accept_once(&mut self) -> io::Result<S> {
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

/// The system is out of a resource: waiting may help.
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// An error of one connection, or an interruption: the next accept may
/// succeed at once. accept(2) passes pending network errors of the new
/// connection on and says to retry on them as on `EAGAIN`.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::ECONNRESET
                | libc::EINTR
                | libc::EAGAIN
                | libc::EPROTO
                | libc::EPERM
                | libc::ENETDOWN
                | libc::ENETUNREACH
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::ENONET
                | libc::EOPNOTSUPP
        )
    )
}

/// Reports to the runtime's exception handler (asyncio logs accept
/// failures through its loop's handler too).
pub(crate) fn report(msg: &str) {
    if let Ok(h) = Handle::try_current() {
        h.call_exception_handler(&ExceptionContext::from_message(msg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_sort_into_wait_retry_and_fail() {
        let e = io::Error::from_raw_os_error;
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(is_resource_exhaustion(&e(errno)) && !is_per_connection(&e(errno)));
        }
        for errno in [libc::ECONNABORTED, libc::EPROTO, libc::EINTR, libc::EAGAIN] {
            assert!(is_per_connection(&e(errno)) && !is_resource_exhaustion(&e(errno)));
        }
        for errno in [libc::EBADF, libc::EINVAL, libc::ENOTSOCK] {
            assert!(!is_per_connection(&e(errno)) && !is_resource_exhaustion(&e(errno)));
        }
    }
}
