//! Combinator benchmark (issue 5): `aio::future::gather` over 10,000 ready
//! futures vs `futures::future::join_all`, both driven by the same executor
//! (an aio current_thread runtime, and futures' own `block_on` as a second
//! driver), so only the combinator differs.
//!
//! Run: `cargo bench --bench future`.

use criterion::Criterion;
use std::hint::black_box;
use std::time::Duration;

const N: u64 = 10_000;

fn ready(i: u64) -> impl std::future::Future<Output = u64> {
    std::future::ready(i)
}

fn gather_10k(c: &mut Criterion) {
    let mut g = c.benchmark_group("gather_10k_ready");
    g.measurement_time(Duration::from_secs(4));
    let rt = aio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    g.bench_function("aio_gather", |b| {
        b.iter(|| rt.block_on(async { black_box(aio::future::gather((0..N).map(ready)).await) }))
    });
    g.bench_function("futures_join_all", |b| {
        b.iter(|| {
            rt.block_on(async { black_box(futures::future::join_all((0..N).map(ready)).await) })
        })
    });
    g.bench_function("aio_gather_on_futures_executor", |b| {
        b.iter(|| {
            futures::executor::block_on(async {
                black_box(aio::future::gather((0..N).map(ready)).await)
            })
        })
    });
    g.bench_function("futures_join_all_on_futures_executor", |b| {
        b.iter(|| {
            futures::executor::block_on(async {
                black_box(futures::future::join_all((0..N).map(ready)).await)
            })
        })
    });
    g.finish();
}

fn main() {
    // What criterion_group! + criterion_main! expand to, without the
    // undocumented `pub fn` the macro generates (missing_docs is on).
    let mut c = Criterion::default().configure_from_args();
    gather_10k(&mut c);
    c.final_summary();
}
