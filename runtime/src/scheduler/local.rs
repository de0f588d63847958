//! The executor of a thread inside `block_on` / `run` of a multi_thread
//! runtime: it runs the main task and the `spawn_local` tasks of that call.
//!
//! Those tasks are bound to this thread: their scheduler is this
//! `LocalShared` (a FIFO plus a condvar parker), so a wake from any thread
//! brings them back here. The thread has its own timer wheel and its own
//! io_uring ring (so the main future can do I/O), and parks in that ring.
//! When the call ends, its leftover local tasks are cancelled and dropped
//! here.

use super::context::{self, LocalTarget};
use crate::driver::{Driver, Unparker};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::{spawn_into, Handle, Shared};
use crate::stats::ThreadStats;
use crate::task::raw::TaskPtr;
use crate::task::registry::Registry;
use crate::task::{Notified, Schedule, Task};
use crate::time::timers::Timers;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{resume_unwind, Location};
use std::ptr::NonNull;

/// The scheduler of one `block_on` thread.
pub(crate) struct LocalShared {
    rt: Arc<Shared>,
    queue: Mutex<VecDeque<Notified>>,
    unparker: Arc<Unparker>,
    pub(crate) registry: Registry,
}

impl fmt::Debug for LocalShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalShared")
            .field("tasks", &self.registry.len())
            .finish()
    }
}

impl Schedule for Arc<LocalShared> {
    fn schedule(&self, task: Notified, _is_yield: bool) {
        self.queue.lock().push_back(task);
        self.unparker.unpark();
    }
    fn release(&self, task: TaskPtr) -> bool {
        self.registry.remove(task)
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

impl LocalShared {
    fn new(rt: Arc<Shared>, unparker: Arc<Unparker>) -> LocalShared {
        LocalShared {
            rt,
            queue: Mutex::new(VecDeque::new()),
            unparker,
            registry: Registry::new(1),
        }
    }

    /// Spawns a task bound to this thread.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        f: F,
        name: Option<Arc<str>>,
        at: &'static Location<'static>,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // SAFETY: tasks of this scheduler are only polled and dropped by
        // `drive` on this thread (see `block_on`).
        unsafe { self.spawn_unchecked(f, name, at) }
    }

    /// # Safety
    /// The future must be polled and dropped only on this thread, and (if
    /// it borrows) dropped before the borrow ends.
    unsafe fn spawn_unchecked<F: Future>(
        self: &Arc<Self>,
        f: F,
        name: Option<Arc<str>>,
        at: &'static Location<'static>,
    ) -> Task<F::Output> {
        let debug = self.rt.config.debug;
        let tick = self.rt.tick();
        let (task, notified) =
            spawn_into(f, self.clone(), &self.registry, name, Some(at), debug, tick);
        if let Some(n) = notified {
            self.schedule(n, false);
        }
        task
    }
}

/// The main task of a `block_on`, which may borrow from the caller.
pub(crate) struct MainTask<T>(Task<T>);

/// Spawns the main future through `spawn`.
pub(crate) fn spawn_main<F: Future>(
    f: F,
    name: Option<&str>,
    at: &'static Location<'static>,
    spawn: impl FnOnce(F, Option<Arc<str>>, &'static Location<'static>) -> Task<F::Output>,
) -> MainTask<F::Output> {
    MainTask(spawn(f, name.map(Into::into), at))
}

impl<T> MainTask<T> {
    /// Runs `drive` (the scheduler loop) until the main task is done. If
    /// the loop itself unwinds while the main future is alive, the process
    /// aborts: that future may borrow the caller's stack, which unwinding
    /// would free under it. (Task panics are caught and never get here;
    /// only a bug in the loop could.)
    pub(crate) fn run_until_done(self, drive: impl FnOnce(&Task<T>)) -> Task<T> {
        struct Bomb<'a, T>(&'a Task<T>);
        impl<T> Drop for Bomb<'_, T> {
            fn drop(&mut self) {
                if !self.0.is_done() {
                    eprintln!(
                        "aio: the scheduler loop unwound while the main future was still \
                         alive; aborting, since that future may borrow from the stack"
                    );
                    std::process::abort();
                }
            }
        }
        let bomb = Bomb(&self.0);
        drive(bomb.0);
        drop(bomb);
        self.0
    }
}

/// The main task's output; resumes its panic.
pub(crate) fn main_output<T>(out: Result<T, crate::task::TaskError>) -> T {
    match out {
        Ok(v) => v,
        Err(e) => match e.try_into_panic() {
            Ok(p) => resume_unwind(p),
            Err(e) => panic!("aio: the main task ended without a result: {e}"),
        },
    }
}

