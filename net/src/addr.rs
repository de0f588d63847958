//! Addresses: `ToSocketAddrs` (what `bind`, `connect` and `send_to`
//! accept), `lookup_host` (name resolution on the blocking pool, since
//! `getaddrinfo` blocks), and conversions to the kernel's layout.
//!
//! Called by every socket type; calls `aio-runtime`'s `to_thread`.

use aio_runtime::io::ops::RawAddr;
use aio_runtime::ToThread;
use socket2::SockAddr;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

mod sealed {
    pub trait Sealed {}
}

/// What can be turned into socket addresses: `SocketAddr`, `(IpAddr, u16)`,
/// `(&str, u16)`, `"host:port"` as `&str` or `String`, and slices of
/// `SocketAddr`. Literal IP addresses resolve at once; host names are
/// looked up on the blocking pool (`getaddrinfo` blocks).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let addrs = aio::net::lookup_host(("127.0.0.1", 8080)).await?;
/// assert_eq!(addrs[0].port(), 8080);
/// let addrs = aio::net::lookup_host("localhost:80").await?;
/// assert!(addrs.iter().all(|a| a.ip().is_loopback()));
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub trait ToSocketAddrs: sealed::Sealed {
    #[doc(hidden)]
    fn to_socket_addrs(&self) -> Resolve;
}

/// The future of an address resolution.
#[doc(hidden)]
#[derive(Debug)]
pub struct Resolve(Inner);

#[derive(Debug)]
enum Inner {
    Ready(Option<io::Result<Vec<SocketAddr>>>),
    Blocking(ToThread<io::Result<Vec<SocketAddr>>>),
}

impl Future for Resolve {
    type Output = io::Result<Vec<SocketAddr>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Inner::Ready(r) => Poll::Ready(r.take().expect("Resolve polled after completion")),
            Inner::Blocking(t) => Pin::new(t).poll(cx),
        }
    }
}

fn ready(r: io::Result<Vec<SocketAddr>>) -> Resolve {
    Resolve(Inner::Ready(Some(r)))
}

/// Resolves `host` and `port`: a literal IP at once, a name on the pool.
fn resolve(host: &str, port: u16) -> Resolve {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ready(Ok(vec![SocketAddr::new(ip, port)]));
    }
    if host.is_empty() {
        return ready(Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty host name",
        )));
    }
    let host = host.to_string();
    Resolve(Inner::Blocking(aio_runtime::to_thread(move || {
        let addrs: Vec<SocketAddr> =
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map_err(|e| context(e, format!("could not resolve host {host:?}")))?
                .collect();
        Ok(addrs)
    })))
}

/// Splits `"host:port"` (IPv6 literals in brackets: `"[::1]:80"`).
fn resolve_str(s: &str) -> Resolve {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return ready(Ok(vec![a]));
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return ready(Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid socket address {s:?}: expected \"host:port\""),
        )));
    };
    let Ok(port) = port.parse::<u16>() else {
        return ready(Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid port in socket address {s:?}: expected a number in 0..=65535"),
        )));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    resolve(host, port)
}

impl sealed::Sealed for SocketAddr {}
impl ToSocketAddrs for SocketAddr {
    fn to_socket_addrs(&self) -> Resolve {
        ready(Ok(vec![*self]))
    }
}

impl sealed::Sealed for (IpAddr, u16) {}
impl ToSocketAddrs for (IpAddr, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        ready(Ok(vec![SocketAddr::new(self.0, self.1)]))
    }
}

impl sealed::Sealed for (&str, u16) {}
impl ToSocketAddrs for (&str, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        resolve(self.0, self.1)
    }
}

impl sealed::Sealed for (String, u16) {}
impl ToSocketAddrs for (String, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        resolve(&self.0, self.1)
    }
}

impl sealed::Sealed for &str {}
impl ToSocketAddrs for &str {
    fn to_socket_addrs(&self) -> Resolve {
        resolve_str(self)
    }
}

impl sealed::Sealed for String {}
impl ToSocketAddrs for String {
    fn to_socket_addrs(&self) -> Resolve {
        resolve_str(self)
    }
}

impl sealed::Sealed for &[SocketAddr] {}
impl ToSocketAddrs for &[SocketAddr] {
    fn to_socket_addrs(&self) -> Resolve {
        ready(Ok(self.to_vec()))
    }
}

impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_socket_addrs(&self) -> Resolve {
        (**self).to_socket_addrs()
    }
}

/// Resolves `host` to its socket addresses, on the blocking pool when it
/// is a name (asyncio's `getaddrinfo`).
///
/// # Errors
/// An invalid address or port (`InvalidInput`), or the resolver's error,
/// naming the host.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let addrs = aio::net::lookup_host("127.0.0.1:0").await?;
/// assert_eq!(addrs.len(), 1);
/// assert!(aio::net::lookup_host("no-port-here").await.is_err());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    host.to_socket_addrs().await
}

/// Resolves and fails clearly when nothing came back.
pub(crate) async fn resolve_nonempty(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs = addr.to_socket_addrs().await?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket addresses",
        ));
    }
    Ok(addrs)
}

/// A socket2 address in the layout op records store.
pub(crate) fn to_raw(addr: &SockAddr) -> RawAddr {
    let mut raw = RawAddr::empty();
    let len = addr.len() as usize;
    // SAFETY: `addr` points to `len` valid bytes of a sockaddr, and the
    // storage has room for any sockaddr (`len <= sizeof(storage)`).
    unsafe {
        std::ptr::copy_nonoverlapping(
            addr.as_ptr().cast::<u8>(),
            (&mut raw.storage as *mut libc::sockaddr_storage).cast::<u8>(),
            len,
        )
    };
    raw.len = addr.len();
    raw
}

/// A kernel-filled address back as socket2's.
pub(crate) fn from_raw(raw: &RawAddr) -> SockAddr {
    // SAFETY: the kernel filled `raw.len` bytes of the storage with an
    // address of the family it names; we copy exactly those.
    let ((), addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            let n = (raw.len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
            std::ptr::copy_nonoverlapping(
                (&raw.storage as *const libc::sockaddr_storage).cast::<u8>(),
                storage.cast::<u8>(),
                n,
            );
            *len = n as libc::socklen_t;
            Ok(())
        })
    }
    .expect("copying an address cannot fail");
    addr
}

/// An IP address from the kernel, or an error naming what came instead.
pub(crate) fn ip_from_raw(raw: &RawAddr) -> io::Result<SocketAddr> {
    from_raw(raw).as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the kernel returned a non-IP socket address",
        )
    })
}

/// An OS error with what failed and where ("could not connect to
/// 127.0.0.1:1"), keeping the OS error as its source: `e.source()` of the
/// returned `io::Error` is the original, whose `raw_os_error()` is kept.
#[derive(Debug)]
struct ErrorContext {
    what: String,
    source: io::Error,
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl Error for ErrorContext {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `e` with `what` said first; the kind is kept, and `e` is the source.
pub(crate) fn context(e: io::Error, what: impl Into<String>) -> io::Error {
    io::Error::new(
        e.kind(),
        ErrorContext {
            what: what.into(),
            source: e,
        },
    )
}
