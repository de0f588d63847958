//! Cancelled I/O leaks nothing: thousands of accepts, reads and connects
//! started and dropped leave no file descriptor open and free every
//! buffer; an accept that won the race with its cancel has its connection
//! closed (the client sees end of stream or a reset, never a hang); a
//! runtime dropped with a read in flight frees the read's buffer and
//! closes everything. Each test runs on current_thread, multi_thread with
//! 1 worker and with 4.
//!
//! On the epoll driver an op never outlives its future in the kernel (it
//! runs its syscall when polled), so the tests that race a completion
//! against its cancel, or count connections a multishot accept queued,
//! test what only io_uring does and say so when they run on epoll (CI runs
//! this file on both drivers: `AIO_DRIVER=epoll`). The leak tests hold on
//! both.
//!
//! Open fds are counted in `/proc/self/fd`, so the tests of this file run
//! one at a time (`SERIAL`). A dropped op is freed when its ring reaps the
//! cancel's completion, which happens when the ring's owner polls or parks:
//! the tests wait for the count to come back with `eventually`, a bounded
//! loop that parks this thread for 1 ms per round (waiting for a condition,
//! not sleeping as synchronisation).

mod common;

use aio::io::{IoBuf, IoBufMut};
use aio::net::{TcpListener, TcpSocket, TcpStream};
use common::{flavors, poll_once, scaled, yield_until, Flavor, Watchdog, WATCHDOG};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How many ops each leak test starts and drops, per flavor (divided by
/// `AIO_TEST_SCALE`, see [`flavors`]).
const OPS: usize = 10_000;
/// How many started ops a loop keeps pending at a time. It yields once per
/// window, so on 4 workers the task can move and drop ops that another
/// worker's ring submitted (their cancels then go through that ring's
/// mailbox).
const WINDOW: usize = 16;
/// Accept races per flavor (each binds its own listener; divided by
/// `AIO_TEST_SCALE`).
const RACES: usize = 500;

/// The hang limit per flavor: 4× longer under valgrind's serialized
/// threads (`AIO_MAX_PARK_US` set).
fn watchdog() -> Duration {
    if std::env::var_os("AIO_MAX_PARK_US").is_some() {
        4 * WATCHDOG
    } else {
        WATCHDOG
    }
}

/// The tests of this file count the process's fds: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The flavors run are those of `common::flavors` (`AIO_TEST_FLAVORS`),
/// and the ops counts are `common::scaled` (`AIO_TEST_SCALE`): valgrind
/// (run by `.ci/test-all`, suppressions in `tests/valgrind.supp`) is slow
/// on the multi_thread flavors: valgrind 3.19 keeps its global lock while
/// a thread blocks in `io_uring_enter`, so they run there with
/// `AIO_MAX_PARK_US` (a parked worker comes back every so often and lets
/// the others run) and fewer ops.
///
/// `common::on_all_flavors` with this file's watchdog.
fn on_flavors<F, Fut>(body: F)
where
    F: Fn(Flavor) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    for flavor in flavors() {
        let _dog = Watchdog::new(flavor, watchdog());
        flavor.runtime().run(body(flavor));
    }
}

/// Whether this runtime runs on io_uring; on epoll, says that the calling
/// test checks what only io_uring does (kernel-side ops racing their
/// cancel), and returns false.
fn io_uring_only(why: &str) -> bool {
    let on_uring = aio::runtime::Handle::current().driver() == aio::runtime::Driver::IoUring;
    if !on_uring {
        eprintln!("io_uring only, not run on epoll: {why}");
    }
    on_uring
}

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .count()
}

/// What the open fds are, for a failure message.
fn fd_report() -> String {
    let mut out = String::new();
    for e in std::fs::read_dir("/proc/self/fd").expect("list /proc/self/fd") {
        let e = e.expect("fd entry");
        let target = std::fs::read_link(e.path())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "?".into());
        out += &format!("\n  {:?} -> {target}", e.file_name());
    }
    out
}

/// Waits until `cond` holds, letting the runtime run: each round sleeps
/// 1 ms, which parks this thread in its ring (reaping its completions);
/// idle workers reap theirs as they park. Bounded, so a leak fails.
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..10_000 {
        if cond() {
            return true;
        }
        aio::sleep(Duration::from_millis(1)).await;
    }
    cond()
}

