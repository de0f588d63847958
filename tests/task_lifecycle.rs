//! Task life cycle (asyncio seed program 7): pending → done, `result()`
//! states, `is_done` only after the future was dropped, names and ids,
//! `current()`, `all_tasks()`, done callbacks before and after completion,
//! and the background-task set of seed program 8. Each test runs on
//! current_thread, multi_thread with 1 worker and with 4.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use aio::task::{self, TaskRef};
use common::{on_all_flavors, tracked, yield_until, Counter, Latch};

#[test]
fn result_is_invalid_state_while_pending_then_the_value_then_invalid_state() {
    on_all_flavors(|_| async {
        let go = Latch::new();
        let g = go.clone();
        let mut t = aio::spawn(async move {
            g.wait().await;
            String::from("value")
        });
        assert!(!t.is_done());
        assert!(!t.is_cancelled());
        assert!(t.result().unwrap_err().is_invalid_state());

        // Learn of completion without taking the output.
        let done = Latch::new();
        let d = done.clone();
        t.add_done_callback(move |_| d.open());
        go.open();
        done.wait().await;

        assert!(t.is_done());
        assert!(!t.is_cancelled());
        assert_eq!(t.result().unwrap(), "value");
        let again = t.result().unwrap_err();
        assert!(again.is_invalid_state());
        assert!(!again.is_cancelled() && !again.is_panic());
        assert_eq!(again.id(), t.id());
        // Awaiting after the output was taken is the same invalid state.
        assert!((&mut t).await.unwrap_err().is_invalid_state());
    });
}

#[test]
fn unlinked_await_takes_the_output_once() {
    on_all_flavors(|_| async {
        let mut t = aio::spawn(async { 5u8 });
        assert_eq!((&mut t).await.unwrap(), 5);
        assert!(t.is_done());
        assert!(t.result().unwrap_err().is_invalid_state());
        assert!(t.await.unwrap_err().is_invalid_state());
    });
}

#[test]
fn is_done_turns_true_only_after_the_future_was_dropped() {
    on_all_flavors(|_| async {
        let polls = Counter::new();
        let drops = Counter::new();
        let t = aio::spawn(tracked(&polls, &drops, async {
            task::yield_now().await;
            task::yield_now().await;
        }));
        let r = t.task_ref();
        drop(t); // detached: nobody takes the output
        let mut seen_done = false;
        while !seen_done {
            // Read is_done first: whenever it says true, the drop counter
            // must already show the destructor.
            seen_done = r.is_done();
            let dropped = drops.get();
            if seen_done {
                assert_eq!(dropped, 1, "is_done() before the future was dropped");
            } else {
                task::yield_now().await;
            }
        }
        assert_eq!(polls.get(), 3, "two yields: exactly three polls");
        assert!(!r.is_cancelled());
    });
}

#[test]
fn a_task_is_polled_once_per_wake() {
    on_all_flavors(|_| async {
        let polls = Counter::new();
        let drops = Counter::new();
        let t = aio::spawn(tracked(&polls, &drops, async {
            for _ in 0..100 {
                task::yield_now().await;
            }
            7
        }));
        assert_eq!(t.await.unwrap(), 7);
        assert_eq!(polls.get(), 101);
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn default_names_are_task_dash_id() {
    on_all_flavors(|_| async {
        let a = aio::spawn(async {});
        let b = aio::create_task(async {});
        assert_ne!(a.id(), b.id());
        assert_eq!(&*a.name(), format!("Task-{}", a.id()));
        assert_eq!(&*b.name(), format!("Task-{}", b.id()));
        assert_eq!(a.id(), a.task_ref().id());
        assert_eq!(a.id().to_string(), a.id().as_u64().to_string());
        a.await.unwrap();
        b.await.unwrap();
    });
}

#[test]
fn builder_name_set_name_and_current_inside_the_task() {
    on_all_flavors(|_| async {
        let t = task::Builder::new().name("worker-1").spawn(async {
            let me = task::current().expect("current() inside a task");
            let first = me.name();
            task::yield_now().await;
            (first, me.id())
        });
        assert_eq!(&*t.name(), "worker-1");
        let id = t.id();
        let (inside, inside_id) = t.await.unwrap();
        assert_eq!(&*inside, "worker-1");
        assert_eq!(inside_id, id);

        let t = aio::spawn(std::future::pending::<()>());
        t.set_name("renamed");
        assert_eq!(&*t.name(), "renamed");
        let r = t.task_ref();
        assert_eq!(&*r.name(), "renamed");
        r.set_name("via-ref");
        assert_eq!(&*t.name(), "via-ref");
        assert!(task::all_tasks().iter().any(|x| &*x.name() == "via-ref"));
        assert!(t.cancel());
    });
}

#[test]
fn main_is_named_main_and_is_current() {
    on_all_flavors(|_| async {
        let me = task::current().expect("main is a task");
        assert_eq!(&*me.name(), "main");
        assert!(!me.is_done() && !me.is_cancelled());
        assert!(task::all_tasks().contains(&me));
        // A spawned task's current() is itself, not main.
        let main_id = me.id();
        let other = aio::spawn(async { task::current().map(|t| t.id()) });
        let other_id = other.id();
        assert_eq!(other.await.unwrap(), Some(other_id));
        assert_ne!(other_id, main_id);
    });
}

#[test]
fn all_tasks_inside_a_spawned_task_lists_main() {
    on_all_flavors(|flavor| async move {
        let main_id = task::current().unwrap().id();
        let seen = aio::spawn(async move {
            task::all_tasks()
                .into_iter()
                .find(|t| t.id() == main_id)
                .map(|t| t.name().to_string())
        });
        assert_eq!(
            seen.await.unwrap().as_deref(),
            Some("main"),
            "{flavor:?}: all_tasks() inside a spawned task lists main"
        );
    });
}

#[test]
fn current_is_none_outside_a_runtime() {
    // Not flavor-specific in substance: it checks the absence of a runtime.
    assert!(task::current().is_none());
    assert!(aio::runtime::Handle::try_current().is_err());
    let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert!(task::current().is_some());
        assert!(aio::runtime::Handle::try_current().is_ok());
    });
    assert!(task::current().is_none());
}

#[test]
fn all_tasks_lists_live_tasks_and_not_done_ones() {
    on_all_flavors(|_| async {
        let main = task::current().unwrap();
        let pending = aio::spawn(std::future::pending::<()>());
        let mut finished = aio::spawn(async { 1 });
        assert_eq!((&mut finished).await.unwrap(), 1);

        let all = task::all_tasks();
        let ids: Vec<_> = all.iter().map(TaskRef::id).collect();
        assert!(ids.contains(&main.id()));
        assert!(ids.contains(&pending.id()));
        assert!(!ids.contains(&finished.id()), "a done task is not live");
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "all_tasks is in id order");
        assert!(all.iter().all(|t| !t.is_done()));

        let pid = pending.id();
        assert!(pending.cancel());
        assert!(pending.await.unwrap_err().is_cancelled());
        assert!(!task::all_tasks().iter().any(|t| t.id() == pid));
        assert_eq!(
            task::all_tasks()
                .iter()
                .map(TaskRef::id)
                .collect::<Vec<_>>(),
            vec![main.id()],
            "only main is left"
        );
    });
}

