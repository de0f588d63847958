//! Cancellation: `cancel()` before the first poll, while pending, during a
//! poll that returns `Ready` (cancel wins), after completion; destructors
//! run exactly once; linked (`task.await`) versus unlinked
//! (`(&mut task).await`) joins. Each test runs on current_thread,
//! multi_thread with 1 worker and with 4.

mod common;

use std::future::{pending, IntoFuture};
use std::time::Duration;

use aio::task;
use common::{on_all_flavors, poll_once, tracked, yield_until, Counter, HeldWorkers, Latch};

#[test]
fn cancel_before_start_never_polls_the_future() {
    on_all_flavors(|flavor| async move {
        let polls = Counter::new();
        let drops = Counter::new();
        // current_thread: nothing runs until main yields. multi_thread:
        // every worker is held, so the new task cannot start.
        let held = HeldWorkers::hold(flavor);
        let t = aio::spawn(tracked(&polls, &drops, async { 1 }));
        assert!(!t.is_done());
        assert!(t.cancel(), "a task that has not run is not done");
        held.release().await;

        let r = t.task_ref();
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic() && !err.is_invalid_state());
        assert!(r.is_done() && r.is_cancelled());
        assert_eq!(
            polls.get(),
            0,
            "{flavor:?}: cancelled before start, never polled"
        );
        assert_eq!(drops.get(), 1, "the future was dropped exactly once");
    });
}

#[test]
fn cancel_a_pending_task_drops_it_at_its_await_point() {
    on_all_flavors(|_| async {
        let polls = Counter::new();
        let drops = Counter::new();
        let inner_drops = Counter::new();
        let started = Latch::new();
        let s = started.clone();
        let guard_counter = inner_drops.clone();
        let mut t = aio::spawn(tracked(&polls, &drops, async move {
            let _guard = guard_counter.drop_guard();
            s.open();
            pending::<()>().await;
            unreachable!("pending never completes");
        }));
        started.wait().await;
        assert!(!t.is_done() && !t.is_cancelled());
        assert!(t.cancel());
        let err = (&mut t).await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.id(), t.id());
        assert!(t.is_done());
        assert!(t.is_cancelled());
        assert_eq!(polls.get(), 1);
        assert_eq!(drops.get(), 1);
        assert_eq!(inner_drops.get(), 1, "locals at the await point dropped");
        assert!(!t.cancel(), "done now: cancel() is false");
        assert!(
            t.result().unwrap_err().is_invalid_state(),
            "error already taken"
        );
    });
}

