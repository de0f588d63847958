//! loom's types behind the same names, for the models.
#![allow(clippy::disallowed_types)]

pub(crate) mod sync {
    // std's Arc even under loom: reference counting is not one of the
    // modelled protocols, and loom's Arc has no unsized coercion
    // (`Arc<dyn Fn>`, `Arc<str>`) nor `self: &Arc<Self>` receivers.
    pub(crate) use std::sync::Arc;
    /// Not modelled: a process-wide constant, set once.
    pub(crate) use std::sync::OnceLock;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
        };
    }

    /// loom's mutex behind parking_lot's non-poisoning API.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);
    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(t: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(t))
        }
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock().ok()
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

    /// loom's condvar with parking_lot's API shape.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(pub(crate) loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Condvar {
            Condvar(loom::sync::Condvar::new())
        }
        pub(crate) fn notify_one(&self) -> bool {
            self.0.notify_one();
            true
        }
        pub(crate) fn notify_all(&self) -> usize {
            self.0.notify_all();
            0
        }
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            super::condvar_wait_timeout(self, guard, None)
        }
        /// Timeouts are not modelled: never times out.
        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _timeout: std::time::Duration,
        ) -> WaitTimeoutResult {
            super::condvar_wait_timeout(self, guard, None);
            WaitTimeoutResult(false)
        }
    }

    /// parking_lot's timeout result, for the mock.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(self) -> bool {
            self.0
        }
    }
}

pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell;
}

/// Condvar wait under loom: timeouts are not modelled, so a timed wait is a
/// plain wait (models never rely on a timeout firing).
pub(crate) fn condvar_wait_timeout<T>(
    cv: &sync::Condvar,
    guard: &mut sync::MutexGuard<'_, T>,
    _timeout: Option<std::time::Duration>,
) {
    // loom's Condvar::wait consumes and returns the guard; swap through a
    // raw read/write so the caller's &mut guard keeps its type.
    // SAFETY: [1] `guard` is read out and the returned guard written back
    // before anyone can observe the slot; [2] `wait` cannot unwind without
    // loom aborting the model, so the slot is never left moved-from.
    unsafe {
        let g = std::ptr::read(guard);
        let g = cv.0.wait(g).unwrap();
        std::ptr::write(guard, g);
    }
}
