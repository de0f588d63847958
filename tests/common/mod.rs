//! Helpers shared by the behaviour tests: run one async body on every
//! runtime flavor (current_thread, multi_thread with 1 and with 4 workers),
//! count polls and drops, wait for events without sleeping, and abort a
//! hung test instead of blocking CI.
//!
//! `AIO_TEST_FLAVORS` restricts the flavors (see [`flavors`]): valgrind and
//! Miri, which run threads one at a time and slowly, run the tests on
//! fewer of them (`.ci/test-all`). Under Miri the default is current_thread
//! only, and [`scaled`] shrinks the loops that repeat thousands of times.
//!
//! Each `tests/*.rs` crate includes this module with `mod common;` and uses
//! a subset of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use aio::runtime::{Builder, ExceptionContext, Runtime};

/// How long one flavor of one test may run before the process is aborted.
/// Generous: it only exists so that a hang fails CI instead of blocking it.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(120);

/// A runtime configuration the behaviour tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// One thread, asyncio's exact interleaving.
    CurrentThread,
    /// Work-stealing workers (the main future runs on the calling thread).
    MultiThread(usize),
}

impl Flavor {
    /// The three flavors every behaviour test runs on.
    pub(crate) const ALL: [Flavor; 3] = [
        Flavor::CurrentThread,
        Flavor::MultiThread(1),
        Flavor::MultiThread(4),
    ];

    /// The flavor an `AIO_TEST_FLAVORS` entry names: `current_thread`, or
    /// `multi_thread_<workers>`.
    fn parse(name: &str) -> Option<Flavor> {
        match name {
            "current_thread" => Some(Flavor::CurrentThread),
            _ => {
                let n = name.strip_prefix("multi_thread_")?.parse().ok()?;
                (n > 0).then_some(Flavor::MultiThread(n))
            }
        }
    }

    /// A builder for this flavor.
    pub(crate) fn builder(self) -> Builder {
        match self {
            Flavor::CurrentThread => Builder::new_current_thread(),
            Flavor::MultiThread(n) => {
                let mut b = Builder::new_multi_thread();
                b.worker_threads(n);
                b
            }
        }
    }

    /// A runtime of this flavor with the default configuration.
    pub(crate) fn runtime(self) -> Runtime {
        self.builder().build().expect("build the runtime")
    }

    /// Number of worker threads that poll spawned tasks.
    pub(crate) fn workers(self) -> usize {
        match self {
            Flavor::CurrentThread => 1,
            Flavor::MultiThread(n) => n,
        }
    }

    pub(crate) fn is_current_thread(self) -> bool {
        self == Flavor::CurrentThread
    }
}

/// The flavors the tests run on: [`Flavor::ALL`], or those named by
/// `AIO_TEST_FLAVORS`, a list separated by `,` or `|` of `current_thread`,
/// `multi_thread` (the multi_thread flavors of `ALL`) and
/// `multi_thread_<workers>` (e.g. `current_thread|multi_thread_2`). Under
/// Miri, where every flavor costs minutes, the default is current_thread.
///
/// # Panics
/// On an entry that names no flavor: a mistyped CI setting must not make
/// the tests pass by running nothing.
pub(crate) fn flavors() -> Vec<Flavor> {
    let spec = match std::env::var("AIO_TEST_FLAVORS") {
        Ok(v) if !v.trim().is_empty() => v,
        _ if cfg!(miri) => return vec![Flavor::CurrentThread],
        _ => return Flavor::ALL.to_vec(),
    };
    let mut out = Vec::new();
    for name in spec
        .split([',', '|'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let named: Vec<Flavor> = match name {
            "multi_thread" => Flavor::ALL
                .into_iter()
                .filter(|f| !f.is_current_thread())
                .collect(),
            _ => match Flavor::parse(name) {
                Some(f) => vec![f],
                None => panic!(
                    "AIO_TEST_FLAVORS: {name:?} is not a flavor (current_thread, multi_thread, \
                     multi_thread_<workers>)"
                ),
            },
        };
        for f in named {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    assert!(!out.is_empty(), "AIO_TEST_FLAVORS={spec:?} names no flavor");
    out
}

/// The selected multi_thread flavors ([`flavors`]), for the tests of what
/// only a multi_thread runtime does; empty when none is selected (then such
/// a test checks nothing on this run, and says so).
pub(crate) fn multi_thread_flavors() -> Vec<Flavor> {
    let mt: Vec<Flavor> = flavors()
        .into_iter()
        .filter(|f| !f.is_current_thread())
        .collect();
    if mt.is_empty() {
        eprintln!("no multi_thread flavor selected (AIO_TEST_FLAVORS): multi_thread part skipped");
    }
    mt
}

/// Whether current_thread is among the selected flavors ([`flavors`]).
pub(crate) fn current_thread_selected() -> bool {
    flavors().contains(&Flavor::CurrentThread)
}

/// `n` scaled down for slow runs: divided by `AIO_TEST_SCALE` (default 1;
/// under Miri, which interprets every step, by 100), and at least 1. For
/// the loops that repeat an action thousands of times to make a race or a
/// leak show: fewer rounds check the same thing.
pub(crate) fn scaled(n: usize) -> usize {
    let default = if cfg!(miri) { 100 } else { 1 };
    let by: usize = std::env::var("AIO_TEST_SCALE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    (n / by.max(1)).max(1)
}

/// Runs `body(flavor)` with `Runtime::run` (asyncio.run semantics: the body
/// is the task "main", leftovers are cancelled) on each flavor in turn
/// ([`flavors`]), under a watchdog.
pub(crate) fn on_all_flavors<F, Fut>(body: F)
where
    F: Fn(Flavor) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    for flavor in flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        flavor.runtime().run(body(flavor));
    }
}

/// Like [`on_all_flavors`], with a builder the test configures itself.
pub(crate) fn on_all_flavors_with<C, F, Fut>(configure: C, body: F)
where
    C: Fn(Flavor, &mut Builder),
    F: Fn(Flavor) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    for flavor in flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let mut b = flavor.builder();
        configure(flavor, &mut b);
        b.build().expect("build the runtime").run(body(flavor));
    }
}

