//! The request parser of `kv_server`: RESP2 arrays of bulk strings and
//! inline commands, fed one read at a time. Included with
//! `#[path = "common/resp.rs"] mod resp;`.
//!
//! [`Parser::feed`] takes the bytes of one read and calls its `exec`
//! callback with the arguments of every command they complete
//! (pipelining). Malformed input is a [`ProtocolError`], which the server
//! answers with `-ERR Protocol error: ..` before it closes the connection.
//!
//! # Bounded and incremental
//!
//! - A bulk string is at most [`MAX_BULK`] bytes (512 MiB, Redis's
//!   `proto-max-bulk-len`), and a whole request at most [`QUERY_LIMIT`]
//!   bytes: 513 MiB, room for one bulk of the largest size and 1 MiB for
//!   the rest of the command. (Redis's `client-query-buffer-limit` is
//!   1 GiB per client; without a limit, one command of 64 bulks of
//!   16 MiB took 1 GiB per connection.) A bulk header that would take the
//!   request past the limit is refused as soon as it arrives, before its
//!   data.
//! - Only the incomplete request is kept between reads, so a connection
//!   holds at most `QUERY_LIMIT` bytes of input, plus one read for the
//!   time of a call; its buffer grows at most to the limit (not to the
//!   next power of two) and shrinks back once the request is done. The
//!   argument list holds at most [`MAX_ARGS`] ranges (16 MiB).
//! - Parsing resumes where the previous read stopped: arguments already
//!   parsed are kept as ranges, and the search for a line's end resumes
//!   where it stopped, so every byte is examined a bounded number of
//!   times, however the request is split into reads. A read is parsed in
//!   place when nothing is pending; only an incomplete tail is copied.
#![allow(dead_code)] // the tests use more of it than the server

use std::ops::Range;

/// Largest bulk string (Redis's `proto-max-bulk-len`).
pub(crate) const MAX_BULK: usize = 512 << 20;
/// Largest request, and most input bytes kept for one client between
/// reads: one bulk of `MAX_BULK` and 1 MiB for the rest of the command
/// (Redis's `client-query-buffer-limit` is 1 GiB; see the module docs).
pub(crate) const QUERY_LIMIT: usize = MAX_BULK + (1 << 20);
/// Most elements in one request array.
pub(crate) const MAX_ARGS: usize = 1 << 20;
/// Longest inline command line, and longest `*`/`$` header line.
pub(crate) const MAX_INLINE: usize = 64 * 1024;
/// An idle connection's buffer shrinks back to this once a big request is
/// done.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Malformed input: answered with `-ERR Protocol error: <msg>`, then the
/// connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProtocolError(pub(crate) &'static str);

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
}

/// The size limits of a parser ([`Limits::REDIS`] in the server; the
/// tests scale them down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_bulk: usize,
    pub(crate) query_limit: usize,
}

impl Limits {
    /// Redis's `proto-max-bulk-len`, and room for one such bulk per
    /// request.
    pub(crate) const REDIS: Limits = Limits {
        max_bulk: MAX_BULK,
        query_limit: QUERY_LIMIT,
    };
}

/// How far the request at the front of the input has been parsed. All
/// positions are offsets from the request's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing parsed yet.
    Start,
    /// An inline command whose first `scanned` bytes hold no `\n`.
    Inline { scanned: usize },
    /// The `*<n>` header line, its first `scanned` bytes without `\r\n`.
    Header { scanned: usize },
    /// `left` bulks to come, the next one's header line at `pos` (its
    /// bytes before `scanned` hold no `\r\n`).
    Array {
        left: usize,
        pos: usize,
        scanned: usize,
    },
    /// The data of a bulk: `len` bytes at `start`, then `\r\n`; `left`
    /// bulks after it.
    Bulk {
        left: usize,
        start: usize,
        len: usize,
    },
}

