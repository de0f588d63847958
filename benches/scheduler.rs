//! Scheduler benches: aio's multi_thread runtime against tokio's, same
//! workloads, same worker count (2), same run.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench scheduler                      # every group, ~2.5 min on 2 idle cores
//! cargo bench --bench scheduler -- ping_pong         # one group (criterion filter)
//! AIO_BENCH_QUICK=1 cargo bench --bench scheduler    # smoke run, a few seconds per group
//! ```
//!
//! The workloads are those of tokio's own `benches/rt_multi_threaded.rs`
//! (`spawn_many_local`, `spawn_many_remote_idle`, `spawn_many_remote_busy`,
//! `ping_pong`, `yield_many`, `chained_spawn`) plus `spawn_many_from_task`
//! (`spawn_many_local` with the spawner on a worker) and `spawn_await_1m`
//! (spawn 1,000,000 tiny tasks from one `block_on`, then await them all).
//! Each workload is written once, generic over `common::BenchRt`, so only
//! the runtime differs between the `aio` and `tokio` entries of a group. Every
//! cross-task signal the workloads need (the "all done" notification to the
//! bench thread, ping-pong's oneshot) uses the same runtime-agnostic code
//! for both: `std::sync::mpsc` and the small [`oneshot`] below.
//!
//! Differences from tokio's file: 2 workers instead of 4 (this is a 2-vCPU
//! machine class); `spawn_many_remote_busy` is tokio's `..._busy1` (2 busy
//! tasks per worker that yield and stall 10 µs), `..._busy2` is not ported;
//! ping-pong's oneshot is the shared one below, not `tokio::sync::oneshot`.
//! `yield_many` keeps tokio's shape: 200 tasks × 1,000 yields.
//!
//! After each aio entry, the number of wake syscalls sent to parked aio
//! workers per iteration (`Handle::unpark_count`) is printed to stderr.
//! Only one runtime exists at a time: each is dropped before the next entry
//! starts, so busy tasks of one cannot slow the other down.

mod common;

use common::{Aio, BenchRt, Tokio, NUM_WORKERS};
use criterion::{Bencher, Criterion, SamplingMode};
use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Tasks spawned per iteration of the `spawn_many_*` workloads.
const NUM_SPAWN: usize = 10_000;
/// How long a busy task of `spawn_many_remote_busy` burns CPU per poll.
const STALL_DUR: Duration = Duration::from_micros(10);

/// A criterion group measured in wall time.
type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// A runtime-agnostic oneshot channel (mutex + waker), so that ping-pong
/// measures the schedulers and not two different channel implementations.
mod oneshot {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    struct Slot<T> {
        value: Option<T>,
        waker: Option<Waker>,
    }

    /// The sending half.
    pub(crate) struct Sender<T>(Arc<Mutex<Slot<T>>>);
    /// The receiving half; a future of the value.
    pub(crate) struct Receiver<T>(Arc<Mutex<Slot<T>>>);

    /// A new channel.
    pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let slot = Arc::new(Mutex::new(Slot {
            value: None,
            waker: None,
        }));
        (Sender(slot.clone()), Receiver(slot))
    }

    impl<T> Sender<T> {
        /// Stores the value and wakes the receiver.
        pub(crate) fn send(self, value: T) {
            let waker = {
                let mut slot = self.0.lock().unwrap();
                slot.value = Some(value);
                slot.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    impl<T> Future for Receiver<T> {
        type Output = T;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            let mut slot = self.0.lock().unwrap();
            match slot.value.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    match &mut slot.waker {
                        Some(w) => w.clone_from(cx.waker()),
                        None => slot.waker = Some(cx.waker().clone()),
                    }
                    Poll::Pending
                }
            }
        }
    }
}

/// Runs `bench` for `name` on a fresh runtime `R`, drops the runtime, and
/// prints aio's unparks per iteration.
fn run_entry<R: BenchRt>(
    g: &mut Group<'_>,
    group: &str,
    name: &str,
    setup: impl FnOnce(&R),
    teardown: impl FnOnce(&R),
    mut bench: impl FnMut(&R, &mut Bencher<'_>, &Cell<u64>),
) {
    let rt = R::build();
    setup(&rt);
    let iters = Cell::new(0u64);
    let before = rt.unparks();
    g.bench_function(name, |b| bench(&rt, b, &iters));
    if let (Some(before), Some(after), n @ 1..) = (before, rt.unparks(), iters.get()) {
        eprintln!(
            "    {group}/{name}: {:.1} unparks per iteration ({n} iterations)",
            (after - before) as f64 / n as f64,
        );
    }
    teardown(&rt);
}

/// One group, both runtimes, no setup.
fn both(
    c: &mut Criterion,
    group: &str,
    config: impl Fn(&mut Group<'_>),
    aio_bench: impl FnMut(&Aio, &mut Bencher<'_>, &Cell<u64>),
    tokio_bench: impl FnMut(&Tokio, &mut Bencher<'_>, &Cell<u64>),
) {
    let mut g = c.benchmark_group(group);
    config(&mut g);
    run_entry::<Aio>(&mut g, group, "aio", |_| {}, |_| {}, aio_bench);
    run_entry::<Tokio>(&mut g, group, "tokio", |_| {}, |_| {}, tokio_bench);
    g.finish();
}

/// Criterion settings of the groups whose iterations take 0.3–30 ms: flat
/// sampling (every sample the same number of iterations), 30 samples in 5 s.
fn standard(g: &mut Group<'_>) {
    g.sampling_mode(SamplingMode::Flat);
    if quick() {
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1));
    } else {
        g.sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
    }
}

/// Criterion settings of the groups whose iterations may take a second or
/// more (`spawn_await_1m`; aio's `spawn_many_remote_busy`, see
/// BENCHMARKS.md): 10 flat samples.
fn long(g: &mut Group<'_>) {
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    if quick() {
        g.warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(2));
    } else {
        g.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(8));
    }
}

