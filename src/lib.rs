//! # aio — Python's asyncio programming model on io_uring
//!
//! Write `async fn`s, run them with [`run`], start tasks with
//! [`create_task`], await them, cancel them, sleep, gather. Underneath, a
//! multithreaded work-stealing runtime whose workers park on io_uring
//! completions.
//!
//! ```
//! use std::time::Duration;
//!
//! async fn say_after(delay: Duration, what: &str) {
//!     aio::sleep(delay).await;
//!     println!("{what}");
//! }
//!
//! aio::run(async {
//!     let a = aio::create_task(say_after(Duration::from_millis(10), "hello"));
//!     let b = aio::create_task(say_after(Duration::from_millis(20), "world"));
//!     a.await.unwrap();
//!     b.await.unwrap();
//! });
//! ```
//!
//! Where asyncio's semantics bend for Rust (cancellation drops the future,
//! task handles detach on drop, no GIL), in short:
//!
//! - [`Task::cancel`](task::Task::cancel) drops the future at its current
//!   await point; `task.await` is linked (dropping the await cancels the
//!   task), `(&mut task).await` is not.
//! - Panics are caught per task and become a [`TaskError`](task::TaskError).
//! - The multi_thread flavor needs `Send` futures; `spawn_local` and the
//!   current_thread flavor take any future.

pub use aio_macros::{main, select, stream, test};
pub use aio_runtime::runtime::run;
#[doc(hidden)]
pub use aio_runtime::stream_gen as __stream_gen;
pub use aio_runtime::task::{create_task, spawn, spawn_local};
pub use aio_runtime::time::{sleep, wait_for};
pub use aio_runtime::to_thread;

pub use aio_runtime::{context, future, io, queue, runtime, stream, sync, task, time};

/// Sockets and the asyncio streams (see `aio-net`).
pub use aio_net as net;
pub use aio_runtime::{gather, try_gather};
