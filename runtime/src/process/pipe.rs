//! The parent's ends of a child's standard pipes: `ChildStdin`,
//! `ChildStdout`, `ChildStderr`.
//!
//! Each is a non-blocking pipe fd in a `SharedFd`, read and written with
//! owned buffers through the ring (`IORING_OP_READ` / `WRITE`), or on
//! epoll with readiness (pipes are pollable), and with futures-io (and
//! tokio) traits through `io::adapter`. `aio-net` builds the
//! `StreamReader` / `StreamWriter` views from their raw parts.
//!
//! Called by `child.rs` (spawn, communicate) and users; calls the ops.

use super::pidfd::{dup, set_nonblocking};
use crate::io::adapter::{self, impl_async_read, impl_async_write, ReadState, WriteState};
use crate::io::ops::{self, VecRead, VecWrite};
use crate::io::{BufResult, IoBuf, IoBufMut, SharedFd};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Stdio;
use std::task::{ready, Context, Poll};

/// Wraps a spawned child's pipe end: non-blocking from now on (only this
/// end: the child's end is another open file description).
pub(crate) fn adopt(fd: OwnedFd) -> io::Result<SharedFd> {
    set_nonblocking(&fd, true)?;
    Ok(SharedFd::new(fd))
}

/// A blocking copy of a pipe end, to hand to another process.
fn to_owned_blocking(fd: &SharedFd) -> io::Result<OwnedFd> {
    let copy = dup(fd)?;
    // The flag belongs to the open file description, shared with our own
    // end, which is being given up.
    set_nonblocking(&copy, false)?;
    Ok(copy)
}

macro_rules! reader {
    ($(#[$doc:meta])* $name:ident, $what:literal, $fdno:literal) => {
        $(#[$doc])*
        pub struct $name {
            fd: SharedFd,
            rd: ReadState,
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.fd.raw()).finish()
            }
        }

        impl $name {
            pub(crate) fn new(fd: SharedFd) -> $name {
                $name { fd, rd: ReadState::default() }
            }

            /// Reads what the child wrote into `buf` (from its start, up
            /// to `bytes_total()` bytes); returns how many bytes came
            /// (`Ok(0)`: the child closed its end, usually by exiting)
            /// and the buffer.
            ///
            /// # Cancel safety
            /// Dropping the future cancels the read; bytes it had read
            /// are lost with the buffer.
            #[doc = concat!("The `aio::net::StreamReader` view (`StreamReader::from(", $what, ")`)")]
            /// keeps its read across cancellation.
            ///
            /// # Examples
            ///
            /// ```
            /// use aio::process::{Command, Stdio};
            /// # aio::run(async {
            #[doc = concat!("let mut child = Command::shell(\"echo hi >&", $fdno, "\").", $what, "(Stdio::piped()).spawn()?;")]
            #[doc = concat!("let pipe = child.", $what, ".as_mut().unwrap();")]
            /// let (n, buf) = pipe.read(Vec::with_capacity(64)).await;
            /// assert_eq!(&buf[..n?], b"hi\n");
            /// child.wait().await?;
            /// # Ok::<(), std::io::Error>(()) }).unwrap();
            /// ```
            pub async fn read<B: IoBufMut>(&mut self, buf: B) -> BufResult<usize, B> {
                let mut buf = buf;
                if !self.rd.is_idle() {
                    // Bytes the futures-io adapter read ahead come first.
                    if let Err(e) = poll_fn(|cx| self.rd.poll_in_flight(cx)).await {
                        return (Err(e), buf);
                    }
                    let n = self.rd.take_into(&mut buf);
                    if n > 0 {
                        return (Ok(n), buf);
                    }
                }
                ops::read_pipe(&self.fd, buf).await
            }

            /// Reads until the child closes its end, appending to `buf`;
            /// returns how many bytes were appended and the buffer.
            ///
            /// # Cancel safety
            /// Dropping the future loses the bytes read so far.
            ///
            /// # Examples
            ///
            /// ```
            /// use aio::process::{Command, Stdio};
            /// # aio::run(async {
            #[doc = concat!("let mut child = Command::shell(\"seq 3 >&", $fdno, "\").", $what, "(Stdio::piped()).spawn()?;")]
            #[doc = concat!("let (n, buf) = child.", $what, ".take().unwrap().read_to_end(b\">\".to_vec()).await;")]
            /// assert_eq!(n?, 6);
            /// assert_eq!(buf, b">1\n2\n3\n");
            /// child.wait().await?;
            /// # Ok::<(), std::io::Error>(()) }).unwrap();
            /// ```
            pub async fn read_to_end(&mut self, buf: Vec<u8>) -> BufResult<usize, Vec<u8>> {
                let mut buf = buf;
                let start = buf.len();
                loop {
                    if buf.capacity() - buf.len() < 4096 {
                        buf.reserve((buf.len() - start).clamp(16 * 1024, 1024 * 1024));
                    }
                    let at = buf.len();
                    let (res, view) = self.read(buf.slice(at..)).await;
                    buf = view.into_inner();
                    match res {
                        Ok(0) => return (Ok(buf.len() - start), buf),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return (Err(e), buf),
                    }
                }
            }

            /// A blocking copy of this pipe end, to give to another
            /// process (`Stdio::from`); this handle is given up.
            ///
            /// # Errors
            /// `dup`'s or `fcntl`'s error (out of fds).
            ///
            /// # Examples
            ///
            /// ```
            /// use aio::process::{Command, Stdio};
            /// # aio::run(async {
            #[doc = concat!("let mut first = Command::shell(\"echo b; echo a >&", $fdno, "\").", $what, "(Stdio::piped()).spawn()?;")]
            #[doc = concat!("let fd = first.", $what, ".take().unwrap().into_owned_fd()?;")]
            /// let out = Command::new("cat").stdin(Stdio::from(fd)).output().await?;
            /// assert!(out.stdout.ends_with(b"\n"));
            /// first.wait().await?;
            /// # Ok::<(), std::io::Error>(()) }).unwrap();
            /// ```
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                to_owned_blocking(&self.fd)
            }

            /// The fd, the read in flight and the bytes read ahead (by
            /// the futures-io adapter): what `aio-net`'s `StreamReader`
            /// view takes over, so nothing read is lost. Not a stable
            /// interface.
            #[doc(hidden)]
            pub fn into_raw_parts(self) -> (SharedFd, Option<VecRead>, Vec<u8>) {
                let (op, ahead) = self.rd.into_parts();
                (self.fd, op, ahead)
            }

            fn poll_read_adapter(
                &mut self,
                cx: &mut Context<'_>,
                out: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.rd.poll_read(&self.fd, adapter::Fd::Pipe, cx, out)
            }
        }

        impl_async_read!($name);

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.fd.raw()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.fd.as_fd()
            }
        }

        /// Pipes one child's output into another's input.
        impl TryFrom<$name> for Stdio {
            type Error = io::Error;
            fn try_from(p: $name) -> io::Result<Stdio> {
                Ok(Stdio::from(p.into_owned_fd()?))
            }
        }
    };
}