/// One connection's request parser; see the module docs.
#[derive(Debug)]
pub(crate) struct Parser {
    /// The incomplete request, from its first byte.
    pending: Vec<u8>,
    state: State,
    /// The arguments parsed so far, as ranges of the request.
    args: Vec<Range<usize>>,
    limits: Limits,
    /// Input bytes examined, for the tests' work accounting.
    #[cfg(test)]
    examined: usize,
}

impl Parser {
    /// A parser with Redis's limits.
    pub(crate) fn new() -> Parser {
        Parser::with_limits(Limits::REDIS)
    }

    pub(crate) fn with_limits(limits: Limits) -> Parser {
        Parser {
            pending: Vec::new(),
            state: State::Start,
            args: Vec::new(),
            limits,
            #[cfg(test)]
            examined: 0,
        }
    }

    /// Takes the bytes of one read and runs `exec` on the arguments of
    /// every command they complete, in order, until one returns
    /// `Flow::Close`. An incomplete command is kept for the next call.
    ///
    /// # Errors
    /// Malformed input or a request over the limits; the connection is
    /// then done (commands before the error have run).
    pub(crate) fn feed(
        &mut self,
        data: &[u8],
        exec: &mut dyn FnMut(&[&[u8]]) -> Flow,
    ) -> Result<Flow, ProtocolError> {
        if self.pending.is_empty() {
            // The common case: parse the read in place, keep only a tail.
            let (used, flow) = self.run(data, exec)?;
            if flow == Flow::Continue {
                let mut buf = std::mem::take(&mut self.pending);
                self.append(&mut buf, &data[used..]);
                self.pending = buf;
                self.check_kept()?;
            }
            return Ok(flow);
        }
        let mut buf = std::mem::take(&mut self.pending);
        self.append(&mut buf, data);
        let (used, flow) = self.run(&buf, exec)?;
        buf.drain(..used);
        if buf.capacity() > KEEP_CAPACITY && buf.len() < buf.capacity() / 4 {
            buf.shrink_to(KEEP_CAPACITY.max(buf.len()));
        }
        self.pending = buf;
        self.check_kept()?;
        Ok(flow)
    }

    /// Bytes of input kept for an incomplete request.
    pub(crate) fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of memory the parser holds for its input: the buffer's
    /// capacity and the argument ranges'.
    pub(crate) fn memory(&self) -> usize {
        self.pending.capacity() + self.args.capacity() * std::mem::size_of::<Range<usize>>()
    }

    /// Appends to `buf`, growing it by doubling but never past the query
    /// limit (or what this one call needs).
    fn append(&self, buf: &mut Vec<u8>, data: &[u8]) {
        let need = buf.len() + data.len();
        if need > buf.capacity() {
            let cap = (buf.capacity() * 2)
                .max(need)
                .min(self.limits.query_limit.max(need));
            buf.reserve_exact(cap - buf.len());
        }
        buf.extend_from_slice(data);
    }

    fn check_kept(&self) -> Result<(), ProtocolError> {
        if self.pending.len() > self.limits.query_limit {
            return Err(ProtocolError("query buffer limit reached"));
        }
        Ok(())
    }

    /// Runs the complete commands at the front of `buf`; returns the
    /// bytes they took.
    fn run(
        &mut self,
        buf: &[u8],
        exec: &mut dyn FnMut(&[&[u8]]) -> Flow,
    ) -> Result<(usize, Flow), ProtocolError> {
        let mut pos = 0;
        let mut argv: Vec<&[u8]> = Vec::new();
        while let Some(len) = self.parse(&buf[pos..])? {
            let req = &buf[pos..pos + len];
            argv.clear();
            argv.extend(self.args.drain(..).map(|r| &req[r]));
            pos += len;
            if exec(&argv) == Flow::Close {
                return Ok((pos, Flow::Close));
            }
        }
        if self.args.capacity() > 1024 && self.args.is_empty() {
            self.args = Vec::new();
        }
        Ok((pos, Flow::Continue))
    }

