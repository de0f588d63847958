//! What the example servers share: the command line
//! `[--port P] [--workers N] [--raw]`, how a connection's error is
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

/// Makes SIGINT and SIGTERM stop the server gracefully: blocks both signals
/// in the calling thread and returns a future that completes when one of
/// them arrives (a thread of its own takes it with `sigwait`). Call it
/// first thing in `main`, before the runtime starts its threads (they
/// inherit the blocked mask, so no thread is killed by the signal).
///
/// The server returns from its main future when this completes; the
/// runtime then shuts down: connection tasks are cancelled, the armed
/// accept is cancelled and every ring closed before the process exits, so
/// the port is free for a restart at once. A process *killed* by a
/// signal leaves its armed io_uring accept to the kernel, which tears the
/// ring down asynchronously and keeps the port bound for a few ms after
/// the process is gone (`Address already in use` for a quick restart).
pub(crate) fn stop_signal() -> impl Future<Output = ()> + Send + 'static {
    // SAFETY: an all-zero sigset_t is a valid value to pass to
    // sigemptyset, which initializes it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a sigset_t we own; these calls only write to it and
    // to this thread's signal mask.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let (tx, rx) = aio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: `set` is an initialized sigset_t and `sig` a valid out
        // parameter; the signals are blocked in every thread of the
        // process (this one inherited the mask), as sigwait requires.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            let _ = tx.send(sig);
        }
    });
    async move {
        let _ = rx.await;
    }
}