reader!(
    /// The read end of a child's standard output (`Stdio::piped()`), as
    /// `Child::stdout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// let mut out = child.stdout.take().unwrap();
    /// let (n, buf) = out.read_to_end(Vec::new()).await;
    /// assert_eq!(&buf[..n?], b"hi\n");
    /// assert!(child.wait().await?.success());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    ChildStdout,
    "stdout",
    "1"
);

reader!(
    /// The read end of a child's standard error (`Stdio::piped()`), as
    /// `Child::stderr`.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut child = Command::shell("echo oops >&2").stderr(Stdio::piped()).spawn()?;
    /// let mut err = child.stderr.take().unwrap();
    /// let (n, buf) = err.read_to_end(Vec::new()).await;
    /// assert_eq!(&buf[..n?], b"oops\n");
    /// child.wait().await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    ChildStderr,
    "stderr",
    "2"
);

/// The write end of a child's standard input (`Stdio::piped()`), as
/// `Child::stdin`. Dropping it closes the pipe: the child reads end of
/// file.
///
/// # Examples
///
/// ```
/// use aio::process::{Command, Stdio};
/// # aio::run(async {
/// let mut child = Command::new("wc").arg("-c")
///     .stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// let mut stdin = child.stdin.take().unwrap();
/// stdin.write_all(vec![b'x'; 100_000]).await.0?;
/// drop(stdin); // end of file for wc
/// let (n, out) = child.stdout.take().unwrap().read_to_end(Vec::new()).await;
/// assert_eq!(String::from_utf8_lossy(&out[..n?]).trim(), "100000");
/// child.wait().await?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct ChildStdin {
    fd: SharedFd,
    wr: WriteState,
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin")
            .field("fd", &self.fd.raw())
            .finish()
    }
}

