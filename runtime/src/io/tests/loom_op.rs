//! Models of the op record's lifecycle (`record.rs`) and of `SharedFd`'s
//! close-after-the-last-op handshake (`fd.rs`).
//!
//! The kernel and the ring's owner are played by one "completer" thread:
//! it writes into the op's buffer (as the kernel does before posting the
//! CQE), calls `Header::on_cqe`, releases the kernel's reference and
//! wakes the waker `complete` returned (as `reap` + `drive` do). The op
//! future is played by the model's main thread calling `Header::poll`,
//! `Header::drop_future` and `Record::take_data` the way `op.rs` does.
//! Checked in every interleaving:
//! - no lost wakeup: a poll that returned `Pending` is followed by exactly
//!   one wake of the latest waker, and the re-poll is `Ready`;
//! - exactly one of {the future, the completer's orphan cleanup} handles
//!   each result; the data is dropped exactly once; a future dropped in
//!   flight leaves no waker in the record;
//! - the future reads the buffer only after the kernel's write (loom's
//!   cell tracking checks the happens-before through `COMPLETE`).
//!
//! `Arc` is std's even under loom (see `loom/mocked.rs`), so reference
//! counts are not explored; the cells and the state word are.

use crate::io::fd::SharedFd;
use crate::io::record::{Completion, Header, OpData, Polled, Record};
use crate::loom::cell::UnsafeCell;
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use loom::thread;
use std::future::Future;
use std::os::fd::{FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::task::{Context, Poll, Wake, Waker};

/// The completion the model's kernel posts.
const RES: Completion = Completion { res: 7, flags: 0 };
/// What the model's kernel writes into the op's buffer.
const WRITTEN: u32 = 42;

loom::lazy_static! {
    /// Results released by `OpData::orphaned` (one counter per execution).
    static ref ORPHANED: AtomicUsize = AtomicUsize::new(0);
}

/// An op's data: a buffer the kernel writes, and a drop counter.
struct Data {
    buf: UnsafeCell<u32>,
    drops: Arc<AtomicUsize>,
}

impl Data {
    fn new(drops: &Arc<AtomicUsize>) -> Data {
        Data {
            buf: UnsafeCell::new(0),
            drops: drops.clone(),
        }
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

impl OpData for Data {
    fn orphaned(c: Completion) {
        assert_eq!(c, RES, "the orphan cleanup gets the kernel's result");
        ORPHANED.fetch_add(1, SeqCst);
    }
}

/// The kernel's side of one submitted op: the reference given out at
/// submission (the SQE's `user_data`) and the buffer address the SQE names.
/// Plain addresses, so they can cross to the completer thread.
struct Kernel {
    rec: usize,
    buf: usize,
}

impl Kernel {
    /// Submits `rec`: gives the kernel its reference and the buffer.
    fn submit(rec: &Arc<Record<Data>>) -> Kernel {
        // SAFETY: not submitted yet; nobody else reaches the data.
        let buf = unsafe { rec.data_mut(|d| &d.buf as *const UnsafeCell<u32> as usize) };
        Kernel {
            rec: Record::into_raw(rec.clone()).as_ptr() as usize,
            buf,
        }
    }

    /// Fills the buffer, posts the CQE, then does what `reap` and `drive`
    /// do with it: complete, release the kernel's reference, wake.
    fn complete(self) {
        let buf = self.buf as *const UnsafeCell<u32>;
        // SAFETY: the kernel's reference keeps the record, and the data in
        // it, alive; before COMPLETE only the kernel touches the buffer.
        unsafe { (*buf).with_mut(|b| *b = WRITTEN) };
        let rec = NonNull::new(self.rec as *mut Header).expect("a record address");
        // SAFETY: the kernel's reference is alive until released below.
        let waker = unsafe { Header::on_cqe(rec, RES, false) }.waker;
        // SAFETY: the kernel's reference, used for the last time.
        unsafe { Header::release(rec) };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Runs `complete` on a new thread.
    fn spawn(self) -> thread::JoinHandle<()> {
        thread::spawn(move || self.complete())
    }
}

/// What the future does after `poll` returned `Ready`: takes the data back
/// and reads what the kernel wrote (then drops the data).
fn take_written(rec: &Record<Data>) -> u32 {
    // SAFETY: the caller saw `Polled::Ready`, so COMPLETE was observed.
    let data = unsafe { rec.take_data() }.expect("the data is taken once");
    data.buf.with(|b| {
        // SAFETY: COMPLETE was observed with Acquire after the kernel's
        // write; nobody writes the buffer any more.
        unsafe { *b }
    })
}

/// A waker that counts its wakes.
struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl CountWake {
    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

fn counting_waker() -> (Arc<CountWake>, Waker) {
    let c = Arc::new(CountWake(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

/// (a) poll vs completion: the poll sees the result, or a wake follows.
#[test]
fn a_completion_is_seen_by_the_poll_or_wakes_it() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rec = Record::new(Data::new(&drops));
        let completer = Kernel::submit(&rec).spawn();
        let (wakes, waker) = counting_waker();
        match rec.header.poll(&waker) {
            Polled::Ready(c) => {
                assert_eq!(c, RES);
                // Read before the join: only COMPLETE orders it after the
                // kernel's write.
                assert_eq!(take_written(&rec), WRITTEN);
                completer.join().unwrap();
                assert_eq!(wakes.get(), 0, "no wake for a result the poll took");
            }
            Polled::Pending => {
                completer.join().unwrap();
                assert_eq!(wakes.get(), 1, "a Pending poll is woken exactly once");
                assert_eq!(rec.header.poll(&waker), Polled::Ready(RES));
                assert_eq!(take_written(&rec), WRITTEN);
            }
        }
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
        assert_eq!(ORPHANED.load(SeqCst), 0, "a result read is not orphaned");
    });
}

/// (b) drop of the future vs completion. `poll_first`: the future had
/// registered a waker before it was dropped.
fn completion_vs_drop(poll_first: bool) {
    model(move || {
        let drops = Arc::new(AtomicUsize::new(0));
        let rec = Record::new(Data::new(&drops));
        let completer = Kernel::submit(&rec).spawn();
        let (wakes, waker) = counting_waker();
        let mut read_by_future = 0;
        let ready = poll_first && rec.header.poll(&waker) == Polled::Ready(RES);
        if ready {
            assert_eq!(take_written(&rec), WRITTEN);
            read_by_future = 1;
        } else {
            // What `Op::drop` does.
            match rec.header.drop_future() {
                Some(c) => Data::orphaned(c),
                None => {
                    // The record outlives the future until the CQE, but
                    // must not keep its waker (the task) alive meanwhile:
                    // only `wakes` and `waker` are left.
                    assert_eq!(Arc::strong_count(&wakes), 2, "the record kept the waker");
                    // The async cancel holds a reference until its own
                    // CQE, which here arrives at once.
                    let cancel = Record::into_raw(rec.clone());
                    // SAFETY: the cancel's reference, used once.
                    unsafe { Header::release(cancel) };
                }
            }
        }
        drop(rec);
        completer.join().unwrap();
        assert_eq!(
            read_by_future + ORPHANED.load(SeqCst),
            1,
            "exactly one of the future and the orphan cleanup handles the result"
        );
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
    });
}

#[test]
fn a_dropped_future_leaves_the_result_to_exactly_one_side() {
    completion_vs_drop(false);
}

#[test]
fn a_polled_then_dropped_future_leaves_the_result_to_exactly_one_side() {
    completion_vs_drop(true);
}

/// (c) two polls vs completion. `same`: the second poll passes the same
/// waker (the `will_wake` shortcut), else a different one (waker swap).
fn repoll_vs_completion(same: bool) {
    model(move || {
        let drops = Arc::new(AtomicUsize::new(0));
        let rec = Record::new(Data::new(&drops));
        let completer = Kernel::submit(&rec).spawn();
        let (first, w1) = counting_waker();
        let (second, w2) = if same {
            (first.clone(), w1.clone())
        } else {
            counting_waker()
        };
        let polled = match rec.header.poll(&w1) {
            Polled::Pending => rec.header.poll(&w2),
            ready => ready,
        };
        match polled {
            Polled::Ready(c) => {
                assert_eq!(c, RES);
                assert_eq!(take_written(&rec), WRITTEN);
                completer.join().unwrap();
                // Only a waker replaced before the completion can have
                // been woken (at most once).
                let woken = if same {
                    first.get()
                } else {
                    first.get() + second.get()
                };
                assert!(woken <= 1, "one completion, at most one wake");
            }
            Polled::Pending => {
                completer.join().unwrap();
                assert_eq!(second.get(), 1, "the latest waker is woken");
                if !same {
                    assert_eq!(first.get(), 0, "a replaced waker is not woken");
                }
                assert_eq!(rec.header.poll(&w2), Polled::Ready(RES));
                assert_eq!(take_written(&rec), WRITTEN);
            }
        }
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
    });
}

#[test]
fn a_repoll_with_a_new_waker_races_completion() {
    repoll_vs_completion(false);
}

#[test]
fn a_repoll_with_the_same_waker_races_completion() {
    repoll_vs_completion(true);
}

/// (d) a poll, then `forget_waker` (a flush that returns once its send is
/// in the kernel's hands), racing the completion: the forgotten waker is
/// woken only by a completion that came before the withdrawal (at most
/// once), the record keeps no waker afterwards, and the next poll, with no
/// wake at all, finds the result once the completer is done.
#[test]
fn a_forgotten_waker_races_completion() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rec = Record::new(Data::new(&drops));
        let completer = Kernel::submit(&rec).spawn();
        let (wakes, waker) = counting_waker();
        if rec.header.poll(&waker) == Polled::Pending {
            rec.header.forget_waker();
            completer.join().unwrap();
            assert!(wakes.get() <= 1, "one completion, at most one wake");
            assert_eq!(Arc::strong_count(&wakes), 2, "the record kept the waker");
        } else {
            completer.join().unwrap();
            assert_eq!(wakes.get(), 0, "no wake for a result the poll took");
        }
        assert_eq!(rec.header.poll(&waker), Polled::Ready(RES));
        assert_eq!(take_written(&rec), WRITTEN);
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
    });
}

/// (e) an op submitted with no poll (`Op::submit`: a stream's send on a
/// ring), then the handed flush's `forget_waker` with no waker registered,
/// racing the completion: nobody is woken, the cell stays empty, and the
/// next poll finds the result once the completer is done.
#[test]
fn an_unpolled_submission_races_completion_and_wakes_nobody() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rec = Record::new(Data::new(&drops));
        let completer = Kernel::submit(&rec).spawn();
        rec.header.forget_waker();
        completer.join().unwrap();
        let (wakes, waker) = counting_waker();
        assert_eq!(rec.header.poll(&waker), Polled::Ready(RES));
        assert_eq!(wakes.get(), 0, "nothing was registered to wake");
        assert_eq!(Arc::strong_count(&wakes), 2, "the record kept no waker");
        assert_eq!(take_written(&rec), WRITTEN);
        drop(rec);
        assert_eq!(drops.load(SeqCst), 1, "the data is dropped once");
    });
}

