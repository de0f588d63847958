//! Ecosystem adapters: `futures-io`'s `AsyncRead` / `AsyncWrite` (and
//! tokio's, behind the `tokio-compat` feature) for `TcpStream`,
//! `UnixStream` and the owned halves, so that codecs, hyper or
//! tokio-util can run on aio.
//!
//! Those traits lend a buffer for one call only, while io_uring needs the
//! buffer until the completion, so the adapters are internally buffered:
//! a read receives into an owned buffer kept in the stream (the receive
//! stays in flight if the caller stops polling, and its bytes are handed
//! out by the next call), and a write copies into an owned buffer that is
//! sent while the caller goes on (`poll_flush` waits for it). hyper's
//! reads keep a multishot receive armed for the connection (see
//! [`ReadState`]), which goes on taking what arrives into the ring's pool
//! until the adapter reads again: once hyper read a stream, read the rest
//! through an adapter too; an owned-buffer `read` then fails, saying so
//! (it would miss the bytes the adapter holds), as it does whenever an
//! adapter read left bytes or a receive behind.
//!
//! # End of stream after a flush
//!
//! A flush completes when the ring reports the send, so a caller may be
//! still awaiting a flush whose bytes the peer already has: the peer may
//! have read the reply and closed. A read that returns end of stream at
//! that moment looks, to a protocol that reads while it flushes, like a
//! peer that left in the middle of the exchange: hyper then logs
//! "connection closed before message completed" for a client that closed
//! after a complete response. (With tokio a write is a `send(2)`, so the
//! flush has returned before any reply can come.) So on a stream that
//! both reads and writes, an end of stream that arrives while a flush is
//! awaited is held back once: the read returns `Pending` and wakes its
//! task at once, so the caller's pending flush is polled (and returns)
//! before the read reports the end. Data is never held back, and the end
//! of stream only for that one extra poll.
//!
//! # Dropped with bytes unsent, closed, failed
//!
//! A write returns `Ok` once its bytes are in the adapter's buffer, so
//! code written for tokio, whose writes are `send(2)`s, may drop the stream
//! without a flush. Then the bytes the adapter accepted still go: the
//! stream's drop hands them to a task that flushes them (and, for a write
//! half, shuts the write side down after them), as asyncio's
//! `transport.close()` flushes its buffer before closing. The task holds
//! the fd until the bytes are sent, the send fails, the runtime shuts
//! down, or 30 s pass with the peer taking nothing (then it aborts the
//! connection, as a dropped `StreamWriter` does after its linger time);
//! outside a runtime the bytes are dropped. `close()` flushes them
//! itself and cancels a read the caller left in flight (the peer owes it
//! nothing). A send's error sticks: every later write and flush returns
//! it, so no caller that retries leaves a hole in the stream.
//!
//! # Flushes for hyper
//!
//! hyper flushes after every response and goes on to read the next
//! request only once the flush is `Ready`. A flush that waited for the
//! send's completion made that two polls of the connection per request
//! (the second only to see the flush end) where tokio, whose `write` is a
//! `send(2)`, makes one. So hyper's `poll_flush` (`hyper/io.rs`) is
//! `Ready` once every accepted byte is in a send submitted to the ring,
//! whose completion then wakes nobody: a write submits its send with no
//! waker (`Op::submit`), and a flush that finds it still in flight
//! returns without polling it (`Op::forget_waker` withdraws a waker an
//! earlier poll left). The send
//! carries `MSG_WAITALL`, so the kernel itself sends the rest of a short
//! send, and the next write, flush, close or drop collects the result
//! (an error sticks, as below). hyper's end of a connection is a
//! `poll_shutdown`, which waits for every byte as before; so does a send
//! that is driven by polls (epoll), and the futures-io and tokio
//! `poll_flush`, whose callers may rely on the bytes having left (a
//! `flush().await` before dropping the runtime).
//!
//! Vectored writes copy the slices into that buffer in one call, so a
//! caller that keeps a response's head and body apart (hyper) pays one
//! copy, not two.
//!
//! Called through the trait impls on the socket types (and hyper's
//! `rt::Read` / `rt::Write` in `hyper/io.rs`); calls the ops.

