//! `StreamWriter`: asyncio's buffered, flow-controlled writer.
//!
//! `write` is synchronous: it appends to a buffer and, when no send is in
//! flight, hands the buffer to the kernel at once. Completions are pumped
//! by the ring itself: the in-flight send's waker is the writer's own
//! (`Wake` for `Shared`), which the ring's owner calls after a completion
//! to submit what was written meanwhile, so buffered bytes go out even if
//! nobody awaits `drain` (asyncio's transport does the same). `drain` waits
//! while more than the high-water mark is buffered, until it falls to the
//! low-water mark.
//!
//! The bytes go to a socket or to a child's stdin pipe (`sink.rs`).
//!
//! Called by users and `server.rs`; calls the send and write ops through
//! `sink.rs`.

use super::sink::{InFlight, Sink};
use crate::loom::sync::{Arc, Mutex};
use aio_runtime::io::SharedFd;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// A write to a pipe, as a child's stdin adapter hands it over.
type PipeWrite = aio_runtime::io::ops::Op<aio_runtime::io::ops::Write<Vec<u8>>>;

/// Default high-water mark (asyncio's: 64 KiB).
const HIGH_WATER: usize = 64 * 1024;
/// How long a dropped writer keeps trying to send what is still buffered
/// before it aborts the connection (see [`StreamWriter::set_linger`]); the
/// socket adapters' dropped streams use it too (`compat.rs`).
pub(crate) const LINGER: Duration = Duration::from_secs(30);

struct Shared {
    state: Mutex<State>,
}

struct State {
    /// The socket or pipe written to.
    sink: Sink,
    /// Written, not yet handed to the kernel.
    pending: Vec<u8>,
    /// The send in flight, and how many of its bytes went already.
    inflight: Option<(InFlight, usize)>,
    /// Bytes of the in-flight buffer not yet sent.
    inflight_left: usize,
    spare: Vec<u8>,
    /// The first write error (as kind + message; io::Error is not Clone).
    error: Option<(io::ErrorKind, String)>,
    /// `drain` callers wait while this is set (set above the high mark,
    /// cleared at the low mark).
    paused: bool,
    high: usize,
    low: usize,
    /// What to do once everything is flushed.
    closing: bool,
    eof: bool,
    /// The write side was shut down (after the flush).
    shut: bool,
    /// Both sides were shut down (`close`).
    shut_both: bool,
    /// How long a dropped writer may take to flush; `None`: no limit.
    linger: Option<Duration>,
    waiters: Vec<Waker>,
}

impl State {
    fn buffered(&self) -> usize {
        self.pending.len() + self.inflight_left
    }

    fn error(&self) -> Option<io::Error> {
        self.error
            .as_ref()
            .map(|(k, m)| io::Error::new(*k, m.clone()))
    }

    fn wake_waiters(&mut self) {
        for w in self.waiters.drain(..) {
            w.wake();
        }
    }
}

/// The write side of a stream connection (asyncio's `StreamWriter`).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let server = aio::net::start_server(|mut r, w| async move {
///     // Echo every line, then close.
///     while let Ok(line) = r.readline().await {
///         if line.is_empty() { break }
///         w.write(&line);
///         if w.drain().await.is_err() { break }
///     }
///     w.close();
/// }, "127.0.0.1", 0).await?;
/// let (mut r, w) = aio::net::open_connection("127.0.0.1", server.local_addrs()[0].port()).await?;
/// w.write(b"hello ");
/// w.write(b"world\n");
/// w.drain().await?;
/// assert_eq!(r.readline().await?, b"hello world\n");
/// w.write_eof()?; // the server reads end of stream, closes
/// assert!(r.read(10).await?.is_empty());
/// w.close();
/// w.wait_closed().await?;
/// # server.close();
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct StreamWriter {
    shared: Arc<Shared>,
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("StreamWriter")
            .field("sink", &st.sink)
            .field("buffered", &st.buffered())
            .field("closing", &st.closing)
            .finish()
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // A send completed (we run on its ring's thread, outside the
        // driver): submit what was written since.
        let mut st = self.state.lock();
        pump(self, &mut st);
    }
}