/// Asserts that the open fds come back to `base`.
async fn fds_back_to(base: usize, what: &str) {
    eventually(|| open_fds() <= base).await;
    let now = open_fds();
    assert_eq!(now, base, "{what}: open fds{}", fd_report());
}

/// Whether every worker thread (named `aio-worker`) sleeps in the kernel
/// (state `S` in `/proc/self/task/*/stat`): an idle worker parks in
/// `io_uring_enter`, and then only an unpark wakes it.
fn workers_asleep() -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    tasks.flatten().all(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != "aio-worker" {
            return true;
        }
        // "pid (comm) S ...": the state follows the last ')'.
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        // A thread that exited meanwhile has no stat: not a running worker.
        matches!(state, Some(Some('S')) | None)
    })
}

/// Buffers freed so far (`CountedBuf` drops).
static BUF_DROPS: AtomicUsize = AtomicUsize::new(0);

/// A `Vec<u8>` buffer that counts its drops in `BUF_DROPS`.
#[derive(Debug)]
struct CountedBuf(Vec<u8>);

impl CountedBuf {
    fn new() -> CountedBuf {
        CountedBuf(Vec::with_capacity(64))
    }
}

impl Drop for CountedBuf {
    fn drop(&mut self) {
        BUF_DROPS.fetch_add(1, SeqCst);
    }
}

// SAFETY: delegates to the inner `Vec<u8>`, whose heap allocation does not
// move when the wrapper moves and which only the wrapper can reach.
unsafe impl IoBuf for CountedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.0.stable_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.0.bytes_init()
    }
    fn bytes_total(&self) -> usize {
        self.0.bytes_total()
    }
}

// SAFETY: as for `IoBuf`; the same address, from the same `Vec`.
unsafe impl IoBufMut for CountedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.0.stable_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.set_init(pos) }
    }
}

/// Starts `n` ops (each polled once, which submits it) and drops them,
/// keeping up to `WINDOW` pending across a yield.
async fn start_and_drop<Fut: Future>(n: usize, mut start: impl FnMut(usize) -> Fut) {
    // On epoll an op whose syscall does not block finishes on its first
    // poll (an accept with a client waiting): its output is dropped too.
    let on_uring = aio::runtime::Handle::current().driver() == aio::runtime::Driver::IoUring;
    let mut pending = VecDeque::with_capacity(WINDOW + 1);
    for i in 0..n {
        let mut op = Box::pin(start(i));
        if poll_once(&mut op).await.is_some() {
            assert!(
                !on_uring,
                "op {i} finished on its first poll: it was not submitted"
            );
            continue;
        }
        pending.push_back(op);
        if pending.len() > WINDOW {
            drop(pending.pop_front());
        }
        if i % WINDOW == 0 {
            aio::task::yield_now().await;
        }
    }
}

/// A connected pair: (client, server).
async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (client, server)
}

/// The client's view of a connection the server closed without reading:
/// end of stream or a reset, never a hang (the caller awaits this).
fn assert_closed_by_peer(r: io::Result<usize>) {
    match r {
        Ok(0) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ) => {}
        other => panic!("expected end of stream or a reset, got {other:?}"),
    }
}

/// 10,000 accepts polled once and dropped, while clients connect now and
/// then (so some accepts complete after their drop and must close the
/// connection they got). Afterwards no accepted fd is open, and dropping
/// the listener closes it: no op record still holds it.
#[test]
fn dropped_accepts_leak_no_fd() {
    let _serial = serial();
    on_flavors(|_| async {
        let base = open_fds();
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let l = listener.clone();
        aio::spawn(async move {
            let mut clients = Vec::new();
            let l = &*l;
            start_and_drop(scaled(OPS), |i| {
                if i % 20 == 10 {
                    // Loopback connects complete in the backlog (500 < 1024)
                    // without an accept, so this never blocks for long.
                    clients.push(std::net::TcpStream::connect(addr).expect("connect"));
                }
                l.accept()
            })
            .await;
        })
        .await
        .unwrap();
        fds_back_to(base + 1, "accepts dropped, the listener open").await;
        drop(listener);
        fds_back_to(base, "the listener dropped").await;
    });
}

