//! `aio-runtime`: tasks, the work-stealing scheduler, the io_uring driver,
//! the timer integration, the blocking pool and the asyncio-style API.
//!
//! # Layers
//!
//! Calls flow one way: `api → task → scheduler → park → driver`.
//!
//! - `rt` (public as [`runtime`]): `Builder`, `Runtime`, `Handle`, `run`,
//!   shutdown; the `Shared` state every task points at.
//! - [`task`]: one allocation per task, its state word, wakers, join
//!   handles, the registry of live tasks.
//! - `scheduler`: current_thread, multi_thread (workers, queues, idle
//!   protocol), the `block_on` local executor, per-thread context, coop.
//! - `driver`: one io_uring ring per worker; park/unpark.
//! - [`time`]: the clock, per-worker wheels (from `aio-timer`), `Sleep`.
//! - `blocking`: the elastic thread pool behind `to_thread`.
//! - [`fs`], [`process`], [`signal`]: the operating system — files and
//!   child processes through the op layer (`io`), signals through one
//!   process-wide handler.
//!
//! Back-edges exist only through `std::task::Waker`, the `Schedule` trait
//! owned by `task`, and the `Unparker` owned by the driver. All
//! synchronisation comes from `loom` (this crate's facade) so the protocols
//! can be model-checked (`RUSTFLAGS="--cfg loom" cargo test -p aio-runtime --release`).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub(crate) mod loom;

mod blocking;
pub mod context;
mod driver;
#[cfg(not(loom))]
pub mod fs;
pub mod future;
pub mod io;
#[cfg(not(loom))]
pub mod process;
pub mod queue;
mod rt;
mod scheduler;
#[cfg(not(loom))]
pub mod signal;
mod stats;
#[doc(hidden)]
pub mod stream_gen;
pub mod sync;
pub mod task;
pub mod time;

/// The runtime: build one, run a main future, shut down.
pub mod runtime {
    pub use crate::rt::{
        run, Builder, CallbackHandle, Driver, ExceptionContext, Handle, NoRuntime, Runtime,
        RuntimeMetrics, TimerHandle, WorkerMetrics,
    };
}

pub use blocking::{to_thread, ToThread};
pub use time::wait_for;

/// Async iteration: the `Stream` trait and its combinators, `StreamExt`
/// (futures' own, re-exported, so that aio's streams work with the
/// ecosystem's code and adapters).
///
/// # Examples
///
/// ```
/// use aio::stream::StreamExt;
/// aio::run(async {
///     let q = aio::queue::Queue::new(0);
///     for i in 1..=4 {
///         q.put_nowait(i).unwrap();
///     }
///     q.shutdown(false);
///     let mut s = q.stream().filter(|i| std::future::ready(i % 2 == 0)).map(|i| i * 10);
///     assert_eq!(s.next().await, Some(20));
///     assert_eq!(s.collect::<Vec<_>>().await, [40]);
/// });
/// ```
pub mod stream {
    pub use futures_core::Stream;
    pub use futures_util::stream::StreamExt;
}
