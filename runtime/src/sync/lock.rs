//! `Lock` (asyncio's, a data-less mutex) and `Mutex<T>`: a one-permit
//! [`Semaphore`](super::Semaphore) with a guard around the permit, so they
//! inherit its FIFO order, its zero-allocation fast path and its rule that a
//! waiter dropped after being granted passes the lock on.

use super::semaphore::{Acquire, Semaphore};
use crate::loom::sync::Arc;
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls the one-permit acquire of a lock; a lock is never closed.
fn poll_one(acq: Pin<&mut Acquire<'_>>, cx: &mut Context<'_>) -> Poll<()> {
    acq.poll_acquire(cx)
        .map(|r| r.expect("a lock's semaphore is never closed"))
}

/// A mutual-exclusion lock without data (asyncio's `Lock`).
///
/// At most one [`LockGuard`] exists at a time; tasks waiting in
/// [`lock`](Self::lock) get the lock in arrival order.
///
/// # Examples
///
/// ```
/// use aio::sync::Lock;
/// use std::sync::Arc;
///
/// aio::run(async {
///     let lock = Arc::new(Lock::new());
///     let l2 = lock.clone();
///     let t = aio::spawn(async move {
///         let _g = l2.lock().await;
///         // exclusive here
///     });
///     {
///         let _g = lock.lock().await;
///     }
///     t.await.unwrap();
///     assert!(!lock.is_locked());
/// });
/// ```
pub struct Lock {
    sem: Semaphore,
}

impl Lock {
    /// An unlocked lock.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!aio::sync::Lock::new().is_locked());
    /// ```
    pub fn new() -> Lock {
        Lock {
            sem: Semaphore::new(1),
        }
    }

    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe and fair: dropping the future leaves the queue, and if the
    /// lock had already been handed to it, hands it to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let lock = aio::sync::Lock::new();
    ///     let g = lock.lock().await;
    ///     assert!(lock.is_locked());
    ///     drop(g);
    ///     assert!(!lock.is_locked());
    /// });
    /// ```
    pub fn lock(&self) -> LockFuture<'_> {
        LockFuture {
            lock: self,
            acq: self.sem.acquire(),
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = aio::sync::Lock::new();
    /// let g = lock.try_lock().unwrap();
    /// assert!(lock.try_lock().is_none());
    /// drop(g);
    /// ```
    pub fn try_lock(&self) -> Option<LockGuard<'_>> {
        self.sem.try_take(1).ok()?;
        Some(LockGuard { lock: self })
    }

    /// Waits for the lock through an `Arc`; the guard is `'static`.
    ///
    /// # Cancel safety
    ///
    /// As [`lock`](Self::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// aio::run(async {
    ///     let lock = Arc::new(aio::sync::Lock::new());
    ///     let g = lock.clone().lock_owned().await;
    ///     aio::spawn(async move { drop(g) }).await.unwrap();
    ///     assert!(!lock.is_locked());
    /// });
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedLockGuard {
        std::mem::forget(self.lock().await);
        OwnedLockGuard { lock: self }
    }

    /// Whether the lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = aio::sync::Lock::new();
    /// let _g = lock.try_lock();
    /// assert!(lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.sem.is_locked()
    }

    fn unlock(&self) {
        self.sem.add_permits(1);
    }
}

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.is_locked())
            .finish()
    }
}

/// The future of [`Lock::lock`].
///
/// # Cancel safety
///
/// Cancel-safe: see [`Lock::lock`].
#[must_use = "futures do nothing unless awaited; the lock is released when the guard drops"]
pub struct LockFuture<'a> {
    lock: &'a Lock,
    acq: Acquire<'a>,
}

impl<'a> Future for LockFuture<'a> {
    type Output = LockGuard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        // SAFETY: `acq` is structurally pinned: it is never moved out of
        // `self`, and `LockFuture` has no `Drop` that could move it.
        let this = unsafe { self.get_unchecked_mut() };
        let lock = this.lock;
        // SAFETY: as above, `acq` stays where it is.
        let acq = unsafe { Pin::new_unchecked(&mut this.acq) };
        poll_one(acq, cx).map(|()| LockGuard { lock })
    }
}

impl fmt::Debug for LockFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture")
            .field("acq", &self.acq)
            .finish()
    }
}

