//! The blocking pool: an elastic set of threads for `to_thread` /
//! `spawn_blocking`.
//!
//! A closure becomes a task (so it has a `Task<T>` handle, a name and a
//! `TaskError` on panic) whose scheduler is this pool. Threads are started
//! on demand up to `max_blocking_threads` (default 512) and exit after
//! `thread_keep_alive` idle (default 10 s). A ring is never entered from these threads. Shutdown (step 4 of
//! `rt::shutdown`) stops them and joins them with a timeout.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::rt::{Handle, Shared};
use crate::task::raw::{Cell, TaskPtr};
use crate::task::{Notified, Schedule, Task, TaskId};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The pool of one runtime.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    /// Closures queued or running (a paused clock does not auto-advance
    /// while this is non-zero: their results may still come).
    in_flight: AtomicUsize,
    state: Mutex<State>,
    cv: Condvar,
    max_threads: usize,
    /// How long an idle thread waits for a job before it exits.
    keep_alive: Duration,
    thread_name: String,
}

/// Who is idle, and who has been claimed (tokio's blocking pool and
/// Python's `ThreadPoolExecutor` count the same way):
///
/// - `idle` counts the waiting threads that no job has claimed yet. A
///   submit claims one (`idle -= 1`, `notify += 1`, then wakes a thread)
///   or, with none left, starts a thread. So a burst of N jobs gets N
///   threads (up to the cap), not one idle thread woken N times.
/// - `notify` counts claims not yet taken up. A waiting thread that wakes
///   with `notify > 0` takes one and goes to the queue; otherwise its wake
///   was spurious (wait again) or its keep-alive ran out (exit; it was
///   still counted in `idle`, so it takes itself out).
#[derive(Default)]
struct State {
    queue: VecDeque<Notified>,
    idle: usize,
    notify: usize,
    threads: usize,
    shutdown: bool,
    /// The threads started, for the shutdown join; those that exited
    /// are dropped (detached, so their stacks go) at the next start.
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.state.lock();
        f.debug_struct("Pool")
            .field("threads", &s.threads)
            .field("idle", &s.idle)
            .field("queued", &s.queue.len())
            .finish()
    }
}

impl Pool {
    /// (threads alive, idle ones, jobs queued), for the metrics.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let s = self.inner.state.lock();
        (s.threads, s.idle, s.queue.len())
    }

    pub(crate) fn new(max_threads: usize, keep_alive: Duration, thread_name: String) -> Pool {
        // The builder refuses 0 (`Builder::max_blocking_threads` panics).
        debug_assert!(max_threads > 0, "a blocking pool needs a thread");
        Pool {
            inner: Arc::new(Inner {
                in_flight: AtomicUsize::new(0),
                state: Mutex::new(State::default()),
                cv: Condvar::new(),
                max_threads,
                keep_alive,
                thread_name,
            }),
        }
    }

    fn push(&self, task: Notified, rt: &Arc<Shared>) {
        let mut s = self.inner.state.lock();
        if s.shutdown {
            // Dropped unrun: the task's future is dropped, it ends cancelled
            // only if someone cancelled it; otherwise its handle waits for
            // a result that will not come, so cancel it first.
            drop(s);
            let task_ref = task.task_ref();
            task_ref.cancel();
            run_job(&self.inner, rt, task);
            return;
        }
        s.queue.push_back(task);
        if s.idle > 0 {
            // Claim an idle thread for this job now, so that the next job
            // of a burst does not count on it too.
            s.idle -= 1;
            s.notify += 1;
            self.inner.cv.notify_one();
        } else if s.threads < self.inner.max_threads {
            // A joinable thread that ended keeps its stack mapped until
            // its handle is joined or dropped.
            s.handles.retain(|h| !h.is_finished());
            s.threads += 1;
            let inner = self.inner.clone();
            let handle = Handle::from_shared(rt.clone());
            let spawned = std::thread::Builder::new()
                .name(self.inner.thread_name.clone())
                .spawn(move || worker(inner, handle));
            match spawned {
                Ok(h) => s.handles.push(h),
                // No thread could be started: the job waits for a running
                // thread (there is one unless threads == 0).
                Err(_) => s.threads -= 1,
            }
        }
    }

    /// Closures queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Acquire)
    }

    /// Step 4 of shutdown: stop the threads and join them within `timeout`.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        // No deadline if it is past what `Instant` holds.
        let deadline = Instant::now().checked_add(timeout);
        let handles = {
            let mut s = self.inner.state.lock();
            s.shutdown = true;
            self.inner.cv.notify_all();
            while s.threads > 0 {
                match deadline {
                    None => self.inner.cv.wait(&mut s),
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            break;
                        }
                        self.inner.cv.wait_for(&mut s, d - now);
                    }
                }
            }
            std::mem::take(&mut s.handles)
        };
        for h in handles {
            if h.is_finished() {
                let _ = h.join();
            }
            // Threads still running past the timeout are detached.
        }
        // Jobs never started are dropped (cancelled).
        let left = std::mem::take(&mut self.inner.state.lock().queue);
        for t in left {
            let task_ref = t.task_ref();
            task_ref.cancel();
            t.run();
            self.inner.in_flight.fetch_sub(1, AcqRel);
        }
    }
}

