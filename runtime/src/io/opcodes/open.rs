//! `IORING_OP_OPENAT`: open a file by path.
//!
//! Opening may wait on the disk or a network filesystem, and has no
//! readiness: on the epoll driver it first tries `openat2` with
//! `RESOLVE_CACHED` (the lookup answered from the dentry cache, or
//! `EAGAIN`) and `O_NONBLOCK`, as a ring's inline attempt does, then runs
//! `openat(2)` on the blocking pool.
//!
//! Called by `fs::OpenOptions`; calls `op.rs`.

use crate::io::fd::SharedFd;
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::{Completion, OpData};
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The data of an open: the path (owned by the record while the kernel
/// reads it), flags and mode.
#[derive(Debug)]
pub struct Open {
    path: CString,
    flags: i32,
    mode: libc::mode_t,
}

/// Opens `path` (relative paths from the current directory) with the
/// `open(2)` `flags` (`O_CLOEXEC` is always added) and, for a created
/// file, `mode` (less the umask).
///
/// # Cancel safety
/// Dropping the future cancels the open; a file opened anyway is closed,
/// never leaked.
pub fn open(path: CString, flags: i32, mode: libc::mode_t) -> Op<Open> {
    Op::new(Open {
        path,
        flags: flags | libc::O_CLOEXEC,
        mode,
    })
}

impl OpData for Open {
    fn orphaned(c: Completion) {
        if c.res >= 0 {
            // SAFETY: the kernel gave us this new fd and nobody saw it.
            drop(unsafe { OwnedFd::from_raw_fd(c.res) });
        }
    }
}

// SAFETY: the SQE points at `self.path`, which the record owns; `attempt`
// passes only the path, for the call.
unsafe impl OpAble for Open {
    type Output = io::Result<OwnedFd>;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags)
            .mode(self.mode)
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn may_block(&self) -> bool {
        true
    }

    fn attempt_nowait(&mut self) -> Option<io::Result<u32>> {
        // Creating or truncating may write: never inline (as on a ring).
        if self.flags & (libc::O_CREAT | libc::O_TRUNC | libc::O_TMPFILE) != 0 {
            return None;
        }
        // SAFETY: all-zero is a valid open_how; its fields are set below.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (self.flags | libc::O_NONBLOCK) as u64;
        how.resolve = libc::RESOLVE_CACHED;
        // SAFETY: a NUL-terminated path we own and an open_how, for the
        // call; the result is checked.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                libc::AT_FDCWD,
                self.path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                // Not answerable from the cache, or no openat2 here.
                Some(libc::EAGAIN | libc::ENOSYS | libc::EINVAL | libc::EPERM) => None,
                // A cached answer (ENOENT from a negative dentry, EACCES…).
                _ => Some(Err(e)),
            };
        }
        let fd = fd as i32;
        if self.flags & libc::O_NONBLOCK == 0 {
            // O_NONBLOCK kept the open from waiting (a FIFO); the file is
            // used as asked. SAFETY: plain syscalls on the fd just opened.
            unsafe {
                let fl = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
            }
        }
        Some(Ok(fd as u32))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // SAFETY: a NUL-terminated path we own, for the call.
        let fd = unsafe {
            libc::openat(
                libc::AT_FDCWD,
                self.path.as_ptr(),
                self.flags,
                libc::c_uint::from(self.mode),
            )
        };
        syscall_result(fd as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        let fd = res? as i32;
        // SAFETY: a successful open returns a new fd that we now own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
