//! Joining tasks: a join handle moved between awaiters still gets woken;
//! outputs nobody reads are dropped; a task awaiting ready joins in a loop
//! yields after its cooperative budget; `spawn_local` runs `!Send`
//! futures where allowed and panics elsewhere. Each test runs on
//! current_thread, multi_thread with 1 worker and with 4, unless it says
//! why not.

mod common;

use std::future::IntoFuture;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use common::{on_all_flavors, panic_text, poll_once, Counter, Flavor, Latch, Watchdog, WATCHDOG};

#[test]
fn a_join_handle_moved_to_another_awaiter_is_still_woken() {
    on_all_flavors(|_| async {
        let go = Latch::new();
        let g = go.clone();
        let mut t = aio::spawn(async move {
            g.wait().await;
            "late"
        });
        // Main registers its waker on the join, then gives the handle away.
        {
            let mut join = (&mut t).into_future();
            assert!(poll_once(&mut join).await.is_none());
        }
        let awaiting = Latch::new();
        let a = awaiting.clone();
        let awaiter = aio::spawn(async move {
            a.open();
            t.await.unwrap() // polled in this same poll: the waker moves here
        });
        awaiting.wait().await;
        go.open();
        assert_eq!(awaiter.await.unwrap(), "late");
    });
}

#[test]
fn outputs_nobody_reads_are_dropped() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        // Detached before it finishes.
        let d = drops.clone();
        let t = aio::spawn(async move { d.drop_guard() });
        let r = t.task_ref();
        drop(t);
        common::yield_until(|| r.is_done()).await;
        // Finished, then the handle is dropped unread.
        let d = drops.clone();
        let t = aio::spawn(async move { d.drop_guard() });
        let done = Latch::new();
        let l = done.clone();
        t.add_done_callback(move |_| l.open());
        done.wait().await;
        assert_eq!(
            drops.get(),
            1,
            "the unread output is still held by its handle"
        );
        drop(t);
        assert_eq!(drops.get(), 2);
        // Read: the reader owns (and here drops) the output.
        let d = drops.clone();
        let out = aio::spawn(async move { d.drop_guard() }).await.unwrap();
        assert_eq!(drops.get(), 2);
        drop(out);
        assert_eq!(drops.get(), 3);
    });
}

#[test]
fn outputs_of_leftover_finished_tasks_are_dropped_at_shutdown() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let d = drops.clone();
        let rt = flavor.runtime();
        let handles = rt.block_on(async move {
            let mut v = Vec::new();
            for _ in 0..10 {
                let d = d.clone();
                v.push(aio::spawn(async move { d.drop_guard() }));
            }
            for t in &mut v {
                let done = Latch::new();
                let l = done.clone();
                t.add_done_callback(move |_| l.open());
                done.wait().await;
            }
            v
        });
        assert_eq!(drops.get(), 0);
        drop(rt);
        assert_eq!(
            drops.get(),
            0,
            "{flavor:?}: the handles still own the outputs"
        );
        drop(handles);
        assert_eq!(drops.get(), 10, "{flavor:?}");
    }
}

#[test]
fn a_task_looping_on_ready_joins_yields_to_others() {
    // Each `(&mut t).await` on a finished, already-read task is ready at
    // once. Without a cooperative budget the loop below would never give
    // the other task a chance on current_thread (or on a single worker).
    on_all_flavors(|flavor| async move {
        let flag = Arc::new(AtomicBool::new(false));
        let spins = Counter::new();
        let (f, s) = (flag.clone(), spins.clone());
        let mut done = aio::spawn(async {});
        (&mut done).await.unwrap();
        let spinner = aio::spawn(async move {
            while !f.load(SeqCst) {
                assert!((&mut done).await.unwrap_err().is_invalid_state());
                s.bump();
            }
        });
        let s = spins.clone();
        let setter = aio::spawn(async move {
            flag.store(true, SeqCst);
            s.get()
        });
        let seen_by_setter = setter.await.unwrap();
        spinner.await.unwrap();
        if flavor.is_current_thread() {
            // The spinner runs first, until its budget of 128 runs out;
            // then the setter runs, then the spinner sees the flag.
            assert_eq!(seen_by_setter, 128, "ready joins spent the budget");
            // Its suspended join completes when it resumes, then it stops.
            assert_eq!(spins.get(), 129);
        }
    });
}

#[test]
fn spawn_local_runs_non_send_futures_in_main() {
    on_all_flavors(|_| async {
        let shared = Rc::new(std::cell::Cell::new(0));
        let mut tasks = Vec::new();
        for i in 1..=10 {
            let s = shared.clone();
            tasks.push(aio::spawn_local(async move {
                aio::task::yield_now().await;
                s.set(s.get() + i);
            }));
        }
        let named = aio::task::Builder::new()
            .name("local-one")
            .spawn_local(async { aio::task::current().unwrap().name() });
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(shared.get(), 55);
        assert_eq!(&*named.await.unwrap(), "local-one");
    });
}

#[test]
fn spawn_local_inside_a_worker_task_panics_saying_so() {
    // multi_thread only: a spawned task runs on a worker, where there is
    // no local executor. (On current_thread every task may spawn_local.)
    for flavor in common::multi_thread_flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        flavor.runtime().run(async {
            let t = aio::spawn(async { drop(aio::spawn_local(async {})) });
            let err = t.await.unwrap_err();
            assert!(err.is_panic());
            let msg = panic_text(&*err.into_panic()).unwrap_or_default();
            assert!(msg.contains("spawn_local"), "{msg}");
        });
    }
    if common::current_thread_selected() {
        Flavor::CurrentThread.runtime().run(async {
            let t = aio::spawn(async { aio::spawn_local(async { 3 }).await.unwrap() });
            assert_eq!(t.await.unwrap(), 3);
        });
    }
}

#[test]
fn awaiting_a_task_from_many_tasks_in_turn() {
    // The result goes to whoever holds the handle; the others' unlinked
    // polls leave it in place.
    on_all_flavors(|_| async {
        let go = Latch::new();
        let g = go.clone();
        let mut t = aio::spawn(async move {
            g.wait().await;
            11
        });
        for _ in 0..5 {
            let mut join = (&mut t).into_future();
            assert!(poll_once(&mut join).await.is_none());
        }
        go.open();
        assert_eq!(t.await.unwrap(), 11);
    });
}
