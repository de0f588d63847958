//! The multi_thread scheduler: per-core workers that steal from each other
//! and park in their own io_uring ring.
//!
//! - `queue.rs`: local FIFO queues, stealers and the global injector.
//! - `idle.rs`: the searching/parked accounting that decides whom to wake.
//! - `worker.rs`: the worker loop (LIFO slot, global-queue interval,
//!   stealing, parking, driver maintenance).
//!
//! A wake from a worker of this runtime goes to that worker's LIFO slot
//! (or the back of its queue for yields and driver completions); any other
//! wake goes to the injector. Either way, a parked worker is woken only if
//! nobody is already searching, and then with one syscall (MSG_RING from a
//! worker, an eventfd write from elsewhere).

mod idle;
pub(crate) mod queue;
pub(crate) mod worker;

use crate::driver::unpark::{park_condvar, CondvarSignal};
use crate::driver::{Driver, DriverConfig, Unparker};
use crate::loom::sync::atomic::{fence, AtomicBool, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::Shared;
use crate::stats::{OtherStats, StatsRegistry};
use crate::task::Notified;
use idle::Idle;
use queue::{Inject, Local, Stealer};
use std::fmt;
use std::time::Instant;

/// Ticks between checks of the global queue first.
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = 31;
/// Ticks between non-blocking driver polls of a busy worker.
pub(crate) const DRIVER_POLL_INTERVAL: u32 = 61;
/// Consecutive LIFO-slot polls before the slot goes to the queue.
pub(crate) const MAX_LIFO_POLLS: u32 = 3;
/// A worker busy this long without running dry is saturated: it wakes a
/// sibling to steal, and siblings stop handing it work.
pub(crate) const SATURATED_AFTER: std::time::Duration = std::time::Duration::from_millis(1);
/// A parked worker hands the tasks its ring woke to a running sibling
/// only while that sibling's queue is at most this long.
pub(crate) const HAND_OFF_MAX_QUEUE: usize = 16;

/// What other threads see of a worker.
pub(crate) struct Remote {
    pub(crate) steal: Stealer,
    pub(crate) unparker: Arc<Unparker>,
    /// Written only by the worker: set once it has been busy longer than
    /// `SATURATED_AFTER`, cleared when it parks after a busy spell shorter
    /// than that. A hint (Relaxed): it only steers hand-offs, no wake
    /// depends on it.
    pub(crate) saturated: AtomicBool,
}

/// The shared state of a multi_thread runtime.
pub(crate) struct MtShared {
    pub(crate) remotes: Box<[Remote]>,
    pub(crate) inject: Inject,
    idle: Idle,
    pub(crate) shutdown: AtomicBool,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Rings for `block_on` / `run` threads between their calls: first the
    /// one `build` made (disabled, no owner yet, so that a process short of
    /// file descriptors gets the error from `build`, not a panic in `run`),
    /// then each thread's own, kept when its call returns so that the next
    /// call on that thread does not make and tear down a ring (a ring's
    /// teardown unmaps its queues: TLB shootdowns on every core).
    block_on_rings: Mutex<Vec<BlockOnRing>>,
}

/// How many rings of `block_on` threads are kept between calls: those of
/// the threads whose calls returned last (a thread that made room for
/// another's makes a new ring at its next call).
const KEPT_BLOCK_ON_RINGS: usize = 4;

/// A `block_on` thread's ring between its calls.
pub(crate) struct BlockOnRing {
    /// The thread that enabled it, its only possible issuer (`None`: not
    /// enabled yet).
    owner: Option<std::thread::ThreadId>,
    /// Declared before `stats`, so that dropping the pair retires the
    /// thread's counts after the ring's last syscall.
    pub(crate) driver: Driver,
    pub(crate) stats: OtherStats,
}

/// What a worker thread starts with.
pub(crate) struct WorkerInit {
    pub(crate) index: usize,
    pub(crate) local: Local,
    pub(crate) driver: Driver,
}

impl fmt::Debug for MtShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtShared")
            .field("workers", &self.remotes.len())
            .field("idle", &self.idle)
            .finish()
    }
}

impl MtShared {
    /// Creates the queues and the (disabled) rings of `n` workers.
    /// `stats`: the runtime's counters (worker `i` writes block `i`).
    pub(crate) fn new(
        n: usize,
        ring: &DriverConfig,
        stats: &Arc<StatsRegistry>,
    ) -> std::io::Result<(MtShared, Vec<WorkerInit>)> {
        let mut remotes = Vec::with_capacity(n);
        let mut inits: Vec<WorkerInit> = Vec::with_capacity(n);
        let block_on_stats = stats.other();
        let block_on_ring = Driver::new(ring, None, true, block_on_stats.stats.clone())?;
        for index in 0..n {
            let driver = Driver::new(
                ring,
                inits.first().map(|w| &w.driver),
                true,
                stats.worker(index).clone(),
            )?;
            let (local, steal) = queue::local();
            remotes.push(Remote {
                steal,
                unparker: driver.unparker().clone(),
                saturated: AtomicBool::new(false),
            });
            inits.push(WorkerInit {
                index,
                local,
                driver,
            });
        }
        let mt = MtShared {
            remotes: remotes.into_boxed_slice(),
            inject: Inject::new(),
            idle: Idle::new(n),
            shutdown: AtomicBool::new(false),
            threads: Mutex::new(Vec::with_capacity(n)),
            block_on_rings: Mutex::new(vec![BlockOnRing {
                owner: None,
                driver: block_on_ring,
                stats: block_on_stats,
            }]),
        };
        Ok((mt, inits))
    }

