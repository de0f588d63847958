//! Child process benches: `aio::process` against `tokio::process`, same
//! workload, same worker count (2), same run.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench process                    # aio on io_uring (the default driver)
//! AIO_DRIVER=epoll cargo bench --bench process   # aio on epoll
//! cargo bench --bench process -- --test          # check that everything runs
//! ```
//!
//! Workloads (`process_1000_true/{seq,concurrent}`): spawn 1,000 `true`
//! children and wait for each (its exit status), one after another in one
//! task (`seq`), or all at once, one task per child (`concurrent`). One
//! iteration = the 1,000 children. Spawning is the same in both (std's
//! `Command::spawn`); the difference is how the exit is waited for: aio a
//! pidfd polled on the ring or epoll, tokio its own reaper.

use criterion::{Criterion, SamplingMode, Throughput};
use std::process::Stdio;
use std::time::Duration;

const WORKERS: usize = 2;
const CHILDREN: usize = 1000;

async fn aio_seq() {
    for _ in 0..CHILDREN {
        let status = aio::process::Command::new("true")
            .stdin(Stdio::null())
            .spawn()
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert!(status.success());
    }
}

async fn tokio_seq() {
    for _ in 0..CHILDREN {
        let status = tokio::process::Command::new("true")
            .stdin(Stdio::null())
            .spawn()
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert!(status.success());
    }
}

async fn aio_concurrent() {
    let tasks: Vec<_> = (0..CHILDREN)
        .map(|_| {
            aio::spawn(async {
                aio::process::Command::new("true")
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap()
                    .wait()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().success());
    }
}

async fn tokio_concurrent() {
    let tasks: Vec<_> = (0..CHILDREN)
        .map(|_| {
            tokio::spawn(async {
                tokio::process::Command::new("true")
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap()
                    .wait()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().success());
    }
}

fn raise_fd_limit() {
    // SAFETY: reading and setting our own limits with valid structs.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < 4096 {
            l.rlim_cur = l.rlim_max.min(4096);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn main() {
    raise_fd_limit();
    let aio_rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    eprintln!("aio runs on {:?}", aio_rt.handle().driver());
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("process_1000_true");
    // Flat sampling (the same iteration count in every sample): an
    // iteration (1,000 children) takes about a second, and the whole bench
    // stays within ~1 minute.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(CHILDREN as u64));
    g.bench_function("seq/aio", |b| b.iter(|| aio_rt.block_on(aio_seq())));
    g.bench_function("concurrent/aio", |b| {
        b.iter(|| aio_rt.block_on(aio_concurrent()))
    });
    drop(aio_rt);
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("seq/tokio", |b| b.iter(|| tokio_rt.block_on(tokio_seq())));
    g.bench_function("concurrent/tokio", |b| {
        b.iter(|| tokio_rt.block_on(tokio_concurrent()))
    });
    g.finish();
    drop(tokio_rt);
    c.final_summary();
}
