//! `IORING_OP_CONNECT`: connect a socket to an address.

use super::RawAddr;
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::record::OpData;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a connect: the socket and the address.
#[derive(Debug)]
pub struct Connect {
    fd: OpFd,
    addr: RawAddr,
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
    })
}

impl OpData for Connect {}

// SAFETY: the SQE points at `self.addr`, owned by the record; the fd is
// held by `self.fd`.
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

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        res.map(drop)
    }
}
