//! TCP echo benches: aio's server against tokio's, driven by the same
//! tokio load client, so that only the server differs.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench net                        # table + criterion, ~1.5 min on 2 idle vCPUs
//! AIO_NET_BENCH=table cargo bench --bench net    # only the fixed-duration table (~45 s)
//! AIO_NET_BENCH=criterion cargo bench --bench net -- echo_64B   # only criterion (filter as usual)
//! AIO_BENCH_QUICK=1 cargo bench --bench net      # smoke run, ~25 s
//! cargo bench --bench net -- --test              # check that everything runs, a few seconds
//! ```
//!
//! **Servers.** Each runs in its own process, this bench binary re-executed
//! with `AIO_NET_BENCH_SERVER=aio|tokio` (checked at the top of `main`,
//! before criterion starts), so its CPU time can be read from
//! `/proc/<pid>/stat` and it shares nothing with the client. Both are raw
//! echo servers on 127.0.0.1 with 2 worker threads: aio's multi_thread
//! runtime with `TcpStream::read` into a reused 64 KiB `Vec` and
//! `write_all` of it back (owned buffers); tokio's multi_thread runtime
//! with `read` into a 64 KiB buffer and `write_all` of what was read (the
//! `echo_server` / `echo_server_tokio` examples' `--raw` loops). Both set
//! `TCP_NODELAY`. Both servers live for the whole run; the idle one costs
//! nothing.
//!
//! **Client.** One tokio multi_thread runtime with 1 worker thread (the
//! machine has 2 vCPUs: the server's 2 workers and the client share them).
//! `conns` connections, each a task doing ping-pong: `write_all` of the
//! message, `read_exact` of the same length back, the round trip timed.
//! Workloads: conns ∈ {1, 16, 100} × message ∈ {64 B, 16 KiB}.
//!
//! **The table** (the main figures): per case and server, a fixed-duration
//! run (0.5 s warm-up, then 3 s measured), aio and tokio alternating
//! (even cases aio first, odd cases tokio first). Columns: round trips per
//! second; p50 and p99 round-trip latency (a log-linear histogram, ±1.6 %);
//! server CPU per round trip (the child's on-CPU time over the window, the
//! sum of its threads' `/proc/<pid>/task/*/schedstat`, in ns; utime + stime
//! from `/proc/<pid>/stat` where schedstat is missing); client CPU per
//! round trip (this process, same source); for aio, `io_uring_enter` calls
//! per round trip (`Handle::io_uring_enters`, asked from the child over its
//! stdin); "conn min/max", the round trips of the slowest connection over
//! those of the fastest (1.00: every connection served alike). Printed as
//! Markdown for `BENCHMARKS.md`.
//!
//! **Criterion** (`echo_<size>_<conns>c/{aio,tokio}`): `iter_custom`, one
//! iteration = one round trip, the iterations spread over the connections
//! (wall time / round trips, i.e. the inverse of throughput).

mod net_common;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use net_common::{announce, cpu_time, load_average, Histogram, ServerProc, SERVER_ENV};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Server worker threads, both runtimes.
const WORKERS: usize = 2;
/// Concurrent connections of the workloads.
const CONNS: [usize; 3] = [1, 16, 100];
/// Message sizes of the workloads.
const SIZES: [usize; 2] = [64, 16 * 1024];
/// The servers' read buffer.
const BUF_SIZE: usize = 64 * 1024;

// ------------------------------------------------------------------ servers

/// The aio echo server child: 2 workers, owned-buffer echo.
fn aio_server() -> io::Result<()> {
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()?;
    rt.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let listener = aio::net::TcpListener::bind(addr).await?;
        let handle = aio::runtime::Handle::current();
        announce(listener.local_addr()?, move || {
            Some(handle.io_uring_enters())
        });
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            drop(aio::spawn(async move {
                let mut buf = Vec::with_capacity(BUF_SIZE);
                loop {
                    buf.clear();
                    let (res, b) = stream.read(buf).await;
                    buf = b;
                    if !matches!(res, Ok(1..)) {
                        return;
                    }
                    let (res, b) = stream.write_all(buf).await;
                    buf = b;
                    if res.is_err() {
                        return;
                    }
                }
            }));
        }
    })
}

/// The tokio echo server child: 2 workers, the same loop.
fn tokio_server() -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?, || None);
        loop {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut buf = vec![0u8; BUF_SIZE];
                loop {
                    let n = match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

// ------------------------------------------------------------------- client

/// The load client's runtime: tokio, 1 worker thread; the bench thread
/// only spawns, sleeps and joins.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime")
}

type Conn = tokio::net::TcpStream;

async fn connect(addr: SocketAddr, n: usize) -> Vec<Conn> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Conn::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        conns.push(s);
    }
    conns
}

