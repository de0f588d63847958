//! `RuntimeMetrics` and `WorkerMetrics`: what a runtime has done so far,
//! read from any thread while it runs (`Handle::metrics`).
//!
//! Each worker's counters are written only by that worker (`stats.rs`),
//! so reading them costs the runtime nothing; a reader sees each value as
//! of a moment ago (Relaxed loads), never torn.

use super::{Driver, Flavor, Shared};
use crate::loom::sync::Arc;
use crate::stats::ThreadStats;
use std::fmt;
use std::time::Duration;

/// A view of a runtime's counters and gauges; cheap to clone, live (every
/// call reads the current value).
///
/// A current_thread runtime counts as one worker: its loop, on whichever
/// thread runs it.
///
/// # Examples
///
/// ```
/// let rt = aio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     for i in 0..10 {
///         aio::spawn(async move { i * 2 }).await.unwrap();
///     }
/// });
/// let m = rt.handle().metrics();
/// assert_eq!(m.num_workers(), 2);
/// let polls: u64 = (0..m.num_workers()).map(|i| m.worker(i).polls()).sum();
/// assert!(polls >= 10, "each spawned task was polled at least once");
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    shared: Arc<Shared>,
}

impl RuntimeMetrics {
    pub(crate) fn new(shared: Arc<Shared>) -> RuntimeMetrics {
        RuntimeMetrics { shared }
    }

