//! Memory (and raw time) per task: aio's multi_thread runtime against
//! tokio's, 2 workers each, measured with a counting global allocator.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench task_memory
//! ```
//!
//! A plain `main` (no criterion) that prints one table:
//!
//! - **idle task**: 100,000 tasks spawned through the handle, each of which
//!   is polled once and then waits forever on `std::future::pending`. Live
//!   heap bytes once every task has been polled, minus the baseline, divided
//!   by 100,000. The join handles sit in a vector allocated before the
//!   baseline, so their 8 bytes each are not counted; the future's own size
//!   is printed beside it so the runtime's overhead can be read off.
//! - **1M spawn + await**: 1,000,000 tiny tasks (`async move { i }`, a
//!   `u64`) spawned from one `block_on` into a pre-allocated vector, then
//!   awaited in order. Bytes allocated, allocations, and peak live bytes, per
//!   task; then the time per task as the median of 5 runs with the counting
//!   switched off (the counters are shared atomics and would otherwise add
//!   cross-core traffic to every allocation).
//! - **leak check**: live bytes after the measuring runtimes are dropped,
//!   against a baseline taken after two warm-up runtimes were built, used
//!   and dropped (the first runtimes of a process leave ~20 KB of one-time
//!   state, most likely crossbeam-epoch's deferred frees; it does not grow).

mod common;

use common::{Aio, BenchRt, Tokio};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Idle tasks spawned by the idle-task measurement.
const IDLE_TASKS: usize = 100_000;
/// Tasks spawned and awaited by the 1M measurement.
const TINY_TASKS: u64 = 1_000_000;
/// Timed repetitions of the 1M measurement.
const TIMED_RUNS: usize = 5;

/// The system allocator plus counters, active while [`COUNTING`] is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static GLOBAL: Counting = Counting;

