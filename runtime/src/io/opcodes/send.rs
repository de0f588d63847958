//! `IORING_OP_SEND`: send from an owned buffer.

use crate::io::buf::{BufResult, IoBuf};
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a send: the socket, the buffer and where to start in it.
#[derive(Debug)]
pub struct Send<B> {
    fd: OpFd,
    buf: B,
    offset: usize,
    /// `MSG_WAITALL` on a ring: see [`send_all`].
    all: bool,
}

/// Sends `buf[offset..bytes_init()]` (never raising SIGPIPE; at most
/// [`MAX_RW_COUNT`](crate::io::MAX_RW_COUNT) bytes in one call); returns
/// how many bytes went and the buffer.
///
/// # Panics
/// If `offset > buf.bytes_init()`.
///
/// # Cancel safety
/// Dropping the future cancels the send; some bytes may have been sent.
pub fn send<B: IoBuf>(socket: &SharedFd, buf: B, offset: usize) -> Op<Send<B>> {
    new(socket, buf, offset, false)
}

/// Like [`send`], but on a ring the kernel itself sends the rest after a
/// short send (`MSG_WAITALL` on a stream socket): the op completes once
/// every byte went, or with the count that went before an error (the next
/// send reports it), so its completion needs no resubmission and the
/// caller need not watch it (`Op::forget_waker`). On epoll, as `send`
/// (the caller resubmits the rest of a short send, as it polls anyway).
///
/// # Panics
/// If `offset > buf.bytes_init()`.
///
/// # Cancel safety
/// Dropping the future cancels the send; some bytes may have been sent.
pub fn send_all<B: IoBuf>(socket: &SharedFd, buf: B, offset: usize) -> Op<Send<B>> {
    new(socket, buf, offset, true)
}

fn new<B: IoBuf>(socket: &SharedFd, buf: B, offset: usize, all: bool) -> Op<Send<B>> {
    assert!(offset <= buf.bytes_init(), "send offset past the data");
    Op::new(Send {
        fd: socket.for_op(),
        buf,
        offset,
        all,
    })
}

impl<B: IoBuf> OpData for Send<B> {}

// SAFETY: the SQE points into `self.buf`, owned by the record; the fd is
// held by `self.fd`.
unsafe impl<B: IoBuf> OpAble for Send<B> {
    type Output = BufResult<usize, B>;

    fn sqe(&mut self) -> squeue::Entry {
        let len = (self.buf.bytes_init() - self.offset).min(crate::io::MAX_RW_COUNT);
        // SAFETY: `offset <= bytes_init()`, inside the allocation.
        let ptr = unsafe { self.buf.stable_ptr().add(self.offset) };
        opcode::Send::new(types::Fd(self.fd.raw()), ptr, len as u32)
            .flags(libc::MSG_NOSIGNAL | if self.all { libc::MSG_WAITALL } else { 0 })
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        Some((self.fd.shared(), Interest::Write))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let len = (self.buf.bytes_init() - self.offset).min(crate::io::MAX_RW_COUNT);
        // SAFETY: `offset <= bytes_init()`; the buffer is ours, valid for
        // reads of `len` bytes from there, for the call.
        let n = unsafe {
            libc::send(
                self.fd.raw(),
                self.buf.stable_ptr().add(self.offset).cast(),
                len,
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        syscall_result(n)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        (res.map(|n| n as usize), self.buf)
    }
}
