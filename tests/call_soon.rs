//! `Handle::call_soon`: callbacks run in the order scheduled, one at a
//! time; `CallbackHandle::cancel` stops one that has not started; a
//! panicking callback is reported and the queue goes on; done callbacks of
//! one task run in the order added. Each test runs on current_thread,
//! multi_thread with 1 worker and with 4.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use aio::runtime::Handle;
use common::{
    on_all_flavors, on_all_flavors_with, Counter, Latch, Log, Reports, Watchdog, WATCHDOG,
};

#[test]
fn callbacks_run_in_order_one_at_a_time() {
    on_all_flavors(|_| async {
        let h = Handle::current();
        let log = Log::new();
        let busy = Arc::new(AtomicBool::new(false));
        let done = Latch::counting(100);
        for i in 0..100 {
            let (log, busy, done) = (log.clone(), busy.clone(), done.clone());
            h.call_soon(move || {
                assert!(!busy.swap(true, SeqCst), "callbacks overlap");
                log.push(i.to_string());
                std::hint::black_box((0..100).sum::<u32>());
                busy.store(false, SeqCst);
                done.count_down();
            });
        }
        done.wait().await;
        let want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(log.get(), want);
    });
}

#[test]
fn callbacks_from_many_tasks_never_overlap_and_keep_each_sources_order() {
    on_all_flavors(|_| async {
        let log = Log::new();
        let busy = Arc::new(AtomicBool::new(false));
        let sources = 8;
        // Fewer callbacks per source under Miri, which interprets every step.
        let per = if cfg!(miri) { 10 } else { 50 };
        let done = Latch::counting(sources * per);
        let tasks: Vec<_> = (0..sources)
            .map(|s| {
                let (log, busy, done) = (log.clone(), busy.clone(), done.clone());
                aio::spawn(async move {
                    let h = Handle::current();
                    for i in 0..per {
                        let (log, busy, done) = (log.clone(), busy.clone(), done.clone());
                        h.call_soon(move || {
                            assert!(!busy.swap(true, SeqCst), "callbacks overlap");
                            log.push(format!("{s}:{i}"));
                            busy.store(false, SeqCst);
                            done.count_down();
                        });
                        if i % 10 == 0 {
                            aio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        done.wait().await;
        let got = log.get();
        assert_eq!(got.len(), sources * per);
        for s in 0..sources {
            let mine: Vec<_> = got
                .iter()
                .filter(|e| e.starts_with(&format!("{s}:")))
                .cloned()
                .collect();
            let want: Vec<_> = (0..per).map(|i| format!("{s}:{i}")).collect();
            assert_eq!(mine, want);
        }
    });
}

/// A callback that schedules itself again runs once per pass of the
/// queue, and other tasks run between passes (asyncio's rule); it used
/// to keep its thread forever (current_thread hung).
#[test]
fn a_callback_that_reschedules_itself_lets_other_tasks_run() {
    fn again(h: Handle, stop: Arc<AtomicBool>, runs: Counter) {
        runs.bump();
        if !stop.load(SeqCst) {
            let h2 = h.clone();
            h.call_soon(move || again(h2, stop, runs));
        }
    }
    on_all_flavors(|_| async {
        let stop = Arc::new(AtomicBool::new(false));
        let runs = Counter::new();
        again(Handle::current(), stop.clone(), runs.clone());
        for _ in 0..3 {
            aio::task::yield_now().await;
        }
        stop.store(true, SeqCst);
        assert!(runs.get() >= 1, "the first call ran");
    });
}

/// A done callback added to a finished task from outside any runtime runs
/// on the task's runtime (it panicked: "no running aio runtime").
#[test]
fn a_done_callback_added_outside_the_runtime_runs_on_the_tasks() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let rt = flavor.runtime();
        let task = rt.block_on(async {
            let mut t = aio::spawn(async { 7 });
            assert_eq!((&mut t).await.unwrap(), 7);
            t
        });
        let ran = Latch::new();
        let r = ran.clone();
        task.add_done_callback(move |t| {
            assert!(t.is_done());
            r.open();
        });
        rt.block_on(ran.wait());
    }
}

/// Callbacks scheduled after the runtime shut down never run and are
/// dropped at once (they stayed queued in the runtime they keep alive
/// through their `Handle`: a leak).
#[test]
fn callbacks_after_shutdown_are_dropped_not_kept() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let rt = flavor.runtime();
        let h = rt.handle().clone();
        drop(rt);
        let dropped = Counter::new();
        for _ in 0..3 {
            let (guard, keep) = (dropped.drop_guard(), h.clone());
            h.call_soon(move || {
                let _ = (guard, keep);
                panic!("a callback ran after shutdown");
            });
        }
        assert_eq!(dropped.get(), 3, "{flavor:?}: every callback dropped");
    }
}

#[test]
fn call_soon_from_outside_the_runtime() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let rt = flavor.runtime();
        let handle = rt.handle().clone();
        let ran = Latch::new();
        let r = ran.clone();
        std::thread::spawn(move || {
            handle.call_soon(move || r.open());
        })
        .join()
        .unwrap();
        rt.block_on(ran.wait());
        assert!(ran.is_open());
    }
}

