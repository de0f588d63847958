//! `yield_now`: give the other ready tasks a turn.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields once to the scheduler: the current task goes to the back of the
/// run queue and the other ready tasks run first (asyncio's `sleep(0)`).
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let t = aio::spawn(async { 1 });
///     aio::task::yield_now().await; // on current_thread, `t` runs here
///     assert_eq!(t.await.unwrap(), 1);
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
///
/// # Cancel safety
/// Cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        crate::scheduler::context::defer_yield(cx.waker());
        Poll::Pending
    }
}

impl fmt::Debug for YieldNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YieldNow")
            .field("yielded", &self.yielded)
            .finish()
    }
}
