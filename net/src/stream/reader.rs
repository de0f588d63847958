//! [`StreamReader`]: asyncio's `StreamReader` — buffered reads of whole
//! lines, separator-framed records and exact lengths, checked against a
//! limit, from a socket ([`ByteSource`]) or from bytes fed by hand.
//!
//! Called by users and by the socket layer (`with_source`); calls only its
//! [`ByteSource`]. Follows CPython's `Lib/asyncio/streams.py` closely.
//!
//! # Cancel safety, the invariant
//!
//! Every read is a `poll_*` state machine on `&mut self` whose only state
//! that must survive a dropped future lives in the reader: the buffer, the
//! end-of-stream flag and the `discarding` flag. A future only keeps a
//! search offset, which is an optimisation. So dropping a read future half
//! way loses nothing: every byte received stays buffered and the next call
//! sees it. Bytes leave the buffer only when a call returns them (or, for
//! an over-long line, when it reports the line as too long).
//!
//! The buffer is a `Vec<u8>` plus a start offset: consuming from the front
//! moves the offset, and the consumed prefix is compacted away before more
//! bytes are appended once it is at least as long as the live bytes, so
//! each byte is copied O(1) times amortised.
//!
//! `discarding` is set when `readline` rejects a line longer than the limit
//! before its `\n` has arrived. While it is set, bytes are dropped as they
//! arrive, up to and including the next `\n` (or the end of stream); it
//! implies that the buffer is empty.

use std::fmt;
use std::future;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::error::{IncompleteReadError, ReadError};
use super::ByteSource;

/// A buffered reader of a byte stream, with asyncio's `StreamReader`
/// methods: [`read`](Self::read), [`read_to_end`](Self::read_to_end),
/// [`readline`](Self::readline), [`readuntil`](Self::readuntil),
/// [`readexactly`](Self::readexactly) and [`lines`](Self::lines).
///
/// Readers made by `open_connection` and `start_server` read a socket.
/// [`StreamReader::new`] makes an in-memory reader whose bytes come only
/// from [`feed_data`](Self::feed_data) and whose end is marked by
/// [`feed_eof`](Self::feed_eof) — handy for parsers and tests. Since every
/// read borrows the reader mutably, nothing can be fed while a read is
/// running: an in-memory read that needs more bytes than were fed, before
/// `feed_eof`, fails at once with [`io::ErrorKind::WouldBlock`] instead of
/// waiting forever (its buffered bytes are kept).
///
/// The *limit* bounds how far `readline` and `readuntil` search for a
/// separator, so a peer cannot make the reader buffer without bound.
///
/// All reads are cancel-safe: a read future dropped before it completes
/// leaves every received byte buffered for the next call.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let mut r = aio::net::StreamReader::new(64 * 1024);
/// r.feed_data(b"hello\nwor");
/// r.feed_data(b"ld\n");
/// r.feed_eof();
/// assert_eq!(r.readline().await?, b"hello\n");
/// assert_eq!(r.readline().await?, b"world\n");
/// assert_eq!(r.readline().await?, b"");
/// assert!(r.at_eof());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct StreamReader {
    /// Bytes received; `buf[start..]` are the ones not consumed yet.
    buf: Vec<u8>,
    start: usize,
    /// The end of stream was seen (`feed_eof`, or the source returned 0).
    eof: bool,
    /// Dropping the rest of an over-long line as it arrives (module doc).
    discarding: bool,
    limit: usize,
    /// `None` for an in-memory reader.
    src: Option<Box<dyn ByteSource>>,
}

impl StreamReader {
    /// The limit of [`StreamReader::default`] and of the readers made by
    /// `open_connection` and `start_server`: 64 KiB, as in asyncio.
    pub const DEFAULT_LIMIT: usize = 64 * 1024;

    /// Creates an in-memory reader: its bytes come only from
    /// [`feed_data`](Self::feed_data), and [`feed_eof`](Self::feed_eof)
    /// marks the end of the stream.
    ///
    /// `limit` is the longest line (without its separator) that
    /// [`readline`](Self::readline) and [`readuntil`](Self::readuntil)
    /// accept.
    ///
    /// # Panics
    ///
    /// Panics if `limit` is 0 (asyncio raises `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = aio::net::StreamReader::new(1024);
    /// assert_eq!(r.limit(), 1024);
    /// assert!(r.buffered().is_empty());
    /// ```
    pub fn new(limit: usize) -> StreamReader {
        StreamReader::build(None, limit)
    }