#[test]
fn cancel_a_sleeping_task() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let started = Latch::new();
        let s = started.clone();
        let t = aio::spawn(tracked(&polls, &drops, async move {
            s.open();
            aio::sleep(Duration::from_secs(3600)).await;
        }));
        started.wait().await;
        assert!(t.cancel());
        assert!(t.await.unwrap_err().is_cancelled());
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn cancel_during_a_poll_that_returns_ready_wins() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        // The task cancels itself and then returns a value in the same
        // poll: cancel() said true, so the task must end cancelled.
        let t = aio::spawn(tracked(&polls, &drops, async {
            let me = task::current().unwrap();
            assert!(me.cancel(), "running, not done: cancel() is true");
            42
        }));
        let r = t.task_ref();
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled(), "cancel() == true must end cancelled");
        assert!(r.is_cancelled());
        assert_eq!(polls.get(), 1);
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn cancel_from_another_thread_while_the_task_is_being_polled() {
    // multi_thread only in substance: the canceller runs on the main
    // thread while a worker is inside the task's poll. On current_thread
    // the same code degenerates to cancel-before-start (main cannot run
    // while the task is being polled), which is still checked.
    on_all_flavors(|flavor| async move {
        let in_poll = Latch::new();
        let cancelled = Latch::new();
        let (i, c) = (in_poll.clone(), cancelled.clone());
        let t = aio::spawn(async move {
            i.open();
            c.wait_blocking();
            "ready"
        });
        if flavor.is_current_thread() {
            assert!(t.cancel());
            assert!(!in_poll.is_open());
        } else {
            in_poll.wait_blocking(); // the worker is inside the poll
            assert!(t.cancel());
            cancelled.open();
        }
        assert!(t.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn cancel_after_done_returns_false_and_keeps_the_result() {
    on_all_flavors(|_| async {
        let mut t = aio::spawn(async { 9 });
        let done = Latch::new();
        let d = done.clone();
        t.add_done_callback(move |_| d.open());
        done.wait().await;
        assert!(t.is_done());
        assert!(!t.cancel());
        assert!(!t.task_ref().cancel());
        assert!(!t.is_cancelled());
        assert_eq!(t.result().unwrap(), 9);
    });
}

#[test]
fn cancel_is_idempotent_and_drops_once() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let t = aio::spawn(tracked(&polls, &drops, pending::<()>()));
        let r = t.task_ref();
        let first = t.cancel();
        let second = r.cancel();
        assert!(first);
        // The second call may come after the drop on a multi_thread
        // runtime (false) or before it (true); either way one outcome.
        let _ = second;
        assert!(t.await.unwrap_err().is_cancelled());
        assert!(!r.cancel());
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn dropping_a_polled_linked_join_cancels_the_task() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let started = Latch::new();
        let s = started.clone();
        let t = aio::spawn(tracked(&polls, &drops, async move {
            s.open();
            pending::<()>().await;
        }));
        started.wait().await;
        let r = t.task_ref();
        let mut join = t.into_future();
        assert!(poll_once(&mut join).await.is_none());
        drop(join); // the awaiter lost interest: linked, so cancel
        yield_until(|| r.is_done()).await;
        assert!(r.is_cancelled());
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn dropping_an_unpolled_linked_join_only_detaches() {
    on_all_flavors(|_| async {
        let go = Latch::new();
        let finished = Counter::new();
        let (g, f) = (go.clone(), finished.clone());
        let t = aio::spawn(async move {
            g.wait().await;
            f.bump();
        });
        let r = t.task_ref();
        let join = t.into_future();
        drop(join); // never polled: as if the handle was dropped
        go.open();
        yield_until(|| r.is_done()).await;
        assert!(!r.is_cancelled());
        assert_eq!(finished.get(), 1);
    });
}

#[test]
fn dropping_a_polled_unlinked_join_does_not_cancel() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let go = Latch::new();
        let g = go.clone();
        let mut t = aio::spawn(tracked(&polls, &drops, async move {
            g.wait().await;
            "done"
        }));
        {
            let mut join = (&mut t).into_future();
            assert!(poll_once(&mut join).await.is_none());
        } // dropped: unlinked, the task goes on
        go.open();
        assert_eq!(t.await.unwrap(), "done");
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn cancelling_the_awaiter_of_a_linked_join_cancels_the_awaited_task() {
    on_all_flavors(|_| async {
        let inner_drops = Counter::new();
        let inner_polls = Counter::new();
        let inner_started = Latch::new();
        let s = inner_started.clone();
        let inner = aio::spawn(tracked(&inner_polls, &inner_drops, async move {
            s.open();
            pending::<()>().await;
        }));
        let inner_ref = inner.task_ref();
        let awaiting = Latch::new();
        let a = awaiting.clone();
        let outer = aio::spawn(async move {
            a.open();
            // In this same poll the join is polled, so it is linked.
            let _ = inner.await;
        });
        inner_started.wait().await;
        awaiting.wait().await;
        assert!(outer.cancel());
        assert!(outer.await.unwrap_err().is_cancelled());
        yield_until(|| inner_ref.is_done()).await;
        assert!(
            inner_ref.is_cancelled(),
            "linked join dropped by cancellation"
        );
        assert_eq!(inner_drops.get(), 1);
    });
}

#[test]
fn cancel_from_a_done_callback_of_another_task() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let victim = aio::spawn(tracked(&polls, &drops, pending::<()>()));
        let r = victim.task_ref();
        let trigger = aio::spawn(async {});
        trigger.add_done_callback(move |_| {
            assert!(r.cancel());
        });
        trigger.await.unwrap();
        assert!(victim.await.unwrap_err().is_cancelled());
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn cancel_a_local_task_from_another_task() {
    // The spawn_local task lives on main's thread; the canceller may run on
    // a worker (multi_thread): the cancellation must reach main's thread.
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let t = aio::spawn_local(tracked(&polls, &drops, pending::<()>()));
        task::yield_now().await;
        let r = t.task_ref();
        let canceller = aio::spawn(async move { r.cancel() });
        assert!(canceller.await.unwrap());
        assert!(t.await.unwrap_err().is_cancelled());
        assert_eq!(polls.get(), 1);
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn cancel_racing_completion_keeps_its_promise() {
    // Cancel at varying points of a short task's life. Whatever wins,
    // `cancel() == true` means the task ends cancelled, `false` means it
    // had finished, and the future is dropped exactly once.
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let (mut won, mut lost) = (0, 0);
        // Every 15 rounds cover each pair of (task yields, main yields).
        let rounds = common::scaled(3000).max(30);
        for i in 0..rounds {
            let t = aio::spawn(tracked(&polls, &drops, async move {
                for _ in 0..i % 3 {
                    task::yield_now().await;
                }
                i
            }));
            for _ in 0..i % 5 {
                task::yield_now().await;
            }
            let cancelled = t.cancel();
            match t.await {
                Ok(v) => {
                    assert!(!cancelled, "cancel() said true, yet the task finished");
                    assert_eq!(v, i);
                    lost += 1;
                }
                Err(e) => {
                    assert!(cancelled && e.is_cancelled(), "{e:?}");
                    won += 1;
                }
            }
            assert_eq!(drops.get(), i + 1);
        }
        assert_eq!(won + lost, rounds);
    });
}
