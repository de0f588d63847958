//! What the example servers share: the command line
//! `[--port P] [--workers N] [--raw]` and how a connection's error is
//! reported. Included with `#[path = "common/server_args.rs"] mod args;`.
#![allow(dead_code)] // each example uses a part

use std::io;

/// A server example's options.
pub(crate) struct ServerArgs {
    pub(crate) port: u16,
    pub(crate) workers: usize,
    /// The low-level owned-buffer loop instead of the streams (echo only).
    pub(crate) raw: bool,
}

/// Parses the command line of the example `name`; `--raw` is accepted
/// only when `raw_flag` is set. Exits with a usage line on bad input.
pub(crate) fn parse(name: &str, default_port: u16, raw_flag: bool) -> ServerArgs {
    let usage = || -> ! {
        let raw = if raw_flag { " [--raw]" } else { "" };
        eprintln!("usage: {name} [--port P] [--workers N]{raw}");
        std::process::exit(2)
    };
    let mut args = ServerArgs {
        port: default_port,
        workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        raw: false,
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
