//! Multishot receives into a ring's provided buffers (`ops::recv_multi`,
//! what the adapters read with on io_uring): messages arrive in order,
//! one buffer each; a pool that runs dry ends the receive with `ENOBUFS`
//! and loses nothing; buffers come back to the pool when dropped, when a
//! receive with results queued is dropped, and when one pauses with its
//! queue full. Each test runs on current_thread, 1 and 4 workers, in the
//! main future (one thread, so one ring and one pool).
//!
//! On the epoll driver, or a kernel before 6.10, there is no pool:
//! `recv_multi` is `None` (the adapters then receive one-shot) and the
//! tests say so and stop.

mod common;

use aio::io::ops::{self, MultiOp, RecvBuf, RecvMulti, RECV_POOL_BUFS, RECV_QUEUE_MAX};
use aio::io::SharedFd;
use common::{on_all_flavors, poll_once, yield_until};
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

/// A connected pair of Unix stream sockets: ours (shared) and the peer's.
fn pair() -> (SharedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: plain syscall filling a two-int array.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(r, 0, "socketpair: {}", io::Error::last_os_error());
    // SAFETY: two fresh fds that nothing else owns.
    unsafe {
        (
            SharedFd::new(OwnedFd::from_raw_fd(fds[0])),
            OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

fn send(peer: &OwnedFd, data: &[u8]) {
    // SAFETY: plain syscall on our fd, reading `data`.
    let n = unsafe { libc::send(peer.as_raw_fd(), data.as_ptr().cast(), data.len(), 0) };
    assert_eq!(
        n,
        data.len() as isize,
        "send: {}",
        io::Error::last_os_error()
    );
}

async fn next(m: &mut MultiOp<RecvMulti>) -> Option<io::Result<Option<RecvBuf>>> {
    poll_fn(|cx| m.poll_next(cx)).await
}

/// A multishot receive here, or `None` (said once) where there is none.
fn arm(fd: &SharedFd) -> Option<MultiOp<RecvMulti>> {
    let m = ops::recv_multi(fd);
    if m.is_none() {
        eprintln!("no multishot receive on this driver/kernel: io_uring 6.10+ only");
    }
    m
}

/// Takes the whole pool through `m`, one 1-byte message per buffer
/// (`first` on), then checks the next message finds it empty (`ENOBUFS`,
/// the op ends) and stays in the socket. Returns the buffers taken.
async fn take_the_pool(m: &mut MultiOp<RecvMulti>, peer: &OwnedFd, first: u8) -> Vec<RecvBuf> {
    let mut held = Vec::new();
    for i in 0..RECV_POOL_BUFS {
        let byte = first.wrapping_add(i as u8);
        send(peer, &[byte]);
        let b = next(m)
            .await
            .expect("a result")
            .expect("no error")
            .expect("data");
        assert_eq!(&b[..], &[byte], "message {i} in order, in its own buffer");
        held.push(b);
    }
    send(peer, &[0xee]);
    let err = next(m).await.expect("a result").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOBUFS), "{err}");
    assert!(next(m).await.is_none(), "ENOBUFS ends the op");
    held
}

/// A new receive, which first gets the byte `take_the_pool` left in the
/// socket (its buffer goes back at once).
async fn the_kept_byte(fd: &SharedFd) -> MultiOp<RecvMulti> {
    let mut m = arm(fd).expect("a pool here");
    let b = next(&mut m)
        .await
        .expect("a result")
        .expect("no error")
        .expect("data");
    assert_eq!(
        &b[..],
        &[0xee],
        "the message that found the pool empty waited"
    );
    m
}

#[test]
fn a_pool_that_runs_dry_ends_the_receive_loses_nothing_and_refills_when_buffers_drop() {
    on_all_flavors(|_| async {
        let (fd, peer) = pair();
        let Some(mut m) = arm(&fd) else { return };
        let held = take_the_pool(&mut m, &peer, 0).await;
        drop(held);
        // Every buffer came back: the whole pool can be taken again.
        let mut m = the_kept_byte(&fd).await;
        drop(take_the_pool(&mut m, &peer, 100).await);
        // End of stream is the last result.
        let mut m = the_kept_byte(&fd).await;
        drop(peer);
        assert!(
            matches!(next(&mut m).await, Some(Ok(None))),
            "end of stream"
        );
        assert!(next(&mut m).await.is_none());
    });
}

/// Records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn a_dropped_receive_gives_its_queued_buffers_back() {
    on_all_flavors(|_| async {
        let (fd, peer) = pair();
        let Some(mut m) = arm(&fd) else { return };
        // Armed and waiting; a message comes and is queued in the op.
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        assert!(m.poll_next(&mut Context::from_waker(&waker)).is_pending());
        send(&peer, b"queued");
        yield_until(|| flag.0.load(SeqCst)).await;
        // Dropped with it queued: its bytes are lost, its buffer goes back
        // (else the pool would be one short below). (Another socket: one
        // sent to this one before the cancel reaches the kernel could
        // still be taken by the dropped op, and lost with it.)
        drop(m);
        let (fd, peer) = pair();
        let mut m = arm(&fd).expect("a pool here");
        drop(take_the_pool(&mut m, &peer, 0).await);
        let mut m = the_kept_byte(&fd).await;
        drop(peer);
        assert!(
            matches!(next(&mut m).await, Some(Ok(None))),
            "end of stream"
        );
    });
}

#[test]
fn a_receive_nobody_takes_from_for_a_while_loses_nothing_and_keeps_the_order() {
    on_all_flavors(|_| async {
        let (fd, peer) = pair();
        let Some(mut m) = arm(&fd) else { return };
        assert!(poll_once(&mut Box::pin(next(&mut m))).await.is_none());
        // Messages while nobody takes: the op queues them, pausing once
        // its queue is full (RECV_QUEUE_MAX); the rest waits in the
        // socket.
        let total = 3 * RECV_QUEUE_MAX;
        for i in 0..total {
            send(&peer, &[i as u8]);
            for _ in 0..4 {
                aio::task::yield_now().await;
            }
        }
        drop(peer);
        // All of them, once, in order, then the end (re-armed whenever an
        // op ended).
        let mut got = Vec::new();
        loop {
            match next(&mut m).await {
                Some(Ok(Some(b))) => got.extend_from_slice(&b),
                Some(Ok(None)) => break,
                Some(Err(e)) => panic!("{e}"),
                None => m = arm(&fd).expect("a pool here"),
            }
        }
        let want: Vec<u8> = (0..total as u8).collect();
        assert_eq!(got, want);
    });
}
