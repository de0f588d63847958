//! The per-task context: every spawned future is wrapped in a
//! `TaskContext` that makes the task's context current for each poll and
//! for the drop of the future (so destructors see the task's variables).
//!
//! `None` (nothing was set when the task was spawned) costs one
//! thread-local swap per poll; a `set` inside the task creates the task's
//! context, which the wrapper then keeps.

use super::current::{with_context, Context};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::Poll;

/// A task's future with the task's context.
pub(crate) struct TaskContext<F> {
    ctx: Option<Context>,
    fut: ManuallyDrop<F>,
}

impl<F> TaskContext<F> {
    pub(crate) fn new(fut: F, ctx: Option<Context>) -> TaskContext<F> {
        TaskContext {
            ctx,
            fut: ManuallyDrop::new(fut),
        }
    }
}

impl<F: Future> Future for TaskContext<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: it is never moved (only
        // dropped in place by `Drop`), and `TaskContext` is `Unpin` only if
        // `F` is. `ctx` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let fut = unsafe { Pin::new_unchecked(&mut *this.fut) };
        with_context(&mut this.ctx, || fut.poll(cx))
    }
}

impl<F> Drop for TaskContext<F> {
    fn drop(&mut self) {
        let fut = &mut self.fut;
        // SAFETY: `fut` is dropped exactly once, here, and never used again.
        with_context(&mut self.ctx, || unsafe { ManuallyDrop::drop(fut) });
    }
}
