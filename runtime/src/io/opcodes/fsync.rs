//! `IORING_OP_FSYNC`: flush a file's data (and metadata) to its device.
//!
//! On the epoll driver it runs `fsync(2)` / `fdatasync(2)` on the blocking
//! pool.
//!
//! Called by `fs::File`; calls `op.rs`.

use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of an fsync.
#[derive(Debug)]
pub struct Fsync {
    fd: OpFd,
    data_only: bool,
}

/// Flushes `fd`'s written data to its device; `data_only`: without the
/// metadata that reading the data does not need (`fdatasync`).
///
/// # Cancel safety
/// Dropping the future does not stop the flush once the kernel started it.
pub fn fsync(fd: &SharedFd, data_only: bool) -> Op<Fsync> {
    Op::new(Fsync {
        fd: fd.for_op(),
        data_only,
    })
}

impl OpData for Fsync {}

// SAFETY: the SQE and `attempt` reference no memory; the fd is held by
// `self.fd`.
unsafe impl OpAble for Fsync {
    type Output = io::Result<()>;

    fn sqe(&mut self) -> squeue::Entry {
        let mut op = opcode::Fsync::new(types::Fd(self.fd.raw()));
        if self.data_only {
            op = op.flags(types::FsyncFlags::DATASYNC);
        }
        op.build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn may_block(&self) -> bool {
        true
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // SAFETY: plain syscall on the fd `self.fd` holds open.
        let rc = unsafe {
            if self.data_only {
                libc::fdatasync(self.fd.raw())
            } else {
                libc::fsync(self.fd.raw())
            }
        };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
