//! `IORING_OP_SENDMSG`: gathered writes (`writev`) and datagrams to an
//! address (`send_to`).

use super::RawAddr;
use crate::io::buf::{BufResult, IoBuf};
use crate::io::fd::{OpFd, SharedFd};
use crate::io::op::{Op, OpAble};
use crate::io::ready::Interest;
use crate::io::record::OpData;
use crate::io::wait::syscall_result;
use io_uring::{opcode, squeue, types};
use std::io;

/// The data of a sendmsg: the buffers, their iovecs, the header and an
/// optional destination, all owned by the record.
pub struct SendMsg<B> {
    fd: OpFd,
    bufs: Vec<B>,
    iov: Vec<libc::iovec>,
    addr: Option<RawAddr>,
    msg: libc::msghdr,
}

impl<B> std::fmt::Debug for SendMsg<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendMsg")
            .field("fd", &self.fd)
            .field("bufs", &self.bufs.len())
            .field("addr", &self.addr)
            .finish()
    }
}

// SAFETY: the raw pointers in `iov` and `msg` point into this same value
// (its buffers, iovecs and address), which moves between threads as a
// whole; the buffers themselves are Send.
unsafe impl<B: Send> Send for SendMsg<B> {}

/// Sends the initialized bytes of every buffer in order, in one call
/// (`writev`); returns how many bytes went and the buffers. One call
/// sends at most [`MAX_RW_COUNT`](crate::io::MAX_RW_COUNT) bytes from at
/// most `IOV_MAX` (1024) buffers: loop on the count to send them all.
///
/// # Cancel safety
/// Dropping the future cancels the send; some bytes may have been sent.
pub fn writev<B: IoBuf>(socket: &SharedFd, bufs: Vec<B>) -> Op<SendMsg<B>> {
    new(socket, bufs, None)
}

/// Sends one datagram to `addr`; returns how many bytes went and the buffer
/// (inside a one-element vector).
///
/// # Cancel safety
/// Dropping the future cancels the send.
pub fn send_to<B: IoBuf>(socket: &SharedFd, buf: B, addr: RawAddr) -> Op<SendMsg<B>> {
    new(socket, vec![buf], Some(addr))
}

fn new<B: IoBuf>(socket: &SharedFd, bufs: Vec<B>, addr: Option<RawAddr>) -> Op<SendMsg<B>> {
    Op::new(SendMsg {
        fd: socket.for_op(),
        bufs,
        iov: Vec::new(),
        addr,
        // SAFETY: all zeroes is a valid empty msghdr.
        msg: unsafe { std::mem::zeroed() },
    })
}

impl<B: IoBuf> OpData for SendMsg<B> {}

impl<B: IoBuf> SendMsg<B> {
    /// Points the header at the iovecs (made once: the buffers do not
    /// change) and the destination.
    fn point_msg(&mut self) {
        if self.iov.is_empty() {
            self.iov = iovecs(&self.bufs);
        }
        self.msg.msg_iov = self.iov.as_mut_ptr();
        self.msg.msg_iovlen = self.iov.len() as _;
        if let Some(a) = &mut self.addr {
            self.msg.msg_name = (&mut a.storage as *mut libc::sockaddr_storage).cast();
            self.msg.msg_namelen = a.len;
        }
    }
}

// SAFETY: the SQE points at `self.msg`, which points at `self.iov` (a heap
// Vec built here and not touched again) and `self.addr`; the iovecs point
// into `self.bufs`. All are owned by the record; the fd by `self.fd`.
unsafe impl<B: IoBuf> OpAble for SendMsg<B> {
    type Output = BufResult<usize, Vec<B>>;

    fn sqe(&mut self) -> squeue::Entry {
        self.point_msg();
        opcode::SendMsg::new(types::Fd(self.fd.raw()), &self.msg)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }

    fn ready_on(&self) -> Option<(&SharedFd, Interest)> {
        Some((self.fd.shared(), Interest::Write))
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // The value may have moved since the last try: point again.
        self.point_msg();
        // SAFETY: the header points at our own iovecs (into our buffers)
        // and address, valid for the call.
        let n = unsafe {
            libc::sendmsg(
                self.fd.raw(),
                &self.msg,
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        syscall_result(n)
    }

    fn complete(self, res: io::Result<u32>) -> Self::Output {
        (res.map(|n| n as usize), self.bufs)
    }
}

/// The iovecs of `bufs`' initialized bytes, at most `IOV_MAX` of them and
/// `MAX_RW_COUNT` bytes in all (the kernel refuses more with `EINVAL`,
/// or, past 2 GiB, returns a count that does not fit the CQE).
fn iovecs<B: IoBuf>(bufs: &[B]) -> Vec<libc::iovec> {
    let mut left = crate::io::MAX_RW_COUNT;
    bufs.iter()
        .take(IOV_MAX)
        .map(|b| {
            let len = b.bytes_init().min(left);
            left -= len;
            libc::iovec {
                iov_base: b.stable_ptr() as *mut libc::c_void,
                iov_len: len,
            }
        })
        .collect()
}

/// The most iovecs one call takes (`UIO_MAXIOV`).
const IOV_MAX: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iovecs_stop_at_the_kernel_limits() {
        let bufs = vec![vec![0u8; 10]; IOV_MAX + 5];
        assert_eq!(iovecs(&bufs).len(), IOV_MAX);
        // Three views of one 1.5 GiB buffer (capacity only: never touched).
        struct Big(usize);
        // SAFETY: a test buffer never handed to the kernel: only lengths
        // are read.
        unsafe impl IoBuf for Big {
            fn stable_ptr(&self) -> *const u8 {
                std::ptr::NonNull::dangling().as_ptr()
            }
            fn bytes_init(&self) -> usize {
                self.0
            }
            fn bytes_total(&self) -> usize {
                self.0
            }
        }
        let v = iovecs(&[Big(3 << 29), Big(3 << 29), Big(3 << 29)]);
        let lens: Vec<usize> = v.iter().map(|i| i.iov_len).collect();
        assert_eq!(lens.iter().sum::<usize>(), crate::io::MAX_RW_COUNT);
        assert_eq!(lens[0], 3 << 29);
        assert_eq!(lens[2], 0);
    }
}
