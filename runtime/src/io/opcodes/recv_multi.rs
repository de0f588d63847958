//! `IORING_OP_RECV` multishot (`IORING_RECV_MULTISHOT`, Linux 6.0) into
//! buffers of the ring's receive pool (`io/pool.rs`): one SQE for every
//! message of a connection. Each time data arrives the kernel takes a pool
//! buffer, receives into it and posts a CQE naming it; nothing is
//! submitted again until the op ends (end of stream, an error, the pool
//! out of buffers, or a pause when its results are not taken).

use crate::io::fd::{OpFd, SharedFd};
use crate::io::multi::{MultiAble, MultiOp};
use crate::io::op::to_result;
use crate::io::pool::{BufPool, PooledBuf};
use crate::io::ready::Interest;
use crate::io::record::Completion;
use crate::loom::sync::Arc;
use io_uring::{cqueue, opcode, squeue, types};
use std::io;

/// From `include/uapi/linux/io_uring.h` (the crate keeps `sys` private).
const IORING_RECVSEND_POLL_FIRST: u16 = 1;
const IORING_RECV_MULTISHOT: u16 = 2;

/// Results a multishot receive queues before it pauses: once a reader
/// that stops taking them has this many, the op is cancelled, and what
/// the kernel has not received by then stays in the socket, whose window
/// pushes back on the peer. The kernel may post more before the cancel
/// takes effect (up to 32 per wake-up on recent kernels; on older
/// ones, until the socket is empty), so a lagging reader can hold more buffers than
/// this, and others on its ring then find the pool dry (`ENOBUFS`) and
/// receive one-shot for a while.
pub const RECV_QUEUE_MAX: usize = 4;

/// The data of a multishot receive: the socket and, once armed, the pool
/// of the ring it was armed on.
#[derive(Debug)]
pub struct RecvMulti {
    fd: OpFd,
    pool: Option<Arc<BufPool>>,
}

/// Receives on a TCP socket with one multishot SQE into the receive
/// pool of this thread's ring: each message is a [`PooledBuf`] (at most
/// [`POOL_BUF_SIZE`](crate::io::POOL_BUF_SIZE) bytes; an empty one is end
/// of stream), queued in the op until taken. The op ends after end of
/// stream or an error; `ENOBUFS` means the pool ran dry (receive into an
/// own buffer with [`recv_stream`](super::recv_stream) once, then arm a
/// new op). It also ends, without a result, when [`RECV_QUEUE_MAX`]
/// results wait to be taken; arm a new one once they are.
///
/// # Errors
/// `Unsupported` when this thread has no io_uring driver whose kernel has
/// multishot receives and buffer rings (epoll, Linux before 6.0), or the
/// socket is not TCP (on an AF_UNIX stream the kernel can miss the end of
/// stream: a test here hung waiting for it).
///
/// # Cancel safety
/// Dropping the op cancels it; bytes received and not taken are lost,
/// their buffers go back to the pool.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::io::{ops, SharedFd};
/// use std::io::Write;
/// let l = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut b = std::net::TcpStream::connect(l.local_addr()?)?;
/// let (a, _) = l.accept()?;
/// a.set_nonblocking(true)?;
/// let a = SharedFd::new(a.into());
/// match ops::recv_multi(&a) {
///     Ok(mut rx) => {
///         b.write_all(b"one")?;
///         let buf = std::future::poll_fn(|cx| rx.poll_next(cx)).await.unwrap()?;
///         assert_eq!(&buf[..], b"one");
///     }
///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported),
/// }
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub fn recv_multi(socket: &SharedFd) -> io::Result<MultiOp<RecvMulti>> {
    if crate::io::op::ring_pool().is_none() {
        return Err(unsupported());
    }
    if !is_tcp(socket) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "multishot receive is for TCP sockets: on an AF_UNIX stream socket the kernel \
             (6.18 tried) can miss the end of stream",
        ));
    }
    Ok(MultiOp::new(RecvMulti {
        fd: socket.for_op(),
        pool: None,
    }))
}

/// `IPPROTO_MPTCP` (`include/uapi/linux/in.h`): TCP's multipath variant.
const IPPROTO_MPTCP: libc::c_int = 262;

/// Whether `socket` is a TCP stream socket (`SO_TYPE`, `SO_PROTOCOL`).
fn is_tcp(socket: &SharedFd) -> bool {
    let opt = |name| {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `v` and `len` are valid for writes of the sizes given;
        // the fd is open (held by `socket`).
        let r = unsafe {
            libc::getsockopt(
                socket.raw(),
                libc::SOL_SOCKET,
                name,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(v)
    };
    opt(libc::SO_TYPE) == Some(libc::SOCK_STREAM)
        && matches!(
            opt(libc::SO_PROTOCOL),
            Some(libc::IPPROTO_TCP | IPPROTO_MPTCP)
        )
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "multishot receive needs an io_uring driver on Linux 6.0 or later",
    )
}

// SAFETY: the SQE references no memory of ours but the pool's, which the
// data holds (`pool`) until the record is freed after the last CQE, and
// the pool outlives its registration (`pool.rs`); the fd is held by
// `self.fd`.
unsafe impl MultiAble for RecvMulti {
    type Item = io::Result<PooledBuf>;
    const MAX_QUEUED: usize = RECV_QUEUE_MAX;

    fn prepare(&mut self) -> io::Result<()> {
        self.pool = Some(crate::io::op::ring_pool().ok_or_else(unsupported)?);
        Ok(())
    }

    fn sqe(&mut self) -> squeue::Entry {
        // `prepare` set the pool; without one the group is one no ring
        // registers, and the kernel fails the op (ENOBUFS).
        let bgid = self.pool.as_ref().map_or(u16::MAX, |p| p.bgid());
        opcode::Recv::new(types::Fd(self.fd.raw()), std::ptr::null_mut(), 0)
            .buf_group(bgid)
            .ioprio(IORING_RECV_MULTISHOT | IORING_RECVSEND_POLL_FIRST)
            .build()
            .flags(squeue::Flags::BUFFER_SELECT)
    }

    fn ready_on(&self) -> (&SharedFd, Interest) {
        (self.fd.shared(), Interest::Read)
    }

    fn attempt(&mut self) -> Option<io::Result<u32>> {
        // No pool on epoll: `recv_multi` refuses there.
        Some(Err(unsupported()))
    }

    fn item(res: io::Result<u32>) -> io::Result<PooledBuf> {
        // Results without a CQE: only errors reach here.
        res?;
        Err(unsupported())
    }

    fn item_of(&self, c: Completion) -> io::Result<PooledBuf> {
        let Some(pool) = &self.pool else {
            return Err(unsupported());
        };
        // The buffer first: a CQE may name one whatever its result.
        let buf = cqueue::buffer_select(c.flags).map(|bid| {
            // SAFETY: the CQE names the buffer, so the kernel is done with
            // it; each CQE is taken once.
            unsafe { pool.take(bid, c.res.max(0) as usize) }
        });
        let n = to_result(c)?;
        match buf {
            Some(b) => Ok(b),
            None if n == 0 => Ok(PooledBuf::empty(pool)),
            None => Err(io::Error::other("a multishot receive reported no buffer")),
        }
    }

    fn orphaned(&self, c: Completion) {
        if let (Some(pool), Some(bid)) = (&self.pool, cqueue::buffer_select(c.flags)) {
            // SAFETY: the CQE names the buffer and nobody took it.
            unsafe { pool.release(bid) };
        }
    }
}
