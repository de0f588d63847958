//! The `Sleep` future and `sleep` / `sleep_until`.

use super::timers::{SleepState as State, TimerEntry, TimerShared, Waiting};
use super::{CompactInstant, Instant};
use crate::loom::sync::Arc;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Waits until `duration` has passed (asyncio's `sleep`).
///
/// Time has 250 µs resolution and a sleep never completes early.
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
        s.entry.set_sleep_state(State::YieldOnce);
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
        deadline: CompactInstant::new(deadline),
        owner: None,
        entry: TimerEntry::default(),
    }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// It registers with the timer wheel of the worker that first polls it.
/// Its timer entry lives inside it (a sleeping task allocates nothing for
/// its timer), so it is `!Unpin`: pin it (`std::pin::pin!`, `Box::pin`) to
/// poll it by reference, e.g. in a `select` loop.
///
/// # Cancel safety
/// Cancel-safe: dropping it removes the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// aio::run(async {
///     let mut s = std::pin::pin!(aio::sleep(Duration::from_millis(5)));
///     assert!(!s.is_elapsed());
///     s.as_mut().await;
///     assert!(s.is_elapsed());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// In one word; with the state kept in the entry, a `Sleep` is 64
    /// bytes.
    deadline: CompactInstant,
    /// The wheel `entry` is registered in (kept after a fire, for the next
    /// `reset`).
    owner: Option<Arc<TimerShared>>,
    /// The timer, with the `Sleep`'s state.
    entry: TimerEntry,
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
        self.deadline.get()
    }

    /// Whether the deadline has been reached (and observed by a poll).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// aio::run(async {
    ///     let mut s = Box::pin(aio::sleep(Duration::ZERO));
    ///     assert!(!s.is_elapsed());
    ///     s.as_mut().await;
    ///     assert!(s.is_elapsed());
    /// });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.entry.sleep_state() == State::Done
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
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        // SAFETY: nothing is moved out: `entry` stays in place (only its
        // registration is undone), the other fields are plain data.
        let this = unsafe { self.get_unchecked_mut() };
        this.cancel();
        this.deadline = CompactInstant::new(deadline);
        this.entry.set_sleep_state(State::Unregistered);
    }

    /// Unlinks the entry if it is registered; after this the wheel holds
    /// no reference to it. Decided by the entry's own state, not the
    /// `Sleep`'s, so no window between linking and recording it matters.
    fn cancel(&mut self) {
        if self.entry.sleep_state() == State::Registered {
            self.entry.set_sleep_state(State::Done);
        }
        let Some(owner) = &self.owner else { return };
        // SAFETY: `owner` is the wheel the entry was last inserted in (set
        // before every insert), and this `Sleep`, the entry's only user,
        // is not inserting it now.
        if let Some(left) = unsafe { owner.remove(&self.entry) } {
            // On the owner's thread, its `timers_pending` follows; a
            // remote remove shows at the owner's next timer pass.
            crate::scheduler::context::with_timers(|t| match t {
                Some(t) if Arc::ptr_eq(&t.shared, owner) => t.removed(left),
                _ => {}
            });
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
        let out = self.poll_unbudgeted(cx);
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}

impl Sleep {
    /// Polls without taking cooperative budget (for timeouts, which must be
    /// able to fire even when the future they guard used the budget up).
    pub(crate) fn poll_unbudgeted(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `entry` is structurally pinned and never moved out; the
        // other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        match this.entry.sleep_state() {
            State::Done => return Poll::Ready(()),
            State::YieldOnce => {
                this.entry.set_sleep_state(State::Done);
                crate::scheduler::context::defer_yield(cx.waker());
                return Poll::Pending;
            }
            State::Registered => {
                let owner = this
                    .owner
                    .as_ref()
                    .expect("a registered Sleep has an owner");
                if !owner.is_retired() {
                    // SAFETY: `owner` is the wheel the entry was inserted in.
                    match unsafe { owner.update_waker(&this.entry, cx.waker()) } {
                        Waiting::Registered => return Poll::Pending,
                        Waiting::Fired => {
                            this.entry.set_sleep_state(State::Done);
                            return Poll::Ready(());
                        }
                        // Retired since the check: register below.
                        Waiting::Orphaned => {}
                    }
                }
                // Its wheel was a `block_on`'s that has returned: nothing
                // fires it there (its entries were woken to come here).
                // Take the entry back (unless it fired before) and register
                // it on this thread's wheel below.
                // SAFETY: `owner` is the wheel the entry was inserted in,
                // and this `Sleep`, its only user, is not inserting it.
                if !unsafe { owner.take_back(&this.entry) } {
                    this.entry.set_sleep_state(State::Done);
                    return Poll::Ready(());
                }
                this.entry.set_sleep_state(State::Unregistered);
            }
            State::Unregistered => {}
        }
        let (entry, owner, deadline) = (&this.entry, &mut this.owner, this.deadline.get());
        let registered = crate::scheduler::context::with_timers(|timers| {
            let timers = timers.unwrap_or_else(|| {
                panic!("an aio Sleep must be polled on a thread of an aio runtime (a worker or block_on)")
            });
            let now = timers.clock().now();
            if now >= deadline.into_std() {
                return false;
            }
            let tick = timers.clock().deadline_tick(deadline.into_std());
            // The owner first: `cancel` (in `Drop`) unlinks from it
            // whatever happens after the insert.
            if !owner
                .as_ref()
                .is_some_and(|o| Arc::ptr_eq(o, &timers.shared))
            {
                *owner = Some(timers.shared.clone());
            }
            // SAFETY: the entry is in no wheel (state `Unregistered`: never
            // inserted, or unlinked by `reset`'s cancel, or fired) and only
            // this `Sleep` uses it; it is part of the pinned `Sleep`, so it
            // stays in place until `Drop`, whose `cancel` unlinks it first.
            unsafe { timers.insert(Pin::new_unchecked(entry), tick, cx.waker()) };
            true
        });
        if registered {
            this.entry.set_sleep_state(State::Registered);
            Poll::Pending
        } else {
            this.entry.set_sleep_state(State::Done);
            Poll::Ready(())
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
            .field("deadline", &self.deadline())
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod tests {
    #[test]
    fn a_sleep_is_eight_words() {
        // Deadline, owner, and the entry (links 4, waker 1, states 1):
        // issue 17's bytes per sleeping task rest on this.
        assert_eq!(std::mem::size_of::<super::Sleep>(), 64);
    }
}