fn quick() -> bool {
    std::env::var_os("AIO_BENCH_QUICK").is_some()
}

// ---------------------------------------------------------------- workloads

/// 10,000 tasks spawned from inside `block_on`, each decrementing a shared
/// counter; the last one tells the (blocked) `block_on` thread.
fn spawn_many_local<R: BenchRt>(rt: &R, b: &mut Bencher<'_>, iters: &Cell<u64>) {
    let (tx, rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    b.iter(|| {
        iters.set(iters.get() + 1);
        rem.store(NUM_SPAWN, Relaxed);
        rt.block_on(async {
            for _ in 0..NUM_SPAWN {
                let tx = tx.clone();
                let rem = rem.clone();
                drop(R::spawn(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                }));
            }
            rx.recv().unwrap();
        });
    });
}

/// As [`spawn_many_local`], but the 10,000 tasks are spawned by a task
/// running on a worker (not by `block_on`'s thread), so they go to that
/// worker's own queue and are stolen from there. Not in tokio's file; the
/// name `spawn_many_local` suggests it, so both are measured.
fn spawn_many_from_task<R: BenchRt>(rt: &R, b: &mut Bencher<'_>, iters: &Cell<u64>) {
    let (tx, rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    b.iter(|| {
        iters.set(iters.get() + 1);
        rem.store(NUM_SPAWN, Relaxed);
        let tx = tx.clone();
        let rem = rem.clone();
        drop(rt.spawn_remote(async move {
            for _ in 0..NUM_SPAWN {
                let tx = tx.clone();
                let rem = rem.clone();
                drop(R::spawn(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                }));
            }
        }));
        rx.recv().unwrap();
    });
}

/// 10,000 empty tasks spawned from the bench thread through the handle,
/// then awaited in order from one `block_on`.
fn spawn_many_remote<R: BenchRt>(rt: &R, b: &mut Bencher<'_>, iters: &Cell<u64>) {
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    b.iter(|| {
        iters.set(iters.get() + 1);
        for _ in 0..NUM_SPAWN {
            handles.push(rt.spawn_remote(async {}));
        }
        rt.block_on(async {
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        });
    });
}

/// Burns [`STALL_DUR`] of CPU, yielding the thread meanwhile (tokio's `stall`).
fn stall() {
    let start = Instant::now();
    while start.elapsed() < STALL_DUR {
        std::thread::yield_now();
    }
}

/// Starts `2 * NUM_WORKERS` tasks that yield and stall until `flag` clears
/// (tokio's `spawn_many_remote_busy1` setup).
fn start_busy<R: BenchRt>(rt: &R, flag: &Arc<AtomicBool>) {
    flag.store(true, Relaxed);
    for _ in 0..2 * NUM_WORKERS {
        let flag = flag.clone();
        drop(rt.spawn_remote(async move {
            while flag.load(Relaxed) {
                R::yield_now().await;
                stall();
            }
        }));
    }
}

/// 1,000 round trips: a task spawns a pair of tasks that exchange one
/// message each way over oneshots; the last pair tells the bench thread.
fn ping_pong<R: BenchRt>(rt: &R, b: &mut Bencher<'_>, iters: &Cell<u64>) {
    const NUM_PINGS: usize = 1_000;
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    b.iter(|| {
        iters.set(iters.get() + 1);
        let done_tx = done_tx.clone();
        let rem = rem.clone();
        rem.store(NUM_PINGS, Relaxed);
        rt.block_on(async {
            drop(R::spawn(async move {
                for _ in 0..NUM_PINGS {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    drop(R::spawn(async move {
                        let (tx1, rx1) = oneshot::channel::<()>();
                        let (tx2, rx2) = oneshot::channel::<()>();
                        drop(R::spawn(async move {
                            rx1.await;
                            tx2.send(());
                        }));
                        tx1.send(());
                        rx2.await;
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            done_tx.send(()).unwrap();
                        }
                    }));
                }
            }));
            done_rx.recv().unwrap();
        });
    });
}

