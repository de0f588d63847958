//! `IORING_OP_RECVMSG`: receive a datagram and its source address.

use super::RawAddr;
use crate::io::buf::{BufResult, IoBufMut};
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a recvmsg: the buffer, its iovec, the header and room for
/// the source address, all owned by the record.
pub struct RecvFrom<B> {
    fd: OpFd,
    buf: B,
    iov: libc::iovec,
    addr: RawAddr,
    msg: libc::msghdr,
}

impl<B> std::fmt::Debug for RecvFrom<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvFrom").field("fd", &self.fd).finish()
    }
}

// SAFETY: the raw pointers in `iov` and `msg` point into this same value,
// which moves between threads as a whole; the buffer is Send.
unsafe impl<B: Send> Send for RecvFrom<B> {}

/// Receives one datagram into `buf` from its start (up to
/// `bytes_total()` bytes; a longer datagram is truncated); returns how
/// many bytes were stored, the sender's address and the buffer (see
/// `IoBufMut`'s read contract).
///
/// # Cancel safety
/// Dropping the future cancels the receive; a datagram it had received is
/// lost with the buffer.
pub fn recv_from<B: IoBufMut>(socket: &SharedFd, buf: B) -> Op<RecvFrom<B>> {
    Op::new(RecvFrom {
        fd: socket.for_op(),
        buf,
        iov: libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        },
        addr: RawAddr::empty(),
        // SAFETY: all zeroes is a valid empty msghdr.
        msg: unsafe { std::mem::zeroed() },
    })
}

impl<B: IoBufMut> OpData for RecvFrom<B> {}

impl<B: IoBufMut> RecvFrom<B> {
    /// Points the header at the iovec and the address storage, and the
    /// iovec at the buffer (from its start, at most `bytes_total()`).
    fn point_msg(&mut self) {
        self.iov = libc::iovec {
            iov_base: self.buf.stable_mut_ptr().cast(),
            iov_len: self.buf.bytes_total().min(crate::io::MAX_RW_COUNT),
        };
        self.addr = RawAddr::empty();
        self.msg.msg_iov = &mut self.iov;
        self.msg.msg_iovlen = 1;
        self.msg.msg_name = (&mut self.addr.storage as *mut libc::sockaddr_storage).cast();
        self.msg.msg_namelen = self.addr.len;
    }
}

// SAFETY: the SQE points at `self.msg`, which points at `self.iov` and
// `self.addr`; the iovec points into `self.buf` (at most `bytes_total()`
// bytes from its start). All are
// owned by the record (which never moves); the fd is held by `self.fd`.
unsafe impl<B: IoBufMut> OpAble for RecvFrom<B> {
    type Output = BufResult<(usize, RawAddr), B>;

    fn sqe(&mut self) -> squeue::Entry {
        self.point_msg();
        opcode::RecvMsg::new(types::Fd(self.fd.raw()), &mut self.msg).build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        Some((self.fd.shared(), Interest::Read))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // The value may have moved since the last try: point again.
        self.point_msg();
        // SAFETY: the header points at our own iovec, buffer and address
        // storage, valid for the call.
        let n = unsafe { libc::recvmsg(self.fd.raw(), &mut self.msg, libc::MSG_DONTWAIT) };
        syscall_result(n)
    }

    fn complete(mut self, res: io::Result<u32>) -> Self::Output {
        let res = res.map(|n| {
            let n = n as usize;
            // SAFETY: the kernel wrote the first `n` bytes.
            unsafe { self.buf.set_init(n) };
            let mut addr = self.addr;
            addr.len = self.msg.msg_namelen;
            (n, addr)
        });
        (res, self.buf)
    }
}
