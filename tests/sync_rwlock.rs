//! Behaviour of `RwLock<T>`: readers run concurrently, a writer runs alone,
//! a waiting writer blocks later readers (FIFO). Each body runs on
//! current_thread, 1 and 4 workers.

mod common;

use aio::sync::RwLock;
use common::{on_all_flavors, poll_once};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

#[test]
fn readers_share_writers_exclude() {
    on_all_flavors(|_| async {
        let lock = Arc::new(RwLock::new(0u64));
        let readers = Arc::new(AtomicUsize::new(0));
        let max_readers = Arc::new(AtomicUsize::new(0));
        let writers = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (lock, readers, max_readers, writers) = (
                    lock.clone(),
                    readers.clone(),
                    max_readers.clone(),
                    writers.clone(),
                );
                aio::spawn(async move {
                    if i % 4 == 0 {
                        let mut g = lock.write().await;
                        assert_eq!(writers.fetch_add(1, SeqCst), 0);
                        assert_eq!(readers.load(SeqCst), 0);
                        aio::task::yield_now().await;
                        *g += 1;
                        writers.fetch_sub(1, SeqCst);
                    } else {
                        let _g = lock.read().await;
                        let now = readers.fetch_add(1, SeqCst) + 1;
                        max_readers.fetch_max(now, SeqCst);
                        assert_eq!(writers.load(SeqCst), 0);
                        aio::task::yield_now().await;
                        readers.fetch_sub(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*lock.read().await, 10);
    });
}

#[test]
fn concurrent_readers_are_admitted_together() {
    on_all_flavors(|_| async {
        let lock = RwLock::new(1);
        let r1 = lock.read().await;
        let r2 = lock.read().await;
        assert!(lock.try_write().is_none());
        drop((r1, r2));
        assert!(lock.try_write().is_some());
    });
}

#[test]
fn a_waiting_writer_blocks_later_readers() {
    on_all_flavors(|_| async {
        let lock = RwLock::new(1);
        let r = lock.read().await;
        let mut w = Box::pin(lock.write());
        assert!(poll_once(&mut w).await.is_none());
        assert!(
            lock.try_read().is_none(),
            "a later reader overtook the writer"
        );
        let mut r2 = Box::pin(lock.read());
        assert!(poll_once(&mut r2).await.is_none());
        drop(r);
        let mut wg = poll_once(&mut w).await.expect("writer admitted");
        *wg = 2;
        assert!(poll_once(&mut r2).await.is_none());
        drop(wg);
        assert_eq!(*poll_once(&mut r2).await.unwrap(), 2);
    });
}

#[test]
fn a_dropped_writer_lets_readers_in() {
    on_all_flavors(|_| async {
        let lock = RwLock::new(());
        let r = lock.read().await;
        let mut w = Box::pin(lock.write());
        assert!(poll_once(&mut w).await.is_none());
        let mut r2 = Box::pin(lock.read());
        assert!(poll_once(&mut r2).await.is_none());
        drop(w);
        assert!(poll_once(&mut r2).await.is_some());
        drop(r);
    });
}
