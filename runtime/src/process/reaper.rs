//! No zombies: reaping the children whose `Child` was dropped before
//! they were waited for.
//!
//! A dropped child that is still running is handed to a task on the
//! current runtime, which waits on its pidfd (through the ring, or epoll)
//! and reaps it. Where no runtime can run that task — the drop happened
//! outside a runtime, the runtime is shutting down, or the task was
//! cancelled by a shutdown before the child exited — the pidfd goes to
//! one process-wide thread, started the first time it is needed, that
//! `poll(2)`s every such pidfd and reaps each as it exits. Only pidfds
//! are ever waited on: never `waitpid(-1)` nor a SIGCHLD handler, so
//! other libraries' children are left alone.
//!
//! A child waited for on the ring (no pidfd yet) gets its pidfd when it is
//! dropped: unreaped, its pid still names it.
//!
//! Called by `child.rs` (`Drop`); calls `pidfd.rs`, the poll op and the
//! runtime's spawn.

use super::pidfd;
use crate::io::{ops, SharedFd};
use crate::loom::sync::Mutex;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Reaps the child behind `fd` in the background.
pub(crate) fn reap_later(fd: SharedFd) {
    let mut orphan = Orphan(Some(fd));
    if let Ok(h) = crate::runtime::Handle::try_current() {
        if !h.shared().registry.is_closed() {
            drop(h.spawn(async move {
                let fd = orphan.0.as_ref().expect("the pidfd").clone();
                // Until reaped (or reaped by someone else: ECHILD).
                while let Ok(None) = pidfd::try_reap(&fd) {
                    if ops::poll_readable(&fd).await.is_err() {
                        // The wait could not be armed (epoll out of
                        // watches, memory): `Orphan`'s drop hands the child
                        // to the reaper thread instead of leaving a zombie.
                        return;
                    }
                }
                orphan.reaped();
            }));
            return;
        }
    }
    drop(orphan);
}

/// Reaps our unreaped child `pid` in the background: through a pidfd
/// (as [`reap_later`]), or, if none can be opened (out of fds), by a
/// thread of its own blocked in `waitid`.
pub(crate) fn reap_pid_later(pid: u32) {
    match pidfd::open(pid) {
        Ok(fd) => reap_later(SharedFd::new(fd)),
        Err(_) => {
            let reaper =
                std::thread::Builder::new()
                    .name("aio-reaper".into())
                    .spawn(move || loop {
                        // SAFETY: all-zero is a valid siginfo_t; waitid fills it.
                        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                        // SAFETY: a valid out pointer; `pid` is our unreaped
                        // child, so it names nobody else.
                        let rc = unsafe {
                            libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED)
                        };
                        if rc == 0
                            || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted
                        {
                            return;
                        }
                    });
            // Without a thread either, the zombie stays until we exit.
            drop(reaper);
        }
    }
}

/// A child still to reap; if dropped unreaped (its task cancelled, or
/// never run), it goes to the reaper thread.
struct Orphan(Option<SharedFd>);

impl Orphan {
    /// The child is reaped: nothing left to hand over.
    fn reaped(&mut self) {
        self.0 = None;
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        let Some(fd) = self.0.take() else { return };
        if !matches!(pidfd::try_reap(&fd), Ok(None)) {
            return;
        }
        // Still running: the thread takes a copy of the pidfd (ours may
        // still be named by a cancelled poll on a ring).
        if let Ok(copy) = pidfd::dup(&fd) {
            thread::adopt(copy);
        }
    }
}

/// The last-resort reaper thread.
mod thread {
    use super::*;

    struct Reaper {
        /// Wakes the thread when a pidfd is added (an eventfd).
        wake: OwnedFd,
        /// Pidfds added since the thread last looked.
        added: Vec<OwnedFd>,
    }

    static REAPER: Mutex<Option<Reaper>> = Mutex::new(None);

    /// Hands `pidfd` to the thread (started on first use).
    pub(super) fn adopt(pidfd: OwnedFd) {
        let mut r = REAPER.lock();
        if r.is_none() {
            let Ok(wake) = crate::driver::new_eventfd() else {
                return; // out of fds: the child stays a zombie until exit
            };
            let Ok(wake2) = pidfd::dup(&wake) else { return };
            let started = std::thread::Builder::new()
                .name("aio-reaper".into())
                .spawn(move || run(wake2));
            if started.is_err() {
                return;
            }
            *r = Some(Reaper {
                wake,
                added: Vec::new(),
            });
        }
        let r = r.as_mut().expect("started above");
        r.added.push(pidfd);
        crate::driver::write_eventfd(r.wake.as_raw_fd());
    }

    fn run(wake: OwnedFd) {
        let mut children: Vec<OwnedFd> = Vec::new();
        loop {
            if let Some(r) = REAPER.lock().as_mut() {
                children.append(&mut r.added);
            }
            children.retain(|fd| matches!(pidfd::try_reap(fd), Ok(None)));
            let mut pfds: Vec<libc::pollfd> = std::iter::once(&wake)
                .chain(&children)
                .map(|fd| libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            // SAFETY: `pfds` is a valid array of `pfds.len()` pollfds.
            unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) };
            if pfds[0].revents != 0 {
                let mut buf = 0u64;
                // SAFETY: reading 8 bytes into a u64 from our eventfd.
                unsafe { libc::read(wake.as_raw_fd(), (&mut buf as *mut u64).cast(), 8) };
            }
        }
    }
}
