//! `UnixListener`: accepts connections through `IORING_OP_ACCEPT` (one SQE
//! per connection, or multishot with `incoming`).

use super::socket_addr::{sockaddr_for, UnixSocketAddr};
use super::UnixStream;
use crate::conn::new_socket;
use crate::listening::Listening;
use crate::loom::sync::Arc;
use crate::Incoming;
use aio_runtime::io::{ops, SharedFd};
use socket2::{Domain, SockRef, Type};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;

/// A Unix domain stream socket listening for connections at a path.
///
/// The socket file stays after the listener is dropped (as with std and
/// tokio): remove it before binding the same path again.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::{UnixListener, UnixStream};
/// let dir = std::env::temp_dir().join(format!("aio-doc-listener-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// # let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// let server = aio::spawn(async move {
///     let (conn, _peer) = listener.accept().await?;
///     let (n, buf) = conn.read(Vec::with_capacity(64)).await;
///     n?;
///     conn.write_all(buf).await.0 // echo it back
/// });
/// let client = UnixStream::connect(&path).await?;
/// client.write_all(b"hello".to_vec()).await.0?;
/// let (n, buf) = client.read(Vec::with_capacity(64)).await;
/// assert_eq!(&buf[..n?], b"hello");
/// server.await.unwrap()?;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixListener {
    listening: Arc<Listening>,
}

impl UnixListener {
    fn from_fd(fd: SharedFd) -> UnixListener {
        UnixListener {
            listening: Arc::new(Listening::new(fd)),
        }
    }

    /// Creates a socket (non-blocking, close-on-exec), binds it to `path`
    /// (creating the socket file) and listens with a backlog of 1024.
    /// Synchronous, as binding never waits.
    ///
    /// # Errors
    /// `InvalidInput` naming the path if it is empty, holds a NUL byte or
    /// is longer than a `sockaddr_un` holds (107 bytes); otherwise the
    /// bind error naming the path: `AddrInUse` if the file exists (even a
    /// stale socket file), `NotFound` if its directory does not,
    /// `PermissionDenied`, …
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("aio-doc-bind-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s");
    /// # let _ = std::fs::remove_file(&path);
    /// let _listener = aio::net::UnixListener::bind(&path)?;
    /// let again = aio::net::UnixListener::bind(&path).unwrap_err();
    /// assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let addr = sockaddr_for(path)?;
        let s = new_socket(Domain::UNIX, Type::STREAM)?;
        s.bind(&addr).map_err(|e| {
            crate::addr::context(e, format!("could not bind to {}", path.display()))
        })?;
        s.listen(1024)?;
        Ok(UnixListener::from_fd(SharedFd::new(s.into())))
    }

    /// Takes over a listening std socket (set to non-blocking here).
    ///
    /// # Errors
    /// If the mode cannot be set.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("aio-doc-lstd-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s");
    /// # let _ = std::fs::remove_file(&path);
    /// let std = std::os::unix::net::UnixListener::bind(&path)?;
    /// let listener = aio::net::UnixListener::from_std(std)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        l.set_nonblocking(true)?;
        Ok(UnixListener::from_fd(SharedFd::new(l.into())))
    }

    /// Waits for a connection; returns the connected stream (non-blocking,
    /// close-on-exec) and the peer's address (usually unnamed: clients
    /// rarely bind).
    ///
    /// # Errors
    /// The accept error. `EMFILE` / `ENFILE` (out of file descriptors) come
    /// back as errors the caller can back off from; the listener stays
    /// usable.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped, no connection is lost to the
    /// caller, except one the kernel accepted in that instant, which is
    /// closed (never leaked); its client reads end of stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("aio-doc-accept-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s");
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// // A Unix connect completes once queued in the backlog.
    /// let client = UnixStream::connect(&path).await?;
    /// let (conn, peer) = listener.accept().await?;
    /// assert!(peer.is_unnamed());
    /// assert_eq!(conn.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(client);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, UnixSocketAddr)> {
        let (fd, raw) = ops::accept(self.listening.fd()).await?;
        let peer = UnixSocketAddr::from_raw(&raw)?;
        Ok((UnixStream::from_fd(fd), peer))
    }

    /// Its connections through one multishot accept: see [`Incoming`].
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("aio-doc-inc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s");
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// let mut incoming = listener.incoming();
    /// let client = UnixStream::connect(&path).await?;
    /// let conn = incoming.accept().await?;
    /// assert_eq!(conn.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(client);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<UnixStream> {
        Incoming::new(self.listening.clone())
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// `getsockname(2)`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("aio-doc-laddr-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s");
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = aio::net::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        UnixSocketAddr::from_sockaddr(SockRef::from(self).local_addr()?)
    }

    /// Stops listening (unless an [`Incoming`] of it is alive) and closes
    /// the socket once in-flight accepts have completed (an `Incoming` made
    /// from it keeps its accept in flight while it lives: with one alive,
    /// this waits until it is dropped). The socket file stays.
    ///
    /// # Errors
    /// The error of `close(2)`.
    ///
    /// # Cancel safety
    /// Dropping the future leaves the socket open until those accepts
    /// complete; it is then closed without reporting.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let dir = std::env::temp_dir().join(format!("aio-doc-lclose-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s");
    /// # let _ = std::fs::remove_file(&path);
    /// aio::net::UnixListener::bind(&path)?.close().await?;
    /// let e = aio::net::UnixStream::connect(&path).await.unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn close(self) -> io::Result<()> {
        let fd = self.listening.fd().clone();
        drop(self.listening);
        fd.close().await
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.listening.fd().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listening.fd().as_fd()
    }
}
