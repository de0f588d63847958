//! The runtime clock: real time, or a virtual clock for tests.
//!
//! A paused clock stands still until `advance` moves it (or the
//! current_thread scheduler auto-advances it to the next timer when every
//! task is idle). Ticks of the timer wheels are milliseconds since the
//! clock's origin; deadlines round up so that nothing fires early.

use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::Mutex;
use std::time::{Duration, Instant as StdInstant};

/// One runtime's clock.
#[derive(Debug)]
pub(crate) struct Clock {
    origin: StdInstant,
    /// True once the clock was ever paused: `now` then goes through `inner`.
    virtualised: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The time at the last pause/advance.
    base: StdInstant,
    /// When the clock last resumed; `None` while paused.
    unfrozen: Option<StdInstant>,
}

impl Clock {
    pub(crate) fn new(start_paused: bool) -> Clock {
        let origin = StdInstant::now();
        Clock {
            origin,
            virtualised: AtomicBool::new(start_paused),
            inner: Mutex::new(Inner {
                base: origin,
                unfrozen: if start_paused { None } else { Some(origin) },
            }),
        }
    }

    pub(crate) fn now(&self) -> StdInstant {
        if !self.virtualised.load(Acquire) {
            return StdInstant::now();
        }
        let inner = self.inner.lock();
        match inner.unfrozen {
            Some(u) => inner.base + u.elapsed(),
            None => inner.base,
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.virtualised.load(Acquire) && self.inner.lock().unfrozen.is_none()
    }

    pub(crate) fn pause(&self) {
        // Stop on a tick boundary (up to 1 ms ahead), so that virtual
        // sleeps end exactly at their deadline.
        let now = self.tick_instant(self.deadline_tick(self.now()));
        let mut inner = self.inner.lock();
        inner.base = now;
        inner.unfrozen = None;
        self.virtualised.store(true, Release);
    }

    pub(crate) fn resume(&self) {
        let mut inner = self.inner.lock();
        if inner.unfrozen.is_none() {
            inner.unfrozen = Some(StdInstant::now());
        }
    }

    /// Moves a paused clock forward (no-op on a running clock).
    pub(crate) fn advance(&self, d: Duration) {
        let mut inner = self.inner.lock();
        if inner.unfrozen.is_none() {
            inner.base += d;
        }
    }

    /// Moves a paused clock forward to `t` if it is later.
    pub(crate) fn advance_to(&self, t: StdInstant) {
        let mut inner = self.inner.lock();
        if inner.unfrozen.is_none() && t > inner.base {
            inner.base = t;
        }
    }

    /// The wheel tick at which `t` is reached (rounded up: never early).
    pub(crate) fn deadline_tick(&self, t: StdInstant) -> u64 {
        let d = t.saturating_duration_since(self.origin);
        let ms = d.as_millis() as u64;
        if d > Duration::from_millis(ms) {
            ms + 1
        } else {
            ms
        }
    }

    /// The current tick (rounded down).
    pub(crate) fn now_tick(&self) -> u64 {
        self.now()
            .saturating_duration_since(self.origin)
            .as_millis() as u64
    }

    /// The instant of a tick.
    pub(crate) fn tick_instant(&self, tick: u64) -> StdInstant {
        self.origin + Duration::from_millis(tick)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn paused_clock_stands_still_until_advanced() {
        let c = Clock::new(true);
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now() - t0, Duration::from_millis(1500));
        assert_eq!(c.now_tick(), 1500);
    }

    #[test]
    fn deadlines_round_up() {
        let c = Clock::new(true);
        let t = c.now() + Duration::from_micros(10_001);
        assert_eq!(c.deadline_tick(t), 11);
        assert_eq!(c.deadline_tick(c.now() + Duration::from_millis(10)), 10);
    }
}