    /// Worker threads (1 on a current_thread runtime).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 1);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.shared.stats.num_workers()
    }

    /// Tasks spawned and not yet done (including the `spawn_local` tasks
    /// of `block_on` threads).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// let t = rt.handle().spawn(std::future::pending::<()>());
    /// assert_eq!(rt.handle().metrics().alive_tasks(), 1);
    /// t.cancel();
    /// ```
    pub fn alive_tasks(&self) -> usize {
        let locals: usize = self
            .shared
            .locals
            .lock()
            .iter()
            .map(|l| l.registry.len())
            .sum();
        self.shared.registry.len() + locals
    }

    /// Tasks waiting in the global queue (woken or spawned from outside a
    /// worker); 0 on a current_thread runtime, whose one queue is worker
    /// 0's.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().metrics().injector_depth(), 0);
    /// ```
    pub fn injector_depth(&self) -> usize {
        match &self.shared.flavor {
            Flavor::MultiThread(mt) => mt.inject.len(),
            Flavor::CurrentThread(_) => 0,
        }
    }

    /// Threads of the blocking pool (`to_thread`), busy or idle.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// rt.block_on(async { aio::to_thread(|| ()).await });
    /// assert!(rt.handle().metrics().blocking_threads() >= 1);
    /// ```
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.counts().0
    }

    /// Threads of the blocking pool waiting for a job.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// let m = rt.handle().metrics();
    /// assert!(m.blocking_idle_threads() <= m.blocking_threads());
    /// ```
    pub fn blocking_idle_threads(&self) -> usize {
        self.shared.blocking.counts().1
    }

    /// Blocking jobs queued, not yet taken by a thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().metrics().blocking_queue_depth(), 0);
    /// ```
    pub fn blocking_queue_depth(&self) -> usize {
        self.shared.blocking.counts().2
    }

    /// The I/O driver the runtime runs on (see `Handle::driver`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::runtime::{Builder, Driver};
    /// let rt = Builder::new_current_thread().driver(Driver::Epoll).build().unwrap();
    /// assert_eq!(rt.handle().metrics().driver(), Driver::Epoll);
    /// ```
    pub fn driver(&self) -> Driver {
        self.shared.config.driver.kind
    }

    /// Driver syscalls of every thread of the runtime so far, workers and
    /// `block_on` threads (`io_uring_enter` or `epoll_wait`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// rt.block_on(aio::sleep(std::time::Duration::from_millis(1)));
    /// assert!(rt.handle().metrics().enters() >= 1);
    /// ```
    pub fn enters(&self) -> u64 {
        self.shared.stats.enters()
    }

    /// Worker `i`'s counters.
    ///
    /// # Panics
    /// If `i >= num_workers()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async { aio::spawn(async {}).await.unwrap() });
    /// assert!(rt.handle().metrics().worker(0).polls() >= 2); // main and the task
    /// ```
    pub fn worker(&self, i: usize) -> WorkerMetrics {
        let n = self.num_workers();
        assert!(i < n, "worker {i} of a runtime with {n} workers");
        WorkerMetrics {
            shared: self.shared.clone(),
            index: i,
        }
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("driver", &self.driver())
            .field("num_workers", &self.num_workers())
            .field("alive_tasks", &self.alive_tasks())
            .field("injector_depth", &self.injector_depth())
            .field("blocking_threads", &self.blocking_threads())
            .field("blocking_idle_threads", &self.blocking_idle_threads())
            .field("blocking_queue_depth", &self.blocking_queue_depth())
            .field(
                "workers",
                &(0..self.num_workers())
                    .map(|i| self.worker(i))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// One worker's counters (see [`RuntimeMetrics::worker`]); live.
///
/// Counters only grow; `local_queue_depth`, `ops_in_flight` and
/// `timers_pending` are gauges.
///
/// # Examples
///
/// ```
/// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(aio::sleep(std::time::Duration::from_millis(2)));
/// let w = rt.handle().metrics().worker(0);
/// assert!(w.parks() >= 1 && w.enters() >= 1);
/// assert_eq!(w.timers_pending(), 0);
/// ```
#[derive(Clone)]
pub struct WorkerMetrics {
    shared: Arc<Shared>,
    index: usize,
}

impl WorkerMetrics {
    fn stats(&self) -> &ThreadStats {
        self.shared.stats.worker(self.index)
    }

    /// Tasks polled by this worker.
    pub fn polls(&self) -> u64 {
        self.stats().polls.get()
    }

    /// Time spent running (not parked), up to its last park.
    pub fn busy_duration(&self) -> Duration {
        Duration::from_nanos(self.stats().busy_ns.get())
    }

    /// Times the worker went to sleep in its driver.
    pub fn parks(&self) -> u64 {
        self.stats().parks.get()
    }

    /// Times the worker came back from parking.
    pub fn unparks(&self) -> u64 {
        self.stats().unparks.get()
    }

    /// Successful steals from a sibling's queue.
    pub fn steals(&self) -> u64 {
        self.stats().steals.get()
    }

    /// Tasks taken by those steals.
    pub fn stolen_tasks(&self) -> u64 {
        self.stats().stolen_tasks.get()
    }

    /// Tasks waiting in this worker's queue now (current_thread: the one
    /// queue).
    pub fn local_queue_depth(&self) -> usize {
        match &self.shared.flavor {
            Flavor::MultiThread(mt) => mt.remotes[self.index].steal.len(),
            Flavor::CurrentThread(ct) => ct.queue_depth(),
        }
    }

    /// Tasks run from the LIFO slot (the task a worker just woke).
    pub fn lifo_hits(&self) -> u64 {
        self.stats().lifo_hits.get()
    }

    /// Operations handed to the driver: SQEs submitted (io_uring), or fds
    /// registered (epoll).
    pub fn submissions(&self) -> u64 {
        self.stats().submissions.get()
    }

    /// Driver syscalls: `io_uring_enter` or `epoll_wait` calls.
    pub fn enters(&self) -> u64 {
        self.stats().enters.get()
    }

    /// Completions reaped (CQEs of operations), or readiness events
    /// delivered (epoll).
    pub fn completions(&self) -> u64 {
        self.stats().completions.get()
    }

    /// Operations the kernel holds now (io_uring), or fds registered
    /// (epoll).
    pub fn ops_in_flight(&self) -> u64 {
        self.stats().in_flight.get()
    }

    /// Timers in this worker's wheel now.
    pub fn timers_pending(&self) -> u64 {
        self.stats().timers_pending.get()
    }
}

impl fmt::Debug for WorkerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerMetrics")
            .field("index", &self.index)
            .field("polls", &self.polls())
            .field("busy_duration", &self.busy_duration())
            .field("parks", &self.parks())
            .field("unparks", &self.unparks())
            .field("steals", &self.steals())
            .field("stolen_tasks", &self.stolen_tasks())
            .field("local_queue_depth", &self.local_queue_depth())
            .field("lifo_hits", &self.lifo_hits())
            .field("submissions", &self.submissions())
            .field("enters", &self.enters())
            .field("completions", &self.completions())
            .field("ops_in_flight", &self.ops_in_flight())
            .field("timers_pending", &self.timers_pending())
            .finish()
    }
}
