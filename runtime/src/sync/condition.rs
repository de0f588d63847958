//! `Condition` (asyncio's): a [`Lock`] plus a FIFO of tasks waiting to be
//! notified. Notifying is a method of the guard, so the type system enforces
//! asyncio's rule that only the holder of the lock notifies.
//!
//! `CondGuard::wait` queues its waiter *before* it releases the lock, so a
//! notification sent by the next holder cannot be missed. A waiter dropped
//! after being notified (but before it re-acquired the lock) passes the
//! notification to the next waiter, as asyncio's `wait` does on
//! cancellation since Python 3.12.

use super::lock::{Lock, LockGuard};
use super::waiters::{Waiter, WaiterList, WakeList};
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::scheduler::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// A condition variable for tasks (asyncio's `Condition`).
///
/// # Examples
///
/// ```
/// use aio::sync::Condition;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// aio::run(async {
///     let cond = Arc::new(Condition::new());
///     let ready = Arc::new(AtomicBool::new(false));
///     let consumer = {
///         let (cond, ready) = (cond.clone(), ready.clone());
///         aio::spawn(async move {
///             let g = cond.lock().await;
///             let _g = g.wait_for(|| ready.load(Ordering::SeqCst)).await;
///         })
///     };
///     let g = cond.lock().await;
///     ready.store(true, Ordering::SeqCst);
///     g.notify_all();
///     drop(g);
///     consumer.await.unwrap();
/// });
/// ```
pub struct Condition {
    lock: Arc<Lock>,
    waiters: Mutex<WaiterList<bool>>,
}

impl Condition {
    /// A condition with its own new [`Lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// let _c = aio::sync::Condition::new();
    /// ```
    pub fn new() -> Condition {
        Condition::with_lock(Arc::new(Lock::new()))
    }

    /// A condition over an existing lock (shared with other conditions or
    /// with code that locks it directly).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(aio::sync::Lock::new());
    /// let c = aio::sync::Condition::with_lock(lock.clone());
    /// let _g = lock.try_lock();
    /// assert!(c.is_locked());
    /// ```
    pub fn with_lock(lock: Arc<Lock>) -> Condition {
        Condition {
            lock,
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// Waits for the underlying lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Lock::lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let c = aio::sync::Condition::new();
    ///     let g = c.lock().await;
    ///     g.notify(1); // nobody waits: a no-op
    /// });
    /// ```
    pub async fn lock(&self) -> CondGuard<'_> {
        CondGuard {
            cond: self,
            _guard: self.lock.lock().await,
        }
    }

    /// Whether the underlying lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!aio::sync::Condition::new().is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// Marks up to `n` waiters notified and wakes them; returns how many.
    fn notify_locked<'a>(
        &'a self,
        mut n: usize,
        mut list: MutexGuard<'a, WaiterList<bool>>,
    ) -> usize {
        let mut woken = 0;
        let mut wakers = WakeList::new();
        while n > 0 && !list.is_empty() {
            if wakers.is_full() {
                drop(list);
                wakers.wake_all();
                list = self.waiters.lock();
                continue;
            }
            wakers.push(list.pop_front(|notified| *notified = true));
            n -= 1;
            woken += 1;
        }
        drop(list);
        wakers.wake_all();
        woken
    }
}

impl Default for Condition {
    fn default() -> Condition {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.is_locked())
            .field("waiters", &*self.waiters.lock())
            .finish()
    }
}

/// The lock of a [`Condition`], held; the only way to wait and notify.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let c = aio::sync::Condition::new();
///     let g = c.lock().await;
///     g.notify_all();
///     drop(g);
///     assert!(!c.is_locked());
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct CondGuard<'a> {
    cond: &'a Condition,
    _guard: LockGuard<'a>,
}

