//! `interval`: a ticker whose first tick is immediate.

use super::{sleep_until, Instant, Sleep};
use futures_core::Stream;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// What an [`Interval`] does when ticks were missed (the task was busy
/// past one or more tick instants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back, then keep the original schedule.
    #[default]
    Burst,
    /// Start the schedule again from now: the next tick is `period` later.
    Delay,
    /// Skip the missed ticks: the next tick is the next multiple of
    /// `period` on the original schedule.
    Skip,
}

/// Ticks every `period`, the first tick at once.
///
/// # Panics
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = aio::time::Instant::now();
///     let mut iv = aio::time::interval(Duration::from_millis(10));
///     for expected in [0, 10, 20] {
///         let at = iv.tick().await;
///         assert_eq!(at - start, Duration::from_millis(expected));
///     }
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aio::time::Instant;
/// aio::run(async {
///     let start = Instant::now() + Duration::from_millis(5);
///     let mut iv = aio::time::interval_at(start, Duration::from_millis(5));
///     assert_eq!(iv.tick().await, start);
/// });
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        sleep: Box::pin(sleep_until(start)),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// The ticker of [`interval`]; also a `Stream` of tick instants.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aio::stream::StreamExt;
/// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = aio::time::Instant::now();
///     let mut ticks = aio::time::interval(Duration::from_millis(10)).map(|at| at - start);
///     assert_eq!(ticks.next().await, Some(Duration::ZERO));
///     let later: Vec<_> = ticks.take(2).collect().await;
///     assert_eq!(later, [Duration::from_millis(10), Duration::from_millis(20)]);
/// });
/// ```
#[must_use = "an Interval does nothing until ticked"]
pub struct Interval {
    /// Boxed (once per interval), so that an `Interval` is `Unpin`.
    sleep: Pin<Box<Sleep>>,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `tick()` loses no tick.
    pub fn tick(&mut self) -> impl Future<Output = Instant> + '_ {
        poll_fn(|cx| self.poll_tick(cx))
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        std::task::ready!(self.sleep.as_mut().poll(cx));
        let scheduled = self.sleep.deadline();
        let now = Instant::now();
        let due = later(scheduled, self.period);
        let next = if now >= due {
            match self.missed {
                MissedTickBehavior::Burst => due,
                MissedTickBehavior::Delay => later(now, self.period),
                MissedTickBehavior::Skip => {
                    // The next multiple of the period on the original
                    // schedule, however far behind (in u128 nanoseconds:
                    // a count of periods can pass u32).
                    let rem = (now - scheduled).as_nanos() % self.period.as_nanos();
                    // `rem < period`, which fits a `Duration`.
                    let rem = Duration::from_nanos(u64::try_from(rem).unwrap_or(u64::MAX));
                    later(now, self.period.saturating_sub(rem))
                }
            }
        } else {
            due
        };
        self.sleep.as_mut().reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let next = later(Instant::now(), self.period);
        self.sleep.as_mut().reset(next);
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, b: MissedTickBehavior) {
        self.missed = b;
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// `at + d`, or a far-future instant when that overflows (as `sleep`
/// does): `interval(Duration::MAX)` ticks once, then never again.
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(Instant::far_future)
}

impl Stream for Interval {
    type Item = Instant;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.poll_tick(cx).map(Some)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.sleep.deadline())
            .field("missed", &self.missed)
            .finish()
    }
}
