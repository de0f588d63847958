//! A dropped file operation leaks nothing, on every flavor: reads, opens
//! and whole-file reads dropped before they complete (at every point, by
//! a timeout of zero and by dropping after one poll) leave no fd open once
//! the runtime settles, and the file is intact.
//!
//! One test in its own binary: it counts this process's fds, which other
//! tests running alongside would change.

mod common;

use common::{on_all_flavors, poll_once, yield_until};
use std::time::Duration;

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_dropped_read_leaks_nothing() {
    let dir = std::env::temp_dir().join(format!("aio-test-fd-leak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data");
    std::fs::write(&path, vec![7u8; 4 << 20]).unwrap();
    on_all_flavors(|_| {
        let path = path.clone();
        async move {
            let before = fds();
            for i in 0..200 {
                // An open dropped after its first poll (the fd it opens,
                // if the kernel finished, is closed).
                let mut open = Box::pin(aio::fs::File::open(&path));
                let _ = poll_once(&mut open).await;
                drop(open);
                // A whole-file read dropped midway.
                let mut read = Box::pin(aio::fs::read(&path));
                for _ in 0..(i % 4) {
                    if poll_once(&mut read).await.is_some() {
                        break;
                    }
                }
                drop(read);
                // A read of an open file dropped in flight, then the file.
                let f = aio::fs::File::open(&path).await.unwrap();
                let mut r = Box::pin(f.read_at(vec![0u8; 1 << 20], (i % 4) << 20));
                let _ = poll_once(&mut r).await;
                drop(r);
                drop(f);
                // Timed out at once.
                let _ = aio::wait_for(aio::fs::read(&path), Duration::ZERO).await;
            }
            // In-flight ops hold their fds until their completions come
            // (ring) or their pool jobs end (epoll): wait for that, with
            // the watchdog as the bound.
            yield_until(|| fds() == before).await;
            let data = aio::fs::read(&path).await.unwrap();
            assert!(data.len() == 4 << 20 && data.iter().all(|&b| b == 7));
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
