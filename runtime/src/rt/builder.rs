//! `Builder`: configure and start a runtime.

use super::call_soon::CallSoon as CallSoonInit;
use super::exception::{default_handler, ExceptionContext};
use super::Driver;
use super::{Config, Flavor, Runtime, Shared};
use crate::blocking::Pool;
use crate::driver::DriverConfig;
use crate::loom::sync::Arc;
use crate::scheduler::{current_thread, multi_thread};
use crate::stats::StatsRegistry;
use crate::task::registry::Registry;
use crate::time::clock::Clock;
use std::fmt;
use std::io;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

/// Configures a runtime (tokio-style; methods take `&mut self`).
///
/// # Examples
///
/// ```
/// let rt = aio::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
///
/// # Environment
///
/// `AIO_MAX_PARK_US=n` caps how long an idle worker blocks in its ring, in
/// µs. It is a debugging aid for tools that run one thread at a time and
/// do not know that `io_uring_enter` blocks (valgrind 3.19 keeps its
/// global lock across it, so a parked worker would stop every thread);
/// leave it unset otherwise.
///
/// `AIO_PARK_SPIN_US=n` sets the default of [`park_spin`](Self::park_spin)
/// (50 µs), so a deployed server can trade wake-up latency for CPU
/// without a rebuild; an explicit `park_spin` call wins.
/// `AIO_PARK_BATCH_US=n` does the same for [`park_batch`](Self::park_batch)
/// (50 µs).
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    thread_name: String,
    ring_entries: u32,
    driver: Driver,
    park_spin: Duration,
    park_batch: Duration,
    max_blocking_threads: usize,
    thread_keep_alive: Duration,
    debug: Option<bool>,
    slow_poll_threshold: Duration,
    start_paused: bool,
    exception_handler: Option<super::ExceptionHandler>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("ring_entries", &self.ring_entries)
            .field("driver", &self.driver)
            .field("park_spin", &self.park_spin)
            .field("park_batch", &self.park_batch)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("debug", &self.debug)
            .field("start_paused", &self.start_paused)
            .finish()
    }
}

/// The most entries the kernel gives a ring (`IORING_MAX_ENTRIES`).
const RING_ENTRIES_MAX: u32 = 32768;

/// `AIO_PARK_SPIN_US`, if set to a number of µs.
fn park_spin_from_env() -> Option<Duration> {
    parse_micros(&std::env::var("AIO_PARK_SPIN_US").ok()?)
}

/// `AIO_PARK_BATCH_US`, if set to a number of µs.
fn park_batch_from_env() -> Option<Duration> {
    parse_micros(&std::env::var("AIO_PARK_BATCH_US").ok()?)
}

/// A number of µs from an environment variable's value (`AIO_*_US`).
pub(crate) fn parse_micros(v: &str) -> Option<Duration> {
    v.trim().parse().ok().map(Duration::from_micros)
}

