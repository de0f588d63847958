//! Runtime support of `aio::stream!` (the async-generator macro of
//! `aio-macros`): not a public API.
//!
//! The macro turns its body into `async move { .. }` inside a closure that
//! receives a [`Yielder`], and rewrites each `yield v` into
//! `yielder.send(v).await`. [`AsyncStream`] owns that future: each
//! `poll_next` polls it; `send` parks the value in a one-slot cell shared
//! with the stream and returns `Pending` once, and the stream hands the
//! value out. Dropping the stream drops the generator's future, so the
//! destructors of its locals run at once.

use crate::loom::sync::{Arc, Mutex};
use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The generator side: where `yield` puts its values.
pub struct Yielder<T> {
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> Yielder<T> {
    /// Hands `value` to the stream; ready once the stream has taken it.
    pub fn send(&self, value: T) -> Yield<'_, T> {
        Yield {
            slot: &self.slot,
            value: Some(value),
        }
    }
}

impl<T> fmt::Debug for Yielder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yielder").finish_non_exhaustive()
    }
}

/// The future of [`Yielder::send`] (one `yield`).
#[must_use = "a yield does nothing unless awaited"]
pub struct Yield<'a, T> {
    slot: &'a Mutex<Option<T>>,
    value: Option<T>,
}

impl<T> Unpin for Yield<'_, T> {}

impl<T> Future for Yield<'_, T> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        match self.value.take() {
            // The stream returns the value from this very poll_next, so no
            // wake-up is needed: it polls the generator again next time.
            Some(v) => {
                *self.slot.lock() = Some(v);
                Poll::Pending
            }
            None if self.slot.lock().is_none() => Poll::Ready(()),
            None => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Yield<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yield")
            .field("sent", &self.value.is_none())
            .finish()
    }
}

/// The stream an `aio::stream!` block evaluates to.
#[must_use = "streams do nothing unless polled"]
pub struct AsyncStream<T, F> {
    slot: Arc<Mutex<Option<T>>>,
    generator: Pin<Box<F>>,
    done: bool,
}

impl<T, F: Future<Output = ()>> AsyncStream<T, F> {
    /// Builds the generator future from `body` and wraps it.
    pub fn new(body: impl FnOnce(Yielder<T>) -> F) -> AsyncStream<T, F> {
        let slot = Arc::new(Mutex::new(None));
        let generator = Box::pin(body(Yielder { slot: slot.clone() }));
        AsyncStream {
            slot,
            generator,
            done: false,
        }
    }
}

impl<T, F: Future<Output = ()>> Stream for AsyncStream<T, F> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.done {
            return Poll::Ready(None);
        }
        let state = self.generator.as_mut().poll(cx);
        if let Some(v) = self.slot.lock().take() {
            return Poll::Ready(Some(v));
        }
        if state.is_ready() {
            // A finished async block has already dropped its locals.
            self.done = true;
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl<T, F> fmt::Debug for AsyncStream<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncStream")
            .field("done", &self.done)
            .finish()
    }
}
