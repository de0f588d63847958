//! `UnixStream`: a connected Unix domain stream socket, a typed wrapper
//! over the byte-stream core (`crate::conn::Conn`) that TCP shares.

use super::socket_addr::{sockaddr_for, UnixSocketAddr};
use crate::addr::to_raw;
use crate::compat::{ReadState, WriteState};
use crate::conn::{new_socket, Conn, OwnedReadHalf, OwnedWriteHalf};
use aio_runtime::io::{ops, BufResult, IoBuf, IoBufMut, SharedFd};
use socket2::{Domain, SockRef, Socket, Type};
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

/// A connected Unix domain stream socket. Reads and writes take owned
/// buffers and give them back (`BufResult`), so a dropped future never
/// leaves the kernel writing into freed memory. Dropping the stream closes
/// it (once its in-flight operations completed, and after the bytes the
/// ecosystem adapters' writes accepted were sent); [`close`](Self::close)
/// does so and reports the error.
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
/// let (a, b) = aio::net::UnixStream::pair()?;
/// a.write_all(b"ping".to_vec()).await.0?;
/// let (n, buf) = b.read(Vec::with_capacity(64)).await;
/// assert_eq!(&buf[..n?], b"ping");
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixStream {
    conn: Conn,
    /// The buffers of the `AsyncRead` / `AsyncWrite` adapters.
    rd: ReadState,
    wr: WriteState,
}

crate::compat::impl_async_read!(UnixStream);
crate::compat::impl_async_write!(UnixStream);

