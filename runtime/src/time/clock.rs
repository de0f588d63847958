//! The runtime clock: real time, or a virtual clock for tests.
//!
//! A paused clock stands still until `advance` moves it (or the
//! current_thread scheduler auto-advances it to the next timer when every
//! task is idle). Ticks of the timer wheels are [`TICK`]s (250 µs) since
//! the clock's origin; deadlines round up so that nothing fires early. The
//! task dump counts milliseconds (`now_ms`).

use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::Mutex;
use std::time::{Duration, Instant as StdInstant};

/// The timer wheels' unit: a deadline waits for the end of its tick, so a
/// sleep ends at most this much after its deadline (plus the wake-up).
/// A quarter of tokio's millisecond: a 10 ms sleep is about 0.1 ms late
/// instead of up to 1 ms, at the cost of up to four wheel turns (and
/// wake-ups) where a millisecond tick takes one.
pub(crate) const TICK: Duration = Duration::from_micros(250);
const TICK_NS: u128 = TICK.as_nanos();

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
        // Stop on a tick boundary (up to one tick ahead), so that virtual
        // sleeps of whole ticks end exactly at their deadline (after an
        // `advance` by a part of a tick, auto-advance lands on the next
        // boundary: up to one 250 µs tick late).
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
        let ns = t.saturating_duration_since(self.origin).as_nanos();
        // Past u64 ticks (a deadline 10^15 years away) is never: saturate,
        // not wrap (which would fire it early).
        u64::try_from(ns.div_ceil(TICK_NS)).unwrap_or(u64::MAX)
    }

    /// The current tick (rounded down).
    pub(crate) fn now_tick(&self) -> u64 {
        (self.now().saturating_duration_since(self.origin).as_nanos() / TICK_NS) as u64
    }

    /// The instant of a tick.
    pub(crate) fn tick_instant(&self, tick: u64) -> StdInstant {
        // Saturates 584 years on: later is never.
        self.origin + Duration::from_nanos(tick.saturating_mul(TICK_NS as u64))
    }

    /// Milliseconds since the origin (the task dump's unit), rounded down.
    pub(crate) fn now_ms(&self) -> u64 {
        self.now()
            .saturating_duration_since(self.origin)
            .as_millis() as u64
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
        assert_eq!(c.now_tick(), 6000);
        assert_eq!(c.now_ms(), 1500);
    }

    #[test]
    fn deadlines_round_up() {
        let c = Clock::new(true);
        let t = c.now() + Duration::from_micros(10_001);
        assert_eq!(c.deadline_tick(t), 41);
        assert_eq!(c.deadline_tick(c.now() + Duration::from_millis(10)), 40);
        assert_eq!(
            c.tick_instant(41) - c.tick_instant(0),
            Duration::from_micros(10_250)
        );
        let year = 4 * 1000 * 3600 * 24 * 365;
        assert_eq!(
            c.tick_instant(year * 600) - c.tick_instant(year * 590),
            Duration::ZERO,
            "saturates"
        );
    }
}
