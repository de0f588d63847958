//! The syscalls of a child's life after spawn: `pidfd_open`,
//! `pidfd_send_signal` (or `kill` while the child is unreaped), and
//! `waitid(P_PIDFD or P_PID, …, WNOHANG)` turned into an `ExitStatus`.
//!
//! A pidfd names one process for good: unlike a pid, it cannot come to
//! name another process once the child is reaped, so signalling and
//! reaping through it never hit a stranger. It is readable once the
//! process has exited, which is what `wait` waits for (a poll on the
//! ring, or epoll readiness).
//!
//! Called by `child.rs` and `reaper.rs`; calls libc.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// A pidfd for the child `pid` (close-on-exec).
///
/// # Errors
/// `pidfd_open`'s error (`ENOSYS` before Linux 5.3 or under a seccomp
/// filter that refuses it).
pub(crate) fn open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd that nothing else owns (pidfds are close-on-exec).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Sends `sig` to the process behind `pidfd`. A process that has exited
/// (a zombie, or reaped) is not an error: the signal has nobody to reach.
///
/// # Errors
/// `EINVAL` for an invalid signal, `EPERM` without permission.
pub(crate) fn send_signal(pidfd: &impl AsRawFd, sig: i32) -> io::Result<()> {
    // SAFETY: plain syscall on an fd we hold open, no siginfo.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

/// Reaps the child behind `pidfd` if it has exited: its status, or
/// `None` if it is still running. Never blocks.
///
/// # Errors
/// `waitid`'s error: `ECHILD` if someone else reaped it (a
/// `waitpid(-1)` elsewhere in the process).
pub(crate) fn try_reap(pidfd: &impl AsRawFd) -> io::Result<Option<ExitStatus>> {
    try_reap_id(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t)
}

/// Reaps our child `pid` if it has exited: its status, or `None` if it is
/// still running. Never blocks. Only for a child nobody has reaped yet
/// (until then its pid cannot name another process).
///
/// # Errors
/// As [`try_reap`].
pub(crate) fn try_reap_pid(pid: u32) -> io::Result<Option<ExitStatus>> {
    try_reap_id(libc::P_PID, pid as libc::id_t)
}

fn try_reap_id(idtype: libc::idtype_t, id: libc::id_t) -> io::Result<Option<ExitStatus>> {
    loop {
        // SAFETY: all-zero is a valid siginfo_t; waitid fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: a valid out pointer; `id` is a pidfd the caller holds
        // open, or the pid of an unreaped child.
        let rc = unsafe { libc::waitid(idtype, id, &mut info, libc::WEXITED | libc::WNOHANG) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: waitid filled the SIGCHLD fields (or left zeroes).
        if unsafe { info.si_pid() } == 0 {
            return Ok(None); // still running
        }
        return Ok(Some(status_of(&info)));
    }
}

/// Sends `sig` to our child `pid` (`kill(2)`), which must not have been
/// reaped yet (so the pid still names it; an exited child is a zombie,
/// and signalling it is not an error).
///
/// # Errors
/// `EINVAL` for an invalid signal, `EPERM` without permission.
pub(crate) fn kill_pid(pid: u32, sig: i32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    if unsafe { libc::kill(pid as libc::pid_t, sig) } < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

/// The `wait(2)`-style status that `ExitStatus::from_raw` takes, from
/// `waitid`'s siginfo.
fn status_of(info: &libc::siginfo_t) -> ExitStatus {
    // SAFETY: a siginfo filled by waitid for an exited child.
    let status = unsafe { info.si_status() };
    let raw = match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_KILLED => status & 0x7f,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        // WEXITED only reports the three above.
        _ => (status & 0xff) << 8,
    };
    ExitStatus::from_raw(raw)
}

/// A copy of `fd` that outlives its `SharedFd` (for the reaper thread).
pub(crate) fn dup(fd: &impl AsRawFd) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the result is checked.
    let d = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if d < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}

/// Sets or clears `O_NONBLOCK` on `fd`'s open file description.
pub(crate) fn set_nonblocking(fd: &impl AsRawFd, on: bool) -> io::Result<()> {
    // SAFETY: plain syscalls on an fd the caller holds open.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let want = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if want != flags && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, want) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::zombie_processes, reason = "reaped through its pidfd")]
    fn a_child_is_signalled_and_reaped_through_its_pidfd() {
        let child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let fd = open(child.id()).unwrap();
        assert_eq!(try_reap(&fd).unwrap(), None, "still running");
        send_signal(&fd, libc::SIGKILL).unwrap();
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; waits for the exit.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 10_000) }, 1);
        let status = try_reap(&fd).unwrap().expect("exited");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // Reaped: signals now reach nobody, and that is fine.
        send_signal(&fd, libc::SIGTERM).unwrap();
        assert!(try_reap(&fd).is_err(), "ECHILD: already reaped");
    }

    #[test]
    #[allow(clippy::zombie_processes, reason = "reaped through its pidfd")]
    fn exit_codes_come_through() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        let fd = open(child.id()).unwrap();
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; waits for the exit.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 10_000) }, 1);
        assert_eq!(try_reap(&fd).unwrap().unwrap().code(), Some(7));
    }
}
