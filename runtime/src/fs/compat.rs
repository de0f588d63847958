//! `File` for the ecosystem: futures-io's `AsyncRead`, `AsyncWrite` and
//! `AsyncSeek` (and tokio's, behind the `tokio-compat` feature), through
//! the buffered adapter state in `io::adapter` (see `file.rs` for how it
//! settles with the owned-buffer methods).
//!
//! Called by ecosystem code through the traits; calls `file.rs`.

use super::File;
use crate::io::adapter::{impl_async_read, impl_async_write};
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

impl_async_read!(File);
impl_async_write!(File);

impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_adapter(cx, pos)
    }
}

/// tokio's seek is two calls (start, then complete): the position asked
/// for waits here between them.
#[cfg(feature = "tokio-compat")]
impl tokio::io::AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        self.get_mut().seek_to = Some(pos);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let pos = this.seek_to.unwrap_or(SeekFrom::Current(0));
        let res = std::task::ready!(this.poll_seek_adapter(cx, pos));
        this.seek_to = None;
        Poll::Ready(res)
    }
}
