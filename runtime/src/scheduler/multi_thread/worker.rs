//! The worker loop of the multi_thread scheduler.
//!
//! Each tick: every `GLOBAL_QUEUE_INTERVAL` ticks the injector first; then
//! the LIFO slot, the local queue, the injector; then stealing (as a
//! searcher); then parking in the ring. Every `DRIVER_POLL_INTERVAL` ticks
//! a busy worker polls its ring and timer wheel without blocking, so I/O
//! and timers progress under load, and puts the tasks that yielded since
//! back on its queue (so a yield returns within that many ticks, whatever
//! else is runnable).
//!
//! Who helps whom: tasks woken by a worker's own ring or timers wake no
//! sibling. A worker that keeps up runs dry and parks often; one busy for
//! `SATURATED_AFTER` without running dry marks itself saturated and wakes
//! a sibling to steal. A parked worker that its ring wakes with tasks
//! hands them to a running sibling that is not saturated (`hand_off`).
//! So under a load one worker can carry, the connections gather on its
//! ring and the others sleep; under more, they spread.

use super::idle::Idle;
use super::queue::{Local, RunQueue, Steal};
use super::{
    MtShared, WorkerInit, DRIVER_POLL_INTERVAL, GLOBAL_QUEUE_INTERVAL, HAND_OFF_MAX_QUEUE,
    MAX_LIFO_POLLS, SATURATED_AFTER,
};
use crate::driver::Driver;
use crate::loom::sync::atomic::{fence, Ordering};
use crate::loom::sync::Arc;
use crate::rt::{Flavor, Handle, Shared};
use crate::scheduler::context;
use crate::stats::ThreadStats;
use crate::task::raw::TaskPtr;
use crate::task::Notified;
use crate::time::timers::Timers;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::time::Instant;

/// The state of one worker, owned by its thread.
pub(crate) struct WorkerCtx {
    index: usize,
    pub(crate) rt: Arc<Shared>,
    run_queue: Local,
    lifo: RefCell<Option<Notified>>,
    /// Wakers of tasks that yielded, woken at the next driver poll
    /// (`maintenance`) or when the worker runs dry, whichever comes first.
    deferred: RefCell<Vec<std::task::Waker>>,
    /// The other buffer of `deferred` (swapped in, so neither reallocates).
    deferred_spare: RefCell<Vec<std::task::Waker>>,
    /// The running task, if it yielded with its own waker during this
    /// poll (`context::defer_yield`); the harness takes it.
    pub(crate) self_yield: Cell<Option<TaskPtr>>,
    /// Tasks that yielded, queued by `Schedule::defer`, released with
    /// `deferred`.
    deferred_tasks: RefCell<Vec<Notified>>,
    is_searching: Cell<bool>,
    in_driver: Cell<bool>,
    /// When this worker last came back from parking (it has had work
    /// ever since).
    busy_since: Cell<Instant>,
    tick: Cell<u32>,
    rand: Cell<u32>,
    driver: RefCell<Driver>,
    timers: Timers,
    /// This worker's counters (`Handle::metrics`), written only here.
    stats: Arc<ThreadStats>,
}

/// The worker thread's body.
pub(crate) fn run(
    rt: Arc<Shared>,
    init: WorkerInit,
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    let WorkerInit {
        index,
        local,
        mut driver,
    } = init;
    if let Err(e) = driver.enable() {
        let _ = ready.send(Err(e));
        return;
    }
    let _ = ready.send(Ok(()));
    context::set_thread_runtime(Handle::from_shared(rt.clone()));
    context::set_entered();
    let stats = rt.stats.worker(index).clone();
    let ctx = WorkerCtx {
        index,
        timers: Timers::new(rt.clock.clone(), stats.clone()),
        stats,
        rt,
        run_queue: local,
        lifo: RefCell::new(None),
        deferred: RefCell::new(Vec::new()),
        deferred_spare: RefCell::new(Vec::new()),
        self_yield: Cell::new(None),
        deferred_tasks: RefCell::new(Vec::new()),
        is_searching: Cell::new(false),
        in_driver: Cell::new(false),
        busy_since: Cell::new(Instant::now()),
        tick: Cell::new(0),
        rand: Cell::new((index as u32).wrapping_mul(0x9E37_79B9) | 1),
        driver: RefCell::new(driver),
    };
    {
        let _w = context::set_worker(Some(NonNull::from(&ctx)));
        let _io = context::set_io(
            Some(NonNull::from(&ctx.timers)),
            Some(NonNull::from(&ctx.driver)),
        );
        ctx.run_loop();
        // Exit: notifications still queued belong to completed or
        // cancelled tasks; release them.
        drop(std::mem::take(&mut *ctx.deferred.borrow_mut()));
        drop(std::mem::take(&mut *ctx.deferred_tasks.borrow_mut()));
        drop(ctx.lifo.borrow_mut().take());
        while let Some(t) = ctx.run_queue.pop() {
            drop(t);
        }
    }
    drop(ctx);
}

