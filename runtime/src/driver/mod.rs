//! The driver: one io_uring ring per worker, and how a worker parks in it.
//!
//! A worker with nothing to run parks in `io_uring_enter`, waiting for one
//! completion with the next timer deadline as timeout (`EXT_ARG`). Others
//! wake it through its `Unparker`: another worker posts an
//! `IORING_OP_MSG_RING` into the sleeper's ring from its own ring; any other
//! thread writes an eventfd that the sleeper's ring watches with a multishot
//! poll. The unparker's three-state word (EMPTY / PARKED / NOTIFIED) makes a
//! wake of a worker that is not parked cost no syscall, and a wake that
//! races with parking never get lost.
//!
//! Under `--cfg loom` there are no rings: `park.rs` provides the condvar
//! parker with the same protocol, and the models check it.
//!
//! Called by the schedulers (park, poll, unpark); calls nothing above it.

pub(crate) mod unpark;
#[cfg(not(loom))]
mod uring;

pub(crate) use unpark::Unparker;
#[cfg(not(loom))]
pub(crate) use uring::{Driver, Mailbox, RingConfig};

/// `io_uring_enter` calls made by all rings so far.
#[cfg(not(loom))]
pub(crate) use uring::enters;

#[cfg(loom)]
pub(crate) use unpark::loom_driver::{Driver, RingConfig};

#[cfg(all(test, loom))]
mod tests;

/// Runs `f` (park, poll) on the ring in `cell`, then wakes the tasks whose
/// ops completed, after releasing the ring: a waker may submit the next op
/// (a stream writer's flush does).
pub(crate) fn drive(cell: &std::cell::RefCell<Driver>, f: impl FnOnce(&mut Driver)) {
    let mut woken = {
        let mut d = cell.borrow_mut();
        f(&mut d);
        if d.woken.is_empty() {
            return;
        }
        std::mem::take(&mut d.woken)
    };
    for w in woken.drain(..) {
        w.wake();
    }
    // Keep the capacity for the next round.
    let mut d = cell.borrow_mut();
    if d.woken.is_empty() {
        d.woken = woken;
    }
}
