//! Behaviour of `Barrier`: arrival indices are a permutation of
//! `0..parties`, the barrier is reusable across rounds, `abort` and
//! `reset` break waiting parties. Each body runs on current_thread, 1 and
//! 4 workers.

mod common;

use aio::sync::Barrier;
use common::{on_all_flavors, poll_once};
use std::sync::Arc;

#[test]
fn indices_are_a_permutation_and_the_barrier_is_reusable() {
    on_all_flavors(|_| async {
        let n = 10;
        let barrier = Arc::new(Barrier::new(n));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let b = barrier.clone();
                aio::spawn(async move {
                    let mut got = Vec::new();
                    for _ in 0..5 {
                        got.push(b.wait().await.unwrap());
                    }
                    got
                })
            })
            .collect();
        let mut per_round = vec![Vec::new(); 5];
        for t in tasks {
            for (round, i) in t.await.unwrap().into_iter().enumerate() {
                per_round[round].push(i);
            }
        }
        for mut r in per_round {
            r.sort();
            assert_eq!(r, (0..n).collect::<Vec<_>>());
        }
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn abort_breaks_waiters_and_later_waits_until_reset() {
    on_all_flavors(|_| async {
        let barrier = Arc::new(Barrier::new(3));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let b = barrier.clone();
                aio::spawn(async move { b.wait().await })
            })
            .collect();
        common::yield_until(|| barrier.n_waiting() == 2).await;
        barrier.abort();
        for w in waiters {
            assert!(w.await.unwrap().is_err());
        }
        assert!(barrier.is_broken());
        assert!(barrier.wait().await.is_err());
        barrier.reset();
        assert!(!barrier.is_broken());
        let b2 = barrier.clone();
        let b3 = barrier.clone();
        let t1 = aio::spawn(async move { b2.wait().await });
        let t2 = aio::spawn(async move { b3.wait().await });
        let i = barrier.wait().await.unwrap();
        let mut all = vec![i, t1.await.unwrap().unwrap(), t2.await.unwrap().unwrap()];
        all.sort();
        assert_eq!(all, [0, 1, 2]);
    });
}

#[test]
fn reset_breaks_the_current_round_only() {
    on_all_flavors(|_| async {
        let barrier = Barrier::new(2);
        let mut w = Box::pin(barrier.wait());
        assert!(poll_once(&mut w).await.is_none());
        assert_eq!(barrier.n_waiting(), 1);
        barrier.reset();
        assert!(poll_once(&mut w).await.unwrap().is_err());
        assert!(!barrier.is_broken());
        assert_eq!(barrier.n_waiting(), 0);
        // A dropped waiter leaves the round.
        let mut w = Box::pin(barrier.wait());
        assert!(poll_once(&mut w).await.is_none());
        drop(w);
        assert_eq!(barrier.n_waiting(), 0);
    });
}