    /// Parses on through `req`, the bytes of the current request received
    /// so far. `Some(len)`: the request is `len` bytes, its arguments are
    /// in `self.args`, and the state is back at `Start`. `None`: more
    /// bytes are needed (the progress is kept).
    fn parse(&mut self, req: &[u8]) -> Result<Option<usize>, ProtocolError> {
        loop {
            match self.state {
                State::Start => match req.first() {
                    None => return Ok(None),
                    Some(b'*') => self.state = State::Header { scanned: 0 },
                    Some(_) => self.state = State::Inline { scanned: 0 },
                },
                State::Inline { scanned } => {
                    let Some(nl) = self.find(req, scanned, b"\n") else {
                        if req.len() > MAX_INLINE {
                            return Err(ProtocolError("too big inline request"));
                        }
                        self.state = State::Inline { scanned: req.len() };
                        return Ok(None);
                    };
                    self.count(nl);
                    self.args.extend(
                        req[..nl]
                            .split(u8::is_ascii_whitespace)
                            .filter(|w| !w.is_empty())
                            .map(|w| {
                                let start = w.as_ptr() as usize - req.as_ptr() as usize;
                                start..start + w.len()
                            }),
                    );
                    self.state = State::Start;
                    return Ok(Some(nl + 1));
                }
                State::Header { scanned } => {
                    let Some(end) = self.find(req, scanned, b"\r\n") else {
                        self.too_long(req.len(), "too big mbulk count string")?;
                        self.state = State::Header { scanned: req.len() };
                        return Ok(None);
                    };
                    let n =
                        parse_int(&req[1..end]).ok_or(ProtocolError("invalid multibulk length"))?;
                    let pos = end + 2;
                    if n <= 0 {
                        self.state = State::Start;
                        return Ok(Some(pos));
                    }
                    if n as u64 > MAX_ARGS as u64 {
                        return Err(ProtocolError("invalid multibulk length"));
                    }
                    self.state = State::Array {
                        left: n as usize,
                        pos,
                        scanned: pos,
                    };
                }
                State::Array { left: 0, pos, .. } => {
                    self.state = State::Start;
                    return Ok(Some(pos));
                }
                State::Array { left, pos, scanned } => {
                    match req.get(pos) {
                        None => return Ok(None),
                        Some(b'$') => {}
                        Some(_) => return Err(ProtocolError("expected '$'")),
                    }
                    let Some(end) = self.find(req, scanned, b"\r\n") else {
                        self.too_long(req.len() - pos, "too big bulk count string")?;
                        self.state = State::Array {
                            left,
                            pos,
                            scanned: req.len(),
                        };
                        return Ok(None);
                    };
                    let len = parse_int(&req[pos + 1..end])
                        .filter(|&l| l >= 0 && l as u64 <= self.limits.max_bulk as u64)
                        .ok_or(ProtocolError("invalid bulk length"))?
                        as usize;
                    let start = end + 2;
                    // Refused before the data comes: the whole request
                    // would be over the limit.
                    if start + len + 2 > self.limits.query_limit {
                        return Err(ProtocolError("request over the query buffer limit"));
                    }
                    self.state = State::Bulk {
                        left: left - 1,
                        start,
                        len,
                    };
                }
                State::Bulk { left, start, len } => {
                    let end = start + len;
                    if req.len() < end + 2 {
                        return Ok(None);
                    }
                    self.count(2);
                    if &req[end..end + 2] != b"\r\n" {
                        return Err(ProtocolError("bulk string not followed by CRLF"));
                    }
                    self.args.push(start..end);
                    self.state = State::Array {
                        left,
                        pos: end + 2,
                        scanned: end + 2,
                    };
                }
            }
        }
    }

    /// The position of `sep` in `req`, searching from `scanned` (less
    /// what may be the first bytes of a split separator).
    fn find(&mut self, req: &[u8], scanned: usize, sep: &[u8]) -> Option<usize> {
        let from = scanned.saturating_sub(sep.len() - 1);
        let found = req[from..]
            .windows(sep.len())
            .position(|w| w == sep)
            .map(|i| from + i);
        self.count(found.map_or(req.len(), |i| i + sep.len()) - from);
        found
    }

