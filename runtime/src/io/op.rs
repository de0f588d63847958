//! `Op<T>`: the future of one I/O operation, on either driver.
//!
//! On a ring (io_uring driver), the first poll moves the op's data into a
//! heap record (`record.rs`), builds the SQE from it and queues it on the
//! ring of the thread that polls (a worker's, or the `block_on` thread's);
//! later polls read the record's lifecycle. Dropping an unfinished op
//! marks the record dropped and asks its ring to cancel it: directly when
//! this thread owns that ring, else through the ring's mailbox and an
//! unpark (the task migrated). The record, and the buffer in it, lives
//! until the kernel's completion.
//!
//! On epoll, the op keeps its data and runs its non-blocking syscall at
//! each poll until it does not block, waiting for readiness in between
//! (`wait.rs`); dropping it leaves nothing behind.
//!
//! Called by the op files (`ops/*.rs`) and `aio-net`; calls the driver.

use super::fd::SharedFd;
use super::ready::Interest;
use super::record::{Completion, Header, OpData, Polled, Record};
use super::wait::Wait;
use crate::driver::{Driver, Mailbox};
use crate::loom::sync::Arc;
use crate::scheduler::context;
use io_uring::squeue;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// One kind of operation: how to build its SQE (io_uring), how to try it
/// without blocking (epoll), and how to read its result.
///
/// # Safety
///
/// `sqe` may only reference memory owned by `self` (a buffer, an address)
/// or memory that outlives the op; it is called once, after `self` was
/// moved into its heap record, where it stays until the completion. The
/// fd it names must be held by `self` (an `OpFd`), so it stays open.
/// `attempt` may only pass the kernel memory owned by `self`, valid for
/// the duration of the call.
pub unsafe trait OpAble: OpData + Sized {
    /// What the op resolves to.
    type Output;
    /// Builds the SQE (the `user_data` is set by the caller).
    fn sqe(&mut self) -> squeue::Entry;
    /// The epoll driver: the fd and direction to wait on when the syscall
    /// would block; `None` for an op that never blocks.
    fn ready_on(&self) -> Option<(&SharedFd, Interest)>;
    /// The epoll driver: one non-blocking try of the syscall; `None` if it
    /// would block (`EAGAIN`), else its result as a CQE would carry it.
    fn attempt(&mut self) -> Option<io::Result<u32>>;
    /// The epoll driver: whether a successful `attempt` returning `n`
    /// proves the fd drained in its direction (a stream receive that got
    /// less than it had room for), so that the next op waits for the next
    /// event instead of trying a syscall that would fail with `EAGAIN`.
    fn drained(&self, _n: u32) -> bool {
        false
    }
    /// Turns the result into the output, giving the data back.
    fn complete(self, res: io::Result<u32>) -> Self::Output;
}

enum State<T> {
    /// Not polled yet.
    Idle(T),
    /// Submitted: the record and the ring that owns it.
    InFlight(Arc<Record<T>>, Arc<Mailbox>),
    /// On epoll: the data, tried again at each poll, and its wait.
    Ready(T, Wait),
    /// The output was returned.
    Done,
}

/// The future of one operation.
#[must_use = "an operation does nothing unless awaited"]
pub struct Op<T: OpAble> {
    state: State<T>,
}

impl<T: OpAble> fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.state {
            State::Idle(_) => "idle",
            State::InFlight(..) => "in flight",
            State::Ready(..) => "waiting for readiness",
            State::Done => "done",
        };
        f.debug_tuple("Op").field(&s).finish()
    }
}

impl<T: OpAble> Op<T> {
    /// An op that will be submitted on its first poll.
    pub fn new(data: T) -> Op<T> {
        Op {
            state: State::Idle(data),
        }
    }
}

/// The error of an op polled on a thread without a ring.
pub(crate) fn no_ring() -> io::Error {
    io::Error::other(
        "aio: I/O must run on an aio runtime thread (a task, or the future given to \
         aio::run / block_on); this thread has no I/O driver (io_uring ring or epoll)",
    )
}

pub(crate) fn to_result(c: Completion) -> io::Result<u32> {
    if c.res < 0 {
        Err(io::Error::from_raw_os_error(-c.res))
    } else {
        Ok(c.res as u32)
    }
}

// The data is never pinned: it moves into the heap record on first poll.
impl<T: OpAble> Unpin for Op<T> {}

