//! Model: the intrusive timer entry's protocol (`timers.rs`). The owner
//! fires while another thread (where the `Sleep`'s task moved) replaces the
//! waker, or unlinks the entry (alone, or beside a neighbour in the same
//! slot list that the owner fires) and then reuses its memory. A registered
//! waker is always woken when the timer fires; a remove never races with
//! the firing thread's last touch of the entry, and a timer fires at most
//! once. A wheel that retires (a `block_on` returned) while a moved
//! `Sleep` updates its waker never strands it: the retire wakes the
//! waker it finds, or the update learns the wheel is gone. (The links are a std `UnsafeCell`, guarded by the loom mutex;
//! the waker cell is loom's and is checked.)

use super::super::clock::Clock;
use super::super::timers::{TimerEntry, Timers, Waiting};
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use loom::thread;
use std::pin::Pin;
use std::task::{Wake, Waker};
use std::time::Duration;

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counter() -> std::sync::Arc<Count> {
    std::sync::Arc::new(Count(AtomicUsize::new(0)))
}

/// A wheel at tick 0 holding `entry` due at tick 1, and the clock moved
/// to tick 1.
fn armed(entry: &Arc<TimerEntry>, waker: &Waker) -> (Arc<Clock>, Timers) {
    let clock = Arc::new(Clock::new(true));
    let timers = Timers::new(clock.clone(), Default::default());
    // SAFETY: the entry is in no wheel and lives in an `Arc` that the
    // model keeps until after it fired or was removed: it never moves.
    unsafe { timers.insert(Pin::new_unchecked(&**entry), 1, waker) };
    clock.advance(Duration::from_millis(1));
    (clock, timers)
}

#[test]
fn fire_vs_waker_update_never_loses_the_wake() {
    model(|| {
        let entry = Arc::new(TimerEntry::default());
        let (first, second) = (counter(), counter());
        let (_clock, timers) = armed(&entry, &Waker::from(first.clone()));
        let (shared, e2, w2) = (timers.shared.clone(), entry.clone(), second.clone());
        // A poll of the Sleep on the worker its task moved to.
        // SAFETY: the entry was inserted in this wheel and nothing inserts
        // or removes it meanwhile.
        let poller = thread::spawn(move || unsafe { shared.update_waker(&e2, &Waker::from(w2)) });
        let fired = timers.process();
        let saw_fired = poller.join().unwrap() == Waiting::Fired;
        assert_eq!(fired, 1);
        assert!(entry.is_fired());
        let (a, b) = (first.0.load(SeqCst), second.0.load(SeqCst));
        if saw_fired {
            assert_eq!((a, b), (1, 0), "fired before the update: first waker");
        } else {
            assert_eq!((a, b), (0, 1), "updated before the fire: new waker");
        }
    });
}

#[test]
fn remote_remove_vs_owner_fire() {
    model(|| {
        let entry = Arc::new(TimerEntry::default());
        let count = counter();
        let (_clock, timers) = armed(&entry, &Waker::from(count.clone()));
        let (shared, e2) = (timers.shared.clone(), entry.clone());
        // Sleep::drop on another thread, then the memory reused: a write
        // that loom reports if the firing thread can still touch the entry.
        let remover = thread::spawn(move || {
            // SAFETY: registered (if at all) in this wheel; not inserted
            // concurrently.
            unsafe { shared.remove(&e2) };
            assert!(!e2.is_registered());
            e2.reuse_for_test();
        });
        let fired_first = timers.process();
        remover.join().unwrap();
        let fired_second = timers.process();
        assert!(fired_first + fired_second <= 1, "never fires twice");
        assert_eq!(fired_second, 0, "a removed timer never fires later");
        assert_eq!(count.0.load(SeqCst), fired_first, "woken iff fired");
        assert_eq!(entry.is_fired(), fired_first == 1);
        assert_eq!(timers.shared.len(), 0, "unlinked either way");
    });
}

#[test]
fn remote_remove_of_one_entry_vs_owner_firing_its_neighbour() {
    model(|| {
        let (a, b) = (
            Arc::new(TimerEntry::default()),
            Arc::new(TimerEntry::default()),
        );
        let (count_a, count_b) = (counter(), counter());
        let (_clock, timers) = armed(&a, &Waker::from(count_a.clone()));
        // `b` shares `a`'s slot list: unlinking `a` rewrites `b`'s links.
        // SAFETY: as in `armed`.
        unsafe { timers.insert(Pin::new_unchecked(&*b), 1, &Waker::from(count_b.clone())) };
        let (shared, a2) = (timers.shared.clone(), a.clone());
        let remover = thread::spawn(move || {
            // SAFETY: registered (if at all) in this wheel; not inserted
            // concurrently.
            unsafe { shared.remove(&a2) };
            a2.reuse_for_test();
        });
        let fired = timers.process();
        remover.join().unwrap();
        let fired = fired + timers.process();
        assert_eq!(
            count_b.0.load(SeqCst),
            1,
            "the neighbour fires exactly once"
        );
        assert!(b.is_fired());
        assert_eq!(fired, 1 + count_a.0.load(SeqCst));
        assert_eq!(timers.shared.len(), 0);
    });
}

#[test]
fn retire_vs_waker_update_never_strands_the_sleep() {
    model(|| {
        let entry = Arc::new(TimerEntry::default());
        let (first, second) = (counter(), counter());
        let clock = Arc::new(Clock::new(true));
        let timers = Timers::new(clock, Default::default());
        // SAFETY: as in `armed`; due far ahead, it never fires here.
        unsafe {
            timers.insert(
                Pin::new_unchecked(&*entry),
                1_000,
                &Waker::from(first.clone()),
            )
        };
        let (shared, e2, w2) = (timers.shared.clone(), entry.clone(), second.clone());
        // A poll of the Sleep by the task it was handed to, on a worker.
        // SAFETY: the entry was inserted in this wheel and nothing inserts
        // or removes it meanwhile.
        let poller = thread::spawn(move || unsafe { shared.update_waker(&e2, &Waker::from(w2)) });
        // The `block_on` that drove the wheel returns.
        let shared = timers.shared.clone();
        drop(timers);
        let seen = poller.join().unwrap();
        assert!(!entry.is_fired(), "a retired wheel fires nothing");
        match seen {
            Waiting::Registered => {
                assert_eq!(second.0.load(SeqCst), 1, "the retire woke the new waker")
            }
            Waiting::Orphaned => {
                assert_eq!(
                    first.0.load(SeqCst),
                    1,
                    "the retire woke the waker it found"
                )
            }
            Waiting::Fired => panic!("a timer not due fired"),
        }
        // The next poll takes the entry back to register it elsewhere.
        // SAFETY: not inserted concurrently.
        assert!(unsafe { shared.take_back(&entry) });
        assert!(!entry.is_registered());
    });
}