/// A message of `size` bytes (not all zeros, so a mix-up would show).
fn message(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// One ping-pong: the message out, as many bytes back.
async fn round_trip(s: &mut Conn, msg: &[u8], buf: &mut [u8]) {
    s.write_all(msg).await.expect("write");
    s.read_exact(buf).await.expect("read");
}

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// One connection of a fixed-duration run: ping-pong until [`STOP`],
/// recording the round trips that complete during [`MEASURE`].
async fn timed_conn(mut s: Conn, size: usize, phase: Arc<AtomicU8>) -> Histogram {
    let msg = message(size);
    let mut buf = vec![0u8; size];
    let mut hist = Histogram::new();
    round_trip(&mut s, &msg, &mut buf).await;
    assert!(buf == msg, "the server echoed something else");
    loop {
        let t = Instant::now();
        round_trip(&mut s, &msg, &mut buf).await;
        match phase.load(Relaxed) {
            MEASURE => hist.record(t.elapsed()),
            STOP => return hist,
            _ => {}
        }
    }
}

/// The figures of one fixed-duration run.
struct Row {
    server: &'static str,
    conns: usize,
    size: usize,
    round_trips: u64,
    window: Duration,
    hist: Histogram,
    server_cpu: Duration,
    client_cpu: Duration,
    enters: Option<u64>,
    /// Round trips of the slowest connection / of the fastest.
    fairness: f64,
}

impl Row {
    fn rate(&self) -> f64 {
        self.round_trips as f64 / self.window.as_secs_f64()
    }
    fn per_rt(&self, d: Duration) -> f64 {
        d.as_secs_f64() * 1e6 / self.round_trips.max(1) as f64
    }
}

/// Durations of the table runs.
#[derive(Clone, Copy)]
struct Timing {
    warmup: Duration,
    window: Duration,
}

/// One fixed-duration run against `server`.
fn timed_run(
    rt: &tokio::runtime::Runtime,
    server: &mut ServerProc,
    conns: usize,
    size: usize,
    timing: Timing,
) -> Row {
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let streams = rt.block_on(connect(server.addr, conns));
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|s| rt.spawn(timed_conn(s, size, phase.clone())))
        .collect();
    std::thread::sleep(timing.warmup);
    let (cpu0, client0, enters0) = (server.cpu(), cpu_time("self"), server.enters());
    let t0 = Instant::now();
    phase.store(MEASURE, Relaxed);
    std::thread::sleep(timing.window);
    phase.store(STOP, Relaxed);
    let window = t0.elapsed();
    let (cpu1, client1, enters1) = (server.cpu(), cpu_time("self"), server.enters());
    let mut hist = Histogram::new();
    let (mut min, mut max) = (u64::MAX, 0);
    rt.block_on(async {
        for t in tasks {
            let h = t.await.expect("connection task");
            (min, max) = (min.min(h.count()), max.max(h.count()));
            hist.merge(&h);
        }
    });
    Row {
        server: server.name,
        conns,
        size,
        round_trips: hist.count(),
        window,
        hist,
        server_cpu: cpu1.saturating_sub(cpu0),
        client_cpu: client1.saturating_sub(client0),
        enters: enters0.zip(enters1).map(|(a, b)| b - a),
        fairness: min as f64 / max.max(1) as f64,
    }
}

