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
//! Called by users and `compat.rs`; calls the read and write ops,
//! `read_to_end.rs` and `io::adapter`.

use super::{read_to_end, File};
use crate::io::adapter;
use crate::io::ops;
use crate::io::{BufResult, IoBuf, IoBufMut, SharedFd};
use std::future::poll_fn;
use std::io::{self, SeekFrom};
use std::task::{ready, Context, Poll};

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
        let (res, buf) = ops::read_at(&self.fd, buf, ops::CURRENT_POS).await;
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
        let (res, buf) = read_to_end::read_to_end(&self.fd, buf).await;
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
        let (res, buf) = ops::write_at(&self.fd, buf, 0, ops::CURRENT_POS).await;
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
            let (res, b) = ops::write_at(&self.fd, buf, done, ops::CURRENT_POS).await;
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
        if self.wr.is_idle() && self.rd.is_idle() {
            return Ok(());
        }
        poll_fn(|cx| self.poll_settle(cx)).await
    }

    /// Flushes buffered writes, lands the read in flight, and gives the
    /// read-ahead back to the file position.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
