//! Model: semaphore acquire vs release vs a waiter dropped right after it
//! may have been granted. Permits are conserved (held + free == total), a
//! granted-then-dropped waiter passes its permit to the next waiter, and
//! nobody is left waiting beside a free permit.

use super::{poll, waker};
use crate::loom::model::model;
use crate::loom::sync::Arc;
use crate::sync::Semaphore;
use loom::thread;

#[test]
fn release_vs_two_waiters_and_a_drop_after_grant() {
    model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let s1 = sem.clone();
        let releaser = thread::spawn(move || s1.add_permits(1));
        let (w, count) = waker();
        let mut a = Box::pin(sem.acquire());
        let mut b = Box::pin(sem.acquire());
        let pa = poll(a.as_mut(), &w);
        let pb = poll(b.as_mut(), &w);
        // `a` gives up, possibly after the release granted it the permit.
        drop(a);
        releaser.join().unwrap();
        let mut held = 0;
        if let std::task::Poll::Ready(p) = &pa {
            held += p.as_ref().unwrap().num_permits();
        }
        let pb = match pb {
            std::task::Poll::Ready(p) => std::task::Poll::Ready(p),
            std::task::Poll::Pending => {
                if held == 0 {
                    assert!(count.wakes() > 0, "`b` was granted but never woken");
                }
                poll(b.as_mut(), &w)
            }
        };
        if let std::task::Poll::Ready(p) = &pb {
            held += p.as_ref().unwrap().num_permits();
        } else {
            assert_eq!(sem.available(), 0, "`b` waits beside a free permit");
        }
        assert_eq!(held + sem.available(), 1, "permits are conserved");
        drop(pa);
        drop(pb);
        drop(b);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn concurrent_release_of_a_held_permit_reaches_the_waiter() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let s1 = sem.clone();
        let holder = thread::spawn(move || {
            if let Some(p) = s1.try_acquire() {
                drop(p);
            }
        });
        let (w, count) = waker();
        let mut a = Box::pin(sem.acquire());
        let first = poll(a.as_mut(), &w);
        holder.join().unwrap();
        match first {
            std::task::Poll::Ready(p) => drop(p),
            std::task::Poll::Pending => {
                assert!(count.wakes() > 0, "the release did not wake the waiter");
                assert!(poll(a.as_mut(), &w).is_ready());
            }
        }
        drop(a);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn a_partial_waiter_dropped_vs_release_conserves_permits() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let s1 = sem.clone();
        let releaser = thread::spawn(move || s1.add_permits(1));
        let (w, _count) = waker();
        // `a` gathers what it can (1 or 2 permits) and is dropped; `b`
        // queues behind it.
        let mut a = Box::pin(sem.acquire_many(2));
        let mut b = Box::pin(sem.acquire());
        let pa = poll(a.as_mut(), &w);
        let pb = poll(b.as_mut(), &w);
        drop(a);
        releaser.join().unwrap();
        let held_a = match &pa {
            std::task::Poll::Ready(p) => p.as_ref().unwrap().num_permits(),
            std::task::Poll::Pending => 0,
        };
        let pb = match pb {
            std::task::Poll::Pending => poll(b.as_mut(), &w),
            ready => ready,
        };
        let held_b = match &pb {
            std::task::Poll::Ready(p) => p.as_ref().unwrap().num_permits(),
            std::task::Poll::Pending => 0,
        };
        assert_eq!(
            held_a + held_b + sem.available(),
            2,
            "permits are conserved"
        );
        if held_a == 0 {
            assert_eq!(held_b, 1, "`b` waits while `a`'s permits are free");
        }
        drop((pa, pb, b));
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn close_vs_waiter() {
    model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let s1 = sem.clone();
        let closer = thread::spawn(move || s1.close());
        let (w, count) = waker();
        let mut a = Box::pin(sem.acquire());
        let first = poll(a.as_mut(), &w);
        closer.join().unwrap();
        let out = match first {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => {
                assert_eq!(count.wakes(), 1, "close wakes the waiter");
                match poll(a.as_mut(), &w) {
                    std::task::Poll::Ready(r) => r,
                    std::task::Poll::Pending => panic!("waiter pending after close"),
                }
            }
        };
        assert!(out.is_err());
    });
}
