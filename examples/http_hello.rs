//! A minimal keep-alive HTTP/1.1 server on aio: `GET /` answers
//! `Hello, world!`, other paths `404`; malformed requests `400` and a
//! request head over 8 KiB `431`, both followed by a close. Requests are
//! parsed from a per-connection buffer (pipelined requests included) by
//! `common/http.rs`, which `http_hello_tokio` shares, and all the responses
//! to one read go out in one write. Sockets are the raw owned-buffer API:
//! `TcpStream::read` into the spare capacity of the input `Vec` (a slice view),
//! `write_all` of the output `Vec`, both buffers reused.
//!
//! ```text
//! cargo run --release --example http_hello -- [--port P] [--workers N]
//! curl -v http://127.0.0.1:PORT/
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT` (port 0, the
//! default, picks a free port). The accept loop survives running out of
//! file descriptors (`incoming().with_backoff()`), and SIGINT or SIGTERM
//! stop the server cleanly, so that it can be restarted on the same port
//! at once.
//!
//! # Comparing with tokio under wrk
//!
//! Build both once, start each server with the same worker count, and
//! alternate the runs (A B A B) so that drift on a shared machine hits
//! both; report every run, not the best:
//!
//! ```text
//! cargo build --release --example http_hello --example http_hello_tokio
//! target/release/examples/http_hello --port 8080 --workers 2 &
//! target/release/examples/http_hello_tokio --port 8081 --workers 2 &
//! for i in 1 2; do
//!     wrk -t1 -c64 -d10s http://127.0.0.1:8080/    # aio
//!     wrk -t1 -c64 -d10s http://127.0.0.1:8081/    # tokio
//! done
//! kill %1 %2
//! ```
//!
//! On a 2-vCPU machine wrk and the server share the cores, so the figures
//! are "requests per second with one wrk thread beside the server", not the
//! server's peak; the ratio between the two servers is what is meaningful.

#[path = "common/server_args.rs"]
mod args;

use std::io;
use std::net::SocketAddr;

use aio::net::{TcpListener, TcpStream};

#[path = "common/http.rs"]
mod http;

/// Bytes read at most per read call.
const READ_SIZE: usize = 16 * 1024;

/// Serves one connection until EOF, an error, or a request that closes it.
async fn serve(stream: TcpStream) -> io::Result<()> {
    let mut conn = http::Conn::new();
    let mut input = Vec::with_capacity(READ_SIZE);
    let mut out = Vec::with_capacity(READ_SIZE);
    loop {
        input.clear();
        let (res, buf) = stream.read(input).await;
        input = buf;
        let n = res?;
        if n == 0 {
            return Ok(());
        }
        let next = conn.feed(&input[..n], &mut out);
        if !out.is_empty() {
            let (res, buf) = stream.write_all(out).await;
            out = buf;
            res?;
            out.clear();
        }
        if next == http::Next::Close {
            return stream.shutdown(std::net::Shutdown::Write).await;
        }
    }
}

/// Accepts until the listener fails; running out of file descriptors only
/// pauses it (`with_backoff`).
async fn accept_loop(listener: TcpListener) -> io::Result<()> {
    let mut incoming = listener.incoming().with_backoff();
    loop {
        let stream = incoming.accept().await?;
        let _ = stream.set_nodelay(true);
        drop(aio::spawn(async move {
            if let Err(e) = serve(stream).await {
                args::report(&e);
            }
        }));
    }
}

fn main() -> io::Result<()> {
    let args = args::parse("http_hello", 0, false);
    let stop = args::stop_signal();
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
        println!("listening on {}", listener.local_addr()?);
        aio::select! {
            res = accept_loop(listener) => res,
            _ = stop => Ok(()),
        }
    })
}