impl UnixStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> UnixStream {
        Self::from_conn(Conn::new(fd))
    }

    fn from_conn(conn: Conn) -> UnixStream {
        UnixStream {
            conn,
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
    /// use futures::AsyncWriteExt;
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// let payload = b"ping".to_vec();
    /// a.compat().write_all(&payload).await?;
    /// let (n, buf) = b.read(Vec::with_capacity(8)).await;
    /// assert_eq!(&buf[..n?], b"ping");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn compat(self) -> crate::Compat<Self> {
        crate::Compat::new(self)
    }

    /// Connects to the socket listening at `path`.
    ///
    /// # Errors
    /// `InvalidInput` naming the path if it is empty, holds a NUL byte or
    /// is longer than a `sockaddr_un` holds (107 bytes); otherwise the
    /// connect error naming the path: `NotFound` (no such file),
    /// `ConnectionRefused` (nothing listens there), `PermissionDenied`, …
    ///
    /// # Cancel safety
    /// Dropping the future cancels the connect and closes its socket.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let e = aio::net::UnixStream::connect("/nonexistent/aio.sock").await.unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// assert!(e.to_string().contains("/nonexistent/aio.sock"));
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let addr = sockaddr_for(path)?;
        let fd = SharedFd::new(new_socket(Domain::UNIX, Type::STREAM)?.into());
        ops::connect(&fd, to_raw(&addr)).await.map_err(|e| {
            crate::addr::context(e, format!("could not connect to {}", path.display()))
        })?;
        Ok(UnixStream::from_conn(Conn { fd }))
    }

    /// A pair of connected, unnamed streams (`socketpair(2)`; non-blocking,
    /// close-on-exec): what one writes, the other reads.
    ///
    /// # Errors
    /// `socketpair(2)`'s error (`EMFILE`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// b.write_all(b"pong".to_vec()).await.0?;
    /// let (n, buf) = a.read(Vec::with_capacity(64)).await;
    /// assert_eq!(&buf[..n?], b"pong");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
        Ok((UnixStream::from_fd(a.into()), UnixStream::from_fd(b.into())))
    }

    /// Takes over a connected std stream (set to non-blocking here).
    ///
    /// # Errors
    /// If the mode cannot be set.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (std_a, std_b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = aio::net::UnixStream::from_std(std_a)?;
    /// let b = aio::net::UnixStream::from_std(std_b)?;
    /// a.write_all(b"x".to_vec()).await.0?;
    /// let (n, _) = b.read(Vec::with_capacity(8)).await;
    /// assert_eq!(n?, 1);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        Ok(UnixStream::from_fd(s.into()))
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
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// a.write_all(b"data".to_vec()).await.0?;
    /// let (n, buf) = b.read(vec![0u8; 64]).await;
    /// assert_eq!(&buf[..n?], b"data");
    /// // Keep what a buffer holds: read into a view after it.
    /// use aio::io::IoBuf;
    /// a.write_all(b"more".to_vec()).await.0?;
    /// let mut buf = Vec::with_capacity(64);
    /// buf.extend_from_slice(b"> ");
    /// let (n, view) = b.read(buf.slice(2..)).await;
    /// assert_eq!(n?, 4);
    /// assert_eq!(view.into_inner(), b"> more");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        if let Err(e) = self.rd.check_owned_read() {
            return (Err(e), buf);
        }
        self.conn.read(buf).await
    }

    /// Writes some of `buf`'s initialized bytes; returns how many.
    ///
    /// # Errors
    /// `BrokenPipe` when the peer is gone (never SIGPIPE), and other
    /// socket errors.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write; some bytes may have gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// let (n, _buf) = a.write(b"abc".to_vec()).await;
    /// assert_eq!(n?, 3);
    /// drop(b);
    /// let (r, _buf) = a.write(b"abc".to_vec()).await;
    /// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// a.write_all(vec![7u8; 4096]).await.0?;
    /// let (n, buf) = b.read(Vec::with_capacity(4096)).await;
    /// assert!(n? > 0 && buf.iter().all(|&x| x == 7));
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// let (n, _bufs) = a.writev(vec![b"head ".to_vec(), b"body".to_vec()]).await;
    /// assert_eq!(n?, 9);
    /// let (n, buf) = b.read(Vec::with_capacity(64)).await;
    /// assert_eq!(&buf[..n?], b"head body");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        if let Err(e) = self.wr.check_owned_write() {
            return (Err(e), bufs);
        }
        self.conn.writev(bufs).await
    }

    /// Shuts down the read, write or both directions. After
    /// `Shutdown::Write` the peer reads end of stream.
    ///
    /// # Errors
    /// `shutdown(2)`'s error (`NotConnected`).
    ///
    /// # Cancel safety
    /// Dropping the future may or may not leave the direction shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write).await?;
    /// let (n, _) = b.read(Vec::with_capacity(8)).await;
    /// assert_eq!(n?, 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            self.wr.check_owned_write()?;
        }
        self.conn.shutdown(how).await
    }

    /// The peer's address (unnamed unless the peer is a bound listener's
    /// connection).
    ///
    /// # Errors
    /// `NotConnected` if the connection is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = aio::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<UnixSocketAddr> {
        UnixSocketAddr::from_sockaddr(SockRef::from(self).peer_addr()?)
    }

    /// This end's address (unnamed for a client; the listener's path for
    /// an accepted connection).
    ///
    /// # Errors
    /// `getsockname(2)`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = aio::net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        UnixSocketAddr::from_sockaddr(SockRef::from(self).local_addr()?)
    }

    /// Splits into owned halves that can move to different tasks. Dropping
    /// the write half shuts down the write direction (the peer reads end
    /// of stream); the socket closes when both are gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// let (mut r, w) = a.into_split();
    /// let echo = aio::spawn(async move {
    ///     let (n, buf) = r.read(Vec::with_capacity(64)).await;
    ///     n.map(|n| buf[..n].to_vec())
    /// });
    /// b.write_all(b"split".to_vec()).await.0?;
    /// assert_eq!(echo.await.unwrap()?, b"split");
    /// drop(w);
    /// let (n, _) = b.read(Vec::with_capacity(8)).await;
    /// assert_eq!(n?, 0); // end of stream
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
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
    ///
    /// # Cancel safety
    /// Dropping the future leaves the socket open until those operations
    /// complete; it is then closed without reporting.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// a.close().await?;
    /// let (n, _) = b.read(Vec::with_capacity(8)).await;
    /// assert_eq!(n?, 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn close(self) -> io::Result<()> {
        crate::conn::close_stream(self.conn, self.rd, self.wr).await
    }

    /// The byte-stream core, for the asyncio streams
    /// (`open_unix_connection`, `start_unix_server`).
    pub(crate) fn into_conn(self) -> Conn {
        self.conn
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.conn.raw()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.conn.fd.as_fd()
    }
}
