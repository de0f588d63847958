//! How a child's exit is waited for, on every flavor: on a ring with
//! `IORING_OP_WAITID` (Linux 6.7) a running child costs the parent no fd
//! (no pidfd); elsewhere (the epoll driver, an older kernel) it holds one
//! pidfd until it is reaped. Either way none is left after the wait.
//!
//! One test in its own binary: it reads this process's fd table, which
//! other tests running alongside would change.

mod common;

use aio::process::{Command, Stdio};
use aio::runtime::{Driver, Handle};
use common::on_all_flavors;

/// This process's open pidfds.
fn pidfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy() == "anon_inode:[pidfd]")
        })
        .count()
}

/// Whether the running kernel is at least `major.minor`.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (ma, mi) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (ma, mi) >= (major, minor)
}

#[test]
fn a_running_child_holds_a_pidfd_only_where_the_ring_cannot_wait_on_its_pid() {
    on_all_flavors(|_| async {
        let ring_waits = Handle::current().driver() == Driver::IoUring && kernel_at_least(6, 7);
        let before = pidfds();
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let held = pidfds() - before;
        assert_eq!(
            held,
            usize::from(!ring_waits),
            "pidfds held by a running child"
        );
        // A wait that gives up (`wait` closes a stdin it still holds:
        // keep it here), then one that reaps.
        let stdin = child.stdin.take();
        let waited = aio::wait_for(child.wait(), std::time::Duration::from_millis(5)).await;
        assert!(waited.is_err(), "cat waits for its stdin");
        drop(stdin);
        assert!(child.wait().await.unwrap().success());
        assert_eq!(pidfds(), before, "no pidfd after the reap");
    });
}