#[test]
fn done_callback_added_before_completion_runs_once_done() {
    on_all_flavors(|_| async {
        let go = Latch::new();
        let g = go.clone();
        let t = aio::spawn(async move {
            g.wait().await;
            3
        });
        let id = t.id();
        let called = Latch::new();
        let seen: Arc<Mutex<Option<(bool, bool, u64)>>> = Arc::default();
        let (c, s) = (called.clone(), seen.clone());
        t.add_done_callback(move |r: &TaskRef| {
            *s.lock().unwrap() = Some((r.is_done(), r.is_cancelled(), r.id().as_u64()));
            c.open();
        });
        // Not before completion: yield a few times, the callback must wait.
        for _ in 0..10 {
            task::yield_now().await;
        }
        assert!(seen.lock().unwrap().is_none());
        go.open();
        called.wait().await;
        assert_eq!(*seen.lock().unwrap(), Some((true, false, id.as_u64())));
        assert_eq!(t.await.unwrap(), 3);
    });
}

#[test]
fn done_callback_added_after_completion_still_runs() {
    on_all_flavors(|_| async {
        let mut t = aio::spawn(async { "x" });
        assert_eq!((&mut t).await.unwrap(), "x");
        assert!(t.is_done());
        let called = Latch::counting(2);
        let hits = Counter::new();
        for _ in 0..2 {
            let (c, h) = (called.clone(), hits.clone());
            t.add_done_callback(move |r| {
                assert!(r.is_done());
                h.bump();
                c.count_down();
            });
        }
        called.wait().await;
        assert_eq!(hits.get(), 2);
    });
}

#[test]
fn done_callbacks_run_for_cancelled_tasks() {
    on_all_flavors(|_| async {
        let t = aio::spawn(std::future::pending::<()>());
        let called = Latch::new();
        let cancelled = Arc::new(Mutex::new(None));
        let (c, s) = (called.clone(), cancelled.clone());
        t.add_done_callback(move |r| {
            *s.lock().unwrap() = Some(r.is_cancelled());
            c.open();
        });
        assert!(t.cancel());
        called.wait().await;
        assert_eq!(*cancelled.lock().unwrap(), Some(true));
        assert!(t.is_cancelled());
    });
}

/// Seed program 8: keep background tasks in a set; each removes itself
/// with a done callback.
#[test]
fn background_tasks_remove_themselves_with_done_callbacks() {
    on_all_flavors(|_| async {
        let live: Arc<Mutex<HashSet<u64>>> = Arc::default();
        let all_removed = Latch::counting(10);
        let ran = Counter::new();
        for i in 0..10u64 {
            let r = ran.clone();
            let t = aio::spawn(async move {
                task::yield_now().await;
                r.bump();
                i
            });
            live.lock().unwrap().insert(t.id().as_u64());
            let (l, done) = (live.clone(), all_removed.clone());
            t.add_done_callback(move |r| {
                assert!(l.lock().unwrap().remove(&r.id().as_u64()));
                done.count_down();
            });
            // `t` is dropped here: detached, it keeps running.
        }
        all_removed.wait().await;
        assert!(live.lock().unwrap().is_empty());
        assert_eq!(ran.get(), 10);
    });
}

#[test]
fn dropping_a_task_handle_detaches_it() {
    on_all_flavors(|_| async {
        let finished = Latch::new();
        let f = finished.clone();
        let go = Latch::new();
        let g = go.clone();
        let t = aio::spawn(async move {
            g.wait().await;
            f.open();
        });
        let r = t.task_ref();
        drop(t);
        assert!(!r.is_done() && !r.is_cancelled());
        go.open();
        finished.wait().await;
        yield_until(|| r.is_done()).await;
        assert!(!r.is_cancelled(), "a detached task is not cancelled");
    });
}

#[test]
fn a_done_callback_may_spawn_tasks() {
    on_all_flavors(|_| async {
        let spawned_ran = Latch::new();
        let s = spawned_ran.clone();
        let t = aio::spawn(async {});
        t.add_done_callback(move |_| {
            drop(aio::spawn(async move { s.open() }));
        });
        t.await.unwrap();
        spawned_ran.wait().await;
    });
}
