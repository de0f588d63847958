//! The worker loop of the multi_thread scheduler.
//!
//! Each tick: every `GLOBAL_QUEUE_INTERVAL` ticks the injector first; then
//! the LIFO slot, the local queue, the injector; then stealing (as a
//! searcher); then parking in the ring. Every `DRIVER_POLL_INTERVAL` ticks
//! a busy worker polls its ring and timer wheel without blocking, so I/O
//! and timers progress under load.

use super::idle::Idle;
use super::queue::{Local, RunQueue, Steal};
use super::{MtShared, WorkerInit, DRIVER_POLL_INTERVAL, GLOBAL_QUEUE_INTERVAL, MAX_LIFO_POLLS};
use crate::driver::Driver;
use crate::loom::sync::Arc;
use crate::rt::{Flavor, Handle, Shared};
use crate::scheduler::context;
use crate::task::Notified;
use crate::time::timers::Timers;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

/// The state of one worker, owned by its thread.
pub(crate) struct WorkerCtx {
    index: usize,
    pub(crate) rt: Arc<Shared>,
    run_queue: Local,
    lifo: RefCell<Option<Notified>>,
    /// Wakers of tasks that yielded, woken when the worker runs dry.
    deferred: RefCell<Vec<std::task::Waker>>,
    /// The other buffer of `deferred` (swapped in, so neither reallocates).
    deferred_spare: RefCell<Vec<std::task::Waker>>,
    is_searching: Cell<bool>,
    in_driver: Cell<bool>,
    tick: Cell<u32>,
    rand: Cell<u32>,
    driver: RefCell<Driver>,
    timers: Timers,
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
    let ctx = WorkerCtx {
        index,
        timers: Timers::new(rt.clock.clone()),
        rt,
        run_queue: local,
        lifo: RefCell::new(None),
        deferred: RefCell::new(Vec::new()),
        deferred_spare: RefCell::new(Vec::new()),
        is_searching: Cell::new(false),
        in_driver: Cell::new(false),
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
        }
    }

    /// Defers a yielding task's wake (see `context::defer_yield`).
    pub(crate) fn defer(&self, waker: &std::task::Waker) {
        // No de-duplication: a second wake of a notified task is a no-op.
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Wakes the deferred tasks (onto this worker's queue). True if any.
    fn wake_deferred(&self) -> bool {
        if self.deferred.borrow().is_empty() {
            return false;
        }
        let mut wakers = std::mem::take(&mut *self.deferred_spare.borrow_mut());
        std::mem::swap(&mut wakers, &mut *self.deferred.borrow_mut());
        // To the back of the queue, not the LIFO slot.
        self.in_driver.set(true);
        for w in wakers.drain(..) {
            w.wake();
        }
        self.in_driver.set(false);
        self.notify_after_drive();
        // Keep the capacity for the next round.
        *self.deferred_spare.borrow_mut() = wakers;
        true
    }

    fn maintenance(&self) {
        self.in_driver.set(true);
        crate::driver::drive(&self.driver, |d| d.poll());
        self.timers.process();
        self.in_driver.set(false);
        self.notify_after_drive();
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
                    Steal::Success(t) => return Some(t),
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
            // The last searcher found work: there may be more.
            self.mt().notify_parked();
        }
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
        // Wakes from the driver are counted once per batch, after it
        // (`notify_after_drive`): a reap that wakes 30 tasks would
        // otherwise try to wake a sibling 29 times.
        if !self.in_driver.get() && self.should_notify_others() {
            self.mt().notify_parked();
        }
    }

    /// After the driver woke tasks onto this worker: wakes a sibling to
    /// steal if more than one task is waiting (tokio does the same after
    /// its driver returns).
    fn notify_after_drive(&self) {
        if self.should_notify_others() {
            self.mt().notify_parked();
        }
    }

    fn should_notify_others(&self) -> bool {
        if self.is_searching.get() {
            return false;
        }
        let lifo = usize::from(self.lifo.borrow().is_some());
        lifo + self.run_queue.len() > 1
    }

    fn park(&self) {
        let mt = self.mt();
        let was_searching = self.is_searching.replace(false);
        if self
            .idle()
            .transition_worker_to_parked(self.index, was_searching)
        {
            mt.notify_if_work_pending();
        }
        loop {
            if mt
                .shutdown
                .load(crate::loom::sync::atomic::Ordering::Acquire)
            {
                return;
            }
            let timeout = self.timers.next_timeout();
            self.in_driver.set(true);
            crate::driver::drive(&self.driver, |d| d.park(timeout));
            self.timers.process();
            self.in_driver.set(false);
            if !self.idle().is_parked(self.index) {
                // A notifier took us off the list: we are a searcher now.
                self.is_searching.set(true);
                return;
            }
            let has_work = self.lifo.borrow().is_some() || !self.run_queue.is_empty();
            if has_work {
                if !self.idle().unpark_worker_by_id(self.index) {
                    self.is_searching.set(true);
                }
                self.notify_after_drive();
                return;
            }
        }
    }
}