/// Runs one job, then counts it out of flight. Counting after `run` (not
/// when the closure's future is dropped, which comes before completion)
/// means its awaiter is already queued when a paused clock re-checks.
fn run_job(inner: &Inner, rt: &Shared, task: Notified) {
    task.run();
    if inner.in_flight.fetch_sub(1, AcqRel) == 1 {
        rt.wake_scheduler();
    }
}

fn worker(inner: Arc<Inner>, handle: Handle) {
    crate::scheduler::context::set_thread_runtime(handle.clone());
    let mut s = inner.state.lock();
    'run: loop {
        // Busy: run what is queued.
        while let Some(task) = s.queue.pop_front() {
            drop(s);
            run_job(&inner, handle.shared(), task);
            s = inner.state.lock();
        }
        if s.shutdown {
            break;
        }
        // Idle until a submit claims this thread (see `State`).
        s.idle += 1;
        loop {
            let timed_out = inner.cv.wait_for(&mut s, inner.keep_alive).timed_out();
            if s.notify > 0 {
                s.notify -= 1;
                continue 'run;
            }
            if s.shutdown || timed_out {
                // Leaving unclaimed: no longer idle.
                s.idle -= 1;
                break 'run;
            }
            // A spurious wake: still idle, still unclaimed.
        }
    }
    s.threads -= 1;
    inner.cv.notify_all();
}

/// The scheduler of a blocking task: the pool.
pub(crate) struct BlockingSchedule {
    rt: Arc<Shared>,
}

impl Schedule for BlockingSchedule {
    fn schedule(&self, task: Notified, _is_yield: bool) {
        self.rt.blocking.push(task, &self.rt);
    }
    fn release(&self, _task: TaskPtr) -> bool {
        false
    }
    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>) {
        self.rt.call_soon_boxed(f)
    }
    fn report(&self, ctx: &crate::rt::ExceptionContext) {
        self.rt.call_exception_handler(ctx)
    }
    fn is_shutting_down(&self) -> bool {
        self.rt.registry.is_closed()
    }
}

/// A closure run once as a future, in a copy of the context current when
/// it was scheduled.
struct BlockingTask<F> {
    f: Option<F>,
    ctx: Option<crate::context::Context>,
}

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> T, T> Future for BlockingTask<F> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        let f = self.f.take().expect("a blocking task runs once");
        Poll::Ready(crate::context::with_context(&mut self.ctx, f))
    }
}

/// Spawns `f` on `rt`'s pool.
pub(crate) fn spawn_blocking<F, T>(rt: &Arc<Shared>, f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let sched = BlockingSchedule { rt: rt.clone() };
    rt.blocking.inner.in_flight.fetch_add(1, AcqRel);
    let job = BlockingTask {
        f: Some(f),
        ctx: crate::context::capture(),
    };
    // Two references: the notification and the handle (not registered).
    let ptr = Cell::allocate(job, sched, TaskId::next(), None, None, 2, 0);
    let task = Task::from_raw(ptr);
    rt.blocking.push(Notified::from_raw(ptr), rt);
    task
}

/// The future of [`to_thread`](crate::to_thread).
///
/// # Cancel safety
/// Dropping it before the closure starts means it never runs; once it runs
/// it runs to completion on its thread (the result is dropped).
#[must_use = "futures do nothing unless awaited"]
pub struct ToThread<T> {
    task: Task<T>,
}

impl<T> fmt::Debug for ToThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToThread")
            .field("task", &self.task)
            .finish()
    }
}

/// Runs the blocking closure `f` on the blocking pool and awaits its result
/// (asyncio's `to_thread`). A panic in `f` resumes in the awaiter.
///
/// # Panics
/// Panics if called outside an aio runtime; resumes `f`'s panic.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let n = aio::to_thread(|| (1..=10).sum::<u32>()).await;
///     assert_eq!(n, 55);
/// });
/// ```
pub fn to_thread<F, T>(f: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    ToThread {
        task: crate::task::spawn_blocking(f),
    }
}

impl<T> Future for ToThread<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match std::task::ready!(self.task.poll_output(Some(cx.waker()))) {
            Ok(v) => Poll::Ready(v),
            Err(e) => match e.try_into_panic() {
                Ok(p) => std::panic::resume_unwind(p),
                Err(e) => panic!("aio::to_thread: {e}"),
            },
        }
    }
}

impl<T> Drop for ToThread<T> {
    fn drop(&mut self) {
        if !self.task.is_done() {
            self.task.cancel();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::rt::Builder;
    use std::time::Duration;

    /// Threads that exited after their keep-alive do not keep their
    /// handles (and so their stacks) while new ones start.
    #[test]
    fn exited_threads_are_not_kept_across_bursts() {
        let rt = Builder::new_current_thread()
            .thread_keep_alive(Duration::from_millis(1))
            .build()
            .unwrap();
        for _ in 0..3 {
            rt.block_on(async {
                let burst: Vec<_> = (0..4)
                    .map(|_| crate::to_thread(|| std::thread::sleep(Duration::from_millis(5))))
                    .collect();
                for t in burst {
                    t.await;
                }
            });
            // The burst's threads exit after their 1 ms keep-alive.
            while rt.handle().metrics().blocking_threads() > 0 {
                std::thread::yield_now();
            }
        }
        let pool = &rt.handle().shared().blocking;
        let handles = pool.inner.state.lock().handles.len();
        assert!(
            handles <= 4,
            "{handles} handles kept for 4 live threads at most"
        );
    }
}
