//! Unix socket behaviour, each test on the default (multi-thread) runtime
//! and on a current-thread one.

use super::{UnixListener, UnixStream};
use crate::udp::tests::on_each_flavor;
use aio_runtime::io::IoBuf;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A fresh directory under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// `name` is unique per test; the flavors run one after the other and
    /// each drops its directory before the next starts.
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("aio-unix-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn read_exactly(s: &UnixStream, n: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(n);
    while buf.len() < n {
        let at = buf.len();
        let (r, b) = s.read(buf.slice(at..)).await;
        buf = b.into_inner();
        assert_ne!(
            r.unwrap(),
            0,
            "end of stream after {} of {n} bytes",
            buf.len()
        );
    }
    buf
}

#[test]
fn bind_connect_accept_echo() {
    on_each_flavor(|| async {
        let dir = TempDir::new("echo");
        let path = dir.join("echo.sock");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let server = aio::spawn(async move {
            let (conn, peer) = listener.accept().await.unwrap();
            assert!(peer.is_unnamed(), "accepted peer: {peer:?}");
            assert_eq!(peer.as_pathname(), None);
            assert_eq!(peer.as_abstract_name(), None);
            let (n, buf) = conn.read(Vec::with_capacity(64)).await;
            assert_eq!(n.unwrap(), 5);
            conn.write_all(buf).await.0.unwrap();
        });
        let client = UnixStream::connect(&path).await.unwrap();
        assert!(client.local_addr().unwrap().is_unnamed());
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        client.write_all(b"hello".to_vec()).await.0.unwrap();
        assert_eq!(read_exactly(&client, 5).await, b"hello");
        server.await.unwrap();
        client.close().await.unwrap();
    });
}

#[test]
fn accepted_stream_reports_the_listener_path() {
    on_each_flavor(|| async {
        let dir = TempDir::new("accepted");
        let path = dir.join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let _client = UnixStream::connect(&path).await.unwrap();
        let (conn, _) = listener.accept().await.unwrap();
        assert_eq!(conn.local_addr().unwrap(), listener.local_addr().unwrap());
        assert!(conn.peer_addr().unwrap().is_unnamed());
        assert_eq!(format!("{:?}", conn.peer_addr().unwrap()), "(unnamed)");
        assert_eq!(
            format!("{:?}", conn.local_addr().unwrap()),
            format!("{path:?} (pathname)")
        );
        listener.close().await.unwrap();
    });
}

#[test]
fn pair_round_trip_both_ways() {
    on_each_flavor(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(b.peer_addr().unwrap().is_unnamed());
        a.write_all(b"ping".to_vec()).await.0.unwrap();
        assert_eq!(read_exactly(&b, 4).await, b"ping");
        let (n, _) = b.writev(vec![b"po".to_vec(), b"ng".to_vec()]).await;
        assert_eq!(n.unwrap(), 4);
        assert_eq!(read_exactly(&a, 4).await, b"pong");
    });
}

#[test]
fn pair_is_nonblocking_and_cloexec() {
    on_each_flavor(|| async {
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(socket2::SockRef::from(&a).nonblocking().unwrap());
        // SAFETY: F_GETFD on an fd that `a` holds open.
        let flags = unsafe { libc::fcntl(a.as_raw_fd(), libc::F_GETFD) };
        assert!(
            flags >= 0 && flags & libc::FD_CLOEXEC != 0,
            "fd flags {flags}"
        );
    });
}

#[test]
fn dropping_the_write_half_gives_eof_at_the_peer() {
    on_each_flavor(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut r, w) = a.into_split();
        w.write_all(b"last".to_vec()).await.0.unwrap();
        drop(w);
        assert_eq!(read_exactly(&b, 4).await, b"last");
        let (n, _) = b.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0, "expected end of stream");
        // The read half still works: only the write direction was shut.
        b.write_all(b"back".to_vec()).await.0.unwrap();
        let (n, buf) = r.read(Vec::with_capacity(8)).await;
        assert_eq!(&buf[..n.unwrap()], b"back");
    });
}

