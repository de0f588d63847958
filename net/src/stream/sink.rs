//! Where a `StreamWriter`'s bytes go: a socket (sends, then `shutdown`)
//! or a pipe to a child process (writes, then closing the pipe, which is
//! a pipe's end of stream).
//!
//! Called by `writer.rs`; calls the send and write ops.

use aio_runtime::io::ops::{self, Op, Send, Write};
use aio_runtime::io::{BufResult, SharedFd};
use std::fmt;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

/// The fd a writer writes to.
pub(crate) enum Sink {
    /// A connected socket, for the writer's whole life.
    Socket(SharedFd),
    /// A pipe's write end, until the writer closes it (`None` after).
    Pipe(Option<SharedFd>),
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::Socket(fd) => f.debug_tuple("Socket").field(&fd.raw()).finish(),
            Sink::Pipe(fd) => f
                .debug_tuple("Pipe")
                .field(&fd.as_ref().map(SharedFd::raw))
                .finish(),
        }
    }
}

/// A write in flight on a sink.
pub(crate) enum InFlight {
    Send(Op<Send<Vec<u8>>>),
    Write(Op<Write<Vec<u8>>>),
}

impl InFlight {
    /// Polls the write without the task's cooperative budget: the writer
    /// polls it under its own lock, with its own waker (see
    /// `Op::poll_unbudgeted`), and a `write` is synchronous, as asyncio's.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<BufResult<usize, Vec<u8>>> {
        match self {
            InFlight::Send(op) => op.poll_unbudgeted(cx),
            InFlight::Write(op) => op.poll_unbudgeted(cx),
        }
    }
}

impl Sink {
    /// Starts writing `buf[from..]`; `None` if the pipe is closed.
    pub(crate) fn write(&self, buf: Vec<u8>, from: usize) -> Option<InFlight> {
        match self {
            Sink::Socket(fd) => Some(InFlight::Send(ops::send(fd, buf, from))),
            Sink::Pipe(Some(fd)) => Some(InFlight::Write(ops::write_pipe(fd, buf, from))),
            Sink::Pipe(None) => None,
        }
    }

    /// Ends the stream: shuts a socket down (`how`: `SHUT_WR` or
    /// `SHUT_RDWR`), closes a pipe (once no write is in flight, the fd
    /// closes with this last handle).
    pub(crate) fn shutdown(&mut self, how: i32) {
        match self {
            // SAFETY: plain syscall on an fd we hold open; never blocks.
            Sink::Socket(fd) => unsafe {
                libc::shutdown(fd.as_raw_fd(), how);
            },
            Sink::Pipe(fd) => drop(fd.take()),
        }
    }

    /// The socket, if this is one.
    pub(crate) fn socket(&self) -> Option<&SharedFd> {
        match self {
            Sink::Socket(fd) => Some(fd),
            Sink::Pipe(_) => None,
        }
    }
}