use aio_runtime::io::ops::{self, MultiOp, Op, Recv, RecvMulti, Send};
use aio_runtime::io::PooledBuf;
use aio_runtime::io::SharedFd;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Receive size of the read adapter.
const READ_SIZE: usize = 16 * 1024;
/// One-shot receives a stream makes after its multishot found the ring's
/// pool dry, before it arms one again.
const POOL_DRY_BACKOFF: u8 = 16;
/// A write waits for the in-flight send once this much is buffered.
const WRITE_HIGH: usize = 64 * 1024;
// A send of a whole buffer is one op (see "Flushes for hyper").
const _: () = assert!(WRITE_HIGH <= aio_runtime::io::MAX_RW_COUNT);

/// The read side of an adapter.
///
/// hyper's reads of a TCP stream on io_uring (Linux 6.0 on) that ask for
/// at most a pool buffer's worth go through one multishot receive armed
/// for the stream's life (`ops::recv_multi`, see [`Multishot`]): each
/// message arrives in a buffer of the ring's receive pool, with no SQE
/// and no poll re-armed per message, and the adapter hands its bytes out
/// from there (the copy into the caller's buffer is the one the owned
/// buffer took before). When the reading task moved to another worker,
/// the receive is ended and armed again on that worker's ring. Other
/// reads, larger asks, epoll, Unix streams and a pool run dry (`ENOBUFS`,
/// then `POOL_DRY_BACKOFF` reads) use a one-shot receive into the
/// adapter's own buffer. Never both at once: a one-shot receive starts
/// only with no multishot armed, and a multishot is armed only once the
/// one-shot completed, so bytes come in the socket's order.
#[derive(Default)]
pub(crate) struct ReadState {
    /// A one-shot receive in flight, into the adapter's own buffer.
    op: Option<Op<Recv<Vec<u8>>>>,
    /// The multishot receive armed for the stream.
    multi: Option<MultiOp<RecvMulti>>,
    /// Multishot receives are not available for this stream (epoll, an
    /// old kernel, not TCP).
    no_multi: bool,
    /// One-shot receives still to make before arming again, after the
    /// pool ran dry.
    backoff: u8,
    /// The pool buffer the bytes are handed out from (`buf` is then
    /// empty); an empty one is an end of stream.
    pooled: Option<PooledBuf>,
    buf: Vec<u8>,
    /// How far into `pooled` (if any) or `buf` the bytes were taken.
    pos: usize,
}

impl fmt::Debug for ReadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadState")
            .field("buffered", &self.buffered().len())
            .field("in_flight", &self.op.is_some())
            .field("multishot", &self.multi.is_some())
            .finish()
    }
}

/// Whether a read may arm the stream's multishot receive (see
/// [`ReadState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Multishot {
    /// hyper's reads: its flush waits only while bytes are not handed to
    /// the kernel yet, and a peer cannot have read a whole response then:
    /// an end of stream that overtakes such a flush is a real early close,
    /// so the receive's ring need not be the sends' ring (see "End of
    /// stream after a flush").
    Yes,
    /// The futures-io and tokio reads: an end of stream is held back
    /// while a flush waits, which relies on the receive being submitted
    /// after the send, on the same ring, so its end cannot overtake the
    /// send's completion; a receive armed long before, maybe on another
    /// worker's ring, could.
    No,
}

/// What a multishot receive's poll came to, for the read adapter.
enum Multi {
    /// Bytes (empty: end of stream).
    Got(PooledBuf),
    /// No multishot to use now: receive once into the own buffer.
    OneShot,
}

