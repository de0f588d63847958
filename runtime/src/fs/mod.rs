//! Files on io_uring: [`File`], [`OpenOptions`], and the path functions
//! (`read`, `write`, `remove_file`, `rename`, `create_dir_all`,
//! `metadata`, …), as in `tokio::fs` and `std::fs`.
//!
//! On the io_uring driver every operation is a ring op (`openat`,
//! `read`, `write`, `statx`, `fsync`, `unlinkat`, `renameat`, `mkdirat`,
//! `ftruncate` where the kernel has it): no thread pool, and reads and
//! writes go straight to and from the caller's owned buffer. On the epoll
//! driver, which cannot wait on regular files, each operation runs on the
//! blocking pool, as `tokio::fs` does (`write` and `create_dir_all` as one
//! job each, the rest one job per syscall) — except reads and opens that
//! the kernel can answer from its caches without waiting
//! (`preadv2(RWF_NOWAIT)`, `openat2(RESOLVE_CACHED)`), which run inline,
//! as a ring runs them inline before it hands an op to its workers.
//!
//! Errors are `std::io::Error`s whose message names the operation and the
//! path (`open /x/y: No such file or directory (os error 2)`), with the
//! OS error's kind; the OS error itself is their `source()` (see
//! [`PathError`]).
//!
//! Called by users; calls the ops (`io::ops`) and the blocking pool.
//!
//! # Examples
//!
//! ```
//! # aio::run(async {
//! let dir = std::env::temp_dir().join(format!("aio-doc-fs-{}", std::process::id()));
//! aio::fs::create_dir_all(dir.join("a/b")).await?;
//! aio::fs::write(dir.join("a/b/hello.txt"), "hello").await?;
//! aio::fs::rename(dir.join("a/b/hello.txt"), dir.join("a/hi.txt")).await?;
//! assert_eq!(aio::fs::read_to_string(dir.join("a/hi.txt")).await?, "hello");
//! aio::fs::remove_file(dir.join("a/hi.txt")).await?;
//! aio::fs::remove_dir(dir.join("a/b")).await?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(()) }).unwrap();
//! ```

mod compat;
mod cursor;
mod error;
mod file;
mod metadata;
mod options;
mod read_to_end;

pub use error::PathError;
pub use file::File;
pub use metadata::{FileType, Metadata};
pub use options::OpenOptions;

use crate::io::{ops, IoBuf};
use error::with_path;
use std::ffi::CString;
use std::future::poll_fn;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `path` for the kernel.
pub(crate) fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        with_path(
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "file name contained an unexpected NUL byte",
            ),
            "open",
            path,
        )
    })
}

/// Whether file work on this thread goes to the blocking pool (the epoll
/// driver cannot wait on regular files).
fn on_pool() -> bool {
    matches!(crate::io::driver_kind(), Some(crate::rt::Driver::Epoll))
}

/// Runs `f` on the blocking pool. A dropped future lets a started job
/// finish (its result is dropped) and cancels one not started yet.
async fn blocking<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    struct CancelOnDrop<T>(crate::task::Task<T>);
    impl<T> Drop for CancelOnDrop<T> {
        fn drop(&mut self) {
            if !self.0.is_done() {
                self.0.cancel();
            }
        }
    }
    let mut job = CancelOnDrop(crate::task::spawn_blocking(f));
    match poll_fn(|cx| job.0.poll_output(Some(cx.waker()))).await {
        Ok(r) => r,
        Err(e) => match e.try_into_panic() {
            Ok(p) => std::panic::resume_unwind(p),
            Err(_) => Err(io::Error::other(
                "aio: the runtime shut down before the file operation ran",
            )),
        },
    }
}

