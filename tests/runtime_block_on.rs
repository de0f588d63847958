//! `Runtime::block_on` from several threads at once: a caller waiting for
//! another thread's `block_on` keeps polling its own future (on its own
//! thread), so futures that depend on each other across the two calls
//! complete (tokio's `always_active_parker`; issue 12, item 11). On
//! current_thread, where one thread at a time runs the tasks, the second
//! caller used to wait for the loop without polling its future: two
//! callers waiting for each other deadlocked. Each test runs on
//! current_thread, multi_thread with 1 worker and with 4 (where every
//! caller has its own executor anyway).
//!
//! A deadlock fails the test instead of hanging it: each `block_on` runs
//! on a thread of its own, and the test gives up on a result after
//! `GIVE_UP` (a failure detector only; a pass takes milliseconds).

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use aio::runtime::Runtime;
use aio::sync::oneshot;
use common::Latch;

const GIVE_UP: Duration = Duration::from_secs(60);

/// Runs `f` on a new thread and returns its result, or panics saying
/// `what` deadlocked (leaving the stuck thread behind).
fn on_thread<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> impl FnOnce() -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    let what = what.to_string();
    move || match rx.recv_timeout(GIVE_UP) {
        Ok(v) => v,
        Err(e) => panic!("{what}: no result ({e:?}): the block_on calls deadlocked"),
    }
}

/// Thread A blocks on a receiver; B's `block_on` sends (tokio's repro).
#[test]
fn a_second_block_on_is_polled_while_the_first_runs() {
    for flavor in common::flavors() {
        let rt = Arc::new(flavor.runtime());
        let (tx, rx) = oneshot::channel::<u32>();
        let started = Latch::new();
        let (r, s) = (rt.clone(), started.clone());
        let a = on_thread("A", move || {
            r.block_on(async move {
                s.open();
                rx.await.unwrap()
            })
        });
        started.wait_blocking();
        let r = rt.clone();
        let b = on_thread("B", move || r.block_on(async move { tx.send(7).unwrap() }));
        b();
        assert_eq!(a(), 7, "{flavor:?}");
    }
}

/// While A runs the tasks, B's future sleeps, spawns a task and awaits it,
/// then unblocks A; then A's call ends and B's future (still pending on a
/// timer it started while waiting) finishes on the loop B takes over.
#[test]
fn a_waiting_block_on_can_sleep_spawn_and_take_over_the_loop() {
    for flavor in common::flavors() {
        let rt = Arc::new(flavor.runtime());
        let (tx, rx) = oneshot::channel::<()>();
        let started = Latch::new();
        let (r, s) = (rt.clone(), started.clone());
        let a = on_thread("A", move || {
            r.block_on(async move {
                s.open();
                rx.await.unwrap();
                "a"
            })
        });
        started.wait_blocking();
        let r = rt.clone();
        let b = on_thread("B", move || {
            r.block_on(async move {
                aio::sleep(Duration::from_millis(1)).await;
                let v = aio::spawn(async { 40 }).await.unwrap();
                tx.send(()).unwrap();
                // A's call ends now; this timer outlives it.
                aio::sleep(Duration::from_millis(2)).await;
                v + aio::spawn(async { 2 }).await.unwrap()
            })
        });
        assert_eq!(b(), 42, "{flavor:?}");
        assert_eq!(a(), "a", "{flavor:?}");
        // The runtime still works from this thread.
        assert_eq!(
            rt.block_on(async { aio::spawn(async { 1 }).await.unwrap() }),
            1
        );
        drop(rt);
    }
}

/// `Runtime` may be shared across threads for this (`Send + Sync`).
#[test]
fn runtime_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Runtime>();
}

/// A `Sleep` polled first in a `block_on` (its wheel: the call's) and
/// handed to a task that waits on it while the call still runs: when the
/// call returns, its wheel retires, and the task is woken to register the
/// sleep on its own thread's wheel (it waited forever). On multi_thread;
/// on current_thread the task runs in the `block_on` thread's wheel anyway.
#[test]
fn a_sleep_handed_to_a_task_outlives_the_block_on_that_registered_it() {
    use std::future::Future;
    use std::task::Poll;
    for flavor in common::multi_thread_flavors() {
        let rt = flavor.runtime();
        let task = rt.block_on(async {
            let mut s = Box::pin(aio::sleep(Duration::from_millis(20)));
            std::future::poll_fn(|cx| {
                assert!(s.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            let (tx, rx) = oneshot::channel();
            let t = aio::spawn(async move {
                let mut tx = Some(tx);
                std::future::poll_fn(|cx| {
                    let p = s.as_mut().poll(cx);
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                    p
                })
                .await;
            });
            rx.await.unwrap();
            t
        });
        on_thread("the sleep stranded in a retired wheel", move || {
            rt.block_on(task).unwrap();
        })();
    }
}
