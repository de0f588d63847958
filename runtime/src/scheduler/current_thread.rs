//! The current_thread scheduler: one thread, one FIFO, asyncio's order.
//!
//! Every task of the runtime runs on the thread inside `block_on` (or
//! `run`, or shutdown), which owns the `Core` (ring and timer wheel) for
//! that time. Wakes from any thread append to the one FIFO and unpark the
//! loop (an eventfd write only when it is parked). The main future is
//! itself a task in that FIFO, so a spawned task runs exactly when its
//! spawner yields, as in asyncio. With a paused clock, an idle loop
//! advances the clock to the next timer instead of sleeping.

use super::context::{self, LocalTarget};
use crate::driver::{Driver, DriverConfig, Unparker};
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::rt::{Flavor, Handle, Shared};
use crate::task::{Notified, Task};
use crate::time::clock::Clock;
use crate::time::timers::Timers;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::time::Instant;

/// Ticks between non-blocking driver polls while busy.
const DRIVER_POLL_INTERVAL: u32 = 61;

/// The shared side of a current_thread runtime.
pub(crate) struct CtShared {
    queue: Mutex<VecDeque<Notified>>,
    /// The thread that spawned `!Send` tasks (spawn_local), if any: only
    /// it may run (and drop) this runtime's tasks from then on.
    local_owner: Mutex<Option<std::thread::ThreadId>>,
    core: Mutex<Option<Box<Core>>>,
    core_cv: Condvar,
    /// Shutdown closed the ring: the core is gone for good.
    closed: AtomicBool,
    unparker: Arc<Unparker>,
}

/// What the running thread owns: ring and wheel.
struct Core {
    driver: RefCell<Driver>,
    timers: Timers,
    enabled: bool,
}

impl fmt::Debug for CtShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtShared")
            .field("queued", &self.queue.lock().len())
            .finish()
    }
}

impl CtShared {
    pub(crate) fn new(ring: &DriverConfig, clock: Arc<Clock>) -> std::io::Result<CtShared> {
        // Not single-issuer: block_on may be called from different threads
        // over the runtime's life.
        let driver = Driver::new(ring, None, false)?;
        let unparker = driver.unparker().clone();
        Ok(CtShared {
            queue: Mutex::new(VecDeque::new()),
            local_owner: Mutex::new(None),
            core: Mutex::new(Some(Box::new(Core {
                driver: RefCell::new(driver),
                timers: Timers::new(clock),
                enabled: false,
            }))),
            core_cv: Condvar::new(),
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

    pub(crate) fn unpark_count(&self) -> u64 {
        self.unparker
            .signals_sent
            .load(crate::loom::sync::atomic::Ordering::Relaxed)
    }

    fn take_core(&self) -> Box<Core> {
        let mut g = self.core.lock();
        loop {
            if let Some(c) = g.take() {
                return c;
            }
            assert!(
                !self.closed.load(SeqCst),
                "aio: this current_thread runtime was shut down; it cannot run futures any more"
            );
            self.core_cv.wait(&mut g);
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
        *self.ct.core.lock() = self.core.take();
        self.ct.core_cv.notify_one();
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

/// Runs `f` as a task in the FIFO until it completes.
pub(crate) fn block_on<F: Future>(
    handle: &Handle,
    f: F,
    name: Option<&str>,
    at: &'static Location<'static>,
) -> Result<F::Output, crate::task::TaskError> {
    let shared = handle.shared();
    let ct = ct(shared);
    if let Some(owner) = *ct.local_owner.lock() {
        assert_eq!(
            owner,
            std::thread::current().id(),
            "this current_thread runtime has spawn_local (!Send) tasks bound to another thread: \
             call block_on only from the thread that spawned them"
        );
    }
    let _enter = context::enter_runtime(
        handle.clone(),
        Some(LocalTarget::CurrentThread(shared.clone())),
    );
    let mut guard = CoreGuard {
        ct,
        core: Some(ct.take_core()),
    };
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
    let main = super::local::spawn_main(f, name, at, |f, name, at| {
        // SAFETY: the loop below polls the main task on this thread until
        // it is done (its future dropped) before this function returns;
        // `spawn_main` aborts if that cannot be guaranteed.
        unsafe { shared.spawn_unchecked(f, name, at) }
    });
    let mut main = main.run_until_done(|main| drive(shared, ct, core, || main.is_done(), None));
    main.result()
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
    let mut guard = CoreGuard {
        ct,
        core: Some(ct.take_core()),
    };
    let core: &Core = guard.core.as_ref().expect("core present");
    let io = context::set_io(
        Some(NonNull::from(&core.timers)),
        Some(NonNull::from(&core.driver)),
    );
    drive(
        shared,
        ct,
        core,
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
    ct.core_cv.notify_all();
}

fn drive(
    shared: &Shared,
    ct: &CtShared,
    core: &Core,
    mut until: impl FnMut() -> bool,
    deadline: Option<Instant>,
) {
    loop {
        if until() {
            return;
        }
        let mut ran = 0;
        while ran < DRIVER_POLL_INTERVAL {
            let next = ct.queue.lock().pop_front();
            let Some(task) = next else { break };
            super::run_task(shared, task);
            ran += 1;
            if until() {
                return;
            }
        }
        if ran == DRIVER_POLL_INTERVAL {
            crate::driver::drive(&core.driver, |d| d.poll());
            core.timers.process();
            continue;
        }
        park(shared, ct, core, deadline);
    }
}

fn park(shared: &Shared, ct: &CtShared, core: &Core, deadline: Option<Instant>) {
    let clock = &shared.clock;
    if clock.is_paused() {
        if shared.blocking.in_flight() > 0 {
            // Blocking work may still produce results: wait for it in real
            // time, with the virtual clock standing still.
            crate::driver::drive(&core.driver, |d| d.park(None, true));
            core.timers.process();
            return;
        }
        if let Some(at) = core.timers.next_instant() {
            // Every task is idle: jump the virtual clock to the next timer.
            crate::driver::drive(&core.driver, |d| d.poll());
            if ct.queue.lock().is_empty() {
                clock.advance_to(at);
            }
            core.timers.process();
            return;
        }
    }
    let mut timeout = core.timers.next_timeout();
    if let Some(d) = deadline {
        let left = d.saturating_duration_since(Instant::now());
        timeout = Some(timeout.map_or(left, |t| t.min(left)));
    }
    crate::driver::drive(&core.driver, |d| d.park(timeout, true));
    core.timers.process();
}