    /// An unfinished header line longer than any valid one.
    fn too_long(&self, len: usize, msg: &'static str) -> Result<(), ProtocolError> {
        if len > MAX_INLINE {
            return Err(ProtocolError(msg));
        }
        Ok(())
    }

    /// Work accounting for the tests.
    fn count(&mut self, _n: usize) {
        #[cfg(test)]
        {
            self.examined += _n;
        }
    }
}

/// A signed decimal as Redis writes lengths: no sign but `-`, no spaces.
pub(crate) fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Accumulated negatively, so that i64::MIN parses too.
    let v = digits.iter().try_fold(0i64, |v, d| {
        v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))
    })?;
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in reads of `chunk` bytes: the commands run (as
    /// strings), the result of the last read, and the parser.
    fn run(
        parser: &mut Parser,
        input: &[u8],
        chunk: usize,
    ) -> (Vec<Vec<String>>, Result<Flow, ProtocolError>) {
        let mut cmds = Vec::new();
        let mut res = Ok(Flow::Continue);
        for part in input.chunks(chunk.max(1)) {
            res = parser.feed(part, &mut |args| {
                cmds.push(
                    args.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect(),
                );
                if args
                    .first()
                    .is_some_and(|a| a.eq_ignore_ascii_case(b"QUIT"))
                {
                    Flow::Close
                } else {
                    Flow::Continue
                }
            });
            if res != Ok(Flow::Continue) {
                break;
            }
        }
        (cmds, res)
    }

    fn cmd(args: &[&str]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        v
    }

    #[test]
    fn resp_and_inline_in_any_split() {
        let mut input = cmd(&["SET", "k", "hello"]);
        input.extend_from_slice(b"get  k\r\n\r\n*0\r\n");
        input.extend_from_slice(&cmd(&["PING"]));
        input.extend_from_slice(b"PING hi\n");
        let expect: Vec<Vec<String>> = [
            &["SET", "k", "hello"][..],
            &["get", "k"],
            &[],
            &[],
            &["PING"],
            &["PING", "hi"],
        ]
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
        for chunk in 1..=input.len() {
            let mut p = Parser::new();
            let (cmds, res) = run(&mut p, &input, chunk);
            assert_eq!(
                (cmds, res),
                (expect.clone(), Ok(Flow::Continue)),
                "reads of {chunk}"
            );
            assert_eq!(p.buffered(), 0);
        }
    }

    #[test]
    fn partial_commands_wait_and_quit_stops() {
        let full = cmd(&["ECHO", "hello"]);
        for cut in 0..full.len() {
            let mut p = Parser::new();
            let (cmds, res) = run(&mut p, &full[..cut], full.len());
            assert!(cmds.is_empty() && res == Ok(Flow::Continue));
            assert_eq!(p.buffered(), cut);
        }
        let mut p = Parser::new();
        let (cmds, res) = run(&mut p, b"QUIT\r\nPING\r\n", 100);
        assert_eq!((cmds.len(), res), (1, Ok(Flow::Close)));
    }

    #[test]
    fn protocol_errors() {
        for bad in [
            &b"*x\r\n"[..],
            b"*1\r\n+PING\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$4\r\nPINGxx",
            b"*1\r\n$99999999999999999999\r\n",
            b"*9999999999\r\n",
            b"*1\r\n$536870913\r\n",
        ] {
            let (_, res) = run(&mut Parser::new(), bad, bad.len());
            assert!(res.is_err(), "{bad:?}: {res:?}");
        }
        let long = vec![b'a'; MAX_INLINE + 1];
        assert!(run(&mut Parser::new(), &long, 1024).1.is_err());
        let mut header = b"*1\r\n$".to_vec();
        header.resize(MAX_INLINE + 10, b'1');
        assert!(run(&mut Parser::new(), &header, 1024).1.is_err());
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
    }

    /// Issue 12, item 7: one command of 64 bulks of 16 MiB took 1 GiB per
    /// connection. Here at a 1/1024 scale (bulks of 16 KiB, limits of
    /// 512 and 513 KiB, the same code), then the bulk limit at Redis's
    /// size without the data.
    #[test]
    fn a_request_over_the_query_limit_is_refused_before_its_data_is_kept() {
        let limits = Limits {
            max_bulk: MAX_BULK >> 10,
            query_limit: QUERY_LIMIT >> 10,
        };
        let bulk = 16 << 10;
        let mut input = b"*64\r\n".to_vec();
        for _ in 0..64 {
            input.extend_from_slice(format!("${bulk}\r\n").as_bytes());
            input.resize(input.len() + bulk, b'v');
            input.extend_from_slice(b"\r\n");
        }
        for chunk in [1000, 16 << 10, 64 << 10] {
            let mut p = Parser::with_limits(limits);
            let (mut most, mut res) = (0, Ok(Flow::Continue));
            for part in input.chunks(chunk) {
                res = p.feed(part, &mut |_| panic!("no command completes"));
                most = most.max(p.memory());
                if res.is_err() {
                    break;
                }
            }
            assert_eq!(
                res,
                Err(ProtocolError("request over the query buffer limit"))
            );
            // The limit, one read, and the ranges of 32 arguments.
            let bound = limits.query_limit + chunk + 64 * std::mem::size_of::<Range<usize>>();
            assert!(most <= bound, "reads of {chunk}: {most} bytes held");
        }
        // A bulk may be as large as MAX_BULK, not more; the request as a
        // whole is refused at the header that takes it over the limit.
        let (_, res) = run(&mut Parser::new(), b"*2\r\n$536870912\r\n", 100);
        assert_eq!(res, Ok(Flow::Continue), "512 MiB is accepted");
        let (_, res) = run(&mut Parser::new(), b"*2\r\n$536870913\r\n", 100);
        assert_eq!(res, Err(ProtocolError("invalid bulk length")));
    }

    #[test]
    fn the_buffer_shrinks_back_after_a_big_request() {
        let mut p = Parser::new();
        let value = "v".repeat(4 << 20);
        let (cmds, _) = run(&mut p, &cmd(&["SET", "k", &value]), 16 << 10);
        assert_eq!(cmds.len(), 1);
        assert!(
            p.memory() <= 64 << 10,
            "{} bytes held when idle",
            p.memory()
        );
    }

    /// Issue 12, item 7: the whole array was re-parsed on every read (1M
    /// tiny arguments: 3.6 s of CPU).
    #[test]
    fn every_byte_is_examined_a_bounded_number_of_times() {
        let n = 200_000;
        let mut input = format!("*{n}\r\n").into_bytes();
        for _ in 0..n {
            input.extend_from_slice(b"$1\r\nx\r\n");
        }
        for chunk in [1, 7, 16 << 10] {
            let mut p = Parser::new();
            let mut args = 0;
            let res = input
                .chunks(chunk)
                .map(|part| {
                    p.feed(part, &mut |a| {
                        args += a.len();
                        Flow::Continue
                    })
                })
                .last();
            assert_eq!(
                (res, args),
                (Some(Ok(Flow::Continue)), n),
                "reads of {chunk}"
            );
            // A split line terminator is looked at once more per read.
            let bound = 2 * input.len() + input.len() / chunk;
            assert!(
                p.examined <= bound,
                "reads of {chunk}: {} > {bound}",
                p.examined
            );
        }
        // A long inline line split into many reads.
        let mut line = b"SET k ".to_vec();
        line.resize(MAX_INLINE - 2, b'v');
        line.extend_from_slice(b"\r\n");
        let mut p = Parser::new();
        let (cmds, _) = run(&mut p, &line, 1);
        assert_eq!(cmds.len(), 1);
        assert!(p.examined <= 2 * line.len(), "{}", p.examined);
    }
}
