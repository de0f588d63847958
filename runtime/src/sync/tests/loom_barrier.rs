//! Models of `Barrier`: the last arrival on another thread against a
//! waiter registering, and against a waiter being dropped (cancelled). A
//! registered waiter is always released and woken once; a dropped one
//! counts out of the round only if the round had not ended, so the count
//! a later arrival sees is right either way.

use super::{poll, waker};
use crate::loom::model::model;
use crate::loom::sync::Arc;
use crate::sync::Barrier;
use loom::thread;
use std::task::Poll;

#[test]
fn the_last_arrival_vs_a_waiter_registering() {
    model(|| {
        let b = Arc::new(Barrier::new(2));
        let b1 = b.clone();
        let other = thread::spawn(move || {
            let (w, _) = waker();
            let mut f = Box::pin(b1.wait());
            let r = poll(f.as_mut(), &w).map(|r| r.unwrap());
            // A pending wait stays registered (dropping it would leave).
            std::mem::forget(f);
            r
        });
        let (w, count) = waker();
        let mut f = Box::pin(b.wait());
        let mine = poll(f.as_mut(), &w);
        let theirs = other.join().unwrap();
        match (mine, theirs) {
            // I came first: the other arrival released me, once.
            (Poll::Pending, Poll::Ready(1)) => {
                assert_eq!(count.wakes(), 1);
                assert_eq!(poll(f.as_mut(), &w), Poll::Ready(Ok(0)));
            }
            // The other came first; my arrival released it.
            (Poll::Ready(Ok(1)), Poll::Pending) => {}
            other => panic!("one arrival is the last: {other:?}"),
        }
        assert_eq!(b.n_waiting(), 0);
    });
}

#[test]
fn the_last_arrival_vs_a_waiter_dropped() {
    model(|| {
        let b = Arc::new(Barrier::new(2));
        let (w, _) = waker();
        let mut first = Box::pin(b.wait());
        assert!(poll(first.as_mut(), &w).is_pending());
        let b1 = b.clone();
        let other = thread::spawn(move || {
            let (w, _) = waker();
            let mut f = Box::pin(b1.wait());
            let r = poll(f.as_mut(), &w);
            // Keep a pending wait registered for the check below.
            std::mem::forget(f);
            r.is_ready()
        });
        drop(first);
        let ended = other.join().unwrap();
        // Ended: the dropped waiter was released first and did not count
        // itself out of the next round. Not ended: it left before, and the
        // other arrival waits alone.
        assert_eq!(b.n_waiting(), if ended { 0 } else { 1 });
    });
}