impl Builder {
    fn new(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            thread_name: "aio-worker".into(),
            ring_entries: 256,
            driver: Driver::Auto,
            park_spin: park_spin_from_env().unwrap_or(Duration::from_micros(50)),
            park_batch: park_batch_from_env().unwrap_or(Duration::from_micros(50)),
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
            debug: None,
            slow_poll_threshold: Duration::from_millis(100),
            start_paused: false,
            exception_handler: None,
        }
    }

    /// The default flavor: per-core workers that steal from each other.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_multi_thread().build().unwrap();
    /// assert_eq!(rt.block_on(async { aio::spawn(async { 1 }).await.unwrap() }), 1);
    /// ```
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    /// One thread (the caller of `block_on`/`run`), asyncio's exact order.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// let main_thread = std::thread::current().id();
    /// let ran_on = rt.block_on(async { aio::spawn(async { std::thread::current().id() }).await.unwrap() });
    /// assert_eq!(ran_on, main_thread);
    /// ```
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    /// Number of workers (multi_thread; default: available parallelism).
    ///
    /// # Panics
    /// Panics if `n` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// Name of the worker threads (default `aio-worker`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_multi_thread().thread_name("svc-worker").build().unwrap();
    /// let name = rt.block_on(async {
    ///     aio::spawn(async { std::thread::current().name().map(String::from) }).await.unwrap()
    /// });
    /// assert_eq!(name.as_deref(), Some("svc-worker"));
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.thread_name = name.into();
        self
    }

    /// Submission queue entries per io_uring ring (default 256; the
    /// kernel takes 1 to 32768). [`build`](Self::build) refuses others
    /// with `InvalidInput` (rather than falling back to epoll as if the
    /// kernel had refused io_uring).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().ring_entries(64).build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn ring_entries(&mut self, n: u32) -> &mut Self {
        self.ring_entries = n;
        self
    }

    /// Which I/O driver to run on (default [`Driver::Auto`]: io_uring, or
    /// epoll where the kernel refuses io_uring; the environment variable
    /// `AIO_DRIVER=io_uring|epoll` overrides `Auto`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::runtime::{Builder, Driver};
    /// // A server that must run in a container whose seccomp profile
    /// // refuses io_uring, without trying it first.
    /// let rt = Builder::new_multi_thread().driver(Driver::Epoll).build().unwrap();
    /// assert_eq!(rt.handle().driver(), Driver::Epoll);
    /// ```
    pub fn driver(&mut self, driver: Driver) -> &mut Self {
        self.driver = driver;
        self
    }

    /// How long an idle worker with I/O in flight polls its ring before it
    /// sleeps (default 50 µs; `Duration::ZERO` turns polling off).
    ///
    /// A completion that arrives while the worker polls is handled at
    /// once, without the sleep and wake-up (on a VM, waking an idle CPU
    /// alone costs tens of µs): on a request/response connection this
    /// roughly halves the round trip. The worker yields its CPU on each
    /// turn, so runnable threads still get it, and at most half the
    /// workers (at least one) poll at a time. A worker with no I/O in
    /// flight never polls. The cost is CPU time of an otherwise idle
    /// worker: up to the spin time per park. Measure before turning it
    /// off: under redis-benchmark, kv_server spends about 15 % more CPU
    /// per request with it, while hyper servers under wrk lose a fifth of
    /// their requests per second without it (BENCHMARKS.md).
    /// `AIO_PARK_SPIN_US` sets this default from the environment.
    ///
    /// # Examples
    ///
    /// ```
    /// // Favour CPU time over wake-up latency.
    /// let rt = aio::runtime::Builder::new_multi_thread()
    ///     .park_spin(std::time::Duration::ZERO)
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn park_spin(&mut self, spin: Duration) -> &mut Self {
        self.park_spin = spin;
        self
    }

    /// How long a busy worker lets a completion wait for others before it
    /// wakes (default 50 µs; `Duration::ZERO` wakes for each completion).
    ///
    /// A worker that sleeps while completions keep coming would wake once
    /// per completion, and each wake-up costs it and whoever completed
    /// the op (on loopback, the client's `send`). When a worker's
    /// completions come faster than two per `window` and it has several
    /// ops in flight, it sleeps until the number expected within the
    /// window is pending (at most half its ops in flight), or the window
    /// has passed with at least one: interrupt coalescing, done by the
    /// ring (`min_wait_usec`, Linux 6.12 or later; older kernels and the
    /// epoll driver ignore this). A completion already there when it
    /// parks is never held (one that the park's own submission produces at
    /// once, such as a send with room in the socket buffer, may be), nor is
    /// a lone connection or a trickle; and it
    /// spins first only while other threads want its CPU. The cost is
    /// latency under load: a completion, or a wake from another thread,
    /// may wait up to `window`. Under `wrk` and `redis-benchmark` it
    /// lowers the server's CPU per request (BENCHMARKS.md).
    /// `AIO_PARK_BATCH_US` sets this default from the environment.
    ///
    /// # Examples
    ///
    /// ```
    /// // Wake for every completion: the lowest latency under load.
    /// let rt = aio::runtime::Builder::new_multi_thread()
    ///     .park_batch(std::time::Duration::ZERO)
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn park_batch(&mut self, window: Duration) -> &mut Self {
        self.park_batch = window;
        self
    }

    /// Cap on blocking-pool threads (default 512).
    ///
    /// # Panics
    /// Panics if `n` is 0: `to_thread` and `spawn_blocking` need at least
    /// one thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().max_blocking_threads(2).build().unwrap();
    /// let n = rt.block_on(async { aio::to_thread(|| 2 + 2).await });
    /// assert_eq!(n, 4);
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(
            n > 0,
            "max_blocking_threads must be at least 1: to_thread and spawn_blocking need a \
             thread to run on (pass 1 to run blocking work one closure at a time)"
        );
        self.max_blocking_threads = n;
        self
    }

    /// How long a blocking-pool thread with nothing to run waits for more
    /// before it exits (default 10 s, as tokio's `thread_keep_alive`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = aio::runtime::Builder::new_current_thread()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(async { aio::to_thread(|| 2 + 2).await }), 4);
    /// ```
    pub fn thread_keep_alive(&mut self, idle: Duration) -> &mut Self {
        self.thread_keep_alive = idle;
        self
    }

    /// Debug mode: spawn locations, slow-poll warnings, tasks cancelled at
    /// shutdown. Default: on iff the environment has `AIO_DEBUG=1`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().debug(true).build().unwrap();
    /// assert!(rt.handle().is_debug());
    /// ```
    pub fn debug(&mut self, on: bool) -> &mut Self {
        self.debug = Some(on);
        self
    }

    /// In debug mode, polls and callbacks longer than this are reported
    /// (default 100 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let rt = aio::runtime::Builder::new_current_thread()
    ///     .debug(true)
    ///     .slow_poll_threshold(Duration::from_millis(5))
    ///     .exception_handler(move |ctx| s.lock().unwrap().push(ctx.message().to_string()))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { std::thread::sleep(Duration::from_millis(20)) }); // blocks on purpose
    /// assert!(seen.lock().unwrap()[0].starts_with("Executing <Task"));
    /// ```
    pub fn slow_poll_threshold(&mut self, d: Duration) -> &mut Self {
        self.slow_poll_threshold = d;
        self
    }

    /// Start with a paused (virtual) clock: time advances only through
    /// `time::advance`, or to the next timer when every task is idle.
    /// current_thread only.
    ///
    /// Idle means no task is ready to run: an I/O operation still in
    /// flight (a connect, a receive) does not hold the clock back, as with
    /// tokio's paused clock. So a timer registered before a loopback
    /// exchange completes may fire first: in tests, register the timers
    /// whose order matters after the I/O they depend on. (A blocking-pool
    /// job in flight does hold it back.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     let t0 = aio::time::Instant::now();
    ///     aio::sleep(Duration::from_secs(3600)).await; // instant in real time
    ///     assert_eq!(t0.elapsed(), Duration::from_secs(3600));
    /// });
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Replaces the exception handler (default: one line on stderr).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread()
    ///     .exception_handler(|ctx| eprintln!("custom: {}", ctx.message()))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn exception_handler(
        &mut self,
        f: impl Fn(&ExceptionContext) + Send + Sync + 'static,
    ) -> &mut Self {
        self.exception_handler = Some(Arc::new(f));
        self
    }

    /// Starts the runtime: creates the drivers (probing io_uring) and the
    /// worker threads. A multi_thread runtime also creates here the driver
    /// of the thread that will call `run` / `block_on`, so that whatever
    /// can fail at startup fails here.
    ///
    /// # Errors
    /// With [`Driver::IoUring`], when the kernel refuses io_uring, the
    /// error says why (ENOSYS from the kernel or a seccomp filter, EPERM
    /// from `kernel.io_uring_disabled` or seccomp, ENOMEM from the memlock
    /// limit) and what to do (with `Auto` the runtime falls back to epoll
    /// instead). When the process is out of file descriptors, it names the
    /// open-file limit (`RLIMIT_NOFILE`, `ulimit -n`). `InvalidInput` for
    /// `start_paused` on a multi_thread runtime, or an `AIO_DRIVER` value
    /// that names no driver.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = aio::runtime::Builder::new_multi_thread().start_paused(true).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        if self.start_paused && self.kind == Kind::MultiThread {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_paused needs the current_thread flavor (Builder::new_current_thread)",
            ));
        }
        if !(1..=RING_ENTRIES_MAX).contains(&self.ring_entries) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "ring_entries({}): an io_uring ring has 1 to {RING_ENTRIES_MAX} entries",
                    self.ring_entries
                ),
            ));
        }
        let requested = match self.driver {
            Driver::Auto => Driver::from_env()?,
            d => d,
        };
        // Miri interprets epoll and eventfd but not io_uring (its syscalls
        // would stop the interpreter): `Auto` is epoll there, untried.
        #[cfg(miri)]
        let requested = match requested {
            Driver::Auto => Driver::Epoll,
            d => d,
        };
        match requested {
            Driver::Auto => match self.build_on(Driver::IoUring) {
                Err(e) if crate::driver::is_refusal(&e) => {
                    let rt = self.build_on(Driver::Epoll)?;
                    trace_fallback(&e);
                    if rt.handle().is_debug() {
                        report_fallback(&e);
                    }
                    Ok(rt)
                }
                r => r,
            },
            d => self.build_on(d),
        }
    }

    /// Builds the runtime on `kind` (`IoUring` or `Epoll`).
    fn build_on(&self, kind: Driver) -> io::Result<Runtime> {
        let workers = match self.kind {
            Kind::CurrentThread => 1,
            Kind::MultiThread => self
                .worker_threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        };
        let debug = self
            .debug
            .unwrap_or_else(|| std::env::var("AIO_DEBUG").is_ok_and(|v| v == "1"));
        let config = Config {
            debug,
            slow_poll_threshold: self.slow_poll_threshold,
            exception_handler: self
                .exception_handler
                .clone()
                .unwrap_or_else(|| Arc::new(default_handler)),
            thread_name: self.thread_name.clone(),
            driver: DriverConfig::new(
                kind,
                self.ring_entries,
                self.park_spin,
                (workers / 2).max(1),
                self.park_batch,
            ),
        };
        let driver = config.driver.clone();
        let stats = Arc::new(StatsRegistry::new(workers));
        let clock = Arc::new(Clock::new(self.start_paused));
        let blocking = Pool::new(
            self.max_blocking_threads,
            self.thread_keep_alive,
            "aio-blocking".into(),
        );
        match self.kind {
            Kind::CurrentThread => {
                let ct = current_thread::CtShared::new(&driver, clock.clone(), &stats)?;
                let shared = Arc::new(Shared {
                    flavor: Flavor::CurrentThread(ct),
                    registry: Registry::new(1),
                    blocking,
                    clock,
                    config,
                    call_soon: CallSoonInit::default(),
                    locals: Default::default(),
                    stats: stats.clone(),
                });
                Ok(Runtime::from_shared(shared))
            }
            Kind::MultiThread => {
                let (mt, inits) = multi_thread::MtShared::new(workers, &driver, &stats)?;
                let shared = Arc::new(Shared {
                    flavor: Flavor::MultiThread(mt),
                    registry: Registry::new(workers * 4),
                    blocking,
                    clock,
                    config,
                    call_soon: CallSoonInit::default(),
                    locals: Default::default(),
                    stats: stats.clone(),
                });
                multi_thread::start(&shared, inits)?;
                Ok(Runtime::from_shared(shared))
            }
        }
    }
}

