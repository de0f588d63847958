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
//! `Command::spawn`); the difference is how the exit is waited for: aio
//! the ring's `IORING_OP_WAITID` on the pid (Linux 6.7; no fd per child),
//! or a pidfd polled on the ring or epoll; tokio a pidfd on its epoll.
//!
//! The children take ~90 % of the CPU, so one criterion estimate per
//! runtime moves with whatever else the machine does. After the criterion
//! groups, an interleaved pass (`PROCESS_PAIRS`, default 9) runs one
//! `concurrent` iteration on each runtime in turn (the order alternates)
//! and prints the median of the per-pair wall-time ratios, and each
//! runtime's own CPU per child (`getrusage(RUSAGE_SELF)`: the parent's
//! threads, not the children). Skipped under `--test` and `--list`, and
//! with `PROCESS_PAIRS=0`.

use criterion::{Criterion, SamplingMode, Throughput};
use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// This process's own CPU time (all its threads, user + system; the
/// children's time is not in it).
fn self_cpu() -> Duration {
    // SAFETY: all-zero is a valid rusage; getrusage fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Wall time and own CPU time of one run of `f`.
fn measure(f: impl FnOnce()) -> (Duration, Duration) {
    let (c0, w0) = (self_cpu(), Instant::now());
    f();
    (w0.elapsed(), self_cpu() - c0)
}

/// The median of `v` (upper median for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `concurrent` on aio and on tokio in turn, `pairs` times, the order
/// alternating; prints the medians.
fn interleaved(aio_rt: &aio::runtime::Runtime, tokio_rt: &tokio::runtime::Runtime, pairs: usize) {
    let (mut ratios, mut aio_w, mut tok_w, mut aio_c, mut tok_c) =
        (vec![], vec![], vec![], vec![], vec![]);
    // One untimed iteration each: the runtimes' threads and the page cache warm.
    aio_rt.block_on(aio_concurrent());
    tokio_rt.block_on(tokio_concurrent());
    for i in 0..pairs {
        let run_aio = || measure(|| aio_rt.block_on(aio_concurrent()));
        let run_tokio = || measure(|| tokio_rt.block_on(tokio_concurrent()));
        let ((aw, ac), (tw, tc)) = if i % 2 == 0 {
            let a = run_aio();
            (a, run_tokio())
        } else {
            let t = run_tokio();
            (run_aio(), t)
        };
        ratios.push(tw.as_secs_f64() / aw.as_secs_f64());
        let per_child = |d: Duration| d.as_secs_f64() * 1e6 / CHILDREN as f64;
        aio_w.push(aw.as_secs_f64() * 1e3);
        tok_w.push(tw.as_secs_f64() * 1e3);
        aio_c.push(per_child(ac));
        tok_c.push(per_child(tc));
    }
    let cpu_ratio: Vec<f64> = aio_c.iter().zip(&tok_c).map(|(a, t)| a / t).collect();
    println!(
        "interleaved concurrent, {pairs} pairs (medians): aio {:.0} ms, tokio {:.0} ms, \
         throughput aio/tokio {:.2}x (per pair: {}); own CPU per child aio {:.1} us, \
         tokio {:.1} us, aio/tokio {:.2}x",
        median(aio_w),
        median(tok_w),
        median(ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" "),
        median(aio_c),
        median(tok_c),
        median(cpu_ratio),
    );
}

fn main() {
    raise_fd_limit();
    let checking = std::env::args().any(|a| a == "--test" || a == "--list");
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
    c.final_summary();
    let pairs = std::env::var("PROCESS_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    if !checking && pairs > 0 {
        interleaved(&aio_rt, &tokio_rt, pairs);
    }
}
