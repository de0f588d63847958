//! Queues hand items out in their order (FIFO, LIFO, lowest first), serve
//! waiting getters and putters in arrival order, respect `maxsize`, and
//! `join` returns once every item has had its `task_done`. Each test runs
//! on current_thread, multi_thread with 1 worker and with 4.

mod common;

use aio::queue::{GetError, LifoQueue, PriorityQueue, PutError, Queue};
use common::{on_all_flavors, poll_once, yield_until, Counter, Log};

#[test]
fn fifo_lifo_and_priority_orders() {
    on_all_flavors(|_| async {
        let (f, l, p) = (Queue::new(0), LifoQueue::new(0), PriorityQueue::new(0));
        for x in [3, 1, 4, 1, 5, 9, 2, 6] {
            f.put(x).await.unwrap();
            l.put(x).await.unwrap();
            p.put(x).await.unwrap();
        }
        let mut fo = Vec::new();
        let mut lo = Vec::new();
        let mut po = Vec::new();
        for _ in 0..8 {
            fo.push(f.get().await.unwrap());
            lo.push(l.get().await.unwrap());
            po.push(p.get().await.unwrap());
        }
        assert_eq!(fo, [3, 1, 4, 1, 5, 9, 2, 6]);
        assert_eq!(lo, [6, 2, 9, 5, 1, 4, 1, 3]);
        assert_eq!(po, [1, 1, 2, 3, 4, 5, 6, 9]);
        assert_eq!(f.get_nowait(), Err(GetError::Empty));
    });
}

#[test]
fn priority_tuples_come_out_lowest_first() {
    on_all_flavors(|_| async {
        let q = PriorityQueue::new(0);
        q.put((3, "low")).await.unwrap();
        q.put((1, "urgent")).await.unwrap();
        q.put((2, "normal")).await.unwrap();
        let order: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
        assert_eq!(order, [(1, "urgent"), (2, "normal"), (3, "low")]);
    });
}

#[test]
fn maxsize_blocks_put_until_a_get() {
    on_all_flavors(|_| async {
        let q = Queue::new(2);
        q.put(1).await.unwrap();
        q.put(2).await.unwrap();
        assert!(q.is_full());
        assert!(matches!(q.put_nowait(3), Err(PutError::Full(3))));
        let mut put = Box::pin(q.put(3));
        assert!(poll_once(&mut put).await.is_none(), "full: put waits");
        assert_eq!(q.get().await, Ok(1));
        put.await.unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q.get().await, Ok(2));
        assert_eq!(q.get().await, Ok(3));
    });
}

#[test]
fn waiting_getters_are_served_in_arrival_order() {
    on_all_flavors(|_| async {
        let q = Queue::new(0);
        let log = Log::new();
        let started = Counter::new();
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (q, log, st) = (q.clone(), log.clone(), started.clone());
            tasks.push(aio::spawn(async move {
                let mut get = Box::pin(q.get());
                let first = poll_once(&mut get).await;
                assert!(first.is_none());
                st.bump();
                if get.await.is_ok() {
                    log.push(format!("getter {i}"));
                }
            }));
            // Register getter i before getter i + 1 starts.
            yield_until(|| started.get() == i + 1).await;
        }
        // Three items for five waiting getters: the first three get them
        // (which item each takes depends on who runs first).
        for item in 0..3 {
            q.put(item).await.unwrap();
        }
        yield_until(|| log.len() == 3).await;
        q.shutdown(false);
        for t in tasks {
            t.await.unwrap();
        }
        let mut got = log.get();
        got.sort();
        assert_eq!(got, ["getter 0", "getter 1", "getter 2"]);
    });
}

#[test]
fn waiting_putters_are_served_in_arrival_order() {
    on_all_flavors(|_| async {
        let q = Queue::new(1);
        q.put(100).await.unwrap();
        let started = Counter::new();
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (q, st) = (q.clone(), started.clone());
            tasks.push(aio::spawn(async move {
                let mut put = Box::pin(q.put(i));
                assert!(poll_once(&mut put).await.is_none());
                st.bump();
                put.await.unwrap();
            }));
            yield_until(|| started.get() == i + 1).await;
        }
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(q.get().await.unwrap());
        }
        assert_eq!(got, [100, 0, 1, 2, 3, 4]);
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn join_returns_after_100_task_done() {
    on_all_flavors(|_| async {
        let q = Queue::new(0);
        let done = Counter::new();
        for i in 0..100 {
            q.put(i).await.unwrap();
        }
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (q, done) = (q.clone(), done.clone());
                aio::spawn(async move {
                    while let Ok(_item) = q.get().await {
                        aio::task::yield_now().await;
                        done.bump();
                        q.task_done().unwrap();
                    }
                })
            })
            .collect();
        q.join().await;
        assert_eq!(done.get(), 100, "join returned before every task_done");
        assert!(q.task_done().is_err(), "101st task_done is an error");
        q.shutdown(false);
        for w in workers {
            w.await.unwrap();
        }
    });
}

#[test]
fn join_with_nothing_put_returns_at_once() {
    on_all_flavors(|_| async {
        let q = Queue::<u8>::new(0);
        let mut join = Box::pin(q.join());
        assert_eq!(poll_once(&mut join).await, Some(()));
    });
}

#[test]
fn stream_yields_items_until_shutdown() {
    on_all_flavors(|_| async {
        use aio::stream::Stream;
        let q = Queue::new(4);
        let producer = {
            let q = q.clone();
            aio::spawn(async move {
                for i in 0..20 {
                    q.put(i).await.unwrap();
                }
                q.shutdown(false);
            })
        };
        let mut s = std::pin::pin!(q.stream());
        let mut got = Vec::new();
        while let Some(i) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
            got.push(i);
        }
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        producer.await.unwrap();
    });
}
