//! `Compat<S>`: a stream seen only through the ecosystem's I/O traits, so
//! that the extension methods of futures (`AsyncReadExt`,
//! `AsyncWriteExt`) and tokio (`tokio::io::AsyncReadExt`, …) are reached
//! by their plain names: on the socket types themselves the owned-buffer
//! `read`, `write` and `write_all` are inherent methods, which Rust picks
//! first.
//!
//! It only delegates to the stream's own trait impls (`compat.rs`,
//! `hyper/io.rs`), so it costs nothing. Made by the `compat()` methods of
//! the stream types and halves, or `Compat::new(&mut stream)`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A stream with no methods of its own, only the ecosystem's I/O traits
/// (futures-io's `AsyncRead` / `AsyncWrite`, tokio's with feature
/// `tokio-compat`, hyper's with feature `hyper`), delegated to the stream
/// it wraps. With it, `write_all(&payload)` is `AsyncWriteExt::write_all`
/// and not the owned-buffer [`TcpStream::write_all`](crate::TcpStream::write_all).
///
/// [`TcpStream::compat`](crate::TcpStream::compat) (and the same method on
/// `UnixStream` and the owned halves) wraps a stream by value;
/// `Compat::new(&mut stream)` borrows one, which keeps the owned-buffer
/// methods usable after it is dropped. Bytes buffered by the adapters
/// stay with the stream either way, but only the adapters see them: the
/// owned-buffer methods go to the socket directly. So in each direction
/// use one or the other: flush the adapter before writing with
/// `write_all(buf)`, and once a read went through the adapter, keep
/// reading through it (it may hold bytes received ahead, and a receive
/// in flight).
///
/// # Examples
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// # aio::run(async {
/// let (a, b) = aio::net::UnixStream::pair()?;
/// let mut a = a.compat();
/// let payload = b"hello".to_vec();
/// a.write_all(&payload).await?; // futures' AsyncWriteExt::write_all
/// a.close().await?;
/// let mut got = Vec::new();
/// aio::net::Compat::new(&mut { b }).read_to_end(&mut got).await?;
/// assert_eq!(got, payload);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct Compat<S> {
    inner: S,
}

impl<S> Compat<S> {
    /// Wraps `inner` (a stream, a half, or `&mut` one).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (mut a, _b) = aio::net::UnixStream::pair()?;
    /// let c = aio::net::Compat::new(&mut a);
    /// drop(c);
    /// a.write_all(b"owned again".to_vec()).await.0?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn new(inner: S) -> Compat<S> {
        Compat { inner }
    }

    /// The wrapped stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, _b) = aio::net::UnixStream::pair()?;
    /// let c = a.compat();
    /// assert!(c.get_ref().peer_addr().is_ok());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, _b) = aio::net::UnixStream::pair()?;
    /// let mut c = a.compat();
    /// let _s: &mut aio::net::UnixStream = c.get_mut();
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// let a = a.compat().into_inner();
    /// a.write_all(b"x".to_vec()).await.0?;
    /// let (n, _) = b.read(Vec::with_capacity(4)).await;
    /// assert_eq!(n?, 1);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn pin(self: Pin<&mut Self>) -> Pin<&mut S>
    where
        S: Unpin,
    {
        Pin::new(&mut self.get_mut().inner)
    }
}

impl<S: futures_io::AsyncRead + Unpin> futures_io::AsyncRead for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.pin().poll_read(cx, buf)
    }
}

impl<S: futures_io::AsyncWrite + Unpin> futures_io::AsyncWrite for Compat<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pin().poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pin().poll_write_vectored(cx, bufs)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin().poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin().poll_close(cx)
    }
}

#[cfg(feature = "tokio-compat")]
impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.pin().poll_read(cx, buf)
    }
}

#[cfg(feature = "tokio-compat")]
impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Compat<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pin().poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pin().poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin().poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin().poll_shutdown(cx)
    }
}

#[cfg(feature = "hyper")]
impl<S: hyper::rt::Read + Unpin> hyper::rt::Read for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        self.pin().poll_read(cx, buf)
    }
}

#[cfg(feature = "hyper")]
impl<S: hyper::rt::Write + Unpin> hyper::rt::Write for Compat<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pin().poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pin().poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin().poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin().poll_shutdown(cx)
    }
}
