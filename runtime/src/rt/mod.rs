//! The runtime: what `Builder` builds, what a `Handle` points at, and the
//! shutdown sequence.
//!
//! `Shared` is the one allocation per runtime that every task, worker and
//! handle points at: the scheduler flavor, the registry of live tasks, the
//! blocking pool, the clock, the call_soon queue and the configuration.
//! `Runtime` owns the threads and performs shutdown.

pub(crate) mod builder;
pub(crate) mod call_soon;
mod driver;
pub(crate) mod exception;
mod handle;
mod metrics;
mod runtime;
#[cfg(not(loom))]
mod signal;
#[cfg(feature = "tracing")]
pub(crate) mod trace;

pub use builder::Builder;
pub use call_soon::{CallbackHandle, TimerHandle};
pub use driver::Driver;
pub use exception::ExceptionContext;
pub use handle::{Handle, NoRuntime};
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use runtime::{run, Runtime};

use crate::blocking::Pool;
use crate::loom::sync::Arc;
use crate::scheduler::{current_thread, multi_thread};
use crate::task::raw::{Cell, Extras, TaskPtr};
use crate::task::registry::Registry;
use crate::task::{Notified, Schedule, Task, TaskId};
use crate::time::clock::Clock;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::time::Duration;

/// The exception handler type.
pub(crate) type ExceptionHandler = Arc<dyn Fn(&ExceptionContext) + Send + Sync + 'static>;

/// Settings fixed at build time.
pub(crate) struct Config {
    pub(crate) debug: bool,
    pub(crate) slow_poll_threshold: Duration,
    pub(crate) exception_handler: ExceptionHandler,
    pub(crate) thread_name: String,
    /// The driver every thread of the runtime uses (workers, the
    /// current_thread loop, `block_on` threads).
    pub(crate) driver: crate::driver::DriverConfig,
}

/// Which scheduler runs this runtime's tasks.
#[allow(
    clippy::large_enum_variant,
    reason = "one per runtime, inside an Arc; no indirection on the hot path"
)]
pub(crate) enum Flavor {
    CurrentThread(current_thread::CtShared),
    MultiThread(multi_thread::MtShared),
}

/// Everything a runtime's tasks and threads share.
///
/// Aligned to 128 bytes (two cache lines, as crossbeam's `CachePadded` on
/// x86-64) so that in its `Arc` the reference counts, which every spawn
/// and every task's free change, sit on lines of their own, away from the
/// fields the workers write (the idle set, the inject queue).
#[repr(align(128))]
pub(crate) struct Shared {
    pub(crate) flavor: Flavor,
    pub(crate) registry: Registry,
    pub(crate) blocking: Pool,
    pub(crate) clock: Arc<Clock>,
    pub(crate) config: Config,
    pub(crate) call_soon: call_soon::CallSoon,
    /// The local executors of threads inside `block_on` (multi_thread),
    /// so that `all_tasks()` sees their tasks from any thread.
    pub(crate) locals: crate::loom::sync::Mutex<Vec<Arc<crate::scheduler::local::LocalShared>>>,
    /// Every scheduler thread's counters (`Handle::metrics`).
    pub(crate) stats: Arc<crate::stats::StatsRegistry>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flavor = match self.flavor {
            Flavor::CurrentThread(_) => "current_thread",
            Flavor::MultiThread(_) => "multi_thread",
        };
        f.debug_struct("Runtime")
            .field("flavor", &flavor)
            .field("live_tasks", &self.registry.len())
            .finish()
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notified, is_yield: bool) {
        match &self.flavor {
            Flavor::CurrentThread(ct) => ct.schedule(task),
            Flavor::MultiThread(mt) => mt.schedule(self, task, is_yield),
        }
    }

    fn release(&self, task: TaskPtr) -> bool {
        self.registry.remove(task)
    }

    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>) {
        self.call_soon_boxed(f)
    }

    fn report(&self, ctx: &ExceptionContext) {
        self.call_exception_handler(ctx)
    }

    fn is_shutting_down(&self) -> bool {
        self.registry.is_closed()
    }

    fn defer(&self, task: Notified) -> Option<Notified> {
        match &self.flavor {
            Flavor::MultiThread(_) => crate::scheduler::context::with_worker(|w| match w {
                Some(w) if Arc::ptr_eq(&w.rt, self) => {
                    w.defer_task(task);
                    None
                }
                _ => Some(task),
            }),
            Flavor::CurrentThread(_) => Some(task),
        }
    }
}

impl Shared {
    /// This runtime's clock in milliseconds (the dump's unit): this thread's copy if it runs the
    /// runtime (no clock read), else the clock's.
    #[inline]
    pub(crate) fn tick(&self) -> u32 {
        crate::task::info::thread_tick(self as *const Shared as usize)
            .unwrap_or_else(|| self.clock.now_ms() as u32)
    }

    /// The live tasks (the `block_on` threads' included, loop internals
    /// not), in id order.
    pub(crate) fn live_tasks(&self) -> Vec<crate::task::TaskRef> {
        let mut all = self.registry.snapshot();
        let locals = self.locals.lock().clone();
        for l in locals {
            all.extend(l.registry.snapshot());
        }
        all.retain(|t| !self.call_soon.is_runner(t.id()));
        all.sort_by_key(|t| t.id());
        all
    }

