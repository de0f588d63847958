//! The `http_hello` example on tokio, for comparison: the same keep-alive
//! HTTP/1.1 "Hello, world!" server, the same parser (`common/http.rs`), the
//! same buffer sizes and the same one-write-per-read batching; only the
//! runtime and its socket calls differ (tokio's multi_thread runtime,
//! `read` into a reused 16 KiB buffer, `write_all`).
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

/// Bytes read at most per read call.
const READ_SIZE: usize = 16 * 1024;

/// Serves one connection until EOF, an error, or a request that closes it.
async fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut conn = http::Conn::new();
    let mut input = vec![0; READ_SIZE];
    let mut out = Vec::with_capacity(READ_SIZE);
    loop {
        let n = stream.read(&mut input).await?;
        if n == 0 {
            return Ok(());
        }
        let next = conn.feed(&input[..n], &mut out);
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
