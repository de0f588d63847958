//! The owned-buffer read contract over TCP, UDP and Unix sockets: a read
//! writes from the start of whatever buffer it is given, up to its
//! capacity, and `&buf[..n]` holds what arrived (tokio-uring's and
//! monoio's contract), for `vec![0; N]`, `Vec::with_capacity(N)`,
//! `[u8; N]`, `Box<[u8]>` and a slice view; and buffers of 2 GiB and
//! more (capacity only: untouched pages cost nothing) neither fail nor
//! read as end of stream, and "all" writes of 2.5 GiB arrive whole. Each
//! body runs on current_thread, 1 and 4 workers.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use aio::io::{IoBuf, IoBufMut, Slice};
use aio::net::{open_connection, start_server, TcpListener, TcpStream, UdpSocket, UnixStream};
use common::on_all_flavors;

const HANG: Duration = Duration::from_secs(60);

/// Awaits `f`, failing the test if it hangs.
async fn within<F: std::future::IntoFuture>(f: F) -> F::Output {
    aio::select! {
        biased;
        _ = aio::sleep(HANG) => panic!("hung for {HANG:?}"),
        out = f => out,
    }
}

const DATA: &[u8] = b"hello";

/// A connected stream pair of one transport, behind one interface.
trait Pair: Sized {
    fn write(&self, data: &'static [u8]) -> Pin<Box<dyn Future<Output = ()> + '_>>;
    fn read<B: IoBufMut>(&self, buf: B) -> Pin<Box<dyn Future<Output = (usize, B)> + '_>>;
}

struct Tcp(TcpStream, TcpStream);
struct Unix(UnixStream, UnixStream);

impl Pair for Tcp {
    fn write(&self, data: &'static [u8]) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(async move { self.0.write_all(data).await.0.unwrap() })
    }
    fn read<B: IoBufMut>(&self, buf: B) -> Pin<Box<dyn Future<Output = (usize, B)> + '_>> {
        Box::pin(async move {
            let (n, buf) = self.1.read(buf).await;
            (n.unwrap(), buf)
        })
    }
}

impl Pair for Unix {
    fn write(&self, data: &'static [u8]) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(async move { self.0.write_all(data).await.0.unwrap() })
    }
    fn read<B: IoBufMut>(&self, buf: B) -> Pin<Box<dyn Future<Output = (usize, B)> + '_>> {
        Box::pin(async move {
            let (n, buf) = self.1.read(buf).await;
            (n.unwrap(), buf)
        })
    }
}

async fn tcp() -> Tcp {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (c, s) = aio::gather!(TcpStream::connect(addr), l.accept()).await;
    Tcp(c.unwrap(), s.unwrap().0)
}

fn unix() -> Unix {
    let (a, b) = UnixStream::pair().unwrap();
    Unix(a, b)
}

