//! The real synchronisation types, used outside loom models.
#![allow(clippy::disallowed_types)]

pub(crate) mod sync {
    pub(crate) use std::sync::{Arc, OnceLock};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicI32, AtomicPtr, AtomicU16, AtomicU64, AtomicU8, AtomicUsize,
            Ordering,
        };
    }

    /// A mutex that never poisons (parking_lot's).
    pub(crate) type Mutex<T> = parking_lot::Mutex<T>;
    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
    pub(crate) type Condvar = parking_lot::Condvar;
}

pub(crate) mod cell {
    /// `UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(data: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Condvar wait with a timeout, papering over the std / loom difference.
pub(crate) fn condvar_wait_timeout<T>(
    cv: &sync::Condvar,
    guard: &mut sync::MutexGuard<'_, T>,
    timeout: Option<std::time::Duration>,
) {
    match timeout {
        Some(t) => {
            cv.wait_for(guard, t);
        }
        None => cv.wait(guard),
    }
}
