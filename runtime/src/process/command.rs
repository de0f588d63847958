//! `Command`: std's process builder, spawning a `Child` whose pipes and
//! exit aio drives.
//!
//! Spawning is std's (`posix_spawn` or `fork`+`exec`, with close-on-exec
//! pipes); then the parent's pipe ends are made non-blocking and, unless
//! the thread's ring can wait on the pid itself (`IORING_OP_WAITID`), the
//! child gets a pidfd. Spawning blocks the calling thread only for the
//! spawn itself, as in tokio.
//!
//! Called by users and `mod.rs`; calls `child.rs`, `pipe.rs`, `pidfd.rs`.

use super::child::{Child, Reap};
use super::pipe::{adopt, ChildStderr, ChildStdin, ChildStdout};
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

/// A process builder (std's `Command`, spawning an aio [`Child`]).
///
/// # Examples
///
/// ```
/// use aio::process::{Command, Stdio};
/// # aio::run(async {
/// let out = Command::new("sh")
///     .args(["-c", "echo $GREETING from $(pwd)"])
///     .env("GREETING", "hello")
///     .current_dir("/")
///     .output()
///     .await?;
/// assert_eq!(out.stdout, b"hello from /\n");
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

impl Command {
    /// A command running `program` (found on `PATH` if it has no `/`),
    /// with the parent's environment, directory and standard streams.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert!(aio::process::Command::new("true").status().await?.success());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        std::process::Command::new(program).into()
    }

    /// A command running `cmd` with the shell: `/bin/sh -c cmd` (asyncio's
    /// `create_subprocess_shell`). Quoting is the caller's business.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let status = aio::process::Command::shell("exit 7").status().await?;
    /// assert_eq!(status.code(), Some(7));
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn shell(cmd: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(cmd);
        c
    }

    /// Adds an argument.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::new("echo").arg("one").arg("two").output().await?;
    /// assert_eq!(out.stdout, b"one two\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::new("printf").args(["%s-%s", "a", "b"]).output().await?;
    /// assert_eq!(out.stdout, b"a-b");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::shell("echo $X").env("X", "42").output().await?;
    /// assert_eq!(out.stdout, b"42\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::shell("echo $A$B").envs([("A", "1"), ("B", "2")]).output().await?;
    /// assert_eq!(out.stdout, b"12\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::shell("echo ${HOME:-none}").env_remove("HOME").output().await?;
    /// assert_eq!(out.stdout, b"none\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts from an empty environment.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::new("/usr/bin/env").env_clear().output().await?;
    /// assert!(out.stdout.is_empty());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::new("pwd").current_dir("/").output().await?;
    /// assert_eq!(out.stdout, b"/\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input: `Stdio::piped()` puts a [`ChildStdin`]
    /// in `Child::stdin`; `Stdio::null()`, `inherit()` (the default), a
    /// file, or another child's pipe.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let out = Command::new("cat").stdin(Stdio::null()).output().await?;
    /// assert!(out.stdout.is_empty());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's standard output (`Stdio::piped()`: `Child::stdout`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let mut child = Command::new("echo").arg("x").stdout(Stdio::piped()).spawn()?;
    /// let (n, buf) = child.stdout.as_mut().unwrap().read_to_end(Vec::new()).await;
    /// assert_eq!(&buf[..n?], b"x\n");
    /// child.wait().await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's standard error (`Stdio::piped()`: `Child::stderr`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::{Command, Stdio};
    /// # aio::run(async {
    /// let out = Command::shell("echo e >&2").stderr(Stdio::piped()).output().await?;
    /// assert_eq!(out.stderr, b"e\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Kill the child (SIGKILL) when its [`Child`] is dropped before it
    /// exited (tokio's `kill_on_drop`). Either way a dropped child is
    /// reaped in the background.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let child = aio::process::Command::new("sleep").arg("60").kill_on_drop(true).spawn()?;
    /// drop(child); // killed, and reaped in the background
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Command {
        self.kill_on_drop = on;
        self
    }

    /// The child's user id (`setuid`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// // SAFETY: plain syscall.
    /// let me = unsafe { libc::getuid() };
    /// let out = Command::new("id").arg("-u").uid(me).output().await?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), me.to_string());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// The child's group id (`setgid`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// // SAFETY: plain syscall.
    /// let me = unsafe { libc::getgid() };
    /// let out = Command::new("id").arg("-g").gid(me).output().await?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), me.to_string());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group of its own).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let mut child = Command::new("sleep").arg("10").process_group(0).spawn()?;
    /// let pid = child.id().unwrap() as i32;
    /// // SAFETY: plain syscall on our child.
    /// assert_eq!(unsafe { libc::getpgid(pid) }, pid, "a group of its own");
    /// child.kill().await?;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// The std builder, for what this one does not wrap
    /// (`CommandExt::pre_exec`, `arg0`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// use std::os::unix::process::CommandExt;
    /// let mut c = Command::new("sh");
    /// c.as_std_mut().arg0("renamed").args(["-c", "echo $0"]);
    /// assert_eq!(c.output().await?.stdout, b"renamed\n");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child.
    ///
    /// # Errors
    /// The spawn error (`NotFound` for a missing program, …); or, where a
    /// pidfd is needed (the epoll driver, a kernel before 6.7) and the
    /// kernel refuses `pidfd_open` (before Linux 5.3, or a seccomp filter),
    /// that error, after the child was killed and reaped.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let err = aio::process::Command::new("/no/such/program").spawn().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains("/no/such/program"), "{err}");
    /// # });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let mut child = self.std.spawn().map_err(|e| {
            // Name the program (std's error does not): "failed to spawn
            // \"/no/such/program\": No such file or directory (os error 2)".
            io::Error::new(
                e.kind(),
                format!("failed to spawn {:?}: {e}", self.std.get_program()),
            )
        })?;
        let reap = match Reap::for_pid(child.id()) {
            Ok(r) => r,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    e.kind(),
                    format!("aio needs pidfd_open (Linux 5.3) to wait for a child: {e}"),
                ));
            }
        };
        // From here on the pipes are ours; a failure still leaves a Child
        // that reaps (or kills) the process when dropped.
        let stdin = child.stdin.take().map(|p| adopt(p.into()));
        let stdout = child.stdout.take().map(|p| adopt(p.into()));
        let stderr = child.stderr.take().map(|p| adopt(p.into()));
        let mut aio_child = Child::new(child.id(), reap, self.kill_on_drop, (None, None, None));
        aio_child.stdin = stdin.transpose()?.map(ChildStdin::new);
        aio_child.stdout = stdout.transpose()?.map(ChildStdout::new);
        aio_child.stderr = stderr.transpose()?.map(ChildStderr::new);
        Ok(aio_child)
    }

    /// Runs the child to completion and returns its status. The standard
    /// streams are inherited unless set.
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn) and [`Child::wait`].
    ///
    /// # Cancel safety
    /// Dropping the future drops the child (killed only with
    /// `kill_on_drop`; reaped in the background either way).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// assert!(!Command::new("false").status().await?.success());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Runs the child to completion, collecting its stdout and stderr
    /// (both set to `Stdio::piped()` on this builder, as tokio does; stdin
    /// is inherited unless set).
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn) and [`Child::communicate`].
    ///
    /// # Cancel safety
    /// As [`status`](Self::status).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::process::Command;
    /// # aio::run(async {
    /// let out = Command::shell("echo out; echo err >&2").output().await?;
    /// assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.spawn()?.communicate(None).await
    }
}
