//! Unit tests of `StreamReader`, driven by a noop-waker poll loop (no
//! runtime here) and a scripted `ByteSource`.

use super::*;
use std::collections::VecDeque;
use std::future::Future;
use std::io::ErrorKind;
use std::pin::pin;
use std::task::Waker;

// ---- harness ----

enum Step {
    Data(&'static [u8]),
    Pending,
    Err(ErrorKind),
    Eof,
}
use Step::{Data, Eof, Pending};

/// Plays its steps one per `poll_fill`; panics if polled past the end, so
/// a reader that polls its source more than it should fails the test.
struct Script(VecDeque<Step>);

impl ByteSource for Script {
    fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        hint: usize,
    ) -> Poll<io::Result<usize>> {
        assert!(hint > 0, "hint must be positive");
        match self
            .0
            .pop_front()
            .expect("source polled after its script ended")
        {
            Data(d) => {
                buf.extend_from_slice(d);
                Poll::Ready(Ok(d.len()))
            }
            Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Step::Err(kind) => Poll::Ready(Err(io::Error::new(kind, "scripted error"))),
            Eof => Poll::Ready(Ok(0)),
        }
    }
}

fn scripted(limit: usize, steps: Vec<Step>) -> StreamReader {
    StreamReader::with_source(Box::new(Script(steps.into())), limit)
}

fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    for _ in 0..10_000 {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return v;
        }
    }
    panic!("future did not complete");
}

fn line(r: &mut StreamReader) -> io::Result<Vec<u8>> {
    block_on(r.readline())
}

fn next_item(lines: &mut Lines<'_>) -> Option<io::Result<Vec<u8>>> {
    block_on(future::poll_fn(|cx| Pin::new(&mut *lines).poll_next(cx)))
}

// ---- readline ----

#[test]
fn readline_joins_chunks() {
    let mut r = scripted(
        64,
        vec![Data(b"hel"), Pending, Data(b"lo\nwo"), Data(b"rld\n"), Eof],
    );
    assert_eq!(line(&mut r).unwrap(), b"hello\n");
    assert_eq!(r.buffered(), b"wo");
    assert_eq!(line(&mut r).unwrap(), b"world\n");
    assert!(!r.at_eof());
    assert_eq!(line(&mut r).unwrap(), b"");
    assert!(r.at_eof());
}

#[test]
fn readline_partial_line_at_eof_then_empty() {
    let mut r = scripted(64, vec![Data(b"abc"), Eof]);
    assert_eq!(line(&mut r).unwrap(), b"abc");
    assert_eq!(line(&mut r).unwrap(), b"");
    assert_eq!(line(&mut r).unwrap(), b"");
}

#[test]
fn readline_empty_at_bare_eof() {
    let mut r = scripted(64, vec![Eof]);
    assert_eq!(line(&mut r).unwrap(), b"");
    assert!(r.at_eof());
    // No second poll of the source (the script would panic).
    assert_eq!(line(&mut r).unwrap(), b"");
}

#[test]
fn readline_limit_boundary() {
    let mut r = StreamReader::new(4);
    r.feed_data(b"abcd\nabcde\nok\n");
    r.feed_eof();
    assert_eq!(line(&mut r).unwrap(), b"abcd\n");
    let e = line(&mut r).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("limit of 4 bytes"), "{e}");
    assert_eq!(line(&mut r).unwrap(), b"ok\n");
}

#[test]
fn readline_over_limit_in_one_chunk_then_next_line() {
    let mut r = StreamReader::new(4);
    r.feed_data(b"0123456789\nnext\n");
    assert_eq!(line(&mut r).unwrap_err().kind(), ErrorKind::InvalidData);
    assert_eq!(r.buffered(), b"next\n");
    assert_eq!(line(&mut r).unwrap(), b"next\n");
}

#[test]
fn readline_over_limit_in_many_chunks_then_next_line() {
    let mut r = scripted(
        4,
        vec![
            Data(b"abc"),
            Data(b"defg"),
            Pending,
            Data(b"hij"),
            Data(b"klm\nne"),
            Data(b"xt\n"),
            Eof,
        ],
    );
    assert_eq!(line(&mut r).unwrap_err().kind(), ErrorKind::InvalidData);
    assert!(r.buffered().is_empty(), "the over-long prefix is dropped");
    assert_eq!(line(&mut r).unwrap(), b"next\n");
    assert_eq!(line(&mut r).unwrap(), b"");
}

