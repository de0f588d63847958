//! Timer figures that criterion does not give (issue 3), aio vs tokio in
//! the same run, 2 workers each:
//! - CPU per sleep: process CPU time (user + system, `getrusage`)
//!   spent on 100,000 concurrent random 1–50 ms sleeps, divided by 100,000;
//! - idle CPU: a runtime whose only work is one pending sleep, measured
//!   over 3 s (should burn nothing);
//! - lateness of a 10 ms sleep on an idle runtime: p50 / p99 over 200
//!   sequential sleeps;
//! - bytes per sleeping task: live heap bytes (a counting allocator) per
//!   task parked in a 1 h sleep, 100,000 tasks.
//!
//! Then CPU per sleep again, interleaved: `TIMER_PAIRS` (default 7) pairs
//! of one 100k-sleep run per runtime, the order alternating; the median of
//! the per-pair ratios (`TIMER_PAIRS=0` skips it). And the lateness again,
//! interleaved: 200 pairs of one 10 ms sleep per runtime, the order
//! alternating, so that both runtimes' samples see the same machine (the
//! single runs above take each runtime's 200 sleeps in its own 2 s; a p99
//! of 200 is the second-worst sample, and one disturbance in one window
//! moves it). CPU time comes from `getrusage` (microseconds).
//!
//! Run: `cargo bench --bench timer_stats`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

mod timer_common;
use timer_common::{aio_sleep_all, delays, tokio_sleep_all};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Process CPU time (user + system), from /proc/self/stat (clock ticks).
/// This process's CPU time (user + system, all threads), from
/// `getrusage`: microseconds, where `/proc/self/stat` counts 10 ms ticks
/// (8 % of the 100k-sleep figure).
fn cpu_time() -> Duration {
    // SAFETY: all zeroes is a valid rusage; getrusage fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Row {
    cpu_per_sleep: Duration,
    wall_100k: Duration,
    idle_cpu_pct: f64,
    p50: Duration,
    p99: Duration,
    bytes_per_sleeper: f64,
}

fn aio_row() -> Row {
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ds = delays(100_000);
    // Warm up once, then measure.
    let run = |ds: &[Duration]| aio_sleep_all(&rt, ds);
    run(&ds);
    let (c0, w0) = (cpu_time(), Instant::now());
    run(&ds);
    let (cpu, wall) = (cpu_time() - c0, w0.elapsed());
    let c0 = cpu_time();
    rt.block_on(aio::sleep(Duration::from_secs(3)));
    let idle = (cpu_time() - c0).as_secs_f64() / 3.0 * 100.0;
    let late: Vec<Duration> = rt
        .block_on(rt.handle().spawn(async {
            let mut v = Vec::new();
            for _ in 0..200 {
                let t0 = Instant::now();
                aio::sleep(Duration::from_millis(10)).await;
                v.push(t0.elapsed().saturating_sub(Duration::from_millis(10)));
            }
            v
        }))
        .unwrap();
    let before = LIVE.load(Relaxed);
    let ts: Vec<_> = (0..100_000)
        .map(|_| rt.handle().spawn(aio::sleep(Duration::from_secs(3600))))
        .collect();
    rt.block_on(aio::sleep(Duration::from_millis(200))); // all registered
    let bytes = (LIVE.load(Relaxed) - before) as f64 / 100_000.0;
    for t in &ts {
        t.cancel();
    }
    drop(ts);
    Row {
        cpu_per_sleep: cpu / 100_000,
        wall_100k: wall,
        idle_cpu_pct: idle,
        p50: pct(late.clone(), 0.5),
        p99: pct(late, 0.99),
        bytes_per_sleeper: bytes,
    }
}

fn tokio_row() -> Row {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let ds = delays(100_000);
    let run = |ds: &[Duration]| tokio_sleep_all(&rt, ds);
    run(&ds);
    let (c0, w0) = (cpu_time(), Instant::now());
    run(&ds);
    let (cpu, wall) = (cpu_time() - c0, w0.elapsed());
    let c0 = cpu_time();
    rt.block_on(async { tokio::time::sleep(Duration::from_secs(3)).await });
    let idle = (cpu_time() - c0).as_secs_f64() / 3.0 * 100.0;
    let late: Vec<Duration> = rt
        .block_on(rt.spawn(async {
            let mut v = Vec::new();
            for _ in 0..200 {
                let t0 = Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                v.push(t0.elapsed().saturating_sub(Duration::from_millis(10)));
            }
            v
        }))
        .unwrap();
    let before = LIVE.load(Relaxed);
    let ts: Vec<_> = (0..100_000)
        .map(|_| rt.spawn(async { tokio::time::sleep(Duration::from_secs(3600)).await }))
        .collect();
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(200)).await });
    let bytes = (LIVE.load(Relaxed) - before) as f64 / 100_000.0;
    for t in &ts {
        t.abort();
    }
    drop(ts);
    Row {
        cpu_per_sleep: cpu / 100_000,
        wall_100k: wall,
        idle_cpu_pct: idle,
        p50: pct(late.clone(), 0.5),
        p99: pct(late, 0.99),
        bytes_per_sleeper: bytes,
    }
}

/// An aio and a tokio runtime with 2 workers each, for the interleaved
/// measures.
fn both_runtimes() -> (aio::runtime::Runtime, tokio::runtime::Runtime) {
    let aio_rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    (aio_rt, tokio_rt)
}

