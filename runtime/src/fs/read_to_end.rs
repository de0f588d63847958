//! Reading a file to its end in as few reads as its size allows: the
//! loop behind `File::read_to_end` and `fs::read`.
//!
//! The size hint comes from `fstat(2)` and `lseek(2)` on the open fd,
//! which read the inode the open already brought into memory (no disk or
//! network wait, so they run inline even on a worker). With the hint the
//! buffer gets room for one byte more than is left: a read that comes back
//! short of that room, having read exactly what was left, is at the end of
//! a regular file, so no probe read is needed. Files whose size says
//! nothing (`/proc`, pipes, devices) are read until a read returns 0.
//!
//! Called by `file.rs` and `mod.rs`; calls the read op.

use super::cursor::{AtPos, Orphan};
use crate::io::ops;
use crate::io::{BufResult, IoBuf, SharedFd};
use crate::loom::sync::Mutex;
use std::io;

/// The first read of a file of unknown size.
const FIRST: usize = 8 * 1024;

/// What is left of a regular file after its position, if known.
fn remaining(fd: &SharedFd) -> Option<u64> {
    // SAFETY: all-zero is a valid `stat`; fstat fills it.
    let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out pointer, an fd we hold open.
    if unsafe { libc::fstat64(fd.raw(), &mut st) } < 0 {
        return None;
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_size <= 0 {
        return None;
    }
    // SAFETY: plain syscall on an fd we hold open.
    let pos = unsafe { libc::lseek64(fd.raw(), 0, libc::SEEK_CUR) };
    if pos < 0 {
        return None;
    }
    Some((st.st_size as u64).saturating_sub(pos as u64))
}

fn reserve(buf: &mut Vec<u8>, n: usize) -> io::Result<()> {
    buf.try_reserve(n).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            "not enough memory for the file's contents",
        )
    })
}

/// Reads `fd` from its position to its end, appending to `buf`; a read
/// dropped in flight is kept in `orphan` if `keep` (see `cursor.rs`).
pub(crate) async fn read_to_end(
    fd: &SharedFd,
    buf: Vec<u8>,
    orphan: &mut Mutex<Orphan>,
    keep: bool,
) -> BufResult<usize, Vec<u8>> {
    let mut buf = buf;
    let start = buf.len();
    let exact = remaining(fd).and_then(|n| usize::try_from(n).ok());
    let first = match exact {
        Some(n) => n.saturating_add(1),
        None => FIRST,
    };
    if let Err(e) = reserve(&mut buf, first) {
        return (Err(e), buf);
    }
    loop {
        if buf.len() == buf.capacity() {
            // Double what was read so far.
            let grow = (buf.len() - start).max(FIRST);
            if let Err(e) = reserve(&mut buf, grow) {
                return (Err(e), buf);
            }
        }
        let at = buf.len();
        let room = (buf.capacity() - at).min(crate::io::MAX_RW_COUNT);
        let op = ops::read_at(fd, buf.slice(at..), ops::CURRENT_POS);
        let (res, view) = AtPos::new(orphan, keep, fd, op).await;
        buf = view.into_inner();
        match res {
            Ok(0) => break,
            Ok(n) => {
                if n < room && Some(buf.len() - start) == exact {
                    // Short of the room, and all that was left: the end.
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(buf.len() - start), buf)
}
