//! `block_on` of a multi_thread runtime (1 and 4 workers) from many
//! threads at once, each doing I/O in each call, on both drivers: every
//! call gets its result, and once the runtime is dropped the process has
//! the fds it had before it was built. (A multi_thread runtime keeps the
//! rings of the four threads whose calls returned last; here six threads
//! call three times each, so rings are kept, and closed as later calls
//! take their places; all of them must be gone with the runtime. A
//! current_thread runtime runs one `block_on` at a time, the others
//! waiting for its core without a driver: `runtime_block_on.rs` covers
//! it.)
//!
//! One test in its own binary: it counts this process's fds, which other
//! tests running alongside would change.

mod common;

use aio::net::{TcpListener, TcpStream};
use aio::runtime::Driver;
use common::{multi_thread_flavors, Watchdog, WATCHDOG};
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// One round trip over loopback: an accept and a connect, a write and a
/// read, each an op in the driver of the calling thread.
async fn round_trip(byte: u8) -> u8 {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = aio::gather!(TcpStream::connect(addr), listener.accept()).await;
    let (client, (server, _)) = (client.unwrap(), server.unwrap());
    let (res, _) = client.write_all(vec![byte]).await;
    res.unwrap();
    let (res, buf) = server.read(Vec::with_capacity(1)).await;
    assert_eq!(res.unwrap(), 1);
    buf[0]
}

#[test]
fn block_on_from_many_threads_leaves_no_fd_behind() {
    const THREADS: usize = 6;
    const CALLS: usize = 3;
    for driver in [Driver::Auto, Driver::Epoll] {
        for flavor in multi_thread_flavors() {
            let _dog = Watchdog::new((flavor, driver), WATCHDOG);
            let before = fds();
            let rt = flavor.builder().driver(driver).build().unwrap();
            // All threads inside a call at once, so that each needs a ring
            // of its own; then again, each taking back what it kept.
            let together = Arc::new(Barrier::new(THREADS));
            std::thread::scope(|s| {
                for t in 0..THREADS {
                    let (rt, together) = (&rt, together.clone());
                    s.spawn(move || {
                        for call in 0..CALLS {
                            let byte = (t * CALLS + call) as u8;
                            let got = rt.block_on(async {
                                let got = round_trip(byte).await;
                                let together = together.clone();
                                aio::to_thread(move || {
                                    together.wait();
                                })
                                .await;
                                got
                            });
                            assert_eq!(got, byte, "{flavor:?} {driver:?}");
                        }
                    });
                }
            });
            assert_eq!(rt.block_on(round_trip(7)), 7);
            drop(rt);
            assert_eq!(fds(), before, "{flavor:?} on {driver:?}: fds left open");
        }
    }
}
