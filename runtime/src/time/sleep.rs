//! The `Sleep` future and `sleep` / `sleep_until`.

use super::timers::{TimerEntry, TimerOwner};
use super::Instant;
use crate::loom::sync::Arc;
use aio_timer::Key;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Waits until `duration` has passed (asyncio's `sleep`).
///
/// Time has 1 ms resolution and a sleep never completes early.
/// `sleep(Duration::ZERO)` yields to the other ready tasks exactly once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// aio::run(async {
///     println!("Hello ...");
///     aio::sleep(Duration::from_millis(10)).await;
///     println!("... World!");
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    let deadline = now
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    let mut s = sleep_until(deadline);
    if duration.is_zero() {
        s.state = State::YieldOnce;
    }
    s
}

/// Waits until `deadline`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aio::time::{sleep_until, Instant};
/// aio::run(async {
///     let at = Instant::now() + Duration::from_millis(5);
///     sleep_until(at).await;
///     assert!(Instant::now() >= at);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        state: State::Unregistered,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// It registers with the timer wheel of the worker that first polls it.
///
/// # Cancel safety
/// Cancel-safe: dropping it removes the timer.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    state: State,
}

enum State {
    YieldOnce,
    Unregistered,
    Registered {
        entry: Arc<TimerEntry>,
        key: Key,
        owner: Arc<TimerOwner>,
    },
    Done,
}

impl Sleep {
    /// The instant this sleep completes at.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// aio::run(async {
    ///     let s = aio::sleep(Duration::from_secs(1));
    ///     assert!(s.deadline() > aio::time::Instant::now());
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (and observed by a poll).
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Moves the deadline to `deadline`, whether or not it had elapsed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aio::time::Instant;
    /// aio::run(async {
    ///     let mut s = Box::pin(aio::sleep(Duration::from_secs(3600)));
    ///     s.as_mut().reset(Instant::now() + Duration::from_millis(1));
    ///     s.await;
    /// });
    /// ```
    pub fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
        self.state = State::Unregistered;
    }

    fn cancel(&mut self) {
        if let State::Registered { entry, key, owner } =
            std::mem::replace(&mut self.state, State::Done)
        {
            if entry.is_fired() {
                return;
            }
            let local = crate::scheduler::context::with_timers(|t| match t {
                Some(t) if Arc::ptr_eq(&t.owner, &owner) => {
                    t.remove(key);
                    true
                }
                _ => false,
            });
            if !local {
                owner.post_cancel(key);
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
        let out = self.poll_inner(cx);
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}

impl Sleep {
    /// Polls without taking cooperative budget (for timeouts, which must be
    /// able to fire even when the future they guard used the budget up).
    pub(crate) fn poll_unbudgeted(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_inner(cx)
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        match &this.state {
            State::Done => return Poll::Ready(()),
            State::YieldOnce => {
                this.state = State::Done;
                crate::scheduler::context::defer_yield(cx.waker());
                return Poll::Pending;
            }
            State::Registered { entry, .. } => {
                if entry.register(cx.waker()) {
                    this.state = State::Done;
                    return Poll::Ready(());
                }
                return Poll::Pending;
            }
            State::Unregistered => {}
        }
        let registered = crate::scheduler::context::with_timers(|timers| {
            let timers = timers.unwrap_or_else(|| {
                panic!("an aio Sleep must be polled on a thread of an aio runtime (a worker or block_on)")
            });
            let now = timers.clock().now();
            if now >= this.deadline.into_std() {
                return None;
            }
            let entry = Arc::new(TimerEntry::default());
            entry.register(cx.waker());
            let tick = timers.clock().deadline_tick(this.deadline.into_std());
            let key = timers.insert(tick, entry.clone());
            Some(State::Registered {
                entry,
                key,
                owner: timers.owner.clone(),
            })
        });
        match registered {
            None => {
                this.state = State::Done;
                Poll::Ready(())
            }
            Some(state) => {
                this.state = state;
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}
