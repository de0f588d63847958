//! Asynchronous synchronisation primitives (asyncio's `Lock`, `Event`,
//! `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier`, plus `Mutex<T>`,
//! `RwLock<T>`, `Notify`, `oneshot`, `CancellationToken`). All waiters are
//! FIFO-fair and cancel-safe: a waiter dropped after being granted passes
//! the grant on.
