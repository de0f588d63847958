//! `Barrier` (asyncio's): `parties` tasks meet, each learns its arrival
//! index, and the barrier is ready for the next round.
//!
//! State under one mutex: the arrivals of the current round, the round
//! number, the broken flag and the waiters. The last arrival releases the
//! waiters of its round (data: round number and outcome) and starts the next
//! round at once; `reset` and `abort` release the waiting parties with
//! `BrokenBarrier`. A waiter dropped while waiting leaves the round (the
//! arrival count goes down, as asyncio's `wait` does on cancellation).

use super::waiters::{Waiter, WaiterList, WakeList};
use crate::loom::sync::Mutex;
use crate::scheduler::coop;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// A meeting point for a fixed number of tasks (asyncio's `Barrier`).
///
/// # Examples
///
/// ```
/// use aio::sync::Barrier;
/// use std::sync::Arc;
///
/// aio::run(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             aio::spawn(async move { b.wait().await.unwrap() })
///         })
///         .collect();
///     let mut indices = Vec::new();
///     for t in tasks {
///         indices.push(t.await.unwrap());
///     }
///     indices.sort();
///     assert_eq!(indices, [0, 1, 2]);
/// });
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
}

struct State {
    arrived: usize,
    round: u64,
    broken: bool,
    waiters: WaiterList<Slot>,
    /// The outcomes of ended rounds whose waiters may still be in
    /// `waiters` (a release wakes them in batches, dropping the lock in
    /// between), oldest first.
    ended: VecDeque<(u64, Outcome)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Waiting,
    Passed,
    Broken,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    round: u64,
    outcome: Outcome,
}

/// The error of a wait on a broken (aborted or reset) barrier.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let b = aio::sync::Barrier::new(2);
///     b.abort();
///     let err = b.wait().await.unwrap_err();
///     assert_eq!(err.to_string(), "barrier broken");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier(());

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier broken")
    }
}

impl std::error::Error for BrokenBarrier {}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    ///
    /// If `parties` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::Barrier::new(4).parties(), 4);
    /// ```
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "a Barrier needs at least one party");
        Barrier {
            parties,
            state: Mutex::new(State {
                arrived: 0,
                round: 0,
                broken: false,
                waiters: WaiterList::new(),
                ended: VecDeque::new(),
            }),
        }
    }

    /// Arrives and waits for the other parties; returns the arrival index
    /// (`0..parties`) in this round.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrier`] at once if the barrier is broken, or when it is
    /// aborted or reset while waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a party dropped while waiting leaves the round (the
    /// round then needs another arrival). Dropped after the round passed, it
    /// changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let b = aio::sync::Barrier::new(1);
    ///     assert_eq!(b.wait().await, Ok(0));
    ///     assert_eq!(b.wait().await, Ok(0)); // reusable
    /// });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            index: 0,
            queued: false,
            waiter: Waiter::new(Slot {
                round: 0,
                outcome: Outcome::Waiting,
            }),
        }
    }

    /// Breaks the current round: waiting parties get [`BrokenBarrier`]; the
    /// barrier is empty and usable again.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = aio::sync::Barrier::new(2);
    /// b.abort();
    /// b.reset();
    /// assert!(!b.is_broken());
    /// ```
    pub fn reset(&self) {
        self.release(false);
    }

    /// Breaks the barrier: waiting and later `wait`s get [`BrokenBarrier`]
    /// until [`reset`](Self::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = aio::sync::Barrier::new(2);
    /// b.abort();
    /// assert!(b.is_broken());
    /// ```
    pub fn abort(&self) {
        self.release(true);
    }

    /// How many parties must arrive per round.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::Barrier::new(2).parties(), 2);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many parties wait in the current round.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::sync::Barrier::new(2).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.state.lock().arrived
    }

    /// Whether the barrier is broken (aborted and not reset).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!aio::sync::Barrier::new(2).is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        self.state.lock().broken
    }

    /// Ends the current round: its waiters get `Broken`, the next round
    /// starts empty; `broken` is the new broken flag.
    fn release(&self, broken: bool) {
        let mut st = self.state.lock();
        st.broken = broken;
        self.end_round(st, Outcome::Broken);
    }

    /// Releases every waiter of the current round with `outcome` and starts
    /// the next round.
    ///
    /// The waiters are woken in batches, the lock dropped between them, so
    /// meanwhile the next round may fill, end or be aborted, and waiters of
    /// this round may be dropped. So every release takes, from the front
    /// of the list (ordered by round), the waiters of every ended round,
    /// each with its own round's outcome (`ended`); and a dropped waiter
    /// counts out of `arrived` only if its round is still the current one.
    fn end_round<'a>(&'a self, mut st: crate::loom::sync::MutexGuard<'a, State>, outcome: Outcome) {
        let round = st.round;
        st.round += 1;
        st.arrived = 0;
        st.ended.push_back((round, outcome));
        let mut wakers = WakeList::new();
        loop {
            while !wakers.is_full() {
                let Some(r) = st.waiters.with_front(|s| s.round) else {
                    break;
                };
                if r >= st.round {
                    break; // the current round's waiters stay
                }
                let out = st
                    .ended
                    .iter()
                    .find(|&&(e, _)| e == r)
                    .map(|&(_, o)| o)
                    .expect("a waiter of an ended round has its round's outcome");
                wakers.push(st.waiters.pop_front(|s| s.outcome = out));
            }
            // No waiter of a round older than the front's is left.
            let oldest = st.waiters.with_front(|s| s.round).unwrap_or(st.round);
            while st.ended.front().is_some_and(|&(e, _)| e < oldest) {
                st.ended.pop_front();
            }
            if !wakers.is_full() {
                break;
            }
            drop(st);
            wakers.wake_all();
            st = self.state.lock();
        }
        drop(st);
        wakers.wake_all();
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &st.arrived)
            .field("broken", &st.broken)
            .finish()
    }
}

