//! `UdpSocket`: datagrams through `IORING_OP_SENDMSG` / `RECVMSG` (to and
//! from an address) and `SEND` / `RECV` (connected).
//!
//! Called by users; calls `addr.rs` (resolution, the kernel's address
//! layout), `conn::new_socket` and `aio-runtime`'s ops.

use crate::addr::{ip_from_raw, resolve_nonempty, to_raw, ToSocketAddrs};
use crate::conn::new_socket;
use crate::tcp::sock_ip;
use aio_runtime::io::{ops, BufResult, IoBuf, IoBufMut, SharedFd};
use socket2::{Domain, SockRef, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// A UDP socket. Every send and receive takes an owned buffer and gives it
/// back (`BufResult`), so a dropped future never leaves the kernel writing
/// into freed memory. Each receive takes one whole datagram. Dropping the
/// socket closes it (once its in-flight operations completed);
/// [`close`](Self::close) does so and reports the error.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0").await?;
/// let b = UdpSocket::bind("127.0.0.1:0").await?;
/// a.send_to(b"ping".to_vec(), b.local_addr()?).await.0?;
/// let (r, buf) = b.recv_from(Vec::with_capacity(1500)).await;
/// let (n, from) = r?;
/// assert_eq!(&buf[..n], b"ping");
/// assert_eq!(from, a.local_addr()?);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    fd: SharedFd,
}

