//! `IORING_OP_STATX`: a file's metadata, by path or by open fd.
//!
//! On the epoll driver (and where a path lookup may wait on the disk) it
//! runs `statx(2)` on the blocking pool.
//!
//! Called by `fs` (`metadata`, `File::metadata`); calls `op.rs`.

use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;

/// The data of a statx: what to look at, and room for the answer (boxed:
/// the kernel writes it while the op is in flight).
pub struct Statx {
    fd: Option<OpFd>,
    path: CString,
    flags: i32,
    out: Box<libc::statx>,
}

impl std::fmt::Debug for Statx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statx")
            .field("fd", &self.fd)
            .field("path", &self.path)
            .finish()
    }
}

/// What `statx` asks for: the basic stats and the birth time.
const MASK: u32 = libc::STATX_BASIC_STATS | libc::STATX_BTIME;

fn empty_statx() -> Box<libc::statx> {
    // SAFETY: `statx` is plain integers; all zeroes is a valid value.
    Box::new(unsafe { std::mem::zeroed() })
}

/// The metadata of `path`; `follow`: of what a symbolic link points to
/// (`stat`), else of the link itself (`lstat`).
///
/// # Cancel safety
/// Dropping the future cancels the lookup; nothing is changed.
pub fn statx_path(path: CString, follow: bool) -> Op<Statx> {
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    Op::new(Statx {
        fd: None,
        path,
        flags,
        out: empty_statx(),
    })
}

/// The metadata of the open file `fd` (`fstat`).
///
/// # Cancel safety
/// Dropping the future cancels the lookup; nothing is changed.
pub fn statx_fd(fd: &SharedFd) -> Op<Statx> {
    Op::new(Statx {
        fd: Some(fd.for_op()),
        path: CString::default(),
        flags: libc::AT_EMPTY_PATH,
        out: empty_statx(),
    })
}

impl Statx {
    fn dirfd(&self) -> i32 {
        self.fd.as_ref().map_or(libc::AT_FDCWD, OpFd::raw)
    }
}

impl OpData for Statx {}

// SAFETY: the SQE points at `self.path` and `*self.out`, both owned by the
// record (the box does not move); the fd, if any, is held by `self.fd`.
unsafe impl OpAble for Statx {
    type Output = io::Result<libc::statx>;

    fn sqe(&mut self) -> squeue::Entry {
        let out: *mut libc::statx = &mut *self.out;
        opcode::Statx::new(types::Fd(self.dirfd()), self.path.as_ptr(), out.cast())
            .flags(self.flags)
            .mask(MASK)
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn may_block(&self) -> bool {
        true
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // SAFETY: the path and the output are ours, valid for the call.
        let rc = unsafe {
            libc::statx(
                self.dirfd(),
                self.path.as_ptr(),
                self.flags,
                MASK,
                &mut *self.out,
            )
        };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(|_| *self.out)
    }
}
