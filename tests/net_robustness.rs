//! Robustness of the sockets and stream servers over loopback: a peer that
//! resets in the middle of a read or a write, bad addresses and ports,
//! ports already in use, a server closed while connections are open, a
//! panicking connection callback, and 10,000 concurrent idle connections.
//! Nothing that comes from the network may panic; every failure is an
//! `io::Error` that says what went wrong. Every body runs on
//! current_thread, 1 and 4 workers.

mod common;

use std::future::Future;
use std::io::ErrorKind;
use std::time::Duration;

use aio::net::{
    open_connection, start_server, Server, StreamReader, StreamWriter, TcpListener, TcpSocket,
    TcpStream,
};
use common::{
    ms, on_all_flavors, on_all_flavors_with, poll_once, yield_until, Counter, Latch, Reports,
    Watchdog,
};

const HANG: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test if it hangs. The guard's timer is polled
/// first, so a lost wakeup fails too instead of being rescued by the
/// timer's wake (as `wait_for`, which polls `f` first, would).
async fn within<F: std::future::IntoFuture>(f: F) -> F::Output {
    within_for(HANG, f).await
}

async fn within_for<F: std::future::IntoFuture>(bound: Duration, f: F) -> F::Output {
    aio::select! {
        biased;
        _ = aio::sleep(bound) => panic!("hung for {bound:?}, or a wakeup was lost"),
        out = f => out,
    }
}

async fn serve<F, Fut>(cb: F) -> Server
where
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    start_server(cb, "127.0.0.1", 0)
        .await
        .expect("start_server")
}

fn port(server: &Server) -> u16 {
    server.local_addrs()[0].port()
}

/// `server.wait_closed()`, re-polled between yields.
///
/// BUG workaround (net/src/stream/server.rs): `wait_closed` is not woken
/// when the accept loops end after `close()`; see
/// [`wait_closed_is_woken_when_the_accept_loops_end`]. Once fixed, this is
/// `server.wait_closed()`.
async fn closed(server: &Server) {
    let mut wait = std::pin::pin!(server.wait_closed());
    while poll_once(&mut wait).await.is_none() {
        aio::task::yield_now().await;
    }
}

