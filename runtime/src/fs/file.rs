//! `File`: an open file, read and written with owned buffers through the
//! ring (`IORING_OP_READ` / `WRITE` / `FSYNC` / `STATX` / `FTRUNCATE`),
//! or on the epoll driver through the blocking pool, one syscall per op.
//!
//! Positional I/O (`read_at`, `write_at`, like std's `FileExt`) takes
//! `&self`, so tasks can share a file; it is here, with opening, syncing,
//! metadata and closing. I/O at the file position (`read`, `write`,
//! `read_to_end`, `write_all`, `seek`, and the traits) is in `cursor.rs`.
//!
//! Called by users; calls the ops.

use super::cursor::Orphan;
use super::error::with_file_path;
use super::metadata::Metadata;
use crate::io::adapter::{ReadState, WriteState};
use crate::io::ops;
use crate::io::{BufResult, IoBuf, IoBufMut, SharedFd};
use crate::loom::sync::{Arc, Mutex};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

/// An open file (`tokio::fs::File`, with io_uring's owned buffers).
///
/// Positional reads and writes ([`read_at`](Self::read_at),
/// [`write_at`](Self::write_at)) take `&self`; reads and writes at the
/// file position take `&mut self`. It implements futures-io's
/// `AsyncRead`, `AsyncWrite` and `AsyncSeek` (and tokio's, with the
/// `tokio-compat` feature), which buffer: call `flush` (or `close`) before
/// dropping a file written through them, as with `tokio::fs::File`.
///
/// Errors name the file's path (when it was opened by path).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let path = std::env::temp_dir().join(format!("aio-doc-file-{}", std::process::id()));
/// let mut f = aio::fs::File::create(&path).await?;
/// f.write_all(b"hello world".to_vec()).await.0?;
/// f.sync_all().await?;
/// let f = aio::fs::File::open(&path).await?;
/// let (n, buf) = f.read_at(vec![0; 5], 6).await;
/// assert_eq!(&buf[..n?], b"world");
/// assert_eq!(f.metadata().await?.len(), 11);
/// # aio::fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct File {
    pub(super) fd: SharedFd,
    pub(super) path: Option<Arc<Path>>,
    pub(super) rd: ReadState,
    pub(super) wr: WriteState,
    /// A dropped op at the position the kernel may still run (`cursor.rs`,
    /// "Dropped at the position"); locked only by the `&self` methods.
    pub(super) orphan: Mutex<Orphan>,
    /// tokio's `start_seek` target, until `poll_complete`.
    #[cfg(feature = "tokio-compat")]
    pub(super) seek_to: Option<std::io::SeekFrom>,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("fd", &self.fd.raw())
            .field("path", &self.path)
            .finish()
    }
}

impl File {
    pub(crate) fn new(fd: OwnedFd, path: Option<Arc<Path>>) -> File {
        File {
            fd: SharedFd::new(fd),
            path,
            rd: ReadState::default(),
            wr: WriteState::default(),
            orphan: Mutex::default(),
            #[cfg(feature = "tokio-compat")]
            seek_to: None,
        }
    }

