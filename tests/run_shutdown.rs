//! `run`, `block_on` and shutdown: `run` returns main's value; leftover
//! tasks (pending, sleeping, never started, `spawn_local`) are cancelled
//! when `run` ends and their destructors have run by the time it returns;
//! `block_on` leaves tasks alive; `shutdown` and `Drop` cancel; handles
//! spawn from outside the runtime. Each test runs on current_thread,
//! multi_thread with 1 worker and with 4, unless it says why not.

mod common;

use std::future::pending;
use std::time::Duration;

use aio::runtime::Handle;
use common::{tracked, Counter, Flavor, Latch, Watchdog, WATCHDOG};

#[test]
fn run_returns_mains_value() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let out = flavor.runtime().run(async {
            let t = aio::create_task(async { String::from("Result") });
            format!("Task result: {}", t.await.unwrap())
        });
        assert_eq!(out, "Task result: Result");
    }
}

#[test]
fn aio_run_returns_mains_value() {
    // aio::run always builds the default multi_thread runtime.
    assert_eq!(aio::run(async { 300 }), 300);
    let v = vec![1, 2, 3];
    let borrowed: &[i32] = &v;
    // main need not be 'static: it may borrow from the caller.
    assert_eq!(aio::run(async { borrowed.iter().sum::<i32>() }), 6);
    assert_eq!(
        &*aio::run(async { aio::task::current().unwrap().name() }),
        "main"
    );
}

#[test]
fn main_need_not_be_send() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let out = flavor.runtime().run(async {
            let rc = std::rc::Rc::new(20);
            aio::task::yield_now().await;
            *rc + 1
        });
        assert_eq!(out, 21);
    }
}

/// Spawns `n` leftovers of each kind with drop counters; returns once
/// the ones that should have started have started.
async fn leave_leftovers(drops: &Counter, polls: &Counter, n: usize) {
    let started = Latch::counting(2 * n);
    for _ in 0..n {
        let s = started.clone();
        drop(aio::spawn(tracked(polls, drops, async move {
            s.count_down();
            pending::<()>().await;
        })));
        let s = started.clone();
        drop(aio::spawn(tracked(polls, drops, async move {
            s.count_down();
            aio::sleep(Duration::from_secs(24 * 3600)).await;
        })));
        // spawn_local works in the main future on every flavor.
        drop(aio::spawn_local(tracked(polls, drops, pending::<()>())));
    }
    started.wait().await;
    // Spawned last, right before main returns: on current_thread these
    // are never polled.
    for _ in 0..n {
        drop(aio::spawn(tracked(polls, drops, pending::<()>())));
    }
}

#[test]
fn leftover_tasks_are_cancelled_and_dropped_when_run_returns() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let polls = Counter::new();
        let (d, p) = (drops.clone(), polls.clone());
        let out = flavor.runtime().run(async move {
            leave_leftovers(&d, &p, 5).await;
            assert_eq!(d.get(), 0, "nothing cancelled while main runs");
            "main done"
        });
        assert_eq!(out, "main done");
        assert_eq!(
            drops.get(),
            20,
            "{flavor:?}: every leftover's destructor ran"
        );
        if flavor.is_current_thread() {
            // Exactly: 5 pending + 5 sleeping + 5 local started once; the
            // last 5 were never polled.
            assert_eq!(polls.get(), 15);
        }
    }
}

#[test]
fn leftovers_are_cancelled_by_aio_run_too() {
    let drops = Counter::new();
    let polls = Counter::new();
    let (d, p) = (drops.clone(), polls.clone());
    let _dog = Watchdog::new("aio::run", WATCHDOG);
    aio::run(async move { leave_leftovers(&d, &p, 3).await });
    assert_eq!(drops.get(), 12);
}

#[test]
fn block_on_leaves_tasks_alive_and_shutdown_cancels_them() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let polls = Counter::new();
        let rt = flavor.runtime();
        let id = rt.block_on(async {
            let t = aio::spawn(tracked(&polls, &drops, pending::<()>()));
            let id = t.id();
            aio::task::yield_now().await;
            id
        });
        assert_eq!(drops.get(), 0, "{flavor:?}: block_on does not cancel");
        let still_there = rt.block_on(async move {
            aio::task::all_tasks()
                .iter()
                .any(|t| t.id() == id && !t.is_done())
        });
        assert!(
            still_there,
            "{flavor:?}: the task lives between block_on calls"
        );
        rt.shutdown(Duration::from_secs(10));
        assert_eq!(drops.get(), 1, "{flavor:?}: shutdown dropped it");
    }
}

