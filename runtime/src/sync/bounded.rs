//! `BoundedSemaphore` (asyncio's): a [`Semaphore`] whose manual
//! [`release`](BoundedSemaphore::release) refuses to raise the free count
//! past the initial value. Everything else delegates to the semaphore.

use super::semaphore::{
    Acquire, AcquireError, Holder, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
};
use crate::loom::sync::Arc;
use std::fmt;

/// A semaphore that catches releases without a matching acquire (asyncio's
/// `BoundedSemaphore`).
///
/// # Examples
///
/// ```
/// use aio::sync::BoundedSemaphore;
/// aio::run(async {
///     let sem = BoundedSemaphore::new(1);
///     sem.acquire().await.unwrap().forget();
///     assert!(sem.release().is_ok());
///     assert!(sem.release().is_err()); // past the initial value
/// });
/// ```
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
}

/// The error of a [`BoundedSemaphore::release`] past the initial value.
///
/// # Examples
///
/// ```
/// let sem = aio::sync::BoundedSemaphore::new(0);
/// let err = sem.release().unwrap_err();
/// assert_eq!(err.to_string(), "BoundedSemaphore released too many times");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyReleases(());

impl fmt::Display for TooManyReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl std::error::Error for TooManyReleases {}

impl Holder for BoundedSemaphore {
    fn semaphore(&self) -> &Semaphore {
        &self.sem
    }
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its bound.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::BoundedSemaphore::new(2).available(), 2);
    /// ```
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            sem: Semaphore::new(permits),
            bound: permits,
        }
    }

    /// Waits for one permit; see [`Semaphore::acquire`].
    ///
    /// # Errors
    ///
    /// [`AcquireError`] once closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a granted permit passes to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let sem = aio::sync::BoundedSemaphore::new(1);
    ///     let _p = sem.acquire().await.unwrap();
    ///     assert!(sem.is_locked());
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.sem.acquire()
    }

    /// Waits for `n` permits; see [`Semaphore::acquire_many`]. More than
    /// the bound never completes (until the semaphore is closed).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] once closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: gathered permits pass to the next waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let sem = aio::sync::BoundedSemaphore::new(2);
    ///     assert_eq!(sem.acquire_many(2).await.unwrap().num_permits(), 2);
    /// });
    /// ```
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        self.sem.acquire_many(n)
    }

    /// Takes a permit if one is free and nobody waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::BoundedSemaphore::new(1);
    /// let _p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.sem.try_acquire()
    }

    /// Waits for one permit through an `Arc`; the permit is `'static`.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] once closed.
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
    ///     let sem = Arc::new(aio::sync::BoundedSemaphore::new(1));
    ///     let p = sem.clone().acquire_owned().await.unwrap();
    ///     drop(p);
    ///     assert_eq!(sem.available(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.sem.acquire().await?.hand_over();
        Ok(OwnedSemaphorePermit::new(self, 1))
    }

    /// Adds one permit (asyncio's `release()`).
    ///
    /// # Errors
    ///
    /// [`TooManyReleases`] if no permit is out that `forget()` took from
    /// its guard (asyncio's acquire with no release yet): the permits not
    /// free are then held by guards, which give their own back, or
    /// gathered by a waiter. Nothing is added then, so the free count never
    /// exceeds the initial value.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::BoundedSemaphore::new(1);
    /// assert!(sem.release().is_err());
    /// sem.try_acquire().unwrap().forget();
    /// assert!(sem.release().is_ok());
    /// ```
    pub fn release(&self) -> Result<(), TooManyReleases> {
        if self.sem.release_forgotten() {
            Ok(())
        } else {
            Err(TooManyReleases(()))
        }
    }

    /// Permits free right now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::BoundedSemaphore::new(3).available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.sem.available()
    }

    /// Whether an acquire would have to wait.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(aio::sync::BoundedSemaphore::new(0).is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.sem.is_locked()
    }

    /// Closes the semaphore; see [`Semaphore::close`].
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::BoundedSemaphore::new(1);
    /// sem.close();
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn close(&self) {
        self.sem.close()
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!aio::sync::BoundedSemaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available", &self.available())
            .field("bound", &self.bound)
            .field("closed", &self.is_closed())
            .finish()
    }
}
