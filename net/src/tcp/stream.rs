//! `TcpStream`: a connected TCP socket with owned-buffer I/O.

use super::TcpSocket;
use crate::addr::{resolve_nonempty, ToSocketAddrs};
use crate::compat::{ReadState, WriteState};
use crate::conn::{Conn, OwnedReadHalf, OwnedWriteHalf};
use aio_runtime::io::{BufResult, IoBuf, IoBufMut, SharedFd};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// A connected TCP stream. Reads and writes take owned buffers and give
/// them back (`BufResult`), so a dropped future never leaves the kernel
/// writing into freed memory. Dropping the stream closes it (once its
/// in-flight operations completed, and after the bytes the ecosystem
/// adapters' writes accepted were sent); [`close`](Self::close) does so
/// and reports the error.
///
/// It also implements futures-io's `AsyncRead` / `AsyncWrite` (tokio's
/// with feature `tokio-compat`, hyper's `rt::Read` / `rt::Write` with
/// feature `hyper`) through internally buffered adapters, so it can be
/// handed to codecs, hyper or TLS as it is. The owned-buffer `read`,
/// `write` and `write_all` shadow the extension traits' methods of the
/// same names; call those on [`compat()`](Self::compat).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::{TcpListener, TcpStream};
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let server = aio::spawn(async move {
///     let (conn, _) = listener.accept().await?;
///     let (n, buf) = conn.read(Vec::with_capacity(64)).await;
///     n?;
///     conn.write_all(buf).await.0 // echo it back
/// });
/// let client = TcpStream::connect(addr).await?;
/// client.write_all(b"hello".to_vec()).await.0?;
/// let (n, buf) = client.read(Vec::with_capacity(64)).await;
/// assert_eq!(&buf[..n?], b"hello");
/// server.await.unwrap()?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpStream {
    conn: Conn,
    /// The buffers of the `AsyncRead` / `AsyncWrite` adapters.
    rd: ReadState,
    wr: WriteState,
}

crate::compat::impl_async_read!(TcpStream);
crate::compat::impl_async_write!(TcpStream);

impl TcpStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> TcpStream {
        Self::from_shared(SharedFd::new(fd))
    }

    pub(crate) fn from_shared(fd: SharedFd) -> TcpStream {
        TcpStream {
            conn: Conn { fd },
            rd: ReadState::default(),
            wr: WriteState::default(),
        }
    }

    pub(crate) fn read_parts(&mut self) -> (&SharedFd, &mut ReadState, Option<&mut WriteState>) {
        (&self.conn.fd, &mut self.rd, Some(&mut self.wr))
    }

    pub(crate) fn write_parts(&mut self) -> (&SharedFd, &mut WriteState) {
        (&self.conn.fd, &mut self.wr)
    }

    /// Receives into the read adapter's buffer, after what it holds (kept
    /// for the next adapter reads); `false` at end of stream. See
    /// `ReadState::poll_fill_more` for its one caller's rule.
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_receive_more(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<bool>> {
        self.rd.poll_fill_more(&self.conn.fd, cx)
    }

    /// The bytes the read adapter holds.
    #[cfg(feature = "hyper")]
    pub(crate) fn adapter_buffered(&self) -> &[u8] {
        self.rd.buffered()
    }

    /// Connects to the first of `addr`'s addresses that accepts, trying
    /// them in order (names are resolved on the blocking pool).
    ///
    /// # Errors
    /// An invalid address or failed resolution (naming the host), or the
    /// last connect error, naming the address (`ConnectionRefused`, …).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the connect and closes its socket.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in resolve_nonempty(addr).await? {
            // A socket that cannot be made for one address (its family
            // disabled, say) moves on to the next, as a refused connect.
            let attempt = match TcpSocket::for_addr(&a) {
                Ok(s) => s.connect(a).await,
                Err(e) => Err(crate::addr::context(
                    e,
                    format!("could not make a socket to connect to {a}"),
                )),
            };
            match attempt {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one address"))
    }

    /// Takes over a connected std stream (set to non-blocking here).
    ///
    /// # Errors
    /// If the mode cannot be set.
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        Ok(TcpStream::from_fd(s.into()))
    }

    /// Reads into `buf` from its start, up to its capacity (for a `Vec`,
    /// `capacity()`; at most [`MAX_RW_COUNT`](aio_runtime::io::MAX_RW_COUNT)
    /// in one call); returns how many bytes arrived and the buffer, whose
    /// first `n` bytes are them (`&buf[..n]`). `Ok(0)` means the peer shut
    /// down its side, or `buf` has no room. To keep a `Vec`'s bytes and
    /// read after them, pass `buf.slice(buf.len()..)` ([`IoBuf::slice`](aio_runtime::io::IoBuf::slice)).
    ///
    /// # Errors
    /// `ConnectionReset` and other socket errors, as `io::Error`; an error
    /// saying to read through the adapter when the `AsyncRead` / hyper
    /// adapter holds received bytes or a receive (it would get bytes
    /// before this read).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the read; bytes it received are lost
    /// with the buffer. `StreamReader` keeps them instead.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        if let Err(e) = self.rd.check_owned_read() {
            return (Err(e), buf);
        }
        self.conn.read(buf).await
    }

    /// Writes some of `buf`'s initialized bytes; returns how many.
    ///
    /// # Errors
    /// `BrokenPipe` / `ConnectionReset` when the peer is gone (never
    /// SIGPIPE), and other socket errors.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write; some bytes may have gone.
    pub async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        if let Err(e) = self.wr.check_owned_write() {
            return (Err(e), buf);
        }
        self.conn.write(buf).await
    }

    /// Writes all of `buf`'s initialized bytes.
    ///
    /// # Errors
    /// The first write error; `WriteZero` if the peer takes no more.
    ///
    /// # Cancel safety
    /// Not cancel-safe: a prefix may have been written.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        if let Err(e) = self.wr.check_owned_write() {
            return (Err(e), buf);
        }
        self.conn.write_all(buf).await
    }

    /// Writes the buffers in order with one `sendmsg`; returns how many
    /// bytes went.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write; some bytes may have gone.
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        if let Err(e) = self.wr.check_owned_write() {
            return (Err(e), bufs);
        }
        self.conn.writev(bufs).await
    }

    /// Wraps the stream in a [`Compat`](crate::Compat), which has only the
    /// ecosystem's I/O traits: with futures' or tokio's extension traits
    /// in scope, `write_all(&payload)`, `read(&mut buf)`, `read_to_end`
    /// are then theirs, not the owned-buffer methods of this type (which
    /// Rust would pick first). See "Owned buffers, and the ecosystem's
    /// `read` and `write_all`" in `aio::net`.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    /// # aio::run(async {
    /// use aio::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// let mut client = client.compat();
    /// client.write_all(b"ping").await?; // futures' write_all(&[u8])
    /// client.close().await?;
    /// let mut got = Vec::new();
    /// server.compat().read_to_end(&mut got).await?;
    /// assert_eq!(got, b"ping");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn compat(self) -> crate::Compat<Self> {
        crate::Compat::new(self)
    }

    /// Shuts down the read, write or both directions.
    ///
    /// # Errors
    /// `shutdown(2)`'s error (`NotConnected`).
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            self.wr.check_owned_write()?;
        }
        self.conn.shutdown(how).await
    }

    /// `TCP_NODELAY`: send small writes at once (no Nagle delay).
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        socket2::SockRef::from(self).set_tcp_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// `getsockopt(2)`'s error.
    pub fn nodelay(&self) -> io::Result<bool> {
        socket2::SockRef::from(self).tcp_nodelay()
    }

    /// `SO_LINGER` (`Some(0)`: closing resets the connection).
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        socket2::SockRef::from(self).set_linger(linger)
    }

    /// The peer's address.
    ///
    /// # Errors
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sock_ip(socket2::SockRef::from(self).peer_addr())
    }

    /// This end's address.
    ///
    /// # Errors
    /// `getsockname(2)`'s error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_ip(socket2::SockRef::from(self).local_addr())
    }

    /// Splits into owned halves that can move to different tasks. Dropping
    /// the write half shuts down the write direction; the socket closes
    /// when both are gone.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        crate::conn::split(self.conn, self.rd, self.wr)
    }

    /// Closes the stream: cancels a read that the ecosystem adapters
    /// (`AsyncRead`, hyper's `Read`) left in flight, sends the bytes their
    /// writes accepted and waits for them, then closes the socket once its
    /// in-flight operations have completed.
    ///
    /// # Errors
    /// The error of sending those bytes (`BrokenPipe`, …), else that of
    /// `close(2)`. The socket is closed either way.
    pub async fn close(self) -> io::Result<()> {
        crate::conn::close_stream(self.conn, self.rd, self.wr).await
    }

    pub(crate) fn into_conn(self) -> Conn {
        self.conn
    }
}

pub(crate) fn sock_ip(a: io::Result<socket2::SockAddr>) -> io::Result<SocketAddr> {
    a?.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket"))
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.conn.raw()
    }
}

impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the fd stays open while `self` (holding it) is borrowed.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.conn.raw()) }
    }
}