/// Moves the writer forward: reaps the in-flight send, submits the next,
/// shuts down when asked and flushed, wakes waiters.
fn pump(shared: &Arc<Shared>, st: &mut State) {
    loop {
        if let Some((op, done)) = st.inflight.as_mut() {
            let waker = Waker::from(shared.clone());
            let mut cx = Context::from_waker(&waker);
            let (res, buf) = match op.poll(&mut cx) {
                Poll::Pending => {
                    // The buffer may be at the low mark with a send still
                    // going: drain returns then, as asyncio resumes
                    // writing, not once everything went.
                    resume_at_low_mark(st);
                    return;
                }
                Poll::Ready(r) => r,
            };
            let done = *done;
            st.inflight = None;
            match res {
                Ok(n) if n > 0 && done + n < buf.len() => {
                    st.inflight_left = buf.len() - done - n;
                    st.inflight = st.sink.write(buf, done + n).map(|op| (op, done + n));
                    continue;
                }
                Ok(0) if !buf.is_empty() => {
                    st.error = Some((io::ErrorKind::WriteZero, "the peer took no bytes".into()));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    st.inflight = st.sink.write(buf, done).map(|op| (op, done));
                    continue;
                }
                Err(e) => st.error = Some((e.kind(), e.to_string())),
            }
            st.inflight_left = 0;
            st.spare = buf;
            st.spare.clear();
        }
        if st.error.is_some() {
            st.pending.clear();
            st.paused = false;
            st.wake_waiters();
            return;
        }
        if !st.pending.is_empty() {
            let mut buf = std::mem::take(&mut st.spare);
            std::mem::swap(&mut buf, &mut st.pending);
            st.inflight_left = buf.len();
            st.inflight = st.sink.write(buf, 0).map(|op| (op, 0));
            if st.inflight.is_none() {
                // A closed pipe (writes after the end are dropped).
                st.inflight_left = 0;
            }
            continue;
        }
        break;
    }
    // Idle: everything written went to the kernel.
    if (st.closing && !st.shut_both) || (st.eof && !st.shut) {
        let how = if st.closing {
            libc::SHUT_RDWR
        } else {
            libc::SHUT_WR
        };
        st.sink.shutdown(how);
        st.shut = true;
        st.shut_both |= st.closing;
    }
    resume_at_low_mark(st);
    st.wake_waiters();
}

/// Ends a `drain` pause once the buffer fell to the low-water mark.
fn resume_at_low_mark(st: &mut State) {
    if st.paused && st.buffered() <= st.low {
        st.paused = false;
        st.wake_waiters();
    }
}

impl Drop for StreamWriter {
    /// Shuts down the write direction once the buffered bytes are sent (the
    /// peer reads end of stream), as dropping tokio's write half does. The
    /// reader of the same connection keeps working; the socket closes when
    /// it is gone too. If bytes are still buffered, a small task watches
    /// the flush and aborts the connection when it has not finished within
    /// the linger time (see [`set_linger`](Self::set_linger)).
    fn drop(&mut self) {
        let mut st = self.shared.state.lock();
        if !st.closing && !st.eof {
            st.eof = true;
            pump(&self.shared, &mut st);
        }
        let stuck = st.buffered() > 0 && st.error.is_none();
        if let (true, Some(linger)) = (stuck, st.linger) {
            drop(st);
            // Outside a runtime (nothing would run the task), the flush
            // goes on unwatched.
            if let Ok(h) = aio_runtime::runtime::Handle::try_current() {
                drop(h.spawn(abort_after(self.shared.clone(), linger)));
            }
        }
    }
}

