//! The ecosystem adapters: futures-io's and tokio's `AsyncRead` /
//! `AsyncWrite` on aio's `TcpStream`, `UnixStream` and the owned halves,
//! driven by the ecosystem's own extension traits, on every flavor.

mod common;

use aio::net::{TcpListener, TcpStream};
use common::on_all_flavors;

/// A connected pair over loopback.
async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let c = aio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (s, _) = l.accept().await.unwrap();
    (s, c.await.unwrap())
}

#[test]
fn futures_io_round_trip_with_ext_traits() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (mut a, mut b) = pair().await;
        // More than one adapter buffer each way, so the copies wrap.
        let msg: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let expect = msg.clone();
        let writer = aio::spawn(async move {
            AsyncWriteExt::write_all(&mut a, &msg).await.unwrap();
            AsyncWriteExt::flush(&mut a).await.unwrap();
            AsyncWriteExt::close(&mut a).await.unwrap(); // shuts down the write side
            a
        });
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
        assert_eq!(got.len(), expect.len());
        assert!(got == expect, "bytes arrive in order, none lost");
        drop(writer.await.unwrap());
    });
}

#[test]
fn futures_io_on_split_halves() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (a, b) = pair().await;
        let (mut ar, mut aw) = a.into_split();
        let (mut br, mut bw) = b.into_split();
        AsyncWriteExt::write_all(&mut aw, b"ping").await.unwrap();
        AsyncWriteExt::flush(&mut aw).await.unwrap();
        let mut buf = [0u8; 4];
        AsyncReadExt::read_exact(&mut br, &mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        AsyncWriteExt::write_all(&mut bw, b"pong").await.unwrap();
        AsyncWriteExt::close(&mut bw).await.unwrap();
        let mut rest = Vec::new();
        AsyncReadExt::read_to_end(&mut ar, &mut rest).await.unwrap();
        assert_eq!(rest, b"pong");
    });
}

#[test]
fn tokio_io_round_trip_with_ext_traits() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    on_all_flavors(|_| async {
        let (mut a, b) = pair().await;
        AsyncWriteExt::write_all(&mut a, b"line one\nline two\n")
            .await
            .unwrap();
        AsyncWriteExt::flush(&mut a).await.unwrap();
        AsyncWriteExt::shutdown(&mut a).await.unwrap();
        let mut lines = BufReader::new(b).lines();
        assert_eq!(
            lines.next_line().await.unwrap().as_deref(),
            Some("line one")
        );
        assert_eq!(
            lines.next_line().await.unwrap().as_deref(),
            Some("line two")
        );
        assert_eq!(lines.next_line().await.unwrap(), None);
        let mut b = lines.into_inner().into_inner();
        let mut rest = Vec::new();
        assert_eq!(
            AsyncReadExt::read_to_end(&mut b, &mut rest).await.unwrap(),
            0
        );
    });
}

#[test]
fn a_read_the_caller_abandons_keeps_its_bytes() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (mut a, mut b) = pair().await;
        let mut buf = [0u8; 8];
        // Start a read, give up on it before anything arrives.
        let first = aio::wait_for(
            AsyncReadExt::read(&mut b, &mut buf),
            std::time::Duration::from_millis(20),
        )
        .await;
        assert!(first.is_err(), "nothing was sent yet");
        AsyncWriteExt::write_all(&mut a, b"kept").await.unwrap();
        AsyncWriteExt::flush(&mut a).await.unwrap();
        // The abandoned receive is still in flight and delivers to this read.
        let n = AsyncReadExt::read(&mut b, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"kept");
    });
}

#[test]
fn writes_past_a_full_socket_buffer_arrive_in_order_and_errors_reach_the_writer() {
    use futures::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    on_all_flavors(|_| async {
        let (mut a, mut b) = aio::net::UnixStream::pair().unwrap();
        let msg: Vec<u8> = (0..4_000_000u32).map(|i| (i % 253) as u8).collect();
        // Write while nobody reads until a write has to wait for the send
        // in flight; then far more than the socket's buffer holds.
        let mut cx = Context::from_waker(Waker::noop());
        let mut sent = 0;
        loop {
            let chunk = &msg[sent..sent + 10_000];
            match Pin::new(&mut a).poll_write(&mut cx, chunk) {
                Poll::Ready(n) => sent += n.unwrap(),
                Poll::Pending => break,
            }
            assert!(sent + 10_000 <= msg.len(), "the buffer never filled");
        }
        let expect = msg.clone();
        let reader = aio::spawn(async move {
            let mut got = vec![0; expect.len()];
            AsyncReadExt::read_exact(&mut b, &mut got).await.unwrap();
            assert!(got == expect, "bytes arrive in order, none lost");
            b
        });
        let rest = &msg[sent..];
        AsyncWriteExt::write_all(&mut a, rest).await.unwrap();
        AsyncWriteExt::flush(&mut a).await.unwrap();
        let b = reader.await.unwrap();
        // The peer is gone (our write side is still open): the next write
        // or its flush fails, it is not swallowed by a send nobody waits
        // for.
        drop(b);
        let err = match AsyncWriteExt::write_all(&mut a, b"late").await {
            Err(e) => e,
            Ok(()) => AsyncWriteExt::flush(&mut a).await.unwrap_err(),
        };
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
    });
}

#[test]
fn bytes_the_adapter_accepted_reach_the_peer_when_the_stream_is_dropped_unflushed() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (mut a, mut b) = pair().await;
        // Writes without a flush, as code written for tokio does: the
        // first starts a send, the next ones wait in the adapter behind it
        // (write_all returned Ok for them all).
        let msg: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in msg.chunks(10_000) {
            AsyncWriteExt::write_all(&mut a, chunk).await.unwrap();
        }
        drop(a);
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
        assert!(got == msg, "{} of {} bytes arrived", got.len(), msg.len());
    });
}

