//! A listening port is free for a new `bind` as soon as its listener is
//! gone: after the listener (and every `Incoming` of it) is dropped or
//! closed, after a stream server's `wait_closed`, and when `run` returns,
//! even while an accept is armed in the ring; when `run` returns, the
//! listening sockets are closed too. `TcpListener::bind` sets
//! `SO_REUSEADDR`, as tokio and asyncio do, so a port whose last
//! connection is in `TIME_WAIT` can be bound again.
//!
//! The binds here come right after the drop, with no yield in between:
//! an armed accept holds the socket's kernel file until the ring reaps its
//! cancel, so the listener must stop listening by itself (it is shut down
//! when its last handle goes), not wait for the ring. Every body runs on
//! current_thread, 1 and 4 workers. Processes that exit (the example
//! servers stopped by a signal) are covered by `examples_servers.rs`.

mod common;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use aio::net::{start_server, TcpListener, TcpStream};
use common::{on_all_flavors, poll_once, yield_until, Flavor, Watchdog};

/// A port that was free a moment ago (its probe listener is closed).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Binds `port` again (std sets `SO_REUSEADDR`, as most servers do).
fn rebind(port: u16, what: &str, flavor: Flavor) {
    if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
        panic!("[{flavor:?}] {what}: port {port} still bound: {e}");
    }
}

/// The inode of a listener's socket.
fn inode(l: &TcpListener) -> u64 {
    // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into `st`, which we own; the fd is open while
    // `l` lives.
    assert_eq!(unsafe { libc::fstat(l.as_raw_fd(), &mut st) }, 0);
    st.st_ino
}

/// Whether a descriptor of this process still refers to the socket `ino`.
fn socket_open(ino: u64) -> bool {
    let name = format!("socket:[{ino}]");
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|target| target.to_str() == Some(&name))
}

/// A listener on a fresh port, and the port.
async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn dropping_a_listener_with_an_armed_multishot_accept_frees_its_port_at_once() {
    on_all_flavors(|flavor| async move {
        let (l, port) = listener().await;
        let mut incoming = l.incoming();
        {
            let mut accept = Box::pin(incoming.accept());
            assert!(poll_once(&mut accept).await.is_none(), "armed, pending");
        }
        drop(l);
        // The Incoming alone keeps the socket listening.
        let c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let s = incoming.accept().await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        {
            let mut accept = Box::pin(incoming.accept());
            assert!(poll_once(&mut accept).await.is_none(), "armed again");
        }
        drop(incoming);
        rebind(port, "listener and Incoming dropped", flavor);
    });
}

#[test]
fn dropping_a_listener_after_a_cancelled_accept_frees_its_port_at_once() {
    on_all_flavors(|flavor| async move {
        let (l, port) = listener().await;
        let l = Arc::new(l);
        let (armed_tx, armed_rx) = aio::sync::oneshot::channel();
        let l2 = l.clone();
        let mut task = aio::spawn(async move {
            let mut accept = Box::pin(l2.accept());
            assert!(poll_once(&mut accept).await.is_none());
            let _ = armed_tx.send(());
            let _ = accept.await;
        });
        armed_rx.await.unwrap();
        task.cancel();
        assert!((&mut task).await.unwrap_err().is_cancelled());
        drop(l);
        rebind(port, "accept cancelled, listener dropped", flavor);
    });
}

#[test]
fn closing_a_listener_frees_its_port_when_close_returns() {
    on_all_flavors(|flavor| async move {
        let (l, port) = listener().await;
        let mut incoming = l.incoming();
        {
            let mut accept = Box::pin(incoming.accept());
            assert!(poll_once(&mut accept).await.is_none());
        }
        drop(incoming);
        l.close().await.unwrap();
        rebind(port, "listener closed", flavor);
    });
}

#[test]
fn a_closed_stream_server_frees_its_port_when_wait_closed_returns() {
    on_all_flavors(|flavor| async move {
        let port = free_port();
        let server = start_server(|_r, _w| async {}, "127.0.0.1", port)
            .await
            .unwrap();
        // A connection served proves the accept loop is armed.
        let (mut r, _w) = aio::net::open_connection("127.0.0.1", port).await.unwrap();
        assert_eq!(r.read(10).await.unwrap(), b"");
        server.close();
        server.wait_closed().await;
        // Not only std: a new aio server on the same port, at once.
        let again = start_server(|_r, _w| async {}, "127.0.0.1", port).await;
        let again = again.unwrap_or_else(|e| panic!("[{flavor:?}] restart on {port}: {e}"));
        again.close();
        again.wait_closed().await;
    });
}

#[test]
fn the_port_is_free_when_run_returns_with_accepts_still_armed() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, common::WATCHDOG);
        // A leftover task with an armed multishot accept, a leftover
        // one-shot accept, and a stream server nobody closed.
        let (ports, inodes): ([u16; 3], [u64; 2]) = flavor.runtime().run(async {
            let (a, pa) = listener().await;
            let (b, pb) = listener().await;
            let inodes = [inode(&a), inode(&b)];
            assert!(inodes.iter().all(|&ino| socket_open(ino)));
            let pc = free_port();
            let armed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let n = armed.clone();
            drop(aio::spawn(async move {
                let mut incoming = a.incoming();
                let mut accept = Box::pin(incoming.accept());
                assert!(poll_once(&mut accept).await.is_none());
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = accept.await;
            }));
            let n = armed.clone();
            drop(aio::spawn(async move {
                let mut accept = Box::pin(b.accept());
                assert!(poll_once(&mut accept).await.is_none());
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = accept.await;
            }));
            let server = start_server(|_r, _w| async {}, "127.0.0.1", pc)
                .await
                .unwrap();
            let (mut r, _w) = aio::net::open_connection("127.0.0.1", pc).await.unwrap();
            assert_eq!(r.read(10).await.unwrap(), b"");
            yield_until(|| armed.load(std::sync::atomic::Ordering::SeqCst) == 2).await;
            drop(server); // the handle does not own the server
            ([pa, pb, pc], inodes)
        });
        for port in ports {
            rebind(port, "run returned", flavor);
        }
        for ino in inodes {
            assert!(
                !socket_open(ino),
                "[{flavor:?}] a listener's fd outlived run"
            );
        }
    }
    // And with `block_on`, then `shutdown`.
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, common::WATCHDOG);
        let rt = flavor.runtime();
        let port = rt.block_on(async {
            let (l, port) = listener().await;
            drop(aio::spawn(async move {
                let mut incoming = l.incoming();
                let _ = incoming.accept().await;
            }));
            port
        });
        rt.shutdown(Duration::from_secs(10));
        rebind(port, "shutdown returned", flavor);
    }
}

#[test]
fn bind_sets_so_reuseaddr() {
    on_all_flavors(|_| async {
        let (l, _) = listener().await;
        let mut on: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `on`, which we
        // own; the fd is open while `l` lives.
        let r = unsafe {
            libc::getsockopt(
                l.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&mut on as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0);
        assert_eq!(on, 1, "SO_REUSEADDR is set");
    });
}
