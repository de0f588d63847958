//! `IORING_OP_FTRUNCATE` (Linux 6.9): set a file's length.
//!
//! A ring without the opcode, and the epoll driver, run `ftruncate(2)` on
//! the blocking pool (`OpAble::PROBE`).
//!
//! Called by `fs::File::set_len`; calls `op.rs`.

use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a truncate.
#[derive(Debug)]
pub struct Ftruncate {
    fd: OpFd,
    len: u64,
}

/// Truncates or extends (with zeroes) the file `fd` to `len` bytes.
///
/// # Cancel safety
/// Dropping the future does not undo a truncate the kernel started.
pub fn ftruncate(fd: &SharedFd, len: u64) -> Op<Ftruncate> {
    Op::new(Ftruncate {
        fd: fd.for_op(),
        len,
    })
}

impl OpData for Ftruncate {}

// SAFETY: the SQE and `attempt` reference no memory; the fd is held by
// `self.fd`.
unsafe impl OpAble for Ftruncate {
    type Output = io::Result<()>;
    const PROBE: Option<u8> = Some(opcode::Ftruncate::CODE);

    fn sqe(&mut self) -> squeue::Entry {
        opcode::Ftruncate::new(types::Fd(self.fd.raw()), self.len).build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn may_block(&self) -> bool {
        true
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let Ok(len) = libc::off64_t::try_from(self.len) else {
            return Some(Err(io::Error::from_raw_os_error(libc::EINVAL)));
        };
        // SAFETY: plain syscall on the fd `self.fd` holds open.
        let rc = unsafe { libc::ftruncate64(self.fd.raw(), len) };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
