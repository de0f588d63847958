//! Behaviour of the IP sockets over loopback: `TcpListener` / `TcpStream`
//! owned-buffer reads and writes (`read`, `write`, `write_all`, `writev`),
//! `shutdown`, addresses, `into_split`, `close`; `TcpSocket` options
//! (`SO_REUSEADDR`, `SO_REUSEPORT`, `TCP_NODELAY`); `lookup_host`; and
//! `UdpSocket` round trips (addressed and connected); the multishot
//! `TcpListener::incoming`. Each body runs on
//! current_thread, 1 and 4 workers.

mod common;

use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr};
use std::time::Duration;

use aio::io::IoBuf;
use aio::net::{lookup_host, TcpListener, TcpSocket, TcpStream, UdpSocket};
use common::on_all_flavors;

const HANG: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test if it hangs. The guard's timer is polled
/// first, so a lost wakeup fails too instead of being rescued by the
/// timer's wake (as `wait_for`, which polls `f` first, would).
async fn within<F: std::future::IntoFuture>(f: F) -> F::Output {
    aio::select! {
        biased;
        _ = aio::sleep(HANG) => panic!("hung for {HANG:?}, or a wakeup was lost"),
        out = f => out,
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 253) as u8).collect()
}

/// A listener on an ephemeral loopback port and a connected pair:
/// (client, server side, listener).
async fn pair() -> (TcpStream, TcpStream, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The kernel completes the handshake from the backlog, so connecting
    // first and accepting second cannot deadlock.
    let client = within(TcpStream::connect(addr)).await.unwrap();
    let (server, peer) = within(listener.accept()).await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (client, server, listener)
}

/// Reads until `n` bytes arrived or end of stream.
async fn read_n(s: &TcpStream, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < n {
        let (res, buf) = within(s.read(Vec::with_capacity(64 * 1024))).await;
        let got = res.expect("read");
        if got == 0 {
            break;
        }
        assert_eq!(buf.len(), got, "read must grow the Vec by what it read");
        out.extend_from_slice(&buf);
    }
    out
}

/// Reads until end of stream.
async fn read_to_eof(s: &TcpStream) -> Vec<u8> {
    read_n(s, usize::MAX).await
}

#[test]
fn read_write_write_all_writev_and_addresses() {
    on_all_flavors(|_| async {
        let (client, server, listener) = pair().await;
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        assert_eq!(client.peer_addr().unwrap(), addr);
        assert_eq!(server.local_addr().unwrap(), addr);
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());

        // write: some bytes, exactly those arrive.
        let (n, buf) = within(client.write(b"hello".to_vec())).await;
        let n = n.unwrap();
        assert!((1..=5).contains(&n));
        assert_eq!(buf, b"hello", "the buffer comes back unchanged");
        assert_eq!(read_n(&server, n).await, &b"hello"[..n]);

        // A read into a view after len() keeps what the buffer held.
        let mut v = Vec::with_capacity(32);
        v.extend_from_slice(b">>");
        within(server.write_all(b"abc".to_vec())).await.0.unwrap();
        let (res, v) = within(client.read(v.slice(2..))).await;
        let v = v.into_inner();
        let got = res.unwrap();
        assert!((1..=3).contains(&got));
        assert_eq!(&v[..], &b">>abc"[..2 + got]);
        let rest = read_n(&client, 3 - got).await;
        assert_eq!(rest, &b"abc"[got..]);

        // write_all of more than the socket buffers hold, read concurrently.
        let big = pattern(4 << 20);
        let (w, r) = within(async {
            aio::gather!(client.write_all(big.clone()), read_n(&server, big.len())).await
        })
        .await;
        w.0.unwrap();
        assert_eq!(w.1.len(), big.len(), "write_all gives the buffer back");
        assert!(r == big, "write_all's bytes arrived altered");

        // writev: one gathered write, in order.
        let bufs = vec![b"ab".to_vec(), b"cd".to_vec(), b"ef".to_vec()];
        let (n, bufs) = within(client.writev(bufs)).await;
        let n = n.unwrap();
        assert!((1..=6).contains(&n));
        assert_eq!(bufs.len(), 3);
        assert_eq!(read_n(&server, n).await, &b"abcdef"[..n]);

        // An empty write_all is fine and sends nothing.
        within(client.write_all(Vec::new())).await.0.unwrap();
    });
}

