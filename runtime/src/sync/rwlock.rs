//! `RwLock<T>`: many readers or one writer, FIFO-fair, on a
//! [`Semaphore`] of `MAX_READS` permits (tokio's construction): a reader
//! takes one permit, a writer takes them all with one `acquire_many`. The
//! semaphore's FIFO does the rest: a waiting writer sits at the head
//! gathering permits, and later readers queue behind it.

use super::semaphore::{Acquire, Semaphore};
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Readers admitted at once (the writer's share of permits).
const MAX_READS: usize = (u32::MAX >> 3) as usize;

/// A reader-writer lock for tasks, FIFO-fair: a waiting writer blocks the
/// readers that arrive after it.
///
/// # Examples
///
/// ```
/// use aio::sync::RwLock;
/// aio::run(async {
///     let lock = RwLock::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the value moves with the lock.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: readers share `&T` across threads (needs `T: Sync`); the writer
// gets `&mut T` on whichever thread holds it (needs `T: Send`). The
// semaphore makes the writer exclusive of every reader.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A lock around `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = aio::sync::RwLock::new(1);
    /// assert_eq!(l.into_inner(), 1);
    /// ```
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            sem: Semaphore::new(MAX_READS),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::RwLock::new("v").into_inner(), "v");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe and fair: dropping it leaves the queue, and a grant it
    /// had received passes on.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let l = aio::sync::RwLock::new(1);
    ///     assert_eq!(*l.read().await, 1);
    /// });
    /// ```
    pub fn read(&self) -> RwLockReadFuture<'_, T> {
        RwLockReadFuture {
            lock: self,
            acq: self.sem.acquire_many(1),
        }
    }

    /// Waits for exclusive access.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe and fair: the permits the writer gathered go to the next
    /// waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let l = aio::sync::RwLock::new(1);
    ///     *l.write().await = 2;
    ///     assert_eq!(*l.read().await, 2);
    /// });
    /// ```
    pub fn write(&self) -> RwLockWriteFuture<'_, T> {
        RwLockWriteFuture {
            lock: self,
            acq: self.sem.acquire_many(MAX_READS),
        }
    }

    /// Shared access if available without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = aio::sync::RwLock::new(1);
    /// let _r = l.try_read().unwrap();
    /// assert!(l.try_write().is_none());
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.sem.try_take(1).ok()?;
        Some(RwLockReadGuard {
            lock: self,
            _marker: PhantomData,
        })
    }

    /// Exclusive access if available without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = aio::sync::RwLock::new(1);
    /// let _w = l.try_write().unwrap();
    /// assert!(l.try_read().is_none());
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.sem.try_take(MAX_READS).ok()?;
        Some(RwLockWriteGuard {
            lock: self,
            _marker: PhantomData,
        })
    }

    /// The value, through exclusive access (no locking needed).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut l = aio::sync::RwLock::new(1);
    /// *l.get_mut() += 1;
    /// assert_eq!(l.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

fn poll_acq(acq: Pin<&mut Acquire<'_>>, cx: &mut Context<'_>) -> Poll<()> {
    acq.poll_acquire(cx)
        .map(|r| r.expect("an RwLock's semaphore is never closed"))
}

/// The future of [`RwLock::read`].
///
/// # Cancel safety
///
/// Cancel-safe: see [`RwLock::read`].
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockReadFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    acq: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for RwLockReadFuture<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `acq` is structurally pinned: never moved out, and this type
        // has no `Drop` of its own.
        let this = unsafe { self.get_unchecked_mut() };
        let lock = this.lock;
        // SAFETY: as above.
        let acq = unsafe { Pin::new_unchecked(&mut this.acq) };
        poll_acq(acq, cx).map(|()| RwLockReadGuard {
            lock,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> fmt::Debug for RwLockReadFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockReadFuture").finish_non_exhaustive()
    }
}

/// The future of [`RwLock::write`].
///
/// # Cancel safety
///
/// Cancel-safe: see [`RwLock::write`].
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockWriteFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    acq: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for RwLockWriteFuture<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `acq` is structurally pinned: never moved out, and this type
        // has no `Drop` of its own.
        let this = unsafe { self.get_unchecked_mut() };
        let lock = this.lock;
        // SAFETY: as above.
        let acq = unsafe { Pin::new_unchecked(&mut this.acq) };
        poll_acq(acq, cx).map(|()| RwLockWriteGuard {
            lock,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> fmt::Debug for RwLockWriteFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockWriteFuture").finish_non_exhaustive()
    }
}

/// Shared access to the value of an [`RwLock`].
///
/// # Examples
///
/// ```
/// let l = aio::sync::RwLock::new(3);
/// assert_eq!(*l.try_read().unwrap(), 3);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `Send` and `Sync` iff `T: Sync`, as `&T`.
    _marker: PhantomData<&'a T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read permit is held, so no writer (which needs every
        // permit) exists while this guard lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.add_permits(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to the value of an [`RwLock`].
///
/// # Examples
///
/// ```
/// let l = aio::sync::RwLock::new(3);
/// *l.try_write().unwrap() = 4;
/// assert_eq!(l.into_inner(), 4);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `Send` iff `T: Send`, `Sync` iff `T: Sync`, as `&mut T`.
    _marker: PhantomData<&'a mut T>,
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: every permit is held: no other guard exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: every permit is held, and `&mut self` is unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.add_permits(MAX_READS);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