impl WorkerCtx {
    fn mt(&self) -> &MtShared {
        match &self.rt.flavor {
            Flavor::MultiThread(mt) => mt,
            Flavor::CurrentThread(_) => unreachable!("a multi_thread worker"),
        }
    }

    fn idle(&self) -> &Idle {
        self.mt().idle()
    }

    fn run_loop(&self) {
        let mt = self.mt();
        self.rt.refresh_thread_tick(Some(self.index));
        while !mt
            .shutdown
            .load(crate::loom::sync::atomic::Ordering::Acquire)
        {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            if tick % DRIVER_POLL_INTERVAL == 0 {
                self.maintenance();
            }
            if let Some(t) = self.next_task(tick) {
                self.run_task(t);
                if tick % SATURATION_CHECK_INTERVAL == 0 {
                    self.check_saturated();
                }
                continue;
            }
            if self.wake_deferred() {
                continue;
            }
            if let Some(t) = self.steal_work() {
                self.run_task(t);
                continue;
            }
            self.park();
            // The tick the polls record (the task dump): on waking, and at
            // each maintenance tick.
            self.rt.refresh_thread_tick(Some(self.index));
        }
    }

    /// Defers a yielding task's wake (see `context::defer_yield`).
    pub(crate) fn defer(&self, waker: &std::task::Waker) {
        // No de-duplication: a second wake of a notified task is a no-op.
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Queues a task that yielded until `wake_deferred`.
    pub(crate) fn defer_task(&self, task: Notified) {
        self.deferred_tasks.borrow_mut().push(task);
    }

    /// Wakes the deferred tasks (onto this worker's queue). True if any.
    fn wake_deferred(&self) -> bool {
        let tasks = !self.deferred_tasks.borrow().is_empty();
        if tasks {
            let mut q = self.deferred_tasks.borrow_mut();
            // In yield order, to the back of the queue.
            for t in q.drain(..) {
                self.run_queue.push(t);
            }
        }
        if self.deferred.borrow().is_empty() {
            if tasks && self.should_notify_others(1) {
                self.mt().notify_parked();
            }
            return tasks;
        }
        let mut wakers = std::mem::take(&mut *self.deferred_spare.borrow_mut());
        std::mem::swap(&mut wakers, &mut *self.deferred.borrow_mut());
        // To the back of the queue, not the LIFO slot.
        self.in_driver.set(true);
        for w in wakers.drain(..) {
            w.wake();
        }
        self.in_driver.set(false);
        if self.should_notify_others(1) {
            self.mt().notify_parked();
        }
        // Keep the capacity for the next round.
        *self.deferred_spare.borrow_mut() = wakers;
        true
    }

    /// Every `DRIVER_POLL_INTERVAL` ticks: poll the ring and the wheel
    /// without blocking, and release the tasks that yielded (tokio's rule:
    /// deferred tasks go back to the queue at each driver poll, not only
    /// when the worker runs dry, so a task that keeps waking itself cannot
    /// starve them).
    fn maintenance(&self) {
        self.rt.refresh_thread_tick(Some(self.index));
        self.in_driver.set(true);
        crate::driver::drive(&self.driver, |d| d.poll());
        self.timers.process();
        self.in_driver.set(false);
        self.wake_deferred();
        self.check_saturated();
    }

    /// A worker that has not run dry for `SATURATED_AFTER` does not keep
    /// up alone: it marks itself saturated and wakes a sibling to steal.
    /// (A worker that keeps up parks often and is helped by nobody, so
    /// the connections it serves stay on its ring.)
    fn check_saturated(&self) {
        if !self.should_notify_others(1) {
            return;
        }
        let saturated = &self.mt().remotes[self.index].saturated;
        if !saturated.load(Ordering::Relaxed) {
            // The clock is read only until the worker is saturated (then
            // not again before it parks).
            if self.busy_since.get().elapsed() < SATURATED_AFTER {
                return;
            }
            saturated.store(true, Ordering::Relaxed);
        }
        self.mt().notify_parked();
    }

    fn next_task(&self, tick: u32) -> Option<Notified> {
        let mt = self.mt();
        if tick % GLOBAL_QUEUE_INTERVAL == 0 {
            // A batch, not one task: under load from local work the
            // injector must still drain at a useful rate.
            if let Some(t) = mt.inject.pop_into(&self.run_queue) {
                return Some(t);
            }
        }
        if let Some(t) = self.lifo.borrow_mut().take() {
            self.stats.lifo_hits.incr();
            return Some(t);
        }
        if let Some(t) = self.run_queue.pop() {
            return Some(t);
        }
        mt.inject.pop_into(&self.run_queue)
    }

    fn next_rand(&self) -> u32 {
        // xorshift32
        let mut x = self.rand.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand.set(x);
        x
    }

    fn steal_work(&self) -> Option<Notified> {
        let mt = self.mt();
        if !self.is_searching.get() {
            if !self.idle().transition_worker_to_searching() {
                return None;
            }
            self.is_searching.set(true);
        }
        let n = mt.remotes.len();
        let start = self.next_rand() as usize % n;
        for _ in 0..4 {
            let mut retry = false;
            for i in 0..n {
                let victim = (start + i) % n;
                if victim == self.index {
                    continue;
                }
                match mt.remotes[victim].steal.steal_into(&self.run_queue) {
                    Steal::Success(t) => {
                        self.stats.steals.incr();
                        self.stats.stolen_tasks.add(1 + self.run_queue.len() as u64);
                        return Some(t);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if let Some(t) = mt.inject.pop_into(&self.run_queue) {
                return Some(t);
            }
            if !retry {
                break;
            }
        }
        None
    }

    fn run_task(&self, task: Notified) {
        if self.is_searching.replace(false) && self.idle().transition_worker_from_searching() {
            // The last searcher found work: wake a sibling if more is
            // queued (what it stole beyond this task, or what was pushed
            // while it searched). Not otherwise: tokio wakes one anyway,
            // which searches, finds nothing and parks again (a wake-up
            // per injected task when one worker keeps up with the load).
            self.mt().notify_if_work_pending();
        }
        // Counted before the poll: a task's completion may wake a reader of
        // the metrics before this thread gets back here.
        self.stats.polls.incr();
        crate::scheduler::run_task(&self.rt, task);
        let mut lifo_polls = 0;
        loop {
            let Some(t) = self.lifo.borrow_mut().take() else {
                break;
            };
            if lifo_polls >= MAX_LIFO_POLLS {
                self.run_queue.push(t);
                break;
            }
            lifo_polls += 1;
            self.stats.lifo_hits.incr();
            self.stats.polls.incr();
            crate::scheduler::run_task(&self.rt, t);
        }
    }

    /// Schedules a task woken on this worker.
    pub(crate) fn schedule_local(&self, task: Notified, is_yield: bool) {
        if is_yield || self.in_driver.get() {
            self.run_queue.push(task);
        } else {
            let prev = self.lifo.borrow_mut().replace(task);
            if let Some(prev) = prev {
                self.run_queue.push(prev);
            }
        }
        // Wakes from the driver wake no sibling: the worker has just come
        // from its ring and will usually keep up; if not, it is
        // saturated within `SATURATED_AFTER` and asks for help then.
        if !self.in_driver.get() && self.should_notify_others(1) {
            self.mt().notify_parked();
        }
    }

    /// Whether to wake a sibling to steal: more than `min` tasks wait.
    fn should_notify_others(&self, min: usize) -> bool {
        if self.is_searching.get() {
            return false;
        }
        let lifo = usize::from(self.lifo.borrow().is_some());
        lifo + self.run_queue.len() > min
    }

    /// A parked worker woken by its own ring or timers with tasks to run:
    /// if a sibling is running and keeps up (not saturated, a short
    /// queue), gives it the tasks through the injector and sleeps on. The
    /// tasks' next ops then go to the sibling's ring, so the connections
    /// gather on the workers that are awake anyway, and a worker whose
    /// ring serves nobody stops being woken (io_uring completes an op
    /// only in the thread that submitted it; two rings half-serving the
    /// same load mean two threads waking for it). True if handed off.
    ///
    /// The parked worker then wakes within `SATURATED_AFTER` and takes the
    /// tasks back if they still wait (a sibling stuck in one long poll
    /// does not count itself saturated), so a hand-off delays a task by at
    /// most about that long.
    ///
    /// No wake is lost: the tasks are pushed, then (SeqCst fence) the
    /// running count is read; a sibling counted running will pop them or,
    /// parking as the last searcher, re-check the injector after its own
    /// SeqCst transition; if none is running, a sleeper is woken as for
    /// any injected task. Model-checked in `tests/loom_idle.rs`.
    fn hand_off(&self) -> bool {
        let mt = self.mt();
        let idle = self.idle();
        let keeps_up = |(i, r): (usize, &super::Remote)| {
            i != self.index
                && !r.saturated.load(Ordering::Relaxed)
                && r.steal.len() <= HAND_OFF_MAX_QUEUE
                && !idle.is_parked(i)
        };
        // Tasks handed off before and not taken yet: the sibling is not
        // keeping up after all.
        if !mt.inject.is_empty() {
            return false;
        }
        if idle.num_unparked() == 0 || !mt.remotes.iter().enumerate().any(keeps_up) {
            return false;
        }
        if let Some(t) = self.lifo.borrow_mut().take() {
            mt.inject.push(t);
        }
        while let Some(t) = self.run_queue.pop() {
            mt.inject.push(t);
        }
        fence(Ordering::SeqCst);
        if idle.num_unparked() == 0 {
            mt.notify_parked();
        }
        true
    }

    fn park(&self) {
        // One clock read for the busy time and the saturation check.
        let busy = self.busy_since.get().elapsed();
        self.stats.busy_ns.add(busy.as_nanos() as u64);
        let _busy = BusyAgain(&self.busy_since);
        // Counted when parking ends, however it ends (shutdown included).
        let _unpark = CountUnpark(&self.stats);
        let mt = self.mt();
        // Saturated until a busy spell ends within `SATURATED_AFTER` (one
        // spell of hysteresis: a loaded worker that runs dry for a moment
        // is not handed everything back at once).
        let saturated = &mt.remotes[self.index].saturated;
        if saturated.load(Ordering::Relaxed) && busy < SATURATED_AFTER {
            saturated.store(false, Ordering::Relaxed);
        }
        let was_searching = self.is_searching.replace(false);
        if self
            .idle()
            .transition_worker_to_parked(self.index, was_searching)
        {
            mt.notify_if_work_pending();
        }
        // Set after a hand-off: wake up within `SATURATED_AFTER` to check
        // that the sibling took the tasks (it may be stuck in one long
        // poll, where it does not count itself saturated).
        let mut recheck = false;
        loop {
            if mt.shutdown.load(Ordering::Acquire) {
                return;
            }
            let mut timeout = self.timers.next_timeout();
            if recheck {
                timeout = Some(timeout.map_or(SATURATED_AFTER, |t| t.min(SATURATED_AFTER)));
            }
            self.in_driver.set(true);
            // No spin after a hand-off: the sibling that took the tasks
            // needs the CPU more.
            self.stats.parks.incr();
            crate::driver::drive(&self.driver, |d| d.park(timeout, !recheck));
            self.timers.process();
            self.in_driver.set(false);
            if !self.idle().is_parked(self.index) {
                // A notifier took us off the list: we are a searcher now.
                self.is_searching.set(true);
                return;
            }
            let has_work = self.lifo.borrow().is_some() || !self.run_queue.is_empty();
            if has_work && self.hand_off() {
                recheck = true;
                continue;
            }
            // With work of our own, or tasks still waiting in the injector
            // after a hand-off: run them here.
            if has_work || (recheck && !mt.inject.is_empty()) {
                if !self.idle().unpark_worker_by_id(self.index) {
                    self.is_searching.set(true);
                }
                return;
            }
            recheck = false;
        }
    }
}

/// Ticks between saturation checks of a busy worker (a clock read until
/// it is saturated).
const SATURATION_CHECK_INTERVAL: u32 = 16;

/// Counts the end of a park.
struct CountUnpark<'a>(&'a ThreadStats);

impl Drop for CountUnpark<'_> {
    fn drop(&mut self) {
        self.0.unparks.incr();
    }
}

/// Restarts the busy clock when parking ends, however it ends.
struct BusyAgain<'a>(&'a Cell<Instant>);

impl Drop for BusyAgain<'_> {
    fn drop(&mut self) {
        self.0.set(Instant::now());
    }
}
