//! `Runtime` and `aio::run`: running a main future and shutting down.
//!
//! Shutdown, in order (also on drop):
//! 1. close the registry: new spawns are cancelled at once;
//! 2. cancel every live task; workers drop their futures (so destructors
//!    run on a worker) — wait until none is left or the timeout passes;
//! 3. in-flight ring operations complete or are cancelled before a ring
//!    is closed (each worker closes its own ring when it exits, step 5);
//! 4. stop and join the blocking pool, within the timeout;
//! 5. stop and join the workers.

use super::exception::ExceptionContext;
use super::{Flavor, Handle, Shared};
use crate::loom::sync::Arc;
use crate::scheduler::{current_thread, local};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// How long `run` and `Drop` wait for cancelled tasks and blocking work.
const DEFAULT_SHUTDOWN: Duration = Duration::from_secs(10);

/// A runtime: its workers, rings, timer wheels and blocking pool.
///
/// # Examples
///
/// ```
/// let rt = aio::runtime::Runtime::new().unwrap();
/// let out = rt.block_on(async {
///     let t = aio::spawn(async { "hi" });
///     t.await.unwrap()
/// });
/// assert_eq!(out, "hi");
/// ```
pub struct Runtime {
    handle: Handle,
    shut_down: bool,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.handle.fmt(f)
    }
}

/// Runs `f` to completion on a new default (multi_thread) runtime, then
/// cancels every task left over, joins the blocking pool and closes the
/// rings (asyncio's `run`). `f` runs as the task named "main" on the
/// calling thread, so it need not be `Send`.
///
/// # Panics
/// Panics with "aio::run() cannot be called from a running runtime" when
/// nested; panics if io_uring is refused (the message says why); resumes a
/// panic of `f`.
///
/// # Examples
///
/// ```
/// let v = aio::run(async {
///     let t = aio::create_task(async { 300 });
///     t.await.unwrap()
/// });
/// assert_eq!(v, 300);
/// ```
#[track_caller]
pub fn run<F: IntoFuture>(f: F) -> F::Output {
    let at = std::panic::Location::caller();
    if crate::scheduler::context::is_entered() {
        panic!("aio::run() cannot be called from a running runtime");
    }
    let rt = super::Builder::new_multi_thread()
        .build()
        .unwrap_or_else(|e| panic!("aio::run: could not start the runtime: {e}"));
    rt.run_at(f, at)
}

impl Runtime {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Runtime {
        Runtime {
            handle: Handle::from_shared(shared),
            shut_down: false,
        }
    }

    /// A default multi_thread runtime.
    ///
    /// # Errors
    /// When io_uring is refused; see [`Builder::build`](super::Builder::build).
    pub fn new() -> std::io::Result<Runtime> {
        super::Builder::new_multi_thread().build()
    }

    /// Runs `f` as the task "main" on this thread, then shuts down
    /// (asyncio's `run` on a configured runtime).
    ///
    /// On the process's main thread, if SIGINT has its default disposition,
    /// Ctrl-C cancels the main task and, after shutdown, the process exits
    /// with status 130 (a second Ctrl-C kills at once), as with
    /// `asyncio.run` and `KeyboardInterrupt` — unless the application
    /// listens to SIGINT itself (`aio::signal::ctrl_c`, a SIGINT `Signal`
    /// or handler), which then gets it instead.
    ///
    /// # Panics
    /// Resumes a panic of `f`; panics if `f`'s task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.run(async { 5 }), 5);
    /// ```
    #[track_caller]
    pub fn run<F: IntoFuture>(self, f: F) -> F::Output {
        self.run_at(f, std::panic::Location::caller())
    }

    fn run_at<F: IntoFuture>(
        mut self,
        f: F,
        at: &'static std::panic::Location<'static>,
    ) -> F::Output {
        let f = f.into_future();
        #[cfg(not(loom))]
        let sigint = super::signal::SigintGuard::install();
        #[cfg(not(loom))]
        let target = sigint.as_ref().map(|g| g.target.clone());
        let main = async move {
            #[cfg(not(loom))]
            if let Some(t) = target {
                *t.lock() = crate::task::current();
            }
            f.await
        };
        let out = catch_unwind(AssertUnwindSafe(|| {
            self.enter_block_on(main, Some("main"), at)
        }));
        self.shutdown_inner(DEFAULT_SHUTDOWN);
        #[cfg(not(loom))]
        if sigint.is_some_and(|g| {
            g.interrupted
                .load(crate::loom::sync::atomic::Ordering::Acquire)
        }) {
            // As Python does after KeyboardInterrupt: 128 + SIGINT.
            std::process::exit(130);
        }
        match out {
            Ok(out) => local::main_output(out),
            Err(p) => resume_unwind(p),
        }
    }

