//! `IORING_OP_RECV`: receive into an owned buffer, or (multishot) into
//! the ring's provided buffers.

use crate::io::buf::{BufResult, IoBufMut};
use crate::io::bufring::{BufPool, RecvBuf, POOL_BUFS, POOL_GROUP};
use crate::io::fd::{OpFd, SharedFd};
use crate::io::multi::{MultiAble, MultiOp};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::{Completion, OpData};
use crate::io::wait::syscall_result;
use crate::loom::sync::Arc;
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

/// The data of a multishot receive: the socket, and the pool of the ring
/// it was armed on (its CQEs name buffers of that pool).
#[derive(Debug)]
pub struct RecvMulti {
    fd: OpFd,
    pool: Option<Arc<BufPool>>,
}

/// Buffers a multishot receive queues before it pauses (the rest of the
/// data waits in the socket, under TCP's flow control, until they are
/// taken).
pub const RECV_QUEUE_MAX: usize = 8;

/// Buffers in each ring's pool for multishot receives, 4 KiB each.
///
/// Few on purpose: the kernel takes them in ring order, so each receive
/// lands in the next buffer round the pool, and 256 KiB of them stay in a
/// core's L2 cache where 1 MiB did not (under wrk against `hyper_hello`,
/// 256 buffers cost 1.5 % more CPU per request than 64; 16 ran dry and
/// cost 8 % more). When a ring's pool is empty a receive ends with
/// `ENOBUFS` and the reader falls back to a buffer of its own.
///
/// # Examples
///
/// ```
/// assert_eq!(aio::io::ops::RECV_POOL_BUFS, 64);
/// ```
pub const RECV_POOL_BUFS: usize = POOL_BUFS as usize;

/// Receives from a stream socket with one multishot SQE into the
/// provided buffers of the ring it is armed on (its first poll): each
/// message is a result, a [`RecvBuf`] of up to 4 KiB that goes back to the
/// pool when dropped; `Ok(None)` is end of stream (the last result). The
/// kernel ends the op on end of stream, on an error, after
/// [`RECV_QUEUE_MAX`] results wait to be taken (then arm a new one), and
/// with `ENOBUFS` when the ring's pool is empty (receive into a buffer of
/// your own then, with [`recv_stream`]).
///
/// `None` where this thread's driver has no pool: the epoll driver, a
/// kernel before Linux 6.10 (multishot receives came in 6.0; aio takes
/// them from 6.10 on), or a pool that could not be registered. Poll the op
/// at once, on this thread: it is armed where it is first polled.
///
/// # Cancel safety
/// Dropping the op cancels it; buffers queued in it, and any that come
/// later, go back to the pool. Their bytes are lost: keep the op while
/// the stream is read.
pub fn recv_multi(socket: &SharedFd) -> Option<MultiOp<RecvMulti>> {
    let pool = current_pool()?;
    Some(MultiOp::new(RecvMulti {
        fd: socket.for_op(),
        pool: Some(pool),
    }))
}

/// The pool of this thread's ring, if it has one (created and registered
/// on first use).
fn current_pool() -> Option<Arc<BufPool>> {
    crate::scheduler::context::with_driver(|d| match &mut *d?.try_borrow_mut().ok()? {
        crate::driver::Driver::Uring(d) => d.recv_pool(),
        _ => None,
    })
}

// SAFETY: the SQE names no memory of ours but the pool, whose buffers the
// kernel writes only when it took them from the ring (`bufring.rs`), and
// which this op keeps alive until its last completion; the fd is held by
// `self.fd`.
unsafe impl MultiAble for RecvMulti {
    type Item = io::Result<Option<RecvBuf>>;
    const MAX_QUEUED: usize = RECV_QUEUE_MAX;

    fn sqe(&mut self) -> squeue::Entry {
        // The SQE goes to this thread's ring (`MultiOp` submits it right
        // after building it): the buffers its CQEs name are that ring's.
        // With no pool here the kernel finds no buffer group and ends the
        // op with ENOBUFS at once.
        self.pool = current_pool();
        opcode::RecvMulti::new(types::Fd(self.fd.raw()), POOL_GROUP).build()
    }

    fn item(_: io::Result<u32>) -> Self::Item {
        // Only on the epoll driver (`attempt`), where the op is never made.
        Err(io::ErrorKind::Unsupported.into())
    }

    fn item_of(&self, c: Completion) -> Self::Item {
        let buf = self.take_buf(&c);
        if c.res < 0 {
            return Err(io::Error::from_raw_os_error(-c.res));
        }
        match buf {
            Some(b) => Ok(Some(b)),
            None if c.res == 0 => Ok(None),
            None => Err(io::Error::other("aio: a receive's CQE named no buffer")),
        }
    }

    fn orphan(&self, c: Completion) {
        drop(self.take_buf(&c));
    }

    fn ready_on(&self) -> (&SharedFd, Interest) {
        (self.fd.shared(), Interest::Read)
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        Some(Err(io::ErrorKind::Unsupported.into()))
    }
}

impl RecvMulti {
    /// The buffer a CQE handed out, if it names one.
    fn take_buf(&self, c: &Completion) -> Option<RecvBuf> {
        let bid = io_uring::cqueue::buffer_select(c.flags)?;
        let pool = self.pool.clone()?;
        let len = u32::try_from(c.res).unwrap_or(0);
        // SAFETY: the CQE handed `bid` out of this op's pool (the ring it
        // was armed on), with `len` bytes; each CQE is taken or orphaned
        // once (`multi.rs`).
        Some(unsafe { RecvBuf::new(pool, bid, len) })
    }
}
