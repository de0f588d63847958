//! `Metadata` and `FileType`: what `statx(2)` says about a file.
//!
//! `std::fs::Metadata` cannot be built outside std, so aio has its own,
//! with std's method names.
//!
//! Called by `fs` (`metadata`, `symlink_metadata`, `File::metadata`);
//! calls nothing.

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

/// Information about a file (`statx(2)`), from
/// [`metadata`](super::metadata), [`symlink_metadata`](super::symlink_metadata)
/// or [`File::metadata`](super::File::metadata). Method names follow
/// `std::fs::Metadata` and its `MetadataExt`.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let dir = std::env::temp_dir().join(format!("aio-doc-meta-{}", std::process::id()));
/// aio::fs::create_dir_all(&dir).await?;
/// aio::fs::write(dir.join("f"), b"12345".to_vec()).await?;
/// let m = aio::fs::metadata(dir.join("f")).await?;
/// assert!(m.is_file());
/// assert_eq!(m.len(), 5);
/// assert!(aio::fs::metadata(&dir).await?.is_dir());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Clone, Copy)]
pub struct Metadata {
    st: libc::statx,
}

/// The type of a file: regular, directory, symbolic link, …
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let t = aio::fs::metadata("/").await?.file_type();
/// assert!(t.is_dir() && !t.is_file() && !t.is_symlink());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileType {
    mode: u32,
}

impl FileType {
    fn is(self, fmt: libc::mode_t) -> bool {
        self.mode & libc::S_IFMT == fmt
    }

    /// A regular file.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert!(aio::fs::metadata("/proc/self/exe").await?.file_type().is_file());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_file(&self) -> bool {
        self.is(libc::S_IFREG)
    }

    /// A directory.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.file_type().is_dir());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_dir(&self) -> bool {
        self.is(libc::S_IFDIR)
    }

    /// A symbolic link (only from `symlink_metadata`).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let t = aio::fs::symlink_metadata("/proc/self/exe").await?.file_type();
    /// assert!(t.is_symlink());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_symlink(&self) -> bool {
        self.is(libc::S_IFLNK)
    }

    /// A named pipe (FIFO).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert!(!aio::fs::metadata("/").await?.file_type().is_fifo());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_fifo(&self) -> bool {
        self.is(libc::S_IFIFO)
    }

    /// A Unix domain socket.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert!(!aio::fs::metadata("/").await?.file_type().is_socket());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_socket(&self) -> bool {
        self.is(libc::S_IFSOCK)
    }

    /// A block device.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert!(!aio::fs::metadata("/dev/null").await?.file_type().is_block_device());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_block_device(&self) -> bool {
        self.is(libc::S_IFBLK)
    }

    /// A character device.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert!(aio::fs::metadata("/dev/null").await?.file_type().is_char_device());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_char_device(&self) -> bool {
        self.is(libc::S_IFCHR)
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.mode & libc::S_IFMT {
            libc::S_IFREG => "file",
            libc::S_IFDIR => "dir",
            libc::S_IFLNK => "symlink",
            libc::S_IFIFO => "fifo",
            libc::S_IFSOCK => "socket",
            libc::S_IFBLK => "block device",
            libc::S_IFCHR => "char device",
            _ => "unknown",
        };
        f.write_str(kind)
    }
}

fn time(t: libc::statx_timestamp) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(t.tv_nsec));
    if t.tv_sec >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(t.tv_sec as u64) + nanos
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(t.tv_sec.unsigned_abs()) + nanos
    }
}

impl Metadata {
    pub(crate) fn from_statx(st: libc::statx) -> Metadata {
        Metadata { st }
    }

    /// The size in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert_eq!(aio::fs::metadata("/dev/null").await?.len(), 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn len(&self) -> u64 {
        self.st.stx_size
    }

    /// Whether the size is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert!(aio::fs::metadata("/dev/null").await?.is_empty());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file's type.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.file_type().is_dir());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn file_type(&self) -> FileType {
        FileType {
            mode: u32::from(self.st.stx_mode),
        }
    }

    /// A regular file.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(!m.is_file());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// A directory.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.is_dir());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// A symbolic link (only from `symlink_metadata`).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(!m.is_symlink());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// The permission bits, as std's type.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert_eq!(m.permissions().mode() & 0o7777, m.mode() & 0o7777);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn permissions(&self) -> std::fs::Permissions {
        std::fs::Permissions::from_mode(self.mode())
    }

    /// The whole `st_mode` (type and permission bits).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert_eq!(m.mode() & libc::S_IFMT, libc::S_IFDIR);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn mode(&self) -> u32 {
        u32::from(self.st.stx_mode)
    }

    /// The last modification time.
    ///
    /// # Errors
    /// Never on Linux (kept `Result` as in std).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.modified()? <= std::time::SystemTime::now());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn modified(&self) -> io::Result<SystemTime> {
        Ok(time(self.st.stx_mtime))
    }

    /// The last access time.
    ///
    /// # Errors
    /// Never on Linux (kept `Result` as in std).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.accessed()? > std::time::SystemTime::UNIX_EPOCH);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn accessed(&self) -> io::Result<SystemTime> {
        Ok(time(self.st.stx_atime))
    }

    /// The creation (birth) time.
    ///
    /// # Errors
    /// `Unsupported` where the filesystem does not record it.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// // Some filesystems do not record it.
    /// let _ = m.created();
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn created(&self) -> io::Result<SystemTime> {
        if self.st.stx_mask & libc::STATX_BTIME == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "creation time is not available on this filesystem",
            ));
        }
        Ok(time(self.st.stx_btime))
    }

    /// The inode number.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.ino() > 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn ino(&self) -> u64 {
        self.st.stx_ino
    }

    /// The device the file is on (`makedev(major, minor)`).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// use std::os::unix::fs::MetadataExt;
    /// assert_eq!(m.dev(), std::fs::metadata("/")?.dev());
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn dev(&self) -> u64 {
        libc::makedev(self.st.stx_dev_major, self.st.stx_dev_minor)
    }

    /// The number of hard links.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.nlink() >= 1);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn nlink(&self) -> u64 {
        u64::from(self.st.stx_nlink)
    }

    /// The owner's user id.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert_eq!(m.uid(), 0); // root owns /
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn uid(&self) -> u32 {
        self.st.stx_uid
    }

    /// The owner's group id.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert_eq!(m.gid(), 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn gid(&self) -> u32 {
        self.st.stx_gid
    }

    /// The preferred I/O block size.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// let m = aio::fs::metadata("/").await?;
    /// assert!(m.blksize() > 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn blksize(&self) -> u64 {
        u64::from(self.st.stx_blksize)
    }

    /// The number of 512-byte blocks allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// assert_eq!(aio::fs::metadata("/dev/null").await?.blocks(), 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn blocks(&self) -> u64 {
        self.st.stx_blocks
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("len", &self.len())
            .field("mode", &format_args!("{:o}", self.mode() & 0o7777))
            .field("ino", &self.ino())
            .finish()
    }
}
