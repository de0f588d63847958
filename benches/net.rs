//! TCP echo benches: aio's server (on its io_uring driver and on its epoll
//! driver) against tokio's and against a raw io_uring loop with no runtime
//! (the floor: what the kernel costs), driven by the same tokio load
//! client, so that only the server differs.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench net                        # table + criterion, ~1.5 min on 2 idle vCPUs
//! AIO_NET_BENCH=table cargo bench --bench net    # only the fixed-duration table (~45 s)
//! AIO_NET_BENCH=criterion cargo bench --bench net -- echo_64B   # only criterion (filter as usual)
//! AIO_NET_BENCH=table AIO_NET_BENCH_CASES=100x64 AIO_NET_BENCH_ROUNDS=5 cargo bench --bench net
//!                                                # one case (conns x bytes), 5 alternating rounds
//! AIO_NET_BENCH_AIO_WORKERS=1 ...                # aio's server with 1 worker (tokio's keeps 2)
//! AIO_NET_BENCH_AIO_SPIN_US=0 ...                 # aio's server with Builder::park_spin(0 µs)
//! AIO_BENCH_QUICK=1 cargo bench --bench net      # smoke run, ~25 s
//! cargo bench --bench net -- --test              # check that everything runs, a few seconds
//! ```
//!
//! **Servers.** Each runs in its own process, this bench binary re-executed
//! with `AIO_NET_BENCH_SERVER=aio|aio-epoll|tokio|raw-uring` (checked at
//! the top of `main`, before criterion starts), so its CPU time can be read
//! from `/proc/<pid>/stat` and it shares nothing with the client. All are
//! echo servers on 127.0.0.1 with 2 threads:
//! - "aio": aio's multi_thread runtime on its io_uring driver, with
//!   `TcpStream::read` into a reused 64 KiB `Vec` and `write_all` of it
//!   back (owned buffers); "aio-epoll": the same on the epoll driver
//!   (`Driver::Epoll`);
//! - "tokio": tokio's multi_thread runtime with `read` into a 64 KiB buffer
//!   and `write_all` of what was read (the `echo_server` /
//!   `echo_server_tokio` examples' `--raw` loops);
//! - "raw-uring" (`net_raw`): the `io-uring` crate used directly, no
//!   runtime: one ring per thread with aio's ring setup (256 entries,
//!   `SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN | TASKRUN_FLAG`,
//!   `R_DISABLED` then enabled on its thread, `ATTACH_WQ` to the first);
//!   ring 0 holds a multishot accept and deals connections round-robin to
//!   the rings (`MSG_RING`); per connection a `recv` into a 64 KiB buffer,
//!   `send`s of what was read (short sends looped), `recv` again; each
//!   thread parks in `submit_and_wait(1)`.
//!
//! All set `TCP_NODELAY`. All servers live for the whole run; the idle ones
//! cost nothing.
//!
//! **Client.** One tokio multi_thread runtime with 1 worker thread (the
//! machine has 2 vCPUs: the server's 2 workers and the client share them).
//! `conns` connections, each a task doing ping-pong: `write_all` of the
//! message, `read_exact` of the same length back, the round trip timed.
//! Workloads: conns ∈ {1, 16, 100} × message ∈ {64 B, 16 KiB}.
//!
//! **The table** (the main figures): per case and server, a fixed-duration
//! run (0.5 s warm-up, then 3 s measured; `AIO_NET_BENCH_SECS` changes the
//! window), the four servers in an order rotating from case to case
//! (printed in a fixed order). `AIO_NET_BENCH_CASES` (comma-separated `CONNSxBYTES`)
//! keeps only those cases; `AIO_NET_BENCH_ROUNDS=n` repeats them n times
//! and adds the median of each ratio over the rounds. Columns: round trips per
//! second; p50 and p99 round-trip latency (a log-linear histogram, ±1.6 %);
//! server CPU per round trip (the child's on-CPU time over the window, the
//! sum of its threads' `/proc/<pid>/task/*/schedstat`, in ns; utime + stime
//! from `/proc/<pid>/stat` where schedstat is missing); "CPU / raw", that
//! server CPU per round trip over raw-uring's in the same case and round
//! (1.00: as cheap as the raw loop); client CPU per round trip (this
//! process, same source); "driver syscalls/rt", the driver's blocking or
//! submitting syscalls per round trip, asked from the child over its stdin:
//! `io_uring_enter` for aio (`Handle::io_uring_enters`) and for raw-uring
//! (its own count of `submit*` calls, each of which enters the kernel),
//! `epoll_wait` for aio-epoll, "—" for tokio (no counter); "conn min/max",
//! the round trips of the slowest connection over those of the fastest
//! (1.00: every connection served alike). Then two ratio tables: "CPU /
//! raw" of aio, aio-epoll and tokio side by side per case, and aio/tokio
//! and aio-epoll/tokio (round trips/s, p50, p99, server CPU per round
//! trip); with several rounds, each also as the median per case. Printed
//! as Markdown for `BENCHMARKS.md`.
//!
//! **Criterion** (`echo_<size>_<conns>c/{aio,aio-epoll,tokio,raw-uring}`): `iter_custom`, one
//! iteration = one round trip, the iterations spread over the connections
//! (wall time / round trips, i.e. the inverse of throughput).

