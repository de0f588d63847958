//! `UnixSocketAddr` (what the kernel reports for a Unix socket: a path, an
//! abstract name or nothing) and the check that turns a user's path into
//! the kernel's `sockaddr_un`.
//!
//! Called by `listener.rs` and `stream.rs`; calls socket2 and `crate::addr`.

use aio_runtime::io::ops::RawAddr;
use socket2::SockAddr;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The address of a Unix domain socket, as the kernel reports it: a
/// filesystem path, a Linux abstract name, or unnamed (a socket that was
/// never bound, such as the client end of a connection or either end of
/// [`UnixStream::pair`](super::UnixStream::pair)).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::{UnixListener, UnixStream};
/// let dir = std::env::temp_dir().join(format!("aio-doc-addr-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("sock");
/// # let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
/// let client = UnixStream::connect(&path).await?;
/// let (_conn, peer) = listener.accept().await?;
/// assert!(peer.is_unnamed()); // the client never bound a path
/// assert_eq!(client.peer_addr()?, listener.local_addr()?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnixSocketAddr(SockAddr);

impl UnixSocketAddr {
    /// Wraps an address from the kernel, which must be `AF_UNIX`.
    pub(super) fn from_sockaddr(addr: SockAddr) -> io::Result<UnixSocketAddr> {
        if !addr.is_unix() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the kernel returned a socket address of family {} where a Unix one was expected",
                    addr.family()
                ),
            ));
        }
        Ok(UnixSocketAddr(addr))
    }

    /// An address the kernel filled in for an op (accept's peer).
    pub(super) fn from_raw(raw: &RawAddr) -> io::Result<UnixSocketAddr> {
        Self::from_sockaddr(crate::addr::from_raw(raw))
    }

    /// The filesystem path, if the socket is bound to one.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = aio::net::UnixStream::pair()?;
    /// assert_eq!(a.local_addr()?.as_pathname(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_pathname(&self) -> Option<&Path> {
        self.0.as_pathname()
    }

    /// The name in Linux's abstract namespace (without its leading NUL),
    /// if the socket is bound to one. aio binds only paths; peers created
    /// elsewhere may use abstract names.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::linux::net::SocketAddrExt;
    /// let name = format!("aio-doc-abstract-{}", std::process::id());
    /// let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name)?;
    /// let std = std::os::unix::net::UnixListener::bind_addr(&addr)?;
    /// let listener = aio::net::UnixListener::from_std(std)?;
    /// let local = listener.local_addr()?;
    /// assert_eq!(local.as_abstract_name(), Some(name.as_bytes()));
    /// assert_eq!(local.as_pathname(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        self.0.as_abstract_namespace()
    }

    /// Whether the socket has no address (it was never bound).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// assert!(b.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_unnamed(&self) -> bool {
        self.0.is_unnamed()
    }
}

impl fmt::Debug for UnixSocketAddr {
    /// As std's: `"/run/app.sock" (pathname)`, `"name" (abstract)` or
    /// `(unnamed)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.as_pathname() {
            write!(f, "{path:?} (pathname)")
        } else if let Some(name) = self.as_abstract_name() {
            write!(f, "\"{}\" (abstract)", name.escape_ascii())
        } else {
            f.write_str("(unnamed)")
        }
    }
}

/// The longest path a `sockaddr_un` holds, leaving room for the NUL that
/// ends it (107 bytes on Linux).
const MAX_PATH_LEN: usize = std::mem::size_of::<libc::sockaddr_un>()
    - std::mem::offset_of!(libc::sockaddr_un, sun_path)
    - 1;

/// The kernel's address for `path`, or an `InvalidInput` error naming the
/// path: it must be non-empty, hold no NUL byte (a leading NUL would mean
/// an abstract name; elsewhere the kernel would cut the path there) and
/// fit in `sun_path`.
pub(super) fn sockaddr_for(path: &Path) -> io::Result<SockAddr> {
    let bytes = path.as_os_str().as_bytes();
    let why = if bytes.is_empty() {
        "it is empty".to_string()
    } else if bytes.contains(&0) {
        "it contains a NUL byte".to_string()
    } else if bytes.len() > MAX_PATH_LEN {
        format!(
            "it is {} bytes long, and a Unix socket path holds at most {MAX_PATH_LEN}",
            bytes.len()
        )
    } else {
        return SockAddr::unix(path);
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid Unix socket path {path:?}: {why}"),
    ))
}
