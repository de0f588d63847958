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

mod barrier;
mod bounded;
mod cancellation;
mod condition;
mod event;
mod lock;
mod notify;
pub mod oneshot;
mod permit;
mod rwlock;
mod semaphore;
mod waiters;

#[cfg(all(test, loom))]
mod tests;

pub use barrier::{Barrier, BarrierWait, BrokenBarrier};
pub use bounded::{BoundedSemaphore, TooManyReleases};
pub use cancellation::{CancellationToken, WaitForCancellation};
pub use condition::{CondGuard, Condition};
pub use event::{Event, EventWait};
pub use lock::{
    Lock, LockFuture, LockGuard, Mutex, MutexGuard, MutexLockFuture, OwnedLockGuard,
    OwnedMutexGuard,
};
pub use notify::{Notified, Notify};
pub use permit::{OwnedSemaphorePermit, SemaphorePermit};
pub use rwlock::{RwLock, RwLockReadFuture, RwLockReadGuard, RwLockWriteFuture, RwLockWriteGuard};
pub use semaphore::{Acquire, AcquireError, Semaphore};
