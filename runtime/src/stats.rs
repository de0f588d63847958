//! The runtime's counters: one block per scheduler thread (a worker, the
//! current_thread loop, a `block_on` thread), written only by that thread
//! and read by anyone with `Relaxed` loads (`Handle::metrics`).
//!
//! A writer owns its block, so an increment is a load and a store on its
//! own cache line (the block is 128-byte aligned): no read-modify-write,
//! no line shared between workers on the hot path. Readers may see a
//! value a few increments old, never a torn one.
//!
//! Built with `RUSTFLAGS="--cfg aio_no_stats"`, the counters compile to
//! nothing (writes are dropped, reads give 0): the baseline of the
//! overhead A/B in `BENCHMARKS.md`.
//!
//! Called by the schedulers (polls, parks, steals), the drivers
//! (submissions, enters, completions, ops in flight) and the timer wheels
//! (timers pending); read by `rt::metrics`. Calls nothing.

use crate::loom::sync::atomic::{AtomicU64, Ordering::Relaxed};
use crate::loom::sync::{Arc, Mutex};
use std::fmt;

/// A counter with a single writer.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`; only the owning thread calls this.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        #[cfg(not(aio_no_stats))]
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
        #[cfg(aio_no_stats)]
        let _ = n;
    }

    /// Adds one; only the owning thread calls this.
    #[inline]
    pub(crate) fn incr(&self) {
        self.add(1);
    }

    /// Sets a gauge; only the owning thread calls this.
    #[inline]
    pub(crate) fn set(&self, v: u64) {
        #[cfg(not(aio_no_stats))]
        self.0.store(v, Relaxed);
        #[cfg(aio_no_stats)]
        let _ = v;
    }

    /// The value now (from any thread).
    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// One scheduler thread's counters.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct ThreadStats {
    /// Tasks polled.
    pub(crate) polls: Counter,
    /// Time spent not parked, in ns (added when the thread parks).
    pub(crate) busy_ns: Counter,
    /// Times the thread went to sleep in its driver.
    pub(crate) parks: Counter,
    /// Times the thread came back from parking to run work.
    pub(crate) unparks: Counter,
    /// Successful steals from a sibling's queue.
    pub(crate) steals: Counter,
    /// Tasks taken by those steals.
    pub(crate) stolen_tasks: Counter,
    /// Tasks run from the LIFO slot.
    pub(crate) lifo_hits: Counter,
    /// Operations handed to the driver (SQEs, or readiness waits).
    pub(crate) submissions: Counter,
    /// Driver syscalls: `io_uring_enter` or `epoll_wait`.
    pub(crate) enters: Counter,
    /// Completions reaped (CQEs, or readiness events delivered).
    pub(crate) completions: Counter,
    /// Operations in the kernel's hands now (a gauge; io_uring).
    pub(crate) in_flight: Counter,
    /// Timers registered in this thread's wheel now (a gauge).
    pub(crate) timers_pending: Counter,
}

/// The counters of one runtime: its workers' blocks (by index), and those
/// of other threads (`block_on` threads) while they live, then their sums.
#[derive(Debug)]
pub(crate) struct StatsRegistry {
    workers: Box<[Arc<ThreadStats>]>,
    others: Mutex<Vec<Arc<ThreadStats>>>,
    /// `enters` of other threads already gone.
    retired_enters: AtomicU64,
}

impl StatsRegistry {
    /// `workers` blocks, one per worker (current_thread: one, the loop).
    pub(crate) fn new(workers: usize) -> StatsRegistry {
        StatsRegistry {
            workers: (0..workers).map(|_| Arc::default()).collect(),
            others: Mutex::new(Vec::new()),
            retired_enters: AtomicU64::new(0),
        }
    }

    /// Worker `i`'s block.
    pub(crate) fn worker(&self, i: usize) -> &Arc<ThreadStats> {
        &self.workers[i]
    }

    /// How many worker blocks there are.
    pub(crate) fn num_workers(&self) -> usize {
        self.workers.len()
    }

    /// A block for another thread, counted until the guard drops.
    pub(crate) fn other(self: &Arc<Self>) -> OtherStats {
        let stats = Arc::<ThreadStats>::default();
        self.others.lock().push(stats.clone());
        OtherStats {
            registry: self.clone(),
            stats,
        }
    }

    /// Driver syscalls so far, every thread of the runtime.
    pub(crate) fn enters(&self) -> u64 {
        // Under the lock: a thread retiring meanwhile is counted once.
        let others = self.others.lock();
        self.workers.iter().map(|s| s.enters.get()).sum::<u64>()
            + others.iter().map(|s| s.enters.get()).sum::<u64>()
            + self.retired_enters.load(Relaxed)
    }
}

/// The block of a non-worker thread; folds its syscall count into the
/// runtime's totals when dropped.
#[derive(Debug)]
pub(crate) struct OtherStats {
    registry: Arc<StatsRegistry>,
    pub(crate) stats: Arc<ThreadStats>,
}

impl Drop for OtherStats {
    fn drop(&mut self) {
        let mut others = self.registry.others.lock();
        others.retain(|s| !Arc::ptr_eq(s, &self.stats));
        self.registry
            .retired_enters
            .fetch_add(self.stats.enters.get(), Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_gone_still_counts_in_the_totals() {
        let r = Arc::new(StatsRegistry::new(2));
        r.worker(1).enters.add(3);
        let other = r.other();
        other.stats.enters.add(4);
        assert_eq!(r.enters(), 7);
        drop(other);
        assert_eq!(r.enters(), 7, "retired, not lost");
        assert!(
            std::mem::align_of::<ThreadStats>() >= 128,
            "one block per cache line pair"
        );
    }
}