/// The future of [`Barrier::wait`].
///
/// # Cancel safety
///
/// Cancel-safe: see [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    index: usize,
    queued: bool,
    waiter: Waiter<Slot>,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrier>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: the waiter is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        let barrier = this.barrier;
        let mut st = barrier.state.lock();
        let out = if this.queued {
            // SAFETY: we hold the owning lock [L].
            let outcome = unsafe {
                this.waiter.with(|n| {
                    n.set_waker(cx.waker());
                    n.data.outcome
                })
            };
            match outcome {
                Outcome::Waiting => return Poll::Pending,
                Outcome::Passed => Ok(this.index),
                Outcome::Broken => Err(BrokenBarrier(())),
            }
        } else if st.broken {
            Err(BrokenBarrier(()))
        } else {
            let index = st.arrived;
            st.arrived += 1;
            if st.arrived == barrier.parties {
                barrier.end_round(st, Outcome::Passed);
                Ok(index)
            } else {
                let round = st.round;
                // SAFETY: not linked yet; we hold the lock.
                unsafe {
                    this.waiter.with(|n| {
                        n.data = Slot {
                            round,
                            outcome: Outcome::Waiting,
                        };
                        n.waker = Some(cx.waker().clone());
                    })
                };
                // SAFETY: lock held; the future is pinned and unlinks itself
                // in `Drop`.
                unsafe { st.waiters.push_back(&this.waiter) };
                this.index = index;
                this.queued = true;
                return Poll::Pending;
            }
        };
        this.queued = false;
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if !self.queued {
            return;
        }
        let mut st = self.barrier.state.lock();
        // SAFETY: lock held; the waiter is in this barrier's list or none.
        if unsafe { st.waiters.remove(&self.waiter) } {
            // SAFETY: lock held [L].
            let round = unsafe { self.waiter.with(|n| n.data.round) };
            // A waiter of an ended round (its release between batches)
            // no longer counts in `arrived`.
            if round == st.round {
                st.arrived -= 1;
            }
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("queued", &self.queued)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::loom::sync::Arc;
    use std::cell::RefCell;
    use std::task::{Wake, Waker};

    type Held<'a> = Option<Pin<Box<BarrierWait<'a>>>>;

    thread_local! {
        static WAITS: RefCell<Vec<Held<'static>>> = const { RefCell::new(Vec::new()) };
        static LATE: RefCell<Held<'static>> = const { RefCell::new(None) };
    }

    /// What a waiter's wake does, run while the release that wakes it has
    /// dropped the lock between two batches.
    enum OnWake {
        Nothing,
        /// Drops waiter `n` (not released yet: a later batch).
        Drop(usize),
        /// A wait of the next round arrives, then the barrier is aborted.
        ArriveThenAbort(&'static Barrier),
    }

    impl Wake for OnWake {
        fn wake(self: Arc<Self>) {
            match &*self {
                OnWake::Nothing => {}
                OnWake::Drop(n) => drop(WAITS.with(|w| w.borrow_mut()[*n].take())),
                OnWake::ArriveThenAbort(b) => {
                    let mut late = Box::pin(b.wait());
                    let w = Waker::from(Arc::new(OnWake::Nothing));
                    assert!(late
                        .as_mut()
                        .poll(&mut Context::from_waker(&w))
                        .is_pending());
                    LATE.with(|l| *l.borrow_mut() = Some(late));
                    b.abort();
                }
            }
        }
    }

    fn poll(f: Pin<&mut BarrierWait<'_>>, on: OnWake) -> Poll<Result<usize, BrokenBarrier>> {
        let w = Waker::from(Arc::new(on));
        f.poll(&mut Context::from_waker(&w))
    }

    #[test]
    fn drops_arrivals_and_an_abort_between_release_batches_keep_every_round_right() {
        // More waiters than one batch of wakes (WakeList::CAP).
        const N: usize = WakeList::CAP + 8;
        let b: &'static Barrier = Box::leak(Box::new(Barrier::new(N)));
        for i in 0..N - 1 {
            let mut f = Box::pin(b.wait());
            let on = match i {
                0 => OnWake::Drop(N - 3), // in the second batch
                1 => OnWake::ArriveThenAbort(b),
                _ => OnWake::Nothing,
            };
            assert!(poll(f.as_mut(), on).is_pending());
            WAITS.with(|w| w.borrow_mut().push(Some(f)));
        }
        // The last arrival ends round 0; the first batch's wakes run the
        // drop, the next round's arrival and the abort in the gap.
        let mut last = Box::pin(b.wait());
        assert_eq!(poll(last.as_mut(), OnWake::Nothing), Poll::Ready(Ok(N - 1)));
        for i in 0..N - 1 {
            let f = WAITS.with(|w| w.borrow_mut()[i].take());
            match f {
                Some(mut f) => {
                    assert_eq!(poll(f.as_mut(), OnWake::Nothing), Poll::Ready(Ok(i)), "{i}")
                }
                None => assert_eq!(i, N - 3),
            }
        }
        // The next round's waiter was broken by the abort, not stranded.
        let mut late = LATE
            .with(|l| l.borrow_mut().take())
            .expect("the late arrival");
        assert_eq!(
            poll(late.as_mut(), OnWake::Nothing),
            Poll::Ready(Err(BrokenBarrier(())))
        );
        assert!(b.is_broken());
        assert_eq!(b.n_waiting(), 0);
    }
}