/// The lateness of a 10 ms sleep, the runtimes taking turns: `n` pairs
/// of one sleep each (a task on a worker, timed inside the task), the
/// order alternating; returns (p50, p99) for aio, then for tokio.
fn interleaved_lateness(n: usize) -> ((Duration, Duration), (Duration, Duration)) {
    let (aio_rt, tokio_rt) = both_runtimes();
    let ten = Duration::from_millis(10);
    let aio_one = || {
        let t = aio_rt.handle().spawn(async move {
            let t0 = Instant::now();
            aio::sleep(ten).await;
            t0.elapsed().saturating_sub(ten)
        });
        aio_rt.block_on(t).unwrap()
    };
    let tokio_one = || {
        let t = tokio_rt.spawn(async move {
            let t0 = Instant::now();
            tokio::time::sleep(ten).await;
            t0.elapsed().saturating_sub(ten)
        });
        tokio_rt.block_on(t).unwrap()
    };
    let (mut a, mut t) = (Vec::new(), Vec::new());
    for i in 0..n {
        if i % 2 == 0 {
            a.push(aio_one());
            t.push(tokio_one());
        } else {
            t.push(tokio_one());
            a.push(aio_one());
        }
    }
    (
        (pct(a.clone(), 0.5), pct(a, 0.99)),
        (pct(t.clone(), 0.5), pct(t, 0.99)),
    )
}

/// CPU per sleep again, the runtimes taking turns: `pairs` pairs of one
/// 100k-sleep run each, the order alternating; returns the per-pair
/// ratios (aio/tokio) and each runtime's median CPU per sleep. The two
/// single runs above move with whatever else the machine does while they
/// run; a pair's two halves see nearly the same machine.
fn interleaved_cpu_per_sleep(pairs: usize) -> (Vec<f64>, Duration, Duration) {
    let (aio_rt, tokio_rt) = both_runtimes();
    let ds = delays(100_000);
    let per_sleep = |run: &dyn Fn()| {
        let c0 = cpu_time();
        run();
        (cpu_time() - c0) / 100_000
    };
    let aio_run = || per_sleep(&|| aio_sleep_all(&aio_rt, &ds));
    let tokio_run = || per_sleep(&|| tokio_sleep_all(&tokio_rt, &ds));
    aio_run();
    tokio_run();
    let (mut ratios, mut a, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..pairs {
        let (x, y) = if i % 2 == 0 {
            let x = aio_run();
            (x, tokio_run())
        } else {
            let y = tokio_run();
            (aio_run(), y)
        };
        ratios.push(x.as_secs_f64() / y.as_secs_f64());
        a.push(x);
        t.push(y);
    }
    (ratios, pct(a, 0.5), pct(t, 0.5))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench` asks harness=false binaries to list tests
    }
    let a = aio_row();
    let t = tokio_row();
    let pairs: usize = std::env::var("TIMER_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    println!("| figure | aio | tokio | aio/tokio |");
    println!("| --- | --- | --- | --- |");
    let r = |x: f64, y: f64| {
        if y > 0.0 {
            format!("{:.2}", x / y)
        } else {
            "-".into()
        }
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "| CPU per sleep (100k random 1-50 ms) | {:.2} µs | {:.2} µs | {} |",
        us(a.cpu_per_sleep),
        us(t.cpu_per_sleep),
        r(us(a.cpu_per_sleep), us(t.cpu_per_sleep))
    );
    println!(
        "| wall time, 100k random 1-50 ms sleeps | {:.1} ms | {:.1} ms | {} |",
        a.wall_100k.as_secs_f64() * 1e3,
        t.wall_100k.as_secs_f64() * 1e3,
        r(a.wall_100k.as_secs_f64(), t.wall_100k.as_secs_f64())
    );
    println!(
        "| idle CPU with one pending sleep | {:.2} % | {:.2} % | - |",
        a.idle_cpu_pct, t.idle_cpu_pct
    );
    println!(
        "| 10 ms sleep lateness p50 | {:.3} ms | {:.3} ms | - |",
        us(a.p50) / 1e3,
        us(t.p50) / 1e3
    );
    println!(
        "| 10 ms sleep lateness p99 | {:.3} ms | {:.3} ms | - |",
        us(a.p99) / 1e3,
        us(t.p99) / 1e3
    );
    println!(
        "| bytes per sleeping task | {:.0} | {:.0} | {} |",
        a.bytes_per_sleeper,
        t.bytes_per_sleeper,
        r(a.bytes_per_sleeper, t.bytes_per_sleeper)
    );
    if pairs > 0 {
        let (mut ratios, ca, ct) = interleaved_cpu_per_sleep(pairs);
        let each: Vec<String> = ratios.iter().map(|x| format!("{x:.2}")).collect();
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!(
            "| CPU per sleep, interleaved, {pairs} pairs (TIMER_PAIRS) | {:.2} µs | {:.2} µs | {median:.2} (pairs {}) |",
            us(ca),
            us(ct),
            each.join(" ")
        );
        let ((a50, a99), (t50, t99)) = interleaved_lateness(200);
        println!(
            "| 10 ms sleep lateness p50, interleaved, 200 pairs | {:.3} ms | {:.3} ms | - |",
            us(a50) / 1e3,
            us(t50) / 1e3
        );
        println!(
            "| 10 ms sleep lateness p99, interleaved, 200 pairs | {:.3} ms | {:.3} ms | - |",
            us(a99) / 1e3,
            us(t99) / 1e3
        );
    }
}
