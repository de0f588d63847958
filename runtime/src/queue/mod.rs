//! asyncio's queues: [`Queue`] (FIFO), [`PriorityQueue`] (lowest first)
//! and [`LifoQueue`], with `maxsize`, `task_done`/`join` and `shutdown`
//! (Python 3.13 semantics).
//!
//! Waiting getters and putters are served in arrival order, and every
//! awaitable is cancel-safe: a dropped `get` never loses an item, a dropped
//! `put` never enqueues. The protocol (one mutex, FIFO waiter lists with
//! grants that pass on when a granted waiter is dropped) is described in
//! `shared.rs`; `items.rs` holds the three orders, `futures.rs` the
//! futures, `handles.rs` the public types, `error.rs` the errors.
//!
//! # Examples
//!
//! ```
//! use aio::queue::Queue;
//! aio::run(async {
//!     let q = Queue::new(0);
//!     let workers: Vec<_> = (0..3)
//!         .map(|_| {
//!             let q = q.clone();
//!             aio::spawn(async move {
//!                 while let Ok(n) = q.get().await {
//!                     let _ = n * 2;
//!                     q.task_done().unwrap();
//!                 }
//!             })
//!         })
//!         .collect();
//!     for n in 0..10 {
//!         q.put(n).await.unwrap();
//!     }
//!     q.join().await;
//!     q.shutdown(false); // the workers' `get` fails: they return
//!     for w in workers {
//!         w.await.unwrap();
//!     }
//! });
//! ```

mod error;
mod futures;
mod handles;
mod items;
mod shared;

pub use error::{GetError, PutError, QueueShutDown, ShutDown, TaskDoneError};
pub use futures::{Get, Join, Put, QueueStream};
pub use handles::{LifoQueue, PriorityQueue, Queue};

#[cfg(all(test, loom))]
mod tests;