/// Aborts the process if it is not dropped within its limit (a hung test
/// would otherwise block the whole test binary forever).
pub(crate) struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    /// Under Miri there is no watchdog thread: Miri's clock is virtual (it
    /// advances with the code interpreted, at a rate meant to resemble
    /// compiled code, not the interpreter), so a test that takes minutes
    /// under Miri would trip the limit; and a hang needs no watchdog there,
    /// Miri reports the deadlock itself, with every thread's backtrace.
    pub(crate) fn new(what: impl std::fmt::Debug, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        if cfg!(miri) {
            let _ = (what, limit, rx);
            return Watchdog { _disarm: tx };
        }
        let test = std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_string();
        let what = format!("{what:?}");
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: test `{test}` ({what}) hung for {limit:?}; aborting");
                std::process::abort();
            }
        });
        Watchdog { _disarm: tx }
    }
}

/// A counter shared between a test and the futures it spawns.
#[derive(Clone, Default, Debug)]
pub(crate) struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub(crate) fn new() -> Counter {
        Counter::default()
    }
    pub(crate) fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
    pub(crate) fn bump(&self) -> usize {
        self.0.fetch_add(1, SeqCst) + 1
    }
    /// A guard that bumps this counter when dropped.
    pub(crate) fn drop_guard(&self) -> DropGuard {
        DropGuard(self.clone())
    }
}

/// Bumps its counter when dropped: proof that a destructor ran.
#[derive(Debug)]
pub(crate) struct DropGuard(Counter);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// Wraps a future, bumping `polls` on every poll and `drops` when dropped.
pub(crate) fn tracked<F: Future>(polls: &Counter, drops: &Counter, f: F) -> Tracked<F> {
    Tracked {
        inner: Box::pin(f),
        polls: polls.clone(),
        _drop: drops.drop_guard(),
    }
}

/// See [`tracked`].
pub(crate) struct Tracked<F> {
    inner: Pin<Box<F>>,
    polls: Counter,
    _drop: DropGuard,
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.bump();
        self.inner.as_mut().poll(cx)
    }
}

/// A one-way latch: opened once, awaited by any number of tasks. Plain
/// std synchronisation, so it works across runtimes and threads.
#[derive(Clone, Default, Debug)]
pub(crate) struct Latch(Arc<LatchInner>);

#[derive(Default, Debug)]
pub(crate) struct LatchInner {
    state: Mutex<(usize, bool, Vec<Waker>)>,
    cv: Condvar,
}

impl Latch {
    pub(crate) fn new() -> Latch {
        Latch::default()
    }

    /// A latch that opens after `n` calls to [`count_down`](Self::count_down).
    pub(crate) fn counting(n: usize) -> Latch {
        let l = Latch::default();
        {
            let mut s = l.0.state.lock().unwrap();
            s.0 = n;
            s.1 = n == 0;
        }
        l
    }

    pub(crate) fn open(&self) {
        let wakers = {
            let mut s = self.0.state.lock().unwrap();
            s.0 = 0;
            s.1 = true;
            std::mem::take(&mut s.2)
        };
        self.0.cv.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }

