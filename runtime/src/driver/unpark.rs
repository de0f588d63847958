//! The park/unpark state word shared between a parked thread and its wakers.
//!
//! Protocol (model-checked in `tests/loom_park.rs`):
//! - park: `NOTIFIED → EMPTY` returns at once (a wake came first);
//!   otherwise `EMPTY → PARKED`, wait for a wake signal, then swap to
//!   `EMPTY`.
//! - unpark: `swap(NOTIFIED)`; only if it was `PARKED` send the signal (one
//!   syscall). If the parker has not blocked yet it finds `NOTIFIED` or the
//!   signal already pending, so no wake is lost.

use crate::loom::sync::atomic::{AtomicU64, AtomicU8, Ordering::*};
use std::fmt;

pub(crate) const EMPTY: u8 = 0;
pub(crate) const PARKED: u8 = 1;
pub(crate) const NOTIFIED: u8 = 2;

/// How to send the wake signal to a parked thread.
pub(crate) trait Signal: Send + Sync {
    fn signal(&self);
    /// Releases what the signal uses (fds); later signals do nothing.
    fn close(&self) {}
}

/// The waking side of a parker.
pub(crate) struct Unparker {
    pub(crate) state: AtomicU8,
    signal: Box<dyn Signal>,
    /// Wake signals actually sent (syscalls), for the debug counters.
    pub(crate) signals_sent: AtomicU64,
}

/// Whether `park_prepare` says to block.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// A wake came first: do not block.
    Notified,
    /// `PARKED` is recorded: block until signalled.
    Block,
}

impl Unparker {
    /// The parker is gone for good: releases the signal's resources.
    /// Callers first make later unparks find `NOTIFIED` (no signal sent).
    pub(crate) fn close_signal(&self) {
        self.signal.close();
    }

    pub(crate) fn new(signal: Box<dyn Signal>) -> Unparker {
        Unparker {
            state: AtomicU8::new(EMPTY),
            signal,
            signals_sent: AtomicU64::new(0),
        }
    }

    /// Wakes the parker; a syscall only if it is parked.
    pub(crate) fn unpark(&self) {
        if self.state.swap(NOTIFIED, SeqCst) == PARKED {
            self.signals_sent.fetch_add(1, Relaxed);
            self.signal.signal();
        }
    }

    /// First half of parking: record PARKED unless already notified.
    pub(crate) fn park_prepare(&self) -> Prepared {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return Prepared::Notified;
        }
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => Prepared::Block,
            Err(_) => {
                // Notified in between. Consume with a read-modify-write, not
                // a store: a store could be ordered after a second
                // unparker's swap, erasing its notification without
                // synchronising with it (found by loom_idle with 3
                // preemptions: the parker then missed the shutdown flag).
                self.state.swap(EMPTY, SeqCst);
                Prepared::Notified
            }
        }
    }

    /// Second half: after blocking (or timing out), consume any notification.
    pub(crate) fn park_finish(&self) {
        self.state.swap(EMPTY, SeqCst);
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unparker")
            .field("state", &self.state.load(Relaxed))
            .field("signals_sent", &self.signals_sent.load(Relaxed))
            .finish()
    }
}

/// A condvar signal, for threads without a ring (the `block_on` thread of a
/// multi_thread runtime) and for loom models.
#[derive(Default)]
pub(crate) struct CondvarSignal {
    lock: crate::loom::sync::Mutex<bool>,
    cv: crate::loom::sync::Condvar,
}

impl CondvarSignal {
    /// Blocks until signalled or `timeout` passes; consumes the signal.
    pub(crate) fn wait(&self, timeout: Option<std::time::Duration>) {
        let mut g = self.lock.lock();
        if !*g {
            crate::loom::condvar_wait_timeout(&self.cv, &mut g, timeout);
        }
        *g = false;
    }
}

impl Signal for crate::loom::sync::Arc<CondvarSignal> {
    fn signal(&self) {
        *self.lock.lock() = true;
        self.cv.notify_one();
    }
}

/// Parks the current thread on a condvar with the unparker protocol.
/// `spin`: like a ring's spin (`SpinGate`), look at the state once more
/// before blocking; a wake seen there ends the park, and its signal stays
/// pending for the next one (a spare wake-up).
pub(crate) fn park_condvar(
    unparker: &Unparker,
    signal: &CondvarSignal,
    timeout: Option<std::time::Duration>,
    spin: bool,
) {
    if unparker.park_prepare() == Prepared::Block {
        if !(spin && unparker.state.load(Acquire) != PARKED) {
            signal.wait(timeout);
        }
        unparker.park_finish();
    }
}

#[cfg(loom)]
pub(crate) mod loom_driver {
    //! Under loom the ring is replaced by a condvar parker with the same
    //! interface, so the scheduler protocols can be modelled.
    use super::*;
    use crate::loom::sync::Arc;

    pub(crate) struct Driver {
        signal: Arc<CondvarSignal>,
        pub(crate) unparker: Arc<Unparker>,
        pub(crate) woken: Vec<std::task::Waker>,
    }

    impl Driver {
        pub(crate) fn new(
            _cfg: &crate::driver::DriverConfig,
            _attach: Option<&Driver>,
            _single: bool,
            _stats: Arc<crate::stats::ThreadStats>,
        ) -> std::io::Result<Driver> {
            let signal = Arc::new(CondvarSignal::default());
            let unparker = Arc::new(Unparker::new(Box::new(signal.clone())));
            Ok(Driver {
                signal,
                unparker,
                woken: Vec::new(),
            })
        }
        pub(crate) fn enable(&mut self) -> std::io::Result<()> {
            Ok(())
        }
        pub(crate) fn can_close_anywhere(&self) -> bool {
            true
        }
        pub(crate) fn park(&mut self, timeout: Option<std::time::Duration>, may_spin: bool) {
            park_condvar(&self.unparker, &self.signal, timeout, may_spin)
        }
        pub(crate) fn poll(&mut self) {}
        pub(crate) fn msg_ring(&mut self, _fd: i32) -> bool {
            false
        }
        pub(crate) fn unparker(&self) -> &Arc<Unparker> {
            &self.unparker
        }
    }
}
