//! `as_completed`: a stream of outputs in completion order.

use crate::time::{sleep_until, Elapsed, Instant, Sleep};
use futures_core::Stream;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Yields the outputs of `futures` as they complete (asyncio's
/// `as_completed`); the futures are polled concurrently by whoever polls
/// the stream.
///
/// Where asyncio differs: a [`Task`](crate::task::Task) given by value is
/// awaited *linked* (as `task.await` is), so the tasks not done
/// when the stream is dropped, or times out
/// ([`with_timeout`](AsCompleted::with_timeout)), are cancelled; asyncio
/// leaves them running. Give `&mut task` to keep them running.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aio::stream::StreamExt;
/// // A paused clock: the sleeps end in deadline order however loaded the
/// // machine is.
/// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let mut s = aio::future::as_completed([30u64, 10, 20].map(|ms| async move {
///         aio::sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     let mut order = Vec::new();
///     while let Some(ms) = s.next().await {
///         order.push(ms);
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    AsCompleted {
        futures: futures
            .into_iter()
            .map(|f| Some(Box::pin(f.into_future())))
            .collect(),
    }
}

/// The stream of [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    futures: Vec<Option<Pin<Box<F>>>>,
}

impl<F> AsCompleted<F> {
    /// Ends the stream at `timeout` from now: it then yields `Err(Elapsed)`
    /// once and ends (the futures not done are dropped: tasks given by
    /// value are cancelled, tasks given as `&mut task` keep running).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aio::stream::StreamExt;
    /// aio::run(async {
    ///     let mut slow = aio::spawn(async { aio::sleep(Duration::from_secs(3600)).await; 2 });
    ///     let mut fast = aio::spawn(async { 1 });
    ///     let mut s = aio::future::as_completed([&mut fast, &mut slow])
    ///         .with_timeout(Duration::from_millis(10));
    ///     assert_eq!(s.next().await.unwrap().unwrap().unwrap(), 1);
    ///     assert!(s.next().await.unwrap().is_err());
    ///     assert!(s.next().await.is_none());
    ///     drop(s);
    ///     assert!(!slow.is_done(), "given as &mut: still running");
    /// });
    /// ```
    pub fn with_timeout(self, timeout: Duration) -> AsCompletedTimeout<F> {
        AsCompletedTimeout {
            inner: Some(self),
            deadline: Box::pin(sleep_until(
                Instant::now()
                    .checked_add(timeout)
                    .unwrap_or_else(Instant::far_future),
            )),
        }
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = &mut *self;
        let mut live = 0;
        for slot in this.futures.iter_mut() {
            if let Some(f) = slot {
                if let Poll::Ready(v) = f.as_mut().poll(cx) {
                    *slot = None;
                    return Poll::Ready(Some(v));
                }
                live += 1;
            }
        }
        if live == 0 {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let left = self.futures.iter().filter(|s| s.is_some()).count();
        f.debug_struct("AsCompleted").field("left", &left).finish()
    }
}

/// The stream of [`AsCompleted::with_timeout`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedTimeout<F> {
    inner: Option<AsCompleted<F>>,
    /// Boxed, so that this stream is `Unpin` like `AsCompleted`.
    deadline: Pin<Box<Sleep>>,
}

impl<F: Future> Stream for AsCompletedTimeout<F> {
    type Item = Result<F::Output, Elapsed>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(inner).poll_next(cx) {
            Poll::Ready(Some(v)) => return Poll::Ready(Some(Ok(v))),
            Poll::Ready(None) => {
                this.inner = None;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if this.deadline.as_mut().poll_unbudgeted(cx).is_ready() {
            this.inner = None;
            return Poll::Ready(Some(Err(crate::time::elapsed())));
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for AsCompletedTimeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedTimeout")
            .field("inner", &self.inner)
            .finish()
    }
}
