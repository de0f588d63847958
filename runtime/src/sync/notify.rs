//! `Notify` (tokio's): wake one waiter or all, with a stored permit when
//! `notify_one` finds nobody waiting.
//!
//! Waiters queue under the mutex. Each waiter's data records the
//! `notify_waiters` generation when its future was *created*, and its
//! outcome. `notify_one` pops the oldest waiter (or stores the permit);
//! `notify_waiters` bumps the generation and pops the waiters of older
//! generations, so a `Notified` created before the call completes even if it
//! had not been polled yet. A waiter dropped after `notify_one` picked it
//! passes the notification to the next waiter (or back into the permit).

use super::waiters::{Waiter, WaiterList, WakeList};
use crate::loom::sync::atomic::{
    AtomicBool, AtomicUsize, Ordering::AcqRel, Ordering::Acquire, Ordering::Release,
};
use crate::loom::sync::Mutex;
use crate::scheduler::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Wakes tasks waiting in [`notified`](Self::notified) (tokio's `Notify`).
///
/// [`notify_one`](Self::notify_one) wakes the oldest waiter, or, if nobody
/// waits, stores one permit that the next `notified().await` consumes at
/// once. [`notify_waiters`](Self::notify_waiters) wakes every waiter present
/// (and every `Notified` created before the call) and stores no permit.
///
/// # Examples
///
/// ```
/// use aio::sync::Notify;
/// use std::sync::Arc;
///
/// aio::run(async {
///     let notify = Arc::new(Notify::new());
///     let n2 = notify.clone();
///     let t = aio::spawn(async move { n2.notified().await; "notified" });
///     notify.notify_one();
///     assert_eq!(t.await.unwrap(), "notified");
/// });
/// ```
pub struct Notify {
    permit: AtomicBool,
    generation: AtomicUsize,
    waiters: Mutex<WaiterList<Slot>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Waiting,
    One,
    All,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    generation: usize,
    outcome: Outcome,
}

impl Notify {
    /// A `Notify` with no stored permit.
    ///
    /// # Examples
    ///
    /// ```
    /// let _n = aio::sync::Notify::new();
    /// ```
    pub fn new() -> Notify {
        Notify {
            permit: AtomicBool::new(false),
            generation: AtomicUsize::new(0),
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// Waits for a notification.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropped after `notify_one` chose it, the future passes
    /// the notification on to the next waiter (or stores it as the permit).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let n = aio::sync::Notify::new();
    ///     n.notify_one(); // stores a permit
    ///     n.notified().await; // consumes it at once
    /// });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            state: NState::Init,
            waiter: Waiter::new(Slot {
                generation: self.generation.load(Acquire),
                outcome: Outcome::Waiting,
            }),
        }
    }

    /// Wakes the oldest waiter, or stores a permit if nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let n = aio::sync::Notify::new();
    ///     n.notify_one();
    ///     n.notify_one(); // at most one permit is stored
    ///     n.notified().await;
    /// });
    /// ```
    pub fn notify_one(&self) {
        let list = self.waiters.lock();
        self.notify_one_locked(list);
    }

    fn notify_one_locked(&self, mut list: crate::loom::sync::MutexGuard<'_, WaiterList<Slot>>) {
        if list.is_empty() {
            // Stored under the lock: a waiter about to queue re-checks the
            // permit under it.
            self.permit.store(true, Release);
            return;
        }
        let waker = list.pop_front(|s| s.outcome = Outcome::One);
        drop(list);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every task waiting now, and completes every [`Notified`] created
    /// before this call; stores no permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// aio::run(async {
    ///     let n = Arc::new(aio::sync::Notify::new());
    ///     let created = Arc::new(AtomicUsize::new(0));
    ///     let tasks: Vec<_> = (0..3).map(|_| {
    ///         let (n, created) = (n.clone(), created.clone());
    ///         aio::spawn(async move {
    ///             let notified = n.notified();
    ///             created.fetch_add(1, Ordering::SeqCst);
    ///             notified.await
    ///         })
    ///     }).collect();
    ///     while created.load(Ordering::SeqCst) < 3 {
    ///         aio::task::yield_now().await;
    ///     }
    ///     n.notify_waiters(); // completes every `Notified` created before
    ///     for t in tasks { t.await.unwrap(); }
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let mut list = self.waiters.lock();
        let gen = self.generation.fetch_add(1, AcqRel) + 1;
        let mut wakers = WakeList::new();
        loop {
            while !wakers.is_full() && list.with_front(|s| s.generation < gen) == Some(true) {
                wakers.push(list.pop_front(|s| s.outcome = Outcome::All));
            }
            if !wakers.is_full() {
                break;
            }
            drop(list);
            wakers.wake_all();
            list = self.waiters.lock();
        }
        drop(list);
        wakers.wake_all();
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit", &self.permit.load(Acquire))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NState {
    Init,
    Waiting,
    Done,
}

/// The future of [`Notify::notified`].
///
/// # Cancel safety
///
/// Cancel-safe: a notification from `notify_one` that reached it before it
/// was dropped goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    state: NState,
    waiter: Waiter<Slot>,
}

impl Notified<'_> {
    /// The generation this future was created in.
    fn created_in(&self) -> usize {
        // SAFETY: read before the waiter is ever linked (state `Init`), when
        // only this future can reach it.
        unsafe { self.waiter.with(|n| n.data.generation) }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: the waiter is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        let notify = this.notify;
        let ready = match this.state {
            NState::Done => true,
            NState::Init => {
                let gen = this.created_in();
                if notify.generation.load(Acquire) != gen
                    || notify
                        .permit
                        .compare_exchange(true, false, AcqRel, Acquire)
                        .is_ok()
                {
                    true
                } else {
                    let mut list = notify.waiters.lock();
                    if notify.generation.load(Acquire) != gen || notify.permit.swap(false, AcqRel) {
                        true
                    } else {
                        // SAFETY: not linked yet, and we hold the lock.
                        unsafe { this.waiter.with(|n| n.waker = Some(cx.waker().clone())) };
                        // SAFETY: lock held; the future is pinned and
                        // unlinks itself in `Drop`.
                        unsafe { list.push_back(&this.waiter) };
                        this.state = NState::Waiting;
                        false
                    }
                }
            }
            NState::Waiting => {
                let _list = notify.waiters.lock();
                // SAFETY: we hold the owning lock [L].
                unsafe {
                    this.waiter.with(|n| {
                        n.set_waker(cx.waker());
                        !n.is_linked()
                    })
                }
            }
        };
        if ready {
            this.state = NState::Done;
            coop.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if self.state != NState::Waiting {
            return;
        }
        let mut list = self.notify.waiters.lock();
        // SAFETY: lock held; the waiter is in this list or in none.
        let was_linked = unsafe { list.remove(&self.waiter) };
        // SAFETY: lock held.
        let outcome = unsafe { self.waiter.with(|n| n.data.outcome) };
        if !was_linked && outcome == Outcome::One {
            // Chosen by notify_one but never returned: pass it on.
            self.notify.notify_one_locked(list);
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.state)
            .finish()
    }
}