impl ReadState {
    /// The buffered bytes, receiving more when none are (at least `want`
    /// bytes of room, up to 256 KiB, or a pool buffer's worth); empty at
    /// end of stream or when `want` is 0. [`consume`](Self::consume)
    /// takes them.
    pub(crate) fn poll_fill(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
        want: usize,
        multishot: Multishot,
    ) -> Poll<io::Result<&[u8]>> {
        if self.buffered().is_empty() && want > 0 {
            self.pooled = None;
            let one_shot = match ready!(self.poll_multi(fd, cx, want, multishot))? {
                Multi::Got(b) => {
                    self.buf.clear();
                    self.pos = 0;
                    self.pooled = Some(b);
                    false
                }
                Multi::OneShot => true,
            };
            if one_shot {
                loop {
                    let op = self.op.get_or_insert_with(|| {
                        let mut v = std::mem::take(&mut self.buf);
                        self.pos = 0;
                        v.clear();
                        v.reserve(READ_SIZE.max(want.min(256 * 1024)));
                        ops::recv_stream(fd, v, true)
                    });
                    let (res, buf) = ready!(Pin::new(op).poll(cx));
                    self.op = None;
                    self.buf = buf;
                    self.pos = 0;
                    match res {
                        // Cancelled by its ring (a `block_on` ring closed
                        // under it): it took no bytes; receive again here.
                        Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => {}
                        res => {
                            res?;
                            break;
                        }
                    }
                }
            }
        }
        Poll::Ready(Ok(self.buffered()))
    }

    /// The next result of the stream's multishot receive, arming it if
    /// none is and the stream can (no one-shot receive in flight, `want`
    /// within a pool buffer, io_uring with a pool); `OneShot` if it
    /// cannot, or the pool ran dry.
    fn poll_multi(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
        want: usize,
        multishot: Multishot,
    ) -> Poll<io::Result<Multi>> {
        loop {
            if self.op.is_some() {
                return Poll::Ready(Ok(Multi::OneShot));
            }
            if self.multi.is_none() {
                if self.no_multi
                    || multishot == Multishot::No
                    || want > aio_runtime::io::POOL_BUF_SIZE
                {
                    return Poll::Ready(Ok(Multi::OneShot));
                }
                if self.backoff > 0 {
                    self.backoff -= 1;
                    return Poll::Ready(Ok(Multi::OneShot));
                }
                match ops::recv_multi(fd) {
                    Ok(m) => self.multi = Some(m),
                    Err(_) => {
                        self.no_multi = true;
                        return Poll::Ready(Ok(Multi::OneShot));
                    }
                }
            }
            let Some(multi) = self.multi.as_mut() else {
                unreachable!("armed above")
            };
            if multishot == Multishot::No {
                // Armed by a reader that may use it (hyper), read now by
                // one that may not: its results first, then one-shot.
                multi.end();
            } else if multi.armed_elsewhere() {
                // The stream's task moved to another worker: move the
                // receive after it (its results so far come first), or
                // each message would wake the old worker to hand it over.
                multi.end();
            }
            match ready!(multi.poll_next(cx)) {
                Some(Ok(b)) => return Poll::Ready(Ok(Multi::Got(b))),
                Some(Err(e)) => {
                    // The op ended with this error.
                    self.multi = None;
                    if e.raw_os_error() == Some(libc::ENOBUFS) {
                        // Readers that lag hold the pool: receive into our
                        // own buffer for a while rather than fail again.
                        self.backoff = POOL_DRY_BACKOFF;
                        return Poll::Ready(Ok(Multi::OneShot));
                    }
                    if e.kind() == io::ErrorKind::Unsupported {
                        self.no_multi = true;
                        return Poll::Ready(Ok(Multi::OneShot));
                    }
                    if e.raw_os_error() == Some(libc::ECANCELED) {
                        // Cancelled by its ring (a `block_on` ring closed
                        // under it), not by us: the stream is fine, arm a
                        // new one (or receive one-shot).
                        continue;
                    }
                    return Poll::Ready(Err(e));
                }
                // Ended (after its last result, or paused with its queue
                // full and now drained): arm a new one.
                None => self.multi = None,
            }
        }
    }

