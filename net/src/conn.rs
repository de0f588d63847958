//! The byte-stream core shared by `TcpStream` and `UnixStream`: owned-buffer
//! reads and writes through io_uring ops, shutdown, async close, and the
//! owned halves of a split.
//!
//! Called by `tcp/` and `unix/` (thin typed wrappers) and by the streams.

use crate::compat::{ReadState, WriteState};
use aio_runtime::io::ops;
use aio_runtime::io::{BufResult, IoBuf, IoBufMut, SharedFd};
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// A connected stream socket.
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    pub(crate) fd: SharedFd,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd) -> Conn {
        Conn {
            fd: SharedFd::new(fd),
        }
    }

    pub(crate) async fn read<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        ops::recv_stream(&self.fd, buf, true).await
    }

    pub(crate) async fn write<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        ops::send(&self.fd, buf, 0).await
    }

    pub(crate) async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        let mut buf = buf;
        let mut at = 0;
        while at < buf.bytes_init() {
            let (res, b) = ops::send(&self.fd, buf, at).await;
            buf = b;
            match res {
                Ok(0) => {
                    return (
                        Err(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "the peer accepted no more bytes",
                        )),
                        buf,
                    )
                }
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    pub(crate) async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        ops::writev(&self.fd, bufs).await
    }

    pub(crate) async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        ops::shutdown(&self.fd, how).await
    }

    pub(crate) async fn close(self) -> io::Result<()> {
        self.fd.close().await
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// A synchronous shutdown (never blocks), for `Drop` and `close()`.
    pub(crate) fn shutdown_now(&self, how: i32) {
        // SAFETY: plain syscall on an fd we hold open.
        unsafe { libc::shutdown(self.raw(), how) };
    }
}

/// The read half of a stream split with `into_split`. It implements the
/// same reading traits as the stream (futures-io's `AsyncRead`, tokio's
/// and hyper's with their features); the owned-buffer `read` shadows the
/// extension traits' `read`: call theirs on [`compat()`](Self::compat).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let (a, b) = aio::net::UnixStream::pair()?;
/// let (mut r, w) = a.into_split();
/// b.write_all(b"ping".to_vec()).await.0?;
/// let (n, buf) = r.read(Vec::with_capacity(16)).await;
/// assert_eq!(&buf[..n?], b"ping");
/// drop(w);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    pub(crate) conn: Conn,
    rd: ReadState,
}

/// The write half of a stream split with `into_split`. Dropping it shuts
/// down the write direction (the peer reads end of stream), as tokio's
/// does, after the bytes its adapter's writes accepted (see "Owned
/// buffers, and the ecosystem's `read` and `write_all`" in `aio::net`).
/// It implements the same writing traits as the stream; the owned-buffer
/// `write` and `write_all` shadow the extension traits' methods: call
/// theirs on [`compat()`](Self::compat).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let (a, b) = aio::net::UnixStream::pair()?;
/// let (_r, w) = a.into_split();
/// w.write_all(b"pong".to_vec()).await.0?;
/// drop(w); // the peer now sees end of stream after "pong"
/// let (n, buf) = b.read(Vec::with_capacity(16)).await;
/// assert_eq!(&buf[..n?], b"pong");
/// let (n, _) = b.read(Vec::with_capacity(16)).await;
/// assert_eq!(n?, 0);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    pub(crate) conn: Conn,
    wr: WriteState,
}

crate::compat::impl_async_read!(OwnedReadHalf);
crate::compat::impl_async_write!(OwnedWriteHalf);

/// Splits a stream into owned halves, each keeping its adapter buffers.
pub(crate) fn split(conn: Conn, rd: ReadState, wr: WriteState) -> (OwnedReadHalf, OwnedWriteHalf) {
    (
        OwnedReadHalf {
            conn: conn.clone(),
            rd,
        },
        OwnedWriteHalf { conn, wr },
    )
}

