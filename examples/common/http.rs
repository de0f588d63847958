//! The HTTP/1.1 request parser and responder shared by the `http_hello`
//! (aio) and `http_hello_tokio` (tokio) examples through
//! `#[path = "common/http.rs"] mod http;`, so that the two servers differ
//! only in the runtime and its socket calls.
//!
//! [`process`] takes a connection's input buffer, answers every complete
//! request in it (pipelining), appends all responses to one output buffer
//! (one write per read), and removes the consumed bytes. It never panics on
//! input: a malformed request gets `400` and the connection is closed; a
//! request head over [`MAX_HEAD`] bytes gets `431` and is closed; a body
//! over [`MAX_BODY`] gets `413`; `Transfer-Encoding` gets `501`.
//!
//! Routes: `GET /` and `HEAD /` answer `Hello, world!`, any other method on
//! `/` answers `405`, any other path `404`.

/// Largest accepted request head (request line + headers + blank line).
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// Largest accepted request body (`Content-Length`); bodies are discarded.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What the connection does after the responses of one [`process`] call
/// are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read more requests.
    KeepOpen,
    /// Close the connection (client asked for it, or the input was bad).
    Close,
}

/// Answers every complete request at the front of `input`, appending the
/// responses to `out`, and drains the bytes it consumed from `input` (a
/// partial request stays for the next read).
pub(crate) fn process(input: &mut Vec<u8>, out: &mut Vec<u8>) -> Next {
    let mut pos = 0;
    let next = loop {
        match one_request(&input[pos..]) {
            Parsed::Partial => break Next::KeepOpen,
            Parsed::Request {
                len,
                status,
                head_only,
                close,
            } => {
                respond(out, status, head_only, close);
                pos += len;
                if close {
                    break Next::Close;
                }
            }
            Parsed::Reject(status) => {
                respond(out, status, false, true);
                break Next::Close;
            }
        }
    };
    input.drain(..pos);
    next
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

/// The result of parsing the front of the input.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A whole request of `len` bytes (head and body).
    Request {
        len: usize,
        status: Status,
        head_only: bool,
        close: bool,
    },
    /// Answer `status` and close.
    Reject(Status),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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

fn one_request(buf: &[u8]) -> Parsed {
    // Tolerate empty lines before a request line (RFC 9112 §2.2).
    let mut skip = 0;
    while buf[skip..].starts_with(b"\r\n") {
        skip += 2;
    }
    let buf = &buf[skip..];
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Parsed::Reject(Status::HeadersTooLarge)
        } else {
            Parsed::Partial
        };
    };
    let head_len = end + 4;
    if head_len > MAX_HEAD {
        return Parsed::Reject(Status::HeadersTooLarge);
    }
    let mut lines = buf[..end].split(|&b| b == b'\n').map(|l| {
        // Every line but the last ends in "\r\n"; the last had its "\r\n"
        // cut off by `end`, so a lone '\r' here means a bare CR.
        l.strip_suffix(b"\r").unwrap_or(l)
    });
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Reject(Status::BadRequest);
    };
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        _ => return Parsed::Reject(Status::BadRequest),
    };
    if !is_token(method) || target.is_empty() || !target.iter().all(|b| b.is_ascii_graphic()) {
        return Parsed::Reject(Status::BadRequest);
    }
    let mut close = http10;
    let mut body_len: Option<usize> = None;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Parsed::Reject(Status::BadRequest);
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if !is_token(name) || value.iter().any(|&b| b == b'\r' || b == 0) {
            return Parsed::Reject(Status::BadRequest);
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
                (None, _) => return Parsed::Reject(Status::BadRequest),
                (Some(n), Some(prev)) if n != prev => return Parsed::Reject(Status::BadRequest),
                (Some(n), _) => body_len = Some(n),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Parsed::Reject(Status::NotImplemented);
        }
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY {
        return Parsed::Reject(Status::PayloadTooLarge);
    }
    if buf.len() < head_len + body_len {
        return Parsed::Partial;
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let head_only = method == b"HEAD";
    let status = match (path, method) {
        (b"/", b"GET" | b"HEAD") => Status::Ok,
        (b"/", _) => Status::MethodNotAllowed,
        _ => Status::NotFound,
    };
    Parsed::Request {
        len: skip + head_len + body_len,
        status,
        head_only,
        close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (String, Next, usize) {
        let mut inbuf = input.to_vec();
        let mut out = Vec::new();
        let next = process(&mut inbuf, &mut out);
        (String::from_utf8(out).unwrap(), next, inbuf.len())
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

    #[test]
    fn body_is_skipped() {
        let (out, _, left) =
            run(b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 404 "));
        assert!(out.ends_with(OK));
        assert_eq!(left, 0);
        let partial = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\na";
        let (out, _, left) = run(partial);
        assert_eq!((out.as_str(), left), ("", partial.len()));
    }

    #[test]
    fn head() {
        let (out, _, _) = run(b"HEAD / HTTP/1.1\r\n\r\n");
        assert!(out.ends_with("\r\n\r\n") && out.contains("Content-Length: 13"));
    }
}
