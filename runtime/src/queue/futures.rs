//! The futures and the stream that queue handles return: `Put`, `Get`,
//! `Join` and `QueueStream`. Each polls the protocol of `shared.rs` and,
//! when dropped while registered, leaves its waiter list (passing on any
//! grant it held).

use super::error::{QueueShutDown, ShutDown};
use super::shared::Shared;
use crate::loom::sync::Arc;
use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future of `put` on a [`Queue`](super::Queue),
/// [`LifoQueue`](super::LifoQueue) or [`PriorityQueue`](super::PriorityQueue).
///
/// # Cancel safety
/// Cancel-safe: dropped before it completes, it enqueued nothing (the item
/// is dropped with it) and its place in line passes to the next putter.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let q = aio::queue::Queue::new(1);
///     let put: aio::queue::Put<'_, u8> = q.put(1);
///     put.await.unwrap();
///     assert_eq!(q.len(), 1);
/// });
/// ```
#[must_use = "futures do nothing unless awaited; dropping a Put enqueues nothing"]
pub struct Put<'a, T> {
    shared: &'a Shared<T>,
    item: Option<T>,
    id: Option<u64>,
}

impl<'a, T> Put<'a, T> {
    pub(crate) fn new(shared: &'a Shared<T>, item: T) -> Put<'a, T> {
        Put {
            shared,
            item: Some(item),
            id: None,
        }
    }
}

// The item is never pinned: it is moved into the queue by value.
impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), ShutDown<T>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.shared.poll_put(&mut this.item, &mut this.id, cx)
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.shared.cancel_put(id);
        }
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("done", &self.item.is_none())
            .field("waiting", &self.id.is_some())
            .finish()
    }
}

/// The future of `get` on a queue.
///
/// # Cancel safety
/// Cancel-safe: an item is only removed from the queue in the poll that
/// returns it. Dropped after an item was reserved for it, the reservation
/// passes to the next getter (or the item stays available).
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let q = aio::queue::Queue::new(0);
///     q.put_nowait("a").unwrap();
///     let get: aio::queue::Get<'_, &str> = q.get();
///     assert_eq!(get.await, Ok("a"));
/// });
/// ```
#[must_use = "futures do nothing unless awaited; dropping a Get loses no item"]
pub struct Get<'a, T> {
    shared: &'a Shared<T>,
    id: Option<u64>,
}

impl<'a, T> Get<'a, T> {
    pub(crate) fn new(shared: &'a Shared<T>) -> Get<'a, T> {
        Get { shared, id: None }
    }
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, QueueShutDown>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.shared.poll_get(&mut this.id, cx)
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.shared.cancel_get(id);
        }
    }
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.id.is_some())
            .finish()
    }
}

/// The future of `join` on a queue: ready once every item put has been
/// marked done with `task_done`.
///
/// # Cancel safety
/// Cancel-safe: it only observes the queue.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let q = aio::queue::Queue::<u8>::new(0);
///     let join: aio::queue::Join<'_, u8> = q.join();
///     join.await; // nothing was put
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T> {
    shared: &'a Shared<T>,
    reg: Option<(u64, u64)>,
}

impl<'a, T> Join<'a, T> {
    pub(crate) fn new(shared: &'a Shared<T>) -> Join<'a, T> {
        Join { shared, reg: None }
    }
}

impl<T> Future for Join<'_, T> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.shared.poll_join(&mut this.reg, cx)
    }
}

impl<T> Drop for Join<'_, T> {
    fn drop(&mut self) {
        if let Some((id, _)) = self.reg {
            self.shared.cancel_join(id);
        }
    }
}

impl<T> fmt::Debug for Join<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("waiting", &self.reg.is_some())
            .finish()
    }
}

/// The items of a queue as a [`Stream`]: each `next()` is a `get`; the
/// stream ends when the queue is shut down and drained.
///
/// # Cancel safety
/// Dropping a pending `next()` (or the stream) loses no item, as with
/// [`Get`].
///
/// # Examples
///
/// ```
/// use aio::stream::StreamExt;
/// aio::run(async {
///     let q = aio::queue::Queue::new(0);
///     for i in 0..3 {
///         q.put_nowait(i).unwrap();
///     }
///     q.shutdown(false);
///     let mut s = q.stream();
///     let mut got = Vec::new();
///     while let Some(i) = s.next().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<T> {
    shared: Arc<Shared<T>>,
    id: Option<u64>,
}

impl<T> QueueStream<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>) -> QueueStream<T> {
        QueueStream { shared, id: None }
    }
}

impl<T> Stream for QueueStream<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        this.shared.poll_get(&mut this.id, cx).map(Result::ok)
    }
}

impl<T> Drop for QueueStream<T> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.shared.cancel_get(id);
        }
    }
}

impl<T> fmt::Debug for QueueStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("waiting", &self.id.is_some())
            .finish()
    }
}
