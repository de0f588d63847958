//! What the builder fixes for every driver of a runtime: which kind runs,
//! the ring size, the park spin, and the runtime's syscall counters.
//!
//! Called by the builder (made once per runtime) and by `Driver::new`.

use super::spin::SpinGate;
use crate::loom::sync::atomic::{AtomicU64, Ordering::Relaxed};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::Driver as Kind;
use std::time::Duration;

/// Driver parameters chosen by the builder, shared by the drivers of one
/// runtime (workers, the current_thread loop, `block_on` threads).
#[derive(Debug, Clone)]
pub(crate) struct DriverConfig {
    /// `Kind::IoUring` or `Kind::Epoll` (resolved: never `Auto`).
    pub(crate) kind: Kind,
    /// Submission queue entries per ring.
    pub(crate) entries: u32,
    /// Spinning before a park, shared by the drivers of one runtime.
    pub(crate) spin: Arc<SpinGate>,
    /// The runtime's driver syscalls (`io_uring_enter`, `epoll_wait`).
    pub(crate) enters: Arc<EnterCounters>,
}

impl DriverConfig {
    /// `spin`: how long a park polls before it blocks; at most `spinners`
    /// drivers of the runtime poll at once.
    pub(crate) fn new(kind: Kind, entries: u32, spin: Duration, spinners: usize) -> DriverConfig {
        DriverConfig {
            kind,
            entries,
            spin: Arc::new(SpinGate::new(spin, spinners)),
            enters: Arc::new(EnterCounters::default()),
        }
    }
}

/// The driver syscalls of one runtime's drivers: one counter per driver,
/// written only by its owner (no cache line shared between workers on
/// the hot path), summed when asked.
#[derive(Debug, Default)]
pub(crate) struct EnterCounters {
    /// The counters of the drivers alive.
    live: Mutex<Vec<Arc<AtomicU64>>>,
    /// The calls of drivers already dropped.
    retired: AtomicU64,
}

impl EnterCounters {
    /// A counter for a new driver, counted until it drops.
    pub(crate) fn counter(self: &Arc<Self>) -> EnterCounter {
        let mine = Arc::new(AtomicU64::new(0));
        self.live.lock().push(mine.clone());
        EnterCounter {
            all: self.clone(),
            mine,
        }
    }

    /// The calls so far of every driver, alive or dropped.
    pub(crate) fn total(&self) -> u64 {
        // Under the lock: a driver retiring meanwhile is counted once.
        let live = self.live.lock();
        live.iter().map(|c| c.load(Relaxed)).sum::<u64>() + self.retired.load(Relaxed)
    }
}

/// One driver's counter (see [`EnterCounters`]).
#[derive(Debug)]
pub(crate) struct EnterCounter {
    all: Arc<EnterCounters>,
    mine: Arc<AtomicU64>,
}

impl EnterCounter {
    /// One more call; only the driver's owner calls this.
    pub(crate) fn bump(&self) {
        // A single writer: no read-modify-write needed.
        self.mine.store(self.mine.load(Relaxed) + 1, Relaxed);
    }
}

impl Drop for EnterCounter {
    fn drop(&mut self) {
        let mut live = self.all.live.lock();
        live.retain(|c| !Arc::ptr_eq(c, &self.mine));
        self.all.retired.fetch_add(self.mine.load(Relaxed), Relaxed);
    }
}
