//! The call_soon queue: callbacks run one at a time, in order.
//!
//! One FIFO per runtime, drained by a single runner task that exists only
//! while the queue is non-empty, so callbacks never overlap. A panicking
//! callback is reported as "Exception in callback" and the runner goes on.
//! `CallbackHandle::cancel` guarantees a callback that has not started
//! never runs.

use super::exception::ExceptionContext;
use super::Shared;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use std::collections::VecDeque;
use std::fmt;

const PENDING: u8 = 0;
const STARTED: u8 = 1;
const CANCELLED: u8 = 2;

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// A queued callback: the function, its cancel state, and a copy of the
/// context current when it was scheduled (it runs in that context).
type Entry = (
    Callback,
    Option<Arc<AtomicU8>>,
    Option<crate::context::Context>,
);

/// The queue.
#[derive(Default)]
pub(crate) struct CallSoon {
    queue: Mutex<VecDeque<Entry>>,
    running: AtomicBool,
    /// The runner task's id, hidden from `all_tasks()` (loop internals).
    runner: AtomicU64,
}

impl CallSoon {
    pub(crate) fn push(&self, rt: &Arc<Shared>, f: Callback, state: Option<Arc<AtomicU8>>) {
        let ctx = crate::context::capture();
        self.queue.lock().push_back((f, state, ctx));
        if rt.registry.is_closed() {
            // The runtime shuts down: nothing will run (or drop) what is
            // queued. Shutdown closes the registry before it clears the
            // queue (under its lock), so either that clear sees this entry
            // or this push sees the registry closed.
            self.clear();
            return;
        }
        if !self.running.swap(true, AcqRel) {
            let rt2 = rt.clone();
            let runner = rt.spawn(async move { run_callbacks(&rt2).await });
            self.runner.store(runner.id().as_u64(), Release);
        }
    }

    /// Drops the callbacks never run (shutdown: the runner was cancelled).
    /// A callback that holds a `Handle` would otherwise keep the runtime
    /// it is queued in alive: a cycle, leaked.
    pub(crate) fn clear(&self) {
        let left = std::mem::take(&mut *self.queue.lock());
        drop(left);
    }

    /// Whether `id` is the runner task (not a user task).
    pub(crate) fn is_runner(&self, id: crate::task::TaskId) -> bool {
        self.runner.load(Acquire) == id.as_u64()
    }
}

/// The runner. As asyncio's loop, a pass runs the callbacks queued when
/// it began; those they schedule run in the next pass, after the other
/// ready tasks had a turn (the runner yields between passes), so a
/// callback that schedules itself again cannot keep its thread.
async fn run_callbacks(rt: &Arc<Shared>) {
    let q = &rt.call_soon;
    loop {
        let pass = std::mem::take(&mut *q.queue.lock());
        if pass.is_empty() {
            q.running.store(false, Release);
            // A push may have seen `running` just before we cleared it.
            if q.queue.lock().is_empty() || q.running.swap(true, AcqRel) {
                return;
            }
            continue;
        }
        for (f, state, mut ctx) in pass {
            if let Some(s) = &state {
                if s.compare_exchange(PENDING, STARTED, AcqRel, Acquire)
                    .is_err()
                {
                    continue;
                }
            }
            let start = rt.config.debug.then(std::time::Instant::now);
            let run = || crate::context::with_context(&mut ctx, f);
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
                rt.call_exception_handler(
                    &ExceptionContext::new("Exception in callback").with_panic(p),
                );
            }
            if let Some(start) = start {
                let took = start.elapsed();
                if took > rt.config.slow_poll_threshold {
                    rt.report_slow(format_args!("<callback>"), took);
                }
            }
        }
        crate::task::yield_now().await;
    }
}

impl fmt::Debug for CallSoon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallSoon")
            .field("queued", &self.queue.lock().len())
            .finish()
    }
}

/// A callback scheduled with [`Handle::call_soon`](super::Handle::call_soon).
///
/// # Examples
///
/// ```
/// // current_thread: the callback cannot start before main yields.
/// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let h = aio::runtime::Handle::current().call_soon(|| unreachable!("cancelled first"));
///     assert!(h.cancel());
///     assert!(h.is_cancelled());
///     aio::task::yield_now().await;
/// });
/// ```
#[derive(Clone)]
pub struct CallbackHandle {
    state: Arc<AtomicU8>,
}

impl CallbackHandle {
    pub(crate) fn new() -> (CallbackHandle, Arc<AtomicU8>) {
        let state = Arc::new(AtomicU8::new(PENDING));
        (
            CallbackHandle {
                state: state.clone(),
            },
            state,
        )
    }

    /// Cancels the callback. Returns true if it had not started (it then
    /// never runs); false if it already ran or started.
    pub fn cancel(&self) -> bool {
        match self
            .state
            .compare_exchange(PENDING, CANCELLED, AcqRel, Acquire)
        {
            Ok(_) => true,
            Err(s) => s == CANCELLED,
        }
    }

    /// Whether `cancel` stopped the callback.
    pub fn is_cancelled(&self) -> bool {
        self.state.load(Acquire) == CANCELLED
    }
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// A callback scheduled with [`Handle::call_later`](super::Handle::call_later)
/// or [`call_at`](super::Handle::call_at).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// aio::run(async {
///     let h = aio::runtime::Handle::current()
///         .call_later(Duration::from_secs(60), || unreachable!("cancelled"));
///     assert!(h.when() > aio::time::Instant::now());
///     assert!(h.cancel());
/// });
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    callback: CallbackHandle,
    when: crate::time::Instant,
    timer: crate::task::TaskRef,
}

impl TimerHandle {
    pub(crate) fn new(
        callback: CallbackHandle,
        when: crate::time::Instant,
        timer: crate::task::TaskRef,
    ) -> TimerHandle {
        TimerHandle {
            callback,
            when,
            timer,
        }
    }

    /// Cancels the callback: true if it had not started, and then it never
    /// runs.
    pub fn cancel(&self) -> bool {
        let stopped = self.callback.cancel();
        // Free the timer now rather than at its deadline.
        self.timer.cancel();
        stopped
    }

    /// Whether `cancel` stopped the callback.
    pub fn is_cancelled(&self) -> bool {
        self.callback.is_cancelled()
    }

    /// When the callback is due.
    pub fn when(&self) -> crate::time::Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
