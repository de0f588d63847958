//! The current_thread scheduler: one thread, one FIFO, asyncio's order.
//!
//! Every task of the runtime runs on the thread inside `block_on` (or
//! `run`, or shutdown), which owns the `Core` (ring and timer wheel) for
//! that time. Wakes from any thread append to the one FIFO and unpark the
//! loop (an eventfd write only when it is parked). The main future is
//! itself a task in that FIFO, so a spawned task runs exactly when its
//! spawner yields, as in asyncio. With a paused clock, an idle loop
//! advances the clock to the next timer instead of sleeping.
//!
//! One thread at a time holds the core. A second caller of `block_on`
//! waits for it the way tokio's does: meanwhile it polls its own future,
//! on its own thread, whenever that future is woken, with a timer wheel
//! of its own (so it may sleep, and spawn tasks for the loop's holder to
//! run), and returns if the future completes first. Otherwise it takes
//! the core when it is given back, and its future goes on as the main task
//! of its loop; the wheel it used while waiting is driven along with the
//! core's until its `block_on` returns. While waiting there is no ring
//! (an I/O op fails: "this thread has no io_uring ring"), no
//! `spawn_local` and no current task, and a paused clock does not advance
//! for its timers.

use super::context::{self, LocalTarget};
use crate::driver::unpark::{park_condvar, CondvarSignal};
use crate::driver::{Driver, DriverConfig, Unparker};
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::{Flavor, Handle, Shared};
use crate::stats::{StatsRegistry, ThreadStats};
use crate::task::{Notified, Task};
use crate::time::clock::Clock;
use crate::time::timers::Timers;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Ticks between non-blocking driver polls while busy.
const DRIVER_POLL_INTERVAL: u32 = 61;

/// The shared side of a current_thread runtime.
pub(crate) struct CtShared {
    queue: Mutex<VecDeque<Notified>>,
    /// The thread that spawned `!Send` tasks (spawn_local), if any: only
    /// it may run (and drop) this runtime's tasks from then on.
    local_owner: Mutex<Option<std::thread::ThreadId>>,
    core: Mutex<Option<Box<Core>>>,
    /// Callers waiting for the core (see `wait_for_core`), unparked when
    /// it is given back or closed.
    core_waiters: Mutex<Vec<Arc<Unparker>>>,
    /// Shutdown closed the ring: the core is gone for good.
    closed: AtomicBool,
    unparker: Arc<Unparker>,
}

/// What the running thread owns: ring and wheel.
struct Core {
    driver: RefCell<Driver>,
    timers: Timers,
    enabled: bool,
    /// The loop's counters (worker 0's), written by the core's holder.
    stats: Arc<ThreadStats>,
}

impl fmt::Debug for CtShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtShared")
            .field("queued", &self.queue.lock().len())
            .finish()
    }
}

impl CtShared {
    /// `stats`: the runtime's counters; the loop's are worker 0's (whichever
    /// thread holds the core writes them, one at a time).
    pub(crate) fn new(
        ring: &DriverConfig,
        clock: Arc<Clock>,
        stats: &StatsRegistry,
    ) -> std::io::Result<CtShared> {
        let stats = stats.worker(0).clone();
        // Not single-issuer: block_on may be called from different threads
        // over the runtime's life.
        let driver = Driver::new(ring, None, false, stats.clone())?;
        let unparker = driver.unparker().clone();
        Ok(CtShared {
            queue: Mutex::new(VecDeque::new()),
            local_owner: Mutex::new(None),
            core: Mutex::new(Some(Box::new(Core {
                driver: RefCell::new(driver),
                timers: Timers::new(clock, stats.clone()),
                enabled: false,
                stats,
            }))),
            core_waiters: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            unparker,
        })
    }

