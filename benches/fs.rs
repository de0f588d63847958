//! File benches: `aio::fs` against `tokio::fs`, same workload, same
//! worker count (2), same run.
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench fs                      # aio on io_uring (the default driver)
//! AIO_DRIVER=epoll cargo bench --bench fs     # aio on epoll (files on its blocking pool)
//! AIO_BENCH_DIR=/path cargo bench --bench fs  # where the files go (default: the temp dir
//!                                             # if it has 2 GiB to spare, else /dev/shm)
//! cargo bench --bench fs -- --test            # check that everything runs
//! ```
//!
//! Workloads (files created once, before the groups, and read from the
//! page cache; removed at the end):
//!
//! - `fs_read_10k_4k/{seq,c64}`: read 10,000 files of 4 KiB with
//!   `fs::read` (open, read to the end, close), one after another in one
//!   task (`seq`), or by 64 tasks at once, each taking every 64th file
//!   (`c64`). One iteration = the 10,000 files.
//! - `fs_read_1gib`: open a 1 GiB file and read it to the end, sequentially,
//!   into one reused 1 MiB buffer (aio: `File::read` with the owned
//!   buffer; tokio: `AsyncReadExt::read` into a `&mut [u8]`). One
//!   iteration = the whole file.
//!
//! Each runtime is built once per entry and dropped before the next.

use criterion::{Criterion, SamplingMode, Throughput};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WORKERS: usize = 2;
const SMALL_FILES: usize = 10_000;
const SMALL_SIZE: usize = 4096;
const BIG_SIZE: usize = 1 << 30;
const CHUNK: usize = 1 << 20;
const READERS: usize = 64;

fn free_bytes(dir: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: a valid path and out pointer.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return 0;
        }
        s.f_bavail as u64 * s.f_frsize as u64
    }
}

/// The bench's directory: `AIO_BENCH_DIR`, else the temp dir with 2 GiB
/// to spare, else `/dev/shm`.
fn bench_dir() -> PathBuf {
    let base = std::env::var_os("AIO_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            [std::env::temp_dir(), PathBuf::from("/dev/shm")]
                .into_iter()
                .find(|d| free_bytes(d) >= BIG_SIZE as u64 + (2 << 30))
        })
        .expect("no directory with 3 GiB free: set AIO_BENCH_DIR");
    base.join(format!("aio-bench-fs-{}", std::process::id()))
}

struct Files {
    dir: PathBuf,
    small: Vec<PathBuf>,
    big: PathBuf,
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn create_files() -> Files {
    let dir = bench_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("small")).unwrap();
    let small: Vec<PathBuf> = (0..SMALL_FILES)
        .map(|i| {
            let p = dir.join("small").join(format!("{i:05}"));
            std::fs::write(&p, vec![(i % 251) as u8; SMALL_SIZE]).unwrap();
            p
        })
        .collect();
    let big = dir.join("big");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&big).unwrap();
        let chunk: Vec<u8> = (0..CHUNK).map(|i| (i % 253) as u8).collect();
        for _ in 0..BIG_SIZE / CHUNK {
            f.write_all(&chunk).unwrap();
        }
    }
    // Warm the page cache: both runtimes read cached data.
    for p in &small {
        std::fs::read(p).unwrap();
    }
    std::io::copy(
        &mut std::fs::File::open(&big).unwrap(),
        &mut std::io::sink(),
    )
    .unwrap();
    eprintln!("fs bench files in {}", dir.display());
    Files { dir, small, big }
}

