//! How an op runs on the epoll driver: try the syscall, wait for
//! readiness on `EAGAIN`, try again.
//!
//! The op keeps its data (buffer, address) in its own future: the kernel
//! touches it only inside the syscall, so nothing outlives a dropped op
//! but its waiter entry, which `Wait`'s drop removes. The fd is registered
//! with the epoll of the thread the op first waits on (`SharedFd::
//! registration`, once per fd); the readiness protocol is `ready.rs`'s.
//!
//! Called by `op.rs` and `multi.rs`; calls `ready.rs` and `fd.rs`.

use super::fd::SharedFd;
use super::ready::{Interest, ScheduledIo};
use crate::loom::sync::Arc;
use std::io;
use std::task::{Context, Poll};

/// An op's wait for readiness: the fd's readiness state and the op's
/// waiter key there, once it has waited.
#[derive(Debug, Default)]
pub(crate) struct Wait {
    io: Option<Arc<ScheduledIo>>,
    key: Option<u64>,
}

impl Wait {
    /// Runs `attempt` on `data` (one non-blocking try of the syscall;
    /// `None` if it would block) until it does not block, waiting between
    /// tries until the fd (`fd_of(data)`) is ready in `interest`'s
    /// direction. `drained(data, result)` says whether a success proves
    /// the fd drained in that direction (a short stream receive).
    ///
    /// An fd that already has a registration is read before the first
    /// try: if the last op in this direction saw it drained (`EAGAIN` or
    /// a short receive) and no event came since, the op waits for the
    /// next event instead of making a syscall that would fail. A snapshot
    /// taken before every try lets a failed or draining try clear the
    /// readiness (only if no event came meanwhile: `ready.rs`).
    pub(crate) fn poll<D, R>(
        &mut self,
        data: &mut D,
        fd_of: fn(&D) -> &SharedFd,
        interest: Interest,
        cx: &mut Context<'_>,
        attempt: fn(&mut D) -> Option<io::Result<R>>,
        drained: fn(&D, &R) -> bool,
    ) -> Poll<io::Result<R>> {
        if self.io.is_none() {
            self.io = fd_of(data).registered();
            if let Some(io) = &self.io {
                if io
                    .poll_ready(interest, &mut self.key, cx.waker())
                    .is_pending()
                {
                    return Poll::Pending;
                }
            }
        }
        loop {
            let before = self.io.as_ref().map(|io| io.snapshot());
            match attempt(data) {
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Some(res) => {
                    if let (Ok(r), Some(io), Some(snap)) = (&res, &self.io, before) {
                        if drained(data, r) {
                            io.clear(snap, interest);
                        }
                    }
                    self.stop_waiting();
                    return Poll::Ready(res);
                }
                None => {}
            }
            // It would block. Our registration, made now if the fd has
            // none on a live driver (the first wait, or its driver is gone).
            let io = match &self.io {
                Some(io) if !io.is_shut_down() => {
                    if let Some(snap) = before {
                        io.clear(snap, interest);
                    }
                    io.clone()
                }
                _ => {
                    self.stop_waiting();
                    match fd_of(data).registration() {
                        Ok(io) => {
                            self.io = Some(io.clone());
                            io
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            };
            if io
                .poll_ready(interest, &mut self.key, cx.waker())
                .is_pending()
            {
                return Poll::Pending;
            }
        }
    }

    /// Leaves the waiter list (the op completed, moved on, or is dropped).
    fn stop_waiting(&mut self) {
        if let (Some(io), Some(key)) = (&self.io, self.key.take()) {
            io.remove(key);
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.stop_waiting();
    }
}

/// `-1` from a syscall as an error, `EAGAIN` as "would block" (`None`).
pub(crate) fn syscall_result(n: isize) -> Option<io::Result<u32>> {
    if n >= 0 {
        // A count of at most MAX_RW_COUNT, or an fd: fits.
        return Some(Ok(n as u32));
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) => None,
        _ => Some(Err(e)),
    }
}