impl<T: OpAble> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        // `Op` is Unpin: on a ring the data lives in a heap record, and on
        // epoll it is only borrowed for the length of one syscall.
        let this = self.get_mut();
        if let State::Idle(_) = this.state {
            let State::Idle(data) = std::mem::replace(&mut this.state, State::Done) else {
                unreachable!()
            };
            this.state = match start(data) {
                Started::Ring(rec, ring) => State::InFlight(rec, ring),
                Started::Epoll(data) => State::Ready(data, Wait::default()),
                Started::Failed(out) => return Poll::Ready(out),
            };
        }
        match &mut this.state {
            State::InFlight(rec, _) => match rec.header.poll(cx.waker()) {
                Polled::Pending => Poll::Pending,
                Polled::Ready(c) => {
                    // SAFETY: `poll` returned Ready, so COMPLETE was observed.
                    let data = unsafe { rec.take_data() }.expect("op data");
                    this.state = State::Done;
                    Poll::Ready(data.complete(to_result(c)))
                }
            },
            State::Ready(data, wait) => {
                let res = match data.ready_on() {
                    Some((_, interest)) => {
                        match wait.poll(
                            data,
                            fd_of::<T>,
                            interest,
                            cx,
                            T::attempt,
                            |d: &T, n: &u32| d.drained(*n),
                        ) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(r) => r,
                        }
                    }
                    // Never blocks: one try (again on EINTR).
                    None => loop {
                        match data.attempt() {
                            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                            Some(r) => break r,
                            None => break Err(io::ErrorKind::WouldBlock.into()),
                        }
                    },
                };
                let State::Ready(data, _) = std::mem::replace(&mut this.state, State::Done) else {
                    unreachable!()
                };
                Poll::Ready(data.complete(res))
            }
            State::Idle(_) | State::Done => {
                panic!("aio: an I/O operation was polled after it completed")
            }
        }
    }
}

/// The fd an op waits on (it has one: `ready_on` said so).
fn fd_of<T: OpAble>(data: &T) -> &SharedFd {
    data.ready_on().expect("an op that waits for readiness").0
}

/// How the first poll started an op.
enum Started<T: OpAble> {
    /// Its SQE is queued on this thread's ring.
    Ring(Arc<Record<T>>, Arc<Mailbox>),
    /// This thread runs the epoll driver: run it readiness-based.
    Epoll(T),
    /// No driver here: the op's output is the error.
    Failed(T::Output),
}

/// Starts `data` on this thread's driver.
fn start<T: OpAble>(data: T) -> Started<T> {
    match driver_kind() {
        Some(crate::rt::Driver::Epoll) => return Started::Epoll(data),
        Some(_) => {}
        None => return Started::Failed(data.complete(Err(no_ring()))),
    }
    let rec = Record::new(data);
    // SAFETY: not submitted yet; nobody else can reach the record.
    let sqe = unsafe { rec.data_mut(|d| d.sqe()) };
    match submit(|| Record::into_raw(rec.clone()), sqe) {
        Ok(ring) => Started::Ring(rec, ring),
        Err(e) => {
            // SAFETY: never submitted, so the kernel never saw it.
            let data = unsafe { rec.take_data() }.expect("op data");
            Started::Failed(data.complete(Err(e)))
        }
    }
}

/// The kind of this thread's driver, if it has one it can use now.
pub(crate) fn driver_kind() -> Option<crate::rt::Driver> {
    context::with_driver(|d| Some(d?.try_borrow().ok()?.kind()))
}

impl<T: OpAble> Drop for Op<T> {
    fn drop(&mut self) {
        let State::InFlight(rec, ring) = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        match rec.header.drop_future() {
            // Completed but never read: release what it produced.
            Some(c) => T::orphaned(c),
            None => cancel(Record::into_raw(rec), &ring),
        }
    }
}

/// Queues `sqe` on this thread's ring, with a record reference for the
/// kernel made by `kernel_ref` (only once a ring was found); returns that
/// ring's mailbox.
pub(crate) fn submit(
    kernel_ref: impl FnOnce() -> NonNull<Header>,
    sqe: squeue::Entry,
) -> io::Result<Arc<Mailbox>> {
    context::with_driver(|d| {
        let Some(d) = d else { return Err(no_ring()) };
        let Ok(mut d) = d.try_borrow_mut() else {
            return Err(no_ring());
        };
        let Driver::Uring(d) = &mut *d else {
            return Err(no_ring());
        };
        let raw = kernel_ref();
        // SAFETY: the SQE references only the record's data (OpAble's and
        // MultiAble's contract), and the record holds one reference for the
        // kernel, released at the (last) completion.
        unsafe { d.submit_op(sqe.user_data(raw.as_ptr() as u64)) };
        Ok(d.mailbox().clone())
    })
}

/// Asks `ring` to cancel the op of `target` (a reference the cancel owns
/// until its own completion).
pub(crate) fn cancel(target: NonNull<Header>, ring: &Arc<Mailbox>) {
    let direct = context::with_driver(|d| {
        let Some(Ok(mut d)) = d.map(|d| d.try_borrow_mut()) else {
            return false;
        };
        match &mut *d {
            Driver::Uring(d) if Arc::ptr_eq(d.mailbox(), ring) => {
                d.submit_cancel(target);
                true
            }
            _ => false,
        }
    });
    if !direct {
        ring.post_cancel(target);
    }
}
