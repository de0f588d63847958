//! The poll-based side of files and pipes: the state behind their
//! `futures-io` `AsyncRead` / `AsyncWrite` impls (and tokio's, behind the
//! `tokio-compat` feature).
//!
//! Those traits lend a buffer for one call only, while a ring needs the
//! buffer until the completion, so the adapters are internally buffered,
//! as `aio-net`'s socket adapters are: a read fills an owned buffer kept
//! here (the read stays in flight if the caller stops polling, and its
//! bytes are handed out by the next call), and a write copies into an
//! owned buffer that goes to the kernel while the caller goes on
//! (`poll_flush` waits for it). Files read and write at the file position
//! (`CURRENT_POS`), pipes wait for readiness on epoll (`Fd::Pipe`).
//!
//! Called by `fs::File` and the child process pipes; calls the read and
//! write ops.

use super::fd::SharedFd;
use super::opcodes::{read_at, read_pipe, write_at, write_pipe, CURRENT_POS};
use super::ops::{VecRead, VecWrite};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The smallest read of the read adapter.
const READ_MIN: usize = 16 * 1024;
/// The largest read of the read adapter (a caller's bigger buffer gets
/// this much per call).
const READ_MAX: usize = 1024 * 1024;
/// A write waits for the in-flight one once this much is buffered.
const WRITE_HIGH: usize = 64 * 1024;

/// What kind of fd an adapter drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fd {
    /// A regular file, read and written at its position.
    File,
    /// A non-blocking pipe (or another fd with readiness).
    Pipe,
}

/// The read side of an adapter.
#[derive(Default)]
pub(crate) struct ReadState {
    op: Option<VecRead>,
    buf: Vec<u8>,
    pos: usize,
}

impl fmt::Debug for ReadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadState")
            .field("buffered", &self.buffered())
            .field("in_flight", &self.op.is_some())
            .finish()
    }
}

impl ReadState {
    /// Nothing buffered, nothing in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.op.is_none() && self.buffered() == 0
    }

    /// Bytes read from the fd and not handed out yet.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Copies buffered bytes into `out`, reading more when empty.
    pub(crate) fn poll_read(
        &mut self,
        fd: &SharedFd,
        kind: Fd,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.pos < self.buf.len() {
                let n = out.len().min(self.buf.len() - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Poll::Ready(Ok(n));
            }
            if out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if self.op.is_none() {
                let mut v = std::mem::take(&mut self.buf);
                v.clear();
                v.reserve(out.len().clamp(READ_MIN, READ_MAX));
                self.op = Some(match kind {
                    Fd::File => read_at(fd, v, CURRENT_POS),
                    Fd::Pipe => read_pipe(fd, v),
                });
            }
            if ready!(self.poll_in_flight(cx))? == 0 {
                return Poll::Ready(Ok(0));
            }
        }
    }

    /// Waits for the read in flight, if any; its bytes become buffered.
    /// Returns how many arrived (0 also when none was in flight).
    pub(crate) fn poll_in_flight(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(op) = self.op.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        let (res, buf) = ready!(Pin::new(op).poll(cx));
        self.op = None;
        self.buf = buf;
        self.pos = 0;
        Poll::Ready(res)
    }

    /// Moves buffered bytes into the start of `buf` (up to its room);
    /// returns how many.
    pub(crate) fn take_into<B: super::IoBufMut>(&mut self, buf: &mut B) -> usize {
        let n = self.buffered().min(buf.bytes_total());
        // SAFETY: `buf` is valid for writes of `bytes_total()` bytes from
        // `stable_mut_ptr()` (IoBufMut), and `n` is at most that; the
        // source is our own buffer, which cannot overlap it.
        unsafe {
            std::ptr::copy_nonoverlapping(self.buf[self.pos..].as_ptr(), buf.stable_mut_ptr(), n);
            buf.set_init(n);
        }
        self.pos += n;
        n
    }

    /// The read in flight and the bytes not handed out, for a new owner.
    pub(crate) fn into_parts(mut self) -> (Option<VecRead>, Vec<u8>) {
        self.buf.drain(..self.pos);
        (self.op, self.buf)
    }

    /// Drops the buffered bytes; returns how many there were.
    pub(crate) fn discard(&mut self) -> usize {
        let n = self.buffered();
        self.buf.clear();
        self.pos = 0;
        n
    }
}

