//! `Connector`: the connector of hyper-util's pooled client
//! (`hyper_util::client::legacy::Client`) on aio: resolves the URI's host
//! with `lookup_host` (on the blocking pool), connects to its addresses in
//! order within an optional timeout, sets `TCP_NODELAY`, and returns the
//! `TcpStream` itself (which implements hyper's I/O traits and
//! hyper-util's `Connection`).
//!
//! Called by hyper-util's client through `tower_service::Service<Uri>`;
//! calls `lookup_host`, `TcpStream::connect` and `aio_runtime::time`.

use crate::{lookup_host, TcpStream, UnixStream};
use hyper_util::client::legacy::connect::{Connected, Connection};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Connects hyper-util's pooled client to `http://` URIs over aio's TCP,
/// for HTTP/1 and HTTP/2 alike (prior knowledge: `.http2_only(true)` on
/// the client builder).
///
/// The host is resolved with [`lookup_host`] (literal IPs at once, names
/// on the blocking pool); its addresses are tried in order, and the first
/// that accepts is used, with `TCP_NODELAY` set. With
/// [`connect_timeout`](Self::connect_timeout) the time is divided evenly
/// among the addresses, as hyper-util's `HttpConnector` does.
///
/// `https://` URIs are refused unless [`enforce_http(false)`](Self::enforce_http),
/// which is for wrapping it in a TLS connector (such as hyper-rustls'
/// `HttpsConnector`): the TLS layer then gets the TCP stream to port 443
/// or the URI's port.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use http_body_util::{BodyExt, Empty};
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
///
/// aio::run(async {
///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
///     let router = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
///     let server = aio::hyper::serve(listener, router);
///     let url = format!("http://{}/", server.local_addr());
///     let server = aio::spawn(server);
///
///     let client = Client::builder(aio::hyper::Executor::default())
///         .timer(aio::hyper::Timer::default())
///         .build(aio::hyper::Connector::new().connect_timeout(Duration::from_secs(5)));
///     let res = client.get(url.parse().unwrap()).await.unwrap();
///     let body = res.into_body().collect().await.unwrap().to_bytes();
///     assert_eq!(body, Bytes::from("hi"));
///     # let _: &Client<aio::hyper::Connector, Empty<Bytes>> = &client;
///     server.cancel();
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Connector {
    connect_timeout: Option<Duration>,
    enforce_http: bool,
}

impl Default for Connector {
    fn default() -> Connector {
        Connector::new()
    }
}

impl Connector {
    /// A connector for `http://` URIs, with no connect timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let _c = aio::hyper::Connector::new();
    /// ```
    pub fn new() -> Connector {
        Connector {
            connect_timeout: None,
            enforce_http: true,
        }
    }

    /// Gives up connecting after `timeout` (divided evenly among the
    /// host's addresses): the error is `TimedOut`. It bounds the TCP
    /// connects, not the name lookup before them, as hyper-util's
    /// `HttpConnector::set_connect_timeout`; bound the whole request with
    /// [`aio::wait_for`](aio_runtime::time::wait_for) to cover a slow
    /// resolver too.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let _c = aio::hyper::Connector::new().connect_timeout(Duration::from_secs(3));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Connector {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whether only `http://` URIs are accepted (the default). `false`
    /// lets `https://` URIs through, connecting plain TCP to their port
    /// (443 by default), for a TLS connector that wraps this one.
    ///
    /// # Examples
    ///
    /// ```
    /// let _for_tls = aio::hyper::Connector::new().enforce_http(false);
    /// ```
    pub fn enforce_http(mut self, enforce: bool) -> Connector {
        self.enforce_http = enforce;
        self
    }

    /// Connects to the host and port of `dst`.
    async fn connect(self, dst: http::Uri) -> io::Result<TcpStream> {
        let port = match dst.scheme_str() {
            Some("http") => 80,
            Some("https") if !self.enforce_http => 443,
            Some("https") => {
                return Err(invalid(format!(
                    "{dst}: https is not supported by aio::hyper::Connector alone; wrap it in \
                     a TLS connector, with enforce_http(false)"
                )))
            }
            Some(other) => return Err(invalid(format!("{dst}: unsupported scheme {other:?}"))),
            None => return Err(invalid(format!("{dst}: the URI has no scheme"))),
        };
        let host = dst
            .host()
            .ok_or_else(|| invalid(format!("{dst}: the URI has no host")))?;
        // An IPv6 literal comes bracketed ("[::1]").
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = dst.port_u16().unwrap_or(port);
        let addrs = lookup_host((host, port)).await?;
        let per_addr = self
            .connect_timeout
            .map(|t| t / u32::try_from(addrs.len()).unwrap_or(u32::MAX).max(1));
        let mut last = None;
        for addr in addrs {
            match connect_one(addr, per_addr).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host}: no address to connect to"),
            )
        }))
    }
}

/// Connects to `addr`, within `timeout` if given.
async fn connect_one(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
    match aio_runtime::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(res) => res,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "connect to {addr} timed out after {:?}",
                timeout.unwrap_or_default()
            ),
        )),
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = TcpStream;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: http::Uri) -> Connecting {
        Connecting(Box::pin(self.clone().connect(dst)))
    }
}

/// The future of one [`Connector`] call: the connected stream.
///
/// # Cancel safety
/// Dropping it cancels the resolution's wait and the connect, and closes
/// the socket.
///
/// # Examples
///
/// ```
/// use tower_service::Service;
/// aio::run(async {
///     let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
///     let uri = format!("http://{}/", listener.local_addr()?).parse().unwrap();
///     let stream = aio::hyper::Connector::new().call(uri).await?;
///     assert!(stream.nodelay()?);
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Connecting(Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>);

impl fmt::Debug for Connecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connecting")
    }
}

impl Future for Connecting {
    type Output = io::Result<TcpStream>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<TcpStream>> {
        self.0.as_mut().poll(cx)
    }
}

/// What hyper-util's client learns of a connection: a plain one (no
/// proxy, no ALPN).
impl Connection for TcpStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// For a connector of your own that reaches a server over a Unix socket.
impl Connection for UnixStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(c: Connector, uri: &str) -> io::Result<TcpStream> {
        aio_runtime::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(c.connect(uri.parse().unwrap()))
    }

    #[test]
    fn uris_it_cannot_connect_are_refused_with_the_reason() {
        let e = connect(Connector::new(), "https://127.0.0.1/").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("enforce_http(false)"), "{e}");
        let e = connect(Connector::new(), "ftp://127.0.0.1/").unwrap_err();
        assert!(e.to_string().contains("unsupported scheme"), "{e}");
        let e = connect(Connector::new(), "/relative").unwrap_err();
        assert!(e.to_string().contains("no scheme"), "{e}");
    }

    #[test]
    fn ipv6_literals_and_ports_are_taken_from_the_uri() {
        let l = std::net::TcpListener::bind("[::1]:0");
        let Ok(l) = l else { return }; // no IPv6 loopback here
        let port = l.local_addr().unwrap().port();
        let s = connect(Connector::new(), &format!("http://[::1]:{port}/")).unwrap();
        assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
        assert!(s.nodelay().unwrap());
    }

    #[test]
    fn https_goes_through_when_not_enforced() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = Connector::new().enforce_http(false);
        let s = connect(c, &format!("https://127.0.0.1:{port}/")).unwrap();
        assert_eq!(s.peer_addr().unwrap().port(), port);
    }
}
