//! `TcpSocket`: a TCP socket before it listens or connects, for options.

use super::{TcpListener, TcpStream};
use crate::addr::to_raw;
use crate::conn::new_socket;
use aio_runtime::io::{ops, SharedFd};
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A TCP socket that is not yet listening or connected: set options, then
/// [`listen`](Self::listen) or [`connect`](Self::connect). Created with
/// socket2, non-blocking and close-on-exec.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::TcpSocket;
/// let s = TcpSocket::new_v4()?;
/// s.set_reuseaddr(true)?;
/// s.set_reuseport(true)?;
/// s.set_recv_buffer_size(1 << 20)?;
/// s.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = s.listen(128)?;
/// assert!(listener.local_addr()?.port() != 0);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// An IPv4 TCP socket.
    ///
    /// # Errors
    /// `socket(2)`'s error (e.g. `EMFILE`).
    pub fn new_v4() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV4)
    }

    /// An IPv6 TCP socket.
    ///
    /// # Errors
    /// `socket(2)`'s error.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Self::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            inner: new_socket(domain, Type::STREAM)?,
        })
    }

    pub(crate) fn for_addr(a: &SocketAddr) -> io::Result<TcpSocket> {
        Self::new(Domain::for_address(*a))
    }

    /// `SO_REUSEADDR`.
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_address(on)
    }

    /// `SO_REUSEPORT` (several listeners on one port, load-balanced).
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_port(on)
    }

    /// `SO_SNDBUF`.
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_send_buffer_size(size)
    }

    /// `SO_RCVBUF`.
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size)
    }

    /// `SO_LINGER` (`Some(0)`: close resets the connection).
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// `SO_KEEPALIVE`.
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.inner.set_keepalive(on)
    }

    /// `TCP_NODELAY`.
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(on)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    /// `bind(2)`'s error (`AddrInUse`, `AddrNotAvailable`, …).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner
            .bind(&addr.into())
            .map_err(|e| crate::addr::context(e, format!("could not bind to {addr}")))
    }

    /// Starts listening with `backlog` pending connections at most.
    ///
    /// # Errors
    /// `listen(2)`'s error.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.inner.listen(backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::from_listening(self.inner.into())
    }

    /// Connects to `addr`.
    ///
    /// # Errors
    /// The connect error (`ConnectionRefused`, `TimedOut`, …).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the connect and closes the socket.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = SharedFd::new(self.inner.into());
        ops::connect(&fd, to_raw(&addr.into()))
            .await
            .map_err(|e| crate::addr::context(e, format!("could not connect to {addr}")))?;
        Ok(TcpStream::from_shared(fd))
    }
}
