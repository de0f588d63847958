//! The driver: what a worker parks in, and what runs its I/O.
//!
//! Two drivers sit behind one interface (`Driver`): an io_uring ring per
//! worker (`uring.rs`), and where io_uring is refused, an epoll instance
//! per worker (`epoll.rs`). The schedulers see only `new`, `enable`,
//! `can_close_anywhere`, `park(timeout, may_spin)`, `poll`, the
//! `Unparker` and the wakers of finished I/O; the op futures (`io/`) ask
//! which driver their thread has and submit an SQE to the ring, or run
//! their syscall and wait for readiness on the epoll.
//!
//! A worker with nothing to run parks in `io_uring_enter` or
//! `epoll_pwait2`, waiting with the next timer deadline as timeout. Others
//! wake it through its `Unparker`: another worker posts an
//! `IORING_OP_MSG_RING` into the sleeper's ring from its own ring; any
//! other thread (and every thread, under epoll) writes an eventfd that the
//! sleeper watches. The unparker's three-state word (EMPTY / PARKED /
//! NOTIFIED) makes a wake of a worker that is not parked cost no syscall,
//! and a wake that races with parking never get lost.
//!
//! Under `--cfg loom` there are no rings nor epoll: `unpark.rs` provides
//! the condvar parker with the same protocol, and the models check it.
//!
//! Called by the schedulers (park, poll, unpark) and the op futures;
//! calls nothing above it.

mod batch;
mod config;
#[cfg(not(loom))]
pub(crate) mod epoll;
mod spin;
pub(crate) mod unpark;
#[cfg(not(loom))]
mod uring;

pub(crate) use config::DriverConfig;
#[cfg(not(loom))]
pub(crate) use spin::{SpinBudget, SpinGate, SpinStep};
pub(crate) use unpark::Unparker;
#[cfg(not(loom))]
pub(crate) use uring::Mailbox;

#[cfg(loom)]
pub(crate) use unpark::loom_driver::Driver;

#[cfg(all(test, loom))]
mod tests;

#[cfg(not(loom))]
pub(crate) use real::*;

