//! Model: run queues + injector + the idle protocol + park/unpark never
//! lose a wake. Two workers follow the steps of `worker.rs` (find work:
//! local, injector, steal as a searcher; park: `transition_worker_to_parked`,
//! last searcher re-checks, park in the (condvar) driver, come back as a
//! searcher if notified; hand the tasks its ring woke to a running
//! sibling) while outside threads inject tasks and call `notify_parked`.
//! Every task must run; a lost wake shows up as every thread blocked,
//! which loom reports.

use super::super::idle::Idle;
use super::super::queue::{self, Inject, Local, RunQueue, Steal, Stealer};
use crate::driver::Driver;
use crate::driver::DriverConfig;
use crate::loom::model::{model, model_capped};
use crate::loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::rt::ExceptionContext;
use crate::task::raw::{Cell, TaskPtr};
use crate::task::{Notified, Schedule, TaskId};
use loom::thread;

struct NoResched;
impl Schedule for NoResched {
    fn schedule(&self, _task: Notified, _is_yield: bool) {
        unreachable!("model tasks finish in one poll")
    }
    fn release(&self, _task: TaskPtr) -> bool {
        false
    }
    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>) {
        f()
    }
    fn report(&self, _ctx: &ExceptionContext) {}
    fn is_shutting_down(&self) -> bool {
        false
    }
}

struct Model {
    idle: Idle,
    inject: Inject,
    stealers: Vec<Stealer>,
    unparkers: Vec<Arc<crate::driver::Unparker>>,
    shutdown: AtomicBool,
    ran: AtomicUsize,
    total: usize,
}

impl Model {
    fn notify_parked(&self) {
        if let Some(i) = self.idle.worker_to_notify() {
            self.unparkers[i].unpark();
        }
    }

    fn notify_if_work_pending(&self) {
        fence(SeqCst);
        if self.stealers.iter().any(|s| !s.is_empty()) || !self.inject.is_empty() {
            self.notify_parked();
        }
    }

    /// A task that counts itself and stops the model after the last one.
    fn task(self: &Arc<Self>) -> Notified {
        self.task_then(|| {})
    }

    /// A task that runs `f` (which may block its worker), then counts
    /// itself as `task`'s do.
    fn task_then(self: &Arc<Self>, f: impl FnOnce() + Send + 'static) -> Notified {
        let m = self.clone();
        let ptr = Cell::allocate(
            async move {
                f();
                if m.ran.fetch_add(1, SeqCst) + 1 == m.total {
                    m.shutdown.store(true, SeqCst);
                    for u in &m.unparkers {
                        u.unpark();
                    }
                }
            },
            NoResched,
            TaskId::next(),
            None,
            None,
            1,
            0,
        );
        // The join interest is never used: drop it by hand so the task
        // frees itself when it completes.
        // SAFETY: `ptr` is a fresh task; we are its only handle owner.
        let h = unsafe { ptr.header() };
        h.state.ref_inc();
        // SAFETY: we hold the join handle's (new) reference.
        unsafe { (h.vtable.drop_join_handle)(ptr) };
        Notified::from_raw(ptr)
    }
}

fn worker(m: Arc<Model>, index: usize, local: Local, driver: Driver) {
    worker_from(m, index, local, driver, false)
}

/// `hand_off` of `worker.rs`: tasks a parked worker's ring woke go to a
/// running sibling through the injector; wake a sleeper if nobody runs.
fn hand_off(m: &Model, index: usize, local: &Local) -> bool {
    if !m.inject.is_empty() {
        return false;
    }
    let other_runs = (0..2).any(|i| i != index && !m.idle.is_parked(i));
    if m.idle.num_unparked() == 0 || !other_runs {
        return false;
    }
    while let Some(t) = local.pop() {
        m.inject.push(t);
    }
    fence(SeqCst);
    if m.idle.num_unparked() == 0 {
        m.notify_parked();
    }
    true
}

/// The worker loop; `woken_parked`: start as a parked worker that its
/// ring has just woken with the tasks already in `local`.
fn worker_from(m: Arc<Model>, index: usize, local: Local, mut driver: Driver, woken_parked: bool) {
    let mut skip_park = woken_parked;
    let mut searching =
        woken_parked && park_until_work(&m, index, &local, &mut driver, &mut skip_park);
    loop {
        let found = local
            .pop()
            .or_else(|| m.inject.pop_into(&local))
            .or_else(|| {
                if !searching {
                    if !m.idle.transition_worker_to_searching() {
                        return None;
                    }
                    searching = true;
                }
                for (i, s) in m.stealers.iter().enumerate() {
                    if i != index {
                        if let Steal::Success(t) = s.steal_into(&local) {
                            return Some(t);
                        }
                    }
                }
                m.inject.pop_into(&local)
            });
        if let Some(t) = found {
            if searching {
                searching = false;
                if m.idle.transition_worker_from_searching() {
                    m.notify_if_work_pending();
                }
            }
            t.run();
            continue;
        }
        if m.shutdown.load(SeqCst) {
            return;
        }
        let was_searching = std::mem::replace(&mut searching, false);
        if m.idle.transition_worker_to_parked(index, was_searching) {
            m.notify_if_work_pending();
        }
        searching = park_until_work(&m, index, &local, &mut driver, &mut skip_park);
    }
}

/// The loop of `WorkerCtx::park`; returns whether the worker comes back
/// as a searcher.
fn park_until_work(
    m: &Model,
    index: usize,
    local: &Local,
    driver: &mut Driver,
    skip_park: &mut bool,
) -> bool {
    loop {
        if m.shutdown.load(SeqCst) {
            return false;
        }
        if !std::mem::replace(skip_park, false) {
            driver.park(None, true);
        }
        if !m.idle.is_parked(index) {
            return true;
        }
        if !local.is_empty() {
            if hand_off(m, index, local) {
                continue;
            }
            return !m.idle.unpark_worker_by_id(index);
        }
    }
}