/// Every kind of buffer reads the 5 waiting bytes from its start.
async fn every_buffer_reads_from_its_start(p: &impl Pair) {
    p.write(DATA).await;
    let (n, v) = within(p.read(vec![0u8; 16])).await;
    assert_eq!(n, 5, "vec![0; 16]: a full buffer is not end of stream");
    assert_eq!(&v[..n], DATA);

    p.write(DATA).await;
    let (n, v) = within(p.read(Vec::with_capacity(16))).await;
    assert_eq!(
        (n, &v[..]),
        (5, DATA),
        "Vec::with_capacity: its length is n"
    );

    p.write(DATA).await;
    let (n, a) = within(p.read([0u8; 16])).await;
    assert_eq!(n, 5, "[u8; 16]");
    assert_eq!(&a[..n], DATA);

    p.write(DATA).await;
    let (n, b) = within(p.read(vec![7u8; 16].into_boxed_slice())).await;
    assert_eq!(n, 5, "Box<[u8]>");
    assert_eq!(&b[..n], DATA);
    assert_eq!(b[n], 7, "bytes after n are left alone");

    // A view after the bytes a Vec already holds: they are kept.
    p.write(DATA).await;
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(b"> ");
    let (n, view): (usize, Slice<Vec<u8>>) = within(p.read(v.slice(2..))).await;
    assert_eq!(n, 5, "a slice view");
    assert_eq!(&view[..], DATA);
    assert_eq!(view.into_inner(), b"> hello");

    // A view in the middle of a filled buffer writes only inside it.
    p.write(DATA).await;
    let (n, view) = within(p.read(vec![b'-'; 12].slice(3..8))).await;
    assert_eq!(n, 5);
    assert_eq!(view.into_inner(), b"---hello----");

    // A reused buffer: the second read overwrites from the start.
    p.write(b"abcdefgh").await;
    let mut v = Vec::with_capacity(8);
    while v.len() < 8 {
        // The 8 bytes may come in pieces: read the rest after them.
        let at = v.len();
        let (n, view) = within(p.read(v.slice(at..))).await;
        assert_ne!(n, 0);
        v = view.into_inner();
    }
    assert_eq!(v, b"abcdefgh");
    p.write(b"xy").await;
    let (n, v) = within(p.read(v)).await;
    assert_eq!(&v[..n], b"xy", "a read writes from the start of the buffer");
}

#[test]
fn tcp_reads_into_every_kind_of_buffer() {
    on_all_flavors(|_| async {
        let p = within(tcp()).await;
        every_buffer_reads_from_its_start(&p).await;
    });
}

#[test]
fn unix_reads_into_every_kind_of_buffer() {
    on_all_flavors(|_| async {
        every_buffer_reads_from_its_start(&unix()).await;
    });
}

async fn udp_pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    (a, b)
}

/// Sends one datagram from `a` to `b` and receives it into `buf`.
async fn datagram<B: IoBufMut>(a: &UdpSocket, b: &UdpSocket, buf: B) -> (usize, B) {
    a.send_to(DATA, b.local_addr().unwrap()).await.0.unwrap();
    let (r, buf) = within(b.recv_from(buf)).await;
    let (n, from) = r.unwrap();
    assert_eq!(from, a.local_addr().unwrap());
    (n, buf)
}

#[test]
fn udp_receives_into_every_kind_of_buffer() {
    on_all_flavors(|_| async {
        let (a, b) = udp_pair().await;
        let (n, v) = datagram(&a, &b, vec![0u8; 64]).await;
        assert_eq!(
            &v[..n],
            DATA,
            "vec![0; 64] (was Ok(0): the datagram was lost)"
        );
        let (n, v) = datagram(&a, &b, Vec::with_capacity(64)).await;
        assert_eq!((n, &v[..]), (5, DATA));
        let (n, arr) = datagram(&a, &b, [0u8; 64]).await;
        assert_eq!(&arr[..n], DATA, "[u8; 64]");
        let (n, bx) = datagram(&a, &b, vec![0u8; 64].into_boxed_slice()).await;
        assert_eq!(&bx[..n], DATA, "Box<[u8]>");
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(b"> ");
        let (n, view) = datagram(&a, &b, v.slice(2..)).await;
        assert_eq!(n, 5);
        assert_eq!(view.into_inner(), b"> hello", "a slice view");

        // Connected sockets: recv.
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        a.send(DATA).await.0.unwrap();
        let (n, arr) = within(b.recv([0u8; 64])).await;
        assert_eq!(&arr[..n.unwrap()], DATA, "recv into [u8; 64]");
    });
}

#[test]
fn a_zero_length_buffer_reads_zero_bytes() {
    on_all_flavors(|_| async {
        let p = unix();
        p.write(DATA).await;
        let (n, _) = within(p.read(Vec::new())).await;
        assert_eq!(n, 0, "no room: Ok(0)");
        let (n, v) = within(p.read(Vec::with_capacity(16))).await;
        assert_eq!(&v[..n], DATA, "and nothing was consumed");
    });
}

// ------------------------------------------------------- 2 GiB and more

const GIB: usize = 1 << 30;

