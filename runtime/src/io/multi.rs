//! Multishot operations: one SQE, one completion per result.
//!
//! A multishot op (`IORING_ACCEPT_MULTISHOT`, …) stays armed in the kernel
//! and posts a CQE with `IORING_CQE_F_MORE` for each result, until a last
//! CQE without it (an error, a cancel, a full CQ). Its record, like a
//! one-shot op's, is an `Arc` whose address is the `user_data`; the kernel
//! holds one reference from submission to the last CQE.
//!
//! # The queue (one mutex)
//!
//! Results arrive whether or not anyone is waiting, so the record queues
//! them: the ring's owner pushes each CQE (`multi_cqe`) and takes the
//! consumer's waker; the consumer, on any thread, pops (`MultiRecord::poll`)
//! or registers its waker. A mutex guards the queue, the waker and two
//! flags: `ended` (the last CQE arrived: the kernel let go) and `dropped`
//! (the consumer is gone: results are released with `MultiAble::orphaned`,
//! an accepted fd is closed). The consumer may migrate between workers: it
//! only touches the queue, never the ring. Model-checked in
//! `tests/loom_multi.rs`.
//!
//! # Back-pressure
//!
//! The kernel goes on producing results however slowly they are taken
//! (a multishot accept would take every connection, up to the fd limit).
//! When a result fills the queue to `MultiAble::MAX_QUEUED`, the op
//! pauses: `multi_cqe` asks the driver to cancel it (`Taken::pause`, with
//! a reference for the cancel) and sets `paused`. The kernel then ends the
//! op with `-ECANCELED`, which is not a result (it is not queued); what
//! the kernel did not produce yet stays with the kernel (connections in
//! the listen backlog). The consumer takes the queued results, then sees
//! the end and arms a new op.
//!
//! # On the epoll driver
//!
//! There is no kernel-side op: each poll tries the syscall for one result
//! and waits for readiness when it would block (`wait.rs`), so results are
//! produced only as fast as they are taken, and the op never ends.
//!
//! Called by `opcodes/` and `aio-net`; calls the driver through `op.rs`.

use super::record::{header_ref, release_ref, Completion, Header, Taken, Vtable};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::{Arc, Mutex};
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::task::{Poll, Waker};

/// One kind of multishot operation.
///
/// # Safety
///
/// As for [`OpAble`](super::ops::OpAble): `sqe` may only reference memory
/// owned by `self` (which stays in its heap record until the last
/// completion) or memory that outlives the op, and the fd it names must be
/// held by `self`.
pub unsafe trait MultiAble: Send + Sync + 'static {
    /// What each result becomes.
    type Item;
    /// Builds the SQE (the `user_data` is set by the caller).
    fn sqe(&mut self) -> io_uring::squeue::Entry;
    /// Turns one result into an item.
    fn item(res: std::io::Result<u32>) -> Self::Item;
    /// Turns one completion into an item, with the op's data at hand (a
    /// receive into a pool buffer finds the buffer's pool there); by
    /// default [`item`](Self::item) of its result.
    #[cfg(not(loom))]
    fn item_of(&self, c: Completion) -> Self::Item {
        Self::item(super::op::to_result(c))
    }
    /// Releases what the kernel produced for a result nobody will read.
    fn orphaned(&self, _c: Completion) {}
    /// Readies the data on the submitting thread, just before
    /// [`sqe`](Self::sqe), on io_uring only (a receive into a pool buffer
    /// takes the ring's pool here); an error is the op's only result.
    #[cfg(not(loom))]
    fn prepare(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// Results queued before the op pauses (see "Back-pressure" above).
    const MAX_QUEUED: usize = usize::MAX;
    /// The epoll driver: the fd and direction each result waits for.
    #[cfg(not(loom))]
    fn ready_on(&self) -> (&super::fd::SharedFd, super::ready::Interest);
    /// The epoll driver: one non-blocking try for the next result; `None`
    /// if it would block.
    #[cfg(not(loom))]
    fn attempt(&mut self) -> Option<std::io::Result<u32>>;
}