impl UdpSocket {
    /// Binds a socket (non-blocking, close-on-exec) to the first of
    /// `addr`'s addresses that works, trying them in order (names are
    /// resolved on the blocking pool). Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr).
    ///
    /// # Errors
    /// An invalid address or failed resolution (`InvalidInput`, naming the
    /// host), or the last bind error, naming the address (`AddrInUse`,
    /// `AddrNotAvailable`, …).
    ///
    /// # Cancel safety
    /// Dropping the future during resolution abandons it; no socket exists
    /// yet.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let s = aio::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_ne!(s.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last = None;
        for a in resolve_nonempty(addr).await? {
            let r = new_socket(Domain::for_address(a), Type::DGRAM).and_then(|s| {
                s.bind(&a.into())
                    .map_err(|e| crate::addr::context(e, format!("could not bind to {a}")))?;
                Ok(s)
            });
            match r {
                Ok(s) => {
                    return Ok(UdpSocket {
                        fd: SharedFd::new(s.into()),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one address"))
    }

    /// Takes over a std UDP socket (set to non-blocking here).
    ///
    /// # Errors
    /// If the mode cannot be set.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let std = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let addr = std.local_addr()?;
    /// let s = aio::net::UdpSocket::from_std(std)?;
    /// assert_eq!(s.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        Ok(UdpSocket {
            fd: SharedFd::new(s.into()),
        })
    }

    /// Sets the default destination to the first of `addr`'s addresses
    /// that the kernel accepts, for [`send`](Self::send), and receives only
    /// from it from now on. A UDP connect exchanges no packets: it returns
    /// at once after resolution.
    ///
    /// # Errors
    /// An invalid address or failed resolution (naming the host), or the
    /// last connect error, naming the address (`NetworkUnreachable`, an
    /// address of the other family, …).
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future during resolution leaves the socket
    /// as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last = None;
        for a in resolve_nonempty(addr).await? {
            match SockRef::from(self).connect(&a.into()) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(crate::addr::context(e, format!("could not connect to {a}"))),
            }
        }
        Err(last.expect("at least one address"))
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    /// `getsockname(2)`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let s = aio::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_ip(SockRef::from(self).local_addr())
    }

    /// The address the socket is connected to.
    ///
    /// # Errors
    /// `NotConnected` if [`connect`](Self::connect) was not called.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let s = aio::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_eq!(s.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// s.connect("127.0.0.1:9").await?;
    /// assert_eq!(s.peer_addr()?, "127.0.0.1:9".parse().unwrap());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sock_ip(SockRef::from(self).peer_addr())
    }

    /// Sends `buf`'s initialized bytes as one datagram to the first of
    /// `addr`'s addresses (names are resolved on the blocking pool);
    /// returns how many bytes went (all of them, for UDP) and the buffer.
    ///
    /// # Errors
    /// A resolution error (`InvalidInput` for a malformed address), given
    /// back with the buffer; `EMSGSIZE` for a datagram too big; an address
    /// of the other family; other socket errors.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the send; the datagram may have gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let s = aio::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// let (r, buf) = s.send_to(b"hi".to_vec(), "not an address").await;
    /// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// assert_eq!(buf, b"hi"); // given back on error too
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: impl ToSocketAddrs) -> BufResult<usize, B> {
        let to = match resolve_nonempty(addr).await {
            // A name may resolve to both families: the first of this
            // socket's family (a send to the other would fail).
            Ok(addrs) => same_family(&addrs, self.local_addr().is_ok_and(|a| a.is_ipv6())),
            Err(e) => return (Err(e), buf),
        };
        let (res, mut bufs) = ops::send_to(&self.fd, buf, to_raw(&to.into())).await;
        (res, bufs.pop().expect("send_to gives its one buffer back"))
    }

    /// Receives one datagram into `buf` from its start, up to its capacity;
    /// returns its length, the sender's address and the buffer, whose
    /// first `n` bytes are the datagram (`&buf[..n]`). The rest of a
    /// datagram longer than the buffer is discarded: give a buffer with
    /// room for the largest datagram you expect (`vec![0; 1500]`,
    /// `Vec::with_capacity(1500)`, `[0u8; 1500]`; a zero-length buffer
    /// consumes a datagram and keeps nothing). To keep a `Vec`'s bytes and
    /// receive after them, pass `buf.slice(buf.len()..)`.
    ///
    /// # Errors
    /// Socket errors (`ConnectionRefused` after an ICMP port-unreachable on
    /// a connected socket, …).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the receive; a datagram it had received
    /// is lost with the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"data".to_vec(), b.local_addr()?).await.0?;
    /// let (r, buf) = b.recv_from([0u8; 1500]).await;
    /// let (n, from) = r?;
    /// assert_eq!((&buf[..n], from), (&b"data"[..], a.local_addr()?));
    /// // Keep a prefix: receive into a view after it.
    /// use aio::io::IoBuf;
    /// a.send_to(b"more".to_vec(), b.local_addr()?).await.0?;
    /// let mut v = Vec::with_capacity(64);
    /// v.extend_from_slice(b"> ");
    /// let at = v.len();
    /// let (r, view) = b.recv_from(v.slice(at..)).await;
    /// r?;
    /// assert_eq!(view.into_inner(), b"> more");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        let (res, buf) = ops::recv_from(&self.fd, buf).await;
        let res = res.and_then(|(n, raw)| Ok((n, ip_from_raw(&raw)?)));
        (res, buf)
    }

    /// Sends `buf`'s initialized bytes as one datagram to the connected
    /// peer; returns how many bytes went and the buffer.
    ///
    /// # Errors
    /// `EDESTADDRREQ` if the socket is not connected; `ConnectionRefused`
    /// after the peer's port was found closed; other socket errors.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the send; the datagram may have gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// b.connect(a.local_addr()?).await?;
    /// assert_eq!(a.send(b"one".to_vec()).await.0?, 3);
    /// let (n, buf) = b.recv(Vec::with_capacity(64)).await;
    /// assert_eq!(&buf[..n?], b"one");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn send<B: IoBuf>(&self, buf: B) -> BufResult<usize, B> {
        ops::send(&self.fd, buf, 0).await
    }

    /// Receives one datagram from the connected peer into `buf` from its
    /// start, as [`recv_from`](Self::recv_from) does; returns its length
    /// and the buffer.
    ///
    /// # Errors
    /// `ConnectionRefused` after the peer's port was found closed; other
    /// socket errors.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the receive; a datagram it had received
    /// is lost with the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// b.connect(a.local_addr()?).await?;
    /// a.send_to(b"two".to_vec(), b.local_addr()?).await.0?;
    /// let (n, buf) = b.recv(Vec::with_capacity(64)).await;
    /// assert_eq!(&buf[..n?], b"two");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> BufResult<usize, B> {
        ops::recv(&self.fd, buf).await
    }

    /// `SO_BROADCAST`: allow sending to broadcast addresses.
    ///
    /// # Errors
    /// `setsockopt(2)`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let s = aio::net::UdpSocket::bind("0.0.0.0:0").await?;
    /// s.set_broadcast(true)?;
    /// assert!(s.broadcast()?);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        SockRef::from(self).set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    /// `getsockopt(2)`'s error.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let s = aio::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(!s.broadcast()?);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        SockRef::from(self).broadcast()
    }

    /// Closes the socket once its in-flight operations have completed.
    ///
    /// # Errors
    /// The error of `close(2)`.
    ///
    /// # Cancel safety
    /// Dropping the future leaves the socket open until those operations
    /// complete; it is then closed without reporting.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let s = aio::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// s.close().await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn close(self) -> io::Result<()> {
        self.fd.close().await
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::UdpSocket;
    use aio_runtime::io::IoBuf;
    use std::future::Future;
    use std::io::ErrorKind;

    /// Runs `body` on the default runtime (`aio::run`, multi-thread) and on
    /// a current-thread runtime.
    pub(crate) fn on_each_flavor<F, Fut>(body: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()>,
    {
        aio::run(body());
        aio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(body());
    }

    async fn bound() -> UdpSocket {
        UdpSocket::bind("127.0.0.1:0").await.unwrap()
    }

    #[test]
    fn send_to_recv_from_reports_the_source() {
        on_each_flavor(|| async {
            let (a, b) = (bound().await, bound().await);
            let (n, buf) = a.send_to(b"ping".to_vec(), b.local_addr().unwrap()).await;
            assert_eq!(n.unwrap(), 4);
            assert_eq!(buf, b"ping");
            let (r, buf) = b.recv_from(Vec::with_capacity(64)).await;
            let (n, from) = r.unwrap();
            assert_eq!((n, from), (4, a.local_addr().unwrap()));
            assert_eq!(buf, b"ping");
            // And back, to the address recv_from reported.
            b.send_to(b"pong".to_vec(), from).await.0.unwrap();
            let (r, buf) = a.recv_from(Vec::with_capacity(64)).await;
            assert_eq!(r.unwrap(), (4, b.local_addr().unwrap()));
            assert_eq!(buf, b"pong");
        });
    }

    #[test]
    fn one_receive_takes_one_datagram_and_truncates() {
        on_each_flavor(|| async {
            let (a, b) = (bound().await, bound().await);
            let to = b.local_addr().unwrap();
            a.send_to(b"first".to_vec(), to).await.0.unwrap();
            a.send_to(b"second".to_vec(), to).await.0.unwrap();
            let (r, buf) = b.recv_from(Vec::with_capacity(3)).await;
            assert_eq!(r.unwrap().0, 3);
            assert_eq!(buf, b"fir");
            let (r, buf) = b.recv_from(Vec::with_capacity(64)).await;
            assert_eq!(r.unwrap().0, 6);
            assert_eq!(buf, b"second");
        });
    }

    #[test]
    fn connected_send_recv() {
        on_each_flavor(|| async {
            let (a, b) = (bound().await, bound().await);
            a.connect(b.local_addr().unwrap()).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
            assert_eq!(a.send(b"hello".to_vec()).await.0.unwrap(), 5);
            let mut buf = Vec::with_capacity(64);
            buf.extend_from_slice(b"> ");
            let (n, buf) = b.recv(buf.slice(2..)).await;
            assert_eq!(n.unwrap(), 5);
            assert_eq!(buf.into_inner(), b"> hello");
        });
    }

    #[test]
    fn send_without_connect_fails() {
        on_each_flavor(|| async {
            let a = bound().await;
            assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
            let (r, buf) = a.send(b"x".to_vec()).await;
            assert!(r.is_err(), "send on an unconnected UDP socket: {r:?}");
            assert_eq!(buf, b"x");
        });
    }

    #[test]
    fn send_to_a_bad_address_gives_the_buffer_back() {
        on_each_flavor(|| async {
            let a = bound().await;
            for bad in ["not an address", "127.0.0.1:99999", "127.0.0.1"] {
                let (r, buf) = a.send_to(b"payload".to_vec(), bad).await;
                let e = r.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
                assert!(e.to_string().contains(bad), "{bad}: {e}");
                assert_eq!(buf, b"payload");
            }
        });
    }

    #[test]
    fn bind_errors_name_the_address() {
        on_each_flavor(|| async {
            let a = bound().await;
            let taken = a.local_addr().unwrap();
            let e = UdpSocket::bind(taken).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AddrInUse);
            assert!(e.to_string().contains(&taken.to_string()), "{e}");
        });
    }

    #[test]
    fn from_std_broadcast_and_close() {
        on_each_flavor(|| async {
            let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = std.local_addr().unwrap();
            let s = UdpSocket::from_std(std).unwrap();
            assert_eq!(s.local_addr().unwrap(), addr);
            assert!(!s.broadcast().unwrap());
            s.set_broadcast(true).unwrap();
            assert!(s.broadcast().unwrap());
            s.close().await.unwrap();
        });
    }
}

/// The first of `addrs` (never empty) of the family of a socket that is
/// IPv6 or not, else the first.
fn same_family(addrs: &[SocketAddr], v6: bool) -> SocketAddr {
    addrs
        .iter()
        .copied()
        .find(|a| a.is_ipv6() == v6)
        .unwrap_or(addrs[0])
}

#[cfg(test)]
mod family_tests {
    use super::*;

    #[test]
    fn a_name_resolving_to_both_families_sends_to_the_sockets_own() {
        let both: Vec<SocketAddr> =
            vec!["[::1]:53".parse().unwrap(), "127.0.0.1:53".parse().unwrap()];
        assert_eq!(same_family(&both, false), both[1]);
        assert_eq!(same_family(&both, true), both[0]);
        let v4: Vec<SocketAddr> = vec!["127.0.0.1:53".parse().unwrap()];
        assert_eq!(same_family(&v4, true), v4[0]);
    }
}
