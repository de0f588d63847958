//! The asyncio streams: `StreamReader` (buffered, limit-checked reads that
//! keep their bytes across cancellation), `StreamWriter` (synchronous
//! buffered writes flushed by the ring, `drain` for flow control), and the
//! `open_connection` / `start_server` family built on them.
//!
//! Calls the socket layer (`crate::tcp`, `crate::unix`) through the two
//! small traits below; called by users.

mod error;
mod reader;

pub use error::{IncompleteReadError, ReadError};
pub use reader::{Lines, StreamReader};

use std::io;
use std::task::{Context, Poll};

/// Where a [`StreamReader`]'s bytes come from: a socket's read side.
///
/// Cancel safety is this trait's contract: a receive that is in flight when
/// the caller stops polling stays inside `self`, and the bytes it brings are
/// delivered by the next `poll_fill` call. Nothing received is ever dropped.
pub(crate) trait ByteSource: Send + 'static {
    /// Appends newly received bytes to `buf` and returns how many; `Ok(0)`
    /// means end of stream. `hint` is how many bytes the reader would like
    /// (an implementation may deliver fewer or more).
    fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
        hint: usize,
    ) -> Poll<io::Result<usize>>;
}
