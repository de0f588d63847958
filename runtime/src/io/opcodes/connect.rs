//! `IORING_OP_CONNECT`: connect a socket to an address.

use super::RawAddr;
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a connect: the socket and the address.
#[derive(Debug)]
pub struct Connect {
    fd: OpFd,
    addr: RawAddr,
    /// Epoll: `connect(2)` said EINPROGRESS; the socket's writability
    /// now says it finished.
    started: bool,
}

/// Connects `socket` to `addr`.
///
/// # Cancel safety
/// Dropping the future cancels the connect; the socket is closed with its
/// last reference (the caller's, and the record's once the kernel is done).
pub fn connect(socket: &SharedFd, addr: RawAddr) -> Op<Connect> {
    Op::new(Connect {
        fd: socket.for_op(),
        addr,
        started: false,
    })
}

impl OpData for Connect {}

// SAFETY: the SQE points at `self.addr`, owned by the record; the fd is
// held by `self.fd`; `attempt` passes only our own memory, for the call.
unsafe impl OpAble for Connect {
    type Output = io::Result<()>;

    fn sqe(&mut self) -> squeue::Entry {
        opcode::Connect::new(
            types::Fd(self.fd.raw()),
            (&self.addr.storage as *const libc::sockaddr_storage).cast(),
            self.addr.len,
        )
        .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        Some((self.fd.shared(), Interest::Write))
    }

    /// The first try starts the connect; once it is in progress, each try
    /// asks the socket how it ended (`SO_ERROR`, then whether it has a
    /// peer: a wake-up may come before the end).
    fn attempt(&mut self) -> Option<io::Result<u32>> {
        let fd = self.fd.raw();
        if !self.started {
            // SAFETY: the address is ours and valid for the call.
            let rc = unsafe {
                libc::connect(
                    fd,
                    (&self.addr.storage as *const libc::sockaddr_storage).cast(),
                    self.addr.len,
                )
            };
            if rc == 0 {
                return Some(Ok(0));
            }
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                // Interrupted: the connect goes on in the background.
                Some(libc::EINPROGRESS) | Some(libc::EINTR) => {
                    self.started = true;
                    None
                }
                // A Unix listener whose backlog is full (as tokio reports it).
                Some(libc::EAGAIN) => Some(Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "connect: the listener's backlog is full (EAGAIN); try again later",
                ))),
                _ => Some(Err(e)),
            };
        }
        let mut err: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `err` and `len` are valid for the call.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut err as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Some(Err(io::Error::last_os_error()));
        }
        if err != 0 {
            return Some(Err(io::Error::from_raw_os_error(err)));
        }
        let mut peer = RawAddr::empty();
        // SAFETY: the storage and its length are ours, valid for the call.
        let rc = unsafe {
            libc::getpeername(
                fd,
                (&mut peer.storage as *mut libc::sockaddr_storage).cast(),
                &mut peer.len,
            )
        };
        if rc == 0 {
            return Some(Ok(0));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENOTCONN) => None,
            _ => Some(Err(e)),
        }
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