    pub(crate) fn count_down(&self) {
        let open = {
            let mut s = self.0.state.lock().unwrap();
            assert!(s.0 > 0, "latch counted down too often");
            s.0 -= 1;
            s.0 == 0
        };
        if open {
            self.open();
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.0.state.lock().unwrap().1
    }

    /// Blocks the calling thread until open (for tasks that deliberately
    /// hold a worker, and for threads outside the runtime).
    pub(crate) fn wait_blocking(&self) {
        let mut s = self.0.state.lock().unwrap();
        while !s.1 {
            s = self.0.cv.wait(s).unwrap();
        }
    }

    /// Waits asynchronously until open.
    pub(crate) fn wait(&self) -> LatchWait {
        LatchWait(self.clone())
    }
}

/// See [`Latch::wait`].
#[derive(Debug)]
pub(crate) struct LatchWait(Latch);

impl Future for LatchWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0 .0.state.lock().unwrap();
        if s.1 {
            Poll::Ready(())
        } else {
            s.2.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Yields until `cond()` holds. Not a sleep: every iteration lets the
/// scheduler run other tasks; the watchdog bounds a runtime that never
/// makes `cond` true.
pub(crate) async fn yield_until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        aio::task::yield_now().await;
    }
}

/// Polls `f` exactly once, returning its output if it was ready.
pub(crate) async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *f).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

/// Occupies every worker of a multi_thread runtime with a task blocked on a
/// latch, so that tasks spawned meanwhile cannot start until `release`.
/// Deliberate blocking of workers, not synchronisation by sleeping. Must be
/// called from the main future (which runs on the caller's thread, not on
/// a worker). On current_thread it does nothing: tasks only run when main
/// yields anyway.
pub(crate) struct HeldWorkers {
    release: Latch,
    holders: Vec<aio::task::Task<()>>,
}

impl HeldWorkers {
    pub(crate) fn hold(flavor: Flavor) -> HeldWorkers {
        let release = Latch::new();
        let mut holders = Vec::new();
        if let Flavor::MultiThread(n) = flavor {
            let started = Latch::counting(n);
            for _ in 0..n {
                let started = started.clone();
                let release = release.clone();
                holders.push(aio::spawn(async move {
                    started.count_down();
                    release.wait_blocking();
                }));
            }
            // Every worker is now inside a holder's poll.
            started.wait_blocking();
        }
        HeldWorkers { release, holders }
    }

    pub(crate) async fn release(self) {
        self.release.open();
        for h in self.holders {
            h.await.expect("holder task");
        }
    }
}

/// Exception-handler messages, recorded in order.
#[derive(Clone, Default, Debug)]
pub(crate) struct Reports(Arc<Mutex<Vec<Report>>>);

/// One call of the exception handler, reduced to what tests inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) message: String,
    pub(crate) task_name: Option<String>,
    pub(crate) panic: Option<String>,
}

impl Reports {
    pub(crate) fn new() -> Reports {
        Reports::default()
    }

    /// A handler for `Builder::exception_handler` that records into `self`.
    pub(crate) fn handler(&self) -> impl Fn(&ExceptionContext) + Send + Sync + 'static {
        let me = self.clone();
        move |ctx: &ExceptionContext| {
            let panic = ctx.panic().map(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "<non-string payload>".into())
            });
            me.0.lock().unwrap().push(Report {
                message: ctx.message().to_string(),
                task_name: ctx.task().map(|t| t.name().to_string()),
                panic,
            });
        }
    }

    pub(crate) fn take(&self) -> Vec<Report> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    pub(crate) fn messages(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.message.clone())
            .collect()
    }
}

/// The message of a panic payload, if it is a string.
pub(crate) fn panic_text(p: &(dyn std::any::Any + Send)) -> Option<String> {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
}

/// A log of events shared by tasks, to assert orderings.
#[derive(Clone, Default, Debug)]
pub(crate) struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub(crate) fn new() -> Log {
        Log::default()
    }
    pub(crate) fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
    pub(crate) fn get(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `f` (with `Runtime::run`) on a current_thread runtime whose clock
/// starts paused: time moves only when every task is idle, to the next
/// timer, so elapsed times are exact.
pub(crate) fn paused<F: Future>(f: F) -> F::Output {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .expect("runtime")
        .run(f)
}

/// Reads `s` until the peer closes it (end of stream, or a reset, which
/// is a close too); returns what came and when the end did.
pub(crate) async fn read_until_closed(s: &aio::net::TcpStream) -> (Vec<u8>, aio::time::Instant) {
    let mut got = Vec::new();
    loop {
        let (n, buf) = s.read(Vec::with_capacity(1024)).await;
        match n {
            Ok(0) => return (got, aio::time::Instant::now()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (got, aio::time::Instant::now())
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// The builder configuration of the timeout tests: `reports` records the
/// exception handler's calls, and current_thread runs on a paused clock
/// (the multi_thread flavors on real time).
pub(crate) fn reporting_and_paused_on_current_thread(
    reports: &Reports,
) -> impl Fn(Flavor, &mut Builder) + '_ {
    move |flavor, b| {
        b.exception_handler(reports.handler());
        if flavor == Flavor::CurrentThread {
            b.start_paused(true);
        }
    }
}
