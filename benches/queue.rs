//! Queue bench: `aio::queue::Queue` against `tokio::sync::mpsc`, same
//! workload, same worker count (2), same run.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench queue
//! ```
//!
//! Workload (`queue_mpsc`): a channel bounded to 1024 items, 4 producer
//! tasks putting 250,000 `u64`s each, 1 consumer task getting all
//! 1,000,000; one iteration = spawn the five tasks from `block_on` and
//! await them. Each runtime is built once per entry and dropped before the
//! next entry starts.

use criterion::Criterion;
use std::time::Duration;

const CAPACITY: usize = 1024;
const PRODUCERS: u64 = 4;
const ITEMS: u64 = 1_000_000;
const WORKERS: usize = 2;

async fn aio_queue() -> u64 {
    let q = aio::queue::Queue::new(CAPACITY);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = q.clone();
            aio::spawn(async move {
                for i in 0..ITEMS / PRODUCERS {
                    q.put(p + i).await.unwrap();
                }
            })
        })
        .collect();
    let consumer = aio::spawn(async move {
        let mut sum = 0u64;
        for _ in 0..ITEMS {
            sum = sum.wrapping_add(q.get().await.unwrap());
        }
        sum
    });
    for p in producers {
        p.await.unwrap();
    }
    consumer.await.unwrap()
}

async fn tokio_mpsc() -> u64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel(CAPACITY);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..ITEMS / PRODUCERS {
                    tx.send(p + i).await.unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = tokio::spawn(async move {
        let mut sum = 0u64;
        for _ in 0..ITEMS {
            sum = sum.wrapping_add(rx.recv().await.unwrap());
        }
        sum
    });
    for p in producers {
        p.await.unwrap();
    }
    consumer.await.unwrap()
}

fn queue_mpsc(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_mpsc");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2));
    {
        let rt = aio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .build()
            .unwrap();
        g.bench_function("aio", |b| b.iter(|| rt.block_on(aio_queue())));
    }
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .build()
            .unwrap();
        g.bench_function("tokio", |b| b.iter(|| rt.block_on(tokio_mpsc())));
    }
    g.finish();
}

fn main() {
    // What `criterion_group!` + `criterion_main!` expand to, without the
    // undocumented `pub fn` the macro generates.
    let mut c = Criterion::default().configure_from_args();
    queue_mpsc(&mut c);
    c.final_summary();
}
