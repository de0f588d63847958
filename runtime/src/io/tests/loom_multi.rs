//! Loom models of the multishot queue (`multi.rs`): the ring's owner posts
//! CQEs (`Header::on_cqe` with and without `F_MORE`, then the release the
//! driver does after the last one) while the consumer polls or drops.
//!
//! Checked in every interleaving:
//! - no lost wakeup: a poll that returned `Pending` is woken before the
//!   next result can be missed, and the results come out in order, the
//!   last one followed by `None`;
//! - each result is handled exactly once: taken by the consumer or, once
//!   it is gone, released by `orphaned`; the data is dropped once, after
//!   the kernel's last reference.

use crate::io::multi::{MultiAble, MultiRecord};
use crate::io::record::{Completion, Header};
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use loom::thread;
use std::ptr::NonNull;
use std::task::{Poll, Wake, Waker};

loom::lazy_static! {
    /// Results released by `MultiAble::orphaned` (one counter per execution).
    static ref ORPHANED: AtomicUsize = AtomicUsize::new(0);
}

/// A multishot op's data: a drop counter. `CAP`: the results it queues
/// before it pauses.
struct Data<const CAP: usize = { usize::MAX }>(Arc<AtomicUsize>);

impl<const CAP: usize> Drop for Data<CAP> {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

// SAFETY: the model never submits the SQE to a real kernel.
unsafe impl<const CAP: usize> MultiAble for Data<CAP> {
    type Item = std::io::Result<u32>;
    const MAX_QUEUED: usize = CAP;
    fn sqe(&mut self) -> io_uring::squeue::Entry {
        io_uring::opcode::Nop::new().build()
    }
    fn item(res: std::io::Result<u32>) -> Self::Item {
        res
    }
    fn orphaned(&self, _c: Completion) {
        ORPHANED.fetch_add(1, SeqCst);
    }
}

fn cqe(res: i32) -> Completion {
    Completion { res, flags: 0 }
}

/// The ring owner's side: posts results 1..=n (the last without F_MORE),
/// waking what `on_cqe` returns, then releases the kernel's reference.
fn post(rec: usize, n: i32) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let p = NonNull::new(rec as *mut Header).expect("a record address");
        for i in 1..=n {
            // SAFETY: the kernel's reference keeps the record alive until
            // the release below.
            if let Some(w) = unsafe { Header::on_cqe(p, cqe(i), i < n) }.waker {
                w.wake();
            }
        }
        // SAFETY: the kernel's reference, used for the last time.
        unsafe { Header::release(p) };
    })
}

/// A waker that counts its wakes.
struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A record armed in the model's kernel, which posts `n` results from its
/// own thread, and the consumer's counting waker.
struct Armed {
    drops: Arc<AtomicUsize>,
    rec: Arc<MultiRecord<Data>>,
    kernel: thread::JoinHandle<()>,
    wakes: Arc<CountWake>,
    waker: Waker,
}

