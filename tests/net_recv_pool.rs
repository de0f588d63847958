//! Multishot receives into a ring's receive pool (`aio::io::ops::recv_multi`,
//! `PooledBuf`) and the read adapter that uses them: bytes arrive whole and
//! in order through pauses (a reader that does not take its results), a
//! pool run dry (`ENOBUFS`, then a one-shot receive), reads that switch
//! between pool buffers and the adapter's own buffer, and a stream whose
//! reader moves to another thread (the receive follows it). On epoll
//! `recv_multi` is refused (`Unsupported`) and the adapter reads as before;
//! the adapter tests hold on both drivers.

mod common;

use aio::io::{ops, SharedFd};
use aio::net::{TcpListener, TcpStream};
use common::{on_all_flavors, Flavor};
use std::future::poll_fn;
use std::io::{ErrorKind, Write};

/// A connected pair over loopback.
async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let c = aio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (s, _) = l.accept().await.unwrap();
    (s, c.await.unwrap())
}

/// One read through hyper's `rt::Read` (the adapter's multishot path).
async fn hyper_read<S: hyper::rt::Read + Unpin>(s: &mut S, out: &mut [u8]) -> usize {
    use hyper::rt::ReadBuf;
    let mut buf = ReadBuf::new(out);
    poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_read(cx, buf.unfilled()))
        .await
        .unwrap();
    buf.filled().len()
}

/// Reads through hyper's `rt::Read` until `out` is full.
async fn hyper_read_exact<S: hyper::rt::Read + Unpin>(s: &mut S, out: &mut [u8]) {
    let mut at = 0;
    while at < out.len() {
        let n = hyper_read(s, &mut out[at..]).await;
        assert!(n > 0, "end of stream after {at} bytes");
        at += n;
    }
}

/// A TCP pair over loopback: ours (non-blocking, for the ring) and a
/// blocking std end to write from.
fn tcp_pair() -> (SharedFd, std::net::TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (a, _) = l.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    (SharedFd::new(a.into()), b)
}

/// `recv_multi` is refused on epoll only (this suite's kernels have
/// multishot receives: Linux 6.0 on).
fn unsupported_only_on_epoll(e: std::io::Error) {
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(
        std::env::var("AIO_DRIVER").as_deref(),
        Ok("epoll"),
        "io_uring refused a multishot receive: {e}"
    );
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// A writer that sends faster than a reader that yields between results:
/// the op pauses with its queue full and is armed again, many times; every
/// byte arrives once, in order.
#[test]
fn recv_multi_pauses_and_loses_nothing() {
    on_all_flavors(|_| async {
        let (a, mut b) = tcp_pair();
        let mut rx = match ops::recv_multi(&a) {
            Ok(rx) => rx,
            Err(e) => return unsupported_only_on_epoll(e),
        };
        let msg = pattern(600_000);
        let expect = msg.clone();
        let writer = std::thread::spawn(move || {
            for chunk in msg.chunks(1000) {
                b.write_all(chunk).unwrap();
            }
            // Dropping `b` ends the stream.
        });
        let mut got = Vec::new();
        let mut ends = 0;
        loop {
            match poll_fn(|cx| rx.poll_next(cx)).await {
                Some(Ok(buf)) if buf.is_empty() => break,
                Some(Ok(buf)) => {
                    assert!(buf.len() <= aio::io::POOL_BUF_SIZE);
                    got.extend_from_slice(&buf);
                }
                Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    panic!("one reader cannot drain a pool: {e}")
                }
                Some(Err(e)) => panic!("receive failed: {e}"),
                None => {
                    // Paused (or ended): arm again.
                    ends += 1;
                    rx = ops::recv_multi(&a).unwrap();
                }
            }
            // A slow reader: the writer fills the op's queue meanwhile.
            std::thread::sleep(std::time::Duration::from_micros(200));
            aio::sleep(std::time::Duration::ZERO).await;
        }
        writer.join().unwrap();
        assert_eq!(got.len(), expect.len());
        assert!(got == expect, "bytes in order, none lost or repeated");
        // Not a timing assertion: just that the path under test ran.
        let _ = ends;
    });
}

