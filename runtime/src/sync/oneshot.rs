//! A one-value channel: [`channel`] gives a [`Sender`] and a [`Receiver`],
//! which is itself the future of the value.
//!
//! One allocation per channel holds a small mutex-guarded slot: the value,
//! both wakers and the two "alive" flags. Every transition (send, either
//! side dropped, receive, close) is one critical section, and wakers are
//! called after it, so the protocol is easy to check (see
//! `tests/loom_oneshot.rs`): the receiver gets the value iff `send`
//! returned `Ok`, and otherwise learns that the sender is gone.

use crate::loom::sync::{Arc, Mutex};
use crate::scheduler::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    tx_alive: bool,
    rx_alive: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

/// Creates a channel for one value.
///
/// # Examples
///
/// ```
/// use aio::sync::oneshot;
/// aio::run(async {
///     let (tx, rx) = oneshot::channel();
///     aio::spawn(async move { tx.send(42).unwrap() });
///     assert_eq!(rx.await, Ok(42));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        tx_alive: true,
        rx_alive: true,
        rx_waker: None,
        tx_waker: None,
    }));
    (Sender { slot: slot.clone() }, Receiver { slot })
}

/// The sending half of a [`channel`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = aio::sync::oneshot::channel::<u8>();
/// drop(rx);
/// assert!(tx.is_closed());
/// ```
pub struct Sender<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// The receiving half of a [`channel`]: a future of the value.
///
/// # Cancel safety
///
/// Cancel-safe when polled by reference (`(&mut rx).await`): a value not
/// yet received stays in the channel. Dropping the receiver closes the
/// channel; a value sent before is dropped with it.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let (tx, rx) = aio::sync::oneshot::channel::<u8>();
///     drop(tx);
///     assert!(rx.await.is_err());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Receiver<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// The error of a [`Receiver`] whose sender was dropped without sending.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let (tx, rx) = aio::sync::oneshot::channel::<()>();
///     drop(tx);
///     assert_eq!(rx.await.unwrap_err().to_string(), "oneshot sender dropped");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
///
/// # Examples
///
/// ```
/// use aio::sync::oneshot::{channel, TryRecvError};
/// let (tx, mut rx) = channel::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet; the sender is alive.
    Empty,
    /// The sender is gone without sending (or the value was taken).
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "oneshot channel empty",
            TryRecvError::Closed => "oneshot channel closed",
        })
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Sender<T> {
    /// Sends the value; gives it back if the receiver is gone.
    ///
    /// # Errors
    ///
    /// `Err(value)` if the receiver was dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = aio::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        let waker = {
            let mut s = self.slot.lock();
            if !s.rx_alive {
                return Err(value);
            }
            s.value = Some(value);
            s.rx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
        // `self` drops here: `tx_alive` turns false after the value is in.
    }

    /// Whether the receiver is gone (dropped or closed).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = aio::sync::oneshot::channel::<()>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        !self.slot.lock().rx_alive
    }

    /// Waits until the receiver is gone (to stop computing an unwanted
    /// value).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let (mut tx, rx) = aio::sync::oneshot::channel::<()>();
    ///     aio::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver to be gone; registers `cx`'s waker otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// let (mut tx, rx) = aio::sync::oneshot::channel::<()>();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(tx.poll_closed(&mut cx).is_pending());
    /// drop(rx);
    /// assert!(tx.poll_closed(&mut cx).is_ready());
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        let mut s = self.slot.lock();
        if !s.rx_alive {
            coop.made_progress();
            return Poll::Ready(());
        }
        match &s.tx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.tx_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.slot.lock();
            s.tx_alive = false;
            s.rx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] while the sender may still send,
    /// [`TryRecvError::Closed`] once it cannot.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = aio::sync::oneshot::channel();
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut s = self.slot.lock();
        match s.value.take() {
            Some(v) => Ok(v),
            None if s.tx_alive && s.rx_alive => Err(TryRecvError::Empty),
            None => Err(TryRecvError::Closed),
        }
    }

    /// Refuses the value: a later `send` fails; a value already sent can
    /// still be taken with [`try_recv`](Self::try_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = aio::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        let waker = {
            let mut s = self.slot.lock();
            s.rx_alive = false;
            s.tx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(coop::poll_proceed(cx));
        let mut s = self.slot.lock();
        if let Some(v) = s.value.take() {
            coop.made_progress();
            return Poll::Ready(Ok(v));
        }
        if !s.tx_alive || !s.rx_alive {
            coop.made_progress();
            return Poll::Ready(Err(RecvError(())));
        }
        match &s.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.rx_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (waker, value) = {
            let mut s = self.slot.lock();
            s.rx_alive = false;
            (s.tx_waker.take(), s.value.take())
        };
        // The value (if any) is dropped outside the lock.
        drop(value);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.slot.lock();
        f.debug_struct("Receiver")
            .field("ready", &s.value.is_some())
            .field("sender_alive", &s.tx_alive)
            .finish()
    }
}