/// A real fd for `SharedFd` to own (its drop or `close` calls `close(2)`).
fn eventfd() -> OwnedFd {
    // SAFETY: plain syscall; the result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    assert!(fd >= 0, "eventfd: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `SharedFd::close` vs the drop of the last op's `OpFd` (an op record
/// freed on the completer's thread): close finishes at once or is woken,
/// and its `close(2)` is the fd's first (it succeeds).
///
/// The main thread keeps a clone until the end, so `Inner`'s drop (which
/// relies on std `Arc`'s ordering, invisible to loom) runs after the join.
#[test]
fn close_waits_for_the_last_op_without_losing_the_wake() {
    model(|| {
        let fd = SharedFd::new(eventfd());
        let _last = fd.clone();
        let op = fd.for_op();
        let completer = thread::spawn(move || drop(op));
        let (wakes, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut close = std::pin::pin!(fd.close());
        match close.as_mut().poll(&mut cx) {
            Poll::Ready(r) => {
                r.expect("the first close(2) of the fd succeeds");
                completer.join().unwrap();
            }
            Poll::Pending => {
                completer.join().unwrap();
                assert_eq!(wakes.get(), 1, "the last op's drop wakes close");
                match close.as_mut().poll(&mut cx) {
                    Poll::Ready(r) => r.expect("the first close(2) of the fd succeeds"),
                    Poll::Pending => panic!("close still pending after the last op"),
                }
            }
        }
    });
}
