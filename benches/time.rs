//! Timer benchmarks, aio vs tokio (2 workers each) in the same criterion
//! groups (issue 3):
//! - `sleepers_100k`: 100,000 concurrent tasks, each sleeping a random
//!   1–50 ms (same seed for both), total wall time;
//! - `timeout_never_fires_100k`: 100,000 `timeout(10 s, f)` where `f` is
//!   pending once then ready, so every timer is registered and cancelled
//!   (the insert + cancel cost);
//! - `sleep_ping_2x100`: two tasks that each sleep 1 ms a hundred times,
//!   interleaved (timer firing and wake latency).
//!
//! Run: `cargo bench --bench time`. CPU per sleep, idle CPU, lateness
//! percentiles and bytes per sleeping task: `cargo bench --bench timer_stats`.

use criterion::Criterion;
use std::time::Duration;

mod timer_common;
use timer_common::{aio_sleep_all, delays, tokio_sleep_all};

const WORKERS: usize = 2;

fn aio_rt() -> aio::runtime::Runtime {
    aio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .expect("aio runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// Pending on the first poll (waking itself), ready on the second.
struct PendingOnce(bool);
impl std::future::Future for PendingOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

fn sleepers(c: &mut Criterion) {
    let ds = delays(100_000);
    let mut g = c.benchmark_group("sleepers_100k");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let rt = aio_rt();
    g.bench_function("aio", |b| b.iter(|| aio_sleep_all(&rt, &ds)));
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| b.iter(|| tokio_sleep_all(&rt, &ds)));
    g.finish();
}

fn timeouts(c: &mut Criterion) {
    const N: usize = 100_000;
    let mut g = c.benchmark_group("timeout_never_fires_100k");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let rt = aio_rt();
    g.bench_function("aio", |b| {
        b.iter(|| {
            rt.block_on(rt.handle().spawn(async {
                for _ in 0..N {
                    aio::time::timeout(Duration::from_secs(10), PendingOnce(false))
                        .await
                        .unwrap();
                }
            }))
            .unwrap()
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(rt.spawn(async {
                for _ in 0..N {
                    tokio::time::timeout(Duration::from_secs(10), PendingOnce(false))
                        .await
                        .unwrap();
                }
            }))
            .unwrap()
        })
    });
    g.finish();
}

fn sleep_ping(c: &mut Criterion) {
    let mut g = c.benchmark_group("sleep_ping_2x100");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let rt = aio_rt();
    g.bench_function("aio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let ts: Vec<_> = (0..2)
                    .map(|_| {
                        aio::spawn(async {
                            for _ in 0..100 {
                                aio::sleep(Duration::from_millis(1)).await;
                            }
                        })
                    })
                    .collect();
                for t in ts {
                    t.await.unwrap();
                }
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let ts: Vec<_> = (0..2)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..100 {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                        })
                    })
                    .collect();
                for t in ts {
                    t.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

fn main() {
    // What criterion_group! + criterion_main! expand to, without the
    // undocumented `pub fn` the macro generates (missing_docs is on).
    let mut c = Criterion::default().configure_from_args();
    sleepers(&mut c);
    timeouts(&mut c);
    sleep_ping(&mut c);
    c.final_summary();
}
