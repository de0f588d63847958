//! `Reporting`: the service wrapper through which `serve` reports the
//! server's own errors on HTTP/2.
//!
//! On HTTP/1 a service's error or a response body's error ends the
//! connection, and `connection.rs` reports it from the connection's
//! result. hyper's HTTP/2 server handles both inside the connection (it
//! resets that stream and serves on), so its result never carries them:
//! this wrapper reports them where they happen, for HTTP/2 requests only
//! (an HTTP/1 one would otherwise be reported twice). The peer's own doing
//! (a reset stream, a client gone) never reaches a service or a body as an
//! error, so everything seen here is the server's.
//!
//! Called by `connection.rs`; calls `crate::incoming::report`.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http_body::{Body, Frame, SizeHint};

type BoxError = Box<dyn StdError + Send + Sync>;

/// A service whose HTTP/2 errors (its own, its response bodies') are
/// reported for `peer` (see the module doc).
#[derive(Clone)]
pub(crate) struct Reporting<S> {
    pub(crate) inner: S,
    pub(crate) peer: Option<SocketAddr>,
}

/// Where a request's errors are reported: `None` for HTTP/1 requests.
type ReportTo = Option<Option<SocketAddr>>;

fn report(peer: Option<SocketAddr>, e: &(dyn StdError + 'static)) {
    let peer = peer.map_or_else(|| "a peer".to_string(), |p| p.to_string());
    crate::incoming::report(&format!(
        "aio::hyper::serve: error serving {peer}: {}",
        super::connection::chain(e)
    ));
}

impl<S, B> tower_service::Service<http::Request<hyper::body::Incoming>> for Reporting<S>
where
    S: tower_service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ReportBody<B>>;
    type Error = BoxError;
    type Future = ReportFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<hyper::body::Incoming>) -> Self::Future {
        let to = (req.version() == http::Version::HTTP_2).then_some(self.peer);
        ReportFuture {
            inner: self.inner.call(req),
            to,
        }
    }
}

/// The future of [`Reporting`]'s `call`.
pub(crate) struct ReportFuture<F> {
    inner: F,
    to: ReportTo,
}

impl<F, B, E> Future for ReportFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<ReportBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned (never moved out, and
        // `ReportFuture` has no `Drop` and is not `Unpin` unless `F` is);
        // `to` is plain data.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let to = this.to;
        Poll::Ready(match ready!(inner.poll(cx)) {
            Ok(res) => Ok(res.map(|inner| ReportBody { inner, to })),
            Err(e) => {
                let e = e.into();
                if let Some(peer) = to {
                    report(peer, &*e);
                }
                Err(e)
            }
        })
    }
}

/// A response body whose error is reported on HTTP/2.
pub(crate) struct ReportBody<B> {
    inner: B,
    to: ReportTo,
}

impl<B> Body for ReportBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        // SAFETY: as in `ReportFuture::poll`: `inner` is structurally
        // pinned, `ReportBody` has no `Drop`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        Poll::Ready(match ready!(inner.poll_frame(cx)) {
            Some(Err(e)) => {
                let e = e.into();
                if let Some(peer) = this.to {
                    report(peer, &*e);
                }
                Some(Err(e))
            }
            Some(Ok(frame)) => Some(Ok(frame)),
            None => None,
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
