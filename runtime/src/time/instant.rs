//! `aio::time::Instant`: a point in time on the current runtime's clock.

use crate::loom::sync::OnceLock;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A measurement of the current runtime's clock (`std::time::Instant`
/// unless the clock is paused for a test; then virtual).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aio::time::Instant;
/// aio::run(async {
///     let start = Instant::now();
///     aio::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// Now, on the current runtime's clock (the real clock outside one).
    pub fn now() -> Instant {
        Instant(crate::scheduler::context::clock_now().unwrap_or_else(std::time::Instant::now))
    }

    /// From a `std::time::Instant`.
    pub fn from_std(t: std::time::Instant) -> Instant {
        Instant(t)
    }

    /// Into a `std::time::Instant`.
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// Time since this instant (zero if it is in the future).
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` on overflow.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }

    /// A far future instant (about 30 years ahead), for "no deadline".
    pub(crate) fn far_future() -> Instant {
        Instant::now() + Duration::from_secs(86400 * 365 * 30)
    }
}

/// An [`Instant`] in one word: signed nanoseconds from a process-wide
/// epoch (taken at first use), exact within ±292 years of it and
/// saturating beyond. Half a `std::time::Instant`: a `Sleep` keeps its
/// deadline in one (issue 17: bytes per sleeping task).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct CompactInstant(i64);

/// The epoch of every [`CompactInstant`].
fn epoch() -> std::time::Instant {
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

impl CompactInstant {
    pub(crate) fn new(t: Instant) -> CompactInstant {
        let epoch = epoch();
        let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        CompactInstant(match t.0.checked_duration_since(epoch) {
            Some(after) => nanos(after),
            None => -nanos(epoch.duration_since(t.0)),
        })
    }

    pub(crate) fn get(self) -> Instant {
        let epoch = epoch();
        let d = Duration::from_nanos(self.0.unsigned_abs());
        let t = if self.0 >= 0 {
            epoch.checked_add(d)
        } else {
            epoch.checked_sub(d)
        };
        Instant(t.unwrap_or(epoch))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.saturating_duration_since(other)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(t: std::time::Instant) -> Instant {
        Instant(t)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_compact_instant_gives_back_the_instant_before_and_after_its_epoch() {
        let now = Instant::from_std(std::time::Instant::now());
        for t in [
            now,
            now + Duration::from_nanos(1),
            now + Duration::from_secs(86400 * 365 * 30) + Duration::from_nanos(7),
            Instant::far_future(),
        ] {
            assert_eq!(CompactInstant::new(t).get(), t);
        }
        // Before the epoch (as far back as the monotonic clock goes here).
        let before = Instant(epoch().checked_sub(Duration::from_millis(3)).unwrap());
        assert_eq!(CompactInstant::new(before).get(), before);
        assert_eq!(std::mem::size_of::<CompactInstant>(), 8);
    }
}
