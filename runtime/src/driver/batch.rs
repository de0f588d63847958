//! How a busy ring lets completions gather before it wakes
//! (`Builder::park_batch`).
//!
//! A worker that parks while completions keep coming wakes once per
//! completion: a sleep, a wake-up, an `io_uring_enter` each, and the
//! wake-up is charged to whoever completed the op (on loopback, the
//! client's `send`). With `DEFER_TASKRUN` the kernel can instead wake the
//! ring once `n` completions are pending (`wait_nr`); `min_wait_usec`
//! (Linux 6.12, `IORING_FEAT_MIN_TIMEOUT`) bounds how long it holds the
//! first one: after the window the wait ends with whatever came, and with
//! nothing it goes on as an ordinary wait. This is a network card's
//! interrupt coalescing, done by the ring.
//!
//! It costs latency (each completion may wait up to the window), so a
//! driver asks for a batch only when one would fill quickly: it measures
//! the rate of its completions over periods of at least `PERIOD` and asks
//! for the number expected within the window, capped at half the ops in
//! flight that complete soon (a batch never waits for most of what a
//! closed-loop client has outstanding) and at `MAX`. Fewer than two:
//! no batch, the park spins and waits for one completion as before. So a
//! lone connection, or a worker whose completions trickle, is not
//! delayed; one serving many busy connections wakes once per batch.
//! Nor is a completion already pending when the park starts: a loaded
//! worker that finds work at every park never sleeps for a batch. And the
//! park still spins first while each yield runs another thread (its CPU
//! is contended: yielding is then the cheaper way to let completions
//! gather, with no sleep and no wake-up); a yield that comes straight
//! back ends the spin for the batched wait (`Driver::spin`).
//!
//! While a batch is awaited, a wake from another thread (`MSG_RING`, the
//! eventfd) is one more pending completion like the others: it may wait
//! up to the window too.
//!
//! Called by the io_uring driver's `park` and `reap`.

use std::time::{Duration, Instant};

/// The shortest period over which the completion rate is measured.
const PERIOD: Duration = Duration::from_millis(1);
/// The largest batch asked for.
const MAX: u32 = 64;

/// One ring's completion rate and the batch it implies.
#[derive(Debug)]
pub(crate) struct Batcher {
    /// The longest a completion may wait for the batch (zero: never batch).
    window: Duration,
    /// Completions reaped since `since`.
    count: u64,
    since: Instant,
    /// Completions expected within one window, from the last period.
    expected: u64,
}

/// A batched wait: wake when `n` completions are pending, or after `wait`
/// with at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) n: u32,
    pub(crate) wait: Duration,
}

impl Batch {
    /// This batch with its wait cut to what is left of the park's
    /// timeout, if any is.
    pub(crate) fn within(self, timeout: Option<Duration>) -> Option<Batch> {
        let wait = timeout.map_or(self.wait, |t| t.min(self.wait));
        (wait >= Duration::from_micros(1)).then_some(Batch { wait, ..self })
    }
}

impl Batcher {
    /// `window`: zero turns batching off; so does a kernel without
    /// `min_wait_usec` (`supported`).
    pub(crate) fn new(window: Duration, supported: bool) -> Batcher {
        Batcher {
            window: if supported { window } else { Duration::ZERO },
            count: 0,
            since: Instant::now(),
            expected: 0,
        }
    }

    /// Counts `n` completions reaped.
    pub(crate) fn reaped(&mut self, n: u64) {
        self.count += n;
    }

    /// Whether a tick can change anything: completions were counted, or
    /// a rate is in force (a runtime with no I/O reads no clock).
    pub(crate) fn measuring(&self) -> bool {
        self.count > 0 || self.expected > 0
    }

    /// Closes the measuring period if it is long enough, at `now` (called
    /// when a park ends).
    pub(crate) fn tick(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed >= PERIOD {
            self.expected = expected_in(self.count, elapsed, self.window);
            self.count = 0;
            self.since = now;
        }
    }