/// What the completer and the consumer share.
struct Queue {
    results: VecDeque<Completion>,
    waker: Option<Waker>,
    /// The last CQE (no `F_MORE`) was queued: nothing more will come.
    ended: bool,
    /// The consumer is gone.
    dropped: bool,
    /// The queue filled up, or the consumer ended the op, and it was
    /// cancelled: its `-ECANCELED` end is not a result.
    paused: bool,
}

/// The record of a multishot op: the header (for the driver), the queue,
/// the op's data.
#[repr(C)]
pub(crate) struct MultiRecord<T> {
    header: Header,
    queue: Mutex<Queue>,
    /// Written before submission (to build the SQE), then only read (by
    /// the kernel, by `item_of` and by `orphan`) until the last
    /// completion; dropped with the record.
    data: UnsafeCell<T>,
}

// SAFETY: the data is written by the submitter only, before the SQE is
// submitted, and moves with the record; the queue is behind a mutex.
unsafe impl<T: Send> Send for MultiRecord<T> {}
// SAFETY: after submission the data is only read, through `item_of` and
// `orphan`, maybe by two threads at once (a dropped consumer releasing
// its queued results while the completer releases a late one): hence
// `MultiAble: Sync`. `&T` never escapes them.
unsafe impl<T: Send + Sync> Sync for MultiRecord<T> {}

impl<T: MultiAble> MultiRecord<T> {
    /// A fresh record owning `data`.
    pub(crate) fn new(data: T) -> Arc<MultiRecord<T>> {
        Arc::new(MultiRecord {
            header: Header::new(&MultiVtable::<T>::VTABLE),
            queue: Mutex::new(Queue {
                results: VecDeque::new(),
                waker: None,
                ended: false,
                dropped: false,
                paused: false,
            }),
            data: UnsafeCell::new(data),
        })
    }

    /// Gives out one reference as a raw header pointer (for `user_data`).
    pub(crate) fn into_raw(this: Arc<MultiRecord<T>>) -> NonNull<Header> {
        // SAFETY: `MultiRecord` is repr(C) with the header first.
        unsafe { header_ref(this) }
    }

    /// Readies the data and builds the SQE.
    ///
    /// # Safety
    /// Only before the SQE is submitted: nobody else touches the data then.
    #[cfg(not(loom))]
    pub(crate) unsafe fn sqe(&self) -> std::io::Result<io_uring::squeue::Entry> {
        // SAFETY: per the caller's contract we are the only accessor.
        self.data.with_mut(|d| unsafe {
            (*d).prepare()?;
            Ok((*d).sqe())
        })
    }

    /// Builds the SQE (the loom models' ops need no preparation).
    ///
    /// # Safety
    /// As above.
    #[cfg(loom)]
    pub(crate) unsafe fn sqe(&self) -> io_uring::squeue::Entry {
        // SAFETY: per the caller's contract we are the only accessor.
        self.data.with_mut(|d| unsafe { (*d).sqe() })
    }

    /// Releases what a result nobody will read produced.
    fn orphan(&self, c: Completion) {
        // SAFETY: once submitted the data is only read (the SQE was built
        // before), by the completer and the consumer alike.
        self.data.with(|d| unsafe { (*d).orphaned(c) })
    }

    /// A result as the consumer's item.
    #[cfg(not(loom))]
    fn item_of(&self, c: Completion) -> T::Item {
        // SAFETY: as in `orphan`.
        self.data.with(|d| unsafe { (*d).item_of(c) })
    }