/// Multishot accepts (`TcpListener::incoming`) dropped with connections
/// queued in them, and with accepts still arriving: 500 rounds of arm,
/// connect 4 clients, take at most one, yield (so on 4 workers the drop
/// may run on another thread than the ring's, and its cancel goes through
/// the mailbox), drop. Then the listener is dropped: every client sees end
/// of stream or a reset (its connection was closed by a dropped incoming,
/// or by the listener's close while still in the backlog) and no fd is
/// left open.
#[test]
fn dropped_incomings_close_their_queued_connections() {
    let _serial = serial();
    on_flavors(|_| async {
        if !io_uring_only("an incoming on epoll queues no connection: it accepts when polled") {
            return;
        }
        let base = open_fds();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for round in 0..scaled(RACES) {
            let mut incoming = listener.incoming();
            {
                // Arm it (nothing is queued yet, or an old connection is).
                let mut arm = Box::pin(incoming.accept());
                drop(poll_once(&mut arm).await);
            }
            for _ in 0..4 {
                clients.push(TcpStream::connect(addr).await.expect("connect"));
            }
            if round % 2 == 0 {
                drop(incoming.accept().await.expect("a queued connection"));
            }
            aio::task::yield_now().await;
            drop(incoming);
        }
        drop(listener);
        for c in &clients {
            let (r, _) = c.read(Vec::with_capacity(8)).await;
            assert_closed_by_peer(r);
        }
        drop(clients);
        fds_back_to(base, "incomings and the listener dropped").await;
    });
}

/// An `Incoming` armed but not taken from, while 3 × `ACCEPT_QUEUE_MAX`
/// clients connect one after another: it stops accepting (pauses) once
/// `ACCEPT_QUEUE_MAX` connections wait, so the rest stay in the listen
/// backlog instead of becoming open fds; taking from it re-arms it, and
/// every client's connection comes out, none lost.
#[test]
fn an_incoming_nobody_takes_from_pauses_at_its_queue_limit_and_loses_no_connection() {
    use aio::io::ops::ACCEPT_QUEUE_MAX;
    let _serial = serial();
    on_flavors(|_| async {
        let clients_n = 3 * ACCEPT_QUEUE_MAX;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = listener.incoming();
        // Arm it with a first connection, taken.
        let first = TcpStream::connect(addr).await.unwrap();
        let taken = incoming.accept().await.unwrap();
        assert_eq!(taken.peer_addr().unwrap(), first.local_addr().unwrap());
        let base = open_fds();
        let mut clients = Vec::new();
        for _ in 0..clients_n {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
        }
        // Let the rings run a while longer: the bound holds at any time.
        for _ in 0..10 {
            aio::sleep(Duration::from_millis(1)).await;
        }
        let accepted = open_fds() - base - clients_n;
        assert!(
            accepted <= ACCEPT_QUEUE_MAX + 8,
            "{accepted} connections accepted while nobody took them (limit {ACCEPT_QUEUE_MAX})"
        );
        let mut peers = std::collections::HashSet::new();
        for _ in 0..clients_n {
            let conn = incoming.accept().await.expect("a connection");
            peers.insert(conn.peer_addr().unwrap());
        }
        let mine: std::collections::HashSet<_> =
            clients.iter().map(|c| c.local_addr().unwrap()).collect();
        assert_eq!(peers, mine, "every client's connection, once");
    });
}

/// 10,000 reads on an idle connection, started and dropped: every buffer is
/// freed (once its cancel completed) and no fd leaks.
#[test]
fn dropped_reads_free_their_buffers_and_leak_no_fd() {
    let _serial = serial();
    on_flavors(|_| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = pair(&listener).await;
        let base = open_fds();
        let freed = BUF_DROPS.load(SeqCst);
        let client = Arc::new(client);
        let c = client.clone();
        aio::spawn(async move {
            let c = &*c;
            start_and_drop(scaled(OPS), |_| c.read(CountedBuf::new())).await;
        })
        .await
        .unwrap();
        let all = eventually(|| BUF_DROPS.load(SeqCst) - freed >= scaled(OPS)).await;
        assert!(
            all,
            "buffers freed: {} of {}",
            BUF_DROPS.load(SeqCst) - freed,
            scaled(OPS)
        );
        assert_eq!(
            BUF_DROPS.load(SeqCst) - freed,
            scaled(OPS),
            "a buffer freed twice"
        );
        fds_back_to(base, "reads dropped").await;
        // The connection still works: nothing was consumed by the cancelled
        // reads' records.
        server.write_all(b"ok".to_vec()).await.0.unwrap();
        let (n, buf) = client.read(Vec::with_capacity(8)).await;
        assert_eq!(&buf[..n.unwrap()], b"ok");
    });
}