/// One multishot accept serves many connections: 64 clients connect at
/// once (some before the accept is armed, some while connections are
/// being taken), and each comes out exactly once, with its own peer.
/// The listener's own `accept` still works beside it.
/// A task that sends in a loop, its sends never waiting for room (a
/// datagram; on epoll each is done in its first poll), still lets the
/// other tasks of its worker run: every op spends a unit of the task's
/// cooperative budget.
#[test]
fn a_task_whose_sends_never_wait_still_lets_the_others_run() {
    on_all_flavors(|_| async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = rx.local_addr().unwrap();
        let sender = aio::spawn(async move {
            let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = ran.clone();
            // Spawned from the sender: queued on the sender's worker.
            let other = aio::spawn(async move {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let mut buf = vec![7u8; 8];
            for sends in 0..100_000u32 {
                if ran.load(std::sync::atomic::Ordering::SeqCst) {
                    return Some((sends, other));
                }
                let (res, b) = tx.send_to(buf, to).await;
                res.unwrap();
                buf = b;
            }
            None
        });
        let (sends, other) = within(sender)
            .await
            .unwrap()
            .expect("the other task never ran while the sender sent 100,000 datagrams");
        other.await.unwrap();
        assert!(sends <= 100_000);
        drop(rx);
    });
}

#[test]
fn incoming_accepts_every_connection_once() {
    on_all_flavors(|_| async {
        const N: usize = 64;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = listener.incoming();
        let early = within(TcpStream::connect(addr)).await.unwrap();
        let clients = aio::spawn(async move {
            let mut v = vec![early];
            for _ in 1..N {
                v.push(TcpStream::connect(addr).await.unwrap());
            }
            v
        });
        let mut peers = Vec::new();
        for _ in 0..N {
            let conn = within(incoming.accept()).await.unwrap();
            peers.push(conn.peer_addr().unwrap());
            // Each accepted stream is a working connection.
            within(conn.write_all(b"x".to_vec())).await.0.unwrap();
        }
        let clients = clients.await.unwrap();
        let mut expected: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        peers.sort();
        expected.sort();
        assert_eq!(peers, expected, "every client accepted once");
        for c in &clients {
            assert_eq!(read_n(c, 1).await, b"x");
        }
        // The one-shot accept of the same listener still works while the
        // multishot one is dropped.
        drop(incoming);
        let late = within(TcpStream::connect(addr)).await.unwrap();
        let (conn, peer) = within(listener.accept()).await.unwrap();
        assert_eq!(peer, late.local_addr().unwrap());
        drop(conn);
    });
}

#[test]
fn shutdown_write_gives_eof_and_the_other_direction_still_works() {
    on_all_flavors(|_| async {
        let (client, server, _l) = pair().await;
        within(client.write_all(b"last words".to_vec()))
            .await
            .0
            .unwrap();
        within(client.shutdown(Shutdown::Write)).await.unwrap();
        assert_eq!(read_to_eof(&server).await, b"last words");
        // EOF again.
        let (n, _) = within(server.read(Vec::with_capacity(8))).await;
        assert_eq!(n.unwrap(), 0);
        // The server can still answer, the client still read.
        within(server.write_all(b"answer".to_vec()))
            .await
            .0
            .unwrap();
        within(server.shutdown(Shutdown::Both)).await.unwrap();
        assert_eq!(read_to_eof(&client).await, b"answer");
    });
}

#[test]
fn close_reports_ok_and_the_peer_reads_eof() {
    on_all_flavors(|_| async {
        let (client, server, _l) = pair().await;
        within(client.write_all(b"bye".to_vec())).await.0.unwrap();
        within(client.close()).await.unwrap();
        assert_eq!(read_to_eof(&server).await, b"bye");
        within(server.close()).await.unwrap();
    });
}

#[test]
fn into_split_halves_and_dropping_the_write_half_gives_eof() {
    on_all_flavors(|_| async {
        let (client, server, _l) = pair().await;
        let (mut rh, wh) = client.into_split();
        within(wh.write_all(b"ping".to_vec())).await.0.unwrap();
        assert_eq!(read_n(&server, 4).await, b"ping");
        within(server.write_all(b"pong".to_vec())).await.0.unwrap();
        let (n, buf) = within(rh.read(Vec::with_capacity(16))).await;
        let n = n.unwrap();
        assert_eq!(&buf[..n], &b"pong"[..n]);

        // The halves work from different tasks.
        let reader = aio::spawn(async move {
            let mut got = buf;
            loop {
                let (res, b) = rh.read(Vec::with_capacity(64)).await;
                match res.unwrap() {
                    0 => return got,
                    _ => got.extend_from_slice(&b),
                }
            }
        });
        let (n, bufs) = within(wh.writev(vec![b"x".to_vec(), b"y".to_vec()])).await;
        assert_eq!(bufs.len(), 2);
        let n = n.unwrap();
        assert_eq!(read_n(&server, n).await, &b"xy"[..n]);

        // Dropping the write half: the server reads end of stream...
        drop(wh);
        assert_eq!(read_to_eof(&server).await, b"");
        // ...and can still write to the read half, which sees its EOF later.
        within(server.write_all(b" and more".to_vec()))
            .await
            .0
            .unwrap();
        drop(server);
        let got = within(reader).await.unwrap();
        assert_eq!(got, b"pong and more");
    });
}

#[test]
fn from_std_takes_over_listeners_and_streams() {
    on_all_flavors(|_| async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let client = TcpStream::from_std(std_client).unwrap();
        let (server, _) = within(listener.accept()).await.unwrap();
        within(client.write_all(b"std".to_vec())).await.0.unwrap();
        assert_eq!(read_n(&server, 3).await, b"std");
    });
}

