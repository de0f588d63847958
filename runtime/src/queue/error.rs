//! The errors of queue operations. Each hands a rejected item back.

use std::fmt;

/// `put` failed because the queue was shut down; the item is handed back.
///
/// # Examples
///
/// ```
/// use aio::queue::{Queue, ShutDown};
/// aio::run(async {
///     let q = Queue::new(0);
///     q.shutdown(false);
///     let ShutDown(item) = q.put("x").await.unwrap_err();
///     assert_eq!(item, "x");
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShutDown<T>(pub T);

impl<T> fmt::Debug for ShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShutDown(..)")
    }
}

impl<T> fmt::Display for ShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down")
    }
}

impl<T> std::error::Error for ShutDown<T> {}

/// Why `put_nowait` did not enqueue; the item is handed back.
///
/// # Examples
///
/// ```
/// use aio::queue::{PutError, Queue};
/// let q = Queue::new(1);
/// q.put_nowait(1).unwrap();
/// assert!(matches!(q.put_nowait(2), Err(PutError::Full(2))));
/// q.shutdown(false);
/// assert!(matches!(q.put_nowait(3), Err(PutError::ShutDown(3))));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutError<T> {
    /// The queue holds `maxsize` items (or putters are already waiting).
    Full(T),
    /// The queue was shut down.
    ShutDown(T),
}

impl<T> PutError<T> {
    /// The item that was not enqueued.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = aio::queue::Queue::new(1);
    /// q.put_nowait('a').unwrap();
    /// assert_eq!(q.put_nowait('b').unwrap_err().into_inner(), 'b');
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(t) | PutError::ShutDown(t) => t,
        }
    }

    /// Whether the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = aio::queue::Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// assert!(q.put_nowait(2).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether the queue was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = aio::queue::Queue::new(0);
    /// q.shutdown(false);
    /// assert!(q.put_nowait(1).unwrap_err().is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        matches!(self, PutError::ShutDown(_))
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("the queue is full"),
            PutError::ShutDown(_) => f.write_str("the queue is shut down"),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}

/// `get` failed: the queue was shut down and holds no more items
/// (asyncio's `QueueShutDown`).
///
/// # Examples
///
/// ```
/// use aio::queue::{Queue, QueueShutDown};
/// aio::run(async {
///     let q = Queue::<u8>::new(0);
///     q.shutdown(false);
///     assert_eq!(q.get().await, Err(QueueShutDown));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueueShutDown;

impl fmt::Display for QueueShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down and empty")
    }
}

impl std::error::Error for QueueShutDown {}

/// Why `get_nowait` returned no item.
///
/// # Examples
///
/// ```
/// use aio::queue::{GetError, Queue};
/// let q = Queue::<u8>::new(0);
/// assert_eq!(q.get_nowait(), Err(GetError::Empty));
/// q.shutdown(false);
/// assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetError {
    /// No item is available now.
    Empty,
    /// The queue was shut down and holds no more items.
    ShutDown,
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Empty => f.write_str("the queue is empty"),
            GetError::ShutDown => f.write_str("the queue is shut down and empty"),
        }
    }
}

impl std::error::Error for GetError {}

/// `task_done` was called more times than items were put.
///
/// # Examples
///
/// ```
/// let q = aio::queue::Queue::<u8>::new(0);
/// assert!(q.task_done().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than there were items put")
    }
}

impl std::error::Error for TaskDoneError {}