    /// Creates a reader whose bytes come from `src` (the socket layer's
    /// read side). `feed_data` and `feed_eof` still work on it.
    ///
    /// # Panics
    ///
    /// Panics if `limit` is 0.
    // Used by the socket layer (`open_connection`, `start_server`).
    #[allow(dead_code)]
    pub(crate) fn with_source(src: Box<dyn ByteSource>, limit: usize) -> StreamReader {
        StreamReader::build(Some(src), limit)
    }

    fn build(src: Option<Box<dyn ByteSource>>, limit: usize) -> StreamReader {
        assert!(limit > 0, "StreamReader: limit must be greater than 0");
        StreamReader {
            buf: Vec::new(),
            start: 0,
            eof: false,
            discarding: false,
            limit,
            src,
        }
    }

    /// Appends `data` to the bytes waiting to be read.
    ///
    /// If a [`readline`](Self::readline) has just rejected an over-long line
    /// whose `\n` has not arrived yet, the bytes of `data` up to and
    /// including the first `\n` are the rest of that line and are dropped.
    ///
    /// # Panics
    ///
    /// Panics if called after [`feed_eof`](Self::feed_eof) (asyncio
    /// asserts the same).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(b"ab");
    /// r.feed_data(b"c");
    /// assert_eq!(r.buffered(), b"abc");
    /// ```
    pub fn feed_data(&mut self, data: &[u8]) {
        assert!(
            !self.eof,
            "StreamReader::feed_data() called after feed_eof()"
        );
        if data.is_empty() {
            return;
        }
        compact(&mut self.buf, &mut self.start);
        self.buf.extend_from_slice(data);
        self.skip_discarded();
    }

    /// Marks the end of the stream: once the buffered bytes are read, reads
    /// return empty (`read`, `readline`) or [`ReadError::Incomplete`]
    /// (`readexactly`, `readuntil`). Calling it again does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(b"x");
    /// r.feed_eof();
    /// assert!(!r.at_eof()); // "x" is still buffered
    /// ```
    pub fn feed_eof(&mut self) {
        self.eof = true;
        self.discarding = false;
    }

