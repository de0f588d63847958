//! `Driver`: which I/O driver a runtime runs on, and how `Auto` chooses.

use std::fmt;
use std::io;

/// Which I/O driver a runtime's workers park in and run their I/O on
/// (`Builder::driver`, `Handle::driver`).
///
/// - `IoUring`: one io_uring ring per worker. Operations are submitted to
///   the ring and complete asynchronously; a worker parks in
///   `io_uring_enter`. Needs Linux 6.1 or later with io_uring allowed.
/// - `Epoll`: one epoll instance per worker. Operations run their
///   non-blocking syscall and wait for readiness on `EAGAIN`; a worker
///   parks in `epoll_pwait2`. Runs wherever Linux runs: containers whose
///   seccomp profile refuses io_uring (Docker's and Kubernetes' defaults),
///   gVisor, `kernel.io_uring_disabled`, old kernels. Files go through the
///   blocking pool there.
/// - `Auto` (the default): io_uring, or epoll when the kernel refuses
///   io_uring (`ENOSYS`, `EPERM`, `EACCES`, `ENOMEM` from the memlock
///   limit) or lacks a feature the ring needs. In debug mode the fallback
///   is reported once on stderr. The environment variable
///   `AIO_DRIVER=io_uring|epoll` overrides `Auto` (for tests and
///   operators); an explicit `IoUring` or `Epoll` is never overridden.
///
/// The API is the same on both: owned buffers, the same cancellation
/// guarantees, the same streams.
///
/// # Examples
///
/// ```
/// use aio::runtime::{Builder, Driver};
/// let rt = Builder::new_current_thread().driver(Driver::Epoll).build().unwrap();
/// assert_eq!(rt.handle().driver(), Driver::Epoll);
/// let n = rt.block_on(async {
///     let (a, b) = aio::net::UnixStream::pair()?;
///     a.write_all(b"hi".to_vec()).await.0?;
///     let (n, _) = b.read(vec![0u8; 8]).await;
///     n
/// });
/// assert_eq!(n.unwrap(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Driver {
    /// io_uring where the kernel allows it, else epoll.
    #[default]
    Auto,
    /// io_uring only: `Builder::build` fails, saying why and what to do,
    /// where the kernel refuses it.
    IoUring,
    /// epoll only.
    Epoll,
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Driver::Auto => "auto",
            Driver::IoUring => "io_uring",
            Driver::Epoll => "epoll",
        })
    }
}

/// The environment variable that overrides `Driver::Auto`.
pub(crate) const ENV: &str = "AIO_DRIVER";

impl Driver {
    /// `Auto`, resolved against `AIO_DRIVER` if it is set.
    pub(crate) fn from_env() -> io::Result<Driver> {
        match std::env::var(ENV) {
            Ok(v) => parse(&v),
            Err(_) => Ok(Driver::Auto),
        }
    }
}

fn parse(v: &str) -> io::Result<Driver> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(Driver::Auto),
        "io_uring" | "io-uring" | "uring" => Ok(Driver::IoUring),
        "epoll" => Ok(Driver::Epoll),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{ENV}={other:?} is not a driver: use io_uring, epoll or auto"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_names_a_driver_or_fails_clearly() {
        assert_eq!(parse("epoll").unwrap(), Driver::Epoll);
        assert_eq!(parse(" IO_URING ").unwrap(), Driver::IoUring);
        assert_eq!(parse("auto").unwrap(), Driver::Auto);
        let e = parse("kqueue").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("io_uring, epoll or auto"), "{e}");
    }
}
