//! How far apart two CPUs are right now: the round trip of one cache line
//! between a thread pinned on each, in nanoseconds.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench cross_cpu            # CPUs 0 and 1, 5 bursts
//! cargo bench --bench cross_cpu -- 0 1 9   # CPUs 0 and 1, 9 bursts
//! ```
//!
//! A plain `main` (no criterion) that prints one number: the median over
//! the bursts of the mean round trip within a burst (2 ms of ping-pong:
//! one thread stores an odd value, the other answers with the next even
//! one). `benches/servers.sh` runs it just before and just after each
//! round and prints both beside the round.
//!
//! Why: on this project's VM the host sometimes runs the two vCPUs close
//! (sharing a cache: about 100 ns) and sometimes far apart (400-800 ns),
//! and switches between the two within minutes. A loopback server's CPU
//! per request follows (its sends deliver into the client's socket, data
//! last touched by the other CPU): a round's figure can only be read
//! with the machine's state at the time.

use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One cache line to itself, so nothing else shares it.
#[repr(align(128))]
struct Line(AtomicU64);

/// Sent to end a burst.
const STOP: u64 = u64::MAX;
const BURST: Duration = Duration::from_millis(2);

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
    // within it (cpu is checked against its size), and
    // sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The answering side: turns each odd value into the next even one until
/// `STOP`.
fn answer(line: &Line) {
    loop {
        let v = line.0.load(Acquire);
        if v == STOP {
            return;
        }
        if v % 2 == 1 {
            line.0.store(v + 1, Release);
        }
        std::hint::spin_loop();
    }
}

/// One burst from the calling (pinned) thread against a partner pinned on
/// `other`: the mean round trip in ns.
fn burst(other: usize) -> std::io::Result<f64> {
    let line = Arc::new(Line(AtomicU64::new(0)));
    let partner = {
        let line = line.clone();
        std::thread::spawn(move || {
            pin(other)?;
            answer(&line);
            Ok::<(), std::io::Error>(())
        })
    };
    // Wait for the partner to answer once (it is pinned and spinning).
    line.0.store(1, Release);
    while line.0.load(Acquire) != 2 {
        if partner.is_finished() {
            break;
        }
        std::hint::spin_loop();
    }
    let mut v = 2;
    let mut trips = 0u64;
    let start = Instant::now();
    while !partner.is_finished() && start.elapsed() < BURST {
        line.0.store(v + 1, Release);
        while line.0.load(Acquire) != v + 2 {
            std::hint::spin_loop();
        }
        v += 2;
        trips += 1;
    }
    let took = start.elapsed();
    line.0.store(STOP, Release);
    partner
        .join()
        .map_err(|_| std::io::Error::other("the partner thread panicked"))??;
    Ok(took.as_nanos() as f64 / trips.max(1) as f64)
}

fn main() -> std::io::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes
    // nothing or test flags: only numbers are ours.
    let nums: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (a, b, n) = match nums[..] {
        [a, b, n, ..] => (a, b, n.max(1)),
        [a, b] => (a, b, 5),
        _ => (0, 1, 5),
    };
    pin(a)?;
    let mut trips = Vec::with_capacity(n);
    for _ in 0..n {
        trips.push(burst(b)?);
        // Let the other CPU's own work run between bursts.
        std::thread::sleep(Duration::from_millis(1));
    }
    trips.sort_by(f64::total_cmp);
    println!("{:.0}", trips[trips.len() / 2]);
    Ok(())
}
