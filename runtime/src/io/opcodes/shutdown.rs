//! `IORING_OP_SHUTDOWN`: shut down one or both directions of a socket.

use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a shutdown.
#[derive(Debug)]
pub struct Shutdown {
    fd: OpFd,
    how: i32,
}

/// Shuts down `how` (`libc::SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
///
/// # Cancel safety
/// A shutdown completes at once in the kernel; dropping the future does not
/// undo it.
pub fn shutdown(socket: &SharedFd, how: i32) -> Op<Shutdown> {
    Op::new(Shutdown {
        fd: socket.for_op(),
        how,
    })
}

impl OpData for Shutdown {}

// SAFETY: the SQE and `attempt` reference no memory; the fd is held by
// `self.fd`.
unsafe impl OpAble for Shutdown {
    type Output = io::Result<()>;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::Shutdown::new(types::Fd(self.fd.raw()), self.how).build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // SAFETY: plain syscall on the fd `self.fd` holds open.
        let rc = unsafe { libc::shutdown(self.fd.raw(), self.how) };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
