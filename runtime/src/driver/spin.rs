//! How the drivers of one runtime poll before they block
//! (`Builder::park_spin`).
//!
//! A worker that parks with I/O in flight polls its driver (a ring's
//! completion queue and `IORING_SQ_TASKRUN` flag, or a zero-timeout
//! `epoll_wait`) for up to `spin`, yielding its CPU on each turn, before it
//! blocks. A completion that arrives meanwhile costs no sleep and no
//! wake-up (about 30 µs of idle-CPU wake latency each on a VM); yielding
//! gives the CPU to any runnable thread, so a loaded machine loses
//! little. At most `max` drivers spin at once.
//!
//! Each driver adapts its own spin length to what its spins find
//! ([`SpinBudget`]): a spin that waits its whole length for nothing halves
//! the next one (down to none, then a short probe every
//! `PROBE_EVERY` parks), a spin that finds work after `t` makes the next
//! at least `2t` (up to `spin`). So a worker whose completions come back
//! within microseconds keeps spinning, and one that waits on a slow or
//! single-threaded client stops burning a core it would share with it.
//!
//! Called by the drivers' `park`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The spin budget shared by the drivers of one runtime.
#[derive(Debug)]
pub(crate) struct SpinGate {
    pub(crate) spin: Duration,
    max: usize,
    spinning: AtomicUsize,
}

impl SpinGate {
    pub(crate) fn new(spin: Duration, max: usize) -> SpinGate {
        SpinGate {
            spin,
            max,
            spinning: AtomicUsize::new(0),
        }
    }

    /// A turn to spin, if the budget allows.
    pub(crate) fn enter(&self) -> Option<SpinTurn<'_>> {
        if self.spin.is_zero() {
            return None;
        }
        if self.spinning.fetch_add(1, Relaxed) >= self.max {
            self.spinning.fetch_sub(1, Relaxed);
            return None;
        }
        Some(SpinTurn(self))
    }
}

/// The shortest spin worth doing; below it a driver does not spin.
const FLOOR: Duration = Duration::from_micros(4);
/// While a driver does not spin, it probes (a quarter of the full spin)
/// once every this many parks.
const PROBE_EVERY: u32 = 16;

/// One driver's spin length, adapted to what its spins find.
#[derive(Debug)]
pub(crate) struct SpinBudget {
    now: Duration,
    skipped: u32,
}

impl SpinBudget {
    /// Starts at the full spin `max`.
    pub(crate) fn new(max: Duration) -> SpinBudget {
        SpinBudget {
            now: max,
            skipped: 0,
        }
    }

    /// How long to spin at this park (zero: block at once).
    pub(crate) fn next(&mut self, max: Duration) -> Duration {
        if !self.now.is_zero() {
            return self.now.min(max);
        }
        self.skipped += 1;
        if self.skipped >= PROBE_EVERY {
            self.skipped = 0;
            max / 4
        } else {
            Duration::ZERO
        }
    }

    /// Starts a spin bounded by `timeout`, if this driver's budget and
    /// the gate allow one.
    pub(crate) fn start<'g>(
        &mut self,
        gate: &'g SpinGate,
        timeout: Option<Duration>,
    ) -> Option<Spin<'g>> {
        let budget = self.next(gate.spin);
        if budget.is_zero() {
            return None;
        }
        let turn = gate.enter()?;
        Some(Spin {
            _turn: turn,
            len: timeout.map_or(budget, |t| t.min(budget)),
            budget,
            max: gate.spin,
            start: Instant::now(),
        })
    }

    /// After one turn of `spin` (whether it found `work`): what to do,
    /// the budget updated when the spin is over.
    pub(crate) fn step(&mut self, spin: &Spin<'_>, work: bool) -> SpinStep {
        let spent = spin.start.elapsed();
        if work {
            self.hit(spent, spin.max);
            return SpinStep::Work;
        }
        if spent < spin.len {
            return SpinStep::Again;
        }
        // A spin cut short by a timer is not a miss.
        if spin.len == spin.budget {
            self.miss();
        }
        SpinStep::Nothing(spent)
    }

    /// Work came after `spent` of spinning.
    fn hit(&mut self, spent: Duration, max: Duration) {
        self.now = max.min(self.now.max(spent * 2).max(FLOOR));
    }

    /// A whole spin found nothing.
    fn miss(&mut self) {
        self.now /= 2;
        if self.now < FLOOR {
            self.now = Duration::ZERO;
        }
    }
}

/// One spin in progress: its turn at the gate, its length, its clock.
pub(crate) struct Spin<'g> {
    _turn: SpinTurn<'g>,
    len: Duration,
    budget: Duration,
    max: Duration,
    start: Instant,
}

impl Spin<'_> {
    /// How long this spin has run.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// What a spinning driver does after a turn.
pub(crate) enum SpinStep {
    /// Work came: no need to block.
    Work,
    /// Nothing came in the whole spin, this long.
    Nothing(Duration),
    /// Yield the CPU and look again.
    Again,
}

/// A driver's turn to spin; ends when dropped.
pub(crate) struct SpinTurn<'a>(&'a SpinGate);

impl Drop for SpinTurn<'_> {
    fn drop(&mut self) {
        self.0.spinning.fetch_sub(1, Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_spin_gate_lets_at_most_max_drivers_spin() {
        let gate = SpinGate::new(Duration::from_micros(50), 2);
        let (a, b) = (gate.enter(), gate.enter());
        assert!(a.is_some() && b.is_some());
        assert!(gate.enter().is_none(), "a third driver waits its turn");
        drop(a);
        assert!(gate.enter().is_some(), "a turn ended frees a place");
        let off = SpinGate::new(Duration::ZERO, 2);
        assert!(off.enter().is_none(), "a zero spin never spins");
        assert_eq!(off.spinning.load(Relaxed), 0, "and counts no spinner");
    }

    #[test]
    fn spins_that_find_nothing_shrink_to_none_then_probe_and_a_hit_restores_them() {
        let max = Duration::from_micros(50);
        let mut b = SpinBudget::new(max);
        assert_eq!(b.next(max), max);
        let mut lengths = Vec::new();
        for _ in 0..6 {
            b.miss();
            lengths.push(b.now.as_nanos());
        }
        assert_eq!(lengths, [25_000, 12_500, 6_250, 0, 0, 0]);
        // Off: no spin for PROBE_EVERY - 1 parks, then a quarter probe.
        for _ in 0..PROBE_EVERY - 1 {
            assert_eq!(b.next(max), Duration::ZERO);
        }
        assert_eq!(b.next(max), max / 4);
        // The probe found work after 10 µs: spin at least 20 µs again.
        b.hit(Duration::from_micros(10), max);
        assert_eq!(b.next(max), Duration::from_micros(20));
        // A hit never grows past the full spin, and a shorter timer bounds it.
        b.hit(Duration::from_micros(40), max);
        assert_eq!(b.next(max), max);
        assert_eq!(b.next(Duration::from_micros(5)), Duration::from_micros(5));
        // A quick hit does not shrink a long budget.
        b.hit(Duration::from_micros(1), max);
        assert_eq!(b.next(max), max);
    }
}