    /// Receives more bytes after the buffered ones (at least one receive);
    /// `false` at end of stream. For `aio::hyper::serve`'s wait for a
    /// connection's first bytes, which must not leave this receive in
    /// flight when the adapter reads (a `poll_fill` would then take its
    /// buffer for the whole buffer): it only goes on once it completed,
    /// and drops the stream otherwise.
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_fill_more(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<bool>> {
        if self.buffered().is_empty() {
            return self
                .poll_fill(fd, cx, 1, Multishot::Yes)
                .map_ok(|b| !b.is_empty());
        }
        // More goes after the bytes held: into the own buffer.
        if let Some(b) = self.pooled.take() {
            self.buf.clear();
            self.buf.extend_from_slice(&b[self.pos..]);
            self.pos = 0;
        }
        if self.op.is_none() && self.multi.is_some() {
            if let Multi::Got(b) = ready!(self.poll_multi(fd, cx, 1, Multishot::Yes))? {
                self.buf.extend_from_slice(&b);
                return Poll::Ready(Ok(!b.is_empty()));
            }
        }
        let op = self
            .op
            .get_or_insert_with(|| ops::recv_stream(fd, Vec::with_capacity(READ_SIZE), true));
        let (res, more) = ready!(Pin::new(op).poll(cx));
        self.op = None;
        let n = match res {
            // As in `poll_fill`: no bytes taken; the caller polls again.
            Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            res => res?,
        };
        self.buf.extend_from_slice(&more[..n]);
        Poll::Ready(Ok(n > 0))
    }

    /// An owned-buffer read of the stream must not overtake the adapter:
    /// fails if the adapter holds received bytes or a receive (hyper's
    /// multishot stays armed), which would take bytes before it.
    pub(crate) fn check_owned_read(&self) -> io::Result<()> {
        if self.buffered().is_empty() && self.op.is_none() && self.multi.is_none() {
            return Ok(());
        }
        Err(io::Error::other(
            "this stream's read adapter holds received bytes or a receive in flight (hyper's \
             reads keep one armed): read the rest through the adapter (AsyncRead, compat()) \
             instead of with owned buffers",
        ))
    }

    /// The bytes received and not taken yet.
    pub(crate) fn buffered(&self) -> &[u8] {
        match &self.pooled {
            Some(b) => &b[self.pos.min(b.len())..],
            None => &self.buf[self.pos.min(self.buf.len())..],
        }
    }

    /// Marks `n` of the bytes [`poll_fill`](Self::poll_fill) returned as
    /// taken; a pool buffer emptied goes back to the pool at once.
    pub(crate) fn consume(&mut self, n: usize) {
        let len = self.pooled.as_deref().map_or(self.buf.len(), <[u8]>::len);
        self.pos = (self.pos + n).min(len);
        if self.pos == len && self.pooled.as_ref().is_some_and(|b| !b.is_empty()) {
            self.pooled = None;
            self.pos = 0;
        }
    }
}

/// The write side of an adapter.
#[derive(Default)]
pub(crate) struct WriteState {
    /// The send in flight and how much of its buffer went already.
    op: Option<(Op<Send<Vec<u8>>>, usize)>,
    /// Accepted from the caller, not handed to the kernel yet.
    pending: Vec<u8>,
    spare: Vec<u8>,
    /// The last `poll_flush` (or `poll_close`) returned `Pending`: the
    /// caller awaits a flush (see "End of stream after a flush").
    flush_awaited: bool,
    /// The read side held an end of stream back for that flush already.
    eof_held: bool,
    /// A send failed: its error, returned by every later write and flush.
    failed: Option<SendError>,
    /// The stream's fd, from the first send on: a drop with bytes unsent
    /// hands them to a task that needs it (see "Dropped with bytes
    /// unsent").
    fd: Option<SharedFd>,
    /// This is that task's state: its drop cancels, never hands on again.
    detached: bool,
}

/// A send's error, kept to be returned again (`io::Error` is not `Clone`).
#[derive(Debug, Clone, Copy)]
struct SendError {
    kind: io::ErrorKind,
    os: Option<i32>,
}

impl SendError {
    fn of(e: &io::Error) -> SendError {
        SendError {
            kind: e.kind(),
            os: e.raw_os_error(),
        }
    }