/// Reads the whole file at `path` (`std::fs::read`).
///
/// # Errors
/// The OS error of the open or a read, naming the path
/// (`read /x: No such file or directory (os error 2)`).
///
/// # Cancel safety
/// Dropping the future loses what was read; the file is closed.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let stat = aio::fs::read("/proc/self/stat").await?;
/// assert!(stat.ends_with(b"\n"));
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    // On epoll too: its open and read try the page cache inline first
    // (`RESOLVE_CACHED`, `RWF_NOWAIT`), and go to the pool only if that
    // would block.
    let c = cstr(path)?;
    let fd = ops::open(c, libc::O_RDONLY, 0)
        .await
        .map_err(|e| with_path(e, "read", path))?;
    let fd = crate::io::SharedFd::new(fd);
    // The fd is this call's own: a read dropped in flight needs no keeping.
    let (res, buf) =
        read_to_end::read_to_end(&fd, Vec::new(), &mut Default::default(), false).await;
    res.map_err(|e| with_path(e, "read", path))?;
    Ok(buf)
}

/// Reads the whole file at `path` as UTF-8 (`std::fs::read_to_string`).
///
/// # Errors
/// As [`read`], and `InvalidData` if the file is not UTF-8.
///
/// # Cancel safety
/// As [`read`].
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let s = aio::fs::read_to_string("/proc/self/status").await?;
/// assert!(s.starts_with("Name:"));
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref();
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|_| {
        with_path(
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ),
            "read",
            path,
        )
    })
}

/// Writes `contents` to the file at `path`, creating it or replacing its
/// contents (`std::fs::write`). `contents` is an owned buffer (`Vec<u8>`,
/// `String`, `&'static str`, …) that the kernel reads in place.
///
/// # Errors
/// The OS error of the open or a write, naming the path.
///
/// # Cancel safety
/// Dropping the future may leave the file created and partly written.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let path = std::env::temp_dir().join(format!("aio-doc-write-fn-{}", std::process::id()));
/// aio::fs::write(&path, format!("{} bytes", 7)).await?;
/// assert_eq!(aio::fs::read(&path).await?, b"7 bytes");
/// # aio::fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl IoBuf) -> io::Result<()> {
    let path = path.as_ref();
    if on_pool() {
        let owned = path.to_path_buf();
        return blocking(move || {
            // SAFETY: IoBuf promises `bytes_init()` initialized bytes at
            // `stable_ptr()`, and `contents` is not touched meanwhile.
            let data =
                unsafe { std::slice::from_raw_parts(contents.stable_ptr(), contents.bytes_init()) };
            std::fs::write(owned, data)
        })
        .await
        .map_err(|e| with_path(e, "write", path));
    }
    let c = cstr(path)?;
    let fd = ops::open(c, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o666)
        .await
        .map_err(|e| with_path(e, "write", path))?;
    let fd = crate::io::SharedFd::new(fd);
    let mut buf = contents;
    let mut done = 0;
    while done < buf.bytes_init() {
        let (res, b) = ops::write_at(&fd, buf, done, ops::CURRENT_POS).await;
        buf = b;
        match res {
            Ok(0) => return Err(with_path(io::ErrorKind::WriteZero.into(), "write", path)),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(with_path(e, "write", path)),
        }
    }
    Ok(())
}

/// Removes the file at `path` (`unlink`).
///
/// # Errors
/// The OS error, naming the path (`IsADirectory` for a directory: see
/// [`remove_dir`]).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let err = aio::fs::remove_file("/no/such/file").await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// # });
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    ops::unlink(cstr(path)?, false)
        .await
        .map_err(|e| with_path(e, "remove", path))
}

/// Removes the empty directory at `path` (`rmdir`).
///
/// # Errors
/// The OS error, naming the path (`DirectoryNotEmpty`, …).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let dir = std::env::temp_dir().join(format!("aio-doc-rmdir-{}", std::process::id()));
/// aio::fs::create_dir(&dir).await?;
/// aio::fs::remove_dir(&dir).await?;
/// assert!(aio::fs::metadata(&dir).await.is_err());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    ops::unlink(cstr(path)?, true)
        .await
        .map_err(|e| with_path(e, "remove", path))
}