/// 10,000 connects to a listening socket, each dropped after its first
/// poll: whether the connect was cancelled or completed anyway, the socket
/// is closed once the kernel is done with it.
#[test]
fn dropped_connects_close_their_sockets() {
    let _serial = serial();
    on_flavors(|_| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = open_fds();
        aio::spawn(async move {
            start_and_drop(scaled(OPS), |_| TcpSocket::new_v4().unwrap().connect(addr)).await;
        })
        .await
        .unwrap();
        fds_back_to(base, "connects dropped").await;
        drop(listener);
    });
}

/// A client connects while the server's accept is dropped, `RACES` times:
/// half the drops are immediate (the accept and its cancel race in the
/// kernel), half come after the kernel accepted (the fd exists; the
/// dropped future or the completion must close it). The client then sees
/// end of stream or a reset, and no fd stays open.
#[test]
fn an_accept_that_wins_against_its_cancel_closes_the_connection() {
    let _serial = serial();
    on_flavors(|_| async {
        if !io_uring_only("an accept on epoll never completes after its future is dropped") {
            return;
        }
        let base = open_fds();
        aio::spawn(async move {
            for i in 0..scaled(RACES) {
                let start = open_fds();
                // A listener per round: a connection its accept did not
                // take is reset when it closes, so no client waits forever.
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let mut accept = Box::pin(listener.accept());
                assert!(poll_once(&mut accept).await.is_none());
                let client = TcpStream::connect(addr).await.expect("connect");
                if i % 2 == 1 {
                    // listener + client + the accepted socket.
                    let accepted = eventually(|| open_fds() >= start + 3).await;
                    assert!(accepted, "round {i}: the kernel never accepted");
                }
                drop(accept);
                drop(listener);
                // Only the client is left: the accepted socket (if any) and
                // the listener were closed. Checked before reading, so that
                // a leak fails here instead of hanging the read.
                fds_back_to(start + 1, &format!("round {i}")).await;
                let (r, _) = client.read(Vec::with_capacity(8)).await;
                assert_closed_by_peer(r);
            }
        })
        .await
        .unwrap();
        fds_back_to(base, "accept races").await;
    });
}

/// A read dropped before completion, then its stream dropped: the socket
/// closes (the peer reads end of stream) and the buffer is freed.
#[test]
fn a_stream_dropped_after_a_dropped_read_closes_and_frees_all() {
    let _serial = serial();
    on_flavors(|_| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = open_fds();
        let freed = BUF_DROPS.load(SeqCst);
        let (client, server) = pair(&listener).await;
        let mut read = Box::pin(server.read(CountedBuf::new()));
        assert!(poll_once(&mut read).await.is_none());
        drop(read);
        drop(server);
        // The server socket closes when the cancelled read's record is
        // freed: only the client is left, and it reads end of stream.
        fds_back_to(base + 1, "read and server dropped").await;
        let (n, _) = client.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0, "the server side is closed");
        drop(client);
        fds_back_to(base, "stream and read dropped").await;
        assert!(eventually(|| BUF_DROPS.load(SeqCst) - freed == 1).await);
    });
}

/// Ops started by a task (on a worker's ring) and dropped by the main
/// future (another thread, another ring): each cancel goes through the
/// submitting ring's mailbox, and everything is freed.
#[test]
fn ops_dropped_on_another_thread_are_freed() {
    type Read = Pin<Box<dyn Future<Output = aio::io::BufResult<usize, CountedBuf>> + Send>>;
    type Accept = Pin<Box<dyn Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send>>;
    let _serial = serial();
    on_flavors(|_| async {
        let base = open_fds();
        let freed = BUF_DROPS.load(SeqCst);
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let (client, server) = pair(&listener).await;
        let (server, l) = (Arc::new(server), listener.clone());
        let (reads, accepts) = aio::spawn(async move {
            let (mut reads, mut accepts) = (Vec::new(), Vec::new());
            for _ in 0..scaled(OPS) / 2 {
                let s = server.clone();
                let mut r: Read = Box::pin(async move { s.read(CountedBuf::new()).await });
                assert!(poll_once(&mut r).await.is_none());
                reads.push(r);
                let l = l.clone();
                let mut a: Accept = Box::pin(async move { l.accept().await });
                assert!(poll_once(&mut a).await.is_none());
                accepts.push(a);
            }
            (reads, accepts)
        })
        .await
        .unwrap();
        // Let the workers go idle first, so that only the mailbox's unpark
        // can get the cancels submitted. (With `AIO_MAX_PARK_US`, set
        // under valgrind, they never stay asleep: skipped.)
        if std::env::var_os("AIO_MAX_PARK_US").is_none() {
            assert!(eventually(workers_asleep).await, "the workers never parked");
        }
        drop(reads);
        drop(accepts);
        drop(listener);
        let all = eventually(|| BUF_DROPS.load(SeqCst) - freed >= scaled(OPS) / 2).await;
        assert!(
            all,
            "buffers freed: {} of {}",
            BUF_DROPS.load(SeqCst) - freed,
            scaled(OPS) / 2
        );
        // The server socket and the listener close with the last record
        // that holds them: only the client is left.
        fds_back_to(base + 1, "ops dropped on another thread").await;
        let (n, _) = client.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0, "the server side is closed");
        drop(client);
        fds_back_to(base, "the client dropped").await;
    });
}

