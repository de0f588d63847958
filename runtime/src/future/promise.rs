//! `Promise<T>`: asyncio's `Future` — a value set once, awaited by many.

use crate::loom::sync::{Arc, Mutex};
use crate::task::{TaskError, TaskId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The error of setting a result on a promise that is already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidState(());

impl fmt::Display for InvalidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the promise is already done")
    }
}

impl std::error::Error for InvalidState {}

type Callback<T> = Box<dyn FnOnce(&Promise<T>) + Send + 'static>;

enum Value<T> {
    Pending,
    Set(T),
    Cancelled,
}

struct Inner<T> {
    value: Value<T>,
    /// The wakers of the pending `Wait`s, by key, in the order they began
    /// waiting (woken in that order; a `Wait` that is dropped takes its
    /// own out).
    waiters: std::collections::BTreeMap<u64, Waker>,
    next_key: u64,
    callbacks: Vec<Callback<T>>,
}

/// A value that is set once and awaited by any number of tasks (asyncio's
/// `Future`). `Clone` shares the promise.
///
/// # Examples
///
/// ```
/// use aio::future::Promise;
/// aio::run(async {
///     let p = Promise::new();
///     let waiter = aio::spawn({ let p = p.clone(); async move { p.wait().await.unwrap() } });
///     p.set_result("done").unwrap();
///     assert_eq!(waiter.await.unwrap(), "done");
///     assert!(p.set_result("again").is_err());
/// });
/// ```
pub struct Promise<T> {
    inner: Arc<Mutex<Inner<T>>>,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone + Send + 'static> Default for Promise<T> {
    fn default() -> Self {
        Promise::new()
    }
}

impl<T: Clone + Send + 'static> Promise<T> {
    /// A pending promise.
    pub fn new() -> Promise<T> {
        Promise {
            inner: Arc::new(Mutex::new(Inner {
                value: Value::Pending,
                waiters: std::collections::BTreeMap::new(),
                next_key: 0,
                callbacks: Vec::new(),
            })),
        }
    }

    /// Sets the result and wakes every waiter.
    ///
    /// # Errors
    /// [`InvalidState`] if the promise is already done (set or cancelled).
    pub fn set_result(&self, value: T) -> Result<(), InvalidState> {
        self.finish(Value::Set(value)).map_err(|_| InvalidState(()))
    }

    /// Cancels the promise: false if it is already done.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let p = aio::future::Promise::<u8>::new();
    ///     assert!(p.cancel());
    ///     assert!(p.is_cancelled());
    ///     assert!(p.wait().await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.finish(Value::Cancelled).is_ok()
    }

    fn finish(&self, v: Value<T>) -> Result<(), Value<T>> {
        let (waiters, callbacks) = {
            let mut g = self.inner.lock();
            if !matches!(g.value, Value::Pending) {
                return Err(v);
            }
            g.value = v;
            (
                std::mem::take(&mut g.waiters),
                std::mem::take(&mut g.callbacks),
            )
        };
        for w in waiters.into_values() {
            w.wake();
        }
        for cb in callbacks {
            self.schedule_callback(cb);
        }
        Ok(())
    }

    fn schedule_callback(&self, cb: Callback<T>) {
        let me = self.clone();
        match crate::rt::Handle::try_current() {
            Ok(h) => {
                h.call_soon(move || cb(&me));
            }
            // Outside a runtime: run it right here.
            Err(_) => cb(&me),
        }
    }

    /// Whether a result was set or the promise cancelled.
    pub fn is_done(&self) -> bool {
        !matches!(self.inner.lock().value, Value::Pending)
    }

    /// Whether the promise was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.lock().value, Value::Cancelled)
    }

    /// The result, without waiting.
    ///
    /// # Errors
    /// `is_invalid_state()` while pending, `is_cancelled()` if cancelled.
    pub fn try_result(&self) -> Result<T, TaskError> {
        match &self.inner.lock().value {
            Value::Set(v) => Ok(v.clone()),
            Value::Pending => Err(TaskError::invalid_state(TaskId(0))),
            Value::Cancelled => Err(TaskError::cancelled(TaskId(0))),
        }
    }

    /// Waits for the result (a clone of it).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub fn wait(&self) -> Wait<T> {
        Wait {
            promise: self.clone(),
            key: None,
        }
    }

    /// Runs `f` once the promise is done (like `call_soon`); at once (as
    /// scheduled) if it is already done.
    pub fn add_done_callback(&self, f: impl FnOnce(&Promise<T>) + Send + 'static) {
        let mut g = self.inner.lock();
        if matches!(g.value, Value::Pending) {
            g.callbacks.push(Box::new(f));
        } else {
            drop(g);
            self.schedule_callback(Box::new(f));
        }
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner.lock().value {
            Value::Pending => "pending",
            Value::Set(_) => "finished",
            Value::Cancelled => "cancelled",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}

/// The future of [`Promise::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T> {
    promise: Promise<T>,
    /// Its waker's key in the promise's `waiters`, once it waited.
    key: Option<u64>,
}

impl<T: Clone + Send + 'static> Future for Wait<T> {
    type Output = Result<T, TaskError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
        let this = self.get_mut();
        let mut g = this.promise.inner.lock();
        let out = match &g.value {
            Value::Set(v) => Ok(v.clone()),
            Value::Cancelled => Err(TaskError::cancelled(TaskId(0))),
            Value::Pending => {
                let key = *this.key.get_or_insert_with(|| {
                    g.next_key += 1;
                    g.next_key
                });
                match g.waiters.get_mut(&key) {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    Some(w) => w.clone_from(cx.waker()),
                    None => {
                        g.waiters.insert(key, cx.waker().clone());
                    }
                }
                return Poll::Pending;
            }
        };
        this.key = None;
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl<T> Drop for Wait<T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // A wait given up (a timeout, a select) leaves no waker behind.
            self.promise.inner.lock().waiters.remove(&key);
        }
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("promise", &self.promise)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Nop;
    impl Wake for Nop {
        fn wake(self: Arc<Self>) {}
    }

    /// Waits given up by many tasks (a timeout, a select) leave no waker
    /// (and no task) behind in a promise that stays pending.
    #[test]
    fn a_wait_given_up_leaves_no_waker_behind() {
        let p = Promise::<u8>::new();
        for _ in 0..100 {
            let waker = Waker::from(Arc::new(Nop));
            let mut w = p.wait();
            let polled = Pin::new(&mut w).poll(&mut Context::from_waker(&waker));
            assert!(polled.is_pending());
            drop(w);
        }
        assert_eq!(p.inner.lock().waiters.len(), 0);
        let mut w = p.wait();
        let waker = Waker::from(Arc::new(Nop));
        let _ = Pin::new(&mut w).poll(&mut Context::from_waker(&waker));
        p.set_result(5).unwrap();
        let out = Pin::new(&mut w).poll(&mut Context::from_waker(&waker));
        assert!(matches!(out, Poll::Ready(Ok(5))));
    }
}