/// Renames `from` to `to`, replacing `to` if it is a file
/// (`std::fs::rename`).
///
/// # Errors
/// The OS error, naming `from` and `to`.
///
/// # Examples
///
/// See the [module](self) example.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    ops::rename(cstr(from)?, cstr(to)?).await.map_err(|e| {
        let both = format!("{} -> {}", from.display(), to.display());
        with_path(e, "rename", Path::new(&both))
    })
}

/// Creates the directory `path`; its parent must exist
/// (`std::fs::create_dir`).
///
/// # Errors
/// The OS error, naming the path (`AlreadyExists`, `NotFound`, …).
///
/// # Examples
///
/// See [`remove_dir`].
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    ops::mkdir(cstr(path)?, 0o777)
        .await
        .map_err(|e| with_path(e, "create directory", path))
}

/// Creates the directory `path` and every missing parent; an existing
/// directory is fine (`std::fs::create_dir_all`).
///
/// # Errors
/// The OS error of the first directory that could not be created, naming
/// it.
///
/// # Examples
///
/// See the [module](self) example.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    if on_pool() {
        let owned = path.to_path_buf();
        return blocking(move || std::fs::create_dir_all(owned))
            .await
            .map_err(|e| with_path(e, "create directory", path));
    }
    // Create the missing ancestors top-down: find the deepest existing
    // one by walking up, then create each below it.
    let mut missing = Vec::new();
    let mut at = path;
    loop {
        if at.as_os_str().is_empty() {
            break;
        }
        match ops::mkdir(cstr(at)?, 0o777).await {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(at);
                match at.parent() {
                    Some(p) => at = p,
                    None => return Err(with_path(e, "create directory", at)),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Fine if it is a directory (or a link to one).
                match metadata(at).await {
                    Ok(m) if m.is_dir() => break,
                    _ => return Err(with_path(e, "create directory", at)),
                }
            }
            Err(e) => return Err(with_path(e, "create directory", at)),
        }
    }
    for dir in missing.into_iter().rev() {
        match ops::mkdir(cstr(dir)?, 0o777).await {
            Ok(()) => {}
            // Created meanwhile by someone else: fine if a directory.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !metadata(dir).await.is_ok_and(|m| m.is_dir()) {
                    return Err(with_path(e, "create directory", dir));
                }
            }
            Err(e) => return Err(with_path(e, "create directory", dir)),
        }
    }
    Ok(())
}

/// The metadata of `path`, following symbolic links (`stat`).
///
/// # Errors
/// The OS error, naming the path.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let m = aio::fs::metadata("/proc/self/exe").await?;
/// assert!(m.is_file() && m.len() > 0);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref();
    let st = ops::statx_path(cstr(path)?, true)
        .await
        .map_err(|e| with_path(e, "stat", path))?;
    Ok(Metadata::from_statx(st))
}

/// The metadata of `path` itself, not following a symbolic link
/// (`lstat`).
///
/// # Errors
/// The OS error, naming the path.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// assert!(aio::fs::symlink_metadata("/proc/self/exe").await?.is_symlink());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref();
    let st = ops::statx_path(cstr(path)?, false)
        .await
        .map_err(|e| with_path(e, "stat", path))?;
    Ok(Metadata::from_statx(st))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}

    #[test]
    fn files_and_their_futures_are_send_and_sync() {
        let path = Path::new("/dev/null");
        send_sync(&read(path));
        send_sync(&write(path, Vec::new()));
        send_sync(&metadata(path));
        send_sync(&create_dir_all(path));
        send_sync(&OpenOptions::new());
        send_sync(&File::open(path));
        let f = File::from_std(std::fs::File::open(path).unwrap());
        send_sync(&f.read_at(Vec::new(), 0));
        send_sync(&f.write_at(Vec::new(), 0));
        send_sync(&f);
    }
}
