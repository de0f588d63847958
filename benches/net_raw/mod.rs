//! The "raw-uring" echo server of `benches/net.rs`: the same echo as aio's
//! and tokio's servers on a raw io_uring loop — the `io-uring` crate used
//! directly, no runtime, no tasks, no wakers — so that the bench can report
//! what the kernel alone costs and each server's CPU as a ratio to it.
//! Called by `net.rs`'s `main` in the server child
//! (`AIO_NET_BENCH_SERVER=raw-uring`); calls the io-uring crate, std's
//! sockets and `net_common::announce`.
//!
//! **Rings.** One per thread, [`THREADS`] threads (the other servers' 2
//! workers), set up as aio's driver sets up a worker's ring
//! (`runtime/src/driver/uring.rs`, `build_ring`): [`ENTRIES`] SQ entries
//! (aio's `Builder::ring_entries` default; CQ twice that),
//! `IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN |
//! TASKRUN_FLAG | R_DISABLED` (enabled on the owner's thread), every ring
//! after the first with `ATTACH_WQ` to the first one's kernel worker pool;
//! on a kernel that refuses a set (EINVAL) the same ladder as aio's: drop
//! `SINGLE_ISSUER | DEFER_TASKRUN | R_DISABLED`, then `COOP_TASKRUN |
//! TASKRUN_FLAG`.
//!
//! **Accept.** One listener on 127.0.0.1. Ring 0 keeps a multishot accept
//! on it and deals the connections round-robin over the threads: its own
//! share it serves itself, every other one it posts to the target ring with
//! `IORING_OP_MSG_RING` (the fd as the message's result; ring 0 serves the
//! connection itself if the post fails). Exact round-robin, unlike
//! `SO_REUSEPORT`'s 4-tuple hash, so 16 connections are split 8/8 as the
//! runtimes' work-stealing schedulers spread them; no lock, no eventfd.
//!
//! **Echo.** Per connection one op in flight at any time: a `recv` into its
//! 64 KiB buffer; then `send`s of what was read (looping on short sends);
//! then `recv` again. End of stream or an error (ECONNRESET, EPIPE, ...)
//! closes it; EINTR/EAGAIN resubmit the same op. `TCP_NODELAY` on every
//! connection.
//!
//! **Parking.** The loop drains the CQ, handles each completion (queuing the
//! next SQEs) and calls `submit_and_wait(1)`, which submits them and parks
//! until the next completion: one `io_uring_enter` per batch. Every
//! `submit*` call enters the kernel (no SQPOLL) and is counted; the sum
//! over the threads answers the bench's `stats` (the "driver syscalls/rt"
//! column).
//!
//! **Lifetimes.** A connection's buffer and fd are freed only when the
//! completion of its one op in flight is handled, and each worker is leaked
//! (`Box::leak`): the ring, the listener, the peers' ring fds and every
//! buffer live until the process exits, so nothing the kernel may still
//! touch is ever freed or reused, even if a thread panics.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier};

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::net_common::announce;

/// Threads, one ring each (the other servers run 2 workers).
const THREADS: usize = 2;
/// Submission queue entries per ring: aio's default (`Builder::ring_entries`).
const ENTRIES: u32 = 256;
/// A connection's receive buffer (the other servers' read buffer).
const BUF_SIZE: usize = 64 * 1024;

/// `user_data` of the multishot accept (ring 0).
const TOKEN_ACCEPT: u64 = u64::MAX;
/// `user_data` of a connection posted by ring 0 (its result is the fd).
const TOKEN_NEW_CONN: u64 = u64::MAX - 1;
/// `user_data` of a MSG_RING post: this tag | the fd posted. Its CQE comes
/// only on failure (`SKIP_SUCCESS`). Other values are connection slots.
const TAG_POST: u64 = 1 << 62;

/// One thread's `io_uring_enter` count, on its own cache line; written by
/// that thread only, read by the stats thread.
#[repr(align(128))]
struct Enters(AtomicU64);

impl Enters {
    fn incr(&self) {
        // A single writer: a load and a store, no read-modify-write.
        self.0.store(self.0.load(Relaxed) + 1, Relaxed);
    }
}

/// An accepted connection: its socket, its buffer, and which op is in
/// flight (`len == 0`: a recv; else a send of `buf[sent..len]`).
struct Conn {
    stream: TcpStream,
    buf: Box<[u8]>,
    len: usize,
    sent: usize,
}

/// One thread's ring and connections.
struct Worker {
    ring: IoUring,
    enters: Arc<Enters>,
    /// Connection slots (the `user_data` of their ops), and the free ones.
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Ring 0: the listener its multishot accept is on.
    listener: Option<TcpListener>,
    /// Ring 0: dups of the other rings' fds, the MSG_RING targets
    /// (`peers[i - 1]` is thread `i`'s ring).
    peers: Vec<OwnedFd>,
    /// Ring 0: connections dealt so far.
    dealt: usize,
    /// The CQEs of one batch (`user_data`, result, flags), copied out so
    /// that handling them may push SQEs.
    cqes: Vec<(u64, i32, u32)>,
}