/// Reads `DATA` into an untouched buffer of `cap` bytes of capacity.
async fn read_into_capacity(p: &impl Pair, cap: usize) {
    p.write(DATA).await;
    let (n, v) = within(p.read(Vec::<u8>::with_capacity(cap))).await;
    assert_eq!(n, 5, "a read into {cap} bytes of capacity");
    assert_eq!(&v[..], DATA);
}

#[test]
fn reads_into_buffers_of_2_gib_and_more() {
    on_all_flavors(|_| async {
        let t = within(tcp()).await;
        let u = unix();
        // 3 GiB failed with EINVAL, 4 GiB read as end of stream.
        for cap in [2 * GIB, 3 * GIB, 4 * GIB, 5 * GIB] {
            read_into_capacity(&t, cap).await;
            read_into_capacity(&u, cap).await;
        }
        let (a, b) = udp_pair().await;
        for cap in [3 * GIB, 4 * GIB] {
            let (n, v) = datagram(&a, &b, Vec::<u8>::with_capacity(cap)).await;
            assert_eq!((n, &v[..]), (5, DATA), "recv_from into {cap} bytes");
        }
    });
}

/// 2.5 GiB: more than one call can carry (and than an `i32` counts).
const BIG: usize = 5 * GIB / 2 + 100;

/// A zeroed buffer of `BIG` bytes (untouched pages: no memory) with
/// markers at a few offsets, and the offsets.
fn big_buffer() -> (Vec<u8>, Vec<(usize, u8)>) {
    let mut v = vec![0u8; BIG];
    let marks = vec![(0, 1), (GIB, 2), (2 * GIB + 7, 3), (BIG - 1, 4)];
    for &(at, b) in &marks {
        v[at] = b;
    }
    (v, marks)
}

/// Reads until end of stream; returns the byte count, checking markers.
async fn count_to_eof(r: &UnixStream, marks: &[(usize, u8)]) -> usize {
    let mut total = 0;
    let mut buf = Vec::with_capacity(1 << 20);
    loop {
        let (n, b) = r.read(buf).await;
        buf = b;
        let n = n.unwrap();
        if n == 0 {
            return total;
        }
        for &(at, want) in marks {
            if (total..total + n).contains(&at) {
                assert_eq!(buf[at - total], want, "byte {at}");
            }
        }
        total += n;
    }
}

#[test]
fn write_all_of_2_5_gib_arrives_whole() {
    on_all_flavors(|_| async {
        let (w, r) = UnixStream::pair().unwrap();
        let (buf, marks) = big_buffer();
        let writer = aio::spawn(async move {
            let (res, buf) = w.write_all(buf).await;
            res.expect("write_all of 2.5 GiB (was WriteZero past 4 GiB, EINVAL past 2)");
            assert_eq!(buf.len(), BIG);
            // Dropping `w` ends the stream.
        });
        let got = within(count_to_eof(&r, &marks)).await;
        writer.await.unwrap();
        assert_eq!(got, BIG);
    });
}

#[test]
fn a_stream_writer_drains_2_5_gib() {
    on_all_flavors(|_| async {
        let (tx, rx) = aio::sync::oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        let server = start_server(
            move |mut reader, _writer| {
                let tx = tx.lock().unwrap().take();
                async move {
                    let mut total = 0usize;
                    loop {
                        let chunk = reader.read(1 << 20).await.unwrap();
                        if chunk.is_empty() {
                            break;
                        }
                        total += chunk.len();
                    }
                    if let Some(tx) = tx {
                        let _ = tx.send(total);
                    }
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.local_addrs()[0].port();
        let (_r, w) = open_connection("127.0.0.1", port).await.unwrap();
        let (data, _) = big_buffer();
        w.write(&data);
        drop(data);
        within(w.drain())
            .await
            .expect("drain of 2.5 GiB (was EINVAL)");
        w.close();
        within(w.wait_closed()).await.unwrap();
        assert_eq!(within(rx).await.unwrap(), BIG);
        server.close();
    });
}
