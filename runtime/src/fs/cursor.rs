//! I/O at a file's position: `File::{read, read_to_end, write,
//! write_all, seek, flush}` (owned buffers, `&mut self`), and the poll
//! methods behind the futures-io / tokio traits (`compat.rs`).
//!
//! Both use the kernel's file position (`CURRENT_POS`, `lseek`). The
//! traits buffer (`io::adapter`): before an owned-buffer method or a seek
//! runs, what they buffered is settled — pending writes flushed, the read
//! in flight landed and the read-ahead given back with a seek — so both
//! styles can be mixed on one file.
//!
//! # Dropped at the position
//!
//! A read or write at the position moves it when the kernel runs it, and
//! the kernel may run it after its future was dropped: the ring got the
//! SQE (its cancel comes too late for an op already running), or the
//! blocking pool started the syscall. Left alone, such an op would move
//! the position after the caller's next seek (the next read starting at
//! the wrong place, a write landing after the seek). So a dropped op at
//! the position is cancelled and kept in the file (`AtPos`, `orphan`),
//! and everything that uses the position next (a read, a write, a seek,
//! the traits, `sync_*`, `set_len`) first waits until the kernel is done
//! with it: then it either never ran or ran entirely before.
//!
//! Called by users and `compat.rs`; calls the read and write ops,
//! `read_to_end.rs` and `io::adapter`.

use super::{read_to_end, File};
use crate::io::adapter;
use crate::io::ops::{self, Op, OpAble};
use crate::io::{BufResult, IoBuf, IoBufMut, SharedFd};
use crate::loom::sync::{Arc, Mutex};
use std::future::{poll_fn, Future};
use std::io::{self, SeekFrom};
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Wake, Waker};

/// A read or write at the position whose future was dropped before the
/// kernel was done with it, cancelled and kept until it is (see "Dropped
/// at the position"), and the tasks waiting for it: `sync_*` and
/// `set_len` take `&self`, so several tasks may wait at once, while the op
/// keeps one waker; it gets a fan-out waker that wakes them all.
#[derive(Default)]
pub(super) struct Orphan {
    op: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    waiting: Arc<FanOut>,
    /// Whether the fd has a position to protect, found (`fstat`) the
    /// first time an op at the position is dropped in flight.
    seekable: Option<bool>,
}

impl Orphan {
    pub(super) fn is_none(&self) -> bool {
        self.op.is_none()
    }

    /// Whether `fd` has a position (a regular file or a block device; not
    /// a pipe, FIFO, socket or character device): only then is a dropped
    /// op kept. Unknown (`fstat` failed): kept, as for a file.
    fn seekable(&mut self, fd: RawFd) -> bool {
        *self.seekable.get_or_insert_with(|| {
            // SAFETY: all-zero is a valid `stat`; fstat fills it.
            let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
            // SAFETY: a valid out pointer, an fd the op holds open.
            if unsafe { libc::fstat64(fd, &mut st) } < 0 {
                return true;
            }
            let kind = st.st_mode & libc::S_IFMT;
            kind == libc::S_IFREG || kind == libc::S_IFBLK
        })
    }
}

/// Wakes every task that waits for an orphaned op.
#[derive(Default)]
struct FanOut(Mutex<Vec<Waker>>);

impl Wake for FanOut {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let waiting = std::mem::take(&mut *self.0.lock());
        for w in waiting {
            w.wake();
        }
    }
}

/// An op at the file position: if the future is dropped before the op
/// completes, the op is cancelled and, if it may still run, kept in
/// `orphan` (see "Dropped at the position") — if `keep` (false for an fd
/// nobody uses after the op) and the file is seekable: on a pipe, FIFO or
/// device there is no position to protect, and a read that may wait
/// forever (on epoll, a blocking-pool `read(2)` no cancel interrupts)
/// must not hold up what comes next. The slot is behind a (never
/// contended) mutex so that the futures holding it stay `Sync`.
pub(super) struct AtPos<'a, T: OpAble> {
    orphan: &'a mut Mutex<Orphan>,
    keep: bool,
    fd: RawFd,
    op: Option<Op<T>>,
}

impl<'a, T: OpAble> AtPos<'a, T> {
    /// `orphan` must be empty (settled): one op at the position at a time.
    /// `fd`: the op's.
    pub(super) fn new(
        orphan: &'a mut Mutex<Orphan>,
        keep: bool,
        fd: &SharedFd,
        op: Op<T>,
    ) -> AtPos<'a, T> {
        debug_assert!(
            orphan.get_mut().is_none(),
            "an op at the position while one is unsettled"
        );
        AtPos {
            orphan,
            keep,
            fd: fd.raw(),
            op: Some(op),
        }
    }
}