impl Counting {
    fn grew(size: usize) {
        if COUNTING.load(Relaxed) {
            BYTES.fetch_add(size, Relaxed);
            ALLOCS.fetch_add(1, Relaxed);
            let live = LIVE.fetch_add(size as isize, Relaxed) + size as isize;
            PEAK.fetch_max(live, Relaxed);
        }
    }
    fn shrank(size: usize) {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_sub(size as isize, Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System` upholds the `GlobalAlloc` contract; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's obligations (non-zero size) pass through.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Counting::grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Counting::grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with
        // `layout` (the caller's obligation).
        unsafe { System.dealloc(ptr, layout) };
        Counting::shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, plus the caller's `new_size` obligations.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            Counting::shrank(layout.size());
            Counting::grew(new_size);
        }
        p
    }
}

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug)]
struct Snap {
    live: isize,
    bytes: usize,
    allocs: usize,
}

fn snap() -> Snap {
    Snap {
        live: LIVE.load(Relaxed),
        bytes: BYTES.load(Relaxed),
        allocs: ALLOCS.load(Relaxed),
    }
}

/// The figures of one runtime.
#[derive(Debug, Default)]
struct Figures {
    future_size: usize,
    idle_live: f64,
    tiny_bytes: f64,
    tiny_allocs: f64,
    tiny_peak: f64,
    tiny_ns: f64,
    leaked: isize,
}

/// The idle task's future: counts its first poll, then never finishes.
async fn idle_future(polled: Arc<AtomicUsize>) {
    polled.fetch_add(1, Relaxed);
    std::future::pending::<()>().await
}

/// Live bytes per idle task, once all [`IDLE_TASKS`] have been polled.
fn idle_tasks<R: BenchRt>(f: &mut Figures) {
    let rt = R::build();
    let polled = Arc::new(AtomicUsize::new(0));
    f.future_size = std::mem::size_of_val(&idle_future(polled.clone()));
    let mut handles = Vec::with_capacity(IDLE_TASKS);
    let before = snap();
    for _ in 0..IDLE_TASKS {
        handles.push(rt.spawn_remote(idle_future(polled.clone())));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while polled.load(Relaxed) < IDLE_TASKS {
        assert!(Instant::now() < deadline, "idle tasks never all polled");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Let the workers finish their last poll and park.
    std::thread::sleep(Duration::from_millis(50));
    let after = snap();
    f.idle_live = (after.live - before.live) as f64 / IDLE_TASKS as f64;
    drop(handles);
    drop(rt);
}

/// Spawns [`TINY_TASKS`] tasks from one `block_on` and awaits them.
fn spawn_await<R: BenchRt>(rt: &R, handles: &mut Vec<R::Join<u64>>) {
    let sum = rt.block_on(async {
        for i in 0..TINY_TASKS {
            handles.push(R::spawn(async move { i }));
        }
        let mut sum = 0;
        for h in handles.drain(..) {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, TINY_TASKS * (TINY_TASKS - 1) / 2);
}

/// Bytes, allocations and peak live bytes per task of the 1M workload.
fn tiny_tasks_memory<R: BenchRt>(f: &mut Figures) {
    let rt = R::build();
    let mut handles = Vec::with_capacity(TINY_TASKS as usize);
    // One small warm-up run so lazily built runtime state is not counted.
    rt.block_on(async {
        for _ in 0..1000 {
            R::spawn(async {}).await.unwrap();
        }
    });
    let before = snap();
    PEAK.store(before.live, Relaxed);
    spawn_await(&rt, &mut handles);
    let after = snap();
    let n = TINY_TASKS as f64;
    f.tiny_bytes = (after.bytes - before.bytes) as f64 / n;
    f.tiny_allocs = (after.allocs - before.allocs) as f64 / n;
    f.tiny_peak = (PEAK.load(Relaxed) - before.live) as f64 / n;
}

/// Median nanoseconds per task of the 1M workload, counting off.
fn tiny_tasks_time<R: BenchRt>(f: &mut Figures) {
    let rt = R::build();
    let mut handles = Vec::with_capacity(TINY_TASKS as usize);
    spawn_await(&rt, &mut handles); // warm-up
    let mut ns: Vec<f64> = (0..TIMED_RUNS)
        .map(|_| {
            let start = Instant::now();
            spawn_await(&rt, &mut handles);
            start.elapsed().as_nanos() as f64 / TINY_TASKS as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    f.tiny_ns = ns[ns.len() / 2];
}

/// Builds, uses and drops two runtimes, so that one-time process state
/// (crossbeam-epoch's deferred frees, lazily initialised statics) is
/// in place before any baseline is taken.
fn warm_up<R: BenchRt>() {
    for _ in 0..2 {
        let rt = R::build();
        rt.block_on(async { R::spawn(async {}).await.unwrap() });
    }
}

/// The memory figures of runtime `R` (counting must be on).
fn measure_memory<R: BenchRt>(f: &mut Figures) {
    warm_up::<R>();
    let baseline = LIVE.load(Relaxed);
    idle_tasks::<R>(f);
    tiny_tasks_memory::<R>(f);
    // Both runtimes have been dropped: their threads joined, their tasks
    // and rings freed.
    f.leaked = LIVE.load(Relaxed) - baseline;
}

fn row(what: &str, aio: f64, tokio: f64, digits: usize) {
    println!(
        "| {what:<44} | {aio:>10.digits$} | {tokio:>10.digits$} | {:>9.2} |",
        aio / tokio
    );
}

fn main() {
    let (mut aio, mut tokio) = (Figures::default(), Figures::default());
    // Counting stays on across every memory figure of both runtimes, so that
    // nothing allocated uncounted is freed counted; the timed runs come last,
    // uncounted.
    COUNTING.store(true, Relaxed);
    measure_memory::<Aio>(&mut aio);
    measure_memory::<Tokio>(&mut tokio);
    COUNTING.store(false, Relaxed);
    tiny_tasks_time::<Aio>(&mut aio);
    tiny_tasks_time::<Tokio>(&mut tokio);
    println!(
        "task memory, {} workers each (aio vs tokio)\n",
        common::NUM_WORKERS
    );
    println!(
        "| {:<44} | {:>10} | {:>10} | {:>9} |",
        "figure", "aio", "tokio", "aio/tokio"
    );
    println!("|{:-<46}|{:->12}|{:->12}|{:->11}|", "", "", "", "");
    let f = |x: usize| x as f64;
    row(
        "idle task: future size (bytes)",
        f(aio.future_size),
        f(tokio.future_size),
        0,
    );
    row(
        "idle task: live heap bytes per task",
        aio.idle_live,
        tokio.idle_live,
        1,
    );
    row(
        "1M spawn+await: bytes allocated per task",
        aio.tiny_bytes,
        tokio.tiny_bytes,
        1,
    );
    row(
        "1M spawn+await: allocations per task",
        aio.tiny_allocs,
        tokio.tiny_allocs,
        2,
    );
    row(
        "1M spawn+await: peak live bytes per task",
        aio.tiny_peak,
        tokio.tiny_peak,
        1,
    );
    row(
        "1M spawn+await: ns per task (median of 5)",
        aio.tiny_ns,
        tokio.tiny_ns,
        1,
    );
    println!(
        "\nlive bytes retained after both measuring runtimes were dropped \
         (after a 2-runtime warm-up): aio {}, tokio {}",
        aio.leaked, tokio.leaked
    );
}
