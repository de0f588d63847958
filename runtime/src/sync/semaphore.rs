//! `Semaphore` (asyncio's, with tokio's permits), the base of `Lock`,
//! `Mutex<T>`, `RwLock<T>` and `BoundedSemaphore`.
//!
//! # Protocol
//!
//! One atomic word holds `permits << 2 | WAITERS | CLOSED`; the FIFO of
//! waiters sits under `waiters`, the owning lock (see `waiters.rs`).
//!
//! - An uncontended acquire is one CAS on the word; an uncontended release is
//!   one CAS too: both take the lock only when `WAITERS` is set.
//! - `WAITERS` is set (under the lock) exactly while the list is non-empty,
//!   and then the word holds **zero** permits: a waiter that cannot be
//!   satisfied takes the permits there are into its own count when it
//!   queues, and releases hand permits to the head of the list first.
//!   So `try_acquire` cannot overtake a queued waiter (FIFO), and a free
//!   permit never sits beside a waiter.
//! - A waiter's data is the number of permits it still needs; `0` once
//!   granted. A waiter unlinked with a non-zero need was closed out.
//! - Dropping a waiter returns what it holds (a full grant or a partial
//!   one) through the same release path, so the grant passes to the next
//!   waiter.

pub(crate) use super::permit::{Holder, OwnedSemaphorePermit, SemaphorePermit};
use super::waiters::{Waiter, WaiterList, WakeList};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire as Acq};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::scheduler::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

const CLOSED: usize = 1;
const WAITERS: usize = 2;
const SHIFT: usize = 2;

/// A counter of permits with a FIFO of tasks waiting for them (asyncio's
/// `Semaphore`).
///
/// [`acquire`](Self::acquire) waits for a permit and returns a
/// [`SemaphorePermit`] that gives it back when dropped. Waiters are served
/// in arrival order, and an `acquire_many(3)` at the head is not overtaken by
/// later `acquire()`s. [`release`](Self::release) adds a permit without a
/// permit object, as asyncio's `release()`; [`close`](Self::close) makes
/// every current and future acquire fail.
///
/// # Examples
///
/// ```
/// use aio::sync::Semaphore;
/// use std::sync::Arc;
///
/// aio::run(async {
///     let sem = Arc::new(Semaphore::new(2));
///     let mut tasks = Vec::new();
///     for _ in 0..5 {
///         let sem = sem.clone();
///         tasks.push(aio::spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             // at most two tasks are here at a time
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(sem.available(), 2);
/// });
/// ```
pub struct Semaphore {
    state: AtomicUsize,
    waiters: Mutex<WaiterList<usize>>,
    /// Permits taken out of their guards with `forget()` and not given
    /// back yet: what a `BoundedSemaphore::release` may return.
    forgotten: AtomicUsize,
}

