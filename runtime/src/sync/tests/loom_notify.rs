//! Model: `Notify::notify_one` vs waiter registration and drop. A
//! notification is never lost: it reaches a waiter or is stored as the
//! permit, and a waiter chosen and then dropped passes it on.

use super::{poll, waker};
use crate::loom::model::model;
use crate::loom::sync::Arc;
use crate::sync::Notify;
use loom::thread;

#[test]
fn notify_one_vs_register() {
    model(|| {
        let n = Arc::new(Notify::new());
        let n1 = n.clone();
        let notifier = thread::spawn(move || n1.notify_one());
        let (w, count) = waker();
        let mut f = Box::pin(n.notified());
        let first = poll(f.as_mut(), &w);
        notifier.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.wakes(), 1);
            assert!(poll(f.as_mut(), &w).is_ready());
        }
        // Consumed exactly once: no permit is left over.
        let mut g = Box::pin(n.notified());
        assert!(poll(g.as_mut(), &w).is_pending());
    });
}

#[test]
fn notify_one_vs_a_dropped_waiter_passes_it_on() {
    model(|| {
        let n = Arc::new(Notify::new());
        let n1 = n.clone();
        let notifier = thread::spawn(move || n1.notify_one());
        let (w, _count) = waker();
        let mut a = Box::pin(n.notified());
        let mut b = Box::pin(n.notified());
        let pa = poll(a.as_mut(), &w);
        let pb = poll(b.as_mut(), &w);
        drop(a);
        notifier.join().unwrap();
        let b_done = pb.is_ready() || poll(b.as_mut(), &w).is_ready();
        assert!(
            pa.is_ready() != b_done,
            "exactly one of the two waiters consumes the notification"
        );
    });
}

#[test]
fn notify_waiters_vs_register() {
    model(|| {
        let n = Arc::new(Notify::new());
        let (w, count) = waker();
        // Created before the call: must complete whatever the interleaving.
        let mut f = Box::pin(n.notified());
        let n1 = n.clone();
        let notifier = thread::spawn(move || n1.notify_waiters());
        let first = poll(f.as_mut(), &w);
        notifier.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.wakes(), 1);
            assert!(poll(f.as_mut(), &w).is_ready());
        }
    });
}
