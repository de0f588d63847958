//! `OpenOptions`: std's builder for how to open a file, opening with
//! `IORING_OP_OPENAT` (on epoll: `openat(2)` on the blocking pool).
//!
//! The flag rules are std's (`library/std/src/sys/fs/unix.rs`): append
//! implies write; truncate, create and create_new need write access;
//! append with truncate is refused.
//!
//! Called by users and `File::{open, create}`; calls the open op.

use super::error::with_path;
use super::{cstr, File};
use crate::io::ops;
use std::io;
use std::path::Path;

/// Options for opening a file (std's `OpenOptions`).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let path = std::env::temp_dir().join(format!("aio-doc-options-{}", std::process::id()));
/// let f = aio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
/// f.write_all_at(b"abc".to_vec(), 0).await.0?;
/// // create_new refuses an existing file.
/// let again = aio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await;
/// assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
/// let mut f = aio::fs::OpenOptions::new().append(true).open(&path).await?;
/// f.write_all(b"def".to_vec()).await.0?;
/// assert_eq!(aio::fs::read(&path).await?, b"abcdef");
/// # aio::fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom_flags: i32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off; a created file gets mode `0o666` (less the umask).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut o = aio::fs::OpenOptions::new();
    /// o.read(true);
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }

    /// Open for reading.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let f = aio::fs::OpenOptions::new().read(true).open("/dev/null").await?;
    /// let (n, _) = f.read_at(vec![0; 8], 0).await;
    /// assert_eq!(n?, 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Open for writing.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let f = aio::fs::OpenOptions::new().write(true).open("/dev/null").await?;
    /// assert_eq!(f.write_at(b"gone".to_vec(), 0).await.0?, 4);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Writes at the file position go to the end of the file (implies
    /// write access).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-opt-{}-{}", std::process::id(), line!()));
    /// aio::fs::write(&path, "a").await?;
    /// let mut f = aio::fs::OpenOptions::new().append(true).open(&path).await?;
    /// f.write_all("b").await.0?;
    /// assert_eq!(aio::fs::read(&path).await?, b"ab");
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncate the file to 0 bytes when opened (needs write access).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-opt-{}-{}", std::process::id(), line!()));
    /// aio::fs::write(&path, "long").await?;
    /// aio::fs::OpenOptions::new().write(true).truncate(true).open(&path).await?;
    /// assert!(aio::fs::read(&path).await?.is_empty());
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Create the file if it does not exist (needs write access).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-opt-{}-{}", std::process::id(), line!()));
    /// aio::fs::OpenOptions::new().write(true).create(true).open(&path).await?;
    /// assert!(aio::fs::metadata(&path).await?.is_file());
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (needs
    /// write access; `create` and `truncate` are then ignored).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-opt-{}-{}", std::process::id(), line!()));
    /// let o = aio::fs::OpenOptions::new().write(true).create_new(true).clone();
    /// o.open(&path).await?;
    /// assert!(o.open(&path).await.is_err());
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// The permission bits of a created file (less the umask).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-opt-{}-{}", std::process::id(), line!()));
    /// use std::os::unix::fs::PermissionsExt;
    /// aio::fs::OpenOptions::new().write(true).create(true).mode(0o600).open(&path).await?;
    /// assert_eq!(aio::fs::metadata(&path).await?.permissions().mode() & 0o777, 0o600);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Extra `open(2)` flags (`O_DIRECT`, `O_NOATIME`, …); the access mode
    /// bits are ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let path = std::env::temp_dir().join(format!("aio-doc-opt-{}-{}", std::process::id(), line!()));
    /// let f = aio::fs::OpenOptions::new().write(true).create(true)
    ///     .custom_flags(libc::O_NOATIME).open(&path).await?;
    /// # drop(f);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }

    /// The `open(2)` flags these options make.
    pub(crate) fn flags(&self) -> io::Result<i32> {
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => {
                return Err(invalid(
                    "neither read, write nor append access was asked for",
                ))
            }
        };
        if !self.write && !self.append && (self.truncate || self.create || self.create_new) {
            return Err(invalid(
                "truncate, create and create_new need write or append access",
            ));
        }
        if self.append && self.truncate && !self.create_new {
            return Err(invalid("append and truncate cannot be asked for together"));
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (false, false, false) => 0,
        };
        Ok(access | creation | (self.custom_flags & !libc::O_ACCMODE))
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    /// Invalid options (`InvalidInput`), or the OS error, naming the path
    /// (`open /x/y: No such file or directory (os error 2)`).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the open; a file opened anyway is
    /// closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let err = aio::fs::OpenOptions::new().read(true).open("/no/such").await.unwrap_err();
    /// assert_eq!(err.to_string(), "open /no/such: No such file or directory (os error 2)");
    /// # });
    /// ```
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        let flags = self.flags().map_err(|e| with_path(e, "open", path))?;
        let c = cstr(path)?;
        let fd = ops::open(c, flags, self.mode)
            .await
            .map_err(|e| with_path(e, "open", path))?;
        Ok(File::new(fd, Some(path.into())))
    }
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_std() {
        let f = |o: &OpenOptions| o.flags();
        assert_eq!(f(OpenOptions::new().read(true)).unwrap(), libc::O_RDONLY);
        assert_eq!(
            f(OpenOptions::new().write(true).create(true).truncate(true)).unwrap(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC
        );
        assert_eq!(
            f(OpenOptions::new().append(true).create(true)).unwrap(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT
        );
        assert_eq!(
            f(OpenOptions::new().read(true).write(true).create_new(true)).unwrap(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL
        );
        assert!(f(&OpenOptions::new()).is_err());
        assert!(f(OpenOptions::new().read(true).create(true)).is_err());
        assert!(f(OpenOptions::new().append(true).truncate(true)).is_err());
    }
}