#[test]
fn a_dropped_write_half_sends_what_its_adapter_accepted_then_shuts_down() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (a, mut b) = pair().await;
        let (_r, mut w) = a.into_split();
        AsyncWriteExt::write_all(&mut w, b"first ").await.unwrap();
        AsyncWriteExt::write_all(&mut w, b"second").await.unwrap();
        drop(w);
        // End of stream although the read half lives: the shutdown came
        // after the bytes, not before them.
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
        assert_eq!(got, b"first second");
    });
}

#[test]
fn close_cancels_an_adapter_read_left_in_flight_and_flushes_the_adapter_writes() {
    use futures::{AsyncRead, AsyncReadExt, AsyncWriteExt};
    use std::pin::Pin;
    use std::task::Poll;
    on_all_flavors(|_| async {
        let (mut a, mut b) = pair().await;
        // A read the caller stops polling: its receive stays in flight,
        // and the peer sends nothing for it.
        let mut buf = [0u8; 16];
        let first =
            std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut a).poll_read(cx, &mut buf))).await;
        assert!(first.is_pending());
        AsyncWriteExt::write_all(&mut a, b"bye").await.unwrap(); // not flushed
        aio::wait_for(a.close(), std::time::Duration::from_secs(20))
            .await
            .expect("close waits for no receive the peer would have to answer")
            .unwrap();
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b, &mut got).await.unwrap();
        assert_eq!(got, b"bye");
    });
}

#[test]
fn a_write_error_sticks_so_no_later_write_leaves_a_hole() {
    use futures::AsyncWriteExt;
    on_all_flavors(|_| async {
        let (mut a, b) = aio::net::UnixStream::pair().unwrap();
        AsyncWriteExt::write_all(&mut a, b"one").await.unwrap();
        AsyncWriteExt::flush(&mut a).await.unwrap();
        drop(b);
        let first = match AsyncWriteExt::write_all(&mut a, b"two").await {
            Err(e) => e,
            Ok(()) => AsyncWriteExt::flush(&mut a).await.unwrap_err(),
        };
        assert_eq!(first.kind(), std::io::ErrorKind::BrokenPipe, "{first}");
        // Every later write and flush reports it too.
        let again = AsyncWriteExt::write_all(&mut a, b"three")
            .await
            .unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::BrokenPipe, "{again}");
        let flush = AsyncWriteExt::flush(&mut a).await.unwrap_err();
        assert_eq!(flush.kind(), std::io::ErrorKind::BrokenPipe, "{flush}");
    });
}

#[test]
fn a_runtime_shutting_down_with_unsent_adapter_bytes_ends() {
    use futures::AsyncWriteExt;
    for flavor in common::flavors() {
        let rt = flavor.runtime();
        let b = rt.block_on(async {
            let (mut a, b) = aio::net::UnixStream::pair().unwrap();
            // More than the socket takes while nobody reads: bytes stay
            // unsent in the adapter.
            let mut chunk = 0;
            while chunk < 100 {
                AsyncWriteExt::write_all(&mut a, &[7; 10_000])
                    .await
                    .unwrap();
                chunk += 1;
                if aio::wait_for(
                    AsyncWriteExt::flush(&mut a),
                    std::time::Duration::from_millis(1),
                )
                .await
                .is_err()
                {
                    break;
                }
            }
            assert!(chunk < 100, "the socket buffer never filled");
            AsyncWriteExt::write_all(&mut a, b"unsent").await.unwrap();
            // A task holding the stream, cancelled by the shutdown: its
            // drop hands the bytes to a task while the runtime shuts down.
            drop(aio::spawn(async move {
                let _a = a;
                std::future::pending::<()>().await
            }));
            b
        });
        drop(rt);
        drop(b);
    }
}

#[test]
fn a_dropped_streams_last_bytes_give_up_after_the_linger_time() {
    use futures::AsyncWriteExt;
    use std::os::fd::AsRawFd;
    use std::time::Duration;
    // The virtual clock (current_thread only): 30 s pass at once.
    common::paused(async {
        let (mut a, b) = aio::net::UnixStream::pair().unwrap();
        // Fill the socket while the peer reads nothing (on the paused
        // clock a flush that waits times out at once).
        for _ in 0..100 {
            AsyncWriteExt::write_all(&mut a, &[7; 10_000])
                .await
                .unwrap();
            if aio::wait_for(AsyncWriteExt::flush(&mut a), Duration::from_millis(1))
                .await
                .is_err()
            {
                break;
            }
        }
        AsyncWriteExt::write_all(&mut a, b"unsent").await.unwrap();
        drop(a);
        // The peer's side reports our shutdown (POLLRDHUP) only once
        // the dropped stream's task gave up on its bytes.
        let shut = || {
            let mut p = libc::pollfd {
                fd: b.as_raw_fd(),
                events: libc::POLLRDHUP,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no wait.
            unsafe { libc::poll(&mut p, 1, 0) };
            p.revents & libc::POLLRDHUP != 0
        };
        aio::sleep(Duration::from_secs(29)).await;
        assert!(!shut(), "still sending before the linger time");
        aio::sleep(Duration::from_secs(2)).await;
        for _ in 0..100 {
            if shut() {
                return;
            }
            aio::sleep(Duration::from_millis(10)).await;
        }
        panic!("the dropped stream's task did not give up after its linger time");
    });
}
