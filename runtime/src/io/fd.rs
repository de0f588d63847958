//! `SharedFd`: a file descriptor shared by a socket and its in-flight ops.
//!
//! An SQE names its fd by number, and the kernel resolves the number when
//! it issues the request, which may be after the SQE was queued. So the fd
//! must stay open, and its number unused by anything else, until every op
//! that names it has completed: each op record holds a clone, and the fd is
//! closed when the last clone drops. `close().await` closes it explicitly,
//! after waiting for the in-flight ops, and reports close's error.
//!
//! Under the epoll driver the fd is registered with the epoll of the
//! thread where an op on it first had to wait (`registration`), and
//! removed from it just before it is closed.
//!
//! Called by the op files and by `aio-net`'s sockets.

use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::task::{Poll, Waker};

struct Inner {
    fd: RawFd,
    /// `close()` took the fd over: the last drop must not close it again.
    closed: AtomicBool,
    /// Op records that hold this fd (in flight, or done but not dropped).
    ops: AtomicUsize,
    /// The waker of a pending `close()`.
    closer: Mutex<Option<Waker>>,
    /// The epoll registration, once an op had to wait (epoll driver).
    #[cfg(not(loom))]
    reg: Mutex<Option<crate::driver::epoll::Registration>>,
}

/// A reference-counted file descriptor; closed when the last clone drops.
///
/// # Examples
///
/// ```
/// use aio::io::SharedFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let fd = SharedFd::new(a.into());
/// let other = fd.clone();
/// assert_eq!(fd.raw(), other.raw());
/// ```
#[derive(Clone)]
pub struct SharedFd {
    inner: Arc<Inner>,
}

impl fmt::Debug for SharedFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedFd").field(&self.inner.fd).finish()
    }
}

impl SharedFd {
    /// Takes ownership of `fd`.
    pub fn new(fd: OwnedFd) -> SharedFd {
        SharedFd {
            inner: Arc::new(Inner {
                fd: fd.into_raw_fd(),
                closed: AtomicBool::new(false),
                ops: AtomicUsize::new(0),
                closer: Mutex::new(None),
                #[cfg(not(loom))]
                reg: Mutex::new(None),
            }),
        }
    }

    /// The fd number (valid while this handle lives).
    pub fn raw(&self) -> RawFd {
        self.inner.fd
    }

    /// A clone held by an op record: counted, so `close()` can wait for it.
    pub(crate) fn for_op(&self) -> OpFd {
        self.inner.ops.fetch_add(1, Relaxed);
        OpFd(std::mem::ManuallyDrop::new(self.clone()))
    }

    /// Closes the fd once every op that uses it has completed, and returns
    /// close's result. If other clones of this handle are alive, the fd is
    /// not closed here but when the last of them drops (closing a number
    /// they still use could hand it to an unrelated new fd).
    ///
    /// # Cancel safety
    /// Dropping the future before it finishes leaves the fd open; it is
    /// then closed when the last clone drops.
    pub async fn close(self) -> io::Result<()> {
        poll_fn(|cx| {
            let mut closer = self.inner.closer.lock();
            if self.inner.ops.load(Acquire) == 0 {
                return Poll::Ready(());
            }
            *closer = Some(cx.waker().clone());
            // Re-check under the lock: an op that released after our load
            // takes the lock after us and finds the waker.
            if self.inner.ops.load(Acquire) == 0 {
                closer.take();
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
        let Ok(inner) = Arc::try_unwrap(self.inner) else {
            // Other clones: the last one closes the fd.
            return Ok(());
        };
        inner.closed.store(true, Relaxed);
        inner.deregister();
        // No op names the fd any more and no clone is left: close it here.
        // (An IORING_OP_CLOSE would cost a ring round trip for the same
        // syscall.)
        // SAFETY: we own the fd and nothing else can name it; `closed`
        // makes the drop of `inner` skip its close.
        if unsafe { libc::close(inner.fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(not(loom))]
impl SharedFd {
    /// The fd's live registration with an epoll, if it has one (without
    /// making one): an op starting on an fd that already waited reads its
    /// readiness before it tries the syscall.
    pub(crate) fn registered(&self) -> Option<Arc<super::ready::ScheduledIo>> {
        let reg = self.inner.reg.lock();
        match &*reg {
            Some(r) if !r.is_dead() && !r.io.is_shut_down() => Some(r.io.clone()),
            _ => None,
        }
    }

    /// The fd's readiness under the epoll driver: its registration with
    /// the epoll of this thread's driver, made on first use (or again if
    /// the driver it was registered with is gone). `slow`: its events
    /// usually take long (a pidfd), so it does not make a parked worker
    /// spin.
    ///
    /// # Errors
    /// If this thread has no epoll driver, or `epoll_ctl` fails.
    pub(crate) fn registration(&self, slow: bool) -> io::Result<Arc<super::ready::ScheduledIo>> {
        let mut reg = self.inner.reg.lock();
        if let Some(r) = &*reg {
            if !r.is_dead() {
                return Ok(r.io.clone());
            }
            r.deregister(self.inner.fd);
        }
        let poller = crate::scheduler::context::with_driver(|d| {
            let d = d?.try_borrow().ok()?;
            match &*d {
                crate::driver::Driver::Epoll(e) => Some(e.poller().clone()),
                crate::driver::Driver::Uring(_) => None,
            }
        });
        let Some(poller) = poller else {
            return Err(super::op::no_ring());
        };
        let r = poller.register(self.inner.fd, slow)?;
        let io = r.io.clone();
        *reg = Some(r);
        Ok(io)
    }
}

impl Inner {
    /// Removes the fd from the epoll it is registered with, if any: called
    /// just before it is closed.
    fn deregister(&self) {
        #[cfg(not(loom))]
        if let Some(r) = self.reg.lock().take() {
            r.deregister(self.fd);
        }
    }
}

impl AsRawFd for SharedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.fd
    }
}

impl std::os::fd::AsFd for SharedFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the fd stays open while this handle (a reference to it)
        // is borrowed.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.inner.fd) }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A load, not `get_mut` (loom's atomics have none): the last
        // `Arc` drop is ordered after every clone's, so Relaxed sees a
        // `close()`'s swap.
        if !self.closed.load(Relaxed) {
            self.deregister();
            // SAFETY: the last reference: nothing else names the fd.
            unsafe { libc::close(self.fd) };
        }
    }
}

/// An op record's counted reference to a `SharedFd`.
///
/// Its clone of the handle goes before it wakes a `close` (see `Drop`).
pub(crate) struct OpFd(std::mem::ManuallyDrop<SharedFd>);

impl fmt::Debug for OpFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OpFd").field(&self.raw()).finish()
    }
}

impl OpFd {
    pub(crate) fn raw(&self) -> RawFd {
        self.0.inner.fd
    }

    /// The shared fd (for its epoll registration).
    pub(crate) fn shared(&self) -> &SharedFd {
        &self.0
    }
}

impl Drop for OpFd {
    fn drop(&mut self) {
        let w = if self.0.inner.ops.fetch_sub(1, AcqRel) == 1 {
            self.0.inner.closer.lock().take()
        } else {
            None
        };
        // Our clone goes before the wake: the `close` we wake must be able
        // to take the handle's last reference and close the fd itself,
        // reporting close's error. (A `close` polled on another thread in
        // the few instructions between the count and this drop still finds
        // our reference and leaves the fd to the last drop, unreported.)
        // SAFETY: dropped once, here, and `self.0` is not used after.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.0) };
        if let Some(w) = w {
            w.wake();
        }
    }
}