/// The watch of a dropped writer's flush: returns when everything went to
/// the kernel (or a write failed); after `linger`, shuts the connection
/// down instead, which fails the stuck send and lets the socket close.
async fn abort_after(shared: Arc<Shared>, linger: Duration) {
    let flushed = poll_fn(|cx| {
        let mut st = shared.state.lock();
        if st.buffered() == 0 || st.error.is_some() {
            return Poll::Ready(());
        }
        st.waiters.push(cx.waker().clone());
        Poll::Pending
    });
    if aio_runtime::time::timeout(linger, flushed).await.is_ok() {
        return;
    }
    let mut st = shared.state.lock();
    if st.buffered() > 0 && st.error.is_none() {
        st.error = Some((
            io::ErrorKind::TimedOut,
            format!(
                "the peer took none of the last {} bytes within {linger:?}: connection aborted",
                st.buffered()
            ),
        ));
        st.pending.clear();
        // A pipe closes only once its stuck write is cancelled.
        if matches!(st.sink, Sink::Pipe(_)) {
            st.inflight = None;
        }
        st.sink.shutdown(libc::SHUT_RDWR);
        st.shut = true;
        st.shut_both = true;
        st.wake_waiters();
    }
}

impl StreamWriter {
    pub(crate) fn new(fd: SharedFd) -> StreamWriter {
        StreamWriter::with_sink(Sink::Socket(fd), None, Vec::new())
    }

    /// A writer to a child's stdin pipe, taking over what its futures-io
    /// adapter had in flight and buffered.
    pub(crate) fn for_pipe(
        fd: SharedFd,
        inflight: Option<(PipeWrite, usize, usize)>,
        pending: Vec<u8>,
    ) -> StreamWriter {
        let left = inflight.as_ref().map_or(0, |&(_, _, left)| left);
        let w = StreamWriter::with_sink(
            Sink::Pipe(Some(fd)),
            inflight.map(|(op, done, _)| (InFlight::Write(op), done)),
            pending,
        );
        {
            let mut st = w.shared.state.lock();
            // The in-flight write's bytes count as buffered (high-water
            // mark, `write_buffer_size`, a dropped writer's linger).
            st.inflight_left = left;
            pump(&w.shared, &mut st);
        }
        w
    }

