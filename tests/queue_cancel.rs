//! Cancel safety of queues: a dropped `get` never loses an item (also when
//! the item was already reserved for it), a dropped `put` enqueues
//! nothing, and many getters cancelled while producers put lose nothing.
//! Each test runs on current_thread, multi_thread with 1 worker and with 4.

mod common;

use aio::queue::{GetError, Queue};
use common::{on_all_flavors, poll_once, yield_until, Counter};

#[test]
fn get_dropped_after_its_item_arrived_loses_nothing() {
    on_all_flavors(|_| async {
        let q = Queue::new(0);
        let mut get = Box::pin(q.get());
        assert!(poll_once(&mut get).await.is_none());
        // The item is reserved for `get`, which is dropped before it runs.
        q.put_nowait("item").unwrap();
        drop(get);
        assert_eq!(q.get_nowait(), Ok("item"));
    });
}

#[test]
fn reservation_of_a_dropped_get_passes_to_the_next_getter() {
    on_all_flavors(|_| async {
        let q = Queue::new(0);
        let mut first = Box::pin(q.get());
        let mut second = Box::pin(q.get());
        assert!(poll_once(&mut first).await.is_none());
        assert!(poll_once(&mut second).await.is_none());
        q.put_nowait(1).unwrap();
        drop(first);
        assert_eq!(poll_once(&mut second).await, Some(Ok(1)));
    });
}

#[test]
fn put_dropped_while_waiting_enqueues_nothing() {
    on_all_flavors(|_| async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let mut put = Box::pin(q.put(2));
        let mut next = Box::pin(q.put(3));
        assert!(poll_once(&mut put).await.is_none());
        assert!(poll_once(&mut next).await.is_none());
        // Room appears and is granted to `put`, which is then dropped: the
        // room passes on to `next`.
        assert_eq!(q.get_nowait(), Ok(1));
        drop(put);
        assert_eq!(poll_once(&mut next).await, Some(Ok(())));
        assert_eq!(q.get_nowait(), Ok(3));
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
    });
}

#[test]
fn cancelled_getters_racing_producers_lose_nothing() {
    on_all_flavors(|flavor| async move {
        // Fewer under Miri, which interprets every step.
        const N: usize = if cfg!(miri) { 40 } else { 200 };
        // Unbounded: the items of cancelled getters stay queued.
        let q = Queue::new(0);
        let received = Counter::new();
        let registered = Counter::new();
        let getters: Vec<_> = (0..N)
            .map(|_| {
                let (q, received, registered) = (q.clone(), received.clone(), registered.clone());
                aio::spawn(async move {
                    let mut get = Box::pin(q.get());
                    match poll_once(&mut get).await {
                        // Served on the first poll (producers already
                        // running): that item counts as received too.
                        Some(got) => {
                            registered.bump();
                            if got.is_ok() {
                                received.bump();
                            }
                            return;
                        }
                        None => {
                            registered.bump();
                        }
                    }
                    if get.await.is_ok() {
                        received.bump();
                    }
                })
            })
            .collect();
        yield_until(|| registered.get() > N / 2).await;
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let q = q.clone();
                aio::spawn(async move {
                    for i in 0..N / 4 {
                        q.put(p * 1000 + i).await.unwrap();
                        aio::task::yield_now().await;
                    }
                })
            })
            .collect();
        // Cancel every other getter while the producers run.
        for g in getters.iter().step_by(2) {
            g.cancel();
            aio::task::yield_now().await;
        }
        for p in producers {
            p.await.unwrap();
        }
        for g in getters.iter().skip(1).step_by(2) {
            g.cancel();
        }
        for g in getters {
            let _ = g.await;
        }
        let mut left = 0;
        while q.get_nowait().is_ok() {
            left += 1;
        }
        assert_eq!(received.get() + left, N, "items were lost on {flavor:?}");
    });
}