#[test]
fn nodelay_getter_follows_the_setter() {
    on_all_flavors(|_| async {
        let (client, server, _l) = pair().await;
        for s in [&client, &server] {
            s.set_nodelay(true).unwrap();
            assert!(s.nodelay().unwrap());
            s.set_nodelay(false).unwrap();
            assert!(!s.nodelay().unwrap());
        }
    });
}

#[test]
fn reuseport_lets_two_listeners_share_a_port() {
    on_all_flavors(|_| async {
        let a = TcpSocket::new_v4().unwrap();
        a.set_reuseport(true).unwrap();
        a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let la = a.listen(128).unwrap();
        let addr = la.local_addr().unwrap();

        let b = TcpSocket::new_v4().unwrap();
        b.set_reuseport(true).unwrap();
        b.bind(addr).unwrap();
        let lb = b.listen(128).unwrap();
        assert_eq!(lb.local_addr().unwrap(), addr);

        // A third without SO_REUSEPORT is refused.
        let c = TcpSocket::new_v4().unwrap();
        let e = c.bind(addr).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");

        // A connection to the port is accepted by one of the two.
        let client = within(TcpStream::connect(addr)).await.unwrap();
        let (server, peer) = within(async {
            aio::select! {
                r = la.accept() => r,
                r = lb.accept() => r,
            }
        })
        .await
        .unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        within(client.write_all(b"hi".to_vec())).await.0.unwrap();
        assert_eq!(read_n(&server, 2).await, b"hi");
    });
}

#[test]
fn reuseaddr_allows_binding_a_port_held_by_a_closed_connection() {
    on_all_flavors(|_| async {
        let (client, server, listener) = pair().await;
        let addr = listener.local_addr().unwrap();
        within(listener.close()).await.unwrap();
        // The server side closes first: its socket, bound to `addr`, goes
        // to FIN_WAIT2 / TIME_WAIT and keeps the port.
        within(server.close()).await.unwrap();
        assert_eq!(read_to_eof(&client).await, b"");
        within(client.close()).await.unwrap();

        let plain = TcpSocket::new_v4().unwrap();
        let e = plain.bind(addr).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");

        let reuse = TcpSocket::new_v4().unwrap();
        reuse.set_reuseaddr(true).unwrap();
        reuse.bind(addr).unwrap();
        let l = reuse.listen(16).unwrap();
        assert_eq!(l.local_addr().unwrap(), addr);
        // And it serves.
        let c = within(TcpStream::connect(addr)).await.unwrap();
        let (s, _) = within(l.accept()).await.unwrap();
        within(c.write_all(b"again".to_vec())).await.0.unwrap();
        assert_eq!(read_n(&s, 5).await, b"again");
    });
}

#[test]
fn tcp_socket_connect_and_buffer_options() {
    on_all_flavors(|_| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = TcpSocket::new_v4().unwrap();
        s.set_nodelay(true).unwrap();
        s.set_keepalive(true).unwrap();
        s.set_send_buffer_size(64 * 1024).unwrap();
        s.set_recv_buffer_size(64 * 1024).unwrap();
        s.set_linger(Some(Duration::from_secs(1))).unwrap();
        let client = within(s.connect(addr)).await.unwrap();
        assert!(
            client.nodelay().unwrap(),
            "TCP_NODELAY set before connect is kept"
        );
        let (server, _) = within(listener.accept()).await.unwrap();
        within(client.write_all(b"opts".to_vec())).await.0.unwrap();
        assert_eq!(read_n(&server, 4).await, b"opts");
        // IPv6 sockets can be made (binding ::1 may be unavailable).
        let _ = TcpSocket::new_v6();
    });
}

