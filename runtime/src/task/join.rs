//! Awaiting a task: linked (`task.await`) and unlinked (`(&mut task).await`).

use super::error::TaskError;
use super::handle::Task;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future of `task.await`: linked to the task.
///
/// Once polled, dropping it before the task is done cancels the task (the
/// awaiter was cancelled, so is what it awaited, as in asyncio).
///
/// # Cancel safety
/// Not cancel-safe by design: dropping it cancels the task. Use
/// `(&mut task).await` to wait without that link.
#[must_use = "futures do nothing unless awaited; dropping a polled Join cancels the task"]
pub struct Join<T> {
    task: Task<T>,
    polled: bool,
}

impl<T> IntoFuture for Task<T> {
    type Output = Result<T, TaskError>;
    type IntoFuture = Join<T>;
    fn into_future(self) -> Join<T> {
        Join {
            task: self,
            polled: false,
        }
    }
}

impl<T> Future for Join<T> {
    type Output = Result<T, TaskError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polled = true;
        poll_join(&mut self.task, cx)
    }
}

impl<T> Drop for Join<T> {
    fn drop(&mut self) {
        if self.polled && !self.task.is_done() {
            self.task.cancel();
        }
    }
}

impl<T> fmt::Debug for Join<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("task", &self.task).finish()
    }
}

/// The future of `(&mut task).await`: waits without owning the task.
///
/// # Cancel safety
/// Cancel-safe: dropping it leaves the task running and its output in place.
#[must_use = "futures do nothing unless awaited"]
pub struct JoinRef<'a, T> {
    task: &'a mut Task<T>,
}

impl<'a, T> IntoFuture for &'a mut Task<T> {
    type Output = Result<T, TaskError>;
    type IntoFuture = JoinRef<'a, T>;
    fn into_future(self) -> JoinRef<'a, T> {
        JoinRef { task: self }
    }
}

impl<T> Future for JoinRef<'_, T> {
    type Output = Result<T, TaskError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_join(self.task, cx)
    }
}

impl<T> fmt::Debug for JoinRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinRef").field("task", &self.task).finish()
    }
}

fn poll_join<T>(task: &mut Task<T>, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
    let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
    let out = task.poll_output(Some(cx.waker()));
    if out.is_ready() {
        coop.made_progress();
    }
    out
}
