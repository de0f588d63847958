//! Time on the real clock, on every flavor: lower bounds only (a sleep
//! never ends early), no upper bounds that a loaded machine could break.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use aio::time::Instant;
use common::{on_all_flavors, Counter};

#[test]
fn sleeps_never_end_early_on_any_flavor() {
    on_all_flavors(|_| async {
        let start = Instant::now();
        let tasks: Vec<_> = (1..=20u64)
            .map(|i| {
                aio::spawn(async move {
                    let t0 = Instant::now();
                    aio::sleep(Duration::from_millis(i)).await;
                    assert!(t0.elapsed() >= Duration::from_millis(i));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn cancelled_sleepers_free_their_timers_from_any_worker() {
    // Sleeps registered on one worker and dropped on another unlink
    // through the owner's wheel lock; the runtime must still shut down promptly
    // and every sleeper's destructor must run.
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let g = drops.drop_guard();
                aio::spawn(async move {
                    let _g = g;
                    aio::sleep(Duration::from_secs(3600)).await;
                })
            })
            .collect();
        aio::task::yield_now().await;
        for t in &tasks {
            assert!(t.cancel());
        }
        for t in tasks {
            assert!(t.await.unwrap_err().is_cancelled());
        }
        assert_eq!(drops.get(), 200);
    });
}

/// Polls `s` once, registering it; whether it is pending.
async fn registered(s: &mut Pin<Box<aio::time::Sleep>>) -> bool {
    std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx).is_pending())).await
}

#[test]
fn a_sleep_registered_on_one_thread_fires_or_drops_on_another() {
    // Each sleep registers in the wheel of the thread running this future
    // (the block_on thread on the multi_thread flavors) and is then moved
    // into a task that a worker runs: there its waker is replaced, and it
    // is woken from the owner's wheel, or unlinked from it by its drop.
    on_all_flavors(|_| async {
        let mut fires = Box::pin(aio::sleep(Duration::from_millis(20)));
        let t0 = fires.deadline() - Duration::from_millis(20);
        assert!(registered(&mut fires).await);
        aio::spawn(fires).await.unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(20));

        for _ in 0..50 {
            let mut dropped = Box::pin(aio::sleep(Duration::from_millis(20)));
            assert!(registered(&mut dropped).await);
            aio::spawn(async move { drop(dropped) }).await.unwrap();
        }
        // The owner's wheel goes on without the unlinked entries (whose
        // memory is gone): its own timers still fire.
        let t1 = Instant::now();
        aio::sleep(Duration::from_millis(30)).await;
        assert!(t1.elapsed() >= Duration::from_millis(30));
    });
}

#[test]
fn wait_for_and_timeout_on_every_flavor() {
    on_all_flavors(|_| async {
        let slow = aio::spawn(aio::sleep(Duration::from_secs(3600)));
        let r = slow.task_ref();
        assert!(aio::wait_for(slow, Duration::from_millis(5)).await.is_err());
        let quick = aio::wait_for(async { 3 }, Duration::from_secs(60)).await;
        assert_eq!(quick, Ok(3));
        // The cancelled task finishes cancelling on some worker.
        let t0 = Instant::now();
        while !r.is_done() {
            aio::task::yield_now().await;
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "cancellation never completed"
            );
        }
        assert!(r.is_cancelled());
    });
}

/// `interval(Duration::MAX)`: the first tick is immediate and the next one
/// is so far away that it never comes, instead of "overflow when adding
/// duration to instant" at the first tick (issue 12, item 11, tokio's
/// `interval_at_panic`-style edge). The same for a huge period on every
/// missed-tick behaviour, and for `reset`.
#[test]
fn an_interval_of_duration_max_ticks_once_and_never_overflows() {
    use aio::time::MissedTickBehavior::{Burst, Delay, Skip};
    on_all_flavors(|flavor| async move {
        for behavior in [Burst, Delay, Skip] {
            let start = Instant::now();
            let mut iv = aio::time::interval(Duration::MAX);
            iv.set_missed_tick_behavior(behavior);
            let first = iv.tick().await;
            assert!(first >= start, "{flavor:?} {behavior:?}");
            let mut next = Box::pin(iv.tick());
            assert_eq!(
                common::poll_once(&mut next).await,
                None,
                "{flavor:?} {behavior:?}: the second tick is not due"
            );
            drop(next);
            iv.reset();
            let mut next = Box::pin(iv.tick());
            assert_eq!(common::poll_once(&mut next).await, None, "{flavor:?}");
        }
    });
}

#[test]
// The block_on returns the (registered, pending) sleep on purpose.
#[allow(clippy::async_yields_async)]
fn a_sleep_registered_in_a_block_on_fires_after_it_moves_to_a_task() {
    // A multi_thread runtime's block_on drives a wheel of its own, which
    // ends when the call returns.
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let sleep = rt.block_on(async {
        let mut s = Box::pin(aio::sleep(std::time::Duration::from_millis(20)));
        // Registered on the block_on thread's wheel.
        assert!(common::poll_once(&mut s).await.is_none());
        s
    });
    let task = rt.handle().spawn(sleep);
    // Polled on a worker now: it fires (a generous bound only guards
    // against a hang).
    rt.block_on(aio::wait_for(task, std::time::Duration::from_secs(30)))
        .expect("the moved sleep fired")
        .unwrap();
}
