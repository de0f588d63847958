//! Plumbing of `benches/net.rs`, kept apart from its workloads: the server
//! child process seen from the bench (spawn, address, CPU time, stats) and
//! from inside the child (announce the address, answer `stats`), a bounded
//! log-linear latency histogram, and CPU time from `/proc`.
//!
//! The control protocol between bench and server child is line-based on
//! the child's stdin/stdout: the child's first stdout line is
//! `listening on ADDR`; each `stats` line on its stdin is answered with
//! `enters N` (io_uring_enter calls so far) or `enters -` (no counter);
//! EOF on its stdin makes it exit, so a bench that dies takes its servers
//! with it.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that turns the bench binary into a server
/// child: one of `net.rs`'s `SERVERS` (`aio`, `aio-epoll`, `tokio`,
/// `raw-uring`) or an accept-rate server.
pub(crate) const SERVER_ENV: &str = "AIO_NET_BENCH_SERVER";

// ------------------------------------------------------------- CPU time

/// Clock ticks per second of `/proc/*/stat` times.
fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions; it reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// CPU time (user + system) of process `pid` (`"self"` for this one),
/// all its live threads: the sum of `/proc/<pid>/task/*/schedstat`'s
/// on-CPU nanoseconds; without schedstat, utime + stime from
/// `/proc/<pid>/stat` (resolution one clock tick, 10 ms). Threads that
/// exited are not counted by the first, so compare deltas over windows in
/// which the process starts and ends no thread.
pub(crate) fn cpu_time(pid: &str) -> Duration {
    schedstat_cpu(pid).unwrap_or_else(|| stat_cpu(pid))
}

fn schedstat_cpu(pid: &str) -> Option<Duration> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        // A thread may exit between read_dir and the read: skip it.
        let Ok(line) = std::fs::read_to_string(path) else {
            continue;
        };
        ns += line.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

fn stat_cpu(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the parenthesised command name: state is [0], utime [11], stime [12].
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_micros(ticks * 1_000_000 / clock_ticks())
}

/// The 1-minute load average, to print beside the figures.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------- the child side

/// Inside a server child: prints the address line, then answers `stats`
/// lines on stdin from a plain thread with `enters()`, and exits the
/// process at EOF on stdin.
pub(crate) fn announce(addr: SocketAddr, enters: impl Fn() -> Option<u64> + Send + 'static) {
    println!("listening on {addr}");
    std::thread::spawn(move || {
        let stdin = io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if line.trim() == "stats" {
                let mut out = io::stdout().lock();
                let _ = match enters() {
                    Some(n) => writeln!(out, "enters {n}"),
                    None => writeln!(out, "enters -"),
                };
                let _ = out.flush();
            }
        }
        std::process::exit(0);
    });
}

// ---------------------------------------------------------- the bench side

/// A server child process: this bench binary re-executed with
/// [`SERVER_ENV`] set.
pub(crate) struct ServerProc {
    /// The server's name (the value of [`SERVER_ENV`]).
    pub(crate) name: &'static str,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ServerProc {
    /// Starts the `name` server and waits for its address.
    pub(crate) fn spawn(name: &'static str) -> ServerProc {
        let exe = std::env::current_exe().expect("current_exe");
        let mut child = Command::new(exe)
            .env(SERVER_ENV, name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the server child");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("server address line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{name} server: unexpected first line {line:?}"));
        ServerProc {
            name,
            addr,
            child,
            stdin,
            stdout,
        }
    }

    /// The child's CPU time so far (all its threads).
    pub(crate) fn cpu(&self) -> Duration {
        cpu_time(&self.child.id().to_string())
    }

    /// The child's io_uring_enter count so far, when it has one.
    pub(crate) fn enters(&mut self) -> Option<u64> {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(b"stats\n").expect("ask stats");
        stdin.flush().expect("ask stats");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("stats line");
        line.trim().strip_prefix("enters ")?.parse().ok()
    }
}

impl Drop for ServerProc {
    /// Closes the child's stdin (it exits at EOF); kills it if it has not
    /// exited within 2 s.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --------------------------------------------------------------- histogram

/// Sub-buckets per power of two: 64, so a recorded value is known to
/// within 1/64 (1.6 %).
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets for every `u64`: 64 exact ones, then 64 per power of two.
const BUCKETS: usize = (SUB as usize) * (64 - SUB_BITS as usize + 1);

/// A log-linear histogram of nanosecond values, fixed size (30 KiB)
/// whatever the number of samples.
#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    pub(crate) fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let e = 63 - v.leading_zeros(); // >= SUB_BITS
        let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
        ((e - SUB_BITS + 1) as u64 * SUB + sub) as usize
    }

    /// The middle of bucket `i`'s range.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < SUB {
            return i;
        }
        let shift = i / SUB - 1;
        let low = (SUB + i % SUB) << shift;
        low + ((1u64 << shift) >> 1)
    }

    pub(crate) fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::index(ns)] += 1;
        self.total += 1;
    }

    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    /// The `q` quantile (0.0–1.0), `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Duration::from_nanos(Self::value(i)));
            }
        }
        unreachable!("rank <= total")
    }
}

/// Checks the bucket arithmetic (run at the start of the bench: a few ms).
pub(crate) fn histogram_self_test() {
    let mut last = 0;
    for v in (0..100_000u64).chain([u64::MAX / 3, u64::MAX]) {
        let i = Histogram::index(v);
        assert!(i >= last && i < BUCKETS, "{v}");
        last = i;
        let mid = Histogram::value(i);
        assert!(mid.abs_diff(v) <= v / 64 + 1, "{v} -> {mid}");
    }
    let mut h = Histogram::new();
    for us in 1..=100 {
        h.record(Duration::from_micros(us));
    }
    let p50 = h.quantile(0.5).unwrap().as_nanos() as f64;
    assert!((p50 / 50_000.0 - 1.0).abs() < 0.02, "{p50}");
}