fn arm(n: i32) -> Armed {
    let drops = Arc::new(AtomicUsize::new(0));
    let rec = MultiRecord::new(Data::<{ usize::MAX }>(drops.clone()));
    let kernel = post(MultiRecord::into_raw(rec.clone()).as_ptr() as usize, n);
    let wakes = Arc::new(CountWake(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    Armed {
        drops,
        rec,
        kernel,
        wakes,
        waker,
    }
}

/// The consumer's loop: polls until `None`, waiting after each `Pending`
/// for the wake the completer owes it (a lost wake hangs the model).
fn take_all<T: MultiAble>(rec: &MultiRecord<T>, waker: &Waker, wakes: &CountWake) -> Vec<i32> {
    let mut got = Vec::new();
    let mut seen_wakes = 0;
    loop {
        match rec.poll(waker) {
            Poll::Ready(Some(c)) => got.push(c.res),
            Poll::Ready(None) => return got,
            Poll::Pending => {
                while wakes.0.load(SeqCst) == seen_wakes {
                    thread::yield_now();
                }
                seen_wakes = wakes.0.load(SeqCst);
            }
        }
    }
}

/// The consumer takes every result in order, then `None`; every Pending is
/// followed by a wake.
#[test]
fn the_consumer_gets_every_result_in_order_without_lost_wakes() {
    model(|| {
        let Armed {
            drops,
            rec,
            kernel,
            wakes,
            waker,
        } = arm(2);
        let got = take_all(&rec, &waker, &wakes);
        kernel.join().unwrap();
        assert_eq!(got, [1, 2]);
        assert_eq!(ORPHANED.load(SeqCst), 0);
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
    });
}

/// The consumer drops after one poll, while results arrive: each result is
/// taken or orphaned exactly once, and the consumer's waker is let go.
#[test]
fn a_dropped_consumer_releases_every_result_once() {
    model(|| {
        let Armed {
            drops,
            rec,
            kernel,
            wakes,
            waker,
        } = arm(2);
        let taken = match rec.poll(&waker) {
            Poll::Ready(Some(_)) => 1,
            _ => 0,
        };
        let armed = rec.drop_consumer();
        drop(waker);
        kernel.join().unwrap();
        assert_eq!(
            taken + ORPHANED.load(SeqCst),
            2,
            "every result is taken or orphaned, once"
        );
        if !armed {
            assert_eq!(ORPHANED.load(SeqCst), 2 - taken, "ended before the drop");
        }
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
        assert_eq!(Arc::strong_count(&wakes), 1, "no waker is kept");
    });
}

/// A full queue pauses the op: the completer asks for one cancel (with a
/// reference of its own), the kernel's `-ECANCELED` end is not a result,
/// and the consumer gets the queued result, then the end, without a lost
/// wake; the data is dropped once, after both references are released.
#[test]
fn a_full_queue_pauses_the_op_and_its_cancel_is_not_a_result() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rec = MultiRecord::new(Data::<1>(drops.clone()));
        let raw = MultiRecord::into_raw(rec.clone()).as_ptr() as usize;
        let kernel = thread::spawn(move || {
            let p = NonNull::new(raw as *mut Header).expect("a record address");
            // SAFETY: the kernel's reference keeps the record alive.
            let first = unsafe { Header::on_cqe(p, cqe(1), true) };
            let cancel = first.pause.expect("the full queue pauses the op");
            if let Some(w) = first.waker {
                w.wake();
            }
            // The driver's cancel ends the op.
            // SAFETY: as above.
            let end = unsafe { Header::on_cqe(p, cqe(-libc::ECANCELED), false) };
            assert!(end.pause.is_none(), "one pause only");
            if let Some(w) = end.waker {
                w.wake();
            }
            // SAFETY: the kernel's reference and the cancel's, each used
            // for the last time.
            unsafe {
                Header::release(p);
                Header::release(cancel);
            }
        });
        let wakes = Arc::new(CountWake(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let got = take_all(&rec, &waker, &wakes);
        kernel.join().unwrap();
        assert_eq!(got, [1], "the pause's -ECANCELED is not a result");
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
    });
}

/// The consumer asks the op to end (`MultiOp::end`, when its reader moved
/// to another worker) while a result fills the queue, which pauses the op:
/// exactly one of them sends the cancel, its `-ECANCELED` end is not a
/// result, and the consumer gets the result, then the end, with no lost
/// wake; the data is dropped once, after every reference is released.
#[test]
fn an_end_racing_a_pause_sends_one_cancel() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let cancels = Arc::new(AtomicUsize::new(0));
        let rec = MultiRecord::new(Data::<1>(drops.clone()));
        let raw = MultiRecord::into_raw(rec.clone()).as_ptr() as usize;
        let kernel_cancels = cancels.clone();
        let kernel = thread::spawn(move || {
            let p = NonNull::new(raw as *mut Header).expect("a record address");
            // SAFETY: the kernel's reference keeps the record alive.
            let first = unsafe { Header::on_cqe(p, cqe(1), true) };
            if let Some(w) = first.waker {
                w.wake();
            }
            // Whichever cancel was sent ends the op.
            // SAFETY: as above.
            let end = unsafe { Header::on_cqe(p, cqe(-libc::ECANCELED), false) };
            assert!(end.pause.is_none(), "one pause only");
            if let Some(w) = end.waker {
                w.wake();
            }
            if let Some(cancel) = first.pause {
                kernel_cancels.fetch_add(1, SeqCst);
                // SAFETY: the pause's cancel reference, used for the last
                // time.
                unsafe { Header::release(cancel) };
            }
            // SAFETY: the kernel's reference, used for the last time.
            unsafe { Header::release(p) };
        });
        // The consumer's end: a reference for its cancel, as `MultiOp::end`.
        let mine = rec
            .begin_end()
            .then(|| MultiRecord::into_raw(rec.clone()).as_ptr() as usize);
        let wakes = Arc::new(CountWake(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let got = take_all(&rec, &waker, &wakes);
        kernel.join().unwrap();
        if let Some(c) = mine {
            cancels.fetch_add(1, SeqCst);
            // SAFETY: the end's cancel reference, used for the last time.
            unsafe { Header::release(NonNull::new(c as *mut Header).expect("a record")) };
        }
        assert_eq!(cancels.load(SeqCst), 1, "exactly one cancel is sent");
        assert_eq!(got, [1], "the -ECANCELED end is not a result");
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
    });
}