    /// Opens `path` for reading.
    ///
    /// # Errors
    /// The OS error, naming the path.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let err = aio::fs::File::open("/no/such/file").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert_eq!(err.to_string(), "open /no/such/file: No such file or directory (os error 2)");
    /// # });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        super::OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` for writing, creating it or truncating it.
    ///
    /// # Errors
    /// The OS error, naming the path.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-create-{}", std::process::id()));
    /// let mut f = aio::fs::File::create(&path).await?;
    /// f.write_all(b"x".to_vec()).await.0?;
    /// assert_eq!(aio::fs::read(&path).await?, b"x");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        super::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates `path` for reading and writing, failing if it exists.
    ///
    /// # Errors
    /// `AlreadyExists`, or another OS error, naming the path.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-create-new-{}", std::process::id()));
    /// let _f = aio::fs::File::create_new(&path).await?;
    /// assert!(aio::fs::File::create_new(&path).await.is_err());
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        super::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// The options builder ([`OpenOptions::new`](super::OpenOptions::new)).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let f = aio::fs::File::options().read(true).open("/").await?;
    /// assert!(f.metadata().await?.is_dir());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn options() -> super::OpenOptions {
        super::OpenOptions::new()
    }

    /// Wraps a std file (its path is not known: errors do not name it).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let f = aio::fs::File::from_std(std::fs::File::open("/")?);
    /// assert!(f.metadata().await?.is_dir());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File::new(file.into(), None)
    }

    /// Waits until the kernel is done with a read or write at the position
    /// whose future was dropped (`cursor.rs`), for the `&self` methods.
    ///
    /// Then fails if bytes written through the `AsyncWrite` traits are not
    /// flushed yet: a sync or truncate that went before them would be a
    /// silent lie (tokio's `File` flushes them itself, behind a lock; this
    /// one keeps them in `&mut self` state, so the caller flushes).
    async fn settle_orphan(&self, op: &'static str) -> io::Result<()> {
        poll_fn(|cx| super::cursor::poll_orphan(&mut self.orphan.lock(), cx)).await;
        if self.wr.is_idle() {
            return Ok(());
        }
        Err(self.err(op)(io::Error::other(
            "bytes written through AsyncWrite are not flushed yet: call flush() first",
        )))
    }

    pub(super) fn err(&self, op: &'static str) -> impl Fn(io::Error) -> io::Error + '_ {
        move |e| with_file_path(e, op, self.path.as_deref())
    }

    /// Reads into `buf` (from its start, up to `bytes_total()` bytes) from
    /// the file at `pos`; the file position does not move. Returns how
    /// many bytes were read (`Ok(0)`: `pos` is at or past the end) and the
    /// buffer.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the read; its bytes are lost with the
    /// buffer, nothing else changes.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-read-at-{}", std::process::id()));
    /// aio::fs::write(&path, b"0123456789".to_vec()).await?;
    /// let f = aio::fs::File::open(&path).await?;
    /// // Two reads at once on one file.
    /// let ((a, ba), (b, bb)) = aio::gather!(f.read_at(vec![0; 3], 0), f.read_at(vec![0; 3], 7)).await;
    /// assert_eq!(&ba[..a?], b"012");
    /// assert_eq!(&bb[..b?], b"789");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        let (res, buf) = ops::read_at(&self.fd, buf, checked(pos)).await;
        (res.map_err(self.err("read")), buf)
    }

    /// Reads exactly `buf.bytes_total()` bytes at `pos`.
    ///
    /// # Errors
    /// `UnexpectedEof` if the file ends first (the bytes read are in the
    /// buffer, which is given back).
    ///
    /// # Cancel safety
    /// As [`read_at`](Self::read_at).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-read-exact-{}", std::process::id()));
    /// aio::fs::write(&path, b"abcdef".to_vec()).await?;
    /// let f = aio::fs::File::open(&path).await?;
    /// let (res, buf) = f.read_exact_at(Vec::with_capacity(4), 2).await;
    /// res?;
    /// assert_eq!(buf, b"cdef");
    /// let (res, _) = f.read_exact_at(vec![0; 9], 0).await;
    /// assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn read_exact_at<B: IoBufMut>(&self, buf: B, pos: u64) -> BufResult<(), B> {
        let total = buf.bytes_total();
        let mut buf = buf;
        let mut done = 0;
        while done < total {
            let (res, slice) = ops::read_at(
                &self.fd,
                buf.slice(done..),
                checked(pos.saturating_add(done as u64)),
            )
            .await;
            buf = slice.into_inner();
            match res {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::UnexpectedEof, "the file ended first");
                    return (Err(self.err("read")(e)), buf);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(self.err("read")(e)), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Writes `buf[..bytes_init()]` (at most
    /// [`MAX_RW_COUNT`](crate::io::MAX_RW_COUNT) bytes) to the file at
    /// `pos`; the file position does not move (but see `append`).
    /// Returns how many bytes were written and the buffer.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write where it can; some bytes may
    /// have been written.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-write-at-{}", std::process::id()));
    /// let f = aio::fs::File::create(&path).await?;
    /// let (n, _) = f.write_at(b"world".to_vec(), 6).await;
    /// assert_eq!(n?, 5);
    /// f.write_at(b"hello ".to_vec(), 0).await.0?;
    /// assert_eq!(aio::fs::read(&path).await?, b"hello world");
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> BufResult<usize, B> {
        let (res, buf) = ops::write_at(&self.fd, buf, 0, checked(pos)).await;
        (res.map_err(self.err("write")), buf)
    }

    /// Writes all of `buf[..bytes_init()]` at `pos`.
    ///
    /// # Errors
    /// `WriteZero` if the file takes no more bytes, or the OS error.
    ///
    /// # Cancel safety
    /// As [`write_at`](Self::write_at).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-write-all-at-{}", std::process::id()));
    /// let f = aio::fs::File::create(&path).await?;
    /// f.write_all_at(vec![7u8; 100_000], 0).await.0?;
    /// assert_eq!(f.metadata().await?.len(), 100_000);
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn write_all_at<B: IoBuf>(&self, buf: B, pos: u64) -> BufResult<(), B> {
        let mut buf = buf;
        let mut done = 0;
        while done < buf.bytes_init() {
            let (res, b) = ops::write_at(
                &self.fd,
                buf,
                done,
                checked(pos.saturating_add(done as u64)),
            )
            .await;
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

    /// Flushes data and metadata to the device (`fsync`).
    ///
    /// # Errors
    /// The OS error, naming the path; an error saying so if bytes written
    /// through the `AsyncWrite` traits are not flushed yet (call
    /// [`flush`](Self::flush) first).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-sync-{}", std::process::id()));
    /// let f = aio::fs::File::create(&path).await?;
    /// f.write_all_at(b"durable".to_vec(), 0).await.0?;
    /// f.sync_all().await?;
    /// f.sync_data().await?;
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn sync_all(&self) -> io::Result<()> {
        self.settle_orphan("sync").await?;
        ops::fsync(&self.fd, false).await.map_err(self.err("sync"))
    }

    /// Flushes data (and the metadata needed to read it) to the device
    /// (`fdatasync`).
    ///
    /// # Errors
    /// As [`sync_all`](Self::sync_all).
    ///
    /// # Examples
    ///
    /// See [`sync_all`](Self::sync_all).
    pub async fn sync_data(&self) -> io::Result<()> {
        self.settle_orphan("sync").await?;
        ops::fsync(&self.fd, true).await.map_err(self.err("sync"))
    }

    /// The file's metadata (`statx` on the open file).
    ///
    /// # Errors
    /// The OS error, naming the path.
    ///
    /// # Examples
    ///
    /// See [`File`].
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let st = ops::statx_fd(&self.fd).await.map_err(self.err("stat"))?;
        Ok(Metadata::from_statx(st))
    }

    /// Truncates or extends (with zeroes) the file to `size` bytes; the
    /// position does not move.
    ///
    /// # Errors
    /// The OS error (`EINVAL` for a file not open for writing), naming
    /// the path; an error saying so if bytes written through the
    /// `AsyncWrite` traits are not flushed yet (call [`flush`](Self::flush)
    /// first).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-set-len-{}", std::process::id()));
    /// let f = aio::fs::File::create(&path).await?;
    /// f.set_len(4096).await?;
    /// assert_eq!(f.metadata().await?.len(), 4096);
    /// f.set_len(10).await?;
    /// assert_eq!(aio::fs::read(&path).await?, vec![0; 10]);
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.settle_orphan("truncate").await?;
        ops::ftruncate(&self.fd, size)
            .await
            .map_err(self.err("truncate"))
    }

    /// Closes the file once its in-flight operations completed, and
    /// reports close's error (dropping the file closes it too, silently).
    /// Bytes buffered by the `AsyncWrite` traits are flushed first.
    ///
    /// # Errors
    /// The error of the flush or of `close(2)`, naming the path.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-close-{}", std::process::id()));
    /// let f = aio::fs::File::create(&path).await?;
    /// f.close().await?;
    /// # aio::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn close(mut self) -> io::Result<()> {
        self.flush().await?;
        let path = self.path.clone();
        let fd = self.fd.clone();
        drop(self);
        fd.close()
            .await
            .map_err(|e| with_file_path(e, "close", path.as_deref()))
    }
}

/// A file offset the kernel takes (`CURRENT_POS` is reserved): larger
/// ones are `EINVAL` from the op.
pub(super) fn checked(pos: u64) -> u64 {
    if pos == ops::CURRENT_POS {
        // i64::MAX + 1 and up are refused by the kernel (EINVAL), as this
        // one is, but it would mean "the current position" to the ring.
        pos - 1
    } else {
        pos
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<std::fs::File> for File {
    fn from(f: std::fs::File) -> File {
        File::from_std(f)
    }
}