impl<T: OpAble> Future for AtPos<'_, T> {
    type Output = T::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        let op = this.op.as_mut().expect("AtPos polled after it completed");
        let out = ready!(Pin::new(op).poll(cx));
        this.op = None;
        Poll::Ready(out)
    }
}

impl<T: OpAble> Drop for AtPos<'_, T> {
    fn drop(&mut self) {
        if let Some(mut op) = self.op.take() {
            let orphan = self.orphan.get_mut();
            if self.keep && orphan.seekable(self.fd) && op.cancel() {
                orphan.op = Some(Box::pin(async move {
                    let _ = op.await;
                }));
            }
        }
    }
}

/// Waits until the kernel is done with an orphaned op, if there is one.
pub(super) fn poll_orphan(orphan: &mut Orphan, cx: &mut Context<'_>) -> Poll<()> {
    let Some(op) = orphan.op.as_mut() else {
        return Poll::Ready(());
    };
    {
        let mut waiting = orphan.waiting.0.lock();
        if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
            waiting.push(cx.waker().clone());
        }
    }
    let fan = Waker::from(orphan.waiting.clone());
    if op
        .as_mut()
        .poll(&mut Context::from_waker(&fan))
        .is_pending()
    {
        return Poll::Pending;
    }
    orphan.op = None;
    // The others waiting see it settled.
    orphan.waiting.wake_by_ref();
    Poll::Ready(())
}

