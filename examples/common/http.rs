//! The HTTP/1.1 request parser and responder shared by the `http_hello`
//! (aio) and `http_hello_tokio` (tokio) examples through
//! `#[path = "common/http.rs"] mod http;`, so that the two servers differ
//! only in the runtime and its socket calls.
//!
//! A [`Conn`] is one connection's parser. [`Conn::feed`] takes the bytes
//! of one read, answers every request they complete (pipelining), and
//! appends all responses to one output buffer (one write per read). It
//! never panics on input: a malformed request gets `400` and the
//! connection is closed; a request head over [`MAX_HEAD`] bytes gets `431`
//! and is closed; a body over [`MAX_BODY`] gets `413`; `Transfer-Encoding`
//! gets `501`.
//!
//! # Bounded and incremental
//!
//! - Empty lines before a request line are tolerated (RFC 9112 §2.2), but
//!   they are consumed as they come and counted against [`MAX_HEAD`]: a
//!   client that sends only `\r\n` gets `431` after 8 KiB and never grows
//!   a buffer.
//! - Only an incomplete request head is kept between reads, so a
//!   connection holds at most [`MAX_HEAD`] bytes of input (plus, for one
//!   call, the read that overflows it, which is then answered `431`).
//!   Bodies are never stored: their bytes are counted off as they arrive,
//!   and the response goes out when the last one has.
//! - The search for the end of the head resumes where the previous read
//!   left it, so every input byte is examined a bounded number of times,
//!   however the input is split into reads.
//!
//! Routes: `GET /` and `HEAD /` answer `Hello, world!`, any other method on
//! `/` answers `405`, any other path `404`.

/// Largest accepted request head (request line + headers + blank line),
/// empty lines before the request line included.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// Largest accepted request body (`Content-Length`); bodies are discarded.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What the connection does after the responses of one [`Conn::feed`]
/// call are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read more requests.
    KeepOpen,
    /// Close the connection (client asked for it, or the input was bad).
    Close,
}

/// One connection's request parser; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Conn {
    /// The incomplete request head, from its first byte after any empty
    /// lines (at most `MAX_HEAD` bytes between reads).
    pending: Vec<u8>,
    /// Bytes at the front of the head already searched for its end.
    scanned: usize,
    /// Bytes of empty lines consumed before this request's line.
    blank: usize,
    /// Body bytes of the current request still to come, and its response
    /// (sent once they have).
    body: Option<(usize, Response)>,
    /// Input bytes examined, for the tests' work accounting.
    #[cfg(test)]
    examined: usize,
}

/// A response to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Response {
    status: Status,
    head_only: bool,
    close: bool,
}

/// What the front of the input holds.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// More bytes are needed; none of these were consumed.
    Partial,
    /// `n` bytes were consumed; answer with the response, if any.
    Consumed(usize, Option<Response>),
    /// Answer `status` and close.
    Reject(Status),
}

impl Conn {
    /// A parser for a new connection.
    pub(crate) fn new() -> Conn {
        Conn::default()
    }

