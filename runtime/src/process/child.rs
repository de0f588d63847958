//! `Child`: a spawned process — its pipes, its exit status, its signals,
//! and asyncio's `communicate`.
//!
//! Until it is reaped the child's pid names it and nothing else (a zombie
//! keeps its pid), so the pid is safe to wait on and to signal; once
//! reaped, the status is kept and the pid forgotten. How `wait` waits:
//! - on a ring with `IORING_OP_WAITID` (Linux 6.7), an op on the pid
//!   with `WNOWAIT`: it reaps nothing, so no fd is needed, and each
//!   `clone` of a process with many children alive copies a smaller fd
//!   table;
//! - elsewhere (epoll, older kernels), a pidfd opened at spawn (or the
//!   first time such a thread waits), polled by `IORING_OP_POLL_ADD` or
//!   epoll readiness.
//!
//! Either way the reap itself is a non-blocking `waitid`, so a cancelled
//! `wait` leaves nothing behind and can be awaited again. A `Child`
//! dropped unreaped is reaped in the background (`reaper.rs`), killed
//! first if `kill_on_drop` was set.
//!
//! Called by `command.rs` (spawn) and users; calls `pidfd.rs`, `pipe.rs`,
//! `reaper.rs` and the poll op.

use super::pidfd;
use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use crate::io::{ops, SharedFd};
use std::fmt;
use std::io;
use std::process::{ExitStatus, Output};