/// Says once per process, on stderr, that `Auto` fell back to epoll and why.
#[cfg(loom)]
fn report_fallback(_: &io::Error) {}

/// An event for every `Auto` fallback (feature "tracing").
fn trace_fallback(_e: &io::Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "aio::runtime", error = %_e, "io_uring refused: running on the epoll driver");
}

/// Says once per process, on stderr, that `Auto` fell back to epoll and why.
#[cfg(not(loom))]
fn report_fallback(e: &io::Error) {
    use crate::loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if !REPORTED.swap(true, Relaxed) {
        eprintln!("aio: io_uring is not available, running on the epoll driver instead: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_park_spin_from_the_environment_is_read_in_microseconds() {
        assert_eq!(parse_micros("20"), Some(Duration::from_micros(20)));
        assert_eq!(parse_micros(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_micros("long"), None);
    }

    /// A ring size the kernel cannot give is the caller's mistake, not a
    /// refusal of io_uring: no silent epoll runtime.
    #[test]
    fn an_impossible_ring_size_is_refused_not_run_on_epoll() {
        for n in [0, RING_ENTRIES_MAX + 1] {
            let e = Builder::new_current_thread()
                .ring_entries(n)
                .build()
                .expect_err("no runtime");
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
            assert!(e.to_string().contains("ring_entries"), "{e}");
        }
    }
}
