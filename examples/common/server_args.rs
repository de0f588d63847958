//! What the example servers share: the command line
//! `[--port P] [--workers N] [--grace S] [--raw]`, how a connection's error is
//! reported, and how a server stops on SIGINT / SIGTERM. Included with
//! `#[path = "common/server_args.rs"] mod args;`.
#![allow(dead_code)] // each example uses a part

use std::future::Future;
use std::io;

/// A server example's options.
pub(crate) struct ServerArgs {
    pub(crate) port: u16,
    pub(crate) workers: usize,
    /// The low-level owned-buffer loop instead of the streams (echo only).
    pub(crate) raw: bool,
    /// How long open connections may go on after a stop signal (the
    /// streams echo server; default 10 s).
    pub(crate) grace: std::time::Duration,
}

/// Parses the command line of the example `name`; `--raw` is accepted
/// only when `raw_flag` is set. Exits with a usage line on bad input.
pub(crate) fn parse(name: &str, default_port: u16, raw_flag: bool) -> ServerArgs {
    let usage = || -> ! {
        let raw = if raw_flag { " [--raw]" } else { "" };
        eprintln!("usage: {name} [--port P] [--workers N] [--grace SECONDS]{raw}");
        std::process::exit(2)
    };
    let mut args = ServerArgs {
        port: default_port,
        workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        raw: false,
        grace: std::time::Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => {
                args.port = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--workers" => {
                args.workers = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage())
            }
            "--grace" => {
                args.grace = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .map(std::time::Duration::from_secs_f64)
                    .unwrap_or_else(|| usage())
            }
            "--raw" if raw_flag => args.raw = true,
            _ => usage(),
        }
    }
    args
}

/// Prints a connection's error, unless the peer just went away.
pub(crate) fn report(e: &io::Error) {
    if !matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    ) {
        eprintln!("connection error: {e}");
    }
}

/// Makes SIGINT and SIGTERM stop the server gracefully: listens to both
/// (`aio::signal`) from now on, and returns a future that completes when
/// one of them arrives. Call it first thing in `main`, before printing
/// that the server listens, so no signal comes before the listeners.
///
/// The server returns from its main future when this completes; the
/// runtime then shuts down: connection tasks are cancelled, the armed
/// accept is cancelled and every ring closed before the process exits, so
/// the port is free for a restart at once. A process *killed* by a
/// signal leaves its armed io_uring accept to the kernel, which tears the
/// ring down asynchronously and keeps the port bound for a few ms after
/// the process is gone (`Address already in use` for a quick restart).
pub(crate) fn stop_signal() -> impl Future<Output = ()> + Send + 'static {
    use aio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("listen to SIGTERM");
    let mut int = signal(SignalKind::interrupt()).expect("listen to SIGINT");
    async move {
        aio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
}