/// Builds a ring with aio's flags (see the module doc); returns it and
/// whether it was created disabled (then its owner thread enables it).
fn build_ring(attach: Option<RawFd>) -> io::Result<(IoUring, bool)> {
    let mut last = None;
    for level in 0..3 {
        let mut b = IoUring::builder();
        if level <= 1 {
            b.setup_coop_taskrun().setup_taskrun_flag();
        }
        if level == 0 {
            b.setup_single_issuer()
                .setup_defer_taskrun()
                .setup_r_disabled();
        }
        if let Some(fd) = attach {
            b.setup_attach_wq(fd);
        }
        match b.build(ENTRIES) {
            Ok(r) => return Ok((r, level == 0)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("tried at least once"))
}

/// The raw-uring server child: never returns but with an error (it exits
/// with the process, at EOF on its stdin).
pub(crate) fn raw_uring_server() -> io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener.local_addr()?;
    let mut rings = vec![build_ring(None)?];
    let first = rings[0].0.as_raw_fd();
    for _ in 1..THREADS {
        rings.push(build_ring(Some(first))?);
    }
    let peers = rings[1..]
        .iter()
        .map(|(r, _)| {
            // SAFETY: `r` owns this fd and outlives the borrow (a dup is
            // taken at once).
            unsafe { BorrowedFd::borrow_raw(r.as_raw_fd()) }.try_clone_to_owned()
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut listener = Some(listener);
    let mut peers = Some(peers);
    let ready = Arc::new(Barrier::new(THREADS + 1));
    let mut counters = Vec::new();
    let mut threads = Vec::new();
    for (i, (ring, disabled)) in rings.into_iter().enumerate() {
        let enters = Arc::new(Enters(AtomicU64::new(0)));
        counters.push(enters.clone());
        let worker = Worker {
            ring,
            enters,
            conns: Vec::new(),
            free: Vec::new(),
            listener: listener.take(),
            peers: peers.take().unwrap_or_default(),
            dealt: 0,
            cqes: Vec::new(),
        };
        let ready = ready.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("raw-uring-{i}"))
                .spawn(move || {
                    // Leaked: see "Lifetimes" in the module doc.
                    let w = Box::leak(Box::new(worker));
                    let err = w.start(disabled, &ready).err().unwrap_or_else(|| w.run());
                    eprintln!("raw-uring server, thread {i}: {err}");
                    std::process::exit(1);
                })?,
        );
    }
    // Announce once every ring is enabled (a post to a disabled ring fails).
    ready.wait();
    announce(addr, move || {
        Some(counters.iter().map(|c| c.0.load(Relaxed)).sum())
    });
    for t in threads {
        if t.join().is_err() {
            return Err(io::Error::other("a raw-uring thread panicked"));
        }
    }
    Ok(())
}

impl Worker {
    /// On the owner thread: enables the ring, waits for the others, arms
    /// the accept (ring 0).
    fn start(&mut self, disabled: bool, ready: &Barrier) -> io::Result<()> {
        if disabled {
            self.ring.submitter().register_enable_rings()?;
        }
        ready.wait();
        if self.listener.is_some() {
            self.arm_accept()?;
        }
        Ok(())
    }

    /// The event loop: returns only a fatal error.
    fn run(&mut self) -> io::Error {
        loop {
            self.enters.incr();
            if let Err(e) = self.ring.submit_and_wait(1) {
                // EINTR: a signal; EBUSY/EAGAIN: the CQ is full, drained
                // right below. Anything else is fatal.
                if !matches!(
                    e.raw_os_error(),
                    Some(libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) {
                    return e;
                }
            }
            let mut cqes = std::mem::take(&mut self.cqes);
            cqes.extend(
                self.ring
                    .completion()
                    .map(|c| (c.user_data(), c.result(), c.flags())),
            );
            for &(ud, res, flags) in &cqes {
                if let Err(e) = self.complete(ud, res, flags) {
                    return e;
                }
            }
            cqes.clear();
            self.cqes = cqes;
        }
    }

    /// Queues `sqe`, handing the queue to the kernel first if it is full.
    ///
    /// # Safety
    /// Whatever `sqe` references stays valid until its completion.
    unsafe fn push(&mut self, sqe: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: forwarded from the caller.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return Ok(());
            }
            self.enters.incr();
            self.ring.submit()?;
        }
    }

    fn arm_accept(&mut self) -> io::Result<()> {
        let fd = self
            .listener
            .as_ref()
            .expect("ring 0's listener")
            .as_raw_fd();
        let sqe = opcode::AcceptMulti::new(types::Fd(fd))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(TOKEN_ACCEPT);
        // SAFETY: the SQE references only the listener's fd, which stays
        // open until the process exits (the worker is leaked).
        unsafe { self.push(&sqe) }
    }

    /// Handles one CQE.
    fn complete(&mut self, ud: u64, res: i32, flags: u32) -> io::Result<()> {
        match ud {
            TOKEN_ACCEPT => {
                // A failed accept (EMFILE, ECONNABORTED, ...) loses only
                // that connection.
                if res >= 0 {
                    self.deal(res)?;
                }
                if !cqueue::more(flags) {
                    self.arm_accept()?;
                }
                Ok(())
            }
            TOKEN_NEW_CONN => self.open(res),
            // A post that failed (its fd was not delivered): serve it here.
            ud if ud & TAG_POST != 0 => self.open((ud & !TAG_POST) as RawFd),
            slot => self.on_conn(slot as usize, res),
        }
    }

    /// Ring 0: gives the accepted `fd` to the next thread in turn.
    fn deal(&mut self, fd: RawFd) -> io::Result<()> {
        let to = self.dealt % (self.peers.len() + 1);
        self.dealt += 1;
        if to == 0 {
            return self.open(fd);
        }
        let sqe = opcode::MsgRingData::new(
            types::Fd(self.peers[to - 1].as_raw_fd()),
            fd,
            TOKEN_NEW_CONN,
            None,
        )
        .build()
        .flags(squeue::Flags::SKIP_SUCCESS)
        .user_data(TAG_POST | fd as u64);
        // SAFETY: the SQE references no memory, only the target ring's fd,
        // a dup this worker owns until the process exits. The posted fd is
        // owned by the message: by the target if it is delivered, by us
        // again if its failure CQE comes back.
        unsafe { self.push(&sqe) }
    }

    /// Takes ownership of the accepted `fd` (or an error result) and
    /// starts its first recv.
    fn open(&mut self, fd: RawFd) -> io::Result<()> {
        if fd < 0 {
            return Ok(()); // a failed post carries no connection
        }
        // SAFETY: `fd` is a socket the kernel just accepted for us, handed
        // to this thread alone (by the accept or the post); nothing else
        // owns or closes it.
        let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
        if stream.set_nodelay(true).is_err() {
            return Ok(()); // the peer is already gone: drop (close) it
        }
        let conn = Conn {
            stream,
            buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
            len: 0,
            sent: 0,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.conns[s] = Some(conn);
                s
            }
            None => {
                self.conns.push(Some(conn));
                self.conns.len() - 1
            }
        };
        self.arm(slot)
    }

    /// The completion of connection `slot`'s op in flight: advances the
    /// echo and queues the next op, or closes the connection.
    fn on_conn(&mut self, slot: usize, res: i32) -> io::Result<()> {
        let conn = self.conns[slot]
            .as_mut()
            .expect("a completion for a live connection (one op in flight each)");
        if res > 0 {
            let n = res as usize;
            if conn.len == 0 {
                (conn.len, conn.sent) = (n, 0); // received: echo it
            } else {
                conn.sent += n;
                if conn.sent == conn.len {
                    conn.len = 0; // all sent: receive again
                } // else a short send: send the rest
            }
        } else if res == -libc::EINTR || res == -libc::EAGAIN {
            // Resubmit the same op.
        } else {
            // End of stream (recv 0), a send that moved nothing, or an
            // error (ECONNRESET, EPIPE, ...): close. Its op has completed,
            // so the kernel holds neither its buffer nor its fd.
            self.conns[slot] = None;
            self.free.push(slot);
            return Ok(());
        }
        self.arm(slot)
    }

    /// Queues connection `slot`'s next op: a recv into its buffer, or a
    /// send of what is left to send.
    fn arm(&mut self, slot: usize) -> io::Result<()> {
        let conn = self.conns[slot].as_mut().expect("a live connection");
        let fd = types::Fd(conn.stream.as_raw_fd());
        let sqe = if conn.len == 0 {
            opcode::Recv::new(fd, conn.buf.as_mut_ptr(), BUF_SIZE as u32).build()
        } else {
            let rest = &conn.buf[conn.sent..conn.len];
            opcode::Send::new(fd, rest.as_ptr(), rest.len() as u32)
                .flags(libc::MSG_NOSIGNAL)
                .build()
        }
        .user_data(slot as u64);
        // SAFETY: the buffer is the connection's heap allocation (it does
        // not move when `conns` grows) and the fd is its socket; both are
        // freed only in `on_conn` when this op's completion is handled
        // (each connection has one op in flight), and never if the worker
        // stops (it is leaked).
        unsafe { self.push(&sqe) }
    }
}
