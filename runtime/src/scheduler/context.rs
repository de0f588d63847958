//! Per-thread context: which runtime, worker, task and timer wheel this
//! thread is running right now.
//!
//! Set by the schedulers (entering `block_on`, a worker loop, a task poll)
//! with guards that restore the previous value; read by wakers (to push to
//! the local queue), by leaf futures (timers, coop) and by the public free
//! functions (`spawn`, `current`, `Handle::current`).

use super::local::LocalShared;
use crate::driver::Driver;
use crate::loom::sync::Arc;
use crate::rt::{Handle, Shared};
use crate::task::raw::TaskPtr;
use crate::task::{Task, TaskRef};
use crate::time::timers::Timers;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::ptr::NonNull;
use std::task::Waker;

/// Where `spawn_local` puts tasks on this thread.
#[derive(Clone)]
pub(crate) enum LocalTarget {
    /// The thread runs a current_thread runtime's loop.
    CurrentThread(Arc<Shared>),
    /// The thread is inside `block_on` of a multi_thread runtime.
    Local(Arc<LocalShared>),
}

struct Context {
    handle: RefCell<Option<Handle>>,
    /// Inside a scheduler loop (block_on, a worker): blocking on another
    /// runtime here would deadlock. Blocking-pool threads have a handle but
    /// are not "entered".
    entered: Cell<bool>,
    local: RefCell<Option<LocalTarget>>,
    current_task: Cell<Option<TaskPtr>>,
    worker: Cell<Option<NonNull<super::multi_thread::worker::WorkerCtx>>>,
    timers: Cell<Option<NonNull<Timers>>>,
    driver: Cell<Option<NonNull<RefCell<Driver>>>>,
}

// Every access goes through `try_with`: a runtime may be dropped (and so
// shut down, running tasks' destructors) by another thread-local's
// destructor, after this one is gone; `with` would then panic inside a
// thread-local destructor, which aborts the process. Without the context,
// the guards below do nothing and the readers see "no runtime".
thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            entered: Cell::new(false),
            local: RefCell::new(None),
            current_task: Cell::new(None),
            worker: Cell::new(None),
            timers: Cell::new(None),
            driver: Cell::new(None),
        }
    };
}

/// Restores a context slot when dropped.
#[must_use]
pub(crate) struct Reset<F: FnMut()>(F);

impl<F: FnMut()> Drop for Reset<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Makes `handle` this thread's runtime. Panics if one is already entered
/// (nested `run` / `block_on`).
pub(crate) fn enter_runtime(handle: Handle, local: Option<LocalTarget>) -> Reset<impl FnMut()> {
    if is_entered() {
        panic!(
            "aio::run() cannot be called from a running runtime: this thread is already \
             running one (await the future instead, or use to_thread for blocking work)"
        );
    }
    let mut prev = CONTEXT
        .try_with(|c| {
            c.entered.set(true);
            let h = c.handle.borrow_mut().replace(handle);
            let l = std::mem::replace(&mut *c.local.borrow_mut(), local);
            (h, l)
        })
        .ok();
    Reset(move || {
        let Some((h, l)) = prev.take() else { return };
        // Swap the old values back in first: dropping a handle may run
        // arbitrary drops that look at the context.
        let old = CONTEXT.try_with(|c| {
            c.entered.set(false);
            let oh = std::mem::replace(&mut *c.handle.borrow_mut(), h);
            let ol = std::mem::replace(&mut *c.local.borrow_mut(), l);
            (oh, ol)
        });
        drop(old);
    })
}

/// Whether this thread is inside a runtime loop (where blocking on a
/// runtime would deadlock).
pub(crate) fn is_entered() -> bool {
    CONTEXT.try_with(|c| c.entered.get()).unwrap_or(false)
}

/// Marks a worker thread as inside its runtime for its whole life.
pub(crate) fn set_entered() {
    let _ = CONTEXT.try_with(|c| c.entered.set(true));
}

/// Sets the runtime for a helper thread (workers, blocking pool) for its
/// whole life.
pub(crate) fn set_thread_runtime(handle: Handle) {
    let _ = CONTEXT.try_with(|c| *c.handle.borrow_mut() = Some(handle));
}

/// Reads this thread's runtime clock without cloning the handle; `None`
/// outside a runtime.
pub(crate) fn clock_now() -> Option<std::time::Instant> {
    CONTEXT
        .try_with(|c| c.handle.borrow().as_ref().map(|h| h.shared().clock.now()))
        .ok()
        .flatten()
}

/// Runs `f` with this thread's runtime by reference (no handle clone).
#[track_caller]
pub(crate) fn with_shared<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> R {
    match CONTEXT.try_with(|c| c.handle.borrow().as_ref().map(|h| f(h.shared()))) {
        Ok(Some(r)) => r,
        _ => panic!(
            "no running aio runtime: call this inside aio::run, #[aio::main], \
             Runtime::block_on, or a task"
        ),
    }
}

/// The runtime this thread is in, if any.
pub(crate) fn try_handle() -> Option<Handle> {
    CONTEXT
        .try_with(|c| c.handle.borrow().clone())
        .ok()
        .flatten()
}

/// Marks `ptr` as the running task for the duration of a poll.
pub(crate) fn enter_task(ptr: TaskPtr) -> Reset<impl FnMut()> {
    let prev = CONTEXT.try_with(|c| c.current_task.replace(Some(ptr)));
    Reset(move || {
        if let Ok(prev) = prev {
            let _ = CONTEXT.try_with(|c| c.current_task.set(prev));
        }
    })
}

pub(crate) fn current_task() -> Option<TaskRef> {
    let ptr = CONTEXT.try_with(|c| c.current_task.get()).ok().flatten()?;
    // SAFETY: the pointer is set only during that task's poll, when the
    // poller holds a reference.
    Some(unsafe { TaskRef::acquire(ptr) })
}