/// 200 tasks spawned from the bench thread, each yielding 1,000 times,
/// then reporting on a channel.
fn yield_many<R: BenchRt>(rt: &R, b: &mut Bencher<'_>, iters: &Cell<u64>) {
    const NUM_YIELD: usize = 1_000;
    const TASKS: usize = 200;
    let (tx, rx) = mpsc::sync_channel(TASKS);
    b.iter(|| {
        iters.set(iters.get() + 1);
        for _ in 0..TASKS {
            let tx = tx.clone();
            drop(rt.spawn_remote(async move {
                for _ in 0..NUM_YIELD {
                    R::yield_now().await;
                }
                tx.send(()).unwrap();
            }));
        }
        for _ in 0..TASKS {
            rx.recv().unwrap();
        }
    });
}

/// A chain of 1,000 tasks, each spawning the next; the last one tells the
/// bench thread.
fn chained_spawn<R: BenchRt>(rt: &R, b: &mut Bencher<'_>, iters: &Cell<u64>) {
    const ITER: usize = 1_000;
    fn next<R: BenchRt>(done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            drop(R::spawn(async move { next::<R>(done_tx, n - 1) }));
        }
    }
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    b.iter(|| {
        iters.set(iters.get() + 1);
        let done_tx = done_tx.clone();
        rt.block_on(async {
            drop(R::spawn(async move { next::<R>(done_tx, ITER) }));
            done_rx.recv().unwrap();
        });
    });
}

/// Spawns 1,000,000 tiny tasks (`async { i }`) from one `block_on`, then
/// awaits every handle and sums the outputs.
fn spawn_await_1m<R: BenchRt>(rt: &R, b: &mut Bencher<'_>, iters: &Cell<u64>) {
    const N: u64 = 1_000_000;
    let mut handles = Vec::with_capacity(N as usize);
    b.iter(|| {
        iters.set(iters.get() + 1);
        let sum = rt.block_on(async {
            for i in 0..N {
                handles.push(R::spawn(async move { i }));
            }
            let mut sum = 0u64;
            for h in handles.drain(..) {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, N * (N - 1) / 2);
    });
}

// ------------------------------------------------------------------ groups

fn bench_spawn_many_local(c: &mut Criterion) {
    both(
        c,
        "spawn_many_local",
        standard,
        spawn_many_local::<Aio>,
        spawn_many_local::<Tokio>,
    );
}

fn bench_spawn_many_from_task(c: &mut Criterion) {
    both(
        c,
        "spawn_many_from_task",
        standard,
        spawn_many_from_task::<Aio>,
        spawn_many_from_task::<Tokio>,
    );
}

fn bench_spawn_many_remote_idle(c: &mut Criterion) {
    both(
        c,
        "spawn_many_remote_idle",
        standard,
        spawn_many_remote::<Aio>,
        spawn_many_remote::<Tokio>,
    );
}

fn bench_spawn_many_remote_busy(c: &mut Criterion) {
    let flag = Arc::new(AtomicBool::new(false));
    let mut g = c.benchmark_group("spawn_many_remote_busy");
    long(&mut g);
    run_entry::<Aio>(
        &mut g,
        "spawn_many_remote_busy",
        "aio",
        |rt| start_busy(rt, &flag),
        |_| flag.store(false, Relaxed),
        spawn_many_remote::<Aio>,
    );
    run_entry::<Tokio>(
        &mut g,
        "spawn_many_remote_busy",
        "tokio",
        |rt| start_busy(rt, &flag),
        |_| flag.store(false, Relaxed),
        spawn_many_remote::<Tokio>,
    );
    g.finish();
}

fn bench_ping_pong(c: &mut Criterion) {
    both(
        c,
        "ping_pong",
        standard,
        ping_pong::<Aio>,
        ping_pong::<Tokio>,
    );
}

fn bench_yield_many(c: &mut Criterion) {
    both(
        c,
        "yield_many",
        standard,
        yield_many::<Aio>,
        yield_many::<Tokio>,
    );
}

fn bench_chained_spawn(c: &mut Criterion) {
    both(
        c,
        "chained_spawn",
        standard,
        chained_spawn::<Aio>,
        chained_spawn::<Tokio>,
    );
}

fn bench_spawn_await_1m(c: &mut Criterion) {
    both(
        c,
        "spawn_await_1m",
        long,
        spawn_await_1m::<Aio>,
        spawn_await_1m::<Tokio>,
    );
}

fn main() {
    // What `criterion_group!` + `criterion_main!` expand to, without the
    // undocumented `pub fn` the macro generates.
    let mut c = Criterion::default().configure_from_args();
    bench_spawn_many_local(&mut c);
    bench_spawn_many_from_task(&mut c);
    bench_spawn_many_remote_idle(&mut c);
    bench_spawn_many_remote_busy(&mut c);
    bench_ping_pong(&mut c);
    bench_yield_many(&mut c);
    bench_chained_spawn(&mut c);
    bench_spawn_await_1m(&mut c);
    c.final_summary();
}
