//! Behaviour of `Event`: `set` wakes every waiter, `wait` returns at once
//! while set, `clear` re-arms, a dropped waiter leaves the queue. Each body
//! runs on current_thread, 1 and 4 workers.

mod common;

use aio::sync::Event;
use common::{on_all_flavors, poll_once, Counter};
use std::sync::Arc;

#[test]
fn set_wakes_every_waiter() {
    on_all_flavors(|_| async {
        let ev = Arc::new(Event::new());
        let woken = Counter::new();
        let started = Counter::new();
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (ev, woken, started) = (ev.clone(), woken.clone(), started.clone());
                aio::spawn(async move {
                    started.bump();
                    ev.wait().await;
                    woken.bump();
                })
            })
            .collect();
        common::yield_until(|| started.get() == 100).await;
        assert_eq!(woken.get(), 0);
        ev.set();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(woken.get(), 100);
    });
}

#[test]
fn wait_returns_at_once_while_set_and_clear_rearms() {
    on_all_flavors(|_| async {
        let ev = Event::new();
        ev.set();
        ev.wait().await;
        ev.clear();
        let mut w = Box::pin(ev.wait());
        assert!(poll_once(&mut w).await.is_none());
        ev.set();
        ev.clear();
        // Woken by the set even though the event was cleared since.
        assert!(poll_once(&mut w).await.is_some());
        let mut w2 = Box::pin(ev.wait());
        assert!(poll_once(&mut w2).await.is_none());
        drop(w2);
        ev.set();
        assert!(ev.is_set());
    });
}

#[test]
fn event_is_send_and_sync() {
    fn sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    sync::<Event>();
    send(&Event::new().wait());
}
