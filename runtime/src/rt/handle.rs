//! `Handle`: a cheap, cloneable reference to a running runtime.

use super::call_soon::CallbackHandle;
use super::exception::ExceptionContext;
use super::Shared;
use crate::loom::sync::Arc;
use crate::task::Task;
use std::fmt;
use std::future::Future;

/// A reference to a runtime, to spawn onto it from anywhere.
///
/// # Examples
///
/// ```
/// let rt = aio::runtime::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let t = std::thread::spawn(move || {
///     let task = handle.spawn(async { 6 * 7 });
///     task
/// }).join().unwrap();
/// assert_eq!(rt.block_on(t).unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// The error of [`Handle::try_current`] outside a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRuntime(());

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no running aio runtime on this thread")
    }
}

impl std::error::Error for NoRuntime {}

impl Handle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The runtime running on this thread.
    ///
    /// # Panics
    /// Panics with "no running aio runtime" outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let h = aio::runtime::Handle::current();
    ///     assert_eq!(h.spawn(async { 1 }).await.unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(_) => panic!(
                "no running aio runtime: call this inside aio::run, #[aio::main], \
                 Runtime::block_on, or a task"
            ),
        }
    }

    /// The runtime running on this thread, or an error.
    ///
    /// # Errors
    /// [`NoRuntime`] outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(aio::runtime::Handle::try_current().is_err());
    /// aio::run(async { assert!(aio::runtime::Handle::try_current().is_ok()) });
    /// ```
    pub fn try_current() -> Result<Handle, NoRuntime> {
        crate::scheduler::context::try_handle().ok_or(NoRuntime(()))
    }

    /// Spawns a task on this runtime, from any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// let t = rt.handle().spawn(async { "done" });
    /// assert_eq!(rt.block_on(t).unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(f)
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// let t = rt.handle().spawn_blocking(|| 2 + 2);
    /// assert_eq!(rt.block_on(t).unwrap(), 4);
    /// ```
    pub fn spawn_blocking<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::blocking::spawn_blocking(&self.shared, f)
    }

    /// Schedules `f` to run soon on this runtime (asyncio's `call_soon`).
    ///
    /// Callbacks of one runtime run one at a time, in the order they were
    /// scheduled. A panic in `f` goes to the exception handler as
    /// "Exception in callback".
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let order = Arc::new(Mutex::new(Vec::new()));
    /// let o = order.clone();
    /// aio::run(async move {
    ///     let h = aio::runtime::Handle::current();
    ///     for i in 0..3 {
    ///         let o = o.clone();
    ///         h.call_soon(move || o.lock().unwrap().push(i));
    ///     }
    ///     while o.lock().unwrap().len() < 3 { aio::task::yield_now().await; }
    /// });
    /// assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
    /// ```
    pub fn call_soon(&self, f: impl FnOnce() + Send + 'static) -> CallbackHandle {
        let (handle, state) = CallbackHandle::new();
        self.shared
            .call_soon
            .push(&self.shared, Box::new(f), Some(state));
        handle
    }

    /// Schedules `f` to run after `delay` (asyncio's `call_later`); like
    /// `call_soon` once due. Callbacks due in the same timer tick (250 µs) run in
    /// an unspecified order.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// let order = Arc::new(Mutex::new(Vec::new()));
    /// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// let o = order.clone();
    /// rt.block_on(async move {
    ///     let h = aio::runtime::Handle::current();
    ///     let (a, b) = (o.clone(), o.clone());
    ///     h.call_later(Duration::from_millis(200), move || a.lock().unwrap().push("0.2"));
    ///     h.call_later(Duration::from_millis(100), move || b.lock().unwrap().push("0.1"));
    ///     aio::sleep(Duration::from_millis(300)).await;
    /// });
    /// assert_eq!(*order.lock().unwrap(), ["0.1", "0.2"]);
    /// ```
    pub fn call_later(
        &self,
        delay: std::time::Duration,
        f: impl FnOnce() + Send + 'static,
    ) -> super::call_soon::TimerHandle {
        // This runtime's clock (virtual if paused), wherever the caller is.
        let when = crate::time::Instant::from_std(self.shared().clock.now())
            .checked_add(delay)
            .unwrap_or_else(crate::time::Instant::far_future);
        self.call_at(when, f)
    }

    /// Schedules `f` to run at `when` (asyncio's `call_at`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// aio::run(async {
    ///     let (tx, rx) = std::sync::mpsc::channel();
    ///     let at = aio::time::Instant::now() + Duration::from_millis(5);
    ///     aio::runtime::Handle::current().call_at(at, move || tx.send(()).unwrap());
    ///     aio::to_thread(move || rx.recv().unwrap()).await;
    ///     assert!(aio::time::Instant::now() >= at);
    /// });
    /// ```
    pub fn call_at(
        &self,
        when: crate::time::Instant,
        f: impl FnOnce() + Send + 'static,
    ) -> super::call_soon::TimerHandle {
        let (handle, state) = CallbackHandle::new();
        let rt = self.shared.clone();
        let timer = self.shared.spawn(async move {
            crate::time::sleep_until(when).await;
            rt.call_soon.push(&rt, Box::new(f), Some(state));
        });
        super::call_soon::TimerHandle::new(handle, when, timer.task_ref())
    }

    /// Calls `callback` on this runtime each time the signal `signum`
    /// (`libc::SIGUSR1`, …) is delivered (asyncio's
    /// `loop.add_signal_handler`): scheduled like a
    /// [`call_soon`](Self::call_soon), in the context current now. A
    /// second call for the same signal replaces this runtime's callback.
    /// Several runtimes, and `Signal` streams, may listen to one signal:
    /// each gets every delivery (deliveries that come before the callback
    /// ran coalesce). The signal's previous disposition comes back when
    /// its last listener goes ([`remove_signal_handler`](Self::remove_signal_handler),
    /// or this runtime shutting down). A handler for SIGINT takes Ctrl-C
    /// from `aio::run`, which would otherwise cancel the main task.
    ///
    /// # Errors
    /// `InvalidInput` for a number that is not a signal or one that may
    /// not be handled (SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV); the OS
    /// error if the handler cannot be installed.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let h = aio::runtime::Handle::current();
    ///     let (tx, rx) = aio::sync::oneshot::channel();
    ///     let tx = std::sync::Mutex::new(Some(tx));
    ///     h.add_signal_handler(libc::SIGUSR1, move || {
    ///         if let Some(tx) = tx.lock().unwrap().take() {
    ///             let _ = tx.send("got SIGUSR1");
    ///         }
    ///     })?;
    ///     // SAFETY: sending a signal to ourselves.
    ///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
    ///     assert_eq!(rx.await.unwrap(), "got SIGUSR1");
    ///     assert!(h.remove_signal_handler(libc::SIGUSR1));
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    #[cfg(not(loom))]
    pub fn add_signal_handler(
        &self,
        signum: i32,
        callback: impl Fn() + Send + Sync + 'static,
    ) -> std::io::Result<()> {
        crate::signal::registry::add_callback(signum, self, Arc::new(callback))
    }

    /// Removes this runtime's callback for `signum`; returns whether there
    /// was one (asyncio's `loop.remove_signal_handler`).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let h = aio::runtime::Handle::current();
    ///     assert!(!h.remove_signal_handler(libc::SIGUSR2));
    ///     h.add_signal_handler(libc::SIGUSR2, || {}).unwrap();
    ///     assert!(h.remove_signal_handler(libc::SIGUSR2));
    ///     assert!(!h.remove_signal_handler(libc::SIGUSR2));
    /// });
    /// ```
    #[cfg(not(loom))]
    pub fn remove_signal_handler(&self, signum: i32) -> bool {
        crate::signal::registry::remove_callback(signum, &self.shared)
    }

    /// Whether debug mode is on (`Builder::debug`, or `AIO_DEBUG=1`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().debug(true).build().unwrap();
    /// assert!(rt.handle().is_debug());
    /// ```
    pub fn is_debug(&self) -> bool {
        self.shared.config.debug
    }

    /// Passes `ctx` to this runtime's exception handler.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let h = aio::runtime::Handle::current();
    ///     // The default handler prints one line to stderr.
    ///     h.call_exception_handler(&aio::runtime::ExceptionContext::from_message("hello"));
    /// });
    /// ```
    pub fn call_exception_handler(&self, ctx: &ExceptionContext) {
        self.shared.call_exception_handler(ctx)
    }

    /// The driver's syscalls so far in this runtime: `io_uring_enter` calls
    /// of its rings, or `epoll_wait` calls of its epoll instances (see
    /// [`driver`](Self::driver)). A debug counter for measuring syscalls per
    /// request.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// let before = rt.handle().io_uring_enters();
    /// rt.block_on(aio::sleep(std::time::Duration::from_millis(1)));
    /// assert!(rt.handle().io_uring_enters() > before); // parking enters the driver
    /// ```
    pub fn io_uring_enters(&self) -> u64 {
        self.shared.stats.enters()
    }

    /// The runtime's counters and gauges, live: per worker (polls, parks,
    /// steals, driver syscalls, …) and runtime-wide (tasks alive, queue
    /// depths, the blocking pool). See [`RuntimeMetrics`](super::RuntimeMetrics).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// let m = rt.handle().metrics();
    /// rt.block_on(async { aio::spawn(async {}).await.unwrap() });
    /// assert!((0..m.num_workers()).map(|i| m.worker(i).polls()).sum::<u64>() >= 1);
    /// ```
    pub fn metrics(&self) -> super::RuntimeMetrics {
        super::RuntimeMetrics::new(self.shared.clone())
    }

    /// The task dump of this runtime, from any thread: every live task's
    /// id, name, state, age, polls, time since its last poll, spawn
    /// location (debug mode) and last worker, in id order. See
    /// [`TaskInfo`](crate::task::TaskInfo).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::task::TaskState;
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// let t = rt.handle().spawn(std::future::pending::<()>());
    /// let dump = rt.handle().dump();
    /// assert_eq!(dump.len(), 1);
    /// assert_eq!(dump[0].id(), t.id());
    /// assert_eq!(dump[0].state(), TaskState::Scheduled); // not polled yet
    /// assert_eq!(dump[0].polls(), 0);
    /// ```
    pub fn dump(&self) -> Vec<crate::task::TaskInfo> {
        self.shared.dump()
    }

    /// The I/O driver this runtime runs on: `Driver::IoUring` or
    /// `Driver::Epoll` (never `Auto`: it reports what `Auto` chose).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::runtime::Driver;
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// assert!(matches!(rt.handle().driver(), Driver::IoUring | Driver::Epoll));
    /// ```
    pub fn driver(&self) -> super::Driver {
        self.shared.config.driver.kind
    }

    /// Wake signals (syscalls) sent to parked workers so far: a debug
    /// counter for checking that no wake is needless.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Runtime::new().unwrap();
    /// let before = rt.handle().unpark_count();
    /// rt.block_on(async { aio::spawn(async {}).await.unwrap() });
    /// assert!(rt.handle().unpark_count() >= before);
    /// ```
    pub fn unpark_count(&self) -> u64 {
        match &self.shared.flavor {
            super::Flavor::MultiThread(mt) => mt.unpark_count(),
            super::Flavor::CurrentThread(ct) => ct.unpark_count(),
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}
