//! Model: timer fire vs register (a poll on another worker), and a cancel
//! from another thread (through the owner's mailbox) vs the owner firing.
//! A registered waker is always woken when the timer fires; a late or
//! stale cancel never double-fires nor disturbs the wheel.

use super::super::clock::Clock;
use super::super::timers::{TimerEntry, Timers};
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use loom::thread;
use std::task::{Wake, Waker};
use std::time::Duration;

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn fire_vs_register_never_loses_the_wake() {
    model(|| {
        let entry = Arc::new(TimerEntry::default());
        let e2 = entry.clone();
        let firer = thread::spawn(move || e2.fire());
        let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
        let already = entry.register(&Waker::from(count.clone()));
        firer.join().unwrap();
        if !already {
            assert_eq!(
                count.0.load(SeqCst),
                1,
                "a registered waker is woken once at fire"
            );
        }
        assert!(entry.is_fired());
    });
}

#[test]
fn remote_cancel_vs_owner_fire() {
    model(|| {
        let clock = Arc::new(Clock::new(true));
        let timers = Timers::new(clock.clone(), Default::default());
        let entry = Arc::new(TimerEntry::default());
        let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
        assert!(!entry.register(&Waker::from(count.clone())));
        let key = timers.insert(1, entry.clone());
        clock.advance(Duration::from_millis(1));
        let (owner, e2) = (timers.owner.clone(), entry.clone());
        // Sleep::drop on another thread.
        let canceller = thread::spawn(move || {
            if !e2.is_fired() {
                owner.post_cancel(key);
            }
        });
        let fired_first = timers.process();
        canceller.join().unwrap();
        let fired_second = timers.process();
        assert!(fired_first + fired_second <= 1, "never fires twice");
        assert_eq!(
            count.0.load(SeqCst),
            fired_first + fired_second,
            "woken iff fired"
        );
        assert_eq!(entry.is_fired(), fired_first + fired_second == 1);
    });
}