impl ChildStdin {
    pub(crate) fn new(fd: SharedFd) -> ChildStdin {
        ChildStdin {
            fd,
            wr: WriteState::default(),
        }
    }

    /// Writes `buf[..bytes_init()]` to the child; returns how many bytes
    /// went (a pipe takes up to its free space, 64 KiB by default) and the
    /// buffer. Bytes buffered by the futures-io adapter go first.
    ///
    /// # Errors
    /// `BrokenPipe` once the child closed its end (exited).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write; some bytes may have gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut child = Command::new("wc").arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let stdin = child.stdin.as_mut().unwrap();
    /// let (n, _) = stdin.write(b"12345".to_vec()).await;
    /// assert_eq!(n?, 5);
    /// let out = child.communicate(None).await?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn write<B: IoBuf>(&mut self, buf: B) -> BufResult<usize, B> {
        if let Err(e) = self.flush().await {
            return (Err(e), buf);
        }
        ops::write_pipe(&self.fd, buf, 0).await
    }

    /// Writes all of `buf[..bytes_init()]`, waiting while the pipe is
    /// full.
    ///
    /// # Errors
    /// `BrokenPipe` once the child closed its end (exited).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the write; some bytes may have gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut child = Command::new("wc").arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let stdin = child.stdin.as_mut().unwrap();
    /// // More than a pipe holds: waits while wc reads.
    /// stdin.write_all(vec![0u8; 1 << 20]).await.0?;
    /// let out = child.communicate(None).await?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1048576");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn write_all<B: IoBuf>(&mut self, buf: B) -> BufResult<(), B> {
        if let Err(e) = self.flush().await {
            return (Err(e), buf);
        }
        let mut buf = buf;
        let mut done = 0;
        while done < buf.bytes_init() {
            let (res, b) = ops::write_pipe(&self.fd, buf, done).await;
            buf = b;
            match res {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Waits until the bytes written through the futures-io traits went
    /// to the pipe.
    ///
    /// # Errors
    /// The error of a buffered write.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut child = Command::new("wc").arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let stdin = child.stdin.as_mut().unwrap();
    /// AsyncWriteExt::write_all(stdin, b"buffered").await?;
    /// stdin.flush().await?;
    /// let out = child.communicate(None).await?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "8");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.wr.is_idle() {
            return Ok(());
        }
        poll_fn(|cx| self.poll_flush_adapter(cx)).await
    }

    /// A blocking copy of this pipe end, to give to another process
    /// (`Stdio::from`); this handle is given up.
    ///
    /// # Errors
    /// `dup`'s or `fcntl`'s error (out of fds).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut sink = Command::new("wc").arg("-l").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let fd = sink.stdin.take().unwrap().into_owned_fd()?;
    /// // Another child writes into wc's stdin.
    /// Command::new("seq").arg("5").stdout(Stdio::from(fd)).status().await?;
    /// let out = sink.communicate(None).await?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        to_owned_blocking(&self.fd)
    }

    /// The fd, the write in flight (with how much of its buffer went and
    /// how many bytes are still to go) and the bytes buffered by the
    /// futures-io adapter: what `aio-net`'s `StreamWriter` view takes
    /// over. Not a stable interface.
    #[doc(hidden)]
    #[allow(clippy::type_complexity)]
    pub fn into_raw_parts(self) -> (SharedFd, Option<(VecWrite, usize, usize)>, Vec<u8>) {
        let (op, pending) = self.wr.into_parts();
        (self.fd, op, pending)
    }

    fn poll_write_adapter(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.wr.poll_write(&self.fd, adapter::Fd::Pipe, cx, data)
    }

    fn poll_flush_adapter(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.wr.poll_flush(&self.fd, adapter::Fd::Pipe, cx)
    }

    fn poll_close_adapter(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The pipe closes when this handle is dropped.
        ready!(self.poll_flush_adapter(cx))?;
        Poll::Ready(Ok(()))
    }
}

impl_async_write!(ChildStdin);

impl AsRawFd for ChildStdin {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for ChildStdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Gives this write end to another process, which then writes into this
/// child's standard input.
impl TryFrom<ChildStdin> for Stdio {
    type Error = io::Error;
    fn try_from(p: ChildStdin) -> io::Result<Stdio> {
        Ok(Stdio::from(p.into_owned_fd()?))
    }
}