/// Echoes lines until end of stream; `started` counts handlers that ran.
async fn echo_server(started: Counter, ended: Counter) -> Server {
    serve(move |mut r, w| {
        let (started, ended) = (started.clone(), ended.clone());
        async move {
            started.bump();
            let _ended = ended.drop_guard();
            loop {
                match r.readline().await {
                    Ok(line) if !line.is_empty() => {
                        w.write(&line);
                        if w.drain().await.is_err() {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            w.close();
        }
    })
    .await
}

async fn echo_once(r: &mut StreamReader, w: &StreamWriter, msg: &[u8]) {
    w.write(msg);
    within(w.drain()).await.unwrap();
    assert_eq!(within(r.readline()).await.unwrap(), msg);
}

/// Is this what a reset connection may report?
fn is_reset(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
}

/// A connected pair whose server side will reset when dropped.
async fn pair_with_resetting_server() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = within(TcpStream::connect(listener.local_addr().unwrap()))
        .await
        .unwrap();
    let (server, _) = within(listener.accept()).await.unwrap();
    server.set_linger(Some(Duration::ZERO)).unwrap();
    (client, server)
}

#[test]
fn a_reset_during_a_read_is_an_error_or_eof_never_a_panic() {
    on_all_flavors(|_| async {
        let (client, server) = pair_with_resetting_server().await;
        let mut read = Box::pin(client.read(Vec::with_capacity(64)));
        assert!(poll_once(&mut read).await.is_none(), "nothing was sent yet");
        drop(server); // SO_LINGER 0: RST
        let (res, _) = within(read).await;
        match res {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("a reset must read as ConnectionReset or EOF, got {other:?}"),
        }
        // Reading again is just as calm.
        let (res, _) = within(client.read(Vec::with_capacity(64))).await;
        assert!(
            matches!(&res, Ok(0)) || res.as_ref().is_err_and(|e| is_reset(e.kind())),
            "{res:?}"
        );

        // The same through a StreamReader, with half a line buffered.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mut r, _w) = within(open_connection("127.0.0.1", port)).await.unwrap();
        let (server, _) = within(listener.accept()).await.unwrap();
        server.set_linger(Some(Duration::ZERO)).unwrap();
        within(server.write_all(b"half a li".to_vec()))
            .await
            .0
            .unwrap();
        drop(server);
        for _ in 0..2 {
            match within(r.readline()).await {
                Ok(line) => assert!(b"half a li".starts_with(&line), "{line:?}"),
                Err(e) => assert!(is_reset(e.kind()), "{e}"),
            }
        }
    });
}

#[test]
fn a_reset_during_a_write_fails_the_write_and_drain() {
    // Far more than loopback buffers for a peer that does not read.
    const BIG: usize = 64 << 20;
    on_all_flavors(|_| async {
        let (client, server) = pair_with_resetting_server().await;
        let mut write = Box::pin(client.write_all(vec![1u8; BIG]));
        assert!(
            poll_once(&mut write).await.is_none(),
            "64 MiB cannot all be buffered"
        );
        drop(server);
        let (res, buf) = within(write).await;
        let e = res.expect_err("write_all to a reset peer");
        assert!(is_reset(e.kind()), "{e}");
        assert_eq!(buf.len(), BIG, "the buffer comes back");
        // Writing again fails at once, calmly.
        let (res, _) = within(client.write(b"more".to_vec())).await;
        assert!(is_reset(res.unwrap_err().kind()));

        // The same through a StreamWriter: a pending drain fails.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_r, w) = within(open_connection("127.0.0.1", port)).await.unwrap();
        let (server, _) = within(listener.accept()).await.unwrap();
        server.set_linger(Some(Duration::ZERO)).unwrap();
        w.write(&vec![2u8; BIG]);
        let mut drain = Box::pin(w.drain());
        assert!(poll_once(&mut drain).await.is_none());
        drop(server);
        let e = within(drain).await.expect_err("drain after a reset");
        assert!(is_reset(e.kind()), "{e}");
        assert!(w.is_closing(), "a failed writer reports is_closing()");
        // Later calls report the error too, and write() never panics.
        w.write(b"ignored");
        assert!(is_reset(within(w.drain()).await.unwrap_err().kind()));
        assert!(within(w.wait_closed()).await.is_err());
    });
}

#[test]
fn bad_addresses_and_ports_give_clear_errors() {
    on_all_flavors(|_| async {
        let e = TcpStream::connect("not an address").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("not an address"), "{e}");

        let e = TcpStream::connect("127.0.0.1:99999").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("99999"), "{e}");

        let e = TcpStream::connect(("", 80)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("empty host"), "{e}");

        let e = open_connection("", 80).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = TcpListener::bind("127.0.0.1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = start_server(|_r, _w| async {}, "", 0).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");

        // A privileged port: allowed for root, refused otherwise.
        match TcpListener::bind("127.0.0.1:1").await {
            Ok(l) => assert_eq!(l.local_addr().unwrap().port(), 1),
            Err(e) => assert!(e.to_string().contains("127.0.0.1:1"), "{e}"),
        }

        // Nobody listening: refused, naming the address.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        within(closed.close()).await.unwrap();
        let e = within(TcpStream::connect(addr)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
        let e = within(open_connection("127.0.0.1", addr.port()))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    });
}

#[test]
fn binding_a_port_in_use_is_addr_in_use_naming_the_address() {
    on_all_flavors(|_| async {
        let held = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = held.local_addr().unwrap();

        let s = TcpSocket::new_v4().unwrap();
        let e = s.bind(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");

        // SO_REUSEADDR does not let a second listener in.
        let e = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");

        let e = start_server(|_r, _w| async {}, "127.0.0.1", addr.port())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    });
}

#[test]
fn close_and_close_clients_end_a_server_with_open_connections() {
    on_all_flavors(|_| async {
        let (started, ended) = (Counter::new(), Counter::new());
        let server = echo_server(started.clone(), ended.clone()).await;
        assert!(server.is_serving());
        let mut clients = Vec::new();
        for i in 0..3 {
            let (mut r, w) = within(open_connection("127.0.0.1", port(&server)))
                .await
                .unwrap();
            echo_once(&mut r, &w, format!("client {i}\n").as_bytes()).await;
            clients.push((r, w));
        }
        assert_eq!(started.get(), 3);
        assert_eq!(ended.get(), 0);

        server.close();
        assert!(!server.is_serving());
        server.close_clients();
        within(closed(&server)).await;
        assert_eq!(
            ended.get(),
            3,
            "wait_closed returned before every handler ended"
        );

        // Every client sees its connection end.
        for (r, _w) in &mut clients {
            match within(r.readline()).await {
                Ok(line) => assert_eq!(line, b""),
                Err(e) => assert!(is_reset(e.kind()), "{e}"),
            }
        }
        // The listener is gone: new connections are refused.
        let e = within(open_connection("127.0.0.1", port(&server)))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        // Closing again is harmless, and wait_closed is ready at once.
        server.close();
        server.close_clients();
        assert!(poll_once(&mut Box::pin(server.wait_closed()))
            .await
            .is_some());
    });
}

#[test]
fn wait_closed_waits_for_every_handler() {
    on_all_flavors(|_| async {
        let started = Latch::counting(2);
        let hold = Latch::new();
        let ended = Counter::new();
        let (s, h, e) = (started.clone(), hold.clone(), ended.clone());
        let server = serve(move |_r, _w| {
            let (s, h, e) = (s.clone(), h.clone(), e.clone());
            async move {
                let _ended = e.drop_guard();
                s.count_down();
                // Ignores its connection (and close_clients) until released.
                h.wait().await;
            }
        })
        .await;
        let _c1 = within(open_connection("127.0.0.1", port(&server)))
            .await
            .unwrap();
        let _c2 = within(open_connection("127.0.0.1", port(&server)))
            .await
            .unwrap();
        within(started.wait()).await;

        server.close();
        server.close_clients();
        let mut wait = Box::pin(server.wait_closed());
        assert!(poll_once(&mut wait).await.is_none());
        // Not before the handlers end, however long it is given (this
        // bound decides nothing; completing would be the bug).
        assert!(aio::wait_for(&mut wait, ms(100)).await.is_err());
        assert_eq!(ended.get(), 0);

        hold.open();
        within(&mut wait).await;
        assert_eq!(ended.get(), 2);
    });
}

/// BUG (net/src/stream/server.rs): `close()` cancels the accept loop
/// tasks and wakes `wait_closed`'s waiters at once, but the tasks end
/// later (when next polled) and nothing wakes the waiters then; with no
/// handler left to end, `wait_closed` never completes. (`within` polls its
/// timer first, so the timer's wake cannot rescue it.) The doc examples of
/// `start_server` / `Server` await exactly this and hang.
#[test]
fn wait_closed_is_woken_when_the_accept_loops_end() {
    on_all_flavors(|_| async {
        let server = serve(|_r, _w| async {}).await;
        // A connection that came and went: no handler is active.
        let (mut r, _w) = within(open_connection("127.0.0.1", port(&server)))
            .await
            .unwrap();
        assert_eq!(within(r.readline()).await.unwrap(), b"");
        server.close();
        within_for(Duration::from_secs(10), server.wait_closed()).await;

        // And with no connection ever.
        let server = serve(|_r, _w| async {}).await;
        server.close();
        within_for(Duration::from_secs(10), server.wait_closed()).await;
    });
}

#[test]
fn a_panicking_callback_is_reported_and_closes_only_its_connection() {
    let reports = Reports::new();
    let rep = reports.clone();
    on_all_flavors_with(
        move |_, b| {
            b.exception_handler(rep.handler());
        },
        move |_| {
            let reports = reports.clone();
            async move {
                let server = serve(|mut r, w| async move {
                    while let Ok(line) = r.readline().await {
                        if line.is_empty() {
                            break;
                        }
                        if line == b"panic\n" {
                            panic!("boom in a connection callback");
                        }
                        w.write(&line);
                        let _ = w.drain().await;
                    }
                })
                .await;
                let (mut ra, wa) = within(open_connection("127.0.0.1", port(&server)))
                    .await
                    .unwrap();
                let (mut rb, wb) = within(open_connection("127.0.0.1", port(&server)))
                    .await
                    .unwrap();
                echo_once(&mut ra, &wa, b"a\n").await;
                echo_once(&mut rb, &wb, b"b\n").await;

                wa.write(b"panic\n");
                within(wa.drain()).await.unwrap();
                // A's connection ends...
                match within(ra.readline()).await {
                    Ok(line) => assert_eq!(line, b""),
                    Err(e) => assert!(is_reset(e.kind()), "{e}"),
                }
                // ...the panic is reported once...
                within(yield_until(|| !reports.messages().is_empty())).await;
                let got = reports.take();
                assert_eq!(got.len(), 1, "{got:?}");
                assert_eq!(got[0].message, "Task exception was never retrieved");
                assert_eq!(
                    got[0].panic.as_deref(),
                    Some("boom in a connection callback")
                );

                // ...and B, and new connections, are served as before.
                assert!(server.is_serving());
                echo_once(&mut rb, &wb, b"b again\n").await;
                let (mut rc, wc) = within(open_connection("127.0.0.1", port(&server)))
                    .await
                    .unwrap();
                echo_once(&mut rc, &wc, b"c\n").await;

                server.close();
                server.close_clients();
                within(closed(&server)).await;
                assert!(reports.take().is_empty());
            }
        },
    );
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns it.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    lim.rlim_max
}

/// The connections of the idle-connections test.
const IDLE_CONNS: usize = 10_000;
/// The child process that holds the client ends (so each process needs
/// one fd per connection, not two): set to the server's port.
const IDLE_CHILD_ENV: &str = "AIO_IDLE_CONNS_CHILD_PORT";

/// The client side, in a child process: opens `IDLE_CONNS` plain
/// blocking connections, echoes one line over the last and the first,
/// prints "ok", then holds them all until its stdin closes.
#[test]
#[ignore = "helper: run by ten_thousand_concurrent_idle_connections in a child process"]
fn idle_connections_child() {
    use std::io::{BufRead, Read, Write};
    let Ok(port) = std::env::var(IDLE_CHILD_ENV) else {
        return;
    };
    let port: u16 = port.parse().unwrap();
    let limit = raise_fd_limit();
    assert!(
        limit >= IDLE_CONNS as u64 + 256,
        "RLIMIT_NOFILE hard limit {limit} is below {IDLE_CONNS} connections"
    );
    let mut conns = Vec::with_capacity(IDLE_CONNS);
    for _ in 0..IDLE_CONNS {
        conns.push(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    }
    for i in [IDLE_CONNS - 1, 0] {
        let c = &mut conns[i];
        c.write_all(b"still here\n").unwrap();
        let mut got = [0u8; 11];
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"still here\n");
    }
    println!("ok {}", conns.len());
    std::io::stdout().flush().unwrap();
    // Hold every connection open until the parent says so.
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    drop(conns);
}

#[test]
fn ten_thousand_concurrent_idle_connections() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let limit = raise_fd_limit();
    assert!(
        limit >= IDLE_CONNS as u64 + 1024,
        "RLIMIT_NOFILE hard limit {limit} is below {IDLE_CONNS} connections"
    );
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, common::WATCHDOG);
        flavor.runtime().run(async move {
            let (started, ended) = (Counter::new(), Counter::new());
            let server = echo_server(started.clone(), ended.clone()).await;
            let port = port(&server);
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "idle_connections_child",
                    "--ignored",
                    "--nocapture",
                ])
                .env(IDLE_CHILD_ENV, port.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn the client process");
            let stdout = child.stdout.take().unwrap();
            // The child's blocking connects and reads: wait on the pool.
            let ready = aio::to_thread(move || {
                let mut out = std::io::BufReader::new(stdout);
                let mut line = String::new();
                while out.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line.starts_with("ok ") {
                        return (Some(line.trim_end().to_string()), out);
                    }
                    line.clear();
                }
                (None, out)
            });
            let (line, mut out) = within_for(Duration::from_secs(120), ready).await;
            assert_eq!(line.as_deref(), Some("ok 10000"), "the child's report");
            // Every connection was accepted, has its handler, and is idle.
            // The child's report means the kernel holds every connection;
            // the last handlers may still be queued to start: wait for them.
            within(yield_until(|| started.get() >= IDLE_CONNS)).await;
            assert_eq!(started.get(), IDLE_CONNS);
            assert_eq!(ended.get(), 0);

            // Closing the clients ends every handler.
            drop(child.stdin.take());
            let status = aio::to_thread(move || {
                // Read the harness's last lines, so it never writes to a
                // closed pipe.
                let _ = std::io::copy(&mut out, &mut std::io::sink());
                child.wait()
            })
            .await
            .unwrap();
            assert!(status.success(), "client process: {status}");
            within(yield_until(|| ended.get() == IDLE_CONNS)).await;
            server.close();
            within(closed(&server)).await;
        });
    }
}

