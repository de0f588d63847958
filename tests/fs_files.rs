//! Files on every flavor: a round trip through every way of reading and
//! writing, a 1 GiB sequential copy, 10,000 small files, errors that name
//! the path (ENOENT, EACCES, EISDIR), the directory functions, and the
//! futures-io traits.

mod common;

use aio::fs::{File, OpenOptions};
use common::on_all_flavors;
use futures::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use std::io::SeekFrom;
use std::path::{Path, PathBuf};

/// A fresh scratch directory with at least `need` bytes free, removed on
/// drop: the system's temp dir if it has room to spare, else `/dev/shm`
/// (a nearly full disk is not ours to fill).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str, need: u64) -> Scratch {
        let candidates = [
            std::env::var_os("AIO_TEST_TMPDIR").map(PathBuf::from),
            Some(std::env::temp_dir()),
            Some(PathBuf::from("/dev/shm")),
        ];
        let base = candidates
            .into_iter()
            .flatten()
            .find(|d| free_bytes(d) >= need + (1 << 30))
            .unwrap_or_else(|| panic!("no scratch directory with {need} bytes free"));
        let dir = base.join(format!("aio-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

#[test]
fn a_file_round_trips() {
    let dir = Scratch::new("round-trip", 1 << 20);
    on_all_flavors(|flavor| {
        let path = dir.path(&format!("{flavor:?}"));
        async move {
            // write_all at the position, then positional writes.
            let mut f = File::create(&path).await.unwrap();
            let (res, buf) = f.write_all(b"hello, ".to_vec()).await;
            res.unwrap();
            assert_eq!(buf, b"hello, ", "the buffer comes back");
            f.write_all(String::from("world")).await.0.unwrap();
            f.write_all_at(b"HELLO".to_vec(), 0).await.0.unwrap();
            f.sync_all().await.unwrap();
            f.sync_data().await.unwrap();
            assert_eq!(f.metadata().await.unwrap().len(), 12);
            f.close().await.unwrap();

            // Every way of reading it back.
            assert_eq!(aio::fs::read(&path).await.unwrap(), b"HELLO, world");
            assert_eq!(
                aio::fs::read_to_string(&path).await.unwrap(),
                "HELLO, world"
            );
            let mut f = File::open(&path).await.unwrap();
            let (n, buf) = f.read_at(vec![0; 5], 7).await;
            assert_eq!(&buf[..n.unwrap()], b"world");
            let (n, buf) = f.read(Vec::with_capacity(5)).await;
            assert_eq!(&buf[..n.unwrap()], b"HELLO");
            let (n, buf) = f.read_to_end(Vec::new()).await;
            assert_eq!(&buf[..n.unwrap()], b", world");
            let (n, _) = f.read(vec![0; 8]).await;
            assert_eq!(n.unwrap(), 0, "at the end");
            let (res, buf) = f.read_exact_at(Vec::with_capacity(12), 0).await;
            res.unwrap();
            assert_eq!(buf, b"HELLO, world");

            // set_len, append, create_new.
            let f = OpenOptions::new().write(true).open(&path).await.unwrap();
            f.set_len(5).await.unwrap();
            let mut f = OpenOptions::new().append(true).open(&path).await.unwrap();
            f.write_all("!".to_string()).await.0.unwrap();
            assert_eq!(aio::fs::read(&path).await.unwrap(), b"HELLO!");
            let err = File::create_new(&path).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
            aio::fs::remove_file(&path).await.unwrap();
        }
    });
}

#[test]
fn a_1_gib_file_is_copied_sequentially() {
    const GIB: usize = 1 << 30;
    const CHUNK: usize = 1 << 20;
    let dir = Scratch::new("copy", 2 * GIB as u64);
    // The source, written once with std: every chunk different, so a lost
    // or misordered chunk shows.
    let src = dir.path("src");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).unwrap());
        let mut chunk = vec![0u8; CHUNK];
        for i in 0..GIB / CHUNK {
            chunk
                .iter_mut()
                .enumerate()
                .for_each(|(j, b)| *b = (i * 7 + j) as u8);
            chunk[..8].copy_from_slice(&(i as u64).to_le_bytes());
            f.write_all(&chunk).unwrap();
        }
    }
    on_all_flavors(|_| {
        let (src, dst) = (src.clone(), dir.path("dst"));
        async move {
            let mut from = File::open(&src).await.unwrap();
            let mut to = File::create(&dst).await.unwrap();
            let mut buf = Vec::with_capacity(CHUNK);
            let mut total = 0;
            loop {
                buf.clear();
                let (n, b) = from.read(buf).await;
                let n = n.unwrap();
                if n == 0 {
                    break;
                }
                let (res, b) = to.write_all(b).await;
                res.unwrap();
                buf = b;
                total += n;
            }
            to.sync_data().await.unwrap();
            assert_eq!(total, GIB);
            assert_eq!(to.metadata().await.unwrap().len(), GIB as u64);
            drop((from, to));
            // Compare chunk by chunk, positionally, both files at once.
            let (a, b) = (
                File::open(&src).await.unwrap(),
                File::open(&dst).await.unwrap(),
            );
            let (mut ba, mut bb) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
            for i in 0..GIB / CHUNK {
                let at = (i * CHUNK) as u64;
                let ((ra, xa), (rb, xb)) =
                    aio::gather!(a.read_exact_at(ba, at), b.read_exact_at(bb, at)).await;
                ra.unwrap();
                rb.unwrap();
                assert!(xa == xb, "chunk {i} differs");
                (ba, bb) = (xa, xb);
            }
            aio::fs::remove_file(&dst).await.unwrap();
        }
    });
}