/// The error of an acquire on a closed semaphore.
///
/// # Examples
///
/// ```
/// use aio::sync::Semaphore;
/// aio::run(async {
///     let sem = Semaphore::new(1);
///     sem.close();
///     assert!(sem.acquire().await.is_err());
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a non-blocking acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    Closed,
    NoPermits,
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(3);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore holds at most Semaphore::MAX_PERMITS permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaiterList::new()),
            forgotten: AtomicUsize::new(0),
        }
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed, or closes while waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, and fair: the waiter keeps its place in the FIFO until
    /// dropped; dropped after being granted, it passes the permit to the next
    /// waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let sem = aio::sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(sem.available(), 0);
    ///     drop(permit);
    ///     assert_eq!(sem.available(), 1);
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once (FIFO: later waiters do not overtake it).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed, or closes while waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: permits it had gathered go to the next waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let sem = aio::sync::Semaphore::new(5);
    ///     let three = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(three.num_permits(), 3);
    ///     assert_eq!(sem.available(), 2);
    /// });
    /// ```
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            n,
            state: AcqState::Idle,
            waiter: Waiter::new(0),
        }
    }

    /// Takes a permit if one is free and nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_none());
    /// assert!(sem.try_acquire_many(2).is_some());
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        self.try_take(n)
            .ok()
            .map(|()| SemaphorePermit { sem: self, n })
    }

    /// Waits for one permit owned through an `Arc` (the permit is
    /// `'static`).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// aio::run(async {
    ///     let sem = Arc::new(aio::sync::Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     aio::spawn(async move { drop(permit) }).await.unwrap();
    ///     assert_eq!(sem.available(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(
        self: crate::loom::sync::Arc<Self>,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire().await?.hand_over();
        Ok(OwnedSemaphorePermit { sem: self, n: 1 })
    }

    /// Adds one permit (asyncio's `release()`), waking the head waiter if it
    /// is now satisfied.
    ///
    /// # Panics
    ///
    /// If the count would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn release(&self) {
        self.add_permits(1);
    }

    /// Adds `n` permits.
    ///
    /// # Panics
    ///
    /// If the count would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(0);
    /// sem.add_permits(3);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn add_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut cur = self.state.load(Acq);
        while cur & WAITERS == 0 {
            let next = Self::plus(cur, n);
            match self.state.compare_exchange_weak(cur, next, AcqRel, Acq) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        self.release_locked(n, self.waiters.lock());
    }

    /// Counts `n` permits a guard's `forget()` took out.
    pub(crate) fn count_forgotten(&self, n: usize) {
        if n > 0 {
            self.forgotten.fetch_add(n, AcqRel);
        }
    }

    /// Gives back one forgotten permit (for `BoundedSemaphore::release`);
    /// `false` if none is out: the release has no matching acquire (the
    /// permits not free are gathered by a waiter or held by guards, which
    /// return their own).
    pub(crate) fn release_forgotten(&self) -> bool {
        let mut cur = self.forgotten.load(Acq);
        loop {
            if cur == 0 {
                return false;
            }
            match self
                .forgotten
                .compare_exchange_weak(cur, cur - 1, AcqRel, Acq)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        self.add_permits(1);
        true
    }

    /// Permits free right now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::Semaphore::new(4).available(), 4);
    /// ```
    pub fn available(&self) -> usize {
        self.state.load(Acq) >> SHIFT
    }

    /// Whether an acquire would have to wait (asyncio's `locked()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(1);
    /// let _p = sem.try_acquire();
    /// assert!(sem.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.available() == 0
    }

    /// Closes the semaphore: waiting and future acquires fail with
    /// [`AcquireError`]. Permits already held stay valid.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn close(&self) {
        let mut list = self.waiters.lock();
        self.state.fetch_or(CLOSED, AcqRel);
        let mut wakers = WakeList::new();
        loop {
            while !wakers.is_full() {
                // Leaving the need as it is marks the waiter closed out.
                match list.front() {
                    Some(_) => wakers.push(list.pop_front(|_| {})),
                    None => break,
                }
            }
            if list.is_empty() {
                self.state.fetch_and(!WAITERS, AcqRel);
                break;
            }
            drop(list);
            wakers.wake_all();
            list = self.waiters.lock();
        }
        drop(list);
        wakers.wake_all();
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!aio::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state.load(Acq) & CLOSED != 0
    }

    fn plus(cur: usize, n: usize) -> usize {
        let permits = (cur >> SHIFT)
            .checked_add(n)
            .filter(|&p| p <= Self::MAX_PERMITS)
            .expect("a semaphore holds at most Semaphore::MAX_PERMITS permits");
        (permits << SHIFT) | (cur & (CLOSED | WAITERS))
    }

    /// The lock-free fast path: takes `n` permits from the word.
    pub(crate) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut cur = self.state.load(Acq);
        loop {
            if cur & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if cur >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self
                .state
                .compare_exchange_weak(cur, cur - (n << SHIFT), AcqRel, Acq)
            {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Hands `n` permits to the waiters in FIFO order, the rest to the word;
    /// clears `WAITERS` when the list runs empty. Consumes the guard: wakes
    /// happen after the lock is released.
    fn release_locked<'a>(&'a self, mut n: usize, mut list: MutexGuard<'a, WaiterList<usize>>) {
        let mut wakers = WakeList::new();
        loop {
            while n > 0 && !wakers.is_full() {
                let satisfied = list.with_front(|need| {
                    let take = n.min(*need);
                    *need -= take;
                    n -= take;
                    *need == 0
                });
                match satisfied {
                    Some(true) => wakers.push(list.pop_front(|_| {})),
                    Some(false) | None => break,
                }
            }
            if list.is_empty() {
                // No waiter is left to hand permits to: the rest go to the
                // word, and the fast paths open again.
                let mut cur = self.state.load(Acq);
                loop {
                    let next = Self::plus(cur, n) & !WAITERS;
                    match self.state.compare_exchange_weak(cur, next, AcqRel, Acq) {
                        Ok(_) => break,
                        Err(actual) => cur = actual,
                    }
                }
                break;
            }
            if n == 0 {
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

impl Default for Semaphore {
    /// A semaphore with one permit (asyncio's default value).
    fn default() -> Semaphore {
        Semaphore::new(1)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcqState {
    /// Not polled yet, or polled without queueing.
    Idle,
    /// Linked into the list, or unlinked with its outcome decided.
    Queued,
    /// Returned `Ready`: owns nothing any more.
    Done,
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it leaves the queue; permits granted to it and
/// not yet returned go to the next waiter.
#[must_use = "futures do nothing unless awaited; the permit is released when dropped"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    state: AcqState,
    waiter: Waiter<usize>,
}

impl<'a> Acquire<'a> {
    /// Polls for the `n` permits without building a permit (for `Lock`,
    /// `Mutex` and `RwLock`, which wrap their own guard around it).
    pub(crate) fn poll_acquire(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: the waiter is never moved out of `self`; other fields are
        // plain data.
        let this = unsafe { self.get_unchecked_mut() };
        let out = this.poll_inner(cx);
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        let sem = self.sem;
        match self.state {
            AcqState::Done => panic!("`Acquire` polled after completion"),
            AcqState::Idle => {
                match sem.try_take(self.n) {
                    Ok(()) => {
                        self.state = AcqState::Done;
                        return Poll::Ready(Ok(()));
                    }
                    Err(TryAcquireError::Closed) => {
                        self.state = AcqState::Done;
                        return Poll::Ready(Err(AcquireError(())));
                    }
                    Err(TryAcquireError::NoPermits) => {}
                }
                let mut list = sem.waiters.lock();
                // Under the lock nobody adds permits to the word while we
                // look; take what is there and queue for the rest.
                let mut cur = sem.state.load(Acq);
                let took = loop {
                    if cur & CLOSED != 0 {
                        self.state = AcqState::Done;
                        return Poll::Ready(Err(AcquireError(())));
                    }
                    let avail = cur >> SHIFT;
                    let (took, next) = if avail >= self.n {
                        (self.n, cur - (self.n << SHIFT))
                    } else {
                        (avail, (cur & CLOSED) | WAITERS)
                    };
                    match sem.state.compare_exchange_weak(cur, next, AcqRel, Acq) {
                        Ok(_) => break took,
                        Err(actual) => cur = actual,
                    }
                };
                if took == self.n {
                    self.state = AcqState::Done;
                    return Poll::Ready(Ok(()));
                }
                // SAFETY: the waiter is not shared yet, and we hold the lock.
                unsafe {
                    self.waiter.with(|node| {
                        node.data = self.n - took;
                        node.waker = Some(cx.waker().clone());
                    });
                }
                // SAFETY: we hold the owning lock; `self` is pinned (we are in
                // `poll` of a pinned future) and `Drop` unlinks the waiter.
                unsafe { list.push_back(&self.waiter) };
                self.state = AcqState::Queued;
                Poll::Pending
            }
            AcqState::Queued => {
                let list = sem.waiters.lock();
                // SAFETY: we hold the owning lock [L].
                let (linked, need) = unsafe {
                    self.waiter.with(|node| {
                        if node.is_linked() {
                            node.set_waker(cx.waker());
                        }
                        (node.is_linked(), node.data)
                    })
                };
                if linked {
                    return Poll::Pending;
                }
                self.state = AcqState::Done;
                if need == 0 {
                    return Poll::Ready(Ok(()));
                }
                // Closed out: give back what was gathered.
                sem.release_locked(self.n - need, list);
                Poll::Ready(Err(AcquireError(())))
            }
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (sem, n) = (self.sem, self.n);
        self.as_mut()
            .poll_acquire(cx)
            .map_ok(|()| SemaphorePermit { sem, n })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.state != AcqState::Queued {
            return;
        }
        let mut list = self.sem.waiters.lock();
        // SAFETY: we hold the owning lock; the waiter is linked into this
        // semaphore's list or into none.
        unsafe { list.remove(&self.waiter) };
        // SAFETY: we hold the owning lock.
        let need = unsafe { self.waiter.with(|node| node.data) };
        // Whatever was granted (all of it, or a partial share) goes on; the
        // call also clears WAITERS if we were the last waiter.
        self.sem.release_locked(self.n - need, list);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("n", &self.n)
            .field("state", &self.state)
            .finish()
    }
}

impl Semaphore {
    /// [`try_acquire`](Self::try_acquire) returning an owned permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(aio::sync::Semaphore::new(0));
    /// assert!(sem.try_acquire_owned().is_none());
    /// ```
    pub fn try_acquire_owned(self: crate::loom::sync::Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_take(1).ok()?;
        Some(OwnedSemaphorePermit { sem: self, n: 1 })
    }
}