    /// The consumer's side: the next result, `None` once the last one was
    /// taken, or `Pending` with `waker` registered.
    pub(crate) fn poll(&self, waker: &Waker) -> Poll<Option<Completion>> {
        let mut q = self.queue.lock();
        if let Some(c) = q.results.pop_front() {
            return Poll::Ready(Some(c));
        }
        if q.ended {
            return Poll::Ready(None);
        }
        match &mut q.waker {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        Poll::Pending
    }

    /// The consumer asks the op to end (see `MultiOp::end`): true if the
    /// caller is to send the cancel (the op neither ended nor is ending).
    /// Its `-ECANCELED` end is then not a result, as for a pause.
    pub(crate) fn begin_end(&self) -> bool {
        let mut q = self.queue.lock();
        if q.ended || q.paused {
            return false;
        }
        q.paused = true;
        true
    }

    /// The consumer is gone: releases the queued results. True if the op
    /// is still armed (the caller cancels it).
    pub(crate) fn drop_consumer(&self) -> bool {
        let (results, armed, waker) = {
            let mut q = self.queue.lock();
            q.dropped = true;
            (std::mem::take(&mut q.results), !q.ended, q.waker.take())
        };
        // Outside the lock: a waker's drop or a close may take a while.
        drop(waker);
        for c in results {
            self.orphan(c);
        }
        armed
    }
}

/// The static vtable of `MultiRecord<T>`.
struct MultiVtable<T>(std::marker::PhantomData<T>);

impl<T: MultiAble> MultiVtable<T> {
    const VTABLE: Vtable = Vtable {
        on_cqe: multi_cqe::<T>,
        release: release_ref::<MultiRecord<T>>,
        slow: false,
    };
}

/// The completer's side (the ring's owner, reaping): queues the result,
/// or releases it if the consumer is gone; returns the waker to wake, and
/// a pause when the queue is full.
///
/// # Safety
/// `p` is a live `MultiRecord<T>` (see [`Header::on_cqe`]).
unsafe fn multi_cqe<T: MultiAble>(p: NonNull<Header>, c: Completion, more: bool) -> Taken {
    // SAFETY: per the contract, `p` points at a live `MultiRecord<T>`
    // (repr(C), header first).
    let rec = unsafe { &*(p.as_ptr() as *const MultiRecord<T>) };
    let mut q = rec.queue.lock();
    q.ended |= !more;
    if q.dropped {
        drop(q);
        rec.orphan(c);
        return Taken::default();
    }
    if !more && q.paused && c.res == -libc::ECANCELED {
        // The end of our own pause: wake the consumer to see it. (Release
        // what it names, if anything: Linux names no buffer here.)
        let waker = q.waker.take();
        drop(q);
        rec.orphan(c);
        return Taken { waker, pause: None };
    }
    q.results.push_back(c);
    let mut pause = None;
    if more && !q.paused && q.results.len() >= T::MAX_QUEUED {
        q.paused = true;
        // SAFETY: `p` is a live `Arc<MultiRecord<T>>` pointer (the
        // kernel's reference); the new reference is the cancel's.
        unsafe { Arc::increment_strong_count(p.as_ptr() as *const MultiRecord<T>) };
        pause = Some(p);
    }
    Taken {
        waker: q.waker.take(),
        pause,
    }
}

#[cfg(not(loom))]
pub use op::MultiOp;

#[cfg(not(loom))]
mod op {
    use super::{MultiAble, MultiRecord};
    use crate::driver::Mailbox;
    use crate::io::op::{cancel, driver_kind, is_this_ring, no_ring, submit};
    use crate::io::wait::Wait;
    use crate::loom::sync::Arc;
    use std::fmt;
    use std::task::{Context, Poll};

    enum State<T> {
        /// Not polled yet.
        Idle(T),
        /// Submitted: the record and the ring that owns it.
        Armed(Arc<MultiRecord<T>>, Arc<Mailbox>),
        /// On epoll: the data, tried for each result, and its wait.
        Ready(T, Wait),
        /// The last result was returned.
        Ended,
    }

