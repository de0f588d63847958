//! Model: the epoll driver's park (`epoll.rs`) with the readiness protocol
//! of `io/ready.rs`, end to end. Three threads:
//!
//! - the worker parks the way `epoll::Driver::park` does: `park_prepare`,
//!   block in "epoll_wait" unless notified, `park_finish`, then turn the
//!   events into readiness and wake the waiters (`dispatch`);
//! - the kernel makes data arrive on a socket and queues its event, which
//!   ends a blocked "epoll_wait" (as the real kernel does);
//! - the op (the model's main thread) tries its syscall, waits for
//!   readiness, and when done unparks the worker to stop it, through the
//!   unparker's signal (an eventfd write in the real driver).
//!
//! "epoll_wait" is a condvar over a mock epoll set holding the eventfd's
//! count (level-triggered, drained after the wait, as `dispatch` reads the
//! eventfd) and the queued events. If a readiness event or an unpark
//! could be lost, some thread blocks forever and loom reports it.

use crate::driver::unpark::{Prepared, Signal, Unparker};
use crate::io::ready::{Interest, ScheduledIo, READABLE};
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use std::task::{Wake, Waker};

#[derive(Default)]
struct EpollSet {
    eventfd: u64,
    events: Vec<usize>,
}

/// The mock epoll instance: its set, and the condvar "epoll_wait" blocks on.
struct MockEpoll {
    set: Mutex<EpollSet>,
    cv: Condvar,
}

/// The unparker's signal: an eventfd write, which makes the eventfd
/// readable in the set.
struct EventfdWrite(Arc<MockEpoll>);

impl Signal for EventfdWrite {
    fn signal(&self) {
        self.0.set.lock().eventfd += 1;
        self.0.cv.notify_one();
    }
}

impl MockEpoll {
    /// Waits until the set has something (or returns at once when `block`
    /// is false), then takes the events and drains the eventfd.
    fn wait(&self, block: bool) -> Vec<usize> {
        let mut set = self.set.lock();
        while block && set.eventfd == 0 && set.events.is_empty() {
            self.cv.wait(&mut set);
        }
        set.eventfd = 0;
        std::mem::take(&mut set.events)
    }

    /// The kernel: an fd became ready.
    fn event(&self, bits: usize) {
        self.set.lock().events.push(bits);
        self.cv.notify_one();
    }
}

/// One park of the epoll driver, then its dispatch.
fn park_and_dispatch(unparker: &Unparker, ep: &MockEpoll, io: &ScheduledIo) {
    let block = unparker.park_prepare() == Prepared::Block;
    let events = ep.wait(block);
    if block {
        unparker.park_finish();
    }
    let mut woken = Vec::new();
    for bits in events {
        io.set_readiness(bits, &mut woken);
    }
    for w in woken {
        w.wake();
    }
}

struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

#[test]
fn an_event_reaches_an_op_through_a_parked_epoll_driver_and_an_unpark_stops_it() {
    model(|| {
        let ep = Arc::new(MockEpoll {
            set: Mutex::new(EpollSet::default()),
            cv: Condvar::new(),
        });
        let unparker = Arc::new(Unparker::new(Box::new(EventfdWrite(ep.clone()))));
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));

        let worker = {
            let (u, e, i, s) = (unparker.clone(), ep.clone(), io.clone(), stop.clone());
            thread::spawn(move || {
                while !s.load(SeqCst) {
                    park_and_dispatch(&u, &e, &i);
                }
            })
        };
        let kernel = {
            let (e, d) = (ep.clone(), data.clone());
            thread::spawn(move || {
                d.store(true, SeqCst);
                e.event(READABLE);
            })
        };

        // The op, as `wait.rs` runs it.
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut key = None;
        loop {
            let snap = io.snapshot();
            if data.load(SeqCst) {
                break;
            }
            io.clear(snap, Interest::Read);
            if io.poll_ready(Interest::Read, &mut key, &waker).is_pending() {
                thread::park();
            }
        }
        if let Some(k) = key {
            io.remove(k);
        }
        stop.store(true, SeqCst);
        unparker.unpark();
        kernel.join().unwrap();
        worker.join().unwrap();
    });
}
