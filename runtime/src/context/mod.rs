//! Context variables (asyncio's `contextvars`): per-task state that spawned
//! tasks, callbacks and `to_thread` closures inherit as a copy.
//!
//! A [`Context`] maps [`ContextVar`]s to values. Each thread has a current
//! context (`current.rs`, a thread-local), and each task carries its own:
//! when a task is spawned it gets a *copy* of the context current at that
//! moment, kept in the task's cell, and that copy is made current for the
//! duration of each of its polls and the drop of its future
//! (`task::raw`'s `Trailer::in_context`; a task with no context keeps none,
//! and the one it makes with its first `set` goes into its boxed extras). A copy is O(1): the map is copy-on-write, cloned only
//! at the first write after a snapshot. While no variable has been set,
//! there is no context at all and spawning costs nothing extra.
//!
//! Callers: `rt::spawn_into` (every task), `rt::call_soon` (callbacks run
//! in the context current when scheduled), `blocking` (`to_thread`
//! closures), `task::Builder::context` (a task that shares a context).
//!
//! # Examples
//!
//! ```
//! use aio::context::ContextVar;
//!
//! static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
//!
//! aio::run(async {
//!     REQUEST_ID.set(7);
//!     let child = aio::spawn(async {
//!         let inherited = REQUEST_ID.get();
//!         REQUEST_ID.set(8); // changes only the child's copy
//!         inherited
//!     });
//!     assert_eq!(child.await.unwrap(), Some(7));
//!     assert_eq!(REQUEST_ID.get(), Some(7));
//! });
//! ```

mod current;
mod var;

pub use current::{Context, Scope};
pub use var::{ContextVar, Token};

pub(crate) use current::{capture, with_context};