/// Installs the worker context of a multi_thread worker thread.
pub(crate) fn set_worker(
    w: Option<NonNull<super::multi_thread::worker::WorkerCtx>>,
) -> Reset<impl FnMut()> {
    let prev = CONTEXT.try_with(|c| c.worker.replace(w));
    Reset(move || {
        if let Ok(prev) = prev {
            let _ = CONTEXT.try_with(|c| c.worker.set(prev));
        }
    })
}

/// Runs `f` with this thread's worker context, if it is a worker.
pub(crate) fn with_worker<R>(
    f: impl FnOnce(Option<&super::multi_thread::worker::WorkerCtx>) -> R,
) -> R {
    let w = CONTEXT.try_with(|c| c.worker.get()).ok().flatten();
    // SAFETY: the pointer is set by the worker loop for as long as the
    // worker context lives on its stack, and only on that thread.
    f(w.map(|p| unsafe { p.as_ref() }))
}

/// Installs this thread's timer wheel and ring.
pub(crate) fn set_io(
    timers: Option<NonNull<Timers>>,
    driver: Option<NonNull<RefCell<Driver>>>,
) -> Reset<impl FnMut()> {
    let prev = CONTEXT.try_with(|c| (c.timers.replace(timers), c.driver.replace(driver)));
    Reset(move || {
        if let Ok((pt, pd)) = prev {
            let _ = CONTEXT.try_with(|c| {
                c.timers.set(pt);
                c.driver.set(pd);
            });
        }
    })
}

/// Runs `f` with this thread's timer wheel, if it has one.
pub(crate) fn with_timers<R>(f: impl FnOnce(Option<&Timers>) -> R) -> R {
    let t = CONTEXT.try_with(|c| c.timers.get()).ok().flatten();
    // SAFETY: set by the loop that owns the wheel, for as long as it lives
    // on that loop's stack, and only on that thread.
    f(t.map(|p| unsafe { p.as_ref() }))
}

/// Runs `f` with this thread's ring, if it has one.
pub(crate) fn with_driver<R>(f: impl FnOnce(Option<&RefCell<Driver>>) -> R) -> R {
    let d = CONTEXT.try_with(|c| c.driver.get()).ok().flatten();
    // SAFETY: as for `with_timers`.
    f(d.map(|p| unsafe { p.as_ref() }))
}

/// Yields. On a multi_thread worker the wake is deferred until the worker
/// next polls its driver (every `DRIVER_POLL_INTERVAL` ticks) or has
/// nothing else to run, whichever comes first, as tokio does: yielding
/// tasks cannot starve injected ones, and a task that keeps waking itself
/// cannot starve yielded ones. Elsewhere (current_thread: asyncio's order;
/// the `block_on` thread) the task goes to the back of the queue at once.
///
/// The common case, a task yielding with its own waker, costs no atomic
/// operation here: the worker notes the task, and the harness sets
/// NOTIFIED as it clears RUNNING (one step) and hands the notification to
/// the worker's deferred list (`take_self_yield`, `Schedule::defer`).
/// Another waker (a combinator's) is cloned and woken later.
pub(crate) fn defer_yield(waker: &Waker) {
    let current = CONTEXT.try_with(|c| c.current_task.get()).ok().flatten();
    let deferred = with_worker(|w| match w {
        Some(w) => {
            match current {
                Some(t) if crate::task::is_waker_of(waker, t) && w.self_yield.get().is_none() => {
                    w.self_yield.set(Some(t))
                }
                _ => w.defer(waker),
            }
            true
        }
        None => false,
    });
    if !deferred {
        waker.wake_by_ref();
    }
}

/// Whether task `ptr` yielded with its own waker during the poll that
/// just returned (and forgets it).
#[inline]
pub(crate) fn take_self_yield(ptr: TaskPtr) -> bool {
    with_worker(|w| {
        w.is_some_and(|w| match w.self_yield.get() {
            Some(t) if t == ptr => {
                w.self_yield.set(None);
                true
            }
            _ => false,
        })
    })
}

#[track_caller]
pub(crate) fn spawn_local<F>(f: F, name: Option<Arc<str>>) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let target = CONTEXT
        .try_with(|c| c.local.borrow().clone())
        .ok()
        .flatten();
    match target {
        Some(LocalTarget::CurrentThread(shared)) => {
            super::current_thread::spawn_local(&shared, f, name, std::panic::Location::caller())
        }
        Some(LocalTarget::Local(local)) => local.spawn(f, name, std::panic::Location::caller()),
        None => panic!(
            "aio::spawn_local() needs a thread that runs its tasks: use it on a current_thread \
             runtime or inside the main future of aio::run / Runtime::block_on (not from a \
             multi_thread worker or outside a runtime)"
        ),
    }
}

/// Like `enter_runtime`, but allowed while another runtime is entered
/// (shutdown of a runtime dropped inside another); restores the previous.
pub(crate) fn enter_runtime_nested(
    handle: Handle,
    local: Option<LocalTarget>,
) -> Reset<impl FnMut()> {
    let mut prev = CONTEXT
        .try_with(|c| {
            let h = c.handle.borrow_mut().replace(handle);
            let l = std::mem::replace(&mut *c.local.borrow_mut(), local);
            (h, l)
        })
        .ok();
    Reset(move || {
        if let Some((h, l)) = prev.take() {
            let old = CONTEXT.try_with(|c| {
                let oh = std::mem::replace(&mut *c.handle.borrow_mut(), h);
                let ol = std::mem::replace(&mut *c.local.borrow_mut(), l);
                (oh, ol)
            });
            drop(old);
        }
    })
}