    /// Whether the end of stream was seen and every byte has been read.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(b"x");
    /// r.feed_eof();
    /// assert!(!r.at_eof());
    /// assert_eq!(r.read(10).await?, b"x");
    /// assert!(r.at_eof());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn at_eof(&self) -> bool {
        self.eof && self.buffered().is_empty()
    }

    /// The limit given at creation (see [`new`](Self::new)).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = aio::net::StreamReader::default();
    /// assert_eq!(r.limit(), aio::net::StreamReader::DEFAULT_LIMIT);
    /// ```
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The bytes received but not read yet.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(b"abcdef");
    /// assert_eq!(r.read(2).await?, b"ab");
    /// assert_eq!(r.buffered(), b"cdef");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Reads up to `n` bytes: waits until at least one byte is buffered (or
    /// the stream ends), then returns at most `n` of the buffered bytes. An
    /// empty vector means end of stream; `read(0)` returns an empty vector
    /// at once.
    ///
    /// # Errors
    ///
    /// The socket's error; an in-memory reader with nothing buffered and no
    /// [`feed_eof`](Self::feed_eof) returns [`io::ErrorKind::WouldBlock`].
    /// The buffered bytes are kept.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, no byte
    /// is lost; bytes that arrived stay buffered for the next call.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(b"abc");
    /// r.feed_eof();
    /// assert_eq!(r.read(2).await?, b"ab");
    /// assert_eq!(r.read(100).await?, b"c");
    /// assert_eq!(r.read(100).await?, b""); // end of stream
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        future::poll_fn(|cx| self.poll_read(cx, n)).await
    }

    /// Reads every byte until the end of stream.
    ///
    /// # Errors
    ///
    /// The socket's error, or [`io::ErrorKind::WouldBlock`] for an
    /// in-memory reader without [`feed_eof`](Self::feed_eof). Every byte
    /// received so far stays buffered.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the bytes are accumulated in the reader's buffer and
    /// only taken out when the end of stream is reached, so a dropped
    /// future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(b"line 1\nline 2\n");
    /// r.feed_eof();
    /// assert_eq!(r.read_to_end().await?, b"line 1\nline 2\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        future::poll_fn(|cx| self.poll_read_to_end(cx)).await
    }

    /// Reads one line, up to and including its `\n`. At the end of stream
    /// it returns the last, unterminated line without a `\n`, and then
    /// empty vectors.
    ///
    /// A line longer than the [limit](Self::limit) (not counting its `\n`)
    /// is rejected, and the reader stays usable: the whole line, through its
    /// `\n`, is skipped — the part that has not arrived yet is dropped as it
    /// arrives — so the next call returns the next line.
    ///
    /// # Errors
    ///
    /// - [`io::ErrorKind::InvalidData`] for a line over the limit (see
    ///   above).
    /// - The socket's error, or [`io::ErrorKind::WouldBlock`] for an
    ///   in-memory reader without [`feed_eof`](Self::feed_eof); the partial
    ///   line stays buffered.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped future leaves the partial line buffered, and
    /// the next call returns the whole line. If it is dropped while the
    /// rest of an over-long line is being skipped, the next call finishes
    /// skipping it first.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use std::io::ErrorKind;
    ///
    /// let mut r = aio::net::StreamReader::new(4);
    /// r.feed_data(b"ok\nmuch too long\nnext\nend");
    /// r.feed_eof();
    /// assert_eq!(r.readline().await?, b"ok\n");
    /// assert_eq!(r.readline().await.unwrap_err().kind(), ErrorKind::InvalidData);
    /// assert_eq!(r.readline().await?, b"next\n");
    /// assert_eq!(r.readline().await?, b"end");
    /// assert_eq!(r.readline().await?, b"");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn readline(&mut self) -> io::Result<Vec<u8>> {
        let mut scan = 0;
        future::poll_fn(|cx| self.poll_readline(cx, &mut scan)).await
    }

    /// Reads up to and including the first occurrence of `sep`.
    ///
    /// # Errors
    ///
    /// - [`ReadError::Incomplete`] (with `expected: None`) if the stream
    ///   ends first; its `partial` holds all the bytes that were buffered,
    ///   which are consumed.
    /// - [`ReadError::LimitOverrun`] if `sep` does not end within
    ///   [`limit`](Self::limit) + `sep.len()` bytes; the bytes stay
    ///   buffered (read them another way, or give up on the stream).
    /// - [`ReadError::Io`] with the socket's error, or with
    ///   [`io::ErrorKind::WouldBlock`] for an in-memory reader without
    ///   [`feed_eof`](Self::feed_eof); the bytes stay buffered.
    ///
    /// # Panics
    ///
    /// Panics if `sep` is empty (asyncio raises `ValueError`).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped future leaves every received byte buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut r = aio::net::StreamReader::new(64 * 1024);
    /// r.feed_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody");
    /// r.feed_eof();
    /// assert_eq!(r.readuntil(b"\r\n\r\n").await?, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    /// let e = r.readuntil(b"\r\n").await.unwrap_err();
    /// assert_eq!(e.partial(), Some(&b"body"[..]));
    /// # Ok::<(), aio::net::ReadError>(()) }).unwrap();
    /// ```
    pub async fn readuntil(&mut self, sep: &[u8]) -> Result<Vec<u8>, ReadError> {
        assert!(
            !sep.is_empty(),
            "StreamReader::readuntil(): the separator must not be empty"
        );
        let mut scan = 0;
        future::poll_fn(|cx| self.poll_readuntil(cx, sep, &mut scan)).await
    }

    /// Reads exactly `n` bytes; `readexactly(0)` returns an empty vector at
    /// once.
    ///
    /// # Errors
    ///
    /// - [`ReadError::Incomplete`] (with `expected: Some(n)`) if the stream
    ///   ends first; its `partial` holds the bytes that were buffered, which
    ///   are consumed.
    /// - [`ReadError::Io`] with the socket's error, or with
    ///   [`io::ErrorKind::WouldBlock`] for an in-memory reader without
    ///   [`feed_eof`](Self::feed_eof); the bytes stay buffered.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped future leaves every received byte buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(&[0, 5, b'h', b'e', b'l', b'l', b'o']);
    /// r.feed_eof();
    /// let len = r.readexactly(2).await?;
    /// let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    /// assert_eq!(r.readexactly(len).await?, b"hello");
    /// assert!(r.readexactly(1).await.unwrap_err().is_incomplete());
    /// # Ok::<(), aio::net::ReadError>(()) }).unwrap();
    /// ```
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        future::poll_fn(|cx| self.poll_readexactly(cx, n)).await
    }

    /// Iterates over the lines: a [`Stream`] yielding what
    /// [`readline`](Self::readline) returns, until the end of stream (the
    /// empty line is not yielded). An error is yielded as an item and the
    /// iteration goes on after it, so a line over the limit can be skipped.
    /// An error that persists (a failed socket, or an in-memory reader
    /// without [`feed_eof`](Self::feed_eof)) is yielded again on every
    /// poll, so a caller that retries must stop at some point itself.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, like `readline`: dropping the `Lines` (or a `next()`
    /// future) in the middle of a line leaves the line buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::stream::StreamExt;
    ///
    /// let mut r = aio::net::StreamReader::default();
    /// r.feed_data(b"a\nb\nc");
    /// r.feed_eof();
    /// let mut lines = r.lines();
    /// let mut got = Vec::new();
    /// while let Some(line) = lines.next().await {
    ///     got.push(line?);
    /// }
    /// assert_eq!(got, [b"a\n".to_vec(), b"b\n".to_vec(), b"c".to_vec()]);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn lines(&mut self) -> Lines<'_> {
        Lines {
            reader: self,
            scan: 0,
        }
    }

    // ---- the state machines ----

    fn poll_read(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<Vec<u8>>> {
        if n == 0 {
            return Poll::Ready(Ok(Vec::new()));
        }
        loop {
            let len = self.buffered().len();
            if len > 0 {
                return Poll::Ready(Ok(self.consume(n.min(len))));
            }
            if self.eof {
                return Poll::Ready(Ok(Vec::new()));
            }
            ready!(self.poll_fill(cx, n))?;
        }
    }

    fn poll_read_to_end(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        while !self.eof {
            ready!(self.poll_fill(cx, self.limit))?;
        }
        Poll::Ready(Ok(self.take_all()))
    }

    /// `scan`: how many buffered bytes are known to hold no `\n`; reset to
    /// 0 whenever a result is returned.
    fn poll_readline(
        &mut self,
        cx: &mut Context<'_>,
        scan: &mut usize,
    ) -> Poll<io::Result<Vec<u8>>> {
        let res = ready!(self.poll_readline_inner(cx, scan));
        *scan = 0;
        Poll::Ready(res)
    }

    fn poll_readline_inner(
        &mut self,
        cx: &mut Context<'_>,
        scan: &mut usize,
    ) -> Poll<io::Result<Vec<u8>>> {
        loop {
            let buf = self.buffered();
            let len = buf.len();
            let from = (*scan).min(len);
            if let Some(i) = find(&buf[from..], b"\n") {
                let end = from + i;
                if end > self.limit {
                    // asyncio: the separator is found, but the line is
                    // longer than the limit. Drop it through its '\n'.
                    self.consume_discard(end + 1);
                    return Poll::Ready(Err(self.line_too_long()));
                }
                return Poll::Ready(Ok(self.consume(end + 1)));
            }
            *scan = len;
            if len > self.limit {
                // No '\n' within the limit: drop what we have, and the
                // rest of the line as it arrives.
                self.consume_discard(len);
                self.discarding = !self.eof;
                return Poll::Ready(Err(self.line_too_long()));
            }
            if self.eof {
                return Poll::Ready(Ok(self.take_all()));
            }
            let hint = self.limit.saturating_add(1).saturating_sub(len);
            ready!(self.poll_fill(cx, hint))?;
        }
    }

    /// `scan`: the offset from which `sep` may still start (asyncio's
    /// `offset`).
    fn poll_readuntil(
        &mut self,
        cx: &mut Context<'_>,
        sep: &[u8],
        scan: &mut usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        let seplen = sep.len();
        loop {
            let buf = self.buffered();
            let len = buf.len();
            let from = (*scan).min(len);
            if len - from >= seplen {
                if let Some(i) = find(&buf[from..], sep) {
                    let isep = from + i;
                    if isep > self.limit {
                        return Poll::Ready(Err(ReadError::LimitOverrun { consumed: isep }));
                    }
                    return Poll::Ready(Ok(self.consume(isep + seplen)));
                }
                // The separator may still start in the last seplen-1 bytes.
                *scan = len + 1 - seplen;
                if *scan > self.limit {
                    return Poll::Ready(Err(ReadError::LimitOverrun { consumed: *scan }));
                }
            }
            if self.eof {
                return Poll::Ready(Err(ReadError::Incomplete(IncompleteReadError {
                    partial: self.take_all(),
                    expected: None,
                })));
            }
            let hint = self.limit.saturating_add(seplen).saturating_sub(len).max(1);
            ready!(self.poll_fill(cx, hint))?;
        }
    }

    fn poll_readexactly(
        &mut self,
        cx: &mut Context<'_>,
        n: usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        loop {
            let len = self.buffered().len();
            if len >= n {
                return Poll::Ready(Ok(self.consume(n)));
            }
            if self.eof {
                return Poll::Ready(Err(ReadError::Incomplete(IncompleteReadError {
                    partial: self.take_all(),
                    expected: Some(n),
                })));
            }
            ready!(self.poll_fill(cx, n - len))?;
        }
    }

    // ---- the buffer ----

    /// Gets more bytes into the buffer (or the end of stream). `Ready(Ok)`
    /// means progress was made: bytes were appended (possibly dropped at
    /// once while discarding) or `eof` was set. Must not be called at eof.
    fn poll_fill(&mut self, cx: &mut Context<'_>, hint: usize) -> Poll<io::Result<()>> {
        debug_assert!(!self.eof, "poll_fill at end of stream");
        let Some(src) = self.src.as_mut() else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "StreamReader: no more data fed and feed_eof() not called",
            )));
        };
        compact(&mut self.buf, &mut self.start);
        let res = src.poll_fill(cx, &mut self.buf, hint.max(1));
        // A source may append bytes even when it then reports an error.
        self.skip_discarded();
        match ready!(res) {
            Ok(0) => {
                self.eof = true;
                self.discarding = false;
                Poll::Ready(Ok(()))
            }
            Ok(_) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// While discarding, drops the buffered bytes up to and including the
    /// first `\n` (or all of them if there is none).
    fn skip_discarded(&mut self) {
        if !self.discarding {
            return;
        }
        match find(self.buffered(), b"\n") {
            Some(i) => {
                self.consume_discard(i + 1);
                self.discarding = false;
            }
            None => {
                let len = self.buffered().len();
                self.consume_discard(len);
            }
        }
    }

    /// Removes and returns the first `n` buffered bytes.
    fn consume(&mut self, n: usize) -> Vec<u8> {
        if self.start == 0 && n == self.buf.len() {
            return mem::take(&mut self.buf);
        }
        let out = self.buffered()[..n].to_vec();
        self.consume_discard(n);
        out
    }

    /// Removes the first `n` buffered bytes.
    fn consume_discard(&mut self, n: usize) {
        debug_assert!(n <= self.buffered().len());
        self.start += n;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// Removes and returns every buffered byte.
    fn take_all(&mut self) -> Vec<u8> {
        let mut out = mem::take(&mut self.buf);
        out.drain(..mem::take(&mut self.start));
        out
    }

    fn line_too_long(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("line exceeds the limit of {} bytes", self.limit),
        )
    }
}