    /// Runs `f` to completion on this thread (asyncio's
    /// `run_until_complete`): other tasks keep running afterwards. On a
    /// multi_thread runtime the `spawn_local` tasks of this call are
    /// cancelled when it returns (no other thread can run them); on a
    /// current_thread runtime every task, local or not, waits for the next
    /// `block_on` or for shutdown.
    ///
    /// On a multi_thread runtime the calling thread drives its own I/O
    /// (an io_uring ring, or an epoll instance), and keeps its ring for
    /// its next call (the four threads whose calls returned last do), so
    /// calling `block_on` in a loop costs no ring setup per call.
    ///
    /// # Panics
    /// Panics when called from inside a runtime; resumes a panic of `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 1 }), 1);
    /// assert_eq!(rt.block_on(async { 2 }), 2);
    /// ```
    #[track_caller]
    pub fn block_on<F: IntoFuture>(&self, f: F) -> F::Output {
        local::main_output(self.enter_block_on(
            f.into_future(),
            None,
            std::panic::Location::caller(),
        ))
    }

    fn enter_block_on<F: Future>(
        &self,
        f: F,
        name: Option<&str>,
        at: &'static std::panic::Location<'static>,
    ) -> Result<F::Output, crate::task::TaskError> {
        match &self.handle.shared().flavor {
            Flavor::CurrentThread(_) => current_thread::block_on(&self.handle, f, name, at),
            Flavor::MultiThread(_) => local::block_on(&self.handle, f, name, at),
        }
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Shuts down, waiting up to `timeout` for cancelled tasks to finish
    /// and for blocking work; see the module docs for the steps.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// rt.handle().spawn(std::future::pending::<()>());
    /// rt.shutdown(Duration::from_secs(1));
    /// ```
    pub fn shutdown(mut self, timeout: Duration) {
        self.shutdown_inner(timeout)
    }

    fn shutdown_inner(&mut self, timeout: Duration) {
        if self.shut_down {
            return;
        }
        // A timeout past what `Instant` holds (`Duration::MAX`: "as long
        // as it takes") waits about 30 years.
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(|| crate::time::Instant::far_future().into_std());
        self.shut_down = true;
        let shared = self.handle.shared().clone();
        // Signal handlers of this runtime go (their signals' previous
        // dispositions come back if nobody else listens).
        #[cfg(not(loom))]
        crate::signal::registry::remove_runtime(&shared);
        // 1 + 2: no new tasks; cancel the live ones.
        let live = shared.registry.close();
        // Debug mode: the task dump of what is left, one report each
        // (state, age, polls, last poll, worker, spawn location).
        let now = shared.clock.now_ms() as u32;
        for t in &live {
            if shared.config.debug && !shared.call_soon.is_runner(t.id()) {
                shared.call_exception_handler(&ExceptionContext::new(format!(
                    "Task cancelled at shutdown: {:#}",
                    t.info(now)
                )));
            }
            t.cancel();
        }
        drop(live);
        match &shared.flavor {
            Flavor::CurrentThread(_) => current_thread::drive_shutdown(&self.handle, deadline),
            Flavor::MultiThread(mt) => mt.wait_tasks_done(&shared, deadline),
        }
        // Callbacks never run are dropped (asyncio's close clears its
        // ready queue); one holding a `Handle` would keep this runtime.
        shared.call_soon.clear();
        // 3 happens as each worker closes its ring (step 5).
        // 4: the blocking pool.
        shared
            .blocking
            .shutdown(deadline.saturating_duration_since(Instant::now()));
        // 5: the workers.
        if let Flavor::MultiThread(mt) = &shared.flavor {
            mt.shutdown_workers();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Still stop the threads, but do not wait for tasks.
            self.shutdown_inner(Duration::ZERO);
        } else {
            self.shutdown_inner(DEFAULT_SHUTDOWN);
        }
    }
}
