//! The socket side of a `StreamReader`: one receive kept in flight across
//! calls, so a cancelled read loses nothing (the receive's bytes arrive
//! with the next call).
//!
//! Called by `StreamReader` through `ByteSource`; calls the recv op.

use super::ByteSource;
use aio_runtime::io::ops::{self, Op, Recv};
use aio_runtime::io::SharedFd;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The first receive size; it doubles (up to `MAX_RECV`) while receives
/// come back full, so idle connections hold small buffers.
const FIRST_RECV: usize = 4 * 1024;
const MAX_RECV: usize = 64 * 1024;

/// A socket as a `ByteSource`.
pub(crate) struct SocketSource {
    fd: SharedFd,
    op: Option<Op<Recv<Vec<u8>>>>,
    spare: Vec<u8>,
    size: usize,
    /// The last receive filled its buffer: more is likely waiting, so the
    /// next one tries at once instead of waiting for readiness first.
    full: bool,
}

impl SocketSource {
    pub(crate) fn new(fd: SharedFd) -> SocketSource {
        SocketSource {
            fd,
            op: None,
            spare: Vec::new(),
            size: FIRST_RECV,
            full: false,
        }
    }
}

impl ByteSource for SocketSource {
    fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        _hint: usize,
    ) -> Poll<io::Result<usize>> {
        let op = self.op.get_or_insert_with(|| {
            let mut v = std::mem::take(&mut self.spare);
            v.clear();
            v.reserve(self.size);
            ops::recv_stream(&self.fd, v, !self.full)
        });
        let (res, mut v) = ready!(Pin::new(op).poll(cx));
        self.op = None;
        if let Ok(n) = res {
            self.full = n > 0 && n == v.capacity();
            if self.full && self.size < MAX_RECV {
                self.size *= 2;
            }
            if buf.is_empty() {
                // Hand the received buffer over instead of copying it.
                std::mem::swap(buf, &mut v);
            } else {
                buf.extend_from_slice(&v);
            }
        }
        self.spare = v;
        Poll::Ready(res)
    }
}
