//! `hyper::rt::Read` and `hyper::rt::Write` for `TcpStream`, `UnixStream`
//! and the owned halves of a split, so that hyper serves and connects over
//! them directly, with no wrapper.
//!
//! They go through the same internally buffered machinery as the
//! futures-io and tokio adapters (`crate::compat`): a receive into an
//! owned buffer kept in the stream (it stays in flight while the caller is
//! not polling, and its bytes are handed out by the next call), writes
//! copied into an owned buffer that is sent while hyper goes on, an end of
//! stream held back once while a flush is awaited (so a client that closes
//! right after a complete response is not mistaken for one that left in
//! the middle), vectored writes in one copy, and `poll_shutdown` as a real
//! half-close (`shutdown(SHUT_WR)` after the buffered bytes went out).
//!
//! Why the copy into hyper's buffer is kept on the epoll driver too, where
//! a `recv(2)` could write into hyper's `ReadBufCursor` directly: the op
//! layer's operations own their buffers on both drivers (a borrowed-buffer
//! receive would be a second kind of op, epoll only), and the copy is
//! small: under wrk against `hyper_hello` every `memmove` of the server
//! together (hyper's own buffers included) is about 2% of its CPU samples,
//! against about 50% in the kernel.
//!
//! Called by hyper (and hyper-util) through the traits; calls `crate::compat`.

use crate::compat::{self, ReadState, WriteState};
use crate::conn::{OwnedReadHalf, OwnedWriteHalf};
use crate::{TcpStream, UnixStream};
use aio_runtime::io::SharedFd;
use hyper::rt::ReadBufCursor;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// A read into hyper's cursor through the buffered adapter.
fn poll_read(
    (fd, rd, wr): (&SharedFd, &mut ReadState, Option<&mut WriteState>),
    cx: &mut Context<'_>,
    mut buf: ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let room = buf.remaining();
    ready!(compat::poll_read_with(fd, rd, wr, cx, room, |data| buf.put_slice(data)))?;
    Poll::Ready(Ok(()))
}

macro_rules! impl_hyper_read {
    ($t:ty) => {
        /// hyper reads through the buffered adapter (see `aio::hyper`).
        impl hyper::rt::Read for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read(self.get_mut().read_parts(), cx, buf)
            }
        }
    };
}

macro_rules! impl_hyper_write {
    ($t:ty) => {
        /// hyper writes through the buffered adapter (see `aio::hyper`):
        /// vectored writes are copied in one go, `poll_flush` waits until
        /// the kernel took every byte, `poll_shutdown` flushes then shuts
        /// the write direction down.
        impl hyper::rt::Write for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let (fd, st) = self.get_mut().write_parts();
                st.poll_write(fd, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let (fd, st) = self.get_mut().write_parts();
                st.poll_write_vectored(fd, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let (fd, st) = self.get_mut().write_parts();
                st.poll_flush(fd, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let (fd, st) = self.get_mut().write_parts();
                st.poll_close(fd, cx)
            }
        }
    };
}

impl_hyper_read!(TcpStream);
impl_hyper_write!(TcpStream);
impl_hyper_read!(UnixStream);
impl_hyper_write!(UnixStream);
impl_hyper_read!(OwnedReadHalf);
impl_hyper_write!(OwnedWriteHalf);

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    /// Reads through `hyper::rt::Read` into `out`; returns how many bytes.
    async fn read<R: hyper::rt::Read + Unpin>(r: &mut R, out: &mut [u8]) -> io::Result<usize> {
        let mut buf = hyper::rt::ReadBuf::new(out);
        poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, buf.unfilled())).await?;
        Ok(buf.filled().len())
    }

    #[test]
    fn vectored_writes_flush_and_half_close_reach_the_peer_in_order() {
        aio_runtime::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let (mut a, mut b) = UnixStream::pair().unwrap();
                let bufs = [IoSlice::new(b"GET "), IoSlice::new(b""), IoSlice::new(b"/")];
                let n = poll_fn(|cx| {
                    hyper::rt::Write::poll_write_vectored(Pin::new(&mut a), cx, &bufs)
                })
                .await
                .unwrap();
                assert_eq!(n, 5);
                poll_fn(|cx| hyper::rt::Write::poll_shutdown(Pin::new(&mut a), cx))
                    .await
                    .unwrap();
                let mut got = Vec::new();
                let mut chunk = [0u8; 2];
                loop {
                    let n = read(&mut b, &mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&chunk[..n]);
                }
                assert_eq!(got, b"GET /");
            });
    }
}
