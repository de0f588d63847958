//! `IORING_OP_ACCEPT`: one connection from a listening socket, or (multishot)
//! every connection with one SQE.

use super::RawAddr;
use crate::io::fd::{OpFd, SharedFd};
use crate::io::multi::{MultiAble, MultiOp};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::{Completion, OpData};
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The data of an accept: the listener and room for the peer's address.
#[derive(Debug)]
pub struct Accept {
    fd: OpFd,
    addr: RawAddr,
}

/// Accepts one connection on `listener`: the new socket (close-on-exec)
/// and the peer's address.
///
/// # Cancel safety
/// Dropping the future cancels the accept; a connection accepted anyway
/// is closed, never leaked.
pub fn accept(listener: &SharedFd) -> Op<Accept> {
    Op::new(Accept {
        fd: listener.for_op(),
        addr: RawAddr::empty(),
    })
}

impl OpData for Accept {
    fn orphaned(c: Completion) {
        if c.res >= 0 {
            // SAFETY: the kernel gave us this new fd and nobody saw it.
            drop(unsafe { OwnedFd::from_raw_fd(c.res) });
        }
    }
}

// SAFETY: the SQE points at `self.addr`, which the record owns; the fd is
// held by `self.fd`; `attempt` passes only `self.addr`, for the call.
unsafe impl OpAble for Accept {
    type Output = io::Result<(OwnedFd, RawAddr)>;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::Accept::new(
            types::Fd(self.fd.raw()),
            (&mut self.addr.storage as *mut libc::sockaddr_storage).cast(),
            &mut self.addr.len,
        )
        .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
        .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        Some((self.fd.shared(), Interest::Read))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        self.addr.len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: the address storage and its length are ours, valid for
        // the call; the listener is held open by `self.fd`.
        let n = unsafe {
            libc::accept4(
                self.fd.raw(),
                (&mut self.addr.storage as *mut libc::sockaddr_storage).cast(),
                &mut self.addr.len,
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        };
        syscall_result(n as isize)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        let fd = res?;
        // SAFETY: a successful accept returns a new fd that we now own.
        Ok((unsafe { OwnedFd::from_raw_fd(fd as i32) }, self.addr))
    }
}

/// The data of a multishot accept: the listener.
#[derive(Debug)]
pub struct AcceptMulti {
    fd: OpFd,
}

/// Accepts connections on `listener` with one multishot SQE
/// (`IORING_ACCEPT_MULTISHOT`): each connection is a result (the new
/// socket, close-on-exec and non-blocking), queued in the op until taken.
/// The kernel ends the op on an error (`EMFILE`, …); then make a new one.
/// The op also ends, without an error, once [`ACCEPT_QUEUE_MAX`]
/// connections wait to be taken: later ones stay in the listen backlog
/// until a new op is armed, so a slow consumer does not turn a flood of
/// connections into a flood of open fds.
/// Peers' addresses are not reported (the kernel cannot with multishot):
/// ask the socket (`getpeername`).
///
/// # Cancel safety
/// Dropping the op cancels it; connections accepted but not taken, and
/// any accepted after, are closed, never leaked.
pub fn accept_multi(listener: &SharedFd) -> MultiOp<AcceptMulti> {
    MultiOp::new(AcceptMulti {
        fd: listener.for_op(),
    })
}

/// Connections a multishot accept queues before it pauses (see
/// [`accept_multi`]).
///
/// # Examples
///
/// ```
/// // An `Incoming` nobody takes from holds at most this many connections.
/// assert_eq!(aio::io::ops::ACCEPT_QUEUE_MAX, 64);
/// ```
pub const ACCEPT_QUEUE_MAX: usize = 64;

// SAFETY: the SQE and `attempt` reference no memory; the fd is held by
// `self.fd`.
unsafe impl MultiAble for AcceptMulti {
    type Item = io::Result<OwnedFd>;
    const MAX_QUEUED: usize = ACCEPT_QUEUE_MAX;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::AcceptMulti::new(types::Fd(self.fd.raw()))
            .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
            .build()
    }

    fn ready_on(&self) -> (&SharedFd, Interest) {
        (self.fd.shared(), Interest::Read)
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // SAFETY: no address is asked for; the listener is held open by
        // `self.fd`.
        let n = unsafe {
            libc::accept4(
                self.fd.raw(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        };
        syscall_result(n as isize)
    }

    fn item(res: io::Result<u32>) -> io::Result<OwnedFd> {
        // SAFETY: a successful accept returns a new fd that we now own.
        res.map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    fn orphaned(&self, c: Completion) {
        <Accept as OpData>::orphaned(c);
    }
}