    fn to_error(self) -> io::Error {
        match self.os {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.kind, "an earlier write on this stream failed"),
        }
    }
}

impl fmt::Debug for WriteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteState")
            .field("pending", &self.pending.len())
            .field("in_flight", &self.op.is_some())
            .finish()
    }
}

impl WriteState {
    /// Drives the in-flight send; Ready once nothing is in flight.
    fn poll_in_flight(&mut self, fd: &SharedFd, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.failed {
            return Poll::Ready(Err(e.to_error()));
        }
        while let Some((op, done)) = self.op.as_mut() {
            let done = *done;
            let (res, buf) = ready!(Pin::new(op).poll(cx));
            self.op = None;
            match res {
                Ok(0) if done < buf.len() => {
                    return Poll::Ready(Err(self.fail(io::ErrorKind::WriteZero.into())));
                }
                Ok(n) if done + n < buf.len() => {
                    self.op = Some((ops::send_all(fd, buf, done + n), done + n));
                }
                Ok(_) => {
                    self.spare = buf;
                    self.spare.clear();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.op = Some((ops::send_all(fd, buf, done), done));
                }
                Err(e) => return Poll::Ready(Err(self.fail(e))),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// For an owned-buffer write or a shutdown of the write direction: an
    /// error if bytes the adapter accepted have not all gone to the kernel
    /// (the owned write would go before them, or the shutdown cut them
    /// off). hyper's flush does not wait for its send (see "Flushes for
    /// hyper"), so a stream hyper hands back (an upgrade, `into_parts`)
    /// needs the adapter's own `flush()` first, as any adapter write does.
    pub(crate) fn check_owned_write(&self) -> io::Result<()> {
        let sent =
            self.pending.is_empty() && self.op.as_ref().is_none_or(|(op, _)| op.is_complete());
        if sent {
            return Ok(());
        }
        Err(io::Error::other(
            "bytes written through this stream's AsyncWrite adapter (or by hyper) are not \
             flushed yet: flush() the adapter before writing with owned buffers or shutting \
             down",
        ))
    }

    /// Records `e` for every later call and drops the bytes it stranded
    /// (they can no longer go in order).
    fn fail(&mut self, e: io::Error) -> io::Error {
        self.failed = Some(SendError::of(&e));
        self.pending = Vec::new();
        e
    }

    /// Whether bytes accepted from the caller have not reached the kernel
    /// yet (a send in flight or bytes waiting behind it), and can still.
    fn has_unsent(&self) -> bool {
        self.failed.is_none() && (self.op.is_some() || !self.pending.is_empty())
    }

    /// Hands the unsent bytes to a task on the current runtime that sends
    /// them, then shuts the write side down if `shutdown_after` (see
    /// "Dropped with bytes unsent"). Returns whether it did: `false` when
    /// nothing is unsent, or outside a runtime (the bytes are dropped).
    pub(crate) fn hand_off(&mut self, shutdown_after: bool) -> bool {
        if self.detached || !self.has_unsent() {
            return false;
        }
        let Some(fd) = self.fd.take() else {
            return false;
        };
        let Ok(rt) = aio_runtime::runtime::Handle::try_current() else {
            return false;
        };
        let mut rest = WriteState {
            op: self.op.take(),
            pending: std::mem::take(&mut self.pending),
            spare: Vec::new(),
            flush_awaited: false,
            eof_held: false,
            failed: None,
            fd: None,
            detached: true,
        };
        let task = rt.spawn(async move {
            let send = poll_fn(|cx| rest.poll_flush_inner(&fd, cx));
            let how = match aio_runtime::time::wait_for(send, crate::stream::LINGER).await {
                Ok(Ok(())) if shutdown_after => libc::SHUT_WR,
                Ok(_) => return,
                // The peer took nothing for that long: abort, which fails
                // the stuck send (then `rest` drops and the fd closes).
                Err(_) => libc::SHUT_RDWR,
            };
            // SAFETY: plain syscall on an fd `fd` holds open.
            unsafe { libc::shutdown(fd.as_raw_fd(), how) };
        });
        // Named for task dumps; detached.
        task.set_name("aio::net: sending a dropped stream's last bytes");
        true
    }

    /// For `close()`: sends what is unsent and waits for it. An error a
    /// write or flush returned already is not returned again.
    pub(crate) async fn flush_for_close(&mut self, fd: &SharedFd) -> io::Result<()> {
        let res = match self.failed {
            Some(_) => Ok(()),
            None => poll_fn(|cx| self.poll_flush_inner(fd, cx)).await,
        };
        self.fd = None;
        res
    }

    /// Hands the pending bytes to the kernel if no send is in flight.
    fn start(&mut self, fd: &SharedFd, cx: &mut Context<'_>) -> io::Result<()> {
        if self.op.is_none() && !self.pending.is_empty() {
            if self.fd.is_none() && !self.detached {
                self.fd = Some(fd.clone());
            }
            let mut buf = std::mem::take(&mut self.spare);
            std::mem::swap(&mut buf, &mut self.pending);
            let mut op = ops::send_all(fd, buf, 0);
            // On a ring, submit it now with no waker: the next write or
            // flush polls it (a waker registered here would only be
            // withdrawn by hyper's handed flush). Elsewhere (epoll) the
            // first poll tries the send: poll it now, registering for it.
            let submitted = op.submit();
            self.op = Some((op, 0));
            if !submitted {
                if let Poll::Ready(r) = self.poll_in_flight(fd, cx) {
                    r?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn poll_write(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(r) = self.poll_in_flight(fd, cx) {
            r?;
        }
        if self.pending.len() >= WRITE_HIGH {
            ready!(self.poll_flush(fd, cx))?;
        }
        let n = data
            .len()
            .min(WRITE_HIGH.saturating_sub(self.pending.len()).max(1));
        self.pending.extend_from_slice(&data[..n]);
        self.start(fd, cx)?;
        Poll::Ready(Ok(n))
    }

    /// Like [`poll_write`](Self::poll_write) for the buffers in order:
    /// accepts a prefix of their concatenation, copied in one go.
    pub(crate) fn poll_write_vectored(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let Some(first) = bufs.iter().position(|b| !b.is_empty()) else {
            return Poll::Ready(Ok(0));
        };
        if let Poll::Ready(r) = self.poll_in_flight(fd, cx) {
            r?;
        }
        if self.pending.len() >= WRITE_HIGH {
            ready!(self.poll_flush(fd, cx))?;
        }
        let mut room = WRITE_HIGH.saturating_sub(self.pending.len()).max(1);
        let mut n = 0;
        for b in &bufs[first..] {
            if room == 0 {
                break;
            }
            let take = b.len().min(room);
            self.pending.extend_from_slice(&b[..take]);
            room -= take;
            n += take;
        }
        self.start(fd, cx)?;
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_flush(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let res = self.poll_flush_inner(fd, cx);
        self.flush_awaited = res.is_pending();
        res
    }

    /// hyper's flush: like [`poll_flush`](Self::poll_flush), but `Ready`
    /// once every accepted byte is in a send on a ring, without waiting
    /// for its completion (see "Flushes for hyper").
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_flush_handed(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            // Every byte in a send the kernel carries to its end, not
            // complete yet: handed, with no poll of it (`start` registered
            // no waker on a ring; `forget_waker` withdraws any other).
            let in_flight = self.failed.is_none()
                && self.pending.is_empty()
                && self
                    .op
                    .as_mut()
                    .is_some_and(|(op, _)| !op.is_complete() && op.forget_waker());
            if in_flight {
                self.flush_awaited = false;
                return Poll::Ready(Ok(()));
            }
            if let Poll::Ready(r) = self.poll_in_flight(fd, cx) {
                r?;
                if self.pending.is_empty() {
                    self.flush_awaited = false;
                    return Poll::Ready(Ok(()));
                }
                self.start(fd, cx)?;
                continue;
            }
            let handed = self.pending.is_empty()
                && self.op.as_mut().is_some_and(|(op, _)| op.forget_waker());
            self.flush_awaited = !handed;
            return if handed {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            };
        }
    }

    fn poll_flush_inner(&mut self, fd: &SharedFd, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_in_flight(fd, cx))?;
            if self.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            self.start(fd, cx)?;
        }
    }

    pub(crate) fn poll_close(
        &mut self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(fd, cx))?;
        // SAFETY: plain syscall on an fd we hold open; never blocks.
        if unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) } < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOTCONN) {
                return Poll::Ready(Err(e));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for WriteState {
    fn drop(&mut self) {
        self.hand_off(false);
    }
}

/// A read through the adapter of a stream whose write side is `wr` (`None`
/// for a read half), into room for `room` bytes: `put` gets the bytes (at
/// most `room`) and copies them out; returns how many. An end of stream is
/// held back once while a flush is awaited (see "End of stream after a
/// flush").
pub(crate) fn poll_read_with(
    fd: &SharedFd,
    (rd, multishot): (&mut ReadState, Multishot),
    wr: Option<&mut WriteState>,
    cx: &mut Context<'_>,
    room: usize,
    put: impl FnOnce(&[u8]),
) -> Poll<io::Result<usize>> {
    let data = ready!(rd.poll_fill(fd, cx, room, multishot))?;
    let n = data.len().min(room);
    if n > 0 {
        put(&data[..n]);
        rd.consume(n);
        return Poll::Ready(Ok(n));
    }
    if let Some(wr) = wr {
        if room > 0 && wr.flush_awaited && !wr.eof_held {
            // The next read asks the kernel again and gets the end again.
            wr.eof_held = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
    }
    Poll::Ready(Ok(0))
}

/// [`poll_read_with`] into a slice.
pub(crate) fn poll_read(
    fd: &SharedFd,
    rd: &mut ReadState,
    wr: Option<&mut WriteState>,
    cx: &mut Context<'_>,
    out: &mut [u8],
) -> Poll<io::Result<usize>> {
    let room = out.len();
    poll_read_with(fd, (rd, Multishot::No), wr, cx, room, |data| {
        out[..data.len()].copy_from_slice(data)
    })
}

/// Implements the adapter traits for a type with `read_parts()` (the fd,
/// the read state and the write state if the type also writes) and/or
/// `write_parts()` accessors.
macro_rules! impl_async_read {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                let (fd, rd, wr) = this.read_parts();
                $crate::compat::poll_read(fd, rd, wr, cx, buf)
            }
        }

        #[cfg(feature = "tokio-compat")]
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                let (fd, rd, wr) = this.read_parts();
                let out = buf.initialize_unfilled();
                let n = std::task::ready!($crate::compat::poll_read(fd, rd, wr, cx, out))?;
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

macro_rules! impl_async_write {
    ($t:ty) => {
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_write(fd, cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_write_vectored(fd, cx, bufs)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_flush(fd, cx)
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_close(fd, cx)
            }
        }

        #[cfg(feature = "tokio-compat")]
        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_write(fd, cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_write_vectored(fd, cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_flush(fd, cx)
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                let (fd, st) = this.write_parts();
                st.poll_close(fd, cx)
            }
        }
    };
}

pub(crate) use {impl_async_read, impl_async_write};
