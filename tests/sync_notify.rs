//! Behaviour of `Notify`, `oneshot` and `CancellationToken`. Each body runs
//! on current_thread, 1 and 4 workers.

mod common;

use aio::sync::{oneshot, CancellationToken, Notify};
use common::{on_all_flavors, poll_once, Counter};
use std::sync::Arc;

#[test]
fn notify_one_wakes_one_or_stores_a_permit() {
    on_all_flavors(|_| async {
        let n = Notify::new();
        n.notify_one();
        n.notify_one();
        n.notified().await; // the stored permit
        let mut a = Box::pin(n.notified());
        let mut b = Box::pin(n.notified());
        assert!(
            poll_once(&mut a).await.is_none(),
            "only one permit is stored"
        );
        assert!(poll_once(&mut b).await.is_none());
        n.notify_one();
        assert!(poll_once(&mut b).await.is_none(), "FIFO: `a` is first");
        assert!(poll_once(&mut a).await.is_some());
        // Chosen, then dropped: passes to `b`.
        let mut c = Box::pin(n.notified());
        assert!(poll_once(&mut c).await.is_none());
        n.notify_one();
        drop(b);
        assert!(poll_once(&mut c).await.is_some());
    });
}

#[test]
fn notify_waiters_wakes_all_current_and_stores_nothing() {
    on_all_flavors(|_| async {
        let n = Arc::new(Notify::new());
        let woken = Counter::new();
        let started = Counter::new();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (n, woken, started) = (n.clone(), woken.clone(), started.clone());
                aio::spawn(async move {
                    let f = n.notified(); // created before the call below
                    started.bump();
                    f.await;
                    woken.bump();
                })
            })
            .collect();
        common::yield_until(|| started.get() == 50).await;
        n.notify_waiters();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(woken.get(), 50);
        let mut later = Box::pin(n.notified());
        assert!(poll_once(&mut later).await.is_none(), "no permit stored");
    });
}

#[test]
fn oneshot_send_recv_and_drops() {
    on_all_flavors(|_| async {
        let (tx, rx) = oneshot::channel();
        let t = aio::spawn(rx);
        tx.send(String::from("v")).unwrap();
        assert_eq!(t.await.unwrap().unwrap(), "v");

        let (tx, rx) = oneshot::channel::<u8>();
        let t = aio::spawn(rx);
        drop(tx);
        assert!(t.await.unwrap().is_err());

        let (mut tx, rx) = oneshot::channel::<u8>();
        assert!(!tx.is_closed());
        let t = aio::spawn(async move { drop(rx) });
        tx.closed().await;
        t.await.unwrap();
        assert_eq!(tx.send(1), Err(1));
    });
}

#[test]
fn cancellation_token_reaches_children_not_parents() {
    on_all_flavors(|_| async {
        let root = CancellationToken::new();
        let child = root.child_token();
        let grandchild = child.child_token();
        let other = root.child_token();
        other.cancel();
        assert!(!root.is_cancelled() && !child.is_cancelled());
        let woken = Counter::new();
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (g, woken) = (grandchild.clone(), woken.clone());
                aio::spawn(async move {
                    g.cancelled().await;
                    woken.bump();
                })
            })
            .collect();
        for _ in 0..10 {
            aio::task::yield_now().await;
        }
        assert_eq!(woken.get(), 0);
        root.cancel();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(woken.get(), 10);
        assert!(child.is_cancelled() && grandchild.is_cancelled());
        assert!(root.child_token().is_cancelled());
    });
}

#[test]
fn many_short_lived_children_are_pruned() {
    let root = CancellationToken::new();
    for _ in 0..common::scaled(100_000) {
        let c = root.child_token();
        drop(c);
    }
    // Nothing to assert about memory directly; cancelling still works and
    // finishes fast because dead children were pruned along the way.
    let live = root.child_token();
    root.cancel();
    assert!(live.is_cancelled());
}

#[test]
fn types_are_send_and_sync() {
    fn sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    sync::<Notify>();
    sync::<CancellationToken>();
    sync::<oneshot::Sender<u8>>();
    sync::<oneshot::Receiver<u8>>();
    let n = Notify::new();
    send(&n.notified());
    let t = CancellationToken::new();
    send(&t.cancelled());
}