#[cfg(not(loom))]
mod real {
    use super::{epoll, uring, DriverConfig, Unparker};
    use crate::loom::sync::Arc;
    use crate::rt::Driver as Kind;
    use crate::stats::ThreadStats;
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};
    use std::task::Waker;
    use std::time::Duration;

    /// One thread's driver: a ring or an epoll instance.
    #[derive(Debug)]
    #[allow(
        clippy::large_enum_variant,
        reason = "one per thread, never moved on the hot path; boxing would add a \
                  pointer chase to every op"
    )]
    pub(crate) enum Driver {
        Uring(uring::Driver),
        Epoll(epoll::Driver),
    }

    impl Driver {
        /// Creates the driver `cfg.kind` names. `attach`: share the first
        /// ring's kernel worker pool. `single_issuer`: only one thread (a
        /// worker) will ever use it, which must call `enable` on itself.
        /// `stats`: the counters of the thread that will own it.
        pub(crate) fn new(
            cfg: &DriverConfig,
            attach: Option<&Driver>,
            single_issuer: bool,
            stats: Arc<ThreadStats>,
        ) -> io::Result<Driver> {
            match cfg.kind {
                Kind::Epoll => Ok(Driver::Epoll(epoll::Driver::new(cfg.spin.clone(), stats)?)),
                _ => {
                    let attach = match attach {
                        Some(Driver::Uring(u)) => Some(u),
                        _ => None,
                    };
                    Ok(Driver::Uring(uring::Driver::new(
                        cfg,
                        attach,
                        single_issuer,
                        stats,
                    )?))
                }
            }
        }

        /// Makes the calling thread the driver's owner.
        pub(crate) fn enable(&mut self) -> io::Result<()> {
            match self {
                Driver::Uring(d) => d.enable(),
                Driver::Epoll(_) => Ok(()),
            }
        }

        /// Whether this driver can be closed on a thread other than its
        /// owner's with nothing lost: a ring with no op in flight (closing
        /// it cancels nothing). An epoll driver cannot: its registrations
        /// need its owner to poll it, or to mark them dead on close.
        pub(crate) fn can_close_anywhere(&self) -> bool {
            match self {
                Driver::Uring(d) => d.in_flight() == 0,
                Driver::Epoll(_) => false,
            }
        }

        /// Parks until woken, an I/O event, or `timeout`.
        pub(crate) fn park(&mut self, timeout: Option<Duration>, may_spin: bool) {
            match self {
                Driver::Uring(d) => d.park(timeout, may_spin),
                Driver::Epoll(d) => d.park(timeout, may_spin),
            }
        }

        /// Collects finished I/O without blocking.
        pub(crate) fn poll(&mut self) {
            match self {
                Driver::Uring(d) => d.poll(),
                Driver::Epoll(d) => d.poll(),
            }
        }

        /// The waking side of this driver's park.
        pub(crate) fn unparker(&self) -> &Arc<Unparker> {
            match self {
                Driver::Uring(d) => &d.unparker,
                Driver::Epoll(d) => &d.unparker,
            }
        }

        /// Which driver this is.
        pub(crate) fn kind(&self) -> Kind {
            match self {
                Driver::Uring(_) => Kind::IoUring,
                Driver::Epoll(_) => Kind::Epoll,
            }
        }

        fn woken(&mut self) -> &mut Vec<Waker> {
            match self {
                Driver::Uring(d) => &mut d.woken,
                Driver::Epoll(d) => &mut d.woken,
            }
        }

        /// Posts a wake into another ring from this one (MSG_RING); false
        /// when not possible (then the eventfd is used).
        pub(crate) fn msg_ring(&mut self, target_fd: RawFd) -> bool {
            match self {
                Driver::Uring(d) => d.msg_ring(target_fd),
                Driver::Epoll(_) => false,
            }
        }
    }

    /// Runs `f` (park, poll) on the driver in `cell`, then wakes the tasks
    /// whose I/O finished, after releasing the driver: a waker may start
    /// the next op (a stream writer's flush does).
    pub(crate) fn drive(cell: &std::cell::RefCell<Driver>, f: impl FnOnce(&mut Driver)) {
        let mut woken = {
            let mut d = cell.borrow_mut();
            f(&mut d);
            if d.woken().is_empty() {
                return;
            }
            std::mem::take(d.woken())
        };
        for w in woken.drain(..) {
            w.wake();
        }
        // Keep the capacity for the next round.
        let mut d = cell.borrow_mut();
        if d.woken().is_empty() {
            *d.woken() = woken;
        }
    }

    /// Whether `e` says the kernel refuses io_uring, or lacks what the
    /// ring needs (then `Driver::Auto` falls back to epoll): ENOSYS,
    /// EPERM, EACCES, ENOMEM (memlock), EINVAL (too old), a missing
    /// feature. Not a lack of fds or threads, which epoll would hit too.
    pub(crate) fn is_refusal(e: &io::Error) -> bool {
        uring::refusal_errno(e).is_some_and(|errno| {
            matches!(
                errno,
                libc::ENOSYS | libc::EPERM | libc::EACCES | libc::ENOMEM | libc::EINVAL
            )
        })
    }

    /// An `EMFILE` / `ENFILE` while creating one of a driver's descriptors
    /// (a ring, an epoll instance, their eventfd, the dup a ring's waker
    /// keeps), as an error that names the limit; any other error as it is.
    pub(crate) fn out_of_fds(e: io::Error, what: &str) -> io::Error {
        let msg = match e.raw_os_error() {
            Some(libc::EMFILE) => format!(
                "{what} could not be created: this process is out of file descriptors. Its \
                 open-file limit (RLIMIT_NOFILE) is too low: each worker's driver takes 2 or \
                 3 descriptors (one driver per worker, one for the thread in block_on / run); \
                 raise the limit (`ulimit -n`) or use fewer workers"
            ),
            Some(libc::ENFILE) => format!(
                "{what} could not be created: the system is out of file descriptors (ENFILE: \
                 the system-wide limit fs.file-max, not this process's RLIMIT_NOFILE or \
                 `ulimit -n`, is reached)"
            ),
            _ => return e,
        };
        io::Error::new(e.kind(), format!("{msg} [{e}]"))
    }

    /// A non-blocking, close-on-exec eventfd.
    pub(crate) fn new_eventfd() -> io::Result<OwnedFd> {
        // SAFETY: plain syscall; the result is checked before use.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `efd` is a fresh fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(efd) })
    }

    /// Adds one to an eventfd (wakes whoever watches it).
    pub(crate) fn write_eventfd(fd: RawFd) {
        let one: u64 = 1;
        // SAFETY: `fd` is an eventfd kept open by our caller; we pass a
        // valid 8-byte buffer.
        let _ = unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }

    /// `AIO_MAX_PARK_US`: a debugging aid that caps how long a driver
    /// blocks when it parks, in µs. Tools that run one thread at a time
    /// and do not know that `io_uring_enter` blocks (valgrind 3.19 keeps
    /// its global lock across it) would otherwise never run the thread
    /// that wakes a parked worker; with a cap, the parked worker comes
    /// back and lets the others run. Unset (the default), a park blocks
    /// until woken.
    pub(crate) fn max_park_from_env() -> Option<Duration> {
        parse_max_park(&std::env::var("AIO_MAX_PARK_US").ok()?)
    }

    pub(crate) fn parse_max_park(v: &str) -> Option<Duration> {
        crate::rt::builder::parse_micros(v).map(|d| d.max(Duration::from_micros(1)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_park_cap_is_read_in_microseconds() {
            assert_eq!(parse_max_park("100"), Some(Duration::from_micros(100)));
            assert_eq!(parse_max_park(" 0 "), Some(Duration::from_micros(1)));
            assert_eq!(parse_max_park("soon"), None);
        }
    }
}

/// Under loom every "ring" is a condvar parker: nothing is refused.
#[cfg(loom)]
pub(crate) fn is_refusal(_: &std::io::Error) -> bool {
    false
}

#[cfg(loom)]
pub(crate) fn drive(cell: &std::cell::RefCell<Driver>, f: impl FnOnce(&mut Driver)) {
    let mut woken = {
        let mut d = cell.borrow_mut();
        f(&mut d);
        std::mem::take(&mut d.woken)
    };
    for w in woken.drain(..) {
        w.wake();
    }
}
