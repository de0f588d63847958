//! A plain hyper 1.x "Hello, world!" server on aio, with no framework and
//! no tokio: each connection is a hyper HTTP/1.1 connection over
//! `aio::net::TcpStream` directly (hyper's `rt::Read` / `rt::Write` are
//! implemented for it), with `aio::hyper::Timer` for hyper's timeouts.
//! `hyper_hello_tokio` is the same server on tokio (`TokioIo<TcpStream>`).
//!
//! ```text
//! cargo run --release --example hyper_hello -- [--port P] [--workers N]
//! curl http://127.0.0.1:PORT/
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT`. SIGINT or
//! SIGTERM stop it. The wrk comparison is described in `http_hello.rs`.

#[path = "common/server_args.rs"]
mod args;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

use aio::net::TcpListener;

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!",
    ))))
}

/// Accepts until the listener fails (running out of descriptors only
/// pauses it), one task per connection.
async fn accept_loop(listener: TcpListener) -> io::Result<()> {
    let mut incoming = listener.incoming().with_backoff();
    loop {
        let stream = incoming.accept().await?;
        let _ = stream.set_nodelay(true);
        drop(aio::spawn(async move {
            let conn = http1::Builder::new()
                .timer(aio::hyper::Timer::default())
                .serve_connection(stream, service_fn(hello));
            if let Err(e) = conn.await {
                if !e.is_incomplete_message() {
                    eprintln!("connection error: {e}");
                }
            }
        }));
    }
}

fn main() -> io::Result<()> {
    let args = args::parse("hyper_hello", 0, false);
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
