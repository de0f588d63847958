//! `shutdown` with Python 3.13 semantics: puts fail, gets drain then fail,
//! waiters wake with errors, `immediate` discards the items and counts them
//! done for `join`. Each test runs on current_thread, multi_thread with 1
//! worker and with 4.

mod common;

use aio::queue::{GetError, PutError, Queue, QueueShutDown, ShutDown};
use common::{on_all_flavors, poll_once, Counter};

#[test]
fn gets_drain_then_fail_and_puts_fail() {
    on_all_flavors(|_| async {
        let q = Queue::new(0);
        q.put(1).await.unwrap();
        q.put(2).await.unwrap();
        q.shutdown(false);
        assert!(q.is_shut_down());
        assert_eq!(q.put(3).await, Err(ShutDown(3)));
        assert!(matches!(q.put_nowait(4), Err(PutError::ShutDown(4))));
        assert_eq!(q.get().await, Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(q.get().await, Err(QueueShutDown));
        assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
    });
}

#[test]
fn shutdown_wakes_waiting_getters_and_putters_with_errors() {
    on_all_flavors(|_| async {
        let empty = Queue::<u32>::new(0);
        let full = Queue::new(1);
        full.put(0).await.unwrap();
        let getters: Vec<_> = (0..3)
            .map(|_| {
                let q = empty.clone();
                aio::spawn(async move { q.get().await })
            })
            .collect();
        let putters: Vec<_> = (0..3)
            .map(|i| {
                let q = full.clone();
                aio::spawn(async move { q.put(i + 1).await })
            })
            .collect();
        let mut waiting = Box::pin(full.put(99));
        assert!(poll_once(&mut waiting).await.is_none());
        empty.shutdown(false);
        full.shutdown(false);
        for g in getters {
            assert_eq!(g.await.unwrap(), Err(QueueShutDown));
        }
        for p in putters {
            // Each either got in before the shutdown or was refused.
            let _ = p.await.unwrap();
        }
        assert_eq!(waiting.await, Err(ShutDown(99)));
    });
}

#[test]
fn immediate_discards_items_and_releases_join() {
    on_all_flavors(|_| async {
        let q = Queue::new(0);
        let drops = Counter::new();
        for _ in 0..5 {
            q.put(drops.drop_guard()).await.unwrap();
        }
        let first = q.get().await.unwrap();
        let mut join = Box::pin(q.join());
        assert!(poll_once(&mut join).await.is_none());
        q.shutdown(true);
        assert_eq!(drops.get(), 4, "the queued items were dropped at once");
        assert!(q.is_empty());
        assert!(q.get().await.is_err());
        // One item is still out (`first`): join waits for its task_done.
        assert!(poll_once(&mut join).await.is_none());
        drop(first);
        q.task_done().unwrap();
        join.await;
    });
}