    pub(crate) fn schedule(&self, task: Notified) {
        self.queue.lock().push_back(task);
        self.unparker.unpark();
    }

    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }

    /// Tasks waiting in the FIFO.
    pub(crate) fn queue_depth(&self) -> usize {
        self.queue.lock().len()
    }

    pub(crate) fn unpark_count(&self) -> u64 {
        self.unparker
            .signals_sent
            .load(crate::loom::sync::atomic::Ordering::Relaxed)
    }

    /// The core, if no thread holds it.
    fn try_take_core(&self) -> Option<Box<Core>> {
        let core = self.core.lock().take();
        if core.is_none() {
            assert!(
                !self.closed.load(SeqCst),
                "aio: this current_thread runtime was shut down; it cannot run futures any more"
            );
        }
        core
    }

    /// Waits for the core. Meanwhile `poll` runs on this thread at first
    /// and whenever the waker it is given is woken (its future's wakes),
    /// and `wheel`, if any, fires its timers; if `poll` is ready first, its
    /// output is the `Err`.
    ///
    /// No release is missed: the waiter is listed before each look at the
    /// core, and whoever gives the core back unparks every listed waiter
    /// after storing it (both under locks, so one of the two sees the
    /// other).
    fn wait_for_core<R>(
        &self,
        wheel: Option<&Timers>,
        mut poll: impl FnMut(&mut std::task::Context<'_>) -> Poll<R>,
    ) -> Result<Box<Core>, R> {
        if let Some(core) = self.try_take_core() {
            return Ok(core);
        }
        let signal = Arc::new(CondvarSignal::default());
        let unparker = Arc::new(Unparker::new(Box::new(signal.clone())));
        let waker = Waker::from(Arc::new(UnparkOnWake(unparker.clone())));
        let mut cx = std::task::Context::from_waker(&waker);
        self.core_waiters.lock().push(unparker.clone());
        struct Unlist<'a>(&'a CtShared, &'a Arc<Unparker>);
        impl Drop for Unlist<'_> {
            fn drop(&mut self) {
                self.0
                    .core_waiters
                    .lock()
                    .retain(|u| !Arc::ptr_eq(u, self.1));
            }
        }
        let _unlist = Unlist(self, &unparker);
        loop {
            if let Some(core) = self.try_take_core() {
                return Ok(core);
            }
            if let Poll::Ready(out) = super::coop::budget(|| poll(&mut cx)) {
                return Err(out);
            }
            let timeout = wheel.and_then(Timers::next_timeout);
            park_condvar(&unparker, &signal, timeout, false);
            if let Some(w) = wheel {
                w.process();
            }
        }
    }

    /// Gives the core back (or, at shutdown, `None`: it is gone) and wakes
    /// the callers waiting for it.
    fn release_core(&self, core: Option<Box<Core>>) {
        if let Some(core) = core {
            *self.core.lock() = Some(core);
        }
        for w in self.core_waiters.lock().iter() {
            w.unpark();
        }
    }
}

/// The waker of a caller waiting for the core: unparks it.
struct UnparkOnWake(Arc<Unparker>);

impl Wake for UnparkOnWake {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// The timer wheels a loop drives: the core's, and the one its caller
/// used while it waited for the core (until that `block_on` returns).
#[derive(Clone, Copy)]
struct Wheels<'a> {
    core: &'a Timers,
    waited: Option<&'a Timers>,
}

impl Wheels<'_> {
    fn process(self) -> usize {
        self.core.process() + self.waited.map_or(0, Timers::process)
    }

    fn next_timeout(self) -> Option<Duration> {
        let w = self.waited.and_then(Timers::next_timeout);
        match (self.core.next_timeout(), w) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn next_instant(self) -> Option<Instant> {
        let w = self.waited.and_then(Timers::next_instant);
        match (self.core.next_instant(), w) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn ct(shared: &Shared) -> &CtShared {
    match &shared.flavor {
        Flavor::CurrentThread(ct) => ct,
        Flavor::MultiThread(_) => unreachable!("a current_thread runtime"),
    }
}

/// Gives the core back when the loop ends (also on unwind).
struct CoreGuard<'a> {
    ct: &'a CtShared,
    core: Option<Box<Core>>,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        self.ct.release_core(self.core.take());
    }
}

/// Spawns a `!Send` task; called from the loop's own thread only.
pub(crate) fn spawn_local<F>(
    shared: &Arc<Shared>,
    f: F,
    name: Option<Arc<str>>,
    at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    // Bind the runtime's tasks to this thread from now on (block_on from
    // another thread panics, shutdown from another thread leaks them).
    let me = std::thread::current().id();
    let owner = *ct(shared).local_owner.lock().get_or_insert(me);
    assert_eq!(
        owner, me,
        "spawn_local on a current_thread runtime bound to another thread"
    );
    // SAFETY: the task is polled only by this runtime's loop, which from now
    // on runs only on this thread (checked at block_on), and it is dropped
    // there or never (shutdown from another thread leaks it).
    unsafe { shared.spawn_unchecked(f, name, at) }
}

