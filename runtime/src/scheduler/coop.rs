//! The cooperative budget: 128 units of readiness per task poll.
//!
//! Leaf futures (timers, joins, sync primitives, I/O) call `poll_proceed`
//! before doing work. When a task has used its budget, they return
//! `Pending` once (after waking the task), so one busy task cannot starve
//! the others on its worker. The scheduler resets the budget per poll.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units a task may spend per poll.
pub(crate) const BUDGET: u8 = 128;

thread_local! {
    static BUDGET_LEFT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` (one task poll) with a fresh budget.
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Option<u8>);
    impl Drop for Reset {
        fn drop(&mut self) {
            BUDGET_LEFT.with(|b| b.set(self.0));
        }
    }
    let prev = BUDGET_LEFT.with(|b| b.replace(Some(BUDGET)));
    let _reset = Reset(prev);
    f()
}

/// A unit of budget taken; give it back with `made_progress` unless the
/// leaf made progress (then it stays spent).
#[derive(Debug)]
pub(crate) struct RestoreOnPending(Cell<Option<u8>>);

impl RestoreOnPending {
    pub(crate) fn made_progress(&self) {
        self.0.set(None);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(b) = self.0.get() {
            BUDGET_LEFT.with(|c| c.set(Some(b)));
        }
    }
}

/// Takes one unit, or returns `Pending` (after waking the task) when the
/// budget is spent. Outside a task poll there is no budget.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    BUDGET_LEFT.with(|b| match b.get() {
        None => Poll::Ready(RestoreOnPending(Cell::new(None))),
        Some(0) => {
            super::context::defer_yield(cx.waker());
            Poll::Pending
        }
        Some(n) => {
            b.set(Some(n - 1));
            Poll::Ready(RestoreOnPending(Cell::new(Some(n))))
        }
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn budget_runs_out_after_128_units_and_resets_per_poll() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..BUDGET {
                let r = poll_proceed(&mut cx);
                match r {
                    Poll::Ready(r) => r.made_progress(),
                    Poll::Pending => panic!("budget ended early"),
                }
            }
            assert!(poll_proceed(&mut cx).is_pending());
        });
        budget(|| assert!(poll_proceed(&mut cx).is_ready()));
    }

    #[test]
    fn a_unit_not_used_is_given_back() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..1000 {
                let Poll::Ready(r) = poll_proceed(&mut cx) else {
                    panic!("no progress was made")
                };
                drop(r);
            }
        });
    }
}