/// Builds a two-worker model whose tasks stop it after `total` ran.
fn build(total: usize) -> (Arc<Model>, Vec<(Local, Driver)>) {
    let mut parts = Vec::new();
    let mut stealers = Vec::new();
    let mut unparkers = Vec::new();
    for _ in 0..2 {
        let (l, s) = queue::local();
        let d = Driver::new(
            &DriverConfig::new(
                crate::rt::Driver::Epoll,
                8,
                std::time::Duration::ZERO,
                1,
                std::time::Duration::ZERO,
            ),
            None,
            true,
            Default::default(),
        )
        .unwrap();
        unparkers.push(d.unparker.clone());
        stealers.push(s);
        parts.push((l, d));
    }
    let m = Arc::new(Model {
        idle: Idle::new(2),
        inject: Inject::new(),
        stealers,
        unparkers,
        shutdown: AtomicBool::new(false),
        ran: AtomicUsize::new(0),
        total,
    });
    (m, parts)
}

/// `injectors` outside threads each inject one task; worker 0 runs on the
/// model's main thread, worker 1 on its own.
fn run_model(injectors: usize, cap: usize) {
    model_capped(cap, move || {
        let (m, mut parts) = build(injectors);
        let (l1, d1) = parts.pop().unwrap();
        let (l0, d0) = parts.pop().unwrap();
        let mut ths = Vec::new();
        for _ in 0..injectors {
            let m = m.clone();
            ths.push(thread::spawn(move || {
                m.inject.push(m.task());
                m.notify_parked();
            }));
        }
        let m1 = m.clone();
        let w1 = thread::spawn(move || worker(m1, 1, l1, d1));
        worker(m.clone(), 0, l0, d0);
        for t in ths {
            t.join().unwrap();
        }
        w1.join().unwrap();
        assert_eq!(m.ran.load(SeqCst), m.total);
    });
}

#[test]
fn injected_tasks_always_run() {
    run_model(1, usize::MAX);
}

#[test]
fn a_task_pushed_to_a_local_queue_is_stolen_or_run() {
    // Worker 1 holds two tasks in its local queue and parks without
    // running them (as if it was descheduled); worker 0 must steal them
    // after being notified through the idle protocol.
    model(|| {
        let (m, mut parts) = build(2);
        let (l1, d1) = parts.pop().unwrap();
        let (l0, d0) = parts.pop().unwrap();
        l1.push(m.task());
        l1.push(m.task());
        let m1 = m.clone();
        let w1 = thread::spawn(move || {
            // `schedule_local` with two tasks queued: should_notify_others.
            m1.notify_parked();
            worker(m1, 1, l1, d1)
        });
        worker(m.clone(), 0, l0, d0);
        w1.join().unwrap();
        assert_eq!(m.ran.load(SeqCst), 2);
    });
}

#[test]
fn tasks_handed_off_by_a_parked_worker_always_run() {
    // Worker 1 is parked and its ring has just woken it with two tasks;
    // worker 0 is running (and about to park, having found nothing): the
    // hand-off through the injector must reach a worker whatever the
    // interleaving.
    model(|| {
        let (m, mut parts) = build(2);
        let (l1, d1) = parts.pop().unwrap();
        let (l0, d0) = parts.pop().unwrap();
        assert!(!m.idle.transition_worker_to_parked(1, false));
        l1.push(m.task());
        l1.push(m.task());
        let m1 = m.clone();
        let w1 = thread::spawn(move || worker_from(m1, 1, l1, d1, true));
        worker(m.clone(), 0, l0, d0);
        w1.join().unwrap();
        assert_eq!(m.ran.load(SeqCst), 2);
    });
}

#[test]
fn a_task_that_blocks_its_worker_leaves_the_next_one_to_a_sibling() {
    // Both workers parked; an outside thread injects two tasks and wakes
    // one worker, which becomes the last searcher when it finds them. The
    // first task to run blocks its worker until the other has run, so the
    // other must reach the sibling: the last searcher, having found work,
    // sees the second task queued (in the injector or its own queue) and
    // wakes it. Fails if that searcher wakes nobody.
    model(|| {
        let (m, mut parts) = build(2);
        let (l1, d1) = parts.pop().unwrap();
        let (l0, d0) = parts.pop().unwrap();
        assert!(!m.idle.transition_worker_to_parked(0, false));
        assert!(!m.idle.transition_worker_to_parked(1, false));
        let started = Arc::new(AtomicUsize::new(0));
        let other_ran = Arc::new(loom::sync::Notify::new());
        let gated = || {
            let (started, other_ran) = (started.clone(), other_ran.clone());
            move || {
                if started.fetch_add(1, SeqCst) == 0 {
                    other_ran.wait();
                } else {
                    other_ran.notify();
                }
            }
        };
        let (a, b) = (m.task_then(gated()), m.task_then(gated()));
        let mi = m.clone();
        let injector = thread::spawn(move || {
            mi.inject.push(a);
            mi.inject.push(b);
            mi.notify_parked();
        });
        let m1 = m.clone();
        let w1 = thread::spawn(move || worker_from(m1, 1, l1, d1, true));
        worker_from(m.clone(), 0, l0, d0, true);
        injector.join().unwrap();
        w1.join().unwrap();
        assert_eq!(m.ran.load(SeqCst), 2);
    });
}

/// Two injecting threads: a larger state space, so capped at 2 preemptions
/// (about 3 minutes at 3; run that by hand when changing idle.rs).
#[test]
fn two_injectors() {
    run_model(2, 2);
}