fn aio_rt() -> aio::runtime::Runtime {
    aio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

async fn aio_small_seq(paths: &[PathBuf]) -> usize {
    let mut n = 0;
    for p in paths {
        n += aio::fs::read(p).await.unwrap().len();
    }
    n
}

async fn tokio_small_seq(paths: &[PathBuf]) -> usize {
    let mut n = 0;
    for p in paths {
        n += tokio::fs::read(p).await.unwrap().len();
    }
    n
}

async fn aio_small_concurrent(paths: &std::sync::Arc<Vec<PathBuf>>) -> usize {
    let tasks: Vec<_> = (0..READERS)
        .map(|r| {
            let paths = paths.clone();
            aio::spawn(async move {
                let mut n = 0;
                for p in paths.iter().skip(r).step_by(READERS) {
                    n += aio::fs::read(p).await.unwrap().len();
                }
                n
            })
        })
        .collect();
    let mut n = 0;
    for t in tasks {
        n += t.await.unwrap();
    }
    n
}

async fn tokio_small_concurrent(paths: &std::sync::Arc<Vec<PathBuf>>) -> usize {
    let tasks: Vec<_> = (0..READERS)
        .map(|r| {
            let paths = paths.clone();
            tokio::spawn(async move {
                let mut n = 0;
                for p in paths.iter().skip(r).step_by(READERS) {
                    n += tokio::fs::read(p).await.unwrap().len();
                }
                n
            })
        })
        .collect();
    let mut n = 0;
    for t in tasks {
        n += t.await.unwrap();
    }
    n
}

async fn aio_big(path: &Path, buf: Vec<u8>) -> (usize, Vec<u8>) {
    let mut f = aio::fs::File::open(path).await.unwrap();
    let mut buf = buf;
    let mut total = 0;
    loop {
        let (n, b) = f.read(buf).await;
        buf = b;
        match n.unwrap() {
            0 => return (total, buf),
            n => total += n,
        }
    }
}

async fn tokio_big(path: &Path, buf: &mut [u8]) -> usize {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(path).await.unwrap();
    let mut total = 0;
    loop {
        match f.read(buf).await.unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

fn small_files(c: &mut Criterion, files: &Files) {
    let mut g = c.benchmark_group("fs_read_10k_4k");
    // Flat sampling (the same iteration count in every sample): an
    // iteration is long, and the whole bench stays within ~2 minutes.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(6))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(SMALL_FILES as u64));
    let expect = SMALL_FILES * SMALL_SIZE;
    let paths = std::sync::Arc::new(files.small.clone());
    {
        let rt = aio_rt();
        g.bench_function("seq/aio", |b| {
            b.iter(|| assert_eq!(rt.block_on(aio_small_seq(&paths)), expect))
        });
        g.bench_function("c64/aio", |b| {
            b.iter(|| assert_eq!(rt.block_on(aio_small_concurrent(&paths)), expect))
        });
    }
    {
        let rt = tokio_rt();
        g.bench_function("seq/tokio", |b| {
            b.iter(|| assert_eq!(rt.block_on(tokio_small_seq(&paths)), expect))
        });
        g.bench_function("c64/tokio", |b| {
            b.iter(|| assert_eq!(rt.block_on(tokio_small_concurrent(&paths)), expect))
        });
    }
    g.finish();
}

fn big_file(c: &mut Criterion, files: &Files) {
    let mut g = c.benchmark_group("fs_read_1gib");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Bytes(BIG_SIZE as u64));
    {
        let rt = aio_rt();
        let mut buf = Some(Vec::with_capacity(CHUNK));
        g.bench_function("aio", |b| {
            b.iter(|| {
                let (n, back) = rt.block_on(aio_big(&files.big, buf.take().unwrap()));
                assert_eq!(n, BIG_SIZE);
                buf = Some(back);
            })
        });
    }
    {
        let rt = tokio_rt();
        let mut buf = vec![0u8; CHUNK];
        g.bench_function("tokio", |b| {
            b.iter(|| assert_eq!(rt.block_on(tokio_big(&files.big, &mut buf)), BIG_SIZE))
        });
    }
    g.finish();
}

fn main() {
    let driver = aio_rt().handle().driver();
    eprintln!("aio runs on {driver:?}");
    let files = create_files();
    let mut c = Criterion::default().configure_from_args();
    small_files(&mut c, &files);
    big_file(&mut c, &files);
    c.final_summary();
}