/// Results held by the reader are buffers the pool cannot hand out: with
/// all of them held, the next receive fails with `ENOBUFS` and loses
/// nothing (the bytes stay in the socket for a one-shot receive); given
/// back, the pool serves again.
#[test]
fn a_pool_run_dry_fails_with_enobufs_and_loses_nothing() {
    // One ring, so one pool (workers each have their own).
    let rt = Flavor::CurrentThread.runtime();
    rt.block_on(async {
        let mut held = Vec::new();
        let mut pairs = Vec::new();
        let mut dry = None;
        for i in 0..1000 {
            let (a, mut b) = tcp_pair();
            let mut rx = match ops::recv_multi(&a) {
                Ok(rx) => rx,
                Err(e) => return unsupported_only_on_epoll(e),
            };
            b.write_all(b"x").unwrap();
            match poll_fn(|cx| rx.poll_next(cx)).await.unwrap() {
                Ok(buf) => {
                    assert_eq!(&buf[..], b"x");
                    held.push(buf);
                    pairs.push((a, b, rx));
                }
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS), "{e}");
                    assert!(i > 0);
                    dry = Some((a, b));
                    break;
                }
            }
        }
        let (a, _b) = dry.expect("the pool ran dry");
        // The byte is still in the socket.
        let (n, buf) = ops::recv_stream(&a, Vec::with_capacity(8), true).await;
        assert_eq!(n.unwrap(), 1);
        assert_eq!(&buf[..], b"x");
        // Given back, the buffers serve again.
        drop(held);
        let (a, mut b) = tcp_pair();
        let mut rx = ops::recv_multi(&a).unwrap();
        b.write_all(b"again").unwrap();
        let buf = poll_fn(|cx| rx.poll_next(cx)).await.unwrap().unwrap();
        assert_eq!(&buf[..], b"again");
        drop(pairs);
    });
}

/// hyper reads that alternate small asks (pool buffers) and large ones
/// (the adapter's own buffer), and a futures-io read in between (which
/// ends the multishot): the bytes come in the socket's order whichever
/// receive took them.
#[test]
fn adapter_reads_switching_receives_keep_order() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (mut a, mut b) = pair().await;
        let msg = pattern(1_500_000);
        let expect = msg.clone();
        let writer = aio::spawn(async move {
            for chunk in msg.chunks(7000) {
                AsyncWriteExt::write_all(&mut a, chunk).await.unwrap();
            }
            AsyncWriteExt::close(&mut a).await.unwrap();
            a
        });
        let mut got = Vec::new();
        let mut small = [0u8; 100];
        let mut large = vec![0u8; 100_000];
        for i in 0.. {
            let (n, from) = match i % 7 {
                2 | 5 => (hyper_read(&mut b, &mut large).await, &large),
                6 => (
                    AsyncReadExt::read(&mut b, &mut small).await.unwrap(),
                    &small[..].to_vec(),
                ),
                _ => (hyper_read(&mut b, &mut small).await, &small[..].to_vec()),
            };
            if n == 0 {
                break;
            }
            got.extend_from_slice(&from[..n]);
        }
        assert_eq!(got.len(), expect.len());
        assert!(got == expect, "bytes in order, none lost or repeated");
        drop(writer.await.unwrap());
    });
}

/// A stream read on one thread, then by a task on a worker, then on the
/// first thread again: the receive armed on one ring ends and is armed on
/// the reader's ring, its results first; nothing is lost or reordered.
#[test]
fn adapter_receive_follows_its_reader_across_threads() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (mut a, mut b) = pair().await;
        let rounds = 30u32;
        let writer = aio::spawn(async move {
            for r in 0..rounds {
                let line = format!("message {r:04}\n");
                AsyncWriteExt::write_all(&mut a, line.as_bytes())
                    .await
                    .unwrap();
                AsyncWriteExt::flush(&mut a).await.unwrap();
                // Wait for the reader's ack, so each message is its own
                // receive and the reader moves between them.
                let mut ack = [0u8; 1];
                AsyncReadExt::read_exact(&mut a, &mut ack).await.unwrap();
            }
            a
        });
        for r in 0..rounds {
            let read_one = |mut b: TcpStream| async move {
                let mut line = [0u8; 13];
                hyper_read_exact(&mut b, &mut line).await;
                assert_eq!(&line[..], format!("message {r:04}\n").as_bytes());
                AsyncWriteExt::write_all(&mut b, b"k").await.unwrap();
                AsyncWriteExt::flush(&mut b).await.unwrap();
                b
            };
            // Odd rounds on a spawned task (a worker on multi_thread), even
            // ones on the main future's thread.
            b = if r % 2 == 1 {
                aio::spawn(read_one(b)).await.unwrap()
            } else {
                read_one(b).await
            };
        }
        drop(writer.await.unwrap());
    });
}

