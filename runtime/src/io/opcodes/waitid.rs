//! `IORING_OP_WAITID` (Linux 6.7) with `WNOWAIT`: wait until a child has
//! exited, without reaping it — the ring's form of `waitid(P_PID, pid,
//! WEXITED | WNOWAIT)`.
//!
//! The op only observes the exit; the caller reaps with a non-blocking
//! `waitid` afterwards. So a cancelled op loses nothing (the child stays a
//! zombie until then, with its status), and a stale op still in flight
//! after the reap reaps nothing either. Unlike a pidfd it needs no fd:
//! with hundreds of children alive, every `clone` copies (and every
//! `execve` closes) the parent's fd table, so fewer fds make every spawn
//! cheaper.
//!
//! A ring without the opcode, and the epoll driver, are not meant to run
//! it: `process` asks [`waitid_supported`] first and waits on a pidfd
//! otherwise. Should it run there anyway, `attempt` is the blocking
//! `waitid` on the blocking pool.
//!
//! Called by `process` (a child's `wait`); calls `op.rs`.

use crate::io::fd::SharedFd;
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue};
use std::io;

/// Room for a `siginfo_t` (128 bytes, 8-aligned) as plain integers, so
/// that the op's data is `Send` (the libc type holds raw pointers).
type InfoRoom = [u64; 16];
const _: () = assert!(
    std::mem::size_of::<InfoRoom>() == std::mem::size_of::<libc::siginfo_t>()
        && std::mem::align_of::<InfoRoom>() >= std::mem::align_of::<libc::siginfo_t>()
);

/// The data of a wait: the pid, and room for the kernel's siginfo (boxed:
/// it is written while the op is in flight; nobody reads it, the reap
/// afterwards gives the status).
pub struct WaitExit {
    pid: u32,
    info: Box<InfoRoom>,
}

impl std::fmt::Debug for WaitExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitExit").field("pid", &self.pid).finish()
    }
}

/// The `waitid` options: exited children, left unreaped.
const OPTIONS: i32 = libc::WEXITED | libc::WNOWAIT;

/// Waits until our child `pid` has exited, leaving it unreaped.
///
/// `pid` must be a child of this process that nobody has reaped yet (so
/// the pid cannot name another process).
///
/// # Errors
/// `ECHILD` if `pid` is not (or no longer) an unreaped child of ours.
///
/// # Cancel safety
/// Cancel-safe: the op reaps nothing, so dropping it changes nothing.
pub fn wait_exit(pid: u32) -> Op<WaitExit> {
    Op::new(WaitExit {
        pid,
        info: Box::new([0; 16]),
    })
}

/// Whether this thread's driver is a ring with `IORING_OP_WAITID`.
pub fn waitid_supported() -> bool {
    crate::io::op::ring_supports(opcode::WaitId::CODE)
}

impl OpData for WaitExit {
    // A child's exit is milliseconds away: no park spin for it.
    const SLOW: bool = true;
}

// SAFETY: the SQE points at `*self.info`, owned by the record (the box
// does not move until the completion); no fd is involved.
unsafe impl OpAble for WaitExit {
    type Output = io::Result<()>;

    const PROBE: Option<u8> = Some(opcode::WaitId::CODE);

    fn sqe(&mut self) -> squeue::Entry {
        let info: *mut libc::siginfo_t = (&mut *self.info as *mut InfoRoom).cast();
        opcode::WaitId::new(libc::P_PID, self.pid as libc::id_t, OPTIONS)
            .infop(info.cast_const())
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        None
    }

    fn may_block(&self) -> bool {
        true
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let info: *mut libc::siginfo_t = (&mut *self.info as *mut InfoRoom).cast();
        // SAFETY: room the size and alignment of a siginfo_t, owned by
        // `self` for the call.
        let rc = unsafe { libc::waitid(libc::P_PID, self.pid as libc::id_t, info, OPTIONS) };
        syscall_result(rc as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(|_| ())
    }
}