#[test]
fn cancel_before_it_started_means_it_never_runs() {
    on_all_flavors(|flavor| async move {
        let h = Handle::current();
        // multi_thread: hold the queue's runner inside a first callback, so
        // the victim cannot start before it is cancelled. current_thread:
        // nothing runs before main yields, and blocking would deadlock.
        let release = Latch::new();
        if !flavor.is_current_thread() {
            let started = Latch::new();
            let (s, r) = (started.clone(), release.clone());
            h.call_soon(move || {
                s.open();
                r.wait_blocking();
            });
            started.wait().await;
        }
        let ran = Counter::new();
        let r = ran.clone();
        let victim = h.call_soon(move || {
            r.bump();
        });
        assert!(!victim.is_cancelled());
        assert!(victim.cancel());
        assert!(victim.is_cancelled());
        assert!(victim.cancel(), "cancelling again still reports cancelled");
        release.open();
        let after = Latch::new();
        let a = after.clone();
        h.call_soon(move || a.open());
        after.wait().await;
        assert_eq!(ran.get(), 0);
    });
}

#[test]
fn cancel_after_it_ran_returns_false() {
    on_all_flavors(|_| async {
        let ran = Latch::new();
        let r = ran.clone();
        let cb = Handle::current().call_soon(move || r.open());
        ran.wait().await;
        assert!(!cb.cancel());
        assert!(!cb.is_cancelled());
    });
}

#[test]
fn a_panicking_callback_is_reported_and_the_queue_goes_on() {
    let reports = Reports::new();
    let r = reports.clone();
    on_all_flavors_with(
        move |_, b| {
            b.exception_handler(r.handler());
        },
        |_| async {
            let h = Handle::current();
            h.call_soon(|| panic!("callback boom"));
            let after = Latch::new();
            let a = after.clone();
            h.call_soon(move || a.open());
            after.wait().await;
        },
    );
    let got = reports.take();
    assert_eq!(got.len(), common::flavors().len(), "{got:?}");
    for r in got {
        assert_eq!(r.message, "Exception in callback");
        assert_eq!(r.panic.as_deref(), Some("callback boom"));
    }
}

#[test]
fn done_callbacks_of_one_task_run_in_the_order_added() {
    on_all_flavors(|_| async {
        let go = Latch::new();
        let g = go.clone();
        let t = aio::spawn(async move { g.wait().await });
        let log = Log::new();
        let all = Latch::counting(10);
        for i in 0..10 {
            let (log, all) = (log.clone(), all.clone());
            t.add_done_callback(move |_| {
                log.push(i.to_string());
                all.count_down();
            });
        }
        go.open();
        all.wait().await;
        let want: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        assert_eq!(log.get(), want);
        t.await.unwrap();
    });
}