    /// Takes the bytes of one read, appends the responses to every request
    /// they complete to `out`, and keeps an incomplete head for the next
    /// call. After `Next::Close`, the connection is done.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) -> Next {
        if self.pending.is_empty() {
            // The common case: parse the read in place, keep only a tail.
            let (used, next) = self.parse_all(data, out);
            if next == Next::KeepOpen {
                self.pending.extend_from_slice(&data[used..]);
            }
            return next;
        }
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(data);
        let (used, next) = self.parse_all(&buf, out);
        buf.drain(..used);
        self.pending = buf;
        next
    }

    /// Answers the requests at the front of `buf`; returns the bytes
    /// consumed. What is left (an incomplete head) is at most `MAX_HEAD`.
    fn parse_all(&mut self, buf: &[u8], out: &mut Vec<u8>) -> (usize, Next) {
        let mut pos = 0;
        loop {
            match self.step(&buf[pos..]) {
                Step::Partial => return (pos, Next::KeepOpen),
                Step::Consumed(n, response) => {
                    pos += n;
                    if let Some(r) = response {
                        respond(out, r.status, r.head_only, r.close);
                        if r.close {
                            return (pos, Next::Close);
                        }
                    }
                }
                Step::Reject(status) => {
                    respond(out, status, false, true);
                    return (pos, Next::Close);
                }
            }
        }
    }

    /// One step at the front of `buf`: body bytes, empty lines, or a head.
    fn step(&mut self, buf: &[u8]) -> Step {
        if let Some((left, response)) = self.body {
            if buf.is_empty() {
                return Step::Partial;
            }
            let n = left.min(buf.len());
            self.count(n);
            self.body = (left > n).then_some((left - n, response));
            return Step::Consumed(n, self.body.is_none().then_some(response));
        }
        if self.scanned == 0 {
            // At the start of a request: consume empty lines, counted.
            let blank = buf.chunks_exact(2).take_while(|l| l == b"\r\n").count() * 2;
            if blank > 0 {
                self.count(blank);
                self.blank += blank;
                if self.blank > MAX_HEAD {
                    return Step::Reject(Status::HeadersTooLarge);
                }
                return Step::Consumed(blank, None);
            }
        }
        if buf.is_empty() || buf == b"\r" {
            return Step::Partial;
        }
        // Resume the search for "\r\n\r\n" where the last one stopped (it
        // may have ended inside the first 3 bytes of the terminator).
        let from = self.scanned.saturating_sub(3);
        let Some(end) = buf[from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| from + i)
        else {
            self.count(buf.len() - from);
            self.scanned = buf.len();
            return if self.blank + buf.len() > MAX_HEAD {
                Step::Reject(Status::HeadersTooLarge)
            } else {
                Step::Partial
            };
        };
        let head_len = end + 4;
        self.count(head_len - from);
        if self.blank + head_len > MAX_HEAD {
            return Step::Reject(Status::HeadersTooLarge);
        }
        let (response, body_len) = match parse_head(&buf[..end]) {
            Ok(parsed) => parsed,
            Err(status) => return Step::Reject(status),
        };
        self.scanned = 0;
        self.blank = 0;
        if body_len == 0 {
            return Step::Consumed(head_len, Some(response));
        }
        self.body = Some((body_len, response));
        Step::Consumed(head_len, None)
    }

    /// Work accounting for the tests.
    fn count(&mut self, _n: usize) {
        #[cfg(test)]
        {
            self.examined += _n;
        }
    }
}

/// The response status of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    HeadersTooLarge,
    NotImplemented,
}

impl Status {
    fn line_and_body(self) -> (&'static str, &'static str) {
        match self {
            Status::Ok => ("200 OK", "Hello, world!"),
            Status::BadRequest => ("400 Bad Request", "Bad Request\n"),
            Status::NotFound => ("404 Not Found", "Not Found\n"),
            Status::MethodNotAllowed => ("405 Method Not Allowed", "Method Not Allowed\n"),
            Status::PayloadTooLarge => ("413 Content Too Large", "Content Too Large\n"),
            Status::HeadersTooLarge => (
                "431 Request Header Fields Too Large",
                "Request Header Fields Too Large\n",
            ),
            Status::NotImplemented => ("501 Not Implemented", "Not Implemented\n"),
        }
    }
}

