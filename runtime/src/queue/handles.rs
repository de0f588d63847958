//! The three public queue types. They differ only in the order items come
//! out (see `items.rs`); everything else is one set of methods, generated
//! by `queue_methods!` over `Shared<T>`.

use super::error::{GetError, PutError, TaskDoneError};
use super::futures::{Get, Join, Put, QueueStream};
use super::items::Items;
use super::shared::Shared;
use crate::loom::sync::Arc;
use std::collections::VecDeque;
use std::fmt;

/// A first-in, first-out queue for tasks (asyncio's `Queue`).
///
/// `maxsize` bounds it (`0` = unbounded). Clones share the queue. Getters
/// and putters that wait are served in arrival order. `task_done` / `join`
/// track the items processed, and `shutdown` ends it with Python 3.13's
/// semantics.
///
/// # Examples
///
/// ```
/// use aio::queue::Queue;
/// aio::run(async {
///     let q = Queue::new(2);
///     let producer = {
///         let q = q.clone();
///         aio::spawn(async move {
///             for i in 0..5 {
///                 q.put(i).await.unwrap();
///             }
///         })
///     };
///     let mut got = Vec::new();
///     for _ in 0..5 {
///         got.push(q.get().await.unwrap());
///         q.task_done().unwrap();
///     }
///     producer.await.unwrap();
///     q.join().await;
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// ```
pub struct Queue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Queue<T> {
    /// A FIFO queue holding at most `maxsize` items (`0` = unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = aio::queue::Queue::<String>::new(10);
    /// assert_eq!(q.maxsize(), 10);
    /// ```
    pub fn new(maxsize: usize) -> Queue<T> {
        Queue {
            shared: Arc::new(Shared::new(Items::Fifo(VecDeque::new()), maxsize)),
        }
    }
}

/// A last-in, first-out queue for tasks (asyncio's `LifoQueue`); otherwise
/// like [`Queue`].
///
/// # Examples
///
/// ```
/// let q = aio::queue::LifoQueue::new(0);
/// for i in 0..3 {
///     q.put_nowait(i).unwrap();
/// }
/// assert_eq!(q.get_nowait(), Ok(2));
/// assert_eq!(q.get_nowait(), Ok(1));
/// ```
pub struct LifoQueue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> LifoQueue<T> {
    /// A LIFO queue holding at most `maxsize` items (`0` = unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = aio::queue::LifoQueue::<u8>::new(0);
    /// assert_eq!(q.maxsize(), 0);
    /// ```
    pub fn new(maxsize: usize) -> LifoQueue<T> {
        LifoQueue {
            shared: Arc::new(Shared::new(Items::Lifo(Vec::new()), maxsize)),
        }
    }
}

/// A queue that hands out its lowest item first (asyncio's
/// `PriorityQueue`: put `(priority, data)` tuples); otherwise like
/// [`Queue`]. Equal items come out in no particular order.
///
/// # Examples
///
/// ```
/// let q = aio::queue::PriorityQueue::new(0);
/// q.put_nowait((2, "low")).unwrap();
/// q.put_nowait((1, "high")).unwrap();
/// assert_eq!(q.get_nowait(), Ok((1, "high")));
/// ```
pub struct PriorityQueue<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Ord> PriorityQueue<T> {
    /// A priority queue holding at most `maxsize` items (`0` = unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = aio::queue::PriorityQueue::<(u8, &str)>::new(100);
    /// assert!(q.is_empty());
    /// ```
    pub fn new(maxsize: usize) -> PriorityQueue<T> {
        PriorityQueue {
            shared: Arc::new(Shared::new(Items::Heap(Vec::new(), T::cmp), maxsize)),
        }
    }
}

