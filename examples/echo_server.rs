//! A TCP echo server on 127.0.0.1, written twice: asyncio-style with
//! `aio::net::start_server` and a `StreamReader`/`StreamWriter` pair per
//! connection (the default), and with the low-level owned-buffer sockets
//! (`--raw`: `TcpListener::incoming().with_backoff()`, then
//! `TcpStream::read` into a reused 64 KiB `Vec` and `write_all` of it
//! back), which is the fast path that `benches/net.rs` measures against
//! tokio. Both survive running out of file descriptors, and both stop
//! cleanly on SIGINT or SIGTERM: the streams server gracefully (it stops
//! accepting, lets the open connections finish for up to 10 s (`--grace`), then
//! closes them, and exits 0 — what a server in Kubernetes, which sends
//! SIGTERM and SIGKILL 30 s later, should do), the raw one at once.
//!
//! ```text
//! cargo run --release --example echo_server -- [--port P] [--workers N] [--grace S] [--raw]
//! cargo run --release --example echo_client -- --port P hello world
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT` (port 0, the
//! default, picks a free port), for a parent process to parse.
//! `echo_server_tokio` is the same program on tokio.

#[path = "common/server_args.rs"]
mod args;

use std::io;
use std::net::SocketAddr;

use aio::net::{StreamReader, StreamWriter, TcpListener, TcpStream};

/// Bytes read at most per read call.
const BUF_SIZE: usize = 64 * 1024;

/// Echoes through the streams API, asyncio's `handle_echo`.
async fn echo_streams(mut reader: StreamReader, writer: StreamWriter) {
    let res: io::Result<()> = async {
        loop {
            let data = reader.read(BUF_SIZE).await?;
            if data.is_empty() {
                return Ok(());
            }
            writer.write(&data);
            writer.drain().await?;
        }
    }
    .await;
    report(res);
    writer.close();
}

/// Echoes with the owned-buffer socket API: the buffer goes to the kernel
/// for each read and write and comes back with the result.
async fn echo_raw(stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BUF_SIZE);
    loop {
        buf.clear();
        let (res, b) = stream.read(buf).await;
        buf = b;
        if res? == 0 {
            return Ok(());
        }
        let (res, b) = stream.write_all(buf).await;
        buf = b;
        res?;
    }
}

/// Prints a connection's error, unless the peer just went away.
fn report(res: io::Result<()>) {
    if let Err(e) = res {
        args::report(&e);
    }
}

/// The `--raw` accept loop: until the listener fails; running out of file
/// descriptors only pauses it (`with_backoff`).
async fn accept_loop(listener: TcpListener) -> io::Result<()> {
    let mut incoming = listener.incoming().with_backoff();
    loop {
        let stream = incoming.accept().await?;
        let _ = stream.set_nodelay(true);
        drop(aio::spawn(async move { report(echo_raw(stream).await) }));
    }
}

fn main() -> io::Result<()> {
    let args = args::parse("echo_server", 0, true);
    let stop = args::stop_signal();
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .build()?;
    rt.block_on(async {
        if args.raw {
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
            println!("listening on {}", listener.local_addr()?);
            aio::select! {
                res = accept_loop(listener) => res,
                _ = stop => Ok(()),
            }
        } else {
            // start_server's accept loop backs off by itself.
            let server = aio::net::start_server(echo_streams, "127.0.0.1", args.port).await?;
            println!("listening on {}", server.local_addrs()[0]);
            // Graceful shutdown: on SIGTERM or SIGINT stop accepting, let
            // the handlers finish within the grace time, then close what
            // is left.
            server.serve_until(stop).await;
            let grace = args.grace;
            if aio::wait_for(server.wait_closed(), grace).await.is_err() {
                eprintln!("closing the connections still open after {grace:?}");
                server.close_clients();
                server.wait_closed().await;
            }
            Ok(())
        }
    })
}