/// A server handler that writes more than the socket buffers hold to a
/// client that never reads, then returns: the dropped writer's flush is
/// stuck, and after its linger (100 ms here) the connection is aborted and
/// its socket closed. Without the linger the in-flight send would keep the
/// fd open for as long as the client stays connected.
#[test]
fn a_dropped_writer_stuck_on_a_peer_that_never_reads_is_aborted_after_its_linger() {
    let _serial = serial();
    on_flavors(|_| async {
        let base = open_fds();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let server = aio::net::start_server(
            move |r, w| {
                let d = d.clone();
                async move {
                    w.set_linger(Some(Duration::from_millis(100)));
                    // 32 MiB: more than the client's receive and the server's
                    // send buffers together (6 + 4 MiB at most on Linux).
                    w.write(&vec![7u8; 32 << 20]);
                    drop((r, w));
                    d.store(true, SeqCst);
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.local_addrs()[0].port();
        let client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        yield_until(|| done.load(SeqCst)).await;
        // The listener and the client stay; the server's side is closed.
        fds_back_to(base + 2, "the stuck writer's connection").await;
        // The client sees the abort: data, then a reset or end of stream.
        let mut got = 0usize;
        loop {
            let (r, _) = client.read(Vec::with_capacity(1 << 20)).await;
            match r {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => {
                    assert_closed_by_peer(Err(e));
                    break;
                }
            }
        }
        assert!(
            got < 32 << 20,
            "the aborted writer's bytes did not all arrive"
        );
        drop(client);
        server.close();
        fds_back_to(base, "the server closed").await;
    });
}

/// A runtime dropped while a task awaits a read: shutdown cancels the task,
/// the read's op is cancelled, the ring waits for its completion before it
/// closes (the buffer is freed, not leaked), and every fd is closed, even
/// while a `Handle` of the runtime is still held (shutdown closes the
/// rings, not the last handle).
#[test]
fn runtime_shutdown_with_a_read_in_flight_leaks_nothing() {
    let _serial = serial();
    for flavor in flavors() {
        let _dog = Watchdog::new(flavor, watchdog());
        let before = open_fds();
        let freed = BUF_DROPS.load(SeqCst);
        let rt = flavor.runtime();
        let kept = rt.handle().clone();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let (client, server) = pair(&listener).await;
            let reading = Arc::new(AtomicBool::new(false));
            let r = reading.clone();
            drop(aio::spawn(async move {
                let _idle_peer = client;
                let mut read = Box::pin(server.read(CountedBuf::new()));
                assert!(poll_once(&mut read).await.is_none());
                r.store(true, SeqCst);
                let _ = read.await;
                unreachable!("nobody writes to this connection");
            }));
            yield_until(|| reading.load(SeqCst)).await;
        });
        drop(rt);
        assert_eq!(
            BUF_DROPS.load(SeqCst) - freed,
            1,
            "{flavor:?}: the in-flight read's buffer is freed at shutdown"
        );
        // The runtime's threads have exited; their rings are closed.
        let mut now = open_fds();
        for _ in 0..1000 {
            if now <= before {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            now = open_fds();
        }
        assert_eq!(
            now,
            before,
            "{flavor:?}: open fds after shutdown{}",
            fd_report()
        );
        drop(kept);
    }
}
