//! `MaybeDone`: a future, then its output, then nothing. The building
//! block of the joins.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that keeps its output once done.
#[derive(Debug)]
pub(crate) enum MaybeDone<F: Future> {
    Future(F),
    Done(F::Output),
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Polls the future if it is still running; true once done.
    pub(crate) fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the `Future` variant is structurally pinned: it is only
        // dropped in place (replaced), never moved out.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Future(f) => {
                // SAFETY: see above.
                match unsafe { Pin::new_unchecked(f) }.poll(cx) {
                    Poll::Ready(v) => {
                        *this = MaybeDone::Done(v);
                        true
                    }
                    Poll::Pending => false,
                }
            }
            MaybeDone::Done(_) => true,
            MaybeDone::Gone => true,
        }
    }

    /// The output, if done.
    pub(crate) fn output(&self) -> Option<&F::Output> {
        match self {
            MaybeDone::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Takes the output.
    ///
    /// # Panics
    /// Panics if not done, or taken already.
    pub(crate) fn take(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: we only move out of the `Done` variant, which is not
        // pinned (outputs are not structurally pinned).
        let this = unsafe { self.get_unchecked_mut() };
        match std::mem::replace(this, MaybeDone::Gone) {
            MaybeDone::Done(v) => v,
            _ => panic!("MaybeDone::take on a future that is not done"),
        }
    }

    /// Drops the future (or output) now.
    pub(crate) fn cancel(self: Pin<&mut Self>) {
        // SAFETY: dropping in place is allowed for pinned data.
        let this = unsafe { self.get_unchecked_mut() };
        *this = MaybeDone::Gone;
    }
}