#[test]
fn lookup_host_resolves_names_and_literals() {
    on_all_flavors(|_| async {
        let addrs = within(lookup_host("localhost:80")).await.unwrap();
        assert!(!addrs.is_empty());
        assert!(
            addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80),
            "{addrs:?}"
        );

        let addrs = within(lookup_host(("localhost", 8080))).await.unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 8080));

        let want = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80);
        assert_eq!(
            within(lookup_host(("127.0.0.1", 80))).await.unwrap(),
            [want]
        );
        assert_eq!(within(lookup_host("127.0.0.1:80")).await.unwrap(), [want]);
        assert_eq!(within(lookup_host(want)).await.unwrap(), [want]);
        assert_eq!(
            within(lookup_host(String::from("127.0.0.1:80")))
                .await
                .unwrap(),
            [want]
        );
        let v6 = within(lookup_host("[::1]:443")).await.unwrap();
        assert_eq!(v6, ["[::1]:443".parse::<SocketAddr>().unwrap()]);
    });
}

#[test]
fn udp_round_trip_keeps_datagram_boundaries() {
    on_all_flavors(|_| async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind(("127.0.0.1", 0)).await.unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert!(aa.ip().is_loopback() && aa.port() != 0 && aa != ba);

        // Three datagrams, three receives, boundaries kept.
        for msg in [&b"one"[..], b"two!", b""] {
            let (n, buf) = within(a.send_to(msg.to_vec(), ba)).await;
            assert_eq!(n.unwrap(), msg.len());
            assert_eq!(buf, msg);
        }
        for msg in [&b"one"[..], b"two!", b""] {
            let (res, buf) = within(b.recv_from(Vec::with_capacity(1500))).await;
            let (n, from) = res.unwrap();
            assert_eq!((&buf[..n], from), (msg, aa));
        }

        // A receive waiting before the datagram is sent; the reply goes
        // back to the sender's address.
        let (got, replied, sent) = within(async {
            aio::gather!(
                a.recv_from(Vec::with_capacity(64)),
                async {
                    let (res, buf) = b.recv_from(Vec::with_capacity(64)).await;
                    let (n, from) = res.unwrap();
                    b.send_to(buf[..n].to_ascii_uppercase(), from).await.0
                },
                a.send_to(b"shout".to_vec(), ba),
            )
            .await
        })
        .await;
        sent.0.unwrap();
        replied.unwrap();
        let (res, buf) = got;
        assert_eq!(res.unwrap(), (5, ba));
        assert_eq!(buf, b"SHOUT");

        // A datagram longer than the room is cut, and the rest discarded:
        // the next receive gets the next datagram.
        within(a.send_to(pattern(100), ba)).await.0.unwrap();
        within(a.send_to(b"next".to_vec(), ba)).await.0.unwrap();
        let (res, buf) = within(b.recv_from(Vec::with_capacity(10))).await;
        assert_eq!(res.unwrap().0, 10);
        assert_eq!(buf, &pattern(100)[..10]);
        let (res, buf) = within(b.recv_from(Vec::with_capacity(64))).await;
        assert_eq!(&buf[..res.unwrap().0], b"next");

        // Connected: send / recv, and only the peer is heard.
        a.connect(ba).await.unwrap();
        b.connect(aa).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), ba);
        let third = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        within(third.send_to(b"stranger".to_vec(), aa))
            .await
            .0
            .unwrap();
        assert_eq!(within(b.send(b"peer".to_vec())).await.0.unwrap(), 4);
        let (n, buf) = within(a.recv(Vec::with_capacity(64))).await;
        assert_eq!(&buf[..n.unwrap()], b"peer");

        // A connected socket whose peer is gone hears ConnectionRefused
        // (loopback delivers the ICMP port-unreachable).
        let gone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let gone_addr = gone.local_addr().unwrap();
        within(gone.close()).await.unwrap();
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.connect(gone_addr).await.unwrap();
        within(s.send(b"anyone?".to_vec())).await.0.unwrap();
        let (res, _) = within(s.recv(Vec::with_capacity(64))).await;
        assert_eq!(
            res.unwrap_err().kind(),
            std::io::ErrorKind::ConnectionRefused
        );
    });
}

