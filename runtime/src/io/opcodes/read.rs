//! `IORING_OP_READ`: read into an owned buffer from a file at an offset
//! (or at the file position), or from a pipe.
//!
//! A regular file has no readiness (epoll refuses it): on the epoll driver
//! its read tries `preadv2(RWF_NOWAIT)` (data the page cache holds), then
//! runs `pread(2)` on the blocking pool (`OpAble::may_block`). A pipe
//! (non-blocking) waits for readiness there like a socket.
//!
//! Called by `fs::File` and the child process pipes; calls `op.rs`.

use crate::io::buf::{BufResult, IoBufMut};
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The offset that means "at the file position, and move it" (`read(2)`
/// instead of `pread(2)`): io_uring's `-1`.
pub const CURRENT_POS: u64 = u64::MAX;

/// The data of a read: the fd, the buffer, where to read.
#[derive(Debug)]
pub struct Read<B> {
    fd: OpFd,
    buf: B,
    offset: u64,
    /// A pipe or another fd with readiness (not a regular file).
    pollable: bool,
}

/// Reads from the file `fd` at `offset` ([`CURRENT_POS`]: at the file
/// position, which moves) into `buf` from its start, up to
/// `bytes_total()` bytes (at most [`MAX_RW_COUNT`](crate::io::MAX_RW_COUNT));
/// returns how many bytes were read (`Ok(0)`: end of file) and the
/// buffer, with at least that many bytes initialized.
///
/// # Cancel safety
/// Dropping the future cancels the read where the kernel can (a file read
/// in progress finishes first); the bytes it read are lost with the buffer,
/// and at [`CURRENT_POS`] the file position may have moved.
pub fn read_at<B: IoBufMut>(fd: &SharedFd, buf: B, offset: u64) -> Op<Read<B>> {
    Op::new(Read {
        fd: fd.for_op(),
        buf,
        offset,
        pollable: false,
    })
}

/// Reads from a non-blocking pipe (or another fd with readiness, not a
/// regular file) into `buf`, as [`read_at`] at the current position.
/// `Ok(0)`: the write end is closed.
///
/// # Cancel safety
/// Dropping the future cancels the read; bytes it had read are lost with
/// the buffer. Keep the future (as the stream views do) to lose nothing.
pub fn read_pipe<B: IoBufMut>(fd: &SharedFd, buf: B) -> Op<Read<B>> {
    Op::new(Read {
        fd: fd.for_op(),
        buf,
        offset: CURRENT_POS,
        pollable: true,
    })
}

impl<B: IoBufMut> OpData for Read<B> {}

// SAFETY: the SQE points into `self.buf` (from its start, at most
// `bytes_total()` bytes), owned by the record (IoBufMut keeps it in
// place); the fd is held by `self.fd`; `attempt` passes only the buffer,
// for the call.
unsafe impl<B: IoBufMut> OpAble for Read<B> {
    type Output = BufResult<usize, B>;

    fn sqe(&mut self) -> squeue::Entry {
        let room = self.buf.bytes_total().min(crate::io::MAX_RW_COUNT);
        let ptr = self.buf.stable_mut_ptr();
        opcode::Read::new(types::Fd(self.fd.raw()), ptr, room as u32)
            .offset(self.offset)
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        self.pollable.then(|| (self.fd.shared(), Interest::Read))
    }

    fn may_block(&self) -> bool {
        !self.pollable
    }

    fn attempt_nowait(&mut self) -> Option<io::Result<u32>> {
        let len = self.buf.bytes_total().min(crate::io::MAX_RW_COUNT);
        let off = match self.offset {
            CURRENT_POS => -1,
            o => libc::off64_t::try_from(o).ok()?,
        };
        let iov = libc::iovec {
            iov_base: self.buf.stable_mut_ptr().cast(),
            iov_len: len,
        };
        // SAFETY: one iovec over our buffer, valid for writes of `len`
        // bytes, for the call; the fd is held by `self.fd`. RWF_NOWAIT:
        // only data the page cache holds, never a wait.
        let n = unsafe { libc::preadv2(self.fd.raw(), &iov, 1, off, libc::RWF_NOWAIT) };
        if n < 0 {
            // EAGAIN: not cached; EOPNOTSUPP: no such try for this file.
            // Any error: the pool does the read, and reports its own.
            return None;
        }
        Some(Ok(n as u32))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let len = self.buf.bytes_total().min(crate::io::MAX_RW_COUNT);
        let ptr = self.buf.stable_mut_ptr().cast();
        let n = if self.offset == CURRENT_POS {
            // SAFETY: the buffer is ours, valid for writes of `len` bytes
            // (IoBufMut), for the call; the fd is held by `self.fd`.
            unsafe { libc::read(self.fd.raw(), ptr, len) }
        } else {
            let Ok(off) = libc::off64_t::try_from(self.offset) else {
                return Some(Err(io::Error::from_raw_os_error(libc::EINVAL)));
            };
            // SAFETY: as above.
            unsafe { libc::pread64(self.fd.raw(), ptr, len, off) }
        };
        syscall_result(n)
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
