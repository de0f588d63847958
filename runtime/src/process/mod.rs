//! Child processes (asyncio's subprocesses, tokio's `process`):
//! [`Command`] spawns a [`Child`] whose pipes ([`ChildStdin`],
//! [`ChildStdout`], [`ChildStderr`]) take and give owned buffers, and
//! whose exit is waited for on the ring, or through a pidfd.
//!
//! - **Reaping**: on a ring with `IORING_OP_WAITID` (Linux 6.7) the exit
//!   is waited for by that op on the child's pid, with `WNOWAIT` (no fd
//!   at all: with many children alive, every `clone` copies a smaller fd
//!   table); elsewhere through a pidfd (`pidfd_open`), polled by the ring
//!   (`IORING_OP_POLL_ADD`) or, on the epoll driver, by readiness. The
//!   status comes from a non-blocking `waitid`. aio never installs a
//!   SIGCHLD handler nor calls `waitpid(-1)`, so other libraries'
//!   children are left to them.
//! - **No zombies**: a `Child` dropped before it was reaped is reaped in
//!   the background, by a task of the runtime or, outside one, by a
//!   process-wide reaper thread.
//! - **Pipes** are non-blocking (on the parent's side): reads and writes
//!   go through the ring (`IORING_OP_READ` / `WRITE`) or wait for
//!   readiness on epoll. `aio::net::StreamReader::from(stdout)` and
//!   `StreamWriter::from(stdin)` give asyncio's stream views.
//! - **`communicate`** writes stdin while reading stdout and stderr, so a
//!   child with a lot to say cannot deadlock it.
//!
//! Called by users; calls the ops (`io::ops`), the runtime's spawn.
//!
//! # Examples
//!
//! ```
//! use aio::process::{Command, Stdio};
//! # aio::run(async {
//! let mut child = Command::new("sort")
//!     .stdin(Stdio::piped())
//!     .stdout(Stdio::piped())
//!     .spawn()?;
//! let out = child.communicate(Some(b"b\na\nc\n".to_vec())).await?;
//! assert_eq!(out.stdout, b"a\nb\nc\n");
//! assert!(out.status.success());
//! # Ok::<(), std::io::Error>(()) }).unwrap();
//! ```

mod child;
mod command;
mod pidfd;
mod pipe;
mod reaper;

pub use child::Child;
pub use command::Command;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

use std::ffi::OsStr;
use std::io;

/// Starts `program` with `args` (asyncio's `create_subprocess_exec`):
/// [`Command::new(program).args(args).spawn()`](Command::spawn). The
/// standard streams are inherited; use [`Command`] to pipe them.
///
/// # Errors
/// As [`Command::spawn`].
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let mut p = aio::process::create_subprocess_exec("test", ["-d", "/"]).await?;
/// assert!(p.wait().await?.success());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn create_subprocess_exec<I, S>(program: impl AsRef<OsStr>, args: I) -> io::Result<Child>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program).args(args).spawn()
}

/// Starts `cmd` with the shell, `/bin/sh -c cmd` (asyncio's
/// `create_subprocess_shell`); see [`Command::shell`].
///
/// # Errors
/// As [`Command::spawn`].
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let mut p = aio::process::create_subprocess_shell("exit 7").await?;
/// assert_eq!(p.wait().await?.code(), Some(7));
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn create_subprocess_shell(cmd: impl AsRef<OsStr>) -> io::Result<Child> {
    Command::shell(cmd).spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}

    #[test]
    fn children_and_their_futures_are_send_and_sync() {
        let mut c = Command::new("true");
        send_sync(&c);
        let mut child = c.stdout(Stdio::piped()).spawn().unwrap();
        send_sync(&child);
        send_sync(child.stdout.as_ref().unwrap());
        send_sync(&child.wait());
        send_sync(&child.communicate(None));
        send_sync(&create_subprocess_shell("true"));
    }
}
