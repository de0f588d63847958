//! The `hyper_hello` server on tokio, for comparison: the same hyper
//! HTTP/1.1 connection and service, over `TokioIo<tokio::net::TcpStream>`
//! with hyper-util's `TokioTimer`, on tokio's multi_thread runtime with
//! the same worker count.
//!
//! ```text
//! cargo run --release --example hyper_hello_tokio -- [--port P] [--workers N]
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT`.

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
use hyper_util::rt::{TokioIo, TokioTimer};

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!",
    ))))
}

fn main() -> io::Result<()> {
    let args = args::parse("hyper_hello_tokio", 0, false);
    let stop = args::stop_signal();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
        println!("listening on {}", listener.local_addr()?);
        let accept = async {
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                tokio::spawn(async move {
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service_fn(hello));
                    if let Err(e) = conn.await {
                        if !e.is_incomplete_message() {
                            eprintln!("connection error: {e}");
                        }
                    }
                });
            }
        };
        tokio::select! {
            res = accept => res,
            _ = stop => Ok(()),
        }
    })
}
