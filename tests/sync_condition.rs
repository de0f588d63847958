//! Behaviour of `Condition`: `notify(1)` wakes exactly one waiter,
//! `notify_all` wakes all, `wait_for` re-checks its predicate, a waiter
//! dropped after its notification passes it on. Each body runs on
//! current_thread, 1 and 4 workers.

mod common;

use aio::sync::{Condition, Lock};
use common::{on_all_flavors, Counter};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

/// Spawns `n` tasks that each wait once on `cond`, bumping `woken` after.
/// Returns once all of them are queued (each notifies `queued` while it
/// still holds the lock, so `notify` from the main task finds it waiting).
async fn spawn_waiters(
    cond: &Arc<Condition>,
    n: usize,
    woken: &Counter,
) -> Vec<aio::task::Task<()>> {
    let queued = Counter::new();
    let tasks = (0..n)
        .map(|_| {
            let (cond, woken, queued) = (cond.clone(), woken.clone(), queued.clone());
            aio::spawn(async move {
                let g = cond.lock().await;
                queued.bump();
                let _g = g.wait().await;
                woken.bump();
            })
        })
        .collect();
    // A waiter counted in `queued` holds the lock until its `wait` queued
    // it, so once we get the lock after the last bump, all have queued.
    common::yield_until(|| queued.get() == n).await;
    drop(cond.lock().await);
    tasks
}

#[test]
fn notify_one_wakes_exactly_one() {
    on_all_flavors(|_| async {
        let cond = Arc::new(Condition::new());
        let woken = Counter::new();
        let tasks = spawn_waiters(&cond, 5, &woken).await;
        let g = cond.lock().await;
        assert_eq!(g.notify(1), 1);
        drop(g);
        common::yield_until(|| woken.get() == 1).await;
        for _ in 0..50 {
            aio::task::yield_now().await;
        }
        assert_eq!(woken.get(), 1, "notify(1) woke more than one");
        assert_eq!(cond.lock().await.notify_all(), 4);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(woken.get(), 5);
    });
}

#[test]
fn notify_all_wakes_all() {
    on_all_flavors(|_| async {
        let cond = Arc::new(Condition::new());
        let woken = Counter::new();
        let tasks = spawn_waiters(&cond, 20, &woken).await;
        assert_eq!(cond.lock().await.notify_all(), 20);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(woken.get(), 20);
    });
}

#[test]
fn wait_for_rechecks_the_predicate() {
    on_all_flavors(|_| async {
        let cond = Arc::new(Condition::with_lock(Arc::new(Lock::new())));
        let value = Arc::new(AtomicUsize::new(0));
        let waiter = {
            let (cond, value) = (cond.clone(), value.clone());
            aio::spawn(async move {
                let g = cond.lock().await;
                let _g = g.wait_for(|| value.load(SeqCst) >= 3).await;
                value.load(SeqCst)
            })
        };
        for _ in 0..3 {
            let g = cond.lock().await;
            value.fetch_add(1, SeqCst);
            g.notify_all();
            drop(g);
            aio::task::yield_now().await;
        }
        assert_eq!(waiter.await.unwrap(), 3);
    });
}

#[test]
fn a_cancelled_notified_waiter_passes_the_notification_on() {
    on_all_flavors(|flavor| async move {
        let cond = Arc::new(Condition::new());
        let woken = Counter::new();
        let first = spawn_waiters(&cond, 1, &Counter::new()).await;
        let rest = spawn_waiters(&cond, 1, &woken).await;
        let g = cond.lock().await;
        assert_eq!(g.notify(1), 1); // notifies the first waiter
                                    // Cancel it before it runs (guaranteed on current_thread): the
                                    // notification must pass to the second.
        let cancelled = first.into_iter().next().unwrap().cancel();
        drop(g);
        if flavor.is_current_thread() {
            assert!(cancelled);
        }
        if cancelled {
            for t in rest {
                t.await.unwrap();
            }
            assert_eq!(woken.get(), 1);
        }
    });
}

#[test]
fn types_are_send_and_sync() {
    fn sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    sync::<Condition>();
    let c = Condition::new();
    send(&c.lock());
    let fut = async {
        let g = c.lock().await;
        let _g = g.wait().await;
    };
    send(&fut);
}
