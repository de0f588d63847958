//! `timeout`, `timeout_at`, `wait_for`: bound a future by a deadline.
//!
//! The wrapped future is polled first, so a future that is ready wins even
//! with a zero timeout. On expiry `wait_for` drops the future at once (a
//! `Task` passed by value is then cancelled: a linked join). A timeout
//! never cancels the task it runs in; it only returns `Err(Elapsed)`.

use super::{sleep_until, Instant, Sleep};
use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The error of a timed-out [`timeout`] / [`wait_for`](crate::time::wait_for).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let e = aio::run(aio::time::timeout(Duration::from_millis(1), std::future::pending::<()>()));
/// let e = e.unwrap_err();
/// assert_eq!(e.to_string(), "deadline has elapsed");
/// let io: std::io::Error = e.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

/// An `Elapsed`, for the other timed combinators.
pub(crate) fn elapsed() -> Elapsed {
    Elapsed(())
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

#[derive(Default)]
struct Shared {
    deadline: Mutex<Option<Instant>>,
    changed: AtomicBool,
    expired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// Shares a [`Timeout`]'s deadline: read it, move it, see if it expired
/// (asyncio's `asyncio.timeout()` context object).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let t = aio::time::timeout(Duration::from_secs(1), aio::sleep(Duration::from_secs(5)));
///     let h = t.handle();
///     h.reschedule(None); // no deadline any more
///     assert!(t.await.is_ok());
///     assert!(!h.expired());
/// });
/// ```
#[derive(Clone)]
pub struct TimeoutHandle(Arc<Shared>);

impl TimeoutHandle {
    /// The current deadline (`None`: no deadline).
    pub fn when(&self) -> Option<Instant> {
        *self.0.deadline.lock()
    }

    /// Moves the deadline (`None` removes it); takes effect at once, even
    /// from another task or thread.
    pub fn reschedule(&self, deadline: Option<Instant>) {
        *self.0.deadline.lock() = deadline;
        self.0.changed.store(true, Release);
        if let Some(w) = self.0.waker.lock().take() {
            w.wake();
        }
    }

    /// Whether the deadline passed and the timeout returned `Elapsed`.
    pub fn expired(&self) -> bool {
        self.0.expired.load(Acquire)
    }
}

impl fmt::Debug for TimeoutHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutHandle")
            .field("when", &self.when())
            .field("expired", &self.expired())
            .finish()
    }
}

/// Runs `f` with a time limit of `duration` (`None`: no limit). Each poll
/// polls `f` first, then the timer: an `f` that is ready wins even when
/// the deadline has passed (a zero limit times out only an `f` that is
/// not ready at once, as `asyncio.timeout(0)`).
///
/// # Cancel safety
/// As cancel-safe as `f`: dropping the timeout drops `f`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// aio::run(async {
///     let quick = aio::time::timeout(Duration::from_secs(1), async { 5 }).await;
///     assert_eq!(quick, Ok(5));
///     let slow = aio::time::timeout(Duration::from_millis(5), aio::sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
/// });
/// ```
pub fn timeout<F: IntoFuture>(
    duration: impl Into<Option<Duration>>,
    f: F,
) -> Timeout<F::IntoFuture> {
    let deadline = duration.into().map(|d| {
        Instant::now()
            .checked_add(d)
            .unwrap_or_else(Instant::far_future)
    });
    timeout_at(deadline, f)
}

/// Runs `f` until `deadline` (`None`: no limit).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aio::time::Instant;
/// aio::run(async {
///     let at = Instant::now() + Duration::from_millis(5);
///     assert!(aio::time::timeout_at(at, std::future::pending::<()>()).await.is_err());
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(
    deadline: impl Into<Option<Instant>>,
    f: F,
) -> Timeout<F::IntoFuture> {
    let deadline = deadline.into();
    Timeout {
        future: Some(f.into_future()),
        sleep: deadline.map(sleep_until),
        deadline,
        shared: std::cell::OnceCell::new(),
    }
}

/// Waits for `f` for at most `timeout` (asyncio's `wait_for`). On expiry
/// `f` is dropped before this returns, so a `Task` passed by value is
/// cancelled. `None` waits without limit. `f` is polled before the timer,
/// as in [`timeout`].
///
/// # Errors
/// [`Elapsed`] when the deadline passed first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// struct OnDrop(std::sync::mpsc::Sender<()>);
/// impl Drop for OnDrop { fn drop(&mut self) { let _ = self.0.send(()); } }
///
/// aio::run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let task = aio::spawn(async move {
///         let _guard = OnDrop(tx);
///         aio::sleep(Duration::from_secs(3600)).await;
///     });
///     assert!(aio::wait_for(task, Duration::from_millis(10)).await.is_err());
///     // The task was cancelled: its destructors run on a worker.
///     aio::to_thread(move || rx.recv().unwrap()).await;
/// });
/// ```
pub async fn wait_for<F: IntoFuture>(
    f: F,
    timeout: impl Into<Option<Duration>>,
) -> Result<F::Output, Elapsed> {
    self::timeout(timeout, f).await
}

/// The future of [`timeout`] / [`timeout_at`].
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    future: Option<F>,
    sleep: Option<Sleep>,
    /// The deadline as this future knows it (the handle's may move it).
    deadline: Option<Instant>,
    /// Created by the first `handle()` call only, so a plain timeout
    /// allocates nothing beyond its timer.
    shared: std::cell::OnceCell<Arc<Shared>>,
}

impl<F> Timeout<F> {
    /// A handle to read or move the deadline from elsewhere. Take it before
    /// the timeout is first polled (as `async with asyncio.timeout(...) as
    /// cm`): a handle made after a poll finds no waker to wake, so its
    /// first `reschedule` takes effect at the timeout's next poll.
    pub fn handle(&self) -> TimeoutHandle {
        let shared = self.shared.get_or_init(|| {
            Arc::new(Shared {
                deadline: Mutex::new(self.deadline),
                ..Default::default()
            })
        });
        TimeoutHandle(shared.clone())
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` and `sleep` are structurally pinned: never moved
        // out while `Some`, only dropped in place (set to None or
        // overwritten, which drops the old value in place first); the
        // other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(fut) = this.future.as_mut() else {
            panic!("Timeout polled after completion");
        };
        // SAFETY: see above; `fut` stays where it is until dropped.
        if let Poll::Ready(v) = unsafe { Pin::new_unchecked(fut) }.poll(cx) {
            this.future = None;
            return Poll::Ready(Ok(v));
        }
        if let Some(shared) = this.shared.get() {
            // The waker first: a reschedule after it wakes us; one before
            // it shows in `changed` below.
            {
                let mut w = shared.waker.lock();
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
            }
            if shared.changed.swap(false, AcqRel) {
                let deadline = *shared.deadline.lock();
                this.deadline = deadline;
                this.sleep = deadline.map(sleep_until);
            }
        }
        if let Some(sleep) = this.sleep.as_mut() {
            // SAFETY: see above; `sleep` stays where it is until dropped.
            if unsafe { Pin::new_unchecked(sleep) }
                .poll_unbudgeted(cx)
                .is_ready()
            {
                if let Some(shared) = this.shared.get() {
                    shared.expired.store(true, Release);
                }
                // Drop the future now (a Task by value is cancelled here).
                this.future = None;
                return Poll::Ready(Err(Elapsed(())));
            }
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("handle", &self.handle())
            .finish()
    }
}
