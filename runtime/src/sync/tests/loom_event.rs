//! Model: `Event::set` on another thread vs a `wait` registering. A waiter
//! that saw the event unset is always woken, and then completes.

use super::{poll, waker};
use crate::loom::model::model;
use crate::loom::sync::Arc;
use crate::sync::Event;
use loom::thread;

#[test]
fn set_vs_wait_never_loses_the_wake() {
    model(|| {
        let ev = Arc::new(Event::new());
        let e1 = ev.clone();
        let setter = thread::spawn(move || e1.set());
        let (w, count) = waker();
        let mut f = Box::pin(ev.wait());
        let first = poll(f.as_mut(), &w);
        setter.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.wakes(), 1, "a registered waiter is woken once");
            assert!(poll(f.as_mut(), &w).is_ready());
        }
    });
}

#[test]
fn set_vs_a_dropped_waiter() {
    model(|| {
        let ev = Arc::new(Event::new());
        let e1 = ev.clone();
        let setter = thread::spawn(move || e1.set());
        let (w, _count) = waker();
        let mut f = Box::pin(ev.wait());
        let _ = poll(f.as_mut(), &w);
        drop(f);
        setter.join().unwrap();
        assert!(ev.is_set());
        let mut g = Box::pin(ev.wait());
        assert!(poll(g.as_mut(), &w).is_ready());
    });
}
