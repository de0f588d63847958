//! `IORING_OP_RECV`: receive into an owned buffer.

use crate::io::buf::{BufResult, IoBufMut};
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// From `include/uapi/linux/io_uring.h` (the crate keeps `sys` private).
const IORING_RECVSEND_POLL_FIRST: u16 = 1;

/// The data of a receive: the socket and the buffer.
#[derive(Debug)]
pub struct Recv<B> {
    fd: OpFd,
    buf: B,
    poll_first: bool,
    /// A stream socket: a short receive means it is drained.
    stream: bool,
}

/// Receives into `buf` from its start, up to `bytes_total()` bytes (at
/// most [`MAX_RW_COUNT`](crate::io::MAX_RW_COUNT)); returns how many bytes
/// arrived and the buffer, with at least that many bytes initialized (see
/// `IoBufMut`'s read contract). `Ok(0)` is end of stream, or a buffer with
/// no room.
///
/// # Cancel safety
/// Dropping the future cancels the receive; bytes it had received are lost
/// with the buffer. Keep the future (as the streams do) to lose nothing.
pub fn recv<B: IoBufMut>(socket: &SharedFd, buf: B) -> Op<Recv<B>> {
    recv_with(socket, buf, true)
}

/// As [`recv`]; `poll_first: false` tries the receive at once instead of
/// first waiting for readiness (`IORING_RECVSEND_POLL_FIRST`). Waiting
/// first saves a failed attempt when no data is expected yet (a server
/// that just answered); trying first saves a poll when data is likely
/// already there (the previous receive filled its buffer).
pub fn recv_with<B: IoBufMut>(socket: &SharedFd, buf: B, poll_first: bool) -> Op<Recv<B>> {
    Op::new(Recv {
        fd: socket.for_op(),
        buf,
        poll_first,
        stream: false,
    })
}

/// As [`recv_with`] on a stream socket (TCP, Unix stream): on the epoll
/// driver, a receive that gets less than its buffer's room proves the
/// socket drained, so the next receive waits for the next readiness event
/// instead of first failing with `EAGAIN` (one syscall fewer per message
/// of a request/response protocol, as tokio does). Not for datagram
/// sockets, whose receives take one datagram whatever is queued.
pub fn recv_stream<B: IoBufMut>(socket: &SharedFd, buf: B, poll_first: bool) -> Op<Recv<B>> {
    Op::new(Recv {
        fd: socket.for_op(),
        buf,
        poll_first,
        stream: true,
    })
}

impl<B: IoBufMut> OpData for Recv<B> {}

// SAFETY: the SQE points into `self.buf` (from its start, at most
// `bytes_total()` bytes), owned by the record (IoBufMut keeps it in
// place); the fd is held by `self.fd`.
unsafe impl<B: IoBufMut> OpAble for Recv<B> {
    type Output = BufResult<usize, B>;

    fn sqe(&mut self) -> squeue::Entry {
        let room = self.buf.bytes_total().min(crate::io::MAX_RW_COUNT);
        let ptr = self.buf.stable_mut_ptr();
        let ioprio = if self.poll_first {
            IORING_RECVSEND_POLL_FIRST
        } else {
            0
        };
        opcode::Recv::new(types::Fd(self.fd.raw()), ptr, room as u32)
            .ioprio(ioprio)
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        Some((self.fd.shared(), Interest::Read))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let len = self.buf.bytes_total().min(crate::io::MAX_RW_COUNT);
        // SAFETY: the buffer is ours, valid for writes of `len` bytes
        // (IoBufMut), for the call.
        let n = unsafe {
            libc::recv(
                self.fd.raw(),
                self.buf.stable_mut_ptr().cast(),
                len,
                libc::MSG_DONTWAIT,
            )
        };
        syscall_result(n)
    }

    fn drained(&self, n: u32) -> bool {
        // Less than there was room for: the socket had no more. Only a
        // stream socket says so (a datagram receive takes one datagram).
        self.stream && n > 0 && (n as usize) < self.buf.bytes_total().min(crate::io::MAX_RW_COUNT)
    }

    fn complete(mut self, res: io::Result<u32>) -> Self::Output {
        let res = res.map(|n| {
            let n = n as usize;
            // SAFETY: the kernel wrote the first `n` bytes, within the
            // room we gave it.
            unsafe { self.buf.set_init(n) };
            n
        });
        (res, self.buf)
    }
}