/// Busy work that the optimizer cannot remove: `n` rounds of xorshift.
fn burn(n: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// Two workers, eight connections whose handlers each burn a few
/// milliseconds of CPU per message, driven by a plain-thread client (so
/// only I/O wakes the handlers). Between rounds the idle worker hands the
/// tasks its ring wakes to the running one, so the connections gather on
/// one ring; a worker busy past its saturation limit must still wake the
/// other to steal, so the handlers run on both workers in many rounds.
/// (Without the saturation wake, the rounds after the first few run on one
/// thread.)
#[test]
fn cpu_heavy_handlers_woken_by_io_spread_over_both_workers() {
    use std::collections::HashSet;
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    const CONNS: usize = 8;
    const ROUNDS: usize = 30;
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // Per round, the threads that ran a handler's burn.
    let seen: Arc<Mutex<Vec<HashSet<std::thread::ThreadId>>>> =
        Arc::new(Mutex::new(vec![HashSet::new(); ROUNDS]));
    let seen2 = seen.clone();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut conns: Vec<std::net::TcpStream> = (0..CONNS)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect();
            for _ in 0..ROUNDS {
                for c in &mut conns {
                    c.write_all(&[7]).unwrap();
                }
                for c in &mut conns {
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                }
            }
        });
        let mut handlers = Vec::new();
        for _ in 0..CONNS {
            let seen = seen2.clone();
            let (server, _) = within(listener.accept()).await.unwrap();
            handlers.push(aio::spawn(async move {
                let mut buf = Vec::with_capacity(1);
                for round in 0..ROUNDS {
                    buf.clear();
                    let (n, b) = server.read(buf).await;
                    buf = b;
                    assert_eq!(n.unwrap(), 1);
                    burn(3_000_000);
                    seen.lock().unwrap()[round].insert(std::thread::current().id());
                    let (res, b) = server.write_all(buf).await;
                    buf = b;
                    res.unwrap();
                }
            }));
        }
        for h in handlers {
            within(h).await.unwrap();
        }
        aio::to_thread(move || client.join().unwrap()).await;
    });
    let counts: Vec<usize> = seen.lock().unwrap().iter().map(|s| s.len()).collect();
    let both = counts.iter().filter(|&&n| n >= 2).count();
    assert!(
        both >= ROUNDS / 4,
        "the handlers ran on both workers in only {both} of {ROUNDS} rounds: {counts:?}"
    );
}

/// Two workers. A handler's read is armed on one worker's ring; the other
/// worker is stuck in one long poll (a spinner that never yields). When
/// the read completes, the parked worker hands the handler to its
/// "running" sibling, which cannot take it while it spins; the parked
/// worker must take it back and run it itself, while the spinner still
/// spins. (Without the re-check after a hand-off, the handler waits for
/// the spinner's 10 s safety limit.)
#[test]
fn a_task_handed_to_a_sibling_stuck_in_a_long_poll_is_taken_back() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    use std::thread::ThreadId;
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = within(listener.accept()).await.unwrap();
        let ring: Arc<Mutex<Option<ThreadId>>> = Arc::default();
        let spinning = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, sp, st) = (ring.clone(), spinning.clone(), stop.clone());
        let handler = aio::spawn(async move {
            let mut read = Box::pin(server.read(Vec::with_capacity(1)));
            // Armed on this worker's ring by this first poll.
            let first = common::poll_once(&mut read).await;
            assert!(first.is_none(), "nothing was sent yet");
            *r.lock().unwrap() = Some(std::thread::current().id());
            let (n, _) = read.await;
            assert_eq!(n.unwrap(), 1);
            let saw_spin = sp.load(SeqCst);
            st.store(true, SeqCst);
            saw_spin
        });
        common::yield_until(|| ring.lock().unwrap().is_some()).await;
        let ring_thread = ring.lock().unwrap().unwrap();
        // A spinner on the other worker (a spawn that lands on the ring's
        // worker gives up, and we try again).
        let spinner = loop {
            let (sp, st) = (spinning.clone(), stop.clone());
            let t = aio::spawn(async move {
                if std::thread::current().id() == ring_thread {
                    return false;
                }
                sp.store(true, SeqCst);
                let limit = std::time::Instant::now() + Duration::from_secs(10);
                while !st.load(SeqCst) && std::time::Instant::now() < limit {
                    std::hint::spin_loop();
                }
                sp.store(false, SeqCst);
                true
            });
            common::yield_until(|| spinning.load(SeqCst) || t.is_done()).await;
            if spinning.load(SeqCst) {
                break t;
            }
        };
        client.write_all(&[1]).unwrap();
        let saw_spin = within(handler).await.unwrap();
        assert!(within(spinner).await.unwrap());
        assert!(
            saw_spin,
            "the handler waited for the spinner's long poll to end"
        );
    });
}
