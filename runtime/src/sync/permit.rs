//! The permits of a [`Semaphore`]: borrowed ([`SemaphorePermit`]) and
//! owned through an `Arc` ([`OwnedSemaphorePermit`], which can keep a
//! `Semaphore` or a `BoundedSemaphore` alive). Dropping a permit returns
//! its permits through `Semaphore::add_permits`, which hands them to the
//! head waiter first.

use super::semaphore::Semaphore;
use crate::loom::sync::Arc;
use std::fmt;

/// Permits taken from a [`Semaphore`]; dropping it gives them back.
///
/// # Examples
///
/// ```
/// let sem = aio::sync::Semaphore::new(1);
/// let p = sem.try_acquire().unwrap();
/// assert_eq!(p.num_permits(), 1);
/// drop(p);
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    pub(super) sem: &'a Semaphore,
    pub(super) n: usize,
}

impl SemaphorePermit<'_> {
    /// Keeps the permits taken: they are not returned on drop.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// ```
    pub fn forget(mut self) {
        self.sem.count_forgotten(self.n);
        self.n = 0;
    }

    /// Ends the guard without returning its permits and without counting
    /// them as forgotten: for a new holder that returns them itself (an
    /// owned permit made from this one).
    pub(crate) fn hand_over(mut self) {
        self.n = 0;
    }

    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = aio::sync::Semaphore::new(2);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.add_permits(self.n);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// A permit of an `Arc<Semaphore>`, movable into other tasks.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(aio::sync::Semaphore::new(1));
/// let p = sem.clone().try_acquire_owned().unwrap();
/// assert_eq!(sem.available(), 0);
/// drop(p);
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    pub(super) sem: Arc<dyn Holder>,
    pub(super) n: usize,
}

/// What an owned permit keeps alive: a `Semaphore` or a `BoundedSemaphore`.
pub(crate) trait Holder: Send + Sync + 'static {
    fn semaphore(&self) -> &Semaphore;
}

impl Holder for Semaphore {
    fn semaphore(&self) -> &Semaphore {
        self
    }
}

impl OwnedSemaphorePermit {
    pub(crate) fn new(sem: Arc<dyn Holder>, n: usize) -> OwnedSemaphorePermit {
        OwnedSemaphorePermit { sem, n }
    }
}

impl OwnedSemaphorePermit {
    /// Keeps the permits: they are not returned on drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(aio::sync::Semaphore::new(1));
    /// sem.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// ```
    pub fn forget(mut self) {
        self.sem.semaphore().count_forgotten(self.n);
        self.n = 0;
    }

    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(aio::sync::Semaphore::new(1));
    /// assert_eq!(sem.try_acquire_owned().unwrap().num_permits(), 1);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.semaphore().add_permits(self.n);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}