#[test]
fn shutdown_write_gives_eof_at_the_peer() {
    on_each_flavor(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        a.shutdown(Shutdown::Write).await.unwrap();
        let (n, _) = b.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0);
    });
}

#[test]
fn bind_to_an_existing_path_is_addr_in_use() {
    on_each_flavor(|| async {
        let dir = TempDir::new("in-use");
        let path = dir.join("taken");
        let _first = UnixListener::bind(&path).unwrap();
        let e = UnixListener::bind(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
        assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
    });
}

#[test]
fn too_long_or_nul_paths_are_invalid_input() {
    on_each_flavor(|| async {
        let long = Path::new("/tmp").join("x".repeat(120));
        let nul = Path::new("/tmp/aio\0sock");
        let at_limit = PathBuf::from(format!("/{}", "y".repeat(107)));
        for path in [long.as_path(), nul, Path::new(""), at_limit.as_path()] {
            let e = UnixListener::bind(path).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "bind {path:?}: {e}");
            assert!(e.to_string().contains(&format!("{path:?}")), "{e}");
            let e = UnixStream::connect(path).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "connect {path:?}: {e}");
            assert!(e.to_string().contains(&format!("{path:?}")), "{e}");
        }
        // 107 bytes is the most a sockaddr_un holds, and it binds.
        let dir = TempDir::new("limits");
        let prefix = dir.0.as_os_str().len() + 1;
        assert!(prefix < 100, "temp dir too long for this test: {:?}", dir.0);
        let fits = dir.join(&"z".repeat(107 - prefix));
        assert_eq!(fits.as_os_str().len(), 107);
        let l = UnixListener::bind(&fits).unwrap();
        assert_eq!(l.local_addr().unwrap().as_pathname(), Some(fits.as_path()));
        let _client = UnixStream::connect(&fits).await.unwrap();
    });
}

#[test]
fn connect_errors_name_the_path() {
    on_each_flavor(|| async {
        let dir = TempDir::new("connect-err");
        let missing = dir.join("missing.sock");
        let e = UnixStream::connect(&missing).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains(missing.to_str().unwrap()), "{e}");

        // A socket file with no listener behind it.
        let stale = dir.join("stale.sock");
        UnixListener::bind(&stale).unwrap().close().await.unwrap();
        let e = UnixStream::connect(&stale).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn from_std_streams_and_listeners_work() {
    on_each_flavor(|| async {
        let dir = TempDir::new("from-std");
        let path = dir.join("std.sock");
        let listener =
            UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path).unwrap()).unwrap();
        let client =
            UnixStream::from_std(std::os::unix::net::UnixStream::connect(&path).unwrap()).unwrap();
        let (conn, _) = listener.accept().await.unwrap();
        client.write_all(b"std".to_vec()).await.0.unwrap();
        assert_eq!(read_exactly(&conn, 3).await, b"std");
    });
}

#[test]
fn futures_io_adapters_round_trip() {
    use futures_io::{AsyncRead, AsyncWrite};
    use std::future::poll_fn;
    use std::pin::Pin;
    on_each_flavor(|| async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let n = poll_fn(|cx| Pin::new(&mut a).poll_write(cx, b"adapted"))
            .await
            .unwrap();
        assert_eq!(n, 7);
        poll_fn(|cx| Pin::new(&mut a).poll_flush(cx)).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 7 {
            let mut chunk = [0u8; 16];
            let n = poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut chunk))
                .await
                .unwrap();
            assert_ne!(n, 0, "end of stream after {got:?}");
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, b"adapted");
        // Closing through the adapter shuts the write side: EOF at `b`.
        poll_fn(|cx| Pin::new(&mut a).poll_close(cx)).await.unwrap();
        let mut chunk = [0u8; 16];
        let n = poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut chunk))
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}
