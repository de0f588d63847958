//! Behaviour of `Semaphore` and `BoundedSemaphore`: admission count, FIFO
//! with `acquire_many`, release / forget, close, cancel safety, and the
//! bounded semaphore's over-release error. Each body runs on
//! current_thread, 1 and 4 workers.

mod common;

use aio::sync::{BoundedSemaphore, Semaphore};
use common::{on_all_flavors, poll_once};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

#[test]
fn semaphore_of_two_admits_two() {
    on_all_flavors(|_| async {
        let sem = Arc::new(Semaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        // Fewer contenders under Miri, which interprets every step.
        let tasks: Vec<_> = (0..if cfg!(miri) { 20 } else { 100 })
            .map(|_| {
                let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
                aio::spawn(async move {
                    let _p = sem.acquire().await.unwrap();
                    let now = inside.fetch_add(1, SeqCst) + 1;
                    max.fetch_max(now, SeqCst);
                    for _ in 0..3 {
                        aio::task::yield_now().await;
                    }
                    inside.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max.load(SeqCst), 2);
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn acquire_many_at_the_head_is_not_overtaken() {
    on_all_flavors(|_| async {
        let sem = Semaphore::new(1);
        let mut many = Box::pin(sem.acquire_many(3));
        assert!(poll_once(&mut many).await.is_none());
        assert_eq!(sem.available(), 0, "the head waiter took the free permit");
        let mut one = Box::pin(sem.acquire());
        assert!(poll_once(&mut one).await.is_none());
        sem.release();
        assert!(poll_once(&mut one).await.is_none(), "one must not overtake");
        sem.release();
        let p = poll_once(&mut many).await.unwrap().unwrap();
        assert_eq!(p.num_permits(), 3);
        drop(p);
        assert!(poll_once(&mut one).await.unwrap().is_ok());
        assert_eq!(sem.available(), 3);
    });
}

#[test]
fn a_dropped_partial_waiter_returns_what_it_gathered() {
    on_all_flavors(|_| async {
        let sem = Semaphore::new(2);
        let mut many = Box::pin(sem.acquire_many(5));
        assert!(poll_once(&mut many).await.is_none());
        let mut one = Box::pin(sem.acquire());
        assert!(poll_once(&mut one).await.is_none());
        drop(many);
        let p = poll_once(&mut one).await.unwrap().unwrap();
        assert_eq!(sem.available(), 1);
        drop(p);
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn forget_release_and_owned_permits() {
    on_all_flavors(|_| async {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire().await.unwrap().forget();
        assert!(sem.is_locked());
        sem.release();
        let p = sem.clone().acquire_owned().await.unwrap();
        assert!(sem.clone().try_acquire_owned().is_none());
        aio::spawn(async move { drop(p) }).await.unwrap();
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn close_fails_waiters_and_later_acquires() {
    on_all_flavors(|_| async {
        let sem = Arc::new(Semaphore::new(0));
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let sem = sem.clone();
                aio::spawn(async move { sem.acquire().await.map(drop) })
            })
            .collect();
        for _ in 0..10 {
            aio::task::yield_now().await;
        }
        sem.close();
        for w in waiters {
            assert!(w.await.unwrap().is_err());
        }
        assert!(sem.acquire().await.is_err());
        assert!(sem.try_acquire().is_none());
        assert!(sem.is_closed());
    });
}

#[test]
fn a_granted_waiter_dropped_passes_the_permit_on() {
    on_all_flavors(|_| async {
        let sem = Semaphore::new(0);
        let mut a = Box::pin(sem.acquire());
        let mut b = Box::pin(sem.acquire());
        assert!(poll_once(&mut a).await.is_none());
        assert!(poll_once(&mut b).await.is_none());
        sem.release(); // granted to `a`
        drop(a);
        assert!(poll_once(&mut b).await.unwrap().is_ok());
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn bounded_semaphore_refuses_an_over_release() {
    on_all_flavors(|_| async {
        let sem = BoundedSemaphore::new(2);
        assert!(sem.release().is_err());
        let p = sem.acquire().await.unwrap();
        p.forget();
        assert_eq!(sem.release(), Ok(()));
        assert!(sem.release().is_err());
        assert_eq!(sem.available(), 2);
        // Releases to a waiter are fine.
        let a = sem.acquire_many(2).await.unwrap();
        a.forget();
        let mut w = Box::pin(sem.acquire());
        assert!(poll_once(&mut w).await.is_none());
        assert!(sem.release().is_ok());
        assert!(poll_once(&mut w).await.unwrap().is_ok());
        assert_eq!(sem.available(), 1);
        assert!(sem.release().is_ok());
        assert!(sem.release().is_err());
    });
}

#[test]
fn handles_are_send_and_sync() {
    fn sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    sync::<Semaphore>();
    sync::<BoundedSemaphore>();
    let s = Semaphore::new(1);
    send(&s.acquire());
    send(&s.try_acquire().unwrap());
}

#[test]
fn a_bounded_release_returns_only_a_forgotten_permit_so_the_bound_holds() {
    on_all_flavors(|_| async {
        // A guard gives its own permit back: a release beside it has no
        // matching acquire.
        let sem = BoundedSemaphore::new(1);
        let guard = sem.try_acquire().unwrap();
        assert!(sem.release().is_err());
        drop(guard);
        assert_eq!(sem.available(), 1);
        assert!(sem.release().is_err());
        // asyncio's acquire / release: forget, then release once.
        sem.acquire().await.unwrap().forget();
        assert_eq!(sem.available(), 0);
        assert!(sem.release().is_ok());
        assert!(sem.release().is_err());
        assert_eq!(sem.available(), 1);

        // Permits a waiter gathered are not free for a release either.
        let sem = BoundedSemaphore::new(2);
        let mut three = Box::pin(sem.acquire_many(3));
        assert!(poll_once(&mut three).await.is_none());
        assert!(sem.release().is_err());
        drop(three);
        assert_eq!(sem.available(), 2);
    });
}
