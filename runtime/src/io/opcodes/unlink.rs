//! `IORING_OP_UNLINKAT`: remove a file, or an empty directory.
//!
//! On the epoll driver it runs `unlinkat(2)` on the blocking pool.
//!
//! Called by `fs::{remove_file, remove_dir}`; calls `op.rs`.

use crate::io::fd::SharedFd;
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;

/// The data of an unlink: the path, owned by the record.
#[derive(Debug)]
pub struct Unlink {
    path: CString,
    flags: i32,
}

/// Removes the name `path`: a file (`dir: false`), or an empty directory
/// (`dir: true`, `rmdir`).
///
/// # Cancel safety
/// Dropping the future does not undo a removal the kernel made.
pub fn unlink(path: CString, dir: bool) -> Op<Unlink> {
    let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
    Op::new(Unlink { path, flags })
}

impl OpData for Unlink {}

// SAFETY: the SQE points at `self.path`, owned by the record; `attempt`
// passes it for the call only.
unsafe impl OpAble for Unlink {
    type Output = io::Result<()>;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags)
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
        let rc = unsafe { libc::unlinkat(libc::AT_FDCWD, self.path.as_ptr(), self.flags) };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
