//! Errors that name the path: `PathError`, the inner error of every
//! `io::Error` that `aio::fs` returns for a path or a file opened by path.
//!
//! `io::Error::new(kind, inner)` keeps the kind but not the OS error
//! code (`raw_os_error()` is `None` for a custom error), so the original
//! OS error is kept as the inner error's `source()`, which `io::Error`'s
//! own `source()` forwards: the code stays one call away.
//!
//! Called by the rest of `fs`; calls nothing.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The error of a filesystem operation on a path: `"{operation}
/// {path}: {os error}"`, as in `open /tmp/x: No such file or directory
/// (os error 2)`. It is the inner error of the `io::Error`s `aio::fs`
/// returns, whose [`kind`](io::Error::kind) is the OS error's; the OS
/// error itself (with its [`raw_os_error`](io::Error::raw_os_error)) is
/// the `source()`.
///
/// # Examples
///
/// ```
/// use std::error::Error;
/// # aio::run(async {
/// let err = aio::fs::read("/no/such/file").await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().contains("/no/such/file"), "{err}");
/// // The OS error code, through the source.
/// let os = err.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
/// assert_eq!(os.raw_os_error(), Some(libc::ENOENT));
/// // Or through the inner error.
/// let inner = err.get_ref().unwrap().downcast_ref::<aio::fs::PathError>().unwrap();
/// assert_eq!(inner.path(), std::path::Path::new("/no/such/file"));
/// assert_eq!(inner.raw_os_error(), Some(libc::ENOENT));
/// # });
/// ```
#[derive(Debug)]
pub struct PathError {
    operation: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl PathError {
    /// What was done: `open`, `read`, `write`, `stat`, `remove`, …
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let err = aio::fs::remove_file("/no/such").await.unwrap_err();
    /// let inner = err.get_ref().unwrap().downcast_ref::<aio::fs::PathError>().unwrap();
    /// assert_eq!(inner.operation(), "remove");
    /// # });
    /// ```
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The path it was done on.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let err = aio::fs::metadata("/no/such").await.unwrap_err();
    /// let inner = err.get_ref().unwrap().downcast_ref::<aio::fs::PathError>().unwrap();
    /// assert_eq!(inner.path(), std::path::Path::new("/no/such"));
    /// # });
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The OS error code, if the error came from the OS.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let err = aio::fs::File::create("/").await.unwrap_err();
    /// let inner = err.get_ref().unwrap().downcast_ref::<aio::fs::PathError>().unwrap();
    /// assert_eq!(inner.raw_os_error(), Some(libc::EISDIR));
    /// # });
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.operation,
            self.path.display(),
            self.source
        )
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `e`, as an error that names `operation` and `path` (kind kept).
pub(crate) fn with_path(e: io::Error, operation: &'static str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        PathError {
            operation,
            path: path.to_path_buf(),
            source: e,
        },
    )
}

/// `with_path` for an operation on a file that may not know its path.
pub(crate) fn with_file_path(
    e: io::Error,
    operation: &'static str,
    path: Option<&Path>,
) -> io::Error {
    match path {
        Some(p) => with_path(e, operation, p),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_operation_and_the_path_and_keeps_the_code() {
        let e = with_path(
            io::Error::from_raw_os_error(libc::EACCES),
            "open",
            Path::new("/etc/x"),
        );
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let msg = e.to_string();
        assert!(msg.starts_with("open /etc/x: "), "{msg}");
        assert!(msg.contains("os error 13"), "{msg}");
        let os = e.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(os.raw_os_error(), Some(libc::EACCES));
    }
}