/// Appends one response.
fn respond(out: &mut Vec<u8>, status: Status, head_only: bool, close: bool) {
    let (line, body) = status.line_and_body();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: text/plain\r\n");
    if status == Status::MethodNotAllowed {
        out.extend_from_slice(b"Allow: GET, HEAD\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether the comma-separated header value `v` lists `token`.
fn lists(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
impl Conn {
    /// Bytes kept for an incomplete request head.
    fn buffered(&self) -> usize {
        self.pending.len()
    }
}

/// Parses a request head (without its final "\r\n\r\n"): the response
/// and the body length, or the status to reject it with.
fn parse_head(head: &[u8]) -> Result<(Response, usize), Status> {
    let mut lines = head.split(|&b| b == b'\n').map(|l| {
        // Every line but the last ends in "\r\n"; the last had its "\r\n"
        // cut off by `end`, so a lone '\r' here means a bare CR.
        l.strip_suffix(b"\r").unwrap_or(l)
    });
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Status::BadRequest);
    };
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        _ => return Err(Status::BadRequest),
    };
    if !is_token(method) || target.is_empty() || !target.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Status::BadRequest);
    }
    let mut close = http10;
    let mut body_len: Option<usize> = None;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(Status::BadRequest);
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if !is_token(name) || value.iter().any(|&b| b == b'\r' || b == 0) {
            return Err(Status::BadRequest);
        }
        if name.eq_ignore_ascii_case(b"connection") {
            if lists(value, b"close") {
                close = true;
            } else if lists(value, b"keep-alive") {
                close = false;
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<usize>().ok());
            match (n, body_len) {
                (None, _) => return Err(Status::BadRequest),
                (Some(n), Some(prev)) if n != prev => return Err(Status::BadRequest),
                (Some(n), _) => body_len = Some(n),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Status::NotImplemented);
        }
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY {
        return Err(Status::PayloadTooLarge);
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let head_only = method == b"HEAD";
    let status = match (path, method) {
        (b"/", b"GET" | b"HEAD") => Status::Ok,
        (b"/", _) => Status::MethodNotAllowed,
        _ => Status::NotFound,
    };
    let response = Response {
        status,
        head_only,
        close,
    };
    Ok((response, body_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in one read to a new connection: the responses, what
    /// comes next, and the bytes kept.
    fn run(input: &[u8]) -> (String, Next, usize) {
        let mut c = Conn::new();
        let mut out = Vec::new();
        let next = c.feed(input, &mut out);
        (String::from_utf8(out).unwrap(), next, c.buffered())
    }

    /// Feeds `input` in reads of `chunk` bytes (stopping at a close): the
    /// responses, what came last, the parser, and the most bytes it kept
    /// between two reads.
    fn run_chunked(input: &[u8], chunk: usize) -> (String, Next, Conn, usize) {
        let mut c = Conn::new();
        let mut out = Vec::new();
        let mut next = Next::KeepOpen;
        let mut kept = 0;
        for part in input.chunks(chunk) {
            next = c.feed(part, &mut out);
            if next == Next::Close {
                break;
            }
            kept = kept.max(c.buffered());
        }
        assert!(kept <= MAX_HEAD, "{kept} bytes kept");
        (String::from_utf8(out).unwrap(), next, c, kept)
    }

    const OK: &str =
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";

    #[test]
    fn get_root() {
        let (out, next, left) = run(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!((out.as_str(), next, left), (OK, Next::KeepOpen, 0));
    }

    #[test]
    fn pipelined_and_partial() {
        let (out, next, left) =
            run(b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHo");
        assert!(out.starts_with(OK));
        assert!(out[OK.len()..].starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert_eq!((next, left), (Next::KeepOpen, "GET / HTTP/1.1\r\nHo".len()));
    }

    #[test]
    fn any_split_into_reads_gives_the_same_responses() {
        let input: &[u8] = b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /x HTTP/1.1\r\n\
            Content-Length: 5\r\n\r\nhello\r\n\r\nHEAD / HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n";
        let (whole, _, _) = run(input);
        assert_eq!(whole.matches("HTTP/1.1 ").count(), 4, "{whole}");
        for chunk in 1..input.len() {
            let (out, next, c, _) = run_chunked(input, chunk);
            assert_eq!(
                (out.as_str(), next),
                (whole.as_str(), Next::KeepOpen),
                "reads of {chunk}"
            );
            assert_eq!(c.buffered(), 0);
        }
    }

    #[test]
    fn connection_close() {
        let (out, next, _) =
            run(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert!(out.contains("Connection: close\r\n"));
        assert_eq!(out.matches("HTTP/1.1").count(), 1);
        assert_eq!(next, Next::Close);
        let (_, next, _) = run(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(next, Next::Close);
        let (_, next, _) = run(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(next, Next::KeepOpen);
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"\xff / HTTP/1.1\r\n\r\n",
        ] {
            let (out, next, _) = run(bad);
            assert!(out.starts_with("HTTP/1.1 400 "), "{bad:?}: {out}");
            assert_eq!(next, Next::Close);
        }
    }

    #[test]
    fn too_large_head() {
        let mut req = b"GET / HTTP/1.1\r\nX: ".to_vec();
        req.resize(MAX_HEAD + 10, b'a');
        let (out, next, _) = run(&req);
        assert!(out.starts_with("HTTP/1.1 431 "));
        assert_eq!(next, Next::Close);
        req.truncate(MAX_HEAD - 100);
        assert_eq!(run(&req).1, Next::KeepOpen);
    }

    /// Issue 12, item 7: a client that sent only "\r\n" grew the input
    /// buffer without limit, and every read rescanned all of it.
    #[test]
    fn leading_empty_lines_are_consumed_and_counted_against_the_head_limit() {
        // A few before a request are fine, however they are split.
        let mut input = b"\r\n".repeat(100);
        input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        for chunk in [1, 3, 7, 4096] {
            let (out, next, c, kept) = run_chunked(&input, chunk);
            assert_eq!(
                (out.as_str(), next),
                (OK, Next::KeepOpen),
                "reads of {chunk}"
            );
            assert_eq!(c.buffered(), 0);
            assert!(kept < 20, "reads of {chunk}: {kept} bytes kept");
        }
        // Only empty lines: 431 once they pass the head limit, without
        // keeping them; the rest of the 1 MiB is never looked at.
        let flood = b"\r\n".repeat(512 * 1024);
        for chunk in [1, 2, 3, 16 * 1024] {
            let (out, next, c, kept) = run_chunked(&flood, chunk);
            assert!(out.starts_with("HTTP/1.1 431 "), "reads of {chunk}: {out}");
            assert_eq!(next, Next::Close);
            assert!(kept <= 1, "reads of {chunk}: {kept} bytes kept");
            let bound = MAX_HEAD + chunk + 2;
            assert!(c.examined <= bound, "reads of {chunk}: {}", c.examined);
        }
        // Empty lines and the head together are held to the limit.
        let with_blanks = |total: usize| {
            let mut input = b"\r\n".repeat(2048);
            input.extend_from_slice(b"GET / HTTP/1.1\r\nX: ");
            input.resize(total - 4, b'a');
            input.extend_from_slice(b"\r\n\r\n");
            run(&input).0
        };
        assert_eq!(with_blanks(MAX_HEAD), OK);
        assert!(with_blanks(MAX_HEAD + 1).starts_with("HTTP/1.1 431 "));
    }

    /// Issue 12, item 7: each read rescanned the whole buffer (quadratic in
    /// the head's size when it comes in small reads).
    #[test]
    fn every_byte_is_examined_a_bounded_number_of_times() {
        let mut head = b"GET / HTTP/1.1\r\nX: ".to_vec();
        head.resize(MAX_HEAD - 4, b'a');
        head.extend_from_slice(b"\r\n\r\n");
        for chunk in [1, 2, 5, 100] {
            let (out, _, c, _) = run_chunked(&head, chunk);
            assert_eq!(out, OK);
            // The search backs up 3 bytes per read for a split terminator.
            let bound = head.len() + 3 * head.len().div_ceil(chunk);
            assert!(
                c.examined <= bound,
                "reads of {chunk}: {} > {bound}",
                c.examined
            );
        }
    }

    #[test]
    fn body_is_skipped_without_being_kept() {
        let (out, _, left) =
            run(b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 404 "));
        assert!(out.ends_with(OK));
        assert_eq!(left, 0);
        // The response waits for the whole body; its bytes are not kept.
        let mut c = Conn::new();
        let mut out = Vec::new();
        let head = format!("POST / HTTP/1.1\r\nContent-Length: {MAX_BODY}\r\n\r\n");
        assert_eq!(c.feed(head.as_bytes(), &mut out), Next::KeepOpen);
        for _ in 0..MAX_BODY / 1024 {
            assert!(out.is_empty());
            assert_eq!(c.feed(&[b'x'; 1024], &mut out), Next::KeepOpen);
            assert_eq!(c.buffered(), 0);
        }
        assert!(String::from_utf8(out).unwrap().starts_with("HTTP/1.1 405 "));
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(run(big.as_bytes()).0.starts_with("HTTP/1.1 413 "));
    }

    #[test]
    fn head() {
        let (out, _, _) = run(b"HEAD / HTTP/1.1\r\n\r\n");
        assert!(out.ends_with("\r\n\r\n") && out.contains("Content-Length: 13"));
    }
}
