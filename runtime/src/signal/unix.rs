//! Unix signals as streams: `signal(SignalKind::terminate())` gives a
//! [`Signal`] whose `recv().await` resolves at each delivery (several
//! deliveries between two `recv`s coalesce into one, as in tokio).
//!
//! Called by users; calls `registry.rs`.

use super::registry::{self, Slot};
use crate::loom::sync::atomic::Ordering::Acquire;
use crate::loom::sync::Arc;
use futures_core::Stream;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A kind of signal (tokio's `SignalKind`): the named constructors, or
/// any number with [`from_raw`](Self::from_raw).
///
/// # Examples
///
/// ```
/// use aio::signal::unix::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// The signal numbered `signum` (`libc::SIGWINCH`, a real-time one, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// let rt_min = SignalKind::from_raw(libc::SIGRTMIN());
    /// assert_eq!(rt_min.as_raw_value(), libc::SIGRTMIN());
    /// ```
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }

    /// Its number.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::from(libc::SIGHUP).as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn as_raw_value(&self) -> i32 {
        self.0
    }

    /// SIGALRM.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::alarm().as_raw_value(), libc::SIGALRM);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// SIGCHLD. (aio's own children are reaped through pidfds, never
    /// through this signal; listening to it takes nothing from them.)
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::child().as_raw_value(), libc::SIGCHLD);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGHUP: the terminal hung up; daemons reload on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::hangup().as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGINT: Ctrl-C.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGIO.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::io().as_raw_value(), libc::SIGIO);
    /// ```
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// SIGPIPE.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::pipe().as_raw_value(), libc::SIGPIPE);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGQUIT.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::quit().as_raw_value(), libc::SIGQUIT);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGTERM: asked to stop (Kubernetes sends it, then SIGKILL 30 s
    /// later).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGUSR1.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::user_defined1().as_raw_value(), libc::SIGUSR1);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::user_defined2().as_raw_value(), libc::SIGUSR2);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGWINCH: the terminal's size changed.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::window_change().as_raw_value(), libc::SIGWINCH);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<i32> for SignalKind {
    fn from(signum: i32) -> SignalKind {
        SignalKind(signum)
    }
}

/// Listens for `kind` from now on: while the returned [`Signal`] (or
/// another listener of the same signal) lives, the signal's disposition
/// is aio's handler and deliveries go to the listeners; when the last
/// listener goes, the disposition it had before is restored. Works
/// outside a runtime too (the delivery is process-wide).
///
/// # Errors
/// `InvalidInput` for a number that is not a signal, or one that may
/// not be handled (SIGKILL, SIGSTOP and the fault signals SIGILL, SIGFPE,
/// SIGSEGV, SIGBUS, SIGTRAP, SIGSYS: see the module docs); the OS error if
/// the handler cannot be installed.
///
/// # Examples
///
/// ```
/// use aio::signal::unix::{signal, SignalKind};
/// # aio::run(async {
/// let mut usr1 = signal(SignalKind::user_defined1())?;
/// // SAFETY: sending a signal to ourselves.
/// unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
/// assert_eq!(usr1.recv().await, Some(()));
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.0;
    let (slot, seen) = registry::add_stream(signum)?;
    Ok(Signal {
        signum,
        slot,
        seen,
        key: None,
    })
}

/// A listener of one signal, from [`signal`]: `recv().await` resolves
/// at the next delivery; it is also a [`Stream`] of `()`.
#[must_use = "a Signal listens only while it is alive"]
pub struct Signal {
    signum: i32,
    slot: Arc<Slot>,
    /// The slot's version at the last delivery this listener saw.
    seen: u64,
    /// Its entry among the slot's waiters, while it waits.
    key: Option<u64>,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("signum", &self.signum)
            .finish()
    }
}

impl Signal {
    /// Waits for the next delivery of the signal (deliveries since the
    /// last `recv` — or since this listener was made — count once).
    /// Returns `Some(())`; never `None` (the delivery is process-wide and
    /// outlives runtimes: tokio's shape is kept).
    ///
    /// # Cancel safety
    /// Cancel-safe: a delivery that a cancelled `recv` did not return is
    /// returned by the next one.
    ///
    /// # Examples
    ///
    /// See [`signal`].
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::signal::unix::{signal, SignalKind};
    /// # aio::run(async {
    /// let mut s = signal(SignalKind::user_defined2())?;
    /// // Nothing delivered yet.
    /// std::future::poll_fn(|cx| {
    ///     assert!(s.poll_recv(cx).is_pending());
    ///     std::task::Poll::Ready(())
    /// })
    /// .await;
    /// // SAFETY: sending a signal to ourselves.
    /// unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
    /// std::future::poll_fn(|cx| s.poll_recv(cx)).await;
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if take_delivery(&self.slot, &mut self.seen) {
            return Poll::Ready(Some(()));
        }
        let mut w = self.slot.waiters.lock();
        // Under the lock: the dispatcher bumps the version before it takes
        // the lock, so either we see it here or it sees our waker.
        if take_delivery(&self.slot, &mut self.seen) {
            return Poll::Ready(Some(()));
        }
        match self.key.and_then(|k| w.iter_mut().find(|(x, _)| *x == k)) {
            Some((_, waker)) => {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
            }
            None => {
                let k = self.key.unwrap_or_else(|| self.slot.key());
                self.key = Some(k);
                w.push((k, cx.waker().clone()));
            }
        }
        Poll::Pending
    }
}

/// Whether `slot` had a delivery after `seen`; if so, `seen` catches up.
fn take_delivery(slot: &Slot, seen: &mut u64) -> bool {
    let v = slot.version.load(Acquire);
    if v == *seen {
        return false;
    }
    *seen = v;
    true
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        if let Some(k) = self.key {
            self.slot.waiters.lock().retain(|(x, _)| *x != k);
        }
        registry::remove_stream(self.signum);
    }
}