    /// Sets the completions expected per window, as if measured.
    #[cfg(test)]
    pub(crate) fn assume_expected(&mut self, expected: u64) {
        self.expected = expected;
    }

    /// The batch to wait for at a park with `in_flight_fast` ops in flight
    /// that complete soon and the park's `timeout`, if one is worth it.
    pub(crate) fn batch(&self, in_flight_fast: usize, timeout: Option<Duration>) -> Option<Batch> {
        choose(self.expected, self.window, in_flight_fast, timeout)
    }
}

/// Completions expected within `window` at the rate of `count` per
/// `elapsed`.
fn expected_in(count: u64, elapsed: Duration, window: Duration) -> u64 {
    let elapsed = elapsed.as_nanos().max(1);
    (u128::from(count) * window.as_nanos() / elapsed) as u64
}

/// The policy, apart from the clock: see the module doc.
fn choose(
    expected: u64,
    window: Duration,
    in_flight_fast: usize,
    timeout: Option<Duration>,
) -> Option<Batch> {
    let cap = (in_flight_fast / 2).min(MAX as usize) as u64;
    let n = expected.min(cap);
    if n < 2 {
        return None;
    }
    // A timer due within the window shortens it (the kernel's min wait
    // would otherwise run past the timer).
    Batch {
        n: n as u32,
        wait: window,
    }
    .within(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_micros(50);

    #[test]
    fn the_batch_is_what_the_window_expects_capped_by_half_the_ops_in_flight() {
        // 100 000 completions/s: 5 per 50 µs.
        let e = expected_in(100, Duration::from_millis(1), W);
        assert_eq!(e, 5);
        assert_eq!(choose(e, W, 100, None), Some(Batch { n: 5, wait: W }));
        // Eight ops in flight: at most four awaited.
        assert_eq!(choose(e, W, 8, None), Some(Batch { n: 4, wait: W }));
        assert_eq!(choose(1000, W, 1000, None).map(|b| b.n), Some(MAX));
    }

    #[test]
    fn a_trickle_or_a_lone_op_is_not_batched() {
        // 20 000/s: one per window.
        assert_eq!(
            choose(expected_in(20, Duration::from_millis(1), W), W, 100, None),
            None
        );
        // A fast lone connection: its one op in flight.
        assert_eq!(choose(50, W, 1, None), None);
        assert_eq!(choose(50, W, 3, None), None);
        // Off.
        assert_eq!(choose(50, Duration::ZERO, 100, None), None);
    }

    #[test]
    fn a_timer_due_within_the_window_shortens_it() {
        let t = Duration::from_micros(20);
        assert_eq!(choose(8, W, 100, Some(t)), Some(Batch { n: 8, wait: t }));
        assert_eq!(choose(8, W, 100, Some(Duration::ZERO)), None);
        assert_eq!(
            choose(8, W, 100, Some(Duration::from_secs(1))).map(|b| b.wait),
            Some(W)
        );
    }

    #[test]
    fn the_rate_is_measured_over_whole_periods() {
        let mut b = Batcher::new(W, true);
        let t0 = b.since;
        b.reaped(40);
        // Too short a period: nothing measured yet.
        b.tick(t0 + Duration::from_micros(500));
        assert_eq!(b.batch(100, None), None);
        b.reaped(60);
        b.tick(t0 + Duration::from_millis(1));
        assert_eq!(b.batch(100, None), Some(Batch { n: 5, wait: W }));
        // A quiet period ends the batching.
        b.tick(t0 + Duration::from_millis(3));
        assert_eq!(b.batch(100, None), None);
    }

    #[test]
    fn a_kernel_without_min_wait_never_batches() {
        let mut b = Batcher::new(W, false);
        b.reaped(1000);
        b.tick(b.since + PERIOD);
        assert_eq!(b.batch(100, None), None);
    }
}