/// `shutdown(Duration::MAX)` ("as long as it takes") cancels and drops
/// what is left like any other timeout (it panicked on the deadline's
/// overflow, and the runtime's threads and tasks lived on).
#[test]
fn shutdown_with_the_longest_timeout_cancels_and_drops() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let polls = Counter::new();
        let rt = flavor.runtime();
        drop(rt.handle().spawn(tracked(&polls, &drops, pending::<()>())));
        rt.block_on(aio::task::yield_now());
        rt.shutdown(Duration::MAX);
        assert_eq!(drops.get(), 1, "{flavor:?}: shutdown dropped it");
    }
}

#[test]
fn block_on_cancels_its_own_spawn_local_tasks_on_multi_thread() {
    // Flavor-specific: on multi_thread, spawn_local tasks of a block_on call
    // are bound to the calling thread, which stops driving them when the
    // call returns, so they are cancelled. On current_thread every task is
    // local to the runtime's one thread and lives on like any other task
    // until shutdown (checked below).
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let polls = Counter::new();
        let rt = flavor.runtime();
        let id = rt.block_on(async {
            let t = aio::spawn_local(tracked(&polls, &drops, pending::<()>()));
            aio::task::yield_now().await;
            t.id()
        });
        assert_eq!(polls.get(), 1, "{flavor:?}");
        if flavor.is_current_thread() {
            assert_eq!(drops.get(), 0);
            let alive =
                rt.block_on(async move { aio::task::all_tasks().iter().any(|t| t.id() == id) });
            assert!(alive);
            drop(rt);
        }
        assert_eq!(drops.get(), 1, "{flavor:?}");
    }
}

#[test]
fn dropping_the_runtime_cancels_its_tasks() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let polls = Counter::new();
        let rt = flavor.runtime();
        for _ in 0..10 {
            drop(rt.handle().spawn(tracked(&polls, &drops, pending::<()>())));
        }
        drop(rt);
        assert_eq!(drops.get(), 10, "{flavor:?}");
    }
}

#[test]
fn handle_spawn_from_outside_the_runtime() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let rt = flavor.runtime();
        let handle = rt.handle().clone();
        // From another, non-runtime thread.
        let t = std::thread::spawn(move || handle.spawn(async { 6 * 7 }))
            .join()
            .unwrap();
        assert_eq!(rt.block_on(t).unwrap(), 42);
        let h = rt.handle().clone();
        let inner = rt.block_on(async move {
            let same = Handle::current();
            assert!(same.is_debug() == h.is_debug());
            h.spawn(async { "from handle" }).await.unwrap()
        });
        assert_eq!(inner, "from handle");
    }
}

#[test]
fn spawn_after_shutdown_began_is_cancelled_at_once() {
    // A leftover's destructor spawns: the registry is closed by then, so
    // the new task is cancelled without being polled.
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let late_polls = Counter::new();
        let late_drops = Counter::new();
        let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
        struct SpawnOnDrop(
            Counter,
            Counter,
            std::sync::Arc<std::sync::Mutex<Option<bool>>>,
        );
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                let t = aio::spawn(tracked(&self.0, &self.1, async {}));
                *self.2.lock().unwrap() = Some(t.cancel());
            }
        }
        let probe = SpawnOnDrop(late_polls.clone(), late_drops.clone(), outcome.clone());
        flavor.runtime().run(async move {
            let started = Latch::new();
            let s = started.clone();
            drop(aio::spawn(async move {
                let _p = probe;
                s.open();
                pending::<()>().await;
            }));
            started.wait().await;
        });
        assert_eq!(
            late_polls.get(),
            0,
            "{flavor:?}: spawned during shutdown, never polled"
        );
        assert_eq!(late_drops.get(), 1, "{flavor:?}: and dropped");
        assert!(
            outcome.lock().unwrap().is_some(),
            "{flavor:?}: the destructor ran"
        );
    }
}

