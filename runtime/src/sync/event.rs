//! `Event` (asyncio's): a flag that tasks wait to see set.
//!
//! The flag is an atomic read lock-free by `is_set` and by the fast path of
//! `wait`. Waiters queue under the event's mutex, each tagged with the
//! event's *generation*; `set` bumps the generation and releases every
//! waiter tagged with an older one, so it wakes exactly the waiters present
//! when it was called, even if it must drop the lock between batches of
//! wakes (and a `clear` + new `wait` slips in meanwhile).

use super::waiters::{Waiter, WaiterList, WakeList};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Release};
use crate::loom::sync::Mutex;
use crate::scheduler::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// A flag tasks can wait for (asyncio's `Event`).
///
/// [`set`](Self::set) wakes every task waiting in [`wait`](Self::wait);
/// while set, `wait` returns at once; [`clear`](Self::clear) resets it.
///
/// # Examples
///
/// ```
/// use aio::sync::Event;
/// use std::sync::Arc;
///
/// aio::run(async {
///     let ev = Arc::new(Event::new());
///     let waiter = {
///         let ev = ev.clone();
///         aio::spawn(async move { ev.wait().await; "woken" })
///     };
///     ev.set();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Event {
    set: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    generation: u64,
    waiters: WaiterList<u64>,
}

impl Event {
    /// An event that is not set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!aio::sync::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            set: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                generation: 0,
                waiters: WaiterList::new(),
            }),
        }
    }

    /// Sets the flag and wakes every task waiting now.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = aio::sync::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        let mut inner = self.inner.lock();
        if self.set.load(Acquire) {
            return;
        }
        self.set.store(true, Release);
        inner.generation += 1;
        let gen = inner.generation;
        let mut wakers = WakeList::new();
        loop {
            while !wakers.is_full() && inner.waiters.with_front(|g| *g < gen) == Some(true) {
                // Data `u64::MAX` marks the waiter released.
                wakers.push(inner.waiters.pop_front(|g| *g = u64::MAX));
            }
            if !wakers.is_full() {
                break;
            }
            drop(inner);
            wakers.wake_all();
            inner = self.inner.lock();
        }
        drop(inner);
        wakers.wake_all();
    }

    /// Resets the flag; later `wait`s block until the next `set`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = aio::sync::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        let _inner = self.inner.lock();
        self.set.store(false, Release);
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = aio::sync::Event::new();
    /// assert!(!ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.set.load(Acquire)
    }

    /// Waits until the flag is set; returns at once if it is.
    ///
    /// A waiter woken by `set` completes even if the event was cleared
    /// again before it ran (as in asyncio).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future leaves the queue; nothing is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let ev = aio::sync::Event::new();
    ///     ev.set();
    ///     ev.wait().await;
    /// });
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            queued: false,
            waiter: Waiter::new(0),
        }
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

/// The future of [`Event::wait`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it leaves the queue.
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    queued: bool,
    waiter: Waiter<u64>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: the waiter is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        let ev = this.event;
        if !this.queued && ev.set.load(Acquire) {
            coop.made_progress();
            return Poll::Ready(());
        }
        let mut inner = ev.inner.lock();
        if this.queued {
            // SAFETY: we hold the owning lock [L].
            let done = unsafe {
                this.waiter.with(|n| {
                    n.set_waker(cx.waker());
                    !n.is_linked()
                })
            };
            if done {
                this.queued = false;
                coop.made_progress();
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        if ev.set.load(Acquire) {
            coop.made_progress();
            return Poll::Ready(());
        }
        let gen = inner.generation;
        // SAFETY: the waiter is not linked and we hold the owning lock.
        unsafe {
            this.waiter.with(|n| {
                n.data = gen;
                n.waker = Some(cx.waker().clone());
            })
        };
        // SAFETY: lock held; the future is pinned and unlinks in `Drop`.
        unsafe { inner.waiters.push_back(&this.waiter) };
        this.queued = true;
        Poll::Pending
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if self.queued {
            let mut inner = self.event.inner.lock();
            // SAFETY: lock held; the waiter is in this event's list or none.
            unsafe { inner.waiters.remove(&self.waiter) };
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("queued", &self.queued)
            .finish()
    }
}
