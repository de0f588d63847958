//! `IORING_OP_RENAMEAT`: rename a file or directory.
//!
//! On the epoll driver it runs `renameat(2)` on the blocking pool.
//!
//! Called by `fs::rename`; calls `op.rs`.

use crate::io::fd::SharedFd;
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;

/// The data of a rename: both paths, owned by the record.
#[derive(Debug)]
pub struct Rename {
    from: CString,
    to: CString,
}

/// Renames `from` to `to`, replacing `to` if it exists (as `rename(2)`).
///
/// # Cancel safety
/// Dropping the future does not undo a rename the kernel made.
pub fn rename(from: CString, to: CString) -> Op<Rename> {
    Op::new(Rename { from, to })
}

impl OpData for Rename {}

// SAFETY: the SQE points at `self.from` and `self.to`, owned by the
// record; `attempt` passes them for the call only.
unsafe impl OpAble for Rename {
    type Output = io::Result<()>;

    fn sqe(&mut self) -> squeue::Entry {
        let cwd = types::Fd(libc::AT_FDCWD);
        opcode::RenameAt::new(cwd, self.from.as_ptr(), cwd, self.to.as_ptr()).build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn may_block(&self) -> bool {
        true
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // SAFETY: NUL-terminated paths we own, for the call.
        let rc = unsafe {
            libc::renameat(
                libc::AT_FDCWD,
                self.from.as_ptr(),
                libc::AT_FDCWD,
                self.to.as_ptr(),
            )
        };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