#[test]
fn handle_current_panics_outside_a_runtime() {
    let err = std::panic::catch_unwind(Handle::current).unwrap_err();
    let msg = common::panic_text(&*err).unwrap_or_default();
    assert!(msg.contains("no running aio runtime"), "{msg}");
    let err = std::panic::catch_unwind(|| drop(aio::spawn(async {}))).unwrap_err();
    let msg = common::panic_text(&*err).unwrap_or_default();
    assert!(msg.contains("no running aio runtime"), "{msg}");
}

#[test]
fn many_runs_in_a_row_on_one_thread() {
    let flavors = common::flavors();
    for i in 0..20 {
        let flavor = flavors[i % flavors.len()];
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let out = flavor.runtime().run(async move {
            let t = aio::spawn(async move { i * 2 });
            t.await.unwrap()
        });
        assert_eq!(out, i * 2);
    }
}

#[test]
fn workers_carry_the_configured_thread_name() {
    // multi_thread only: current_thread has no workers (tasks run on the
    // caller's thread, whose name is left alone).
    for flavor in common::multi_thread_flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let rt = flavor.builder().thread_name("my-pool").build().unwrap();
        let names = rt.run(async {
            let tasks: Vec<_> = (0..16)
                .map(|_| aio::spawn(async { std::thread::current().name().map(String::from) }))
                .collect();
            let mut names = Vec::new();
            for t in tasks {
                names.push(t.await.unwrap());
            }
            names
        });
        assert!(
            names.iter().all(|n| n.as_deref() == Some("my-pool")),
            "{names:?}"
        );
    }
    if !common::current_thread_selected() {
        return;
    }
    let caller = std::thread::current().name().map(String::from);
    let seen = Flavor::CurrentThread.runtime().run(async {
        aio::spawn(async { std::thread::current().name().map(String::from) })
            .await
            .unwrap()
    });
    assert_eq!(seen, caller);
}

/// A runtime kept in a thread-local is dropped by that thread-local's
/// destructor when the thread exits, after aio's own thread-locals may
/// already be gone (tokio's `runtime_in_thread_local`; issue 12, item 11).
/// Shutdown must then degrade, not touch them: before, it panicked inside
/// a thread-local destructor, which aborts the process. Two cases: a
/// runtime only stored (as in tokio's test), and one used on that thread
/// first (then aio's thread-locals are registered after the slot, so they
/// are destroyed before it), with a leftover task whose destructor must
/// still run.
#[test]
fn a_runtime_dropped_by_a_thread_local_destructor_shuts_down() {
    use aio::runtime::Runtime;
    use std::cell::RefCell;

    thread_local! {
        static SLOT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
    }

    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        // Only stored.
        std::thread::spawn(move || {
            SLOT.with(|s| *s.borrow_mut() = Some(flavor.runtime()));
        })
        .join()
        .expect("the thread exits cleanly");
        // Used first, with a leftover task.
        let drops = Counter::new();
        let d = drops.clone();
        std::thread::spawn(move || {
            SLOT.with(|s| *s.borrow_mut() = Some(flavor.runtime()));
            SLOT.with(|s| {
                let rt = s.borrow();
                rt.as_ref().unwrap().block_on(async move {
                    let guard = d.drop_guard();
                    drop(aio::spawn(async move {
                        let _guard = guard;
                        pending::<()>().await
                    }));
                    aio::task::yield_now().await;
                });
            });
        })
        .join()
        .expect("the thread exits cleanly");
        assert_eq!(
            drops.get(),
            1,
            "{flavor:?}: the leftover task was not dropped"
        );
        // A leftover spawn_local task: on current_thread it binds the
        // runtime to this thread, which shutdown must still recognise.
        let drops = Counter::new();
        let d = drops.clone();
        std::thread::spawn(move || {
            SLOT.with(|s| *s.borrow_mut() = Some(flavor.runtime()));
            SLOT.with(|s| {
                let rt = s.borrow();
                rt.as_ref().unwrap().block_on(async move {
                    let guard = d.drop_guard();
                    drop(aio::spawn_local(async move {
                        let _guard = std::rc::Rc::new(guard);
                        pending::<()>().await
                    }));
                    aio::task::yield_now().await;
                });
            });
        })
        .join()
        .expect("the thread exits cleanly");
        assert_eq!(
            drops.get(),
            1,
            "{flavor:?}: the leftover local task was not dropped"
        );
    }
}
