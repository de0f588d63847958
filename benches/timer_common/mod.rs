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

/// The 100k-sleepers workload on aio: one task per delay, all awaited.
pub(crate) fn aio_sleep_all(rt: &aio::runtime::Runtime, ds: &[Duration]) {
    rt.block_on(async {
        let ts: Vec<_> = ds.iter().map(|&d| aio::spawn(aio::sleep(d))).collect();
        for t in ts {
            t.await.unwrap();
        }
    })
}

/// The same workload on tokio.
pub(crate) fn tokio_sleep_all(rt: &tokio::runtime::Runtime, ds: &[Duration]) {
    rt.block_on(async {
        let ts: Vec<_> = ds
            .iter()
            .map(|&d| tokio::spawn(tokio::time::sleep(d)))
            .collect();
        for t in ts {
            t.await.unwrap();
        }
    })
}