#[test]
fn ten_thousand_small_files() {
    const N: usize = 10_000;
    let dir = Scratch::new("small", 200 << 20);
    on_all_flavors(|flavor| {
        let root = dir.path(&format!("{flavor:?}"));
        async move {
            aio::fs::create_dir_all(&root).await.unwrap();
            let content = |i: usize| format!("file {i}\n").repeat(1 + i % 50);
            // Written and read back concurrently, 256 at a time.
            for batch in (0..N).collect::<Vec<_>>().chunks(256) {
                let tasks: Vec<_> = batch
                    .iter()
                    .map(|&i| {
                        let path = root.join(i.to_string());
                        let data = content(i);
                        aio::spawn(async move { aio::fs::write(path, data).await.unwrap() })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
            for batch in (0..N).collect::<Vec<_>>().chunks(256) {
                let tasks: Vec<_> = batch
                    .iter()
                    .map(|&i| {
                        let path = root.join(i.to_string());
                        aio::spawn(async move {
                            let got = aio::fs::read(&path).await.unwrap();
                            aio::fs::remove_file(&path).await.unwrap();
                            (i, got)
                        })
                    })
                    .collect();
                for t in tasks {
                    let (i, got) = t.await.unwrap();
                    assert_eq!(got, content(i).as_bytes(), "file {i}");
                }
            }
            aio::fs::remove_dir(&root).await.unwrap();
        }
    });
}

/// The message names the path, the kind and the OS code are kept.
fn assert_names(err: &std::io::Error, path: &Path, kind: std::io::ErrorKind, code: i32) {
    use std::error::Error;
    assert_eq!(err.kind(), kind, "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "the message names the path: {err}"
    );
    let os = err
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(os.and_then(|e| e.raw_os_error()), Some(code), "{err:?}");
}

#[test]
fn enoent_and_eisdir_name_the_path() {
    let dir = Scratch::new("errors", 1 << 20);
    on_all_flavors(|_| {
        let missing = dir.path("missing/file");
        let a_dir = dir.0.clone();
        async move {
            use std::io::ErrorKind::*;
            let err = File::open(&missing).await.unwrap_err();
            assert_names(&err, &missing, NotFound, libc::ENOENT);
            assert!(err.to_string().starts_with("open "), "{err}");
            let err = aio::fs::read(&missing).await.unwrap_err();
            assert_names(&err, &missing, NotFound, libc::ENOENT);
            let err = aio::fs::metadata(&missing).await.unwrap_err();
            assert_names(&err, &missing, NotFound, libc::ENOENT);
            let err = aio::fs::remove_file(&missing).await.unwrap_err();
            assert_names(&err, &missing, NotFound, libc::ENOENT);
            let err = aio::fs::write(&missing, "x").await.unwrap_err();
            assert_names(&err, &missing, NotFound, libc::ENOENT);
            let err = aio::fs::rename(&missing, &a_dir.join("x"))
                .await
                .unwrap_err();
            assert_names(&err, &missing, NotFound, libc::ENOENT);
            // A directory opened for writing: EISDIR, even as root.
            let err = File::create(&a_dir).await.unwrap_err();
            assert_names(&err, &a_dir, IsADirectory, libc::EISDIR);
            let err = aio::fs::create_dir(&a_dir).await.unwrap_err();
            assert_names(&err, &a_dir, AlreadyExists, libc::EEXIST);
        }
    });
}

/// EACCES needs a user without CAP_DAC_OVERRIDE: as root, the check runs
/// in a child process (this test binary, filtered to this test) that
/// drops to the `nobody` user first.
#[test]
fn eacces_names_the_path() {
    if let Some(path) = std::env::var_os("AIO_EACCES_PATH") {
        let path = PathBuf::from(path);
        // SAFETY: plain syscall.
        let euid = unsafe { libc::geteuid() };
        assert_ne!(euid, 0, "the check needs a non-root user");
        on_all_flavors(|_| {
            let path = path.clone();
            async move {
                let err = File::open(&path).await.unwrap_err();
                assert_names(
                    &err,
                    &path,
                    std::io::ErrorKind::PermissionDenied,
                    libc::EACCES,
                );
                let err = aio::fs::read(&path).await.unwrap_err();
                assert_names(
                    &err,
                    &path,
                    std::io::ErrorKind::PermissionDenied,
                    libc::EACCES,
                );
                let err = aio::fs::write(&path, "x").await.unwrap_err();
                assert_names(
                    &err,
                    &path,
                    std::io::ErrorKind::PermissionDenied,
                    libc::EACCES,
                );
            }
        });
        return;
    }
    let dir = Scratch::new("eacces", 1 << 20);
    let path = dir.path("secret");
    std::fs::write(&path, "x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["eacces_names_the_path", "--exact", "--test-threads=1"])
        .env("AIO_EACCES_PATH", &path);
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } == 0 {
        use std::os::unix::process::CommandExt;
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "the check as another user failed: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn directories_and_metadata() {
    let dir = Scratch::new("dirs", 1 << 20);
    on_all_flavors(|flavor| {
        let root = dir.path(&format!("{flavor:?}"));
        async move {
            let deep = root.join("a/b/c");
            aio::fs::create_dir_all(&deep).await.unwrap();
            aio::fs::create_dir_all(&deep).await.unwrap(); // exists: fine
            assert!(aio::fs::metadata(&deep).await.unwrap().is_dir());
            aio::fs::write(deep.join("f"), vec![1u8; 3000])
                .await
                .unwrap();
            let m = aio::fs::metadata(deep.join("f")).await.unwrap();
            assert!(m.is_file() && !m.is_dir());
            assert_eq!(m.len(), 3000);
            assert!(m.modified().unwrap() <= std::time::SystemTime::now());
            // A file in the way of create_dir_all.
            let err = aio::fs::create_dir_all(deep.join("f/g")).await.unwrap_err();
            assert!(
                err.to_string().contains("f/g") || err.to_string().contains("/f"),
                "{err}"
            );
            aio::fs::rename(deep.join("f"), root.join("g"))
                .await
                .unwrap();
            std::os::unix::fs::symlink(root.join("g"), root.join("link")).unwrap();
            assert!(aio::fs::symlink_metadata(root.join("link"))
                .await
                .unwrap()
                .is_symlink());
            assert!(aio::fs::metadata(root.join("link"))
                .await
                .unwrap()
                .is_file());
            let err = aio::fs::remove_dir(root.join("a")).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::DirectoryNotEmpty);
            for d in ["a/b/c", "a/b", "a"] {
                aio::fs::remove_dir(root.join(d)).await.unwrap();
            }
            aio::fs::remove_file(root.join("g")).await.unwrap();
            aio::fs::remove_file(root.join("link")).await.unwrap();
            aio::fs::remove_dir(&root).await.unwrap();
        }
    });
}

#[test]
fn a_file_through_futures_io() {
    let dir = Scratch::new("compat", 1 << 20);
    on_all_flavors(|flavor| {
        let path = dir.path(&format!("{flavor:?}"));
        async move {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            for i in 0..1000 {
                AsyncWriteExt::write_all(&mut f, format!("{i:04}\n").as_bytes())
                    .await
                    .unwrap();
            }
            AsyncWriteExt::flush(&mut f).await.unwrap();
            assert_eq!(
                AsyncSeekExt::seek(&mut f, SeekFrom::Start(5))
                    .await
                    .unwrap(),
                5
            );
            let mut line = [0u8; 5];
            AsyncReadExt::read_exact(&mut f, &mut line).await.unwrap();
            assert_eq!(&line, b"0001\n");
            // The adapter read ahead; an owned-buffer read after it
            // continues where the trait left off.
            let (n, buf) = f.read(vec![0; 5]).await;
            assert_eq!(&buf[..n.unwrap()], b"0002\n");
            let mut rest = String::new();
            AsyncReadExt::read_to_string(&mut f, &mut rest)
                .await
                .unwrap();
            assert_eq!(rest.len(), 997 * 5);
            assert!(rest.starts_with("0003\n") && rest.ends_with("0999\n"));
            // Writing through the trait after reading: at the position.
            AsyncSeekExt::seek(&mut f, SeekFrom::Start(0))
                .await
                .unwrap();
            AsyncWriteExt::write_all(&mut f, b"XXXX").await.unwrap();
            AsyncWriteExt::close(&mut f).await.unwrap();
            let all = aio::fs::read(&path).await.unwrap();
            assert!(all.starts_with(b"XXXX\n0001\n"));
            assert_eq!(all.len(), 5000);
        }
    });
}

#[test]
fn a_file_through_tokio_io() {
    let dir = Scratch::new("tokio-compat", 1 << 20);
    on_all_flavors(|flavor| {
        let path = dir.path(&format!("{flavor:?}"));
        async move {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut f, b"tokio says hi")
                .await
                .unwrap();
            tokio::io::AsyncWriteExt::flush(&mut f).await.unwrap();
            assert_eq!(f.seek(SeekFrom::Start(6)).await.unwrap(), 6);
            let mut s = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut f, &mut s)
                .await
                .unwrap();
            assert_eq!(s, "says hi");
            tokio::io::AsyncSeekExt::seek(&mut f, SeekFrom::End(-2))
                .await
                .unwrap();
            let mut two = [0u8; 2];
            tokio::io::AsyncReadExt::read_exact(&mut f, &mut two)
                .await
                .unwrap();
            assert_eq!(&two, b"hi");
            tokio::io::AsyncWriteExt::shutdown(&mut f).await.unwrap();
        }
    });
}

/// Polls `f` once (a ring gets its SQE) and drops it.
fn poll_once_then_drop<F: std::future::Future>(f: F) {
    let mut f = std::pin::pin!(f);
    let _ = f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
}

/// A read or write at the position dropped after the kernel got it does
/// not move the position after the caller's next seek: it either never
/// ran or ran before (it ran after the seek: the next read started at 4,
/// the dropped write landed at 0).
#[test]
fn a_dropped_read_or_write_does_not_move_the_position_after_a_seek() {
    let dir = Scratch::new("dropped-at-pos", 1 << 20);
    on_all_flavors(|flavor| {
        let path = dir.path(&format!("{flavor:?}"));
        async move {
            aio::fs::write(&path, b"0123456789".to_vec()).await.unwrap();
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .await
                .unwrap();
            poll_once_then_drop(f.read(vec![0; 4]));
            assert_eq!(f.seek(SeekFrom::Start(0)).await.unwrap(), 0);
            let (n, b) = f.read(vec![0; 4]).await;
            assert_eq!(&b[..n.unwrap()], b"0123");

            poll_once_then_drop(f.write(b"AAAA".to_vec()));
            assert_eq!(f.seek(SeekFrom::Start(0)).await.unwrap(), 0);
            f.write_all(b"BB".to_vec()).await.0.unwrap();
            assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 2);
            let all = aio::fs::read(&path).await.unwrap();
            assert!(
                all == b"BB23AAAA89" || all == b"BB23456789",
                "{:?}",
                String::from_utf8_lossy(&all)
            );

            // And a dropped read_to_end, before a read of the same bytes.
            poll_once_then_drop(f.read_to_end(Vec::new()));
            f.seek(SeekFrom::Start(8)).await.unwrap();
            let (n, b) = f.read(vec![0; 4]).await;
            assert_eq!(&b[..n.unwrap()], b"89");
        }
    });
}