    /// Schedules a task from anywhere.
    pub(crate) fn schedule(&self, rt: &Arc<Shared>, task: Notified, is_yield: bool) {
        super::context::with_worker(|w| match w {
            Some(w) if Arc::ptr_eq(&w.rt, rt) => w.schedule_local(task, is_yield),
            _ => {
                self.inject.push(task);
                self.notify_parked();
            }
        })
    }

    /// Wakes one parked worker if nobody is searching.
    pub(crate) fn notify_parked(&self) {
        if let Some(i) = self.idle.worker_to_notify() {
            self.remotes[i].unparker.unpark();
        }
    }

    /// Called by the last searcher, after its `SeqCst` transition out of
    /// searching (to parked, or to running a task it found): wake someone
    /// if any queue has work. Work pushed while it searched woke nobody
    /// (a searcher was counted); the fence pairs with the pushers' `SeqCst`
    /// read of the idle state, so either this sees their task or they saw
    /// no searcher and woke a worker themselves.
    pub(crate) fn notify_if_work_pending(&self) {
        fence(SeqCst);
        let pending = self.remotes.iter().any(|r| !r.steal.is_empty()) || !self.inject.is_empty();
        if pending {
            self.notify_parked();
        }
    }

    pub(crate) fn idle(&self) -> &Idle {
        &self.idle
    }

    /// A ring for a `block_on` on the calling thread: the one it kept from
    /// its last call, else the one `build` made if no call has taken it.
    pub(crate) fn take_block_on_ring(&self) -> Option<BlockOnRing> {
        let me = std::thread::current().id();
        let mut rings = self.block_on_rings.lock();
        let i = rings
            .iter()
            .position(|r| r.owner == Some(me))
            .or_else(|| rings.iter().position(|r| r.owner.is_none()))?;
        Some(rings.remove(i))
    }

    /// Keeps the ring of a `block_on` that returned on the calling thread
    /// (which enabled it) for that thread's next call, if it is a ring
    /// with nothing in flight: such a ring may later be closed on any
    /// thread (nothing to cancel, no syscall), and holds no registration
    /// that needs its thread to poll it (an epoll driver does, so it is
    /// closed here, and its registrations move to their users' threads).
    /// Otherwise, or after shutdown, the ring is closed here, on its
    /// owner's thread. With `KEPT_BLOCK_ON_RINGS` kept already, the one
    /// kept longest ago is closed (its thread may have exited: a
    /// `ThreadId` never comes back, and its ring would hold a place for
    /// good).
    pub(crate) fn keep_block_on_ring(&self, driver: Driver, stats: OtherStats) {
        let ring = BlockOnRing {
            owner: Some(std::thread::current().id()),
            driver,
            stats,
        };
        if !ring.driver.can_close_anywhere() || self.shutdown.load(SeqCst) {
            return drop(ring);
        }
        let mut rings = self.block_on_rings.lock();
        // Oldest first: `take_block_on_ring` keeps the order.
        let evicted = (rings.len() >= KEPT_BLOCK_ON_RINGS).then(|| rings.remove(0));
        rings.push(ring);
        drop(rings);
        // Nothing is in flight in it: it closes on this thread.
        drop(evicted);
    }

    pub(crate) fn unpark_count(&self) -> u64 {
        self.remotes
            .iter()
            .map(|r| r.unparker.signals_sent.load(Relaxed))
            .sum()
    }

    /// Shutdown step 2: wait until every cancelled task is done.
    pub(crate) fn wait_tasks_done(&self, rt: &Shared, deadline: Instant) {
        let signal = Arc::new(CondvarSignal::default());
        let unparker = Arc::new(Unparker::new(Box::new(signal.clone())));
        let u = unparker.clone();
        rt.registry.set_on_empty(Some(Box::new(move || u.unpark())));
        while rt.registry.len() > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            park_condvar(&unparker, &signal, Some(deadline - now), false);
        }
        rt.registry.set_on_empty(None);
    }

    /// Shutdown step 5: stop the workers and join them. Each closes its
    /// own ring on exit.
    pub(crate) fn shutdown_workers(&self) {
        self.shutdown.store(true, SeqCst);
        for r in self.remotes.iter() {
            r.unparker.unpark();
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        let me = std::thread::current().id();
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        while let Some(t) = self.inject.pop() {
            drop(t);
        }
        // Rings kept for block_on calls that will not come: nothing is in
        // flight in them, so they close on this thread.
        drop(std::mem::take(&mut *self.block_on_rings.lock()));
    }
}

/// Starts the worker threads; returns once every ring is enabled (or the
/// first error).
pub(crate) fn start(rt: &Arc<Shared>, workers: Vec<WorkerInit>) -> std::io::Result<()> {
    let crate::rt::Flavor::MultiThread(mt) = &rt.flavor else {
        unreachable!("a multi_thread runtime")
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let n = workers.len();
    for init in workers {
        let rt2 = rt.clone();
        let tx = tx.clone();
        let name = rt.config.thread_name.clone();
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || worker::run(rt2, init, tx))?;
        mt.threads.lock().push(handle);
    }
    for _ in 0..n {
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                mt.shutdown_workers();
                return Err(e);
            }
            Err(_) => {
                mt.shutdown_workers();
                return Err(std::io::Error::other(
                    "aio: a worker thread died while starting",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(all(test, loom))]
mod tests;
