//! Tasks: the unit the schedulers run, and the `Task<T>` handle users hold.
//!
//! A task is one allocation (`raw.rs`) driven by one atomic state word
//! (`state.rs`); `harness.rs` polls, completes and cancels it; `waker.rs`
//! turns wakes into notifications; `registry.rs` lists live tasks. This
//! module holds the handles: `Notified` (what run queues carry), `Task<T>`
//! (the user's join handle), `TaskRef` (a type-erased reference), and the
//! public functions `spawn`, `create_task`, `spawn_local`,
//! `spawn_blocking`, `current`, `all_tasks`, `yield_now`.
//!
//! Calls go down only: to the scheduler through the `Schedule` trait and to
//! the runtime's shared services (`rt::Shared`).

mod error;
mod group;
mod handle;
mod harness;
mod id;
pub(crate) mod info;
mod join;
pub(crate) mod raw;
pub(crate) mod registry;
mod set;
mod shield;
mod spawn;
pub(crate) mod state;
mod waker;
mod yield_now;

pub(crate) use error::panic_message;
pub use error::TaskError;
pub use group::{task_group, ChildError, GroupError, TaskGroup, TaskGroupHandle};
pub(crate) use handle::Short;
pub use handle::{Task, TaskRef};
pub use id::TaskId;
pub use info::{TaskInfo, TaskState};
pub use join::{Join, JoinRef};
pub use set::TaskSet;
pub use shield::{shield, Shield};
pub use spawn::{
    all_tasks, create_task, current, dump, spawn, spawn_blocking, spawn_local, Builder,
};
pub(crate) use waker::{is_waker_of, CompactWaker};
pub use yield_now::{yield_now, YieldNow};

use raw::{Header, TaskPtr};

/// A callback run when a task is done.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskRef) + Send + 'static>;

/// What a task needs from whoever runs it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queue a notification. `is_yield`: the task asked to go to the back.
    fn schedule(&self, task: Notified, is_yield: bool);
    /// The task is complete: unlink it from the registry. True if it was
    /// linked (the caller then releases the registry's reference).
    fn release(&self, task: TaskPtr) -> bool;
    /// Queues a callback on the runtime's call_soon queue.
    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>);
    /// Hands `ctx` to the runtime's exception handler.
    fn report(&self, ctx: &crate::rt::ExceptionContext);
    /// Whether the runtime is shutting down (leftover tasks are being
    /// cancelled).
    fn is_shutting_down(&self) -> bool;
    /// Queues a task that yielded (woken during its poll, or by
    /// `yield_now`) where only this thread will run it, later: `None`
    /// once queued. It must not let the task run before returning (the
    /// caller holds no extra reference); a scheduler that cannot promise
    /// that gives the notification back, to go through `schedule`.
    fn defer(&self, task: Notified) -> Option<Notified> {
        Some(task)
    }
}

/// A task that must be polled: owns one reference. Run queues carry these.
pub(crate) struct Notified(TaskPtr);

// SAFETY: a `Notified` is a counted reference; the state word makes
// concurrent use sound. Tasks of `!Send` futures (spawn_local) are only
// queued to their owner thread's scheduler, which alone runs them.
unsafe impl Send for Notified {}

impl Notified {
    pub(crate) fn from_raw(ptr: TaskPtr) -> Notified {
        Notified(ptr)
    }

    /// Polls the task (or drops its future if cancelled).
    pub(crate) fn run(self) {
        let ptr = self.0;
        let poll = self.header().vtable.poll;
        std::mem::forget(self);
        // SAFETY: `ptr` is live (we held a reference), and `poll` consumes it.
        unsafe { poll(ptr) }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a reference.
        unsafe { self.0.header() }
    }

    /// A new reference to the task, as a `TaskRef`.
    pub(crate) fn task_ref(&self) -> TaskRef {
        // SAFETY: live (we hold a reference).
        unsafe { TaskRef::acquire(self.0) }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // Dropped without running (a queue drained at shutdown).
        let h = self.header();
        let dealloc = h.vtable.dealloc;
        if h.state.ref_dec() {
            // SAFETY: that was the last reference (and `h` is not used
            // again).
            unsafe { dealloc(self.0) }
        }
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notified({})", self.header().id())
    }
}

#[cfg(all(test, loom))]
mod tests;