/// On an AF_UNIX stream the kernel can miss a multishot receive's end of
/// stream, so `recv_multi` refuses it, and hyper's reads of a
/// `UnixStream` receive one-shot: they still see the end.
#[test]
fn unix_streams_are_refused_and_their_hyper_reads_see_the_end() {
    use futures::AsyncWriteExt;
    on_all_flavors(|_| async {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let e = ops::recv_multi(&SharedFd::new(a.into())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);

        let (mut a, mut b) = aio::net::UnixStream::pair().unwrap();
        AsyncWriteExt::write_all(&mut a, b"last words")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut a).await.unwrap();
        let mut got = [0u8; 10];
        hyper_read_exact(&mut b, &mut got).await;
        assert_eq!(&got, b"last words");
        let mut rest = [0u8; 4];
        assert_eq!(hyper_read(&mut b, &mut rest).await, 0, "the end of stream");
    });
}

/// After hyper read a stream, its receive stays armed in the adapter: an
/// owned-buffer read would miss what the adapter takes, so it fails,
/// saying to read through the adapter, which still has every byte.
#[test]
fn an_owned_read_after_hyper_reads_fails_and_the_adapter_has_the_bytes() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    on_all_flavors(|_| async {
        let (mut a, mut b) = pair().await;
        AsyncWriteExt::write_all(&mut a, b"first").await.unwrap();
        AsyncWriteExt::flush(&mut a).await.unwrap();
        let mut got = [0u8; 5];
        hyper_read_exact(&mut b, &mut got).await;
        assert_eq!(&got, b"first");
        AsyncWriteExt::write_all(&mut a, b"second").await.unwrap();
        AsyncWriteExt::close(&mut a).await.unwrap();
        let armed = !matches!(std::env::var("AIO_DRIVER").as_deref(), Ok("epoll"));
        let (res, buf) = b.read(Vec::with_capacity(16)).await;
        if armed {
            let e = res.expect_err("an owned read behind an armed receive");
            assert!(
                e.to_string().contains("read the rest through the adapter"),
                "{e}"
            );
            let mut rest = Vec::new();
            AsyncReadExt::read_to_end(&mut b, &mut rest).await.unwrap();
            assert_eq!(rest, b"second");
        } else {
            // On epoll hyper's read left nothing behind.
            let n = res.unwrap();
            assert_eq!(&buf[..n], &b"second"[..n]);
        }
    });
}

/// A read left waiting in a `block_on` that returns is cancelled when
/// that call's ring closes under it; the next read, in a later call, is
/// made again and gets the bytes, not `ECANCELED` (hyper's multishot
/// receive, and a futures-io read's one-shot receive).
#[test]
fn a_read_cancelled_by_a_closed_block_on_ring_is_made_again() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    for flavor in common::multi_thread_flavors() {
        let rt = flavor.runtime();
        let (mut a, mut b) = rt.block_on(pair());
        let (mut c, mut d) = rt.block_on(pair());
        rt.block_on(async {
            let mut buf = [0u8; 4];
            let mut read = Box::pin(hyper_read(&mut b, &mut buf));
            assert!(
                common::poll_once(&mut read).await.is_none(),
                "nothing sent yet"
            );
            let mut buf = [0u8; 4];
            let mut read = Box::pin(AsyncReadExt::read(&mut d, &mut buf));
            assert!(
                common::poll_once(&mut read).await.is_none(),
                "nothing sent yet"
            );
        });
        rt.block_on(async {
            AsyncWriteExt::write_all(&mut a, b"ping").await.unwrap();
            AsyncWriteExt::flush(&mut a).await.unwrap();
            let mut got = [0u8; 4];
            hyper_read_exact(&mut b, &mut got).await;
            assert_eq!(&got, b"ping", "[{flavor:?}] hyper's read");
            AsyncWriteExt::write_all(&mut c, b"pong").await.unwrap();
            AsyncWriteExt::flush(&mut c).await.unwrap();
            let mut got = [0u8; 4];
            AsyncReadExt::read_exact(&mut d, &mut got).await.unwrap();
            assert_eq!(&got, b"pong", "[{flavor:?}] a futures-io read");
        });
    }
}
