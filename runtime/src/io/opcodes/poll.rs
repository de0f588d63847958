//! `IORING_OP_POLL_ADD` (one-shot): wait until an fd is readable — a
//! pidfd, readable once its process has exited.
//!
//! On the epoll driver it waits for the fd's readiness like a read does.
//!
//! Called by `process` (reaping a child through its pidfd); calls `op.rs`.

use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a poll: the fd.
#[derive(Debug)]
pub struct PollReadable {
    fd: OpFd,
}

/// Waits until `fd` is readable (`POLLIN`; an error or hang-up ends the
/// wait too); resolves to the events the kernel reported.
///
/// # Cancel safety
/// Cancel-safe: dropping the future cancels the wait and changes nothing.
pub fn poll_readable(fd: &SharedFd) -> Op<PollReadable> {
    Op::new(PollReadable { fd: fd.for_op() })
}

impl OpData for PollReadable {
    // A pidfd turns readable when its child exits: milliseconds away.
    const SLOW: bool = true;
}

// SAFETY: the SQE and `attempt` reference no memory but the pollfd on our
// stack, for the call; the fd is held by `self.fd`.
unsafe impl OpAble for PollReadable {
    type Output = io::Result<u32>;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(self.fd.raw()), libc::POLLIN as u32).build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        Some((self.fd.shared(), Interest::Read))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.raw(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, a zero timeout: never blocks.
        match unsafe { libc::poll(&mut pfd, 1, 0) } {
            0 => None,
            n if n < 0 => Some(Err(io::Error::last_os_error())),
            _ => Some(Ok(pfd.revents as u16 as u32)),
        }
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res
    }
}
