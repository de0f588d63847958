//! hyper 1.x serving HTTP/1.1 over the tokio adapters
//! (`hyper_util::rt::TokioIo<aio::net::TcpStream>`), on current_thread,
//! 1 and 4 workers: a client that closes after complete responses ends
//! every connection without an error, as on tokio.
//!
//! It used to end many of them with "connection closed before message
//! completed" (issue 12, item 10): the adapter's flush completes when the
//! ring reports the send, and hyper reads before it flushes, so it saw the
//! client's end of stream while it still awaited the flush of the response
//! the client had already read.
//!
//! The clients are plain blocking sockets on threads of their own, so that
//! they close as soon as they have the response, whatever the runtime is
//! doing. They close in three ways: after one response, after two on a
//! kept-alive connection, and after one asked with `Connection: close`
//! (the server then shuts its side down first).

mod common;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use aio::net::TcpListener;
use common::on_all_flavors;

/// Connections per client kind and flavor.
const CONNS: usize = 100;
/// Client threads per kind.
const THREADS: usize = 4;
const BODY: &str = "Hello, world!";

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from(BODY))))
}

/// How a client ends its connection.
#[derive(Debug, Clone, Copy)]
enum Client {
    /// One request, the whole response, then close.
    OneRequest,
    /// Two requests on a kept-alive connection, then close.
    KeepAlive,
    /// One request with `Connection: close`: the server closes too.
    ConnectionClose,
}

impl Client {
    /// Runs `n` connections to `port`, each reading its responses whole
    /// before it closes.
    fn run(self, port: u16, n: usize) {
        for _ in 0..n {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.set_read_timeout(Some(std::time::Duration::from_secs(60)))
                .unwrap();
            let (requests, header) = match self {
                Client::OneRequest => (1, ""),
                Client::KeepAlive => (2, ""),
                Client::ConnectionClose => (1, "Connection: close\r\n"),
            };
            for _ in 0..requests {
                let req = format!("GET / HTTP/1.1\r\nHost: x\r\n{header}\r\n");
                c.write_all(req.as_bytes()).unwrap();
                read_response(&mut c);
            }
            // Closed here, right after the last complete response.
        }
    }
}

/// Reads one whole response (its body is `BODY`).
fn read_response(c: &mut std::net::TcpStream) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(BODY.as_bytes()) {
        let n = c.read(&mut buf).expect("the response");
        assert!(n > 0, "end of stream before the whole response: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"), "{got:?}");
}

#[test]
fn hyper_over_the_tokio_adapter_ends_connections_closed_after_complete_responses_without_error() {
    on_all_flavors(|flavor| async move {
        for client in [
            Client::OneRequest,
            Client::KeepAlive,
            Client::ConnectionClose,
        ] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let errors = Arc::new(Mutex::new(Vec::new()));
            let clients: Vec<_> = (0..THREADS)
                .map(|_| std::thread::spawn(move || client.run(port, CONNS / THREADS)))
                .collect();
            let mut incoming = listener.incoming();
            let mut servers = Vec::new();
            for _ in 0..CONNS {
                let stream = incoming.accept().await.unwrap();
                let errors = errors.clone();
                servers.push(aio::spawn(async move {
                    let conn = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(hello));
                    if let Err(e) = conn.await {
                        errors.lock().unwrap().push(e.to_string());
                    }
                }));
            }
            for s in servers {
                s.await.unwrap();
            }
            for c in clients {
                c.join().unwrap();
            }
            let errors = errors.lock().unwrap();
            assert!(
                errors.is_empty(),
                "[{flavor:?}] {client:?}: {} of {CONNS} connections ended with an error: {:?}",
                errors.len(),
                errors.first()
            );
        }
    });
}
