//! `IORING_OP_MKDIRAT`: create a directory.
//!
//! On the epoll driver it runs `mkdirat(2)` on the blocking pool.
//!
//! Called by `fs::{create_dir, create_dir_all}`; calls `op.rs`.

use crate::io::fd::SharedFd;
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;

/// The data of a mkdir: the path, owned by the record, and the mode.
#[derive(Debug)]
pub struct Mkdir {
    path: CString,
    mode: libc::mode_t,
}

/// Creates the directory `path` with `mode` (less the umask).
///
/// # Cancel safety
/// Dropping the future does not undo a creation the kernel made.
pub fn mkdir(path: CString, mode: libc::mode_t) -> Op<Mkdir> {
    Op::new(Mkdir { path, mode })
}

impl OpData for Mkdir {}

// SAFETY: the SQE points at `self.path`, owned by the record; `attempt`
// passes it for the call only.
unsafe impl OpAble for Mkdir {
    type Output = io::Result<()>;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::MkDirAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .mode(self.mode)
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn may_block(&self) -> bool {
        true
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // SAFETY: a NUL-terminated path we own, for the call.
        let rc = unsafe { libc::mkdirat(libc::AT_FDCWD, self.path.as_ptr(), self.mode) };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