#[test]
fn a_connected_udp_socket_refused_by_its_peer_reports_it_then_waits_again() {
    on_all_flavors(|_| async {
        // A port with nobody on it: bind one, note it, close it.
        let gone = aio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = gone.local_addr().unwrap();
        drop(gone);
        let s = aio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.connect(addr).await.unwrap();
        // A receive already waiting when the error arrives (so on epoll the
        // error is reported as readiness).
        let mut first = Box::pin(s.recv(Vec::with_capacity(64)));
        assert!(poll_once(&mut first).await.is_none());
        s.send(b"anyone?".to_vec()).await.0.unwrap();
        // The ICMP port-unreachable comes back as the socket's error, and
        // the waiting receive reports it.
        let (first, _) = first.await;
        assert_eq!(first.unwrap_err().kind(), ErrorKind::ConnectionRefused);
        // Then nothing comes: the receive waits (on epoll the error's
        // readiness once stayed set and the receive retried its EAGAIN
        // forever, holding its worker) and the timeout ends it.
        let second = aio::wait_for(s.recv(Vec::with_capacity(64)), Duration::from_millis(50)).await;
        assert!(second.is_err(), "nothing was sent to us");
    });
}

#[test]
fn socket_errors_name_the_address_and_keep_the_os_error_as_their_source() {
    use std::error::Error as _;
    on_all_flavors(|_| async {
        // A port with nobody listening.
        let gone = aio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = gone.local_addr().unwrap();
        drop(gone);
        let err = aio::net::TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        let os = err
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .and_then(|e| e.raw_os_error());
        assert_eq!(os, Some(libc::ECONNREFUSED), "{err:?}");
    });
}
