//! A low open-file limit (`ulimit -n`) makes `Builder::build` return an
//! error that names the limit, never a panic later in `run` / `block_on`
//! (issue 12, item 9: with `ulimit -n 10`, the ring of the thread inside
//! `block_on` could not be created and `run` panicked).
//!
//! Lowering `RLIMIT_NOFILE` affects the whole process, so each flavor runs
//! in a child process: the test re-executes its own binary running only
//! [`fd_limit_child`], with `AIO_FD_LIMIT_CHILD` naming the flavor. The
//! child tries every limit from "no descriptor free" up to "enough for
//! the runtime" (each ring takes three descriptors, so this covers
//! `ulimit -n 10` and the limits around it, whatever the child inherited):
//! at each, `build()` either returns an error whose message names the fd
//! limit, or gives a runtime on which `run` works. A panic anywhere fails
//! the child, and so the test. On current_thread there is no ring beyond
//! the one `build` creates, so there the check is only that the error
//! names the limit; the multi_thread flavors (1 and 4 workers) are where
//! `run` used to panic.

mod common;

use std::process::Command;
use std::time::Duration;

use common::Flavor;

/// Names the flavor in the child; absent in the parent.
const CHILD_ENV: &str = "AIO_FD_LIMIT_CHILD";
/// The line the child prints when every limit behaved.
const DONE: &str = "FD-LIMIT-TEST DONE";
/// Free descriptors tried: 0 up to this (4 workers' rings, the block_on
/// ring and some spare).
const MAX_FREE: u64 = 24;

#[test]
fn a_low_fd_limit_is_an_error_from_build_not_a_panic_in_run() {
    for flavor in ["current_thread", "multi_thread_1", "multi_thread_4"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fd_limit_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, flavor)
            .output()
            .expect("re-execute the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(DONE),
            "[{flavor}] the child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status
        );
    }
}

/// The child's side. Does nothing when run by hand.
#[test]
#[ignore = "helper: the fd-limit test runs it in a child process"]
fn fd_limit_child() {
    let Ok(flavor) = std::env::var(CHILD_ENV) else {
        eprintln!("fd_limit_child only runs as the child of the fd-limit test");
        return;
    };
    let flavor = match flavor.as_str() {
        "current_thread" => Flavor::CurrentThread,
        "multi_thread_1" => Flavor::MultiThread(1),
        "multi_thread_4" => Flavor::MultiThread(4),
        other => panic!("unknown flavor {other:?}"),
    };
    let _dog = common::Watchdog::new(flavor, common::WATCHDOG);
    let (mut refused, mut ran) = (0, 0);
    for free in 0..=MAX_FREE {
        leave_free_fds(free);
        match flavor.builder().build() {
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("RLIMIT_NOFILE") && msg.contains("ulimit -n"),
                    "{flavor:?}, {free} fds free: the error does not name the fd limit: {msg}"
                );
                refused += 1;
            }
            Ok(rt) => {
                let v = rt.run(async {
                    let t = aio::spawn(async {
                        aio::sleep(Duration::from_millis(1)).await;
                        20
                    });
                    let b = aio::to_thread(|| 22).await;
                    t.await.unwrap() + b
                });
                assert_eq!(v, 42, "{flavor:?}, {free} fds free");
                ran += 1;
            }
        }
    }
    assert!(refused > 0, "{flavor:?}: no limit was low enough to refuse");
    assert!(ran > 0, "{flavor:?}: no limit was high enough to run");
    println!("{DONE}");
}

/// Lowers the soft `RLIMIT_NOFILE` so that exactly `free` descriptors can
/// still be opened (first raising it back to the hard limit, so that the
/// holes below the highest open descriptor can be filled).
fn leave_free_fds(free: u64) {
    use std::os::fd::IntoRawFd;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let highest = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .expect("some fd is open");
    // Fill the holes below the highest fd; the fillers stay open until the
    // process exits.
    loop {
        let fd = std::fs::File::open("/dev/null").unwrap().into_raw_fd();
        if fd as u64 > highest {
            // SAFETY: we just opened it and own it.
            unsafe { libc::close(fd) };
            break;
        }
    }
    lim.rlim_cur = highest + 1 + free;
    // SAFETY: setrlimit reads the struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}