impl<'a> CondGuard<'a> {
    /// Releases the lock, waits to be notified, re-acquires the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe in asyncio's sense: dropping the future releases the lock
    /// (or gives up waiting for it), and a notification it had received is
    /// passed to the next waiter (also while it waits to re-acquire the
    /// lock, as asyncio does).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// aio::run(async {
    ///     let c = Arc::new(aio::sync::Condition::new());
    ///     let c2 = c.clone();
    ///     let t = aio::spawn(async move {
    ///         let g = c2.lock().await;
    ///         let _g = g.wait().await;
    ///     });
    ///     loop {
    ///         let g = c.lock().await;
    ///         if g.notify(1) == 1 { break; }
    ///         drop(g);
    ///         aio::task::yield_now().await;
    ///     }
    ///     t.await.unwrap();
    /// });
    /// ```
    pub async fn wait(self) -> CondGuard<'a> {
        let cond = self.cond;
        let mut waiter = std::pin::pin!(CondWait {
            cond,
            state: CwState::Idle,
            waiter: Waiter::new(false),
        });
        waiter.as_mut().register();
        drop(self);
        waiter.await;
        // Notified; dropped before the lock is ours again, pass it on (a
        // spurious wakeup for the next waiter at worst, as in asyncio).
        let pass_on = PassOn(cond);
        let guard = cond.lock().await;
        std::mem::forget(pass_on);
        guard
    }

    /// Waits until `pred()` is true, checking it first and after each
    /// notification (with the lock held).
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let c = aio::sync::Condition::new();
    ///     let g = c.lock().await;
    ///     let _g = g.wait_for(|| true).await; // already true: no wait
    /// });
    /// ```
    pub async fn wait_for(mut self, mut pred: impl FnMut() -> bool) -> CondGuard<'a> {
        while !pred() {
            self = self.wait().await;
        }
        self
    }

    /// Wakes up to `n` waiting tasks (oldest first); returns how many.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let c = aio::sync::Condition::new();
    ///     assert_eq!(c.lock().await.notify(3), 0);
    /// });
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        self.cond.notify_locked(n, self.cond.waiters.lock())
    }

    /// Wakes every waiting task; returns how many.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let c = aio::sync::Condition::new();
    ///     assert_eq!(c.lock().await.notify_all(), 0);
    /// });
    /// ```
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }
}

impl fmt::Debug for CondGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondGuard").finish_non_exhaustive()
    }
}

/// Notifies one waiter when dropped (a cancelled `wait` that had been
/// notified).
struct PassOn<'a>(&'a Condition);

impl Drop for PassOn<'_> {
    fn drop(&mut self) {
        self.0.notify_locked(1, self.0.waiters.lock());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CwState {
    Idle,
    Waiting,
    Done,
}

/// Waiting to be notified (the middle step of `CondGuard::wait`).
struct CondWait<'a> {
    cond: &'a Condition,
    state: CwState,
    waiter: Waiter<bool>,
}

impl CondWait<'_> {
    /// Queues the waiter (called while the lock is still held).
    fn register(self: Pin<&mut Self>) {
        // SAFETY: the waiter is never moved out of the pinned value.
        let this = unsafe { self.get_unchecked_mut() };
        let mut list = this.cond.waiters.lock();
        // SAFETY: lock held; the value is pinned and unlinks itself in
        // `Drop`.
        unsafe { list.push_back(&this.waiter) };
        this.state = CwState::Waiting;
    }
}

impl Future for CondWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: the waiter is never moved out of the pinned value.
        let this = unsafe { self.get_unchecked_mut() };
        let _list = this.cond.waiters.lock();
        // SAFETY: we hold the owning lock [L].
        let notified = unsafe {
            this.waiter.with(|n| {
                n.set_waker(cx.waker());
                !n.is_linked()
            })
        };
        if notified {
            this.state = CwState::Done;
            coop.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for CondWait<'_> {
    fn drop(&mut self) {
        if self.state != CwState::Waiting {
            return;
        }
        let mut list = self.cond.waiters.lock();
        // SAFETY: lock held; the waiter is in this list or in none.
        let was_linked = unsafe { list.remove(&self.waiter) };
        if !was_linked {
            // Notified but never returned: pass the notification on.
            self.cond.notify_locked(1, list);
        }
    }
}