/// Runs `f` as a task in the FIFO until it completes. If another thread
/// holds the core, `f` is polled here while waiting for it (see the
/// module docs).
pub(crate) fn block_on<F: Future>(
    handle: &Handle,
    f: F,
    name: Option<&str>,
    at: &'static Location<'static>,
) -> Result<F::Output, crate::task::TaskError> {
    let shared = handle.shared();
    let ct = ct(shared);
    check_local_owner(ct);
    // Pinned here, so that it can be polled while waiting for the core and
    // then run as the main task; the task drops it (see `MainFuture`).
    let mut slot = std::pin::pin!(Some(f));
    // Entered without a spawn_local target while waiting: `!Send` tasks
    // must not be bound to this thread while another one runs the loop.
    let waiting = context::enter_runtime(handle.clone(), None);
    let mut waited = None;
    let core = match ct.try_take_core() {
        Some(core) => core,
        None => {
            // A wheel of its own while it waits (not one of the runtime's
            // counted threads).
            let wheel = waited.insert(Timers::new(shared.clock.clone(), Default::default()));
            let _io = context::set_io(Some(NonNull::from(&*wheel)), None);
            match ct.wait_for_core(Some(wheel), |cx| poll_slot(slot.as_mut(), cx)) {
                Ok(core) => core,
                Err(out) => return Ok(out),
            }
        }
    };
    let mut guard = CoreGuard {
        ct,
        core: Some(core),
    };
    // Tasks may have been bound to another thread while we waited.
    check_local_owner(ct);
    drop(waiting);
    let _enter = context::enter_runtime(
        handle.clone(),
        Some(LocalTarget::CurrentThread(shared.clone())),
    );
    let core = guard.core.as_mut().expect("core present");
    if !core.enabled {
        core.driver
            .get_mut()
            .enable()
            .unwrap_or_else(|e| panic!("aio: could not enable the io_uring ring: {e}"));
        core.enabled = true;
    }
    let core: &Core = core;
    let _io = context::set_io(
        Some(NonNull::from(&core.timers)),
        Some(NonNull::from(&core.driver)),
    );
    let wheels = Wheels {
        core: &core.timers,
        waited: waited.as_ref(),
    };
    let main = super::local::spawn_main(MainFuture(slot.as_mut()), name, at, |f, name, at| {
        // SAFETY: the loop below polls the main task on this thread until
        // it is done (its future, which borrows `slot`, dropped) before
        // this function returns; `spawn_main` aborts if that cannot be
        // guaranteed.
        unsafe { shared.spawn_unchecked(f, name, at) }
    });
    let mut main =
        main.run_until_done(|main| drive(shared, ct, core, wheels, || main.is_done(), None));
    main.result()
}

/// Polls the future in `slot`, dropping it in place once it is ready.
fn poll_slot<F: Future>(
    mut slot: Pin<&mut Option<F>>,
    cx: &mut std::task::Context<'_>,
) -> Poll<F::Output> {
    let f = slot
        .as_mut()
        .as_pin_mut()
        .expect("the main future is polled after it completed");
    let out = std::task::ready!(f.poll(cx));
    slot.set(None);
    Poll::Ready(out)
}

/// The main task's future: the caller's future, pinned in `block_on`'s
/// frame. Dropping it drops that future in place, so the task drops the
/// caller's future when it completes or is cancelled, on the loop, as it
/// would drop a future it owned.
struct MainFuture<'a, F>(Pin<&'a mut Option<F>>);

impl<F: Future> Future for MainFuture<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        poll_slot(self.0.as_mut(), cx)
    }
}

impl<F> Drop for MainFuture<'_, F> {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

/// Panics if `spawn_local` bound this runtime's tasks to another thread.
fn check_local_owner(ct: &CtShared) {
    if let Some(owner) = *ct.local_owner.lock() {
        assert_eq!(
            owner,
            std::thread::current().id(),
            "this current_thread runtime has spawn_local (!Send) tasks bound to another thread: \
             call block_on only from the thread that spawned them"
        );
    }
}