/// The write side of an adapter.
#[derive(Default)]
pub(crate) struct WriteState {
    /// The write in flight and how much of its buffer went already.
    op: Option<(VecWrite, usize)>,
    /// The length of the in-flight write's buffer.
    op_len: usize,
    /// Accepted from the caller, not handed to the kernel yet.
    pending: Vec<u8>,
    spare: Vec<u8>,
}

impl fmt::Debug for WriteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteState")
            .field("pending", &self.pending.len())
            .field("in_flight", &self.op.is_some())
            .finish()
    }
}

fn write_op(fd: &SharedFd, kind: Fd, buf: Vec<u8>, from: usize) -> VecWrite {
    match kind {
        Fd::File => write_at(fd, buf, from, CURRENT_POS),
        Fd::Pipe => write_pipe(fd, buf, from),
    }
}

impl WriteState {
    /// The write in flight (with how many of its bytes are still to go)
    /// and the bytes not handed to the kernel yet, for a new owner.
    pub(crate) fn into_parts(self) -> (Option<(VecWrite, usize, usize)>, Vec<u8>) {
        let len = self.op_len;
        (
            self.op.map(|(op, done)| (op, done, len - done)),
            self.pending,
        )
    }

    /// Whether bytes are buffered or in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.op.is_none() && self.pending.is_empty()
    }

    /// Drives the in-flight write; Ready once nothing is in flight.
    fn poll_in_flight(
        &mut self,
        fd: &SharedFd,
        kind: Fd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while let Some((op, done)) = self.op.as_mut() {
            let done = *done;
            let (res, buf) = ready!(Pin::new(op).poll(cx));
            self.op = None;
            match res {
                Ok(0) if done < buf.len() => {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) if done + n < buf.len() => {
                    self.op = Some((write_op(fd, kind, buf, done + n), done + n));
                }
                Ok(_) => {
                    self.spare = buf;
                    self.spare.clear();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.op = Some((write_op(fd, kind, buf, done), done));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Hands the pending bytes to the kernel if no write is in flight.
    fn start(&mut self, fd: &SharedFd, kind: Fd, cx: &mut Context<'_>) -> io::Result<()> {
        if self.op.is_none() && !self.pending.is_empty() {
            let mut buf = std::mem::take(&mut self.spare);
            std::mem::swap(&mut buf, &mut self.pending);
            self.op_len = buf.len();
            self.op = Some((write_op(fd, kind, buf, 0), 0));
            // Submit now, and register for its completion.
            if let Poll::Ready(r) = self.poll_in_flight(fd, kind, cx) {
                r?;
            }
        }
        Ok(())
    }

    /// Buffers (part of) `data` and starts writing it.
    pub(crate) fn poll_write(
        &mut self,
        fd: &SharedFd,
        kind: Fd,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(r) = self.poll_in_flight(fd, kind, cx) {
            r?;
        }
        if self.pending.len() >= WRITE_HIGH {
            ready!(self.poll_flush(fd, kind, cx))?;
        }
        let n = data
            .len()
            .min(WRITE_HIGH.saturating_sub(self.pending.len()).max(1));
        self.pending.extend_from_slice(&data[..n]);
        self.start(fd, kind, cx)?;
        Poll::Ready(Ok(n))
    }

    /// Waits until every byte accepted went to the kernel.
    pub(crate) fn poll_flush(
        &mut self,
        fd: &SharedFd,
        kind: Fd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_in_flight(fd, kind, cx))?;
            if self.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            self.start(fd, kind, cx)?;
        }
    }
}

/// Implements `futures_io::AsyncRead` (and tokio's) for a type with
/// `fn poll_read_adapter(&mut self, cx, out) -> Poll<io::Result<usize>>`.
macro_rules! impl_async_read {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().poll_read_adapter(cx, buf)
            }
        }

        #[cfg(feature = "tokio-compat")]
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let out = buf.initialize_unfilled();
                let n = std::task::ready!(self.get_mut().poll_read_adapter(cx, out))?;
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

/// Implements `futures_io::AsyncWrite` (and tokio's) for a type with
/// `poll_write_adapter`, `poll_flush_adapter` and `poll_close_adapter`.
macro_rules! impl_async_write {
    ($t:ty) => {
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().poll_write_adapter(cx, buf)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().poll_flush_adapter(cx)
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().poll_close_adapter(cx)
            }
        }

        #[cfg(feature = "tokio-compat")]
        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().poll_write_adapter(cx, buf)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().poll_flush_adapter(cx)
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().poll_close_adapter(cx)
            }
        }
    };
}

pub(crate) use {impl_async_read, impl_async_write};