    /// A multishot operation: armed on its first poll (on the ring of the
    /// polling thread), then a stream of results until the kernel ends it.
    ///
    /// Results are queued in the op while nobody polls. Dropping it cancels
    /// the op and releases queued and late results (an accepted fd is
    /// closed).
    #[must_use = "an operation does nothing unless polled"]
    pub struct MultiOp<T: MultiAble> {
        state: State<T>,
    }

    impl<T: MultiAble> fmt::Debug for MultiOp<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let s = match self.state {
                State::Idle(_) => "idle",
                State::Armed(..) => "armed",
                State::Ready(..) => "readiness-based",
                State::Ended => "ended",
            };
            f.debug_tuple("MultiOp").field(&s).finish()
        }
    }

    impl<T: MultiAble> MultiOp<T> {
        /// An op that will be armed on its first poll.
        pub fn new(data: T) -> MultiOp<T> {
            MultiOp {
                state: State::Idle(data),
            }
        }

        /// The next result; `Ready(None)` once the kernel ended the op
        /// (make a new one to go on). Cancel-safe: results stay queued.
        pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
            if let State::Idle(_) = self.state {
                let State::Idle(data) = std::mem::replace(&mut self.state, State::Ended) else {
                    unreachable!()
                };
                match driver_kind() {
                    Some(crate::rt::Driver::Epoll) => {
                        self.state = State::Ready(data, Wait::default());
                    }
                    Some(_) => {
                        let rec = MultiRecord::new(data);
                        // SAFETY: not submitted yet; nobody else can reach
                        // it. `prepare` and `submit` run on this thread with
                        // no await between: they see the same ring.
                        let sqe = match unsafe { rec.sqe() } {
                            Ok(sqe) => sqe,
                            Err(e) => return Poll::Ready(Some(T::item(Err(e)))),
                        };
                        match submit(|| MultiRecord::into_raw(rec.clone()), sqe) {
                            Ok(ring) => self.state = State::Armed(rec, ring),
                            Err(e) => return Poll::Ready(Some(T::item(Err(e)))),
                        }
                    }
                    None => return Poll::Ready(Some(T::item(Err(no_ring())))),
                }
            }
            match &mut self.state {
                State::Armed(rec, _) => match rec.poll(cx.waker()) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Some(c)) => Poll::Ready(Some(rec.item_of(c))),
                    Poll::Ready(None) => {
                        self.state = State::Ended;
                        Poll::Ready(None)
                    }
                },
                State::Ready(data, wait) => {
                    let (_, interest) = data.ready_on();
                    wait.poll(data, fd_of::<T>, interest, cx, T::attempt, |_, _| false)
                        .map(|r| Some(T::item(r)))
                }
                State::Idle(_) | State::Ended => Poll::Ready(None),
            }
        }
    }

    impl<T: MultiAble> MultiOp<T> {
        /// Whether the op is armed on a ring other than this thread's (its
        /// consumer moved to another worker): every result then wakes that
        /// ring's thread first. [`end`](Self::end) it and arm a new one
        /// here once it returned `None`.
        pub fn armed_elsewhere(&self) -> bool {
            match &self.state {
                State::Armed(_, ring) => !is_this_ring(ring),
                _ => false,
            }
        }

        /// Asks the kernel to end the op: results it produced until then
        /// are still returned, then `None` (without an error). Once only;
        /// a no-op on an op that is not armed or already ending.
        pub fn end(&mut self) {
            if let State::Armed(rec, ring) = &self.state {
                if rec.begin_end() {
                    cancel(MultiRecord::into_raw(rec.clone()), ring);
                }
            }
        }
    }

    /// The fd a multishot op waits on.
    fn fd_of<T: MultiAble>(data: &T) -> &crate::io::SharedFd {
        data.ready_on().0
    }

    impl<T: MultiAble> Drop for MultiOp<T> {
        fn drop(&mut self) {
            let State::Armed(rec, ring) = std::mem::replace(&mut self.state, State::Ended) else {
                return;
            };
            if rec.drop_consumer() {
                cancel(MultiRecord::into_raw(rec), &ring);
            }
        }
    }
}