    /// The task dump: the live tasks' info at this moment.
    pub(crate) fn dump(&self) -> Vec<crate::task::TaskInfo> {
        let now = self.clock.now_ms() as u32;
        self.live_tasks().iter().map(|t| t.info(now)).collect()
    }

    /// Refreshes this scheduler thread's copy of the clock tick (on waking
    /// and at each maintenance tick); `worker`: its index, if a worker.
    pub(crate) fn refresh_thread_tick(&self, worker: Option<usize>) {
        crate::task::info::set_thread_tick(
            self as *const Shared as usize,
            self.clock.now_ms(),
            worker,
        );
    }

    /// Spawns a `Send` task onto this runtime's scheduler.
    #[track_caller]
    pub(crate) fn spawn<F>(self: &Arc<Self>, f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(f, None, Location::caller())
    }

    pub(crate) fn spawn_with<F>(
        self: &Arc<Self>,
        f: F,
        name: Option<Arc<str>>,
        at: &'static Location<'static>,
    ) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // SAFETY: `F: Send`, so the task may run on any worker.
        unsafe { self.spawn_unchecked(f, name, at) }
    }

    /// Spawns a task of any future on this runtime's scheduler.
    ///
    /// # Safety
    /// If `F` or its output is `!Send`, the caller guarantees every poll and
    /// the drop of the future happen on the current thread (current_thread
    /// runtime, inside its loop). If `F` is not `'static`, the caller
    /// guarantees the future is dropped before what it borrows.
    pub(crate) unsafe fn spawn_unchecked<F: Future>(
        self: &Arc<Self>,
        f: F,
        name: Option<Arc<str>>,
        at: &'static Location<'static>,
    ) -> Task<F::Output> {
        let (task, notified) = spawn_into(
            f,
            self.clone(),
            &self.registry,
            name,
            Some(at),
            self.config.debug,
            self.tick(),
        );
        if let Some(n) = notified {
            self.schedule(n, false);
        }
        task
    }

    /// Lets a parked current_thread loop re-check its state (e.g. whether
    /// a paused clock may auto-advance now).
    pub(crate) fn wake_scheduler(&self) {
        if let Flavor::CurrentThread(ct) = &self.flavor {
            ct.unpark();
        }
    }

    /// Queues a callback on the call_soon queue.
    pub(crate) fn call_soon_boxed(self: &Arc<Self>, f: Box<dyn FnOnce() + Send + 'static>) {
        self.call_soon.push(self, f, None);
    }

    /// Calls the exception handler, containing a panic in it.
    pub(crate) fn call_exception_handler(&self, ctx: &ExceptionContext) {
        #[cfg(feature = "tracing")]
        trace::exception(ctx);
        let h = &self.config.exception_handler;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(ctx))).is_err() {
            eprintln!(
                "aio: the exception handler panicked while handling: {}",
                ctx.message()
            );
        }
    }

    /// Reports a poll or callback that took longer than the threshold.
    pub(crate) fn report_slow(&self, what: std::fmt::Arguments<'_>, took: Duration) {
        let msg = format!("Executing {what} took {:.3} seconds", took.as_secs_f64());
        self.call_exception_handler(&ExceptionContext::new(msg));
    }
}

/// Allocates a task for scheduler `S`, registers it, and returns its
/// handle plus its first notification (`None` if the registry is closed:
/// the task was then cancelled and its future dropped right here). `at`
/// (the spawn location) is kept with the task when `record_at` (debug
/// mode); the tracing span gets it either way.
pub(crate) fn spawn_into<F, S>(
    f: F,
    sched: S,
    registry: &Registry,
    name: Option<Arc<str>>,
    at: Option<&'static Location<'static>>,
    record_at: bool,
    spawn_tick: u32,
) -> (Task<F::Output>, Option<Notified>)
where
    F: Future,
    S: Schedule,
{
    let id = TaskId::next();
    #[cfg(feature = "tracing")]
    let f = crate::rt::trace::instrument(f, id, name.as_deref(), at);
    let at = at.filter(|_| record_at);
    let extras = (name.is_some() || at.is_some()).then(|| {
        Box::new(Extras {
            name,
            spawned_at: at,
            ..Default::default()
        })
    });
    // The task runs in a copy of the spawner's context (asyncio semantics).
    let ctx = crate::context::capture();
    // Three references: the notification, the handle, the registry.
    let ptr = Cell::allocate(f, sched, id, extras, ctx, 3, spawn_tick);
    let task = Task::from_raw(ptr);
    let notified = Notified::from_raw(ptr);
    if registry.insert(ptr) {
        return (task, Some(notified));
    }
    // Shutdown has begun: no new work. Release the registry's reference,
    // cancel, and run the notification so the future is dropped now.
    // SAFETY: `ptr` is live (we hold two references).
    unsafe { ptr.header() }.state.ref_dec();
    task.cancel();
    notified.run();
    (task, None)
}
