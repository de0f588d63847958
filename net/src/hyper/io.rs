//! `hyper::rt::Read` and `hyper::rt::Write` for `TcpStream`, `UnixStream`
//! and the owned halves of a split, so that hyper serves and connects over
//! them directly, with no wrapper.
//!
//! They go through the same internally buffered machinery as the
//! futures-io and tokio adapters (`crate::compat`): a receive into an
//! owned buffer kept in the stream (it stays in flight while the caller is
//! not polling, and its bytes are handed out by the next call), writes
//! copied into an owned buffer that is sent while hyper goes on (a flush
//! is `Ready` once the send is in the kernel's hands: see `compat`'s
//! "Flushes for hyper"), an end of
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
    let rd = (rd, compat::Multishot::Yes);
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
        /// vectored writes are copied in one go, `poll_flush` returns once
        /// every byte is handed to the kernel (on epoll, once it took
        /// them), `poll_shutdown` waits until the kernel took every byte,
        /// then shuts the write direction down.
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
                st.poll_flush_handed(fd, cx)
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

    /// Reads exactly `out.len()` bytes.
    async fn read_exact<R: hyper::rt::Read + Unpin>(r: &mut R, out: &mut [u8]) {
        let mut n = 0;
        while n < out.len() {
            n += read(r, &mut out[n..]).await.unwrap();
        }
    }

    /// hyper's write then flush of `msg`, each `Ready` at once.
    fn write_and_flush<W: hyper::rt::Write + Unpin>(w: &mut W, cx: &mut Context<'_>, msg: &[u8]) {
        let r = hyper::rt::Write::poll_write(Pin::new(&mut *w), cx, msg);
        assert!(matches!(r, Poll::Ready(Ok(n)) if n == msg.len()), "{r:?}");
        let f = hyper::rt::Write::poll_flush(Pin::new(&mut *w), cx);
        assert!(matches!(f, Poll::Ready(Ok(()))), "{f:?}");
    }

    /// Reads until end of stream, `chunk` bytes at a time.
    async fn read_to_eof<R: hyper::rt::Read + Unpin>(r: &mut R, chunk: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = read(r, &mut buf).await.unwrap();
            if n == 0 {
                return got;
            }
            got.extend_from_slice(&buf[..n]);
        }
    }

    fn runtimes() -> Vec<aio_runtime::runtime::Runtime> {
        [
            aio_runtime::runtime::Driver::IoUring,
            aio_runtime::runtime::Driver::Epoll,
        ]
        .into_iter()
        .filter_map(|d| {
            aio_runtime::runtime::Builder::new_current_thread()
                .driver(d)
                .build()
                .ok()
        })
        .collect()
    }

    /// hyper's flush does not wait for the send's completion (one poll
    /// of a connection per response, not two): `Ready` at once, and the
    /// bytes arrive with nobody polling the send.
    #[test]
    fn a_flush_is_ready_once_the_bytes_are_handed_to_the_kernel() {
        for rt in runtimes() {
            rt.block_on(async {
                let (mut a, mut b) = UnixStream::pair().unwrap();
                let waker = std::task::Waker::noop();
                let mut cx = Context::from_waker(waker);
                write_and_flush(&mut a, &mut cx, b"HTTP/1.1 200");
                let mut got = [0u8; 12];
                read_exact(&mut b, &mut got).await;
                assert_eq!(&got, b"HTTP/1.1 200");
            });
        }
    }

    /// A write's send and hyper's flush of it leave no waker behind: the
    /// send's completion wakes nobody (one poll of a connection per
    /// response), on a ring (the send submitted with no waker) and on
    /// epoll (sent at once), and the next write collects its result.
    #[test]
    fn a_handed_send_completes_without_waking_the_writer() {
        use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use crate::loom::sync::Arc;
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        for rt in runtimes() {
            rt.block_on(async {
                let (mut a, mut b) = UnixStream::pair().unwrap();
                let wakes = Arc::new(Count(0.into()));
                let waker = std::task::Waker::from(wakes.clone());
                let mut cx = Context::from_waker(&waker);
                for round in 0..3u8 {
                    let msg = [b'a' + round; 5];
                    write_and_flush(&mut a, &mut cx, &msg);
                    let mut got = [0u8; 5];
                    read_exact(&mut b, &mut got).await;
                    assert_eq!(got, msg);
                    // The peer has the bytes; let the ring reap the send's
                    // completion before looking.
                    aio_runtime::task::yield_now().await;
                    let n = wakes.0.load(SeqCst);
                    assert_eq!(n, 0, "round {round}: the send's completion woke the writer");
                }
            });
        }
    }

    /// A flushed send that the socket could take only part of goes on
    /// whole, unpolled (the kernel sends the rest), and a shutdown after
    /// it waits for it.
    #[test]
    fn a_flushed_send_larger_than_the_socket_buffer_arrives_whole() {
        for rt in runtimes() {
            rt.block_on(async {
                let (mut a, mut b) = UnixStream::pair().unwrap();
                let small: libc::c_int = 4096;
                // SAFETY: plain syscall on an fd `a` holds open; the option
                // value is a live c_int.
                let r = unsafe {
                    libc::setsockopt(
                        std::os::fd::AsRawFd::as_raw_fd(&a),
                        libc::SOL_SOCKET,
                        libc::SO_SNDBUF,
                        (&small as *const libc::c_int).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    )
                };
                assert_eq!(r, 0);
                let body: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
                let writer = async {
                    let mut off = 0;
                    while off < body.len() {
                        off += poll_fn(|cx| {
                            hyper::rt::Write::poll_write(Pin::new(&mut a), cx, &body[off..])
                        })
                        .await
                        .unwrap();
                    }
                    poll_fn(|cx| hyper::rt::Write::poll_flush(Pin::new(&mut a), cx))
                        .await
                        .unwrap();
                };
                // Every byte arrives before anything polls the send again
                // (the shutdown below would resend a short send's rest).
                let reader = async {
                    let mut got = vec![0u8; body.len()];
                    read_exact(&mut b, &mut got).await;
                    got
                };
                let both = aio_runtime::gather!(writer, reader);
                let ((), got) =
                    aio_runtime::time::wait_for(both, std::time::Duration::from_secs(20))
                        .await
                        .expect("the flushed bytes arrive");
                poll_fn(|cx| hyper::rt::Write::poll_shutdown(Pin::new(&mut a), cx))
                    .await
                    .unwrap();
                assert_eq!(
                    read(&mut b, &mut [0u8; 8]).await.unwrap(),
                    0,
                    "end of stream"
                );
                assert!(
                    got == body,
                    "{} bytes of {} arrived, or out of order",
                    got.len(),
                    body.len()
                );
            });
        }
    }

    /// An owned write on a stream whose adapter send hyper's flush left
    /// in flight (an upgrade hands the stream back like that) says to
    /// flush first, rather than going out before those bytes; after the
    /// adapter's own flush it goes, in order.
    #[test]
    fn an_owned_write_after_hypers_flush_needs_the_adapters_flush() {
        for rt in runtimes() {
            let ring = rt.handle().driver() == aio_runtime::runtime::Driver::IoUring;
            rt.block_on(async {
                let (mut a, mut b) = UnixStream::pair().unwrap();
                let waker = std::task::Waker::noop();
                let mut cx = Context::from_waker(waker);
                let w = hyper::rt::Write::poll_write(
                    Pin::new(&mut a),
                    &mut cx,
                    b"HTTP/1.1 101\r\n\r\n",
                );
                assert!(matches!(w, Poll::Ready(Ok(_))));
                let f = hyper::rt::Write::poll_flush(Pin::new(&mut a), &mut cx);
                assert!(matches!(f, Poll::Ready(Ok(()))));
                if ring {
                    // On a ring the send is not even submitted yet (on
                    // epoll the flush sent it).
                    let (res, _) = a.write_all(b"frame".to_vec()).await;
                    let e = res.unwrap_err();
                    assert!(e.to_string().contains("flush"), "{e}");
                    assert!(a.shutdown(std::net::Shutdown::Write).await.is_err());
                }
                futures::AsyncWriteExt::flush(&mut a).await.unwrap();
                a.write_all(b"frame".to_vec()).await.0.unwrap();
                a.shutdown(std::net::Shutdown::Write).await.unwrap();
                assert_eq!(read_to_eof(&mut b, 64).await, b"HTTP/1.1 101\r\n\r\nframe");
            });
        }
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
                assert_eq!(read_to_eof(&mut b, 2).await, b"GET /");
            });
    }
}