/// A sync or truncate while bytes written through `AsyncWrite` wait
/// unflushed says so (it silently went before them).
#[test]
fn sync_and_set_len_refuse_to_pass_unflushed_trait_writes() {
    let dir = Scratch::new("unflushed", 1 << 20);
    on_all_flavors(|flavor| {
        let path = dir.path(&format!("{flavor:?}"));
        async move {
            let mut f = File::create(&path).await.unwrap();
            AsyncWriteExt::write_all(&mut f, &vec![1u8; 100_000])
                .await
                .unwrap();
            // On a ring the write is still in flight here; on epoll it may
            // have gone inline (a write to the page cache with
            // RWF_NOWAIT), and then there is nothing to refuse.
            let ring = aio::runtime::Handle::current().driver() == aio::runtime::Driver::IoUring;
            for res in [f.set_len(10).await, f.sync_all().await] {
                match res {
                    Err(e) => assert!(e.to_string().contains("flush"), "{e}"),
                    Ok(()) => assert!(!ring, "a sync or truncate passed unflushed bytes"),
                }
            }
            AsyncWriteExt::flush(&mut f).await.unwrap();
            f.set_len(10).await.unwrap();
            f.sync_data().await.unwrap();
            assert_eq!(f.metadata().await.unwrap().len(), 10);
        }
    });
}

