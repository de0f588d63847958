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
    fn end_round<'a>(&'a self, mut st: crate::loom::sync::MutexGuard<'a, State>, outcome: Outcome) {
        let round = st.round;
        st.round += 1;
        st.arrived = 0;
        let mut wakers = WakeList::new();
        loop {
            while !wakers.is_full() && st.waiters.with_front(|s| s.round == round) == Some(true) {
                wakers.push(st.waiters.pop_front(|s| s.outcome = outcome));
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
            st.arrived -= 1;
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
