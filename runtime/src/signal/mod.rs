//! Signals: [`ctrl_c`], Unix signal streams ([`unix::signal`]), and the
//! callbacks of `Handle::add_signal_handler` (asyncio's
//! `loop.add_signal_handler`).
//!
//! # One process-wide mechanism: a self-pipe
//!
//! A signal's disposition belongs to the process, so aio installs one
//! handler per signal, shared by every listener of every runtime. The
//! handler marks the signal pending and writes a byte to a pipe; a
//! dispatcher thread reads the pipe and delivers to the listeners
//! (`registry.rs`). A signalfd read on a ring was the alternative; it was
//! not chosen because a signalfd only sees a signal that is blocked in
//! *every* thread of the process — a library cannot block it in threads
//! it did not start (the application's, other libraries'), and a signal
//! left unblocked in one of them goes to its disposition instead, or
//! kills the process. A handler works whatever threads exist.
//!
//! - A signal can have several listeners: each `Signal` stream sees each
//!   delivery (deliveries between two `recv`s coalesce, as in tokio), and
//!   each runtime's handler callback is scheduled like a `call_soon`.
//! - While a signal has a listener its disposition is aio's; when the
//!   last listener goes, the previous disposition is restored.
//! - `aio::run` handles SIGINT (the first Ctrl-C cancels the main task,
//!   exit status 130) only while nothing else listens to SIGINT: with a
//!   `Signal`, `ctrl_c()` or a handler for it, they get it instead.
//! - SIGKILL and SIGSTOP (which cannot be caught) and the fault signals
//!   SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP and SIGSYS (a crash must
//!   crash) cannot be listened to.
//! - aio never listens to SIGCHLD itself: children are reaped through
//!   pidfds (see [`process`](crate::process)).
//!
//! Called by users; calls `registry.rs`.
//!
//! # Examples
//!
//! ```no_run
//! use aio::signal::unix::{signal, SignalKind};
//! # aio::run(async {
//! let mut term = signal(SignalKind::terminate())?;
//! aio::select! {
//!     _ = term.recv() => println!("SIGTERM: shutting down"),
//!     _ = aio::signal::ctrl_c() => println!("Ctrl-C: shutting down"),
//! }
//! # Ok::<(), std::io::Error>(()) }).unwrap();
//! ```

pub(crate) mod registry;
pub mod unix;

use std::io;

/// Waits for SIGINT (Ctrl-C). The listener is installed when the future
/// is first polled (a Ctrl-C before that is not seen), and removed when
/// it completes or is dropped; meanwhile SIGINT does not reach `aio::run`
/// (which would cancel the main task) nor its previous disposition.
///
/// # Errors
/// The OS error if the handler cannot be installed.
///
/// # Cancel safety
/// Cancel-safe; a Ctrl-C that arrives while no `ctrl_c` is polled is
/// not remembered (keep a [`unix::Signal`] for that).
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::task::Poll;
/// # aio::run(async {
/// let mut ctrl_c = std::pin::pin!(aio::signal::ctrl_c());
/// // Poll it once: it listens from now on.
/// std::future::poll_fn(|cx| {
///     assert!(ctrl_c.as_mut().poll(cx).is_pending());
///     Poll::Ready(())
/// })
/// .await;
/// // Press Ctrl-C (here: send SIGINT): ctrl_c gets it, not aio::run.
/// // SAFETY: sending a signal to ourselves.
/// unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
/// ctrl_c.await?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut s = unix::signal(unix::SignalKind::interrupt())?;
    s.recv().await;
    Ok(())
}

/// Whether aio listens to `signum` now (a `Signal`, a handler callback,
/// or `aio::run`'s own SIGINT handling): its disposition is aio's
/// handler.
///
/// # Examples
///
/// ```
/// use aio::signal::unix::{signal, SignalKind};
/// assert!(!aio::signal::is_listening(libc::SIGUSR2));
/// let s = signal(SignalKind::user_defined2()).unwrap();
/// assert!(aio::signal::is_listening(libc::SIGUSR2));
/// drop(s);
/// assert!(!aio::signal::is_listening(libc::SIGUSR2));
/// ```
pub fn is_listening(signum: i32) -> bool {
    registry::is_listening(signum)
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>(_: &T) {}

    #[test]
    fn signals_and_their_futures_are_send_and_sync() {
        let mut s = super::unix::signal(super::unix::SignalKind::user_defined2()).unwrap();
        send_sync(&s.recv());
        send_sync(&s);
        send_sync(&super::ctrl_c());
    }
}