/// Holds a [`Lock`]; dropping it releases the lock.
///
/// # Examples
///
/// ```
/// let lock = aio::sync::Lock::new();
/// let guard = lock.try_lock().unwrap();
/// drop(guard);
/// assert!(!lock.is_locked());
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// Holds an `Arc<Lock>`; dropping it releases the lock.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// aio::run(async {
///     let lock = Arc::new(aio::sync::Lock::new());
///     let g = lock.clone().lock_owned().await;
///     assert!(lock.is_locked());
///     drop(g);
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedLockGuard {
    lock: Arc<Lock>,
}

impl Drop for OwnedLockGuard {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl fmt::Debug for OwnedLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLockGuard").finish_non_exhaustive()
    }
}

/// A lock around a value of type `T` (tokio's `Mutex`): the guard derefs
/// to the value.
///
/// # Examples
///
/// ```
/// use aio::sync::Mutex;
/// use std::sync::Arc;
///
/// aio::run(async {
///     let count = Arc::new(Mutex::new(0));
///     let mut tasks = Vec::new();
///     for _ in 0..10 {
///         let count = count.clone();
///         tasks.push(aio::spawn(async move { *count.lock().await += 1 }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 10);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the value moves with the mutex; it needs `T: Send`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: the semaphore's single permit makes access to `data` exclusive
// (one guard at a time), so sharing the mutex only ever hands `&mut T` to
// one thread at a time: `T: Send` suffices, as for std's `Mutex`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A mutex holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = aio::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner(), 5);
    /// ```
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            sem: Semaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::Mutex::new("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe and fair, as [`Lock::lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let m = aio::sync::Mutex::new(vec![1]);
    ///     m.lock().await.push(2);
    ///     assert_eq!(*m.lock().await, [1, 2]);
    /// });
    /// ```
    pub fn lock(&self) -> MutexLockFuture<'_, T> {
        MutexLockFuture {
            mutex: self,
            acq: self.sem.acquire(),
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = aio::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// assert_eq!(*g, 1);
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.sem.try_take(1).ok()?;
        Some(MutexGuard {
            mutex: self,
            _marker: PhantomData,
        })
    }

    /// Waits for the lock through an `Arc`; the guard is `'static`.
    ///
    /// # Cancel safety
    ///
    /// As [`lock`](Self::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// aio::run(async {
    ///     let m = Arc::new(aio::sync::Mutex::new(0));
    ///     let mut g = m.clone().lock_owned().await;
    ///     aio::spawn(async move { *g += 1 }).await.unwrap();
    ///     assert_eq!(*m.lock().await, 1);
    /// });
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        std::mem::forget(self.lock().await);
        OwnedMutexGuard {
            mutex: self,
            _not_sync: PhantomData,
        }
    }

    /// Whether the lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = aio::sync::Mutex::new(());
    /// let _g = m.try_lock();
    /// assert!(m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.sem.is_locked()
    }

    /// The value, through exclusive access (no locking needed).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = aio::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The future of [`Mutex::lock`].
///
/// # Cancel safety
///
/// Cancel-safe: see [`Lock::lock`].
#[must_use = "futures do nothing unless awaited; the lock is released when the guard drops"]
pub struct MutexLockFuture<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    acq: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for MutexLockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        // SAFETY: `acq` is structurally pinned: never moved out of `self`,
        // and `MutexLockFuture` has no `Drop` that could move it.
        let this = unsafe { self.get_unchecked_mut() };
        let mutex = this.mutex;
        // SAFETY: as above.
        let acq = unsafe { Pin::new_unchecked(&mut this.acq) };
        poll_one(acq, cx).map(|()| MutexGuard {
            mutex,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> fmt::Debug for MutexLockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexLockFuture")
            .field("acq", &self.acq)
            .finish()
    }
}

/// Exclusive access to the value of a [`Mutex`]; dropping it unlocks.
///
/// # Examples
///
/// ```
/// let m = aio::sync::Mutex::new(String::new());
/// m.try_lock().unwrap().push('a');
/// assert_eq!(m.into_inner(), "a");
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// `Send` iff `T: Send`, `Sync` iff `T: Send + Sync`, as `&mut T`.
    _marker: PhantomData<&'a mut T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no other
        // reference to the value exists while it lives.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.sem.add_permits(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to the value of an `Arc<Mutex<T>>`; `'static`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// aio::run(async {
///     let m = Arc::new(aio::sync::Mutex::new(1));
///     let g = m.clone().lock_owned().await;
///     assert_eq!(*g, 1);
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
    /// `Sync` is granted below only for `T: Sync`.
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

// SAFETY: a shared guard only hands out `&T`, which is fine to share across
// threads when `T: Sync` (and the guard itself can move when `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the only permit; `&mut self` is unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.sem.add_permits(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
