//! An echo server under its own load, printing what its runtime does once
//! a second (`Handle::metrics`): requests, task polls, steals, parks,
//! driver syscalls (`io_uring_enter` or `epoll_wait`) per request, and the
//! queue depths.
//!
//! ```text
//! cargo run --release --example metrics                     # 50 connections, 5 s
//! cargo run --release --example metrics -- --conns 200 --secs 10 --workers 2
//! AIO_DRIVER=epoll cargo run --release --example metrics    # the same on epoll
//! ```
//!
//! The server runs on a multi_thread runtime; the load (connections doing
//! ping-pong with 64-byte messages) on a separate current_thread runtime
//! on its own thread, so the server's metrics count only the server.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aio::io::IoBuf;
use aio::net::{TcpListener, TcpStream};
use aio::runtime::{Builder, RuntimeMetrics};

struct Args {
    conns: usize,
    secs: u64,
    workers: Option<usize>,
}

fn parse_args() -> Args {
    let usage = || -> ! {
        eprintln!("usage: metrics [--conns N] [--secs S] [--workers W]");
        std::process::exit(2)
    };
    let mut a = Args {
        conns: 50,
        secs: 5,
        workers: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--conns" => a.conns = num() as usize,
            "--secs" => a.secs = num(),
            "--workers" => a.workers = Some(num() as usize),
            _ => usage(),
        }
    }
    a
}

/// Echoes until the peer closes, counting requests.
async fn echo(stream: TcpStream, requests: Arc<AtomicU64>) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (n, b) = stream.read(buf).await;
        buf = b;
        let n = n?;
        if n == 0 {
            return Ok(());
        }
        let (res, b) = stream.write_all(buf.slice(..n)).await;
        buf = b.into_inner();
        res?;
        requests.fetch_add(1, Relaxed);
    }
}

/// The load: `conns` connections doing 64-byte ping-pong until `stop`.
fn load(addr: std::net::SocketAddr, conns: usize, stop: Arc<AtomicBool>) -> io::Result<()> {
    Builder::new_current_thread().build()?.block_on(async move {
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let stop = stop.clone();
            tasks.push(aio::spawn(async move {
                let mut buf = vec![0u8; 64];
                while !stop.load(Relaxed) {
                    let (res, b) = s.write_all(vec![b'x'; 64]).await;
                    res?;
                    drop(b);
                    let mut got = 0;
                    while got < 64 {
                        let (n, b) = s.read(buf).await;
                        buf = b;
                        match n? {
                            0 => return Ok::<(), io::Error>(()),
                            n => got += n,
                        }
                    }
                }
                Ok(())
            }));
        }
        for t in tasks {
            t.await.map_err(io::Error::other)??;
        }
        Ok(())
    })
}

/// The sums over workers, and the gauges, at one moment.
#[derive(Clone, Copy, Default)]
struct Snapshot {
    requests: u64,
    polls: u64,
    steals: u64,
    parks: u64,
    enters: u64,
}

fn snapshot(m: &RuntimeMetrics, requests: &AtomicU64) -> Snapshot {
    let mut s = Snapshot {
        requests: requests.load(Relaxed),
        enters: m.enters(),
        ..Default::default()
    };
    for i in 0..m.num_workers() {
        let w = m.worker(i);
        s.polls += w.polls();
        s.steals += w.steals();
        s.parks += w.parks();
    }
    s
}

fn main() -> io::Result<()> {
    let args = parse_args();
    let mut b = Builder::new_multi_thread();
    if let Some(w) = args.workers {
        b.worker_threads(w);
    }
    let rt = b.build()?;
    let m = rt.handle().metrics();
    let requests = Arc::new(AtomicU64::new(0));
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let r = requests.clone();
    let _accept = rt.handle().spawn(async move {
        let mut incoming = listener.incoming().with_backoff();
        loop {
            let Ok(s) = incoming.accept().await else {
                return;
            };
            let _ = s.set_nodelay(true);
            let r = r.clone();
            drop(aio::spawn(async move {
                let _ = echo(s, r).await;
            }));
        }
    });
    println!(
        "echo server on {addr}, {} workers on {}, {} connections of 64-byte ping-pong for {} s",
        m.num_workers(),
        m.driver(),
        args.conns,
        args.secs
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (conns, s) = (args.conns, stop.clone());
    let client = std::thread::spawn(move || load(addr, conns, s));
    println!(
        "{:>4} {:>10} {:>10} {:>7} {:>8} {:>10} {:>9} {:>12} {:>9} {:>6}",
        "s",
        "requests/s",
        "polls/s",
        "steals",
        "parks/s",
        "syscall/rq",
        "injector",
        "local queues",
        "in flight",
        "tasks"
    );
    let start = Instant::now();
    let mut last = snapshot(&m, &requests);
    for sec in 1..=args.secs {
        std::thread::sleep(
            (start + Duration::from_secs(sec)).saturating_duration_since(Instant::now()),
        );
        let now = snapshot(&m, &requests);
        let rq = now.requests - last.requests;
        let queues: Vec<String> = (0..m.num_workers())
            .map(|i| m.worker(i).local_queue_depth().to_string())
            .collect();
        let in_flight: u64 = (0..m.num_workers())
            .map(|i| m.worker(i).ops_in_flight())
            .sum();
        println!(
            "{:>4} {:>10} {:>10} {:>7} {:>8} {:>10.3} {:>9} {:>12} {:>9} {:>6}",
            sec,
            rq,
            now.polls - last.polls,
            now.steals - last.steals,
            now.parks - last.parks,
            (now.enters - last.enters) as f64 / rq.max(1) as f64,
            m.injector_depth(),
            queues.join("/"),
            in_flight,
            m.alive_tasks()
        );
        last = now;
    }
    stop.store(true, Relaxed);
    client.join().expect("the load thread")?;
    Ok(())
}
