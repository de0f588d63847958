//! `Executor`: hyper's `rt::Executor` on aio, spawning each future hyper
//! hands over (a connection's background work, an HTTP/2 stream) as an
//! aio task.
//!
//! Called by hyper and hyper-util (the pooled client, the HTTP/2 server);
//! calls `aio_runtime::task::spawn`.

use std::future::Future;

/// Spawns the futures hyper gives it as aio tasks, detached, on the
/// runtime of the thread that calls it (hyper calls it from the task that
/// drives a connection or a request).
///
/// # Panics
/// `execute` panics outside an aio runtime ("no running aio runtime"), as
/// [`aio::spawn`](aio_runtime::task::spawn) does.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor as _;
/// aio::run(async {
///     let (tx, rx) = aio::sync::oneshot::channel();
///     aio::hyper::Executor::default().execute(async move {
///         tx.send("ran").unwrap();
///     });
///     assert_eq!(rx.await.unwrap(), "ran");
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor {
    _priv: (),
}

impl Executor {
    /// An executor for the current runtime (the same as `default()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let _e = aio::hyper::Executor::new();
    /// ```
    pub fn new() -> Executor {
        Executor::default()
    }
}

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        drop(aio_runtime::task::spawn(fut));
    }
}