fn size_label(size: usize) -> String {
    if size >= 1024 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

fn us(d: Option<Duration>) -> String {
    d.map_or("—".into(), |d| format!("{:.1}", d.as_secs_f64() * 1e6))
}

/// Every case on both servers, alternating; prints the Markdown tables.
fn table(rt: &tokio::runtime::Runtime, servers: &mut [ServerProc; 2], timing: Timing) {
    println!(
        "\nnet echo, fixed duration: {} ms warm-up + {} ms measured per row; load average {} at start\n",
        timing.warmup.as_millis(),
        timing.window.as_millis(),
        load_average(),
    );
    println!("| conns | msg | server | round trips/s | p50 µs | p99 µs | server CPU µs/rt | client CPU µs/rt | io_uring_enter/rt | conn min/max |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut pairs = Vec::new();
    let mut case = 0;
    for &size in &SIZES {
        for &conns in &CONNS {
            let order: [usize; 2] = if case % 2 == 0 { [0, 1] } else { [1, 0] };
            case += 1;
            let mut rows: [Option<Row>; 2] = [None, None];
            for i in order {
                let row = timed_run(rt, &mut servers[i], conns, size, timing);
                println!(
                    "| {} | {} | {} | {:.0} | {} | {} | {:.1} | {:.1} | {} | {:.2} |",
                    row.conns,
                    size_label(row.size),
                    row.server,
                    row.rate(),
                    us(row.hist.quantile(0.5)),
                    us(row.hist.quantile(0.99)),
                    row.per_rt(row.server_cpu),
                    row.per_rt(row.client_cpu),
                    row.enters.map_or("—".into(), |e| format!(
                        "{:.2}",
                        e as f64 / row.round_trips.max(1) as f64
                    )),
                    row.fairness,
                );
                rows[i] = Some(row);
            }
            if let [Some(a), Some(t)] = rows {
                pairs.push((a, t));
            }
        }
    }
    println!("\naio / tokio (< 1.0: aio lower; for round trips/s > 1.0 means aio faster)\n");
    println!("| conns | msg | round trips/s | p50 | p99 | server CPU/rt |");
    println!("|---|---|---|---|---|---|");
    let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()),
        _ => "—".into(),
    };
    for (a, t) in &pairs {
        let cpu = |r: &Row| Some(Duration::from_secs_f64(r.per_rt(r.server_cpu) / 1e6));
        println!(
            "| {} | {} | {:.2} | {} | {} | {} |",
            a.conns,
            size_label(a.size),
            a.rate() / t.rate().max(1e-9),
            ratio(a.hist.quantile(0.5), t.hist.quantile(0.5)),
            ratio(a.hist.quantile(0.99), t.hist.quantile(0.99)),
            ratio(cpu(a), cpu(t)),
        );
    }
    println!();
}

// ---------------------------------------------------------------- criterion

/// `iters` round trips spread over `conns` (taken and given back), timed.
fn timed_iters(
    rt: &tokio::runtime::Runtime,
    conns: &mut Vec<Conn>,
    size: usize,
    iters: u64,
) -> Duration {
    let n = conns.len() as u64;
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .drain(..)
        .enumerate()
        .map(|(i, mut s)| {
            let share = iters / n + u64::from((i as u64) < iters % n);
            rt.spawn(async move {
                let msg = message(size);
                let mut buf = vec![0u8; size];
                for _ in 0..share {
                    round_trip(&mut s, &msg, &mut buf).await;
                }
                s
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            conns.push(t.await.expect("connection task"));
        }
    });
    start.elapsed()
}

fn criterion_groups(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    servers: &[ServerProc; 2],
    quick: bool,
) {
    for &size in &SIZES {
        for &n in &CONNS {
            let mut g = c.benchmark_group(format!("echo_{}_{n}c", size_label(size)));
            g.sampling_mode(SamplingMode::Flat)
                .throughput(Throughput::Elements(1))
                .sample_size(10);
            if quick {
                g.warm_up_time(Duration::from_millis(200))
                    .measurement_time(Duration::from_millis(500));
            } else {
                g.warm_up_time(Duration::from_millis(500))
                    .measurement_time(Duration::from_millis(1500));
            }
            for server in servers {
                let mut conns = rt.block_on(connect(server.addr, n));
                g.bench_function(server.name, |b| {
                    b.iter_custom(|iters| timed_iters(rt, &mut conns, size, iters))
                });
            }
            g.finish();
        }
    }
}

// --------------------------------------------------------------------- main

fn main() {
    if let Ok(kind) = std::env::var(SERVER_ENV) {
        let res = match kind.as_str() {
            "aio" => aio_server(),
            "tokio" => tokio_server(),
            other => panic!("{SERVER_ENV}={other}: expected aio or tokio"),
        };
        if let Err(e) = res {
            eprintln!("{kind} server: {e}");
            std::process::exit(1);
        }
        return;
    }
    net_common::histogram_self_test();
    let test_mode = std::env::args().any(|a| a == "--test");
    let quick = std::env::var_os("AIO_BENCH_QUICK").is_some();
    let which = std::env::var("AIO_NET_BENCH").unwrap_or_default();
    let timing = if test_mode {
        Timing {
            warmup: Duration::from_millis(50),
            window: Duration::from_millis(200),
        }
    } else if quick {
        Timing {
            warmup: Duration::from_millis(200),
            window: Duration::from_secs(1),
        }
    } else {
        Timing {
            warmup: Duration::from_millis(500),
            window: Duration::from_secs(3),
        }
    };
    let mut servers = [ServerProc::spawn("aio"), ServerProc::spawn("tokio")];
    let rt = client_runtime();
    if which != "criterion" {
        table(&rt, &mut servers, timing);
    }
    if which != "table" {
        let mut c = Criterion::default().configure_from_args();
        criterion_groups(&mut c, &rt, &servers, quick);
        c.final_summary();
    }
}
