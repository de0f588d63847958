//! `TcpListener`: accepts connections through `IORING_OP_ACCEPT` (one SQE
//! per connection, or multishot with `incoming`).

use super::{TcpSocket, TcpStream};
use crate::addr::{ip_from_raw, resolve_nonempty, ToSocketAddrs};
use crate::listening::Listening;
use crate::loom::sync::Arc;
use crate::Incoming;
use aio_runtime::io::{ops, SharedFd};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// A TCP socket listening for connections.
///
/// It stops listening as soon as it and every [`Incoming`] made from it
/// are dropped (or it is [`close`](Self::close)d): the port is free for a
/// new `bind` at once, even while a cancelled accept is still on its way
/// out of the ring.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::{TcpListener, TcpStream};
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let client = aio::spawn(async move { TcpStream::connect(addr).await });
/// let (conn, peer) = listener.accept().await?;
/// let client = client.await.unwrap()?;
/// assert_eq!(peer, client.local_addr()?);
/// assert_eq!(conn.peer_addr()?, client.local_addr()?);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    listening: Arc<Listening>,
    local: SocketAddr,
}

impl TcpListener {
    /// Binds to the first of `addr`'s addresses that works, with
    /// `SO_REUSEADDR` and a backlog of 1024 (use [`TcpSocket`] for other
    /// options). Port 0 picks a free port; see [`local_addr`](Self::local_addr).
    ///
    /// # Errors
    /// An invalid address, a failed resolution, or the last bind error
    /// (`AddrInUse`, `PermissionDenied`, …).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last = None;
        for a in resolve_nonempty(addr).await? {
            let r = TcpSocket::for_addr(&a).and_then(|s| {
                s.set_reuseaddr(true)?;
                s.bind(a)?;
                s.listen(1024)
            });
            match r {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one address"))
    }

    pub(crate) fn from_listening(fd: OwnedFd) -> io::Result<TcpListener> {
        let sock = socket2::SockRef::from(&fd);
        let local = sock
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket"))?;
        Ok(TcpListener {
            listening: Arc::new(Listening::new(SharedFd::new(fd))),
            local,
        })
    }

    /// Takes over a listening std socket (set to non-blocking here). The
    /// socket stops listening when this listener is dropped, also for any
    /// duplicate of it (`try_clone`) made before.
    ///
    /// # Errors
    /// If its address cannot be read or the mode cannot be set.
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        TcpListener::from_listening(l.into())
    }

    /// Waits for a connection; returns the connected stream (non-blocking,
    /// close-on-exec) and the peer's address.
    ///
    /// # Errors
    /// The accept error. `EMFILE` / `ENFILE` (out of file descriptors) come
    /// back as errors the caller can back off from; the listener stays
    /// usable (`start_server` does that for you).
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped, no connection is lost to the
    /// caller... except one the kernel accepted in that instant, which is
    /// closed (never leaked); its client sees a reset.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, raw) = ops::accept(self.listening.fd()).await?;
        let peer = ip_from_raw(&raw)?;
        Ok((TcpStream::from_fd(fd), peer))
    }

    /// Its connections through one multishot accept (one SQE for all of
    /// them, instead of one per [`accept`](Self::accept)): see
    /// [`Incoming`]. The listener stays usable; both may be used, each
    /// connection goes to one of them.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let mut incoming = listener.incoming();
    /// let client = aio::spawn(async move { TcpStream::connect(addr).await });
    /// let conn = incoming.accept().await?;
    /// assert_eq!(conn.peer_addr()?, client.await.unwrap()?.local_addr()?);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<TcpStream> {
        Incoming::new(self.listening.clone())
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// Never in practice; kept fallible for parity with std and tokio.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// Stops listening (unless an [`Incoming`] of it is alive) and closes
    /// the socket once in-flight accepts have completed. An `Incoming`
    /// made from this listener keeps its accept in flight while it lives,
    /// so with one alive this waits until it is dropped.
    ///
    /// # Errors
    /// The error of `close(2)`.
    pub async fn close(self) -> io::Result<()> {
        let fd = self.listening.fd().clone();
        drop(self.listening);
        fd.close().await
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.listening.fd().as_raw_fd()
    }
}
