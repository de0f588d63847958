//! An axum application served by `aio::hyper::serve`, without tokio:
//! `GET /` (text), `GET /json` (serde_json), `GET /hello/{name}` (a path
//! parameter), `POST /echo`, and a 404 fallback (the routes are in
//! `common/axum_app.rs`, which `axum_hello_tokio` shares). HTTP/1.1 and
//! HTTP/2 with prior knowledge (h2c) are both served, detected per
//! connection.
//!
//! ```text
//! cargo run --release --example axum_hello -- [--port P] [--workers N]
//! curl http://127.0.0.1:PORT/json
//! curl --http2-prior-knowledge http://127.0.0.1:PORT/hello/aio
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT` (port 0, the
//! default, picks a free port). Ctrl-C (SIGINT) or SIGTERM shuts it down
//! gracefully: it stops accepting, lets the requests in flight finish,
//! closes idle keep-alive connections, and exits once every connection
//! has ended. The wrk comparison with `axum_hello_tokio` is described in
//! `http_hello.rs`.

#[path = "common/axum_app.rs"]
mod app;
#[path = "common/server_args.rs"]
mod args;

use std::io;
use std::net::SocketAddr;

use aio::net::TcpListener;

fn main() -> io::Result<()> {
    let args = args::parse("axum_hello", 0, false);
    let stop = args::stop_signal();
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
        println!("listening on {}", listener.local_addr()?);
        aio::hyper::serve(listener, app::router())
            .with_graceful_shutdown(stop)
            .await
    })
}