/// Shutdown step 2 for current_thread: run the loop on this thread until
/// every cancelled task is done or `deadline` passes.
pub(crate) fn drive_shutdown(handle: &Handle, deadline: Instant) {
    let shared = handle.shared();
    let ct = ct(shared);
    if ct
        .local_owner
        .lock()
        .is_some_and(|o| o != std::thread::current().id())
    {
        // !Send tasks must not be polled or dropped on this thread: they are
        // leaked (their cells stay allocated), which is sound.
        return;
    }
    let _enter = context::enter_runtime_nested(
        handle.clone(),
        Some(LocalTarget::CurrentThread(shared.clone())),
    );
    let core = match ct.wait_for_core(None, |_| Poll::<std::convert::Infallible>::Pending) {
        Ok(core) => core,
        Err(never) => match never {},
    };
    let mut guard = CoreGuard {
        ct,
        core: Some(core),
    };
    let core: &Core = guard.core.as_ref().expect("core present");
    let io = context::set_io(
        Some(NonNull::from(&core.timers)),
        Some(NonNull::from(&core.driver)),
    );
    let wheels = Wheels {
        core: &core.timers,
        waited: None,
    };
    drive(
        shared,
        ct,
        core,
        wheels,
        || shared.registry.len() == 0 || Instant::now() >= deadline,
        Some(deadline),
    );
    let left = std::mem::take(&mut *ct.queue.lock());
    drop(left);
    // Step 3: close the ring now, not when the last `Handle` goes (a handle
    // a user keeps would hold the ring, its fds and every cancelled op's
    // buffer). Its drop cancels what is still in flight and waits for the
    // completions. The core is not given back: nothing runs this runtime
    // any more.
    drop(io);
    drop(guard.core.take());
    ct.closed.store(true, SeqCst);
    ct.release_core(None);
}

fn drive(
    shared: &Shared,
    ct: &CtShared,
    core: &Core,
    wheels: Wheels<'_>,
    mut until: impl FnMut() -> bool,
    deadline: Option<Instant>,
) {
    let mut busy_since = Instant::now();
    loop {
        if until() {
            return;
        }
        // Once per batch: the tick the polls below record (the task dump).
        shared.refresh_thread_tick(Some(0));
        let mut ran = 0;
        while ran < DRIVER_POLL_INTERVAL {
            let next = ct.queue.lock().pop_front();
            let Some(task) = next else { break };
            // Counted first: the task's completion may wake a reader.
            core.stats.polls.incr();
            super::run_task(shared, task);
            ran += 1;
            if until() {
                return;
            }
        }
        if ran == DRIVER_POLL_INTERVAL {
            crate::driver::drive(&core.driver, |d| d.poll());
            wheels.process();
            continue;
        }
        core.stats
            .busy_ns
            .add(busy_since.elapsed().as_nanos() as u64);
        core.stats.parks.incr();
        park(shared, ct, core, wheels, deadline);
        core.stats.unparks.incr();
        busy_since = Instant::now();
    }
}

fn park(
    shared: &Shared,
    ct: &CtShared,
    core: &Core,
    wheels: Wheels<'_>,
    deadline: Option<Instant>,
) {
    let clock = &shared.clock;
    if clock.is_paused() {
        if shared.blocking.in_flight() > 0 {
            // Blocking work may still produce results: wait for it in real
            // time, with the virtual clock standing still.
            crate::driver::drive(&core.driver, |d| d.park(None, true));
            wheels.process();
            return;
        }
        if let Some(at) = wheels.next_instant() {
            // Every task is idle: jump the virtual clock to the next timer.
            crate::driver::drive(&core.driver, |d| d.poll());
            if ct.queue.lock().is_empty() {
                clock.advance_to(at);
            }
            wheels.process();
            return;
        }
    }
    let mut timeout = wheels.next_timeout();
    if let Some(d) = deadline {
        let left = d.saturating_duration_since(Instant::now());
        timeout = Some(timeout.map_or(left, |t| t.min(left)));
    }
    crate::driver::drive(&core.driver, |d| d.park(timeout, true));
    wheels.process();
}