    fn with_sink(
        sink: Sink,
        inflight: Option<(InFlight, usize)>,
        pending: Vec<u8>,
    ) -> StreamWriter {
        StreamWriter {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    sink,
                    pending,
                    inflight,
                    inflight_left: 0,
                    spare: Vec::new(),
                    error: None,
                    paused: false,
                    high: HIGH_WATER,
                    low: HIGH_WATER / 4,
                    closing: false,
                    eof: false,
                    shut: false,
                    shut_both: false,
                    linger: Some(LINGER),
                    waiters: Vec::new(),
                }),
            }),
        }
    }

    /// Buffers `data` and starts sending it; never blocks. Call
    /// [`drain`](Self::drain) to wait when the buffer is full. Writes after
    /// `close`/`write_eof` or after a write error are dropped (`drain`
    /// reports the error).
    pub fn write(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut st = self.shared.state.lock();
        if st.closing || st.eof || st.error.is_some() {
            return;
        }
        st.pending.extend_from_slice(data);
        if st.inflight.is_none() {
            pump(&self.shared, &mut st);
        }
        if st.buffered() > st.high {
            st.paused = true;
        }
    }

    /// Buffers every slice in order (asyncio's `writelines`).
    pub fn writelines<'a>(&self, lines: impl IntoIterator<Item = &'a [u8]>) {
        for l in lines {
            self.write(l);
        }
    }

    /// Waits until the buffer is below the high-water mark (at once if it
    /// is): the flow control of asyncio's `drain`.
    ///
    /// # Errors
    /// The connection's write error (`BrokenPipe`, `ConnectionReset`, …).
    ///
    /// # Cancel safety
    /// Cancel-safe: nothing is lost; the data keeps flowing.
    pub async fn drain(&self) -> io::Result<()> {
        poll_fn(|cx| {
            let mut st = self.shared.state.lock();
            if let Some(e) = st.error() {
                return Poll::Ready(Err(e));
            }
            if !st.paused {
                return Poll::Ready(Ok(()));
            }
            pump(&self.shared, &mut st);
            if !st.paused || st.error.is_some() {
                return Poll::Ready(st.error().map_or(Ok(()), Err));
            }
            st.waiters.push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Sets the flow-control marks (asyncio's `set_write_buffer_limits`):
    /// `drain` blocks above `high` until the buffer falls to `low`.
    ///
    /// # Panics
    /// If `low > high`.
    pub fn set_write_buffer_limits(&self, high: usize, low: usize) {
        assert!(low <= high, "low-water mark above the high-water mark");
        let mut st = self.shared.state.lock();
        st.high = high;
        st.low = low;
    }

    /// How long the bytes still buffered when this writer is dropped may
    /// take to go out: if the peer has not taken them by then (it stopped
    /// reading), the connection is shut down and its socket closes, so a
    /// peer cannot pin the connection by never reading. Default 30 s;
    /// `None` waits as long as the kernel keeps the connection up
    /// (asyncio's behaviour). Like the kernel's lingering of a closed
    /// socket's unsent data, but for the bytes not yet handed to it.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let server = aio::net::start_server(|_r, w| async move {
    ///     w.set_linger(Some(std::time::Duration::from_secs(5)));
    ///     w.write(b"bye\n");
    ///     // Returning drops the writer: the reply goes out, or the
    ///     // connection is aborted after 5 s if the client never reads.
    /// }, "127.0.0.1", 0).await?;
    /// let (mut r, _w) = aio::net::open_connection("127.0.0.1", server.local_addrs()[0].port()).await?;
    /// assert_eq!(r.readline().await?, b"bye\n");
    /// # server.close();
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) {
        self.shared.state.lock().linger = linger;
    }

    /// Bytes written but not yet accepted by the kernel.
    pub fn write_buffer_size(&self) -> usize {
        self.shared.state.lock().buffered()
    }

    /// Closes the connection once the buffered bytes are sent (both
    /// directions are shut down; the reader then sees end of stream).
    pub fn close(&self) {
        let mut st = self.shared.state.lock();
        st.closing = true;
        pump(&self.shared, &mut st);
    }

    /// Whether `close` was called (or the connection failed).
    pub fn is_closing(&self) -> bool {
        let st = self.shared.state.lock();
        st.closing || st.error.is_some()
    }

    /// Waits until the connection is closed: `close` was called and every
    /// buffered byte was sent (or a write failed).
    ///
    /// # Errors
    /// The write error that ended the connection, if any.
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub async fn wait_closed(&self) -> io::Result<()> {
        poll_fn(|cx| {
            let mut st = self.shared.state.lock();
            if let Some(e) = st.error() {
                return Poll::Ready(Err(e));
            }
            if st.shut_both {
                return Poll::Ready(Ok(()));
            }
            st.waiters.push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Shuts down the write direction once the buffered bytes are sent (the
    /// peer reads end of stream); reading goes on.
    ///
    /// # Errors
    /// The connection's write error, if one happened.
    pub fn write_eof(&self) -> io::Result<()> {
        let mut st = self.shared.state.lock();
        if let Some(e) = st.error() {
            return Err(e);
        }
        st.eof = true;
        pump(&self.shared, &mut st);
        Ok(())
    }

    /// Always true: sockets can shut down their write side, and a pipe
    /// ends when it is closed.
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// The socket, for its addresses.
    fn socket(&self) -> io::Result<SharedFd> {
        let st = self.shared.state.lock();
        st.sink.socket().cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "this stream writes to a pipe, not a socket",
            )
        })
    }

    /// The peer's address (IP connections).
    ///
    /// # Errors
    /// `NotConnected`, or `InvalidInput` for a non-IP socket or a pipe.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let fd = self.socket()?;
        let s = socket2::SockRef::from(&fd);
        crate::tcp::sock_ip(s.peer_addr())
    }

    /// This end's address (IP connections).
    ///
    /// # Errors
    /// `InvalidInput` for a non-IP socket or a pipe.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let fd = self.socket()?;
        let s = socket2::SockRef::from(&fd);
        crate::tcp::sock_ip(s.local_addr())
    }
}