#[test]
fn readline_dropped_mid_discard_finishes_discarding_next_call() {
    let mut r = scripted(
        4,
        vec![
            Data(b"abcdefgh"),
            Data(b"ij"),
            Pending,
            Data(b"kl\nnext\n"),
            Eof,
        ],
    );
    assert_eq!(line(&mut r).unwrap_err().kind(), ErrorKind::InvalidData);
    {
        let mut fut = pin!(r.readline());
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert!(r.buffered().is_empty(), "\"ij\" is part of the long line");
    assert_eq!(line(&mut r).unwrap(), b"next\n");
    assert_eq!(line(&mut r).unwrap(), b"");
}

#[test]
fn readline_over_limit_discard_also_applies_to_fed_data_and_eof() {
    let mut r = StreamReader::new(4);
    r.feed_data(b"0123456");
    assert_eq!(line(&mut r).unwrap_err().kind(), ErrorKind::InvalidData);
    r.feed_data(b"789");
    assert!(r.buffered().is_empty());
    r.feed_data(b"\nok\n");
    assert_eq!(r.buffered(), b"ok\n");
    // The end of stream also ends an over-long line.
    r.feed_data(b"toolong");
    assert_eq!(line(&mut r).unwrap(), b"ok\n");
    assert_eq!(line(&mut r).unwrap_err().kind(), ErrorKind::InvalidData);
    r.feed_eof();
    assert_eq!(line(&mut r).unwrap(), b"");
}

#[test]
fn readline_cancel_safe() {
    let mut r = scripted(64, vec![Data(b"hel"), Pending, Data(b"lo\n"), Eof]);
    {
        let mut fut = pin!(r.readline());
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(r.buffered(), b"hel");
    assert_eq!(line(&mut r).unwrap(), b"hello\n");
    assert_eq!(line(&mut r).unwrap(), b"");
}

#[test]
fn in_memory_read_past_fed_data_would_block() {
    let mut r = StreamReader::new(16);
    r.feed_data(b"abc");
    assert_eq!(line(&mut r).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(r.buffered(), b"abc");
    r.feed_data(b"\n");
    assert_eq!(line(&mut r).unwrap(), b"abc\n");
    assert_eq!(
        block_on(r.read(1)).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
}

// ---- readexactly ----

#[test]
fn readexactly_across_chunks() {
    let mut r = scripted(64, vec![Data(b"ab"), Pending, Data(b"cdef")]);
    assert_eq!(block_on(r.readexactly(4)).unwrap(), b"abcd");
    assert_eq!(r.buffered(), b"ef");
    assert_eq!(block_on(r.readexactly(0)).unwrap(), b"");
}

#[test]
fn readexactly_incomplete_at_eof() {
    let mut r = scripted(64, vec![Data(b"ab"), Pending, Data(b"c"), Eof]);
    match block_on(r.readexactly(5)) {
        Err(ReadError::Incomplete(e)) => {
            assert_eq!(e.partial, b"abc");
            assert_eq!(e.expected, Some(5));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(r.at_eof());
}

#[test]
fn readexactly_cancel_safe() {
    let mut r = scripted(64, vec![Data(b"ab"), Pending, Data(b"cd")]);
    {
        let mut fut = pin!(r.readexactly(4));
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(r.buffered(), b"ab");
    assert_eq!(block_on(r.readexactly(4)).unwrap(), b"abcd");
}

// ---- readuntil ----

#[test]
fn readuntil_incomplete_at_eof() {
    let mut r = StreamReader::new(64);
    r.feed_data(b"abc");
    r.feed_eof();
    match block_on(r.readuntil(b"--")) {
        Err(ReadError::Incomplete(e)) => {
            assert_eq!(e.partial, b"abc");
            assert_eq!(e.expected, None);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(r.buffered().is_empty());
    assert!(r.at_eof());
}

#[test]
fn readuntil_limit_overrun_leaves_data_buffered() {
    // Not found within the limit.
    let mut r = StreamReader::new(4);
    r.feed_data(b"abcdefgh");
    match block_on(r.readuntil(b"\n")) {
        Err(ReadError::LimitOverrun { consumed }) => assert_eq!(consumed, 8),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(r.buffered(), b"abcdefgh");
    assert_eq!(block_on(r.read(3)).unwrap(), b"abc");

    // Found, but past the limit.
    let mut r = StreamReader::new(4);
    r.feed_data(b"abcdef\nz");
    match block_on(r.readuntil(b"\n")) {
        Err(ReadError::LimitOverrun { consumed }) => assert_eq!(consumed, 6),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(r.buffered(), b"abcdef\nz");

    // At the limit is fine.
    let mut r = StreamReader::new(4);
    r.feed_data(b"abcd\r\nz");
    assert_eq!(block_on(r.readuntil(b"\r\n")).unwrap(), b"abcd\r\n");
}

#[test]
fn readuntil_limit_overrun_from_source() {
    let mut r = scripted(4, vec![Data(b"abc"), Pending, Data(b"def"), Data(b"\n")]);
    assert!(block_on(r.readuntil(b"\n")).unwrap_err().is_limit_overrun());
    assert_eq!(r.buffered(), b"abcdef");
    assert_eq!(block_on(r.read(100)).unwrap(), b"abcdef");
}

#[test]
fn readuntil_separator_split_across_chunks() {
    let mut r = scripted(
        64,
        vec![
            Data(b"head\r"),
            Pending,
            Data(b"\n\r"),
            Data(b"\nbody"),
            Eof,
        ],
    );
    assert_eq!(block_on(r.readuntil(b"\r\n\r\n")).unwrap(), b"head\r\n\r\n");
    assert_eq!(block_on(r.read_to_end()).unwrap(), b"body");
}

#[test]
fn readuntil_cancel_safe() {
    let mut r = scripted(64, vec![Data(b"a-"), Pending, Data(b"-b")]);
    {
        let mut fut = pin!(r.readuntil(b"--"));
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(r.buffered(), b"a-");
    assert_eq!(block_on(r.readuntil(b"--")).unwrap(), b"a--");
    assert_eq!(r.buffered(), b"b");
}

#[test]
#[should_panic(expected = "separator must not be empty")]
fn readuntil_empty_separator_panics() {
    let mut r = StreamReader::new(4);
    let _ = block_on(r.readuntil(b""));
}

// ---- read, read_to_end ----

#[test]
fn read_smaller_than_buffered() {
    let mut r = StreamReader::new(64);
    assert_eq!(block_on(r.read(0)).unwrap(), b"", "read(0) never waits");
    r.feed_data(b"abcdef");
    assert_eq!(block_on(r.read(2)).unwrap(), b"ab");
    assert_eq!(block_on(r.read(10)).unwrap(), b"cdef");
    r.feed_eof();
    assert_eq!(block_on(r.read(1)).unwrap(), b"");
}

#[test]
fn read_waits_for_one_chunk_only() {
    let mut r = scripted(64, vec![Pending, Data(b"xyz"), Data(b"never")]);
    assert_eq!(block_on(r.read(100)).unwrap(), b"xyz");
}

#[test]
fn read_to_end_accumulates_until_eof() {
    let mut r = scripted(64, vec![Data(b"a"), Pending, Data(b"bc"), Eof]);
    {
        let mut fut = pin!(r.read_to_end());
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(r.buffered(), b"a");
    assert_eq!(block_on(r.read_to_end()).unwrap(), b"abc");
    assert!(r.at_eof());
    assert_eq!(block_on(r.read_to_end()).unwrap(), b"");
}

#[test]
fn source_error_is_returned_and_buffered_bytes_stay() {
    let mut r = scripted(
        64,
        vec![
            Data(b"par"),
            Step::Err(ErrorKind::ConnectionReset),
            Data(b"tial\n"),
            Step::Err(ErrorKind::BrokenPipe),
        ],
    );
    assert_eq!(line(&mut r).unwrap_err().kind(), ErrorKind::ConnectionReset);
    assert_eq!(r.buffered(), b"par");
    assert_eq!(line(&mut r).unwrap(), b"partial\n");
    match block_on(r.readexactly(1)) {
        Err(ReadError::Io(e)) => assert_eq!(e.kind(), ErrorKind::BrokenPipe),
        other => panic!("unexpected {other:?}"),
    }
}

// ---- lines ----

#[test]
fn lines_stream_yields_lines_errors_and_ends() {
    let mut r = scripted(4, vec![Data(b"a\nbb"), Pending, Data(b"\ntoolong\nc"), Eof]);
    let mut lines = r.lines();
    assert_eq!(next_item(&mut lines).unwrap().unwrap(), b"a\n");
    assert_eq!(next_item(&mut lines).unwrap().unwrap(), b"bb\n");
    let e = next_item(&mut lines).unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert_eq!(next_item(&mut lines).unwrap().unwrap(), b"c");
    assert!(next_item(&mut lines).is_none());
    assert!(next_item(&mut lines).is_none());
}

#[test]
fn lines_searches_each_line_from_its_start() {
    // The search offset of a line read in two chunks must not leak into
    // the next line.
    let mut r = scripted(64, vec![Data(b"abc"), Pending, Data(b"d\ne\nf\n"), Eof]);
    let mut lines = r.lines();
    assert_eq!(next_item(&mut lines).unwrap().unwrap(), b"abcd\n");
    assert_eq!(next_item(&mut lines).unwrap().unwrap(), b"e\n");
    assert_eq!(next_item(&mut lines).unwrap().unwrap(), b"f\n");
    assert!(next_item(&mut lines).is_none());
}

#[test]
fn lines_dropped_mid_line_keeps_it() {
    let mut r = scripted(64, vec![Data(b"ab"), Pending, Data(b"c\n"), Eof]);
    {
        let mut lines = r.lines();
        let mut next = future::poll_fn(|cx| Pin::new(&mut lines).poll_next(cx));
        assert!(poll_once(Pin::new(&mut next)).is_pending());
    }
    assert_eq!(line(&mut r).unwrap(), b"abc\n");
}

// ---- buffer, construction, misc ----

#[test]
fn consumed_prefix_is_compacted() {
    // Every chunk ends mid-line, so the buffer never drains empty: without
    // compaction the consumed prefix would grow with the stream.
    const CHUNK: &[u8] = b"ab\ncd";
    let mut steps: Vec<Step> = (0..500).map(|_| Data(CHUNK)).collect();
    steps.push(Eof);
    let mut r = scripted(64, steps);
    assert_eq!(line(&mut r).unwrap(), b"ab\n");
    let mut max_len = 0;
    for _ in 0..499 {
        assert_eq!(line(&mut r).unwrap(), b"cdab\n");
        max_len = max_len.max(r.buf.len());
    }
    assert_eq!(line(&mut r).unwrap(), b"cd");
    assert_eq!(line(&mut r).unwrap(), b"");
    assert!(max_len <= 4 * CHUNK.len(), "buffer grew to {max_len}");
}

#[test]
fn find_separator() {
    assert_eq!(find(b"abcabd", b"abd"), Some(3));
    assert_eq!(find(b"aab", b"ab"), Some(1));
    assert_eq!(find(b"ab", b"abc"), None);
    assert_eq!(find(b"xyz", b"z"), Some(2));
    assert_eq!(find(b"", b"z"), None);
}

#[test]
#[should_panic(expected = "limit must be greater than 0")]
fn zero_limit_panics() {
    let _ = StreamReader::new(0);
}

#[test]
#[should_panic(expected = "called after feed_eof")]
fn feed_data_after_eof_panics() {
    let mut r = StreamReader::default();
    r.feed_eof();
    r.feed_data(b"x");
}

#[test]
fn default_and_debug() {
    let mut r = StreamReader::default();
    assert_eq!(r.limit(), 64 * 1024);
    r.feed_data(b"secret");
    let s = format!("{r:?}");
    assert!(s.contains("buffered: 6") && s.contains("eof: false"), "{s}");
    assert!(s.contains("limit: 65536") && !s.contains("secret"), "{s}");
    assert!(format!("{:?}", r.lines()).contains("buffered: 6"));
}

#[test]
fn reader_and_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let mut r = StreamReader::default();
    assert_send(&r);
    assert_send(&r.readline());
    assert_send(&r.readuntil(b"x"));
    assert_send(&r.lines());
}
