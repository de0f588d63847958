//! Model: the park/unpark protocol of `unpark.rs` never loses a wake.
//! A parker waits for a flag set by another thread; if an unpark could be
//! lost, loom finds an execution where every thread is blocked.

use super::super::unpark::{park_condvar, CondvarSignal, Unparker};
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::Arc;
use loom::thread;

#[test]
fn unpark_before_or_during_park_is_never_lost() {
    unpark_is_never_lost(false);
}

/// The same with the spinning park, which may end on a wake it sees
/// before blocking and leave that wake's signal pending.
#[test]
fn unpark_during_a_spinning_park_is_never_lost() {
    unpark_is_never_lost(true);
}

#[test]
fn two_wakers_and_repeated_parks() {
    two_wakers(false);
}

#[test]
fn two_wakers_and_repeated_spinning_parks() {
    two_wakers(true);
}

fn unpark_is_never_lost(spin: bool) {
    model(move || {
        let signal = Arc::new(CondvarSignal::default());
        let unparker = Arc::new(Unparker::new(Box::new(signal.clone())));
        let flag = Arc::new(AtomicBool::new(false));
        let (u, f) = (unparker.clone(), flag.clone());
        let waker = thread::spawn(move || {
            f.store(true, SeqCst);
            u.unpark();
        });
        while !flag.load(SeqCst) {
            park_condvar(&unparker, &signal, None, spin);
        }
        waker.join().unwrap();
    });
}

fn two_wakers(spin: bool) {
    model(move || {
        let signal = Arc::new(CondvarSignal::default());
        let unparker = Arc::new(Unparker::new(Box::new(signal.clone())));
        let count = Arc::new(crate::loom::sync::atomic::AtomicUsize::new(0));
        let mut ths = Vec::new();
        for _ in 0..2 {
            let (u, c) = (unparker.clone(), count.clone());
            ths.push(thread::spawn(move || {
                c.fetch_add(1, SeqCst);
                u.unpark();
            }));
        }
        while count.load(SeqCst) < 2 {
            park_condvar(&unparker, &signal, None, spin);
        }
        for t in ths {
            t.join().unwrap();
        }
    });
}
