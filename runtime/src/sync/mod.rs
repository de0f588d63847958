//! Asynchronous synchronisation primitives (asyncio's `Lock`, `Event`,
//! `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier`, plus `Mutex<T>`,
//! `RwLock<T>`, `Notify`, `oneshot`, `CancellationToken`). All waiters are
//! FIFO-fair and cancel-safe: a waiter dropped after being granted passes
//! the grant on.
//!
//! Every primitive that queues tasks does so on the intrusive list of
//! `waiters.rs`: the waiter lives inside the wait future, so waiting
//! allocates nothing, and an uncontended `Lock::lock` or
//! `Semaphore::acquire` is a single atomic compare-and-swap. `Lock`,
//! `Mutex<T>`, `RwLock<T>` and `BoundedSemaphore` are built on
//! [`Semaphore`].

mod bounded;
mod event;
mod lock;
mod semaphore;
mod waiters;

pub use bounded::{BoundedSemaphore, TooManyReleases};
pub use event::{Event, EventWait};
pub use lock::{
    Lock, LockFuture, LockGuard, Mutex, MutexGuard, MutexLockFuture, OwnedLockGuard,
    OwnedMutexGuard,
};
pub use semaphore::{Acquire, AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit};