/// `block_on` of a multi_thread runtime.
pub(crate) fn block_on<F: Future>(
    handle: &Handle,
    f: F,
    name: Option<&str>,
    at: &'static Location<'static>,
) -> Result<F::Output, crate::task::TaskError> {
    let rt = handle.shared();
    let crate::rt::Flavor::MultiThread(mt) = &rt.flavor else {
        unreachable!("a multi_thread runtime")
    };
    // The ring this thread kept from its last call, or the one `build`
    // made (so that running short of file descriptors is an error from
    // `build`), or a new one.
    let spare = mt.take_block_on_ring().map(|r| (r.driver, r.stats));
    // Declared before the driver, so that its count is retired after the
    // driver's last syscall.
    let (driver, stats_guard) = spare
        .map_or_else(
            || {
                let stats = rt.stats.other();
                Driver::new(&rt.config.driver, None, true, stats.stats.clone()).map(|d| (d, stats))
            },
            Ok,
        )
        .and_then(|(mut d, s)| d.enable().map(|()| (d, s)))
        .unwrap_or_else(|e| panic!("aio: could not create this thread's I/O driver: {e}"));
    let thread_stats = stats_guard.stats.clone();
    let local = Arc::new(LocalShared::new(rt.clone(), driver.unparker().clone()));
    let driver = RefCell::new(driver);
    rt.locals.lock().push(local.clone());
    struct Unlist<'a>(&'a Shared, &'a Arc<LocalShared>);
    impl Drop for Unlist<'_> {
        fn drop(&mut self) {
            self.0.locals.lock().retain(|l| !Arc::ptr_eq(l, self.1));
        }
    }
    let _unlist = Unlist(rt, &local);
    let _enter = context::enter_runtime(handle.clone(), Some(LocalTarget::Local(local.clone())));
    let timers = Timers::new(rt.clock.clone(), thread_stats);
    let io = context::set_io(Some(NonNull::from(&timers)), Some(NonNull::from(&driver)));
    let main = spawn_main(f, name, at, |f, name, at| {
        // SAFETY: `drive` below runs on this thread until the main task is
        // done, i.e. its future dropped; `run_until_done` aborts otherwise.
        unsafe { local.spawn_unchecked(f, name, at) }
    });
    let mut main = main.run_until_done(|main| {
        drive(&local, &timers, &driver, &stats_guard.stats, || {
            main.is_done()
        })
    });
    // Leftover local tasks cannot run anywhere else: cancel and drop them.
    for t in local.registry.close() {
        t.cancel();
    }
    drive(&local, &timers, &driver, &stats_guard.stats, || {
        local.registry.len() == 0
    });
    drop(std::mem::take(&mut *local.queue.lock()));
    let out = main.result();
    // The thread's I/O context points at the driver: restored before the
    // driver moves.
    drop(io);
    mt.keep_block_on_ring(driver.into_inner(), stats_guard);
    out
}

fn drive(
    local: &LocalShared,
    timers: &Timers,
    driver: &RefCell<Driver>,
    stats: &ThreadStats,
    mut until: impl FnMut() -> bool,
) {
    let mut ran: u32 = 0;
    // The tick the polls record (the task dump): refreshed on waking and
    // every 61 polls.
    local.rt.refresh_thread_tick(None);
    loop {
        if until() {
            return;
        }
        let next = local.queue.lock().pop_front();
        match next {
            Some(task) => {
                // Counted first: the task's completion may wake a reader.
                stats.polls.incr();
                super::run_task(&local.rt, task);
                ran = ran.wrapping_add(1);
                if ran % 61 == 0 {
                    crate::driver::drive(driver, |d| d.poll());
                    timers.process();
                    local.rt.refresh_thread_tick(None);
                }
            }
            None => {
                if timers.process() > 0 {
                    continue;
                }
                let timeout = timers.next_timeout();
                stats.parks.incr();
                crate::driver::drive(driver, |d| d.park(timeout, true));
                stats.unparks.incr();
                local.rt.refresh_thread_tick(None);
                timers.process();
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::driver::Unparker;
    use crate::loom::sync::Arc;
    use crate::rt::{Builder, Driver, Runtime};

    fn runtime(driver: Driver) -> Runtime {
        Builder::new_multi_thread()
            .worker_threads(1)
            .driver(driver)
            .build()
            .unwrap()
    }

    /// The unparker of the calling `block_on` thread's driver: one per
    /// driver, so the same allocation (held alive here) means the same
    /// driver.
    fn this_threads_driver(rt: &Runtime) -> Arc<Unparker> {
        rt.block_on(async {
            crate::scheduler::context::with_driver(|d| {
                d.expect("a block_on thread has a driver")
                    .borrow()
                    .unparker()
                    .clone()
            })
        })
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_thread_keeps_its_ring_from_one_block_on_to_the_next() {
        let rt = runtime(Driver::IoUring);
        let first = this_threads_driver(&rt);
        for _ in 0..3 {
            assert!(Arc::ptr_eq(&first, &this_threads_driver(&rt)));
        }
        // Another thread gets a ring of its own, and keeps it too.
        let (theirs, theirs_again) = std::thread::scope(|s| {
            s.spawn(|| (this_threads_driver(&rt), this_threads_driver(&rt)))
                .join()
                .unwrap()
        });
        assert!(!Arc::ptr_eq(&first, &theirs));
        assert!(Arc::ptr_eq(&theirs, &theirs_again));
        // ... while this thread's is still there for it.
        assert!(Arc::ptr_eq(&first, &this_threads_driver(&rt)));
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn threads_that_exited_do_not_hold_the_places_of_kept_rings() {
        let rt = runtime(Driver::IoUring);
        let mine = this_threads_driver(&rt);
        // Four threads call once and exit: theirs are the four rings kept
        // last, and this thread's, kept longest ago, made room for them.
        for _ in 0..4 {
            std::thread::scope(|s| {
                s.spawn(|| drop(this_threads_driver(&rt)));
            });
        }
        assert!(!Arc::ptr_eq(&mine, &this_threads_driver(&rt)));
        // A new thread still keeps its ring.
        std::thread::scope(|s| {
            s.spawn(|| {
                let first = this_threads_driver(&rt);
                assert!(Arc::ptr_eq(&first, &this_threads_driver(&rt)));
            });
        });
    }

    #[test]
    fn an_epoll_driver_closes_with_its_block_on() {
        // Its registrations need their thread to poll it: it is not kept.
        let rt = runtime(Driver::Epoll);
        let first = this_threads_driver(&rt);
        assert!(!Arc::ptr_eq(&first, &this_threads_driver(&rt)));
    }
}
