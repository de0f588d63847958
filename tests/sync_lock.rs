//! Behaviour of `Lock` and `Mutex<T>`: one holder at a time, FIFO order,
//! cancel safety (a waiter dropped after being granted passes the lock on),
//! owned guards. Each body runs on current_thread, 1 and 4 workers.

mod common;

use aio::sync::{Lock, Mutex};
use common::{on_all_flavors, poll_once, Counter, Log};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn lock_admits_one_holder_at_a_time() {
    on_all_flavors(|_| async {
        let lock = Arc::new(Lock::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        // Fewer contenders under Miri, which interprets every step.
        let tasks: Vec<_> = (0..if cfg!(miri) { 20 } else { 100 })
            .map(|_| {
                let (lock, inside, max) = (lock.clone(), inside.clone(), max.clone());
                aio::spawn(async move {
                    for _ in 0..3 {
                        let _g = lock.lock().await;
                        let now = inside.fetch_add(1, SeqCst) + 1;
                        max.fetch_max(now, SeqCst);
                        aio::task::yield_now().await;
                        inside.fetch_sub(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max.load(SeqCst), 1);
        assert!(!lock.is_locked());
    });
}

#[test]
fn lock_waiters_are_served_in_arrival_order() {
    on_all_flavors(|flavor| async move {
        let lock = Arc::new(Lock::new());
        let log = Log::new();
        let g = lock.lock().await;
        let queued = Counter::new();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (lock, log, q) = (lock.clone(), log.clone(), queued.clone());
            tasks.push(aio::spawn(async move {
                let mut f = std::pin::pin!(lock.lock());
                // Queue now, then report: arrival order is spawn order once
                // each task has queued before the next is spawned.
                let first = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(f.as_mut().poll(cx).is_ready())
                })
                .await;
                assert!(!first);
                q.bump();
                let _g = f.await;
                log.push(i.to_string());
            }));
            // Wait until task i has queued, so arrivals are ordered.
            common::yield_until(|| queued.get() == i + 1).await;
        }
        drop(g);
        for t in tasks {
            t.await.unwrap();
        }
        let expect: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        assert_eq!(log.get(), expect, "FIFO on {flavor:?}");
    });
}

use std::future::Future;

#[test]
fn try_lock_does_not_overtake_a_waiter() {
    on_all_flavors(|_| async {
        let lock = Lock::new();
        let g = lock.try_lock().unwrap();
        let mut waiter = Box::pin(lock.lock());
        assert!(poll_once(&mut waiter).await.is_none());
        drop(g);
        // The lock went to the queued waiter, not to a newcomer.
        assert!(lock.try_lock().is_none());
        let g2 = waiter.await;
        drop(g2);
        assert!(lock.try_lock().is_some());
    });
}

#[test]
fn a_granted_waiter_dropped_passes_the_lock_on() {
    on_all_flavors(|_| async {
        let lock = Lock::new();
        let g = lock.try_lock().unwrap();
        let mut first = Box::pin(lock.lock());
        let mut second = Box::pin(lock.lock());
        assert!(poll_once(&mut first).await.is_none());
        assert!(poll_once(&mut second).await.is_none());
        drop(g); // granted to `first`
        drop(first); // never took it: passes to `second`
        assert!(poll_once(&mut second).await.is_some());
        assert!(!lock.is_locked());
    });
}

#[test]
fn a_task_cancelled_after_the_grant_passes_the_lock_on() {
    on_all_flavors(|flavor| async move {
        let lock = Arc::new(Lock::new());
        let g = lock.clone().lock_owned().await;
        let got = Counter::new();
        let spawn_waiter = |got: Counter| {
            let lock = lock.clone();
            aio::spawn(async move {
                let _g = lock.lock().await;
                got.bump();
            })
        };
        let first = spawn_waiter(Counter::new());
        for _ in 0..10 {
            aio::task::yield_now().await; // let `first` queue
        }
        let second = spawn_waiter(got.clone());
        for _ in 0..10 {
            aio::task::yield_now().await;
        }
        drop(g); // grants `first`, which has not run yet on current_thread
        let cancelled = first.cancel();
        if flavor.is_current_thread() {
            assert!(cancelled, "on current_thread `first` cannot have run yet");
        }
        second.await.unwrap();
        assert_eq!(got.get(), 1);
        assert!(!lock.is_locked());
    });
}

#[test]
fn a_waiter_cancelled_by_timeout_before_the_grant_leaves_the_queue() {
    let rt = aio::runtime::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.run(async {
        let lock = Arc::new(Lock::new());
        let g = lock.try_lock().unwrap();
        let r = aio::time::timeout(Duration::from_millis(10), lock.lock()).await;
        assert!(r.is_err());
        drop(g);
        assert!(
            !lock.is_locked(),
            "the timed-out waiter did not get the lock"
        );
        let _g = lock.lock().await;
    });
}

#[test]
fn mutex_counts_and_owned_guards_move_between_tasks() {
    on_all_flavors(|_| async {
        let m = Arc::new(Mutex::new(0u64));
        // 50 tasks (10 under Miri) of 10 increments.
        let n = if cfg!(miri) { 10 } else { 50 };
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let m = m.clone();
                aio::spawn(async move {
                    for _ in 0..10 {
                        let mut g = m.lock().await;
                        let v = *g;
                        aio::task::yield_now().await;
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let total = n as u64 * 10;
        assert_eq!(*m.lock().await, total);
        let mut g = m.clone().lock_owned().await;
        aio::spawn(async move { *g += 1 }).await.unwrap();
        assert_eq!(*m.try_lock().unwrap(), total + 1);
        let mut m = Arc::try_unwrap(m).unwrap();
        *m.get_mut() += 1;
        assert_eq!(m.into_inner(), total + 2);
    });
}

#[test]
fn guards_and_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Send + Sync>() {}
    sync::<Lock>();
    sync::<Mutex<Vec<u8>>>();
    let m = Mutex::new(1);
    let l = Lock::new();
    send(&m.lock());
    send(&l.lock());
    send(&m.try_lock().unwrap());
    send(&l.try_lock().unwrap());
}
