//! `Listening`: the listening socket shared by a listener and its
//! `Incoming`s, which stops listening when the last of them is dropped.
//!
//! An accept armed in io_uring holds its own reference to the socket's
//! kernel file, so closing our fd does not close the socket: it stays
//! bound and listening (connections queue on it, a new `bind` of its port
//! fails with `AddrInUse`) until the ring has submitted the accept's cancel
//! and reaped its completion, which happens on the ring owner's next poll
//! or park. So when the last handle goes, the socket is first shut down
//! for reading (`shutdown(SHUT_RD)`): Linux then takes it out of the
//! listening state at once (queued connections are reset, `SO_REUSEADDR`
//! binders may take the port), and an armed accept ends with an error.
//! The fd itself is closed when the last op record naming it completes.
//!
//! Used by `TcpListener`, `UnixListener` and `Incoming`.

use aio_runtime::io::SharedFd;
use std::fmt;
use std::os::fd::AsRawFd;

/// A listening socket; see the module docs.
pub(crate) struct Listening {
    fd: SharedFd,
}

impl fmt::Debug for Listening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Listening").field(&self.fd.raw()).finish()
    }
}

impl Listening {
    pub(crate) fn new(fd: SharedFd) -> Listening {
        Listening { fd }
    }

    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        // SAFETY: plain syscall on an fd that `self.fd` keeps open (its
        // number cannot have been reused); it never blocks. An error
        // (ENOTCONN on a socket that never listened) changes nothing.
        unsafe { libc::shutdown(self.fd.as_raw_fd(), libc::SHUT_RD) };
    }
}
