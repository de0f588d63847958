//! `Op<T>`: the future of one io_uring operation.
//!
//! The first poll moves the op's data into a heap record (`record.rs`),
//! builds the SQE from it and queues it on the ring of the thread that
//! polls (a worker's, or the `block_on` thread's); later polls read the
//! record's lifecycle. Dropping an unfinished op marks the record dropped
//! and asks its ring to cancel it: directly when this thread owns that
//! ring, else through the ring's mailbox and an unpark (the task migrated).
//! The record, and the buffer in it, lives until the kernel's completion.
//!
//! Called by the op files (`ops/*.rs`) and `aio-net`; calls the driver.

use super::record::{Completion, Header, OpData, Polled, Record};
use crate::driver::Mailbox;
use crate::loom::sync::Arc;
use crate::scheduler::context;
use io_uring::squeue;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// One kind of operation: how to build its SQE and read its completion.
///
/// # Safety
///
/// `sqe` may only reference memory owned by `self` (a buffer, an address)
/// or memory that outlives the op; it is called once, after `self` was
/// moved into its heap record, where it stays until the completion. The
/// fd it names must be held by `self` (an `OpFd`), so it stays open.
pub unsafe trait OpAble: OpData + Sized {
    /// What the op resolves to.
    type Output;
    /// Builds the SQE (the `user_data` is set by the caller).
    fn sqe(&mut self) -> squeue::Entry;
    /// Turns the completion into the output, giving the data back.
    fn complete(self, res: io::Result<u32>) -> Self::Output;
}

enum State<T> {
    /// Not polled yet.
    Idle(T),
    /// Submitted: the record and the ring that owns it.
    InFlight(Arc<Record<T>>, Arc<Mailbox>),
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
         aio::run / block_on); this thread has no io_uring ring",
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
        // `Op` is Unpin: the data lives in a heap record, never in `self`.
        let this = self.get_mut();
        if let State::Idle(_) = this.state {
            let State::Idle(data) = std::mem::replace(&mut this.state, State::Done) else {
                unreachable!()
            };
            let rec = Record::new(data);
            // SAFETY: not submitted yet; nobody else can reach the record.
            let sqe = unsafe { rec.data_mut(|d| d.sqe()) };
            match submit(|| Record::into_raw(rec.clone()), sqe) {
                Ok(ring) => this.state = State::InFlight(rec, ring),
                Err(e) => {
                    // SAFETY: never submitted, so the kernel never saw it.
                    let data = unsafe { rec.take_data() }.expect("op data");
                    return Poll::Ready(data.complete(Err(e)));
                }
            }
        }
        let State::InFlight(rec, _) = &this.state else {
            panic!("aio: an I/O operation was polled after it completed");
        };
        match rec.header.poll(cx.waker()) {
            Polled::Pending => Poll::Pending,
            Polled::Ready(c) => {
                // SAFETY: `poll` returned Ready, so COMPLETE was observed.
                let data = unsafe { rec.take_data() }.expect("op data");
                this.state = State::Done;
                Poll::Ready(data.complete(to_result(c)))
            }
        }
    }
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
    let direct = context::with_driver(|d| match d.map(|d| d.try_borrow_mut()) {
        Some(Ok(mut d)) if Arc::ptr_eq(d.mailbox(), ring) => {
            d.submit_cancel(target);
            true
        }
        _ => false,
    });
    if !direct {
        ring.post_cancel(target);
    }
}
