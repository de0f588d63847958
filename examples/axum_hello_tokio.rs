//! The `axum_hello` application on tokio, for comparison: the same
//! routes (`common/axum_app.rs`), served by `axum::serve` on tokio's
//! multi_thread runtime with the same worker count and `TCP_NODELAY`, stopped gracefully by
//! SIGINT or SIGTERM in the same way.
//!
//! ```text
//! cargo run --release --example axum_hello_tokio -- [--port P] [--workers N]
//! ```
//!
//! The first line on stdout is `listening on 127.0.0.1:PORT`.

#[path = "common/axum_app.rs"]
mod app;
#[path = "common/server_args.rs"]
mod args;

use std::io;
use std::net::SocketAddr;

use axum::serve::ListenerExt;

fn main() -> io::Result<()> {
    let args = args::parse("axum_hello_tokio", 0, false);
    let stop = args::stop_signal();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
        println!("listening on {}", listener.local_addr()?);
        // TCP_NODELAY, as aio::hyper::serve sets it.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app::router())
            .with_graceful_shutdown(stop)
            .await
    })
}