/// A child process (asyncio's `Process`, tokio's `Child`), from
/// [`Command::spawn`](super::Command::spawn).
///
/// Its piped standard streams are in `stdin`, `stdout` and `stderr`
/// (take them to use them). Dropping a `Child` does not kill the process
/// (unless [`kill_on_drop`](super::Command::kill_on_drop) was set) and
/// never leaves a zombie: an unreaped child is reaped in the background.
///
/// # Examples
///
/// ```
/// use aio::process::{Command, Stdio};
/// # aio::run(async {
/// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// let out = child.communicate(Some(b"echo".to_vec())).await?;
/// assert!(out.status.success());
/// assert_eq!(out.stdout, b"echo");
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct Child {
    pid: u32,
    /// How the exit is waited for; `None` once reaped (by us, or by
    /// someone else: `ECHILD`).
    reap: Option<Reap>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// The write end of the child's stdin, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

/// How an unreaped child's exit is waited for.
pub(crate) enum Reap {
    /// The ring's `IORING_OP_WAITID` on the pid.
    Ring,
    /// A pidfd, polled by the ring or by epoll.
    Pidfd(SharedFd),
}

impl Reap {
    /// How a child spawned on this thread is waited for: the ring's
    /// waitid where there is one, else a pidfd for `pid` (our unreaped
    /// child, so the pidfd names it).
    pub(crate) fn for_pid(pid: u32) -> io::Result<Reap> {
        if ops::waitid_supported() {
            return Ok(Reap::Ring);
        }
        pidfd::open(pid).map(|fd| Reap::Pidfd(SharedFd::new(fd)))
    }

    /// Sends `sig` to `pid`, the unreaped child this waits for.
    fn signal(&self, pid: u32, sig: i32) -> io::Result<()> {
        match self {
            Reap::Ring => pidfd::kill_pid(pid, sig),
            Reap::Pidfd(fd) => pidfd::send_signal(fd, sig),
        }
    }
}

impl Child {
    pub(crate) fn new(
        pid: u32,
        reap: Reap,
        kill_on_drop: bool,
        pipes: (Option<ChildStdin>, Option<ChildStdout>, Option<ChildStderr>),
    ) -> Child {
        Child {
            pid,
            reap: Some(reap),
            status: None,
            kill_on_drop,
            stdin: pipes.0,
            stdout: pipes.1,
            stderr: pipes.2,
        }
    }

    /// The process id, until the child is reaped (after that the id may
    /// name another process: `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut child = aio::process::Command::new("true").spawn()?;
    /// assert!(child.id().is_some());
    /// child.wait().await?;
    /// assert_eq!(child.id(), None);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn id(&self) -> Option<u32> {
        self.reap.as_ref().map(|_| self.pid)
    }

    /// Waits for the child to exit and reaps it; returns its status (the
    /// same status again on later calls). The child's stdin is closed
    /// first, so a child that reads it to the end cannot wait forever.
    /// Its piped stdout and stderr are not read: a child that writes more
    /// than a pipe holds (64 KiB) to one nobody reads blocks, and this
    /// waits for ever; read them meanwhile, or use
    /// [`communicate`](Self::communicate), as asyncio advises.
    ///
    /// # Errors
    /// The OS error of the wait (`ECHILD` if something else in the
    /// process reaped the child).
    ///
    /// # Cancel safety
    /// Cancel-safe: a cancelled wait changes nothing and can be awaited
    /// again.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let status = aio::process::Command::shell("exit 3").spawn()?.wait().await?;
    /// assert_eq!(status.code(), Some(3));
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        loop {
            match &self.reap {
                None => return self.status.ok_or_else(reaped_elsewhere),
                Some(Reap::Pidfd(fd)) => {
                    let fd = fd.clone();
                    if let Some(status) = self.try_wait()? {
                        return Ok(status);
                    }
                    ops::poll_readable(&fd).await?;
                }
                Some(Reap::Ring) if ops::waitid_supported() => {
                    // No try first: a child that has exited completes the
                    // op at once.
                    if let Err(e) = ops::wait_exit(self.pid).await {
                        return Err(self.forget_if_reaped_elsewhere(e));
                    }
                    if let Some(status) = self.try_wait()? {
                        return Ok(status);
                    }
                }
                Some(Reap::Ring) => {
                    // Polled where no ring can wait on the pid (an epoll
                    // runtime): wait on a pidfd from now on.
                    let fd = pidfd::open(self.pid)?;
                    self.reap = Some(Reap::Pidfd(SharedFd::new(fd)));
                }
            }
        }
    }

    /// The exit status if the child has exited (reaping it), else
    /// `None`; never waits.
    ///
    /// # Errors
    /// The OS error of `waitid`.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut child = aio::process::Command::new("sleep").arg("10").spawn()?;
    /// assert_eq!(child.try_wait()?, None);
    /// child.kill().await?;
    /// assert!(child.try_wait()?.is_some());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let res = match &self.reap {
            Some(Reap::Ring) => pidfd::try_reap_pid(self.pid),
            Some(Reap::Pidfd(fd)) => pidfd::try_reap(fd),
            None => Err(reaped_elsewhere()),
        };
        match res {
            Ok(Some(s)) => {
                self.status = Some(s);
                self.reap = None;
                Ok(Some(s))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(self.forget_if_reaped_elsewhere(e)),
        }
    }

    /// On `ECHILD` the child is not ours any more: its pid may come to
    /// name another process, so it is forgotten (never signalled again).
    fn forget_if_reaped_elsewhere(&mut self, e: io::Error) -> io::Error {
        if e.raw_os_error() == Some(libc::ECHILD) {
            self.reap = None;
        }
        e
    }

    /// Sends `sig` (`libc::SIGTERM`, …) to the child. It cannot reach
    /// another process that reused the pid as long as only aio reaps the
    /// child: until then its pid is its own (an exited child is a zombie),
    /// and once aio reaped it, it is not signalled. (Where the kernel has
    /// `IORING_OP_WAITID`, 6.7 and later, the signal goes by pid, not
    /// pidfd: code that reaps children it did not spawn, `waitpid(-1)` or
    /// SIGCHLD ignored, could let the pid be reused first.) After the
    /// child has exited this does nothing, as asyncio's `send_signal`.
    ///
    /// # Errors
    /// `InvalidInput` for an invalid signal, `PermissionDenied`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// # aio::run(async {
    /// let mut child = aio::process::Command::new("sleep").arg("10").spawn()?;
    /// child.send_signal(libc::SIGTERM)?;
    /// assert_eq!(child.wait().await?.signal(), Some(libc::SIGTERM));
    /// child.send_signal(libc::SIGTERM)?; // exited: nothing to do
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        match &self.reap {
            Some(r) => r.signal(self.pid, sig),
            None => Ok(()),
        }
    }

    /// Sends SIGKILL without waiting (tokio's `start_kill`); does nothing
    /// once the child has exited.
    ///
    /// # Errors
    /// As [`send_signal`](Self::send_signal).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let mut child = aio::process::Command::new("sleep").arg("10").spawn()?;
    /// child.start_kill()?;
    /// assert!(!child.wait().await?.success());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Kills the child with SIGKILL and waits for it (reaping it).
    ///
    /// # Errors
    /// As [`send_signal`](Self::send_signal) and [`wait`](Self::wait).
    ///
    /// # Cancel safety
    /// Cancel-safe: the signal is sent at the first poll; waiting again
    /// reaps the child.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// # aio::run(async {
    /// let mut child = aio::process::Command::new("sleep").arg("10").spawn()?;
    /// child.kill().await?;
    /// assert_eq!(child.wait().await?.signal(), Some(9));
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Writes `input` to the child's stdin (then closes it) while reading
    /// its stdout and stderr to their ends, all at once, then waits for
    /// the child (asyncio's `communicate`). A child that writes a lot
    /// before it reads cannot deadlock it. A child that exits without
    /// reading all of `input` is not an error (as in asyncio). Streams
    /// that were not piped give empty output.
    ///
    /// # Errors
    /// `InvalidInput` if `input` is given but stdin is not piped; a read,
    /// write or wait error.
    ///
    /// # Cancel safety
    /// Not cancel-safe: the pipes are consumed (closed when dropped),
    /// what was read is lost; the child itself can still be waited for.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut child = Command::shell("tr a-z A-Z; echo done >&2")
    ///     .stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped())
    ///     .spawn()?;
    /// let out = child.communicate(Some(b"shout".to_vec())).await?;
    /// assert_eq!(out.stdout, b"SHOUT");
    /// assert_eq!(out.stderr, b"done\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn communicate(&mut self, input: Option<Vec<u8>>) -> io::Result<Output> {
        let stdin = self.stdin.take();
        if input.is_some() && stdin.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "communicate: input was given but the child's stdin is not piped \
                 (Command::stdin(Stdio::piped()))",
            ));
        }
        let write = async move {
            if let (Some(mut stdin), Some(data)) = (stdin, input) {
                match stdin.write_all(data).await.0 {
                    Ok(()) => {}
                    // The child exited or closed its stdin: as asyncio.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                        ) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        };
        let out = self.stdout.take();
        let err = self.stderr.take();
        let read_out = async move {
            match out {
                Some(mut p) => {
                    let (res, buf) = p.read_to_end(Vec::new()).await;
                    res.map(|_| buf)
                }
                None => Ok(Vec::new()),
            }
        };
        let read_err = async move {
            match err {
                Some(mut p) => {
                    let (res, buf) = p.read_to_end(Vec::new()).await;
                    res.map(|_| buf)
                }
                None => Ok(Vec::new()),
            }
        };
        let (w, stdout, stderr) = futures_util::future::join3(write, read_out, read_err).await;
        w?;
        let (stdout, stderr) = (stdout?, stderr?);
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// `ECHILD`, as `waitid` said it the first time: the child was reaped by
/// something else in the process (a `waitpid(-1)`, or SIGCHLD set to
/// `SIG_IGN`) and its status is lost.
fn reaped_elsewhere() -> io::Error {
    io::Error::from_raw_os_error(libc::ECHILD)
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(reap) = self.reap.take() else { return };
        if self.kill_on_drop {
            let _ = reap.signal(self.pid, libc::SIGKILL);
        }
        match reap {
            Reap::Pidfd(fd) => {
                if matches!(pidfd::try_reap(&fd), Ok(None)) {
                    super::reaper::reap_later(fd);
                }
            }
            Reap::Ring => {
                if matches!(pidfd::try_reap_pid(self.pid), Ok(None)) {
                    super::reaper::reap_pid_later(self.pid);
                }
            }
        }
    }
}