impl OwnedReadHalf {
    pub(crate) fn read_parts(&mut self) -> (&SharedFd, &mut ReadState, Option<&mut WriteState>) {
        (&self.conn.fd, &mut self.rd, None)
    }

    /// Wraps the read half in a [`Compat`](crate::Compat), which has only the
    /// ecosystem's I/O traits: with futures' or tokio's extension traits
    /// in scope, `write_all(&payload)`, `read(&mut buf)`, `read_to_end`
    /// are then theirs, not the owned-buffer methods of this type (which
    /// Rust would pick first). See "Owned buffers, and the ecosystem's
    /// `read` and `write_all`" in `aio::net`.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncReadExt;
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// let (r, _w) = a.into_split();
    /// b.write_all(b"pong".to_vec()).await.0?;
    /// drop(b);
    /// let mut got = String::new();
    /// r.compat().read_to_string(&mut got).await?;
    /// assert_eq!(got, "pong");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn compat(self) -> crate::Compat<Self> {
        crate::Compat::new(self)
    }

    /// Reads into `buf` from its start, up to its capacity; returns how
    /// many bytes arrived (`&buf[..n]`) and the buffer. `Ok(0)` means end
    /// of stream, or `buf` has no room. See `TcpStream::read`.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the read; bytes it received are lost
    /// with the buffer. Use the streams (`StreamReader`) to lose nothing.
    pub async fn read<B: IoBufMut>(&mut self, buf: B) -> BufResult<usize, B> {
        if let Err(e) = self.rd.check_owned_read() {
            return (Err(e), buf);
        }
        self.conn.read(buf).await
    }
}

impl OwnedWriteHalf {
    pub(crate) fn write_parts(&mut self) -> (&SharedFd, &mut WriteState) {
        (&self.conn.fd, &mut self.wr)
    }

    /// Wraps the write half in a [`Compat`](crate::Compat), which has only the
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
    /// let (_r, w) = a.into_split();
    /// let mut w = w.compat();
    /// w.write_all(&b"pong".to_vec()).await?;
    /// w.flush().await?;
    /// let (n, buf) = b.read(Vec::with_capacity(8)).await;
    /// assert_eq!(&buf[..n?], b"pong");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn compat(self) -> crate::Compat<Self> {
        crate::Compat::new(self)
    }

    /// Writes some of `buf`'s initialized bytes; returns how many.
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

    /// Writes the buffers in order with one `sendmsg` (gathered write);
    /// returns how many bytes went.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write; some bytes may have gone.
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        if let Err(e) = self.wr.check_owned_write() {
            return (Err(e), bufs);
        }
        self.conn.writev(bufs).await
    }

    /// Shuts down the write direction now (the peer reads end of stream).
    ///
    /// # Errors
    /// The OS error of `shutdown(2)`.
    pub async fn shutdown(&self) -> io::Result<()> {
        self.wr.check_owned_write()?;
        self.conn.shutdown(Shutdown::Write).await
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // Bytes the adapter accepted go first; the task that sends them
        // shuts down after them.
        if !self.wr.hand_off(true) {
            self.conn.shutdown_now(libc::SHUT_WR);
        }
    }
}

/// `close()` of a stream: cancels a read the adapter left in flight (the
/// peer owes it nothing, and `SharedFd::close` would wait for it), sends
/// the bytes the adapter's writes accepted and waits for them, then closes
/// the fd once no op names it. The send's error comes first.
pub(crate) async fn close_stream(conn: Conn, rd: ReadState, mut wr: WriteState) -> io::Result<()> {
    drop(rd);
    let sent = wr.flush_for_close(&conn.fd).await;
    drop(wr);
    let closed = conn.close().await;
    sent.and(closed)
}

/// Creates a non-blocking, close-on-exec socket with socket2.
pub(crate) fn new_socket(
    domain: socket2::Domain,
    ty: socket2::Type,
) -> io::Result<socket2::Socket> {
    let s = socket2::Socket::new(domain, ty.nonblocking().cloexec(), None)?;
    Ok(s)
}
