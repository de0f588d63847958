//! asyncio's stream views of a child process's pipes:
//! `StreamReader::from(child.stdout)` (and stderr) and
//! `StreamWriter::from(child.stdin)`, as `asyncio.subprocess.Process`'s
//! `stdout` and `stdin` are streams.
//!
//! The reader's source keeps one pipe read in flight across calls (as a
//! socket's does), starting with what the pipe's own adapter had read
//! ahead or in flight, so nothing read is lost by the conversion.
//!
//! Called by users; calls the runtime's pipe read op.

use super::{ByteSource, StreamReader, StreamWriter};
use aio_runtime::io::ops::{self, VecRead};
use aio_runtime::io::SharedFd;
use aio_runtime::process::{ChildStderr, ChildStdin, ChildStdout};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The size of one pipe read (a pipe holds 64 KiB by default).
const READ_SIZE: usize = 64 * 1024;

/// A pipe's read end as a `ByteSource`.
pub(crate) struct PipeSource {
    fd: SharedFd,
    op: Option<VecRead>,
    /// Bytes read before the conversion, handed out first.
    ahead: Vec<u8>,
    spare: Vec<u8>,
}

impl ByteSource for PipeSource {
    fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        _hint: usize,
    ) -> Poll<io::Result<usize>> {
        if !self.ahead.is_empty() {
            let n = self.ahead.len();
            buf.append(&mut self.ahead);
            return Poll::Ready(Ok(n));
        }
        let op = self.op.get_or_insert_with(|| {
            let mut v = std::mem::take(&mut self.spare);
            v.clear();
            v.reserve(READ_SIZE);
            ops::read_pipe(&self.fd, v)
        });
        let (res, mut v) = ready!(Pin::new(op).poll(cx));
        self.op = None;
        if res.is_ok() {
            if buf.is_empty() {
                std::mem::swap(buf, &mut v);
            } else {
                buf.extend_from_slice(&v);
            }
        }
        self.spare = v;
        Poll::Ready(res)
    }
}

fn reader(parts: (SharedFd, Option<VecRead>, Vec<u8>)) -> StreamReader {
    let (fd, op, ahead) = parts;
    let src = PipeSource {
        fd,
        op,
        ahead,
        spare: Vec::new(),
    };
    StreamReader::with_source(Box::new(src), StreamReader::DEFAULT_LIMIT)
}

/// A child's stdout as asyncio's `StreamReader` (limit 64 KiB).
///
/// # Examples
///
/// ```
/// use aio::process::{Command, Stdio};
/// # aio::run(async {
/// let mut child = Command::shell("printf 'one\\ntwo\\n'").stdout(Stdio::piped()).spawn()?;
/// let mut lines = aio::net::StreamReader::from(child.stdout.take().unwrap());
/// assert_eq!(lines.readline().await?, b"one\n");
/// assert_eq!(lines.readline().await?, b"two\n");
/// assert_eq!(lines.readline().await?, b"");
/// child.wait().await?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
impl From<ChildStdout> for StreamReader {
    fn from(p: ChildStdout) -> StreamReader {
        reader(p.into_raw_parts())
    }
}

/// A child's stderr as asyncio's `StreamReader` (limit 64 KiB).
///
/// # Examples
///
/// ```
/// use aio::process::{Command, Stdio};
/// # aio::run(async {
/// let mut child = Command::shell("echo warn >&2").stderr(Stdio::piped()).spawn()?;
/// let mut err = aio::net::StreamReader::from(child.stderr.take().unwrap());
/// assert_eq!(err.read_to_end().await?, b"warn\n");
/// child.wait().await?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
impl From<ChildStderr> for StreamReader {
    fn from(p: ChildStderr) -> StreamReader {
        reader(p.into_raw_parts())
    }
}

/// A child's stdin as asyncio's `StreamWriter`: `write` buffers, `drain`
/// waits for room, `close` (or `write_eof`, or dropping it) closes the
/// pipe once the buffered bytes went, and the child reads end of file.
///
/// # Examples
///
/// ```
/// use aio::process::{Command, Stdio};
/// # aio::run(async {
/// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// let w = aio::net::StreamWriter::from(child.stdin.take().unwrap());
/// let mut r = aio::net::StreamReader::from(child.stdout.take().unwrap());
/// w.write(b"ping\n");
/// w.drain().await?;
/// assert_eq!(r.readline().await?, b"ping\n");
/// w.close();
/// assert_eq!(r.read_to_end().await?, b"");
/// assert!(child.wait().await?.success());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
impl From<ChildStdin> for StreamWriter {
    fn from(p: ChildStdin) -> StreamWriter {
        let (fd, op, pending) = p.into_raw_parts();
        StreamWriter::for_pipe(fd, op, pending)
    }
}