/// Compacts away the consumed prefix `buf[..*start]` once it is at least
/// as long as the live bytes, so each byte is moved O(1) times amortised.
fn compact(buf: &mut Vec<u8>, start: &mut usize) {
    if *start > 0 && *start >= buf.len() - *start {
        buf.drain(..mem::take(start));
    }
}

/// The offset of the first occurrence of `needle` (not empty) in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut at = 0;
    while at <= last_start {
        let i = at + hay[at..=last_start].iter().position(|&b| b == first)?;
        if hay[i + 1..i + needle.len()] == *rest {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

impl Default for StreamReader {
    /// An in-memory reader with [`StreamReader::DEFAULT_LIMIT`].
    fn default() -> StreamReader {
        StreamReader::new(StreamReader::DEFAULT_LIMIT)
    }
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &self.buffered().len())
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// The lines of a [`StreamReader`], as a [`Stream`]: made by
/// [`StreamReader::lines`], which documents it.
#[must_use = "streams do nothing unless polled"]
pub struct Lines<'a> {
    reader: &'a mut StreamReader,
    /// `poll_readline`'s search offset for the line in progress.
    scan: usize,
}

impl Stream for Lines<'_> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match ready!(this.reader.poll_readline(cx, &mut this.scan)) {
            Ok(line) if line.is_empty() => Poll::Ready(None),
            res => Poll::Ready(Some(res)),
        }
    }
}

impl fmt::Debug for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
