//! `shield`: await work that the awaiter's cancellation must not cancel.

use super::{Task, TaskError};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns `f` and returns a future of its result that, when dropped (the
/// awaiter was cancelled, timed out, lost a `select!`), never cancels the
/// work (asyncio's `shield`).
///
/// # Panics
/// Panics outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// aio::run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let shielded = aio::task::shield(async move {
///         aio::sleep(Duration::from_millis(20)).await;
///         tx.send("finished anyway").unwrap();
///     });
///     assert!(aio::wait_for(shielded, Duration::from_millis(1)).await.is_err());
///     assert_eq!(aio::to_thread(move || rx.recv().unwrap()).await, "finished anyway");
/// });
/// ```
#[track_caller]
pub fn shield<F>(f: F) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    super::spawn(f).shield()
}

/// The future of [`shield`] / [`Task::shield`].
///
/// # Cancel safety
/// Cancel-safe by design: dropping it detaches the task.
#[must_use = "futures do nothing unless awaited"]
pub struct Shield<T> {
    task: Task<T>,
}

impl<T> Task<T> {
    /// Awaits this task without the link: dropping the returned future
    /// never cancels the task.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let t = aio::spawn(async { 5 });
    ///     assert_eq!(t.shield().await.unwrap(), 5);
    /// });
    /// ```
    pub fn shield(self) -> Shield<T> {
        Shield { task: self }
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, TaskError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
        let out = self.task.poll_output(Some(cx.waker()));
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}
