//! Loom models of the sync primitives, and the hand-polling helpers they
//! share: futures are polled directly with a waker that counts its wakes.
mod loom_barrier;
mod loom_event;
mod loom_notify;
mod loom_oneshot;
mod loom_semaphore;

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts how often it was woken.
pub(super) struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A fresh counting waker and its counter.
pub(super) fn waker() -> (Waker, Arc<Count>) {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    (Waker::from(c.clone()), c)
}

impl Count {
    pub(super) fn wakes(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// Polls `f` once with `w`.
pub(super) fn poll<F: Future + ?Sized>(f: Pin<&mut F>, w: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(w))
}
