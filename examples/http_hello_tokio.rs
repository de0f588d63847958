//! The `http_hello` example on tokio, for comparison: the same keep-alive
//! HTTP/1.1 "Hello, world!" server, the same parser (`common/http.rs`), the
//! same buffer sizes and the same one-write-per-read batching; only the
//! runtime and its socket calls differ (tokio's multi_thread runtime,
//! `read_buf` into the spare capacity of a `Vec`, `write_all`).
//!
//! ```text
//! cargo run --release --example http_hello_tokio -- [--port P] [--workers N]
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT` (port 0, the
//! default, picks a free port). The wrk procedure is in `http_hello.rs`.

#[path = "common/server_args.rs"]
mod args;

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "common/http.rs"]
mod http;

/// Bytes kept free in the input buffer before each read.
const READ_SPARE: usize = 16 * 1024;

/// Serves one connection until EOF, an error, or a request that closes it.
async fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut input = Vec::with_capacity(READ_SPARE);
    let mut out = Vec::with_capacity(READ_SPARE);
    loop {
        if input.capacity() - input.len() < READ_SPARE / 4 {
            input.reserve(READ_SPARE);
        }
        if stream.read_buf(&mut input).await? == 0 {
            return Ok(());
        }
        let next = http::process(&mut input, &mut out);
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if next == http::Next::Close {
            return stream.shutdown().await;
        }
    }
}

fn main() -> io::Result<()> {
    let args = args::parse("http_hello_tokio", 0, false);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                if let Err(e) = serve(stream).await {
                    args::report(&e);
                }
            });
        }
    })
}