mod net_common;
mod net_raw;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use net_common::{announce, cpu_time, load_average, Histogram, ServerProc, SERVER_ENV};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Server worker threads, both runtimes (and the raw loop's threads).
const WORKERS: usize = 2;
/// The echo servers, each a child process (`AIO_NET_BENCH_SERVER=<name>`).
const SERVERS: [&str; 4] = ["aio", "aio-epoll", "tokio", "raw-uring"];
/// `SERVERS`' index of tokio's server, the peer of the ratio tables.
const TOKIO: usize = 2;
/// `SERVERS`' index of the raw io_uring loop, the floor of "CPU / raw".
const RAW: usize = 3;
/// Concurrent connections of the workloads.
const CONNS: [usize; 3] = [1, 16, 100];
/// Message sizes of the workloads.
const SIZES: [usize; 2] = [64, 16 * 1024];
/// The servers' read buffer.
const BUF_SIZE: usize = 64 * 1024;

// ------------------------------------------------------------------ servers

/// The aio echo server child on `driver`: 2 workers, owned-buffer echo.
fn aio_server(driver: aio::runtime::Driver) -> io::Result<()> {
    let workers = std::env::var("AIO_NET_BENCH_AIO_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(WORKERS);
    let mut builder = aio::runtime::Builder::new_multi_thread();
    builder.worker_threads(workers).driver(driver);
    if let Some(us) = std::env::var("AIO_NET_BENCH_AIO_SPIN_US")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        builder.park_spin(std::time::Duration::from_micros(us));
    }
    let rt = builder.build()?;
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

/// The accept-rate servers: accept each connection and close it at once
/// (the client reads end of stream). `multishot`: through
/// `TcpListener::incoming` (one SQE for every connection) instead of one
/// `accept` SQE per connection.
fn aio_accept_server(multishot: bool) -> io::Result<()> {
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()?;
    rt.block_on(async {
        let listener = aio::net::TcpListener::bind("127.0.0.1:0").await?;
        let handle = aio::runtime::Handle::current();
        announce(listener.local_addr()?, move || {
            Some(handle.io_uring_enters())
        });
        if multishot {
            let mut incoming = listener.incoming();
            loop {
                drop(incoming.accept().await?);
            }
        } else {
            loop {
                drop(listener.accept().await?);
            }
        }
    })
}

/// tokio's accept-rate server: the same loop.
fn tokio_accept_server() -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        announce(listener.local_addr()?, || None);
        loop {
            drop(listener.accept().await?);
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
#[derive(Clone)]
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

/// Every case on the four servers, in rotating order; prints the
/// Markdown tables.
fn table(
    rt: &tokio::runtime::Runtime,
    servers: &mut [ServerProc; 4],
    timing: Timing,
    filter: &CaseFilter,
    rounds: usize,
) {
    println!(
        "\nnet echo, fixed duration: {} ms warm-up + {} ms measured per row; load average {} at start\n",
        timing.warmup.as_millis(),
        timing.window.as_millis(),
        load_average(),
    );
    println!("| conns | msg | server | round trips/s | p50 µs | p99 µs | server CPU µs/rt | CPU / raw | client CPU µs/rt | driver syscalls/rt | conn min/max |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut runs: Vec<[Row; 4]> = Vec::new();
    let mut case = 0;
    let cases: Vec<(usize, usize)> = SIZES
        .iter()
        .flat_map(|&size| CONNS.iter().map(move |&conns| (size, conns)))
        .filter(|&(size, conns)| filter.keeps(conns, size))
        .collect();
    for _ in 0..rounds {
        for &(size, conns) in &cases {
            let mut rows: [Option<Row>; 4] = Default::default();
            for k in 0..servers.len() {
                let i = (case + k) % servers.len();
                rows[i] = Some(timed_run(rt, &mut servers[i], conns, size, timing));
            }
            case += 1;
            let rows = rows.map(|r| r.expect("every server ran"));
            let raw_cpu = rows[RAW].per_rt(rows[RAW].server_cpu);
            for row in &rows {
                println!(
                    "| {} | {} | {} | {:.0} | {} | {} | {:.1} | {:.2} | {:.1} | {} | {:.2} |",
                    row.conns,
                    size_label(row.size),
                    row.server,
                    row.rate(),
                    us(row.hist.quantile(0.5)),
                    us(row.hist.quantile(0.99)),
                    row.per_rt(row.server_cpu),
                    row.per_rt(row.server_cpu) / raw_cpu,
                    row.per_rt(row.client_cpu),
                    row.enters.map_or("—".into(), |e| format!(
                        "{:.2}",
                        e as f64 / row.round_trips.max(1) as f64
                    )),
                    row.fairness,
                );
            }
            runs.push(rows);
        }
    }
    print_vs_raw(&runs, rounds);
    for a in 0..TOKIO {
        let pairs: Vec<(Row, Row)> = runs
            .iter()
            .map(|r| (r[a].clone(), r[TOKIO].clone()))
            .collect();
        print_ratios(SERVERS[a], &pairs, rounds);
    }
}

/// The median of `v` (upper median for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// "CPU / raw" side by side: each server's CPU per round trip over the
/// raw io_uring loop's, per case, and with several rounds the median of
/// each ratio per case.
fn print_vs_raw(runs: &[[Row; 4]], rounds: usize) {
    let ratios = |r: &[Row; 4]| -> [f64; RAW] {
        let raw = r[RAW].per_rt(r[RAW].server_cpu);
        std::array::from_fn(|i| r[i].per_rt(r[i].server_cpu) / raw)
    };
    let header = || {
        println!("| conns | msg | {} |", SERVERS[..RAW].join(" | "));
        println!("|---|---|{}", "---|".repeat(RAW));
    };
    let line = |r: &Row, v: [f64; RAW]| {
        let cols: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
        println!(
            "| {} | {} | {} |",
            r.conns,
            size_label(r.size),
            cols.join(" | ")
        );
    };
    println!(
        "\nserver CPU per round trip / raw-uring's (CPU / raw; 1.00: as cheap as the raw io_uring loop)\n"
    );
    header();
    for r in runs {
        line(&r[0], ratios(r));
    }
    if rounds > 1 {
        println!("\nCPU / raw, median over {rounds} rounds\n");
        header();
        let per_round = runs.len() / rounds;
        for c in 0..per_round {
            let mut cols: [Vec<f64>; RAW] = Default::default();
            for r in runs.iter().skip(c).step_by(per_round) {
                for (col, v) in cols.iter_mut().zip(ratios(r)) {
                    col.push(v);
                }
            }
            line(&runs[c][0], cols.map(median));
        }
    }
}

/// The `name`/tokio ratio table of `pairs`, and with several rounds the
/// median of each ratio per case.
fn print_ratios(name: &str, pairs: &[(Row, Row)], rounds: usize) {
    println!(
        "\n{name} / tokio (< 1.0: {name} lower; for round trips/s > 1.0 means {name} faster)\n"
    );
    println!("| conns | msg | round trips/s | p50 | p99 | server CPU/rt |");
    println!("|---|---|---|---|---|---|");
    let ratios = |(a, t): &(Row, Row)| -> [f64; 4] {
        let q = |r: &Row, q: f64| r.hist.quantile(q).map_or(f64::NAN, |d| d.as_secs_f64());
        [
            a.rate() / t.rate().max(1e-9),
            q(a, 0.5) / q(t, 0.5),
            q(a, 0.99) / q(t, 0.99),
            a.per_rt(a.server_cpu) / t.per_rt(t.server_cpu),
        ]
    };
    let line = |conns: usize, size: usize, r: [f64; 4]| {
        println!(
            "| {conns} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            size_label(size),
            r[0],
            r[1],
            r[2],
            r[3]
        );
    };
    for p in pairs {
        line(p.0.conns, p.0.size, ratios(p));
    }
    if rounds > 1 {
        println!("\n{name} / tokio, median over {rounds} rounds\n");
        println!("| conns | msg | round trips/s | p50 | p99 | server CPU/rt |");
        println!("|---|---|---|---|---|---|");
        let per_round = pairs.len() / rounds;
        for c in 0..per_round {
            let mut cols: [Vec<f64>; 4] = Default::default();
            for p in pairs.iter().skip(c).step_by(per_round) {
                for (col, v) in cols.iter_mut().zip(ratios(p)) {
                    col.push(v);
                }
            }
            line(pairs[c].0.conns, pairs[c].0.size, cols.map(median));
        }
    }
    println!();
}

/// The cases kept by `AIO_NET_BENCH_CASES` (`100x64,1x16384,accept`);
/// all if unset.
struct CaseFilter {
    echo: Option<Vec<(usize, usize)>>,
    /// The accept-rate table.
    accept: bool,
}

impl CaseFilter {
    fn from_env() -> CaseFilter {
        let Ok(spec) = std::env::var("AIO_NET_BENCH_CASES") else {
            return CaseFilter {
                echo: None,
                accept: true,
            };
        };
        let accept = spec.split(',').any(|c| c.trim() == "accept");
        let cases = spec
            .split(',')
            .filter(|c| c.trim() != "accept")
            .map(|c| {
                c.trim()
                    .split_once('x')
                    .and_then(|(n, b)| Some((n.parse().ok()?, b.parse().ok()?)))
                    .unwrap_or_else(|| {
                        panic!(
                            "AIO_NET_BENCH_CASES: `{c}` is not CONNSxBYTES (e.g. 100x64) or accept"
                        )
                    })
            })
            .collect();
        CaseFilter {
            echo: Some(cases),
            accept,
        }
    }

    fn keeps(&self, conns: usize, size: usize) -> bool {
        self.echo
            .as_ref()
            .is_none_or(|v| v.contains(&(conns, size)))
    }
}

/// Concurrent connect loops of the accept-rate table.
const ACCEPT_CLIENTS: usize = 8;

/// One fixed-duration accept-rate run: `ACCEPT_CLIENTS` tasks each connect,
/// read the server's close (end of stream), repeat. Returns (connections,
/// window, server CPU, enters).
fn accept_run(
    rt: &tokio::runtime::Runtime,
    server: &mut ServerProc,
    timing: Timing,
) -> (u64, Duration, Duration, Option<u64>) {
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let addr = server.addr;
    let tasks: Vec<_> = (0..ACCEPT_CLIENTS)
        .map(|_| {
            let phase = phase.clone();
            rt.spawn(async move {
                let mut n = 0u64;
                let mut buf = [0u8; 1];
                loop {
                    let mut s = Conn::connect(addr).await.expect("connect");
                    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0, "closed at once");
                    match phase.load(Relaxed) {
                        MEASURE => n += 1,
                        STOP => return n,
                        _ => {}
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(timing.warmup);
    let (cpu0, enters0) = (server.cpu(), server.enters());
    let t0 = Instant::now();
    phase.store(MEASURE, Relaxed);
    std::thread::sleep(timing.window);
    phase.store(STOP, Relaxed);
    let window = t0.elapsed();
    let (cpu1, enters1) = (server.cpu(), server.enters());
    let conns = rt.block_on(async {
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("client task");
        }
        total
    });
    (
        conns,
        window,
        cpu1.saturating_sub(cpu0),
        enters0.zip(enters1).map(|(a, b)| b - a),
    )
}

/// The accept-rate table: aio's one-shot `accept`, aio's multishot
/// `incoming` and tokio's `accept`, in rotating order per round.
fn accept_table(rt: &tokio::runtime::Runtime, timing: Timing, rounds: usize) {
    let mut servers = [
        ServerProc::spawn("aio-accept"),
        ServerProc::spawn("aio-incoming"),
        ServerProc::spawn("tokio-accept"),
    ];
    println!(
        "\naccept rate: {ACCEPT_CLIENTS} clients connect, the server accepts and closes; \
         {} ms per row; load average {}\n",
        timing.window.as_millis(),
        load_average()
    );
    println!("| round | server | connections/s | server CPU µs/conn | io_uring_enter/conn |");
    println!("|---|---|---|---|---|");
    let mut rates = vec![Vec::new(); servers.len()];
    for round in 0..rounds {
        for k in 0..servers.len() {
            let i = (k + round) % servers.len();
            let (n, window, cpu, enters) = accept_run(rt, &mut servers[i], timing);
            let rate = n as f64 / window.as_secs_f64();
            rates[i].push(rate);
            println!(
                "| {round} | {} | {rate:.0} | {:.1} | {} |",
                servers[i].name,
                cpu.as_secs_f64() * 1e6 / n.max(1) as f64,
                enters.map_or("—".into(), |e| format!(
                    "{:.2}",
                    e as f64 / n.max(1) as f64
                )),
            );
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m: Vec<f64> = rates.iter_mut().map(median).collect();
    println!(
        "\nmedian connections/s: aio accept {:.0}, aio incoming {:.0}, tokio {:.0}; \
         incoming / accept {:.2}, incoming / tokio {:.2}\n",
        m[0],
        m[1],
        m[2],
        m[1] / m[0],
        m[1] / m[2]
    );
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
    servers: &[ServerProc; 4],
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
            "aio" => aio_server(aio::runtime::Driver::IoUring),
            "aio-epoll" => aio_server(aio::runtime::Driver::Epoll),
            "tokio" => tokio_server(),
            "raw-uring" => net_raw::raw_uring_server(),
            "aio-accept" => aio_accept_server(false),
            "aio-incoming" => aio_accept_server(true),
            "tokio-accept" => tokio_accept_server(),
            other => {
                panic!("{SERVER_ENV}={other}: expected one of {SERVERS:?} or an accept server")
            }
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
    let timing = match std::env::var("AIO_NET_BENCH_SECS") {
        Ok(s) => Timing {
            window: Duration::from_secs_f64(s.parse().expect("AIO_NET_BENCH_SECS: seconds")),
            ..timing
        },
        Err(_) => timing,
    };
    let rounds = std::env::var("AIO_NET_BENCH_ROUNDS")
        .map_or(1, |r| r.parse().expect("AIO_NET_BENCH_ROUNDS: a count"));
    let filter = CaseFilter::from_env();
    let mut servers = SERVERS.map(ServerProc::spawn);
    let rt = client_runtime();
    if which != "criterion" {
        table(&rt, &mut servers, timing, &filter, rounds);
        if filter.accept {
            accept_table(&rt, timing, rounds.max(3));
        }
    }
    if which != "table" {
        let mut c = Criterion::default().configure_from_args();
        criterion_groups(&mut c, &rt, &servers, quick);
        c.final_summary();
    }
}
