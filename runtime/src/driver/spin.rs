//! How the drivers of one runtime poll before they block
//! (`Builder::park_spin`).
//!
//! A worker that parks with I/O in flight polls its driver (a ring's
//! completion queue and `IORING_SQ_TASKRUN` flag, or a zero-timeout
//! `epoll_wait`) for up to `spin`, yielding its CPU on each turn, before it
//! blocks. A completion that arrives meanwhile costs no sleep and no
//! wake-up (about 30 µs of idle-CPU wake latency each on a VM); yielding
//! gives the CPU to any runnable thread, so a loaded machine loses
//! little. At most `max` drivers spin at once.
//!
//! Called by the drivers' `park`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// The spin budget shared by the drivers of one runtime.
#[derive(Debug)]
pub(crate) struct SpinGate {
    pub(crate) spin: Duration,
    max: usize,
    spinning: AtomicUsize,
}

impl SpinGate {
    pub(crate) fn new(spin: Duration, max: usize) -> SpinGate {
        SpinGate {
            spin,
            max,
            spinning: AtomicUsize::new(0),
        }
    }

    /// A turn to spin, if the budget allows.
    pub(crate) fn enter(&self) -> Option<SpinTurn<'_>> {
        if self.spin.is_zero() {
            return None;
        }
        if self.spinning.fetch_add(1, Relaxed) >= self.max {
            self.spinning.fetch_sub(1, Relaxed);
            return None;
        }
        Some(SpinTurn(self))
    }
}

/// A driver's turn to spin; ends when dropped.
pub(crate) struct SpinTurn<'a>(&'a SpinGate);

impl Drop for SpinTurn<'_> {
    fn drop(&mut self) {
        self.0.spinning.fetch_sub(1, Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_spin_gate_lets_at_most_max_drivers_spin() {
        let gate = SpinGate::new(Duration::from_micros(50), 2);
        let (a, b) = (gate.enter(), gate.enter());
        assert!(a.is_some() && b.is_some());
        assert!(gate.enter().is_none(), "a third driver waits its turn");
        drop(a);
        assert!(gate.enter().is_some(), "a turn ended frees a place");
        let off = SpinGate::new(Duration::ZERO, 2);
        assert!(off.enter().is_none(), "a zero spin never spins");
        assert_eq!(off.spinning.load(Relaxed), 0, "and counts no spinner");
    }
}