/// Tasks that wait at once for a dropped op at the position (`sync_all`
/// and `set_len` take `&self`) are all woken when it is done (the op kept
/// one waker: the others waited forever).
#[test]
fn several_tasks_waiting_for_a_dropped_op_are_all_woken() {
    let dir = Scratch::new("orphan-waiters", 1 << 20);
    on_all_flavors(|flavor| {
        let path = dir.path(&format!("{flavor:?}"));
        async move {
            let mut f = File::create(&path).await.unwrap();
            poll_once_then_drop(f.write(vec![7u8; 4096]));
            let f = std::sync::Arc::new(f);
            let (a, b) = (f.clone(), f.clone());
            let x = aio::spawn(async move { a.sync_all().await });
            let y = aio::spawn(async move { b.set_len(10).await });
            let both = aio::gather!(x, y);
            let (x, y) = aio::wait_for(both, std::time::Duration::from_secs(30))
                .await
                .expect("both waiters woken");
            x.unwrap().unwrap();
            y.unwrap().unwrap();
        }
    });
}

/// On a file with no position (a socket, a pipe, a device), a dropped read
/// is not kept: on epoll it is a blocking `read(2)` on the pool that no
/// cancel interrupts, and a write after it must not wait for it.
#[test]
fn a_dropped_read_of_a_socket_file_does_not_hold_up_a_write() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut f = File::from_std(std::fs::File::from(std::os::fd::OwnedFd::from(a)));
    let rt = aio::runtime::Builder::new_current_thread()
        .driver(aio::runtime::Driver::Epoll)
        .build()
        .unwrap();
    rt.block_on(async {
        let quiet = std::time::Duration::from_millis(20);
        assert!(aio::wait_for(f.read(vec![0; 8]), quiet).await.is_err());
        let write = f.write_all(b"x".to_vec());
        let (res, _) = aio::wait_for(write, std::time::Duration::from_secs(30))
            .await
            .expect("the write is not held up by the dropped read");
        res.unwrap();
    });
    let mut got = [0u8; 1];
    std::io::Read::read_exact(&mut &b, &mut got).unwrap();
    assert_eq!(&got, b"x");
    drop(b); // ends the pool's read
}
