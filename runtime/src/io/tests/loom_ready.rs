//! Models of the epoll driver's readiness protocol (`ready.rs`): an op
//! tries its syscall, clears readiness on `EAGAIN` (only if no event came
//! since its snapshot), registers its waker, and the driver's event sets
//! readiness, then wakes the waiters.
//!
//! The socket is an atomic flag ("data is there"): the op's syscall reads
//! it, the kernel sets it before the driver sees the event. The op is the
//! model's main thread; when it returns `Pending` it parks (loom's
//! `thread::park`) until its waker unparks it. A lost readiness (an
//! `EAGAIN` whose clear erased a later event, or a waker registered after
//! the driver looked) leaves it parked forever: loom reports the deadlock.

use crate::io::ready::{Interest, ScheduledIo, READABLE, SHUTDOWN, WRITABLE};
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use loom::thread;
use std::task::{Wake, Waker};

/// A waker that unparks the thread that made it.
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn waker() -> Waker {
    Waker::from(Arc::new(Unpark(thread::current())))
}

/// One op, as `wait.rs` runs it: snapshot, try, clear, wait, retry, until
/// the syscall (`data`) succeeds. Returns the number of tries.
fn run_op(io: &ScheduledIo, data: &AtomicBool) -> usize {
    let waker = waker();
    let mut key = None;
    let mut tries = 0;
    loop {
        let snap = io.snapshot();
        tries += 1;
        if data.load(SeqCst) {
            if let Some(k) = key {
                io.remove(k);
            }
            return tries;
        }
        // EAGAIN.
        io.clear(snap, Interest::Read);
        if io.poll_ready(Interest::Read, &mut key, &waker).is_pending() {
            thread::park();
        }
    }
}

/// The kernel makes data arrive, then the driver delivers the event.
fn deliver(io: &ScheduledIo, data: &AtomicBool, bits: usize) {
    data.store(true, SeqCst);
    event(io, bits);
}

/// The driver delivers an event and wakes the ops it concerns.
fn event(io: &ScheduledIo, bits: usize) {
    let mut woken = Vec::new();
    io.set_readiness(bits, &mut woken);
    for w in woken {
        w.wake();
    }
}

#[test]
fn readiness_racing_an_op_is_never_lost() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(AtomicBool::new(false));
        let (i, d) = (io.clone(), data.clone());
        let driver = thread::spawn(move || deliver(&i, &d, READABLE));
        run_op(&io, &data);
        driver.join().unwrap();
    });
}

/// A write event (the other direction's tick) racing a read op and the
/// read event: the read readiness is still never lost.
#[test]
fn a_write_event_racing_a_read_op_loses_no_read_readiness() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        let mut woken = Vec::new();
        io.set_readiness(READABLE, &mut woken); // stale: already read
        let data = Arc::new(AtomicBool::new(false));
        let (i, d) = (io.clone(), data.clone());
        let reader_event = thread::spawn(move || deliver(&i, &d, READABLE));
        let i = io.clone();
        // A reader woken by it saw the read event's bits too: it is woken.
        let writer_event = thread::spawn(move || event(&i, WRITABLE));
        run_op(&io, &data);
        reader_event.join().unwrap();
        writer_event.join().unwrap();
    });
}

/// An event from before the op's syscall (stale: the data was consumed
/// already) and a fresh one racing the op: the op's clear of the stale
/// readiness must not erase the fresh event.
#[test]
fn a_stale_readiness_cleared_by_an_op_does_not_erase_a_fresh_event() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        // A first event whose data a previous op already read.
        let mut woken = Vec::new();
        io.set_readiness(READABLE, &mut woken);
        assert!(woken.is_empty());
        let data = Arc::new(AtomicBool::new(false));
        let (i, d) = (io.clone(), data.clone());
        let driver = thread::spawn(move || deliver(&i, &d, READABLE));
        run_op(&io, &data);
        driver.join().unwrap();
    });
}

/// Two ops waiting in one direction: an event wakes both; each gets the
/// data or waits again, none is left parked.
#[test]
fn an_event_wakes_every_op_waiting_in_its_direction() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let (i, d, n) = (io.clone(), data.clone(), done.clone());
        let other = thread::spawn(move || {
            run_op(&i, &d);
            n.fetch_add(1, SeqCst);
        });
        let (i, d) = (io.clone(), data.clone());
        let driver = thread::spawn(move || deliver(&i, &d, READABLE));
        run_op(&io, &data);
        driver.join().unwrap();
        other.join().unwrap();
        assert_eq!(done.load(SeqCst), 1);
    });
}

/// The driver goes away (`SHUTDOWN`): a waiting op is woken to
/// re-register elsewhere; here the data comes through the new driver.
#[test]
fn a_shut_down_registration_wakes_its_waiter() {
    model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(AtomicBool::new(false));
        let (i, d) = (io.clone(), data.clone());
        let driver = thread::spawn(move || {
            let mut woken = Vec::new();
            i.set_readiness(SHUTDOWN, &mut woken);
            d.store(true, SeqCst);
            for w in woken {
                w.wake();
            }
        });
        let waker = waker();
        let mut key = None;
        loop {
            let snap = io.snapshot();
            if data.load(SeqCst) {
                break;
            }
            if io.is_shut_down() {
                // wait.rs re-registers here: the new driver's readiness
                // says the data is there once it is.
                while !data.load(SeqCst) {
                    thread::yield_now();
                }
                break;
            }
            io.clear(snap, Interest::Read);
            if io.poll_ready(Interest::Read, &mut key, &waker).is_pending() {
                thread::park();
            }
        }
        driver.join().unwrap();
    });
}
