//! The `echo_server` example on tokio, for comparison: a TCP echo server on
//! 127.0.0.1 with tokio's multi_thread runtime, the same worker count, the
//! same read/write loop (a 64 KiB buffer, `read` then `write_all` of what
//! was read) and the same command line and first line of output.
//!
//! ```text
//! cargo run --release --example echo_server_tokio -- [--port P] [--workers N] [--raw]
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT` (port 0, the
//! default, picks a free port). `--raw` is accepted for symmetry with
//! `echo_server` and changes nothing: tokio has one socket API.

#[path = "common/server_args.rs"]
mod args;

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes read at most per `read` call.
const BUF_SIZE: usize = 64 * 1024;

/// Echoes everything until EOF.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn main() -> io::Result<()> {
    let args = args::parse("echo_server_tokio", 0, true);
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
                if let Err(e) = echo(stream).await {
                    args::report(&e);
                }
            });
        }
    })
}
