//! Sync-primitive benches: aio's `Mutex` and `Semaphore` against tokio's,
//! same workloads, same worker count (2), same run.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench sync                        # every group, ~1 min on 2 cores
//! cargo bench --bench sync -- mutex_contended     # one group (criterion filter)
//! ```
//!
//! Groups (each has an `aio` and a `tokio` entry; one iteration is one
//! `block_on` of the whole workload on an already-built runtime):
//!
//! - `mutex_contended`: 100 tasks each lock the same mutex 100 times,
//!   yielding once while holding it (so the other tasks queue on it).
//! - `semaphore_uncontended`: one task acquires and drops a permit 10,000
//!   times (the fast path; nobody else touches the semaphore).
//! - `semaphore_contended`: 100 tasks share 10 permits, each acquiring 100
//!   times and yielding once while holding the permit.
//!
//! The workload bodies are written once (a macro) and instantiated for
//! each runtime, so only the runtime and the primitive differ. Only one
//! runtime exists at a time.

use criterion::Criterion;
use std::sync::Arc;
use std::time::Duration;

const NUM_WORKERS: usize = 2;
const TASKS: usize = 100;
const ROUNDS: usize = 100;
const UNCONTENDED: usize = 10_000;
const PERMITS: usize = 10;

/// The workloads, for one runtime: `$spawn` spawns onto the current
/// runtime, `$yield` yields, `$mutex` / `$sem` are the primitives.
macro_rules! workloads {
    ($m:ident, $spawn:path, $yield:path, $mutex:ty, $sem:ty) => {
        mod $m {
            use super::*;

            pub(crate) async fn mutex_contended() -> u64 {
                let m = Arc::new(<$mutex>::new(0u64));
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let m = m.clone();
                        $spawn(async move {
                            for _ in 0..ROUNDS {
                                let mut g = m.lock().await;
                                *g += 1;
                                $yield().await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let v = *m.lock().await;
                assert_eq!(v, (TASKS * ROUNDS) as u64);
                v
            }

            pub(crate) async fn semaphore_uncontended() {
                let sem = Arc::new(<$sem>::new(1));
                $spawn(async move {
                    for _ in 0..UNCONTENDED {
                        let p = sem.acquire().await.unwrap();
                        drop(std::hint::black_box(p));
                    }
                })
                .await
                .unwrap();
            }

            pub(crate) async fn semaphore_contended() {
                let sem = Arc::new(<$sem>::new(PERMITS));
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let sem = sem.clone();
                        $spawn(async move {
                            for _ in 0..ROUNDS {
                                let _p = sem.acquire().await.unwrap();
                                $yield().await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
        }
    };
}

workloads!(
    on_aio,
    aio::spawn,
    aio::task::yield_now,
    aio::sync::Mutex<u64>,
    aio::sync::Semaphore
);
workloads!(
    on_tokio,
    tokio::spawn,
    tokio::task::yield_now,
    tokio::sync::Mutex<u64>,
    tokio::sync::Semaphore
);

fn aio_rt() -> aio::runtime::Runtime {
    aio::runtime::Builder::new_multi_thread()
        .worker_threads(NUM_WORKERS)
        .build()
        .expect("aio runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(NUM_WORKERS)
        .build()
        .expect("tokio runtime")
}

macro_rules! group {
    ($c:expr, $name:literal, $work:ident) => {{
        let mut g = $c.benchmark_group($name);
        g.sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        {
            let rt = aio_rt();
            g.bench_function("aio", |b| b.iter(|| rt.block_on(on_aio::$work())));
        }
        {
            let rt = tokio_rt();
            g.bench_function("tokio", |b| b.iter(|| rt.block_on(on_tokio::$work())));
        }
        g.finish();
    }};
}

fn benches(c: &mut Criterion) {
    group!(c, "mutex_contended", mutex_contended);
    group!(c, "semaphore_uncontended", semaphore_uncontended);
    group!(c, "semaphore_contended", semaphore_contended);
}

fn main() {
    // What `criterion_group!` + `criterion_main!` expand to, without the
    // undocumented `pub fn` the macro generates.
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
