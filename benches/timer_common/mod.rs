//! The workload shared by the timer benches (`time`, `timer_stats`):
//! deterministic random sleep durations, the same for aio and tokio.

use std::time::Duration;

/// `n` delays of 1..=50 ms from a fixed-seed xorshift.
pub(crate) fn delays(n: usize) -> Vec<Duration> {
    let mut x: u32 = 0x2545_f491;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            Duration::from_millis(1 + u64::from(x % 50))
        })
        .collect()
}