impl File {
    /// Reads at the file position into `buf` (from its start), moving the
    /// position; `Ok(0)` at the end of the file.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the read; the position may have moved
    /// past bytes that are lost with the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut f = aio::fs::File::open("/proc/self/stat").await?;
    /// let (n, buf) = f.read(Vec::with_capacity(4096)).await;
    /// assert!(n? > 0 && buf[0].is_ascii_digit());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn read<B: IoBufMut>(&mut self, buf: B) -> BufResult<usize, B> {
        if let Err(e) = self.settle().await {
            return (Err(e), buf);
        }
        let op = ops::read_at(&self.fd, buf, ops::CURRENT_POS);
        let (res, buf) = AtPos::new(&mut self.orphan, true, &self.fd, op).await;
        (res.map_err(self.err("read")), buf)
    }

    /// Reads from the file position to the end, appending to `buf`;
    /// returns how many bytes were appended and the buffer.
    ///
    /// # Cancel safety
    /// Dropping the future loses the bytes read so far (with the buffer)
    /// and leaves the position after them.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-rte-{}", std::process::id()));
    /// aio::fs::write(&path, b"abc".to_vec()).await?;
    /// let mut f = aio::fs::File::open(&path).await?;
    /// let (n, buf) = f.read_to_end(b">".to_vec()).await;
    /// assert_eq!(n?, 3);
    /// assert_eq!(buf, b">abc");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn read_to_end(&mut self, buf: Vec<u8>) -> BufResult<usize, Vec<u8>> {
        if let Err(e) = self.settle().await {
            return (Err(e), buf);
        }
        let (res, buf) = read_to_end::read_to_end(&self.fd, buf, &mut self.orphan, true).await;
        (res.map_err(self.err("read")), buf)
    }

    /// Writes `buf[..bytes_init()]` at the file position (at the end, if
    /// opened to append), moving it; returns how many bytes went.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write; some bytes may have been
    /// written.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-write-{}", std::process::id()));
    /// let mut f = aio::fs::File::create(&path).await?;
    /// let (n, _) = f.write(b"ab".to_vec()).await;
    /// assert_eq!(n?, 2);
    /// f.write(b"c".to_vec()).await.0?;
    /// assert_eq!(aio::fs::read(&path).await?, b"abc");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn write<B: IoBuf>(&mut self, buf: B) -> BufResult<usize, B> {
        if let Err(e) = self.settle().await {
            return (Err(e), buf);
        }
        let op = ops::write_at(&self.fd, buf, 0, ops::CURRENT_POS);
        let (res, buf) = AtPos::new(&mut self.orphan, true, &self.fd, op).await;
        (res.map_err(self.err("write")), buf)
    }

    /// Writes all of `buf[..bytes_init()]` at the file position.
    ///
    /// # Errors
    /// `WriteZero` if the file takes no more bytes, or the OS error.
    ///
    /// # Cancel safety
    /// As [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-write-all-{}", std::process::id()));
    /// let mut f = aio::fs::File::create(&path).await?;
    /// f.write_all(b"one ".to_vec()).await.0?;
    /// f.write_all(b"two".to_vec()).await.0?;
    /// assert_eq!(aio::fs::read_to_string(&path).await?, "one two");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn write_all<B: IoBuf>(&mut self, buf: B) -> BufResult<(), B> {
        if let Err(e) = self.settle().await {
            return (Err(e), buf);
        }
        let mut buf = buf;
        let mut done = 0;
        while done < buf.bytes_init() {
            let op = ops::write_at(&self.fd, buf, done, ops::CURRENT_POS);
            let (res, b) = AtPos::new(&mut self.orphan, true, &self.fd, op).await;
            buf = b;
            match res {
                Ok(0) => return (Err(self.err("write")(io::ErrorKind::WriteZero.into())), buf),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(self.err("write")(e)), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Moves the file position; returns the new position from the start.
    ///
    /// # Errors
    /// `InvalidInput` for a position before the start.
    ///
    /// # Cancel safety
    /// Dropping the future before it returns may leave the bytes written
    /// through the traits flushed but the position unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::SeekFrom;
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-seek-{}", std::process::id()));
    /// aio::fs::write(&path, b"0123456789".to_vec()).await?;
    /// let mut f = aio::fs::File::open(&path).await?;
    /// assert_eq!(f.seek(SeekFrom::End(-3)).await?, 7);
    /// let (n, buf) = f.read(vec![0; 8]).await;
    /// assert_eq!(&buf[..n?], b"789");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        poll_fn(|cx| self.poll_seek_adapter(cx, pos)).await
    }

    /// Flushes what was written through the `AsyncWrite` traits (the
    /// owned-buffer methods do not buffer).
    ///
    /// # Errors
    /// The error of a buffered write.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-flush-{}", std::process::id()));
    /// let mut f = aio::fs::File::create(&path).await?;
    /// AsyncWriteExt::write_all(&mut f, b"buffered").await?;
    /// f.flush().await?;
    /// assert_eq!(aio::fs::read(&path).await?, b"buffered");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_adapter(cx)).await
    }

    /// Settles what the traits buffered (module docs).
    async fn settle(&mut self) -> io::Result<()> {
        if self.wr.is_idle() && self.rd.is_idle() && self.orphan.get_mut().is_none() {
            return Ok(());
        }
        poll_fn(|cx| self.poll_settle(cx)).await
    }

    /// Waits for an orphaned op, flushes buffered writes, lands the read
    /// in flight, and gives the read-ahead back to the file position.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(poll_orphan(self.orphan.get_mut(), cx));
        ready!(self.wr.poll_flush(&self.fd, adapter::Fd::File, cx)).map_err(self.err("write"))?;
        ready!(self.rd.poll_in_flight(cx)).map_err(self.err("read"))?;
        let ahead = self.rd.discard();
        if ahead > 0 {
            lseek(&self.fd, -(ahead as i64), libc::SEEK_CUR).map_err(self.err("seek"))?;
        }
        Poll::Ready(Ok(()))
    }

    pub(super) fn poll_read_adapter(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ready!(poll_orphan(self.orphan.get_mut(), cx));
        if !self.wr.is_idle() {
            ready!(self.wr.poll_flush(&self.fd, adapter::Fd::File, cx))
                .map_err(self.err("write"))?;
        }
        self.rd
            .poll_read(&self.fd, adapter::Fd::File, cx, out)
            .map_err(self.err("read"))
    }

    pub(super) fn poll_write_adapter(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(poll_orphan(self.orphan.get_mut(), cx));
        ready!(self.poll_settle_reads(cx))?;
        self.wr
            .poll_write(&self.fd, adapter::Fd::File, cx, data)
            .map_err(self.err("write"))
    }

    /// Before writing at the position: the read-ahead goes back.
    fn poll_settle_reads(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.rd.poll_in_flight(cx)).map_err(self.err("read"))?;
        let ahead = self.rd.discard();
        if ahead > 0 {
            lseek(&self.fd, -(ahead as i64), libc::SEEK_CUR).map_err(self.err("seek"))?;
        }
        Poll::Ready(Ok(()))
    }

    pub(super) fn poll_flush_adapter(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.wr
            .poll_flush(&self.fd, adapter::Fd::File, cx)
            .map_err(self.err("write"))
    }

    pub(super) fn poll_close_adapter(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_adapter(cx)
    }

    pub(super) fn poll_seek_adapter(
        &mut self,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        ready!(self.poll_settle(cx))?;
        let (off, whence) = match pos {
            SeekFrom::Start(n) => match i64::try_from(n) {
                Ok(n) => (n, libc::SEEK_SET),
                Err(_) => {
                    return Poll::Ready(Err(self.err("seek")(io::ErrorKind::InvalidInput.into())))
                }
            },
            SeekFrom::End(n) => (n, libc::SEEK_END),
            SeekFrom::Current(n) => (n, libc::SEEK_CUR),
        };
        Poll::Ready(lseek(&self.fd, off, whence).map_err(self.err("seek")))
    }
}

/// `lseek(2)`: a position change, never blocking on the file's data.
fn lseek(fd: &SharedFd, off: i64, whence: i32) -> io::Result<u64> {
    // SAFETY: plain syscall on an fd we hold open.
    let r = unsafe { libc::lseek64(fd.raw(), off, whence) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as u64)
}