macro_rules! queue_methods {
    ($name:ident) => {
        impl<T> $name<T> {
            /// Puts `item` into the queue, waiting for room if it is full.
            ///
            /// # Errors
            /// [`ShutDown`](super::ShutDown) with the item if the queue is
            /// (or gets) shut down before the item went in.
            ///
            /// # Cancel safety
            /// Cancel-safe: dropped before completion, nothing was enqueued.
            ///
            /// # Examples
            ///
            /// ```
            /// aio::run(async {
            #[doc = concat!("    let q = aio::queue::", stringify!($name), "::new(1);")]
            ///     q.put(1).await.unwrap();
            ///     assert!(q.is_full());
            /// });
            /// ```
            pub fn put(&self, item: T) -> Put<'_, T> {
                Put::new(&self.shared, item)
            }

            /// Puts `item` into the queue if there is room now.
            ///
            /// # Errors
            /// [`PutError::Full`] if the queue is full (or putters are
            /// already waiting for room), [`PutError::ShutDown`] if it was
            /// shut down; both hand the item back.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::new(1);")]
            /// q.put_nowait(1).unwrap();
            /// assert!(q.put_nowait(2).unwrap_err().is_full());
            /// ```
            pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
                self.shared.put_nowait(item)
            }

            /// Removes and returns the next item, waiting until one is
            /// available.
            ///
            /// After `shutdown(false)` it still returns the items left, then
            /// fails.
            ///
            /// # Errors
            /// [`QueueShutDown`](super::QueueShutDown) if the queue is shut
            /// down and empty.
            ///
            /// # Cancel safety
            /// Cancel-safe: no item is lost if it is dropped, whenever that
            /// happens.
            ///
            /// # Examples
            ///
            /// ```
            /// aio::run(async {
            #[doc = concat!("    let q = aio::queue::", stringify!($name), "::new(0);")]
            ///     let q2 = q.clone();
            ///     aio::spawn(async move { q2.put(7).await.unwrap() });
            ///     assert_eq!(q.get().await, Ok(7));
            /// });
            /// ```
            pub fn get(&self) -> Get<'_, T> {
                Get::new(&self.shared)
            }

            /// Removes and returns the next item if one is available now.
            ///
            /// # Errors
            /// [`GetError::Empty`] if none is (an item already promised to a
            /// waiting `get` does not count), [`GetError::ShutDown`] if the
            /// queue is shut down and empty.
            ///
            /// # Examples
            ///
            /// ```
            /// use aio::queue::GetError;
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::new(0);")]
            /// assert_eq!(q.get_nowait(), Err(GetError::Empty));
            /// q.put_nowait(1).unwrap();
            /// assert_eq!(q.get_nowait(), Ok(1));
            /// ```
            pub fn get_nowait(&self) -> Result<T, GetError> {
                self.shared.get_nowait()
            }

            /// Marks one item taken from the queue as processed; `join`
            /// returns when every item put has been marked.
            ///
            /// # Errors
            /// [`TaskDoneError`] if called more times than items were put.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::new(0);")]
            /// q.put_nowait("job").unwrap();
            /// let _job = q.get_nowait().unwrap();
            /// q.task_done().unwrap();
            /// assert!(q.task_done().is_err());
            /// ```
            pub fn task_done(&self) -> Result<(), TaskDoneError> {
                self.shared.task_done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done) (or discarded by
            /// `shutdown(true)`).
            ///
            /// # Cancel safety
            /// Cancel-safe: it only observes the queue.
            ///
            /// # Examples
            ///
            /// ```
            /// aio::run(async {
            #[doc = concat!("    let q = aio::queue::", stringify!($name), "::new(0);")]
            ///     q.put_nowait(1).unwrap();
            ///     let worker = {
            ///         let q = q.clone();
            ///         aio::spawn(async move {
            ///             q.get().await.unwrap();
            ///             q.task_done().unwrap();
            ///         })
            ///     };
            ///     q.join().await;
            ///     worker.await.unwrap();
            /// });
            /// ```
            pub fn join(&self) -> Join<'_, T> {
                Join::new(&self.shared)
            }

            /// Shuts the queue down (Python 3.13): `put`s fail from now on,
            /// and every waiting `put` and `get` wakes up. `get`s return the
            /// items left, then fail. With `immediate`, the items left are
            /// discarded (dropped now) and counted as done for `join`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.put_nowait(2).unwrap();
            /// q.shutdown(false);
            /// assert!(q.put_nowait(3).is_err());
            /// assert!(q.get_nowait().is_ok());
            /// q.shutdown(true);
            /// assert!(q.get_nowait().is_err());
            /// ```
            pub fn shutdown(&self, immediate: bool) {
                self.shared.shutdown(immediate)
            }

            /// Whether [`shutdown`](Self::shutdown) was called.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::<u8>::new(0);")]
            /// q.shutdown(false);
            /// assert!(q.is_shut_down());
            /// ```
            pub fn is_shut_down(&self) -> bool {
                self.shared.is_shut_down()
            }

            /// The number of items in the queue.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// assert_eq!(q.len(), 1);
            /// ```
            pub fn len(&self) -> usize {
                self.shared.len()
            }

            /// Whether the queue holds no items.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::<u8>::new(0);")]
            /// assert!(q.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Whether the queue holds `maxsize` items (never, if unbounded).
            /// As asyncio's `full()`, a snapshot: `put_nowait` may also
            /// refuse a queue that is not full, when putters are already
            /// waiting (they go first) or a freed slot is reserved for one.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::new(1);")]
            /// q.put_nowait(1).unwrap();
            /// assert!(q.is_full());
            /// ```
            pub fn is_full(&self) -> bool {
                self.shared.is_full()
            }

            /// The bound given to `new` (`0` = unbounded).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = aio::queue::", stringify!($name), "::<u8>::new(3);")]
            /// assert_eq!(q.maxsize(), 3);
            /// ```
            pub fn maxsize(&self) -> usize {
                self.shared.maxsize()
            }

            /// The items as a [`Stream`](crate::stream::Stream) of repeated
            /// `get`s, which ends once the queue is shut down and empty.
            ///
            /// # Examples
            ///
            /// ```
            /// use aio::stream::StreamExt;
            /// aio::run(async {
            #[doc = concat!("    let q = aio::queue::", stringify!($name), "::new(0);")]
            ///     q.put_nowait(1).unwrap();
            ///     q.shutdown(false);
            ///     let mut s = q.stream();
            ///     assert_eq!(s.next().await, Some(1));
            ///     assert_eq!(s.next().await, None);
            /// });
            /// ```
            pub fn stream(&self) -> QueueStream<T> {
                QueueStream::new(self.shared.clone())
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                $name {
                    shared: self.shared.clone(),
                }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("len", &self.len())
                    .field("maxsize", &self.maxsize())
                    .field("shut_down", &self.is_shut_down())
                    .finish()
            }
        }
    };
}

queue_methods!(Queue);
queue_methods!(LifoQueue);
queue_methods!(PriorityQueue);
