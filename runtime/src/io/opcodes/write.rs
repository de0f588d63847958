//! `IORING_OP_WRITE`: write from an owned buffer to a file at an offset
//! (or at the file position), or to a pipe.
//!
//! As for reads (`read.rs`): a regular file's write runs `pwrite(2)` on
//! the blocking pool under the epoll driver; a non-blocking pipe waits for
//! readiness there.
//!
//! Called by `fs::File` and the child process pipes (and `aio-net`'s
//! stream writer on a pipe); calls `op.rs`.

use super::read::CURRENT_POS;
use crate::io::buf::{BufResult, IoBuf};
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a write: the fd, the buffer, where in it to start, and
/// where in the file to write.
#[derive(Debug)]
pub struct Write<B> {
    fd: OpFd,
    buf: B,
    from: usize,
    offset: u64,
    pollable: bool,
}

/// Writes `buf[from..bytes_init()]` (at most
/// [`MAX_RW_COUNT`](crate::io::MAX_RW_COUNT) bytes) to the file `fd` at
/// `offset` ([`CURRENT_POS`]: at the file position, or at its end if it
/// was opened to append); returns how many bytes were written and the
/// buffer.
///
/// # Panics
/// If `from > buf.bytes_init()`.
///
/// # Cancel safety
/// Dropping the future cancels the write where the kernel can; some
/// bytes may have been written.
pub fn write_at<B: IoBuf>(fd: &SharedFd, buf: B, from: usize, offset: u64) -> Op<Write<B>> {
    assert!(from <= buf.bytes_init(), "write offset past the data");
    Op::new(Write {
        fd: fd.for_op(),
        buf,
        from,
        offset,
        pollable: false,
    })
}

/// Writes `buf[from..bytes_init()]` to a non-blocking pipe (or another
/// fd with readiness, not a regular file); returns how many bytes went
/// and the buffer. A closed read end is `BrokenPipe`, as with `write(2)`
/// (Rust programs ignore SIGPIPE unless they asked for its default).
///
/// # Panics
/// If `from > buf.bytes_init()`.
///
/// # Cancel safety
/// Dropping the future cancels the write; some bytes may have been
/// written.
pub fn write_pipe<B: IoBuf>(fd: &SharedFd, buf: B, from: usize) -> Op<Write<B>> {
    assert!(from <= buf.bytes_init(), "write offset past the data");
    Op::new(Write {
        fd: fd.for_op(),
        buf,
        from,
        offset: CURRENT_POS,
        pollable: true,
    })
}

impl<B: IoBuf> OpData for Write<B> {}

// SAFETY: the SQE points into `self.buf`, owned by the record; the fd is
// held by `self.fd`; `attempt` passes only the buffer, for the call.
unsafe impl<B: IoBuf> OpAble for Write<B> {
    type Output = BufResult<usize, B>;

    fn sqe(&mut self) -> squeue::Entry {
        let len = (self.buf.bytes_init() - self.from).min(crate::io::MAX_RW_COUNT);
        // SAFETY: `from <= bytes_init()`, inside the allocation.
        let ptr = unsafe { self.buf.stable_ptr().add(self.from) };
        opcode::Write::new(types::Fd(self.fd.raw()), ptr, len as u32)
            .offset(self.offset)
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        self.pollable.then(|| (self.fd.shared(), Interest::Write))
    }

    fn may_block(&self) -> bool {
        !self.pollable
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let len = (self.buf.bytes_init() - self.from).min(crate::io::MAX_RW_COUNT);
        // SAFETY: `from <= bytes_init()`, inside the allocation.
        let ptr = unsafe { self.buf.stable_ptr().add(self.from) }.cast();
        let n = if self.offset == CURRENT_POS {
            // SAFETY: the buffer is ours, valid for reads of `len` bytes
            // from `ptr`, for the call; the fd is held by `self.fd`.
            unsafe { libc::write(self.fd.raw(), ptr, len) }
        } else {
            let Ok(off) = libc::off64_t::try_from(self.offset) else {
                return Some(Err(io::Error::from_raw_os_error(libc::EINVAL)));
            };
            // SAFETY: as above.
            unsafe { libc::pwrite64(self.fd.raw(), ptr, len, off) }
        };
        syscall_result(n)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        (res.map(|n| n as usize), self.buf)
    }
}
