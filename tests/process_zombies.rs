//! No zombie and no fd left behind, on every flavor: 1,000 short children
//! run at once and are waited for; children dropped without a wait
//! (running, or already exited) are reaped in the background by the
//! runtime; children dropped outside a runtime are reaped too.
//!
//! One test in its own binary: it counts this process's fds and its
//! zombie children in `/proc`, which other tests running alongside would
//! change.

mod common;

use aio::process::{Command, Stdio};
use common::{on_all_flavors, yield_until};

/// This process's open fds.
fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// This process's children that are zombies (exited, not reaped).
fn zombies() -> Vec<u32> {
    let me = std::process::id();
    let mut z = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok()));
        if state == Some("Z") && ppid == Some(me) {
            z.push(pid);
        }
    }
    z
}

/// Raises the soft fd limit to what 1,000 children (a pidfd each) need.
fn raise_fd_limit() {
    // SAFETY: reading and setting our own limits with valid structs.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut l), 0);
        if l.rlim_cur < 4096 && l.rlim_max > l.rlim_cur {
            l.rlim_cur = l.rlim_max.min(4096);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[test]
fn children_leave_no_zombie_and_no_fd() {
    raise_fd_limit();
    on_all_flavors(|_| async {
        let before = fds();

        // 1. 1,000 concurrent short children, waited for.
        let mut tasks = Vec::new();
        for _ in 0..1000 {
            tasks.push(aio::spawn(async {
                Command::new("true")
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap()
                    .wait()
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().success());
        }
        assert_eq!(zombies(), Vec::<u32>::new(), "every child was reaped");
        assert_eq!(fds(), before, "no fd left (pidfds)");

        // 2. Dropped without a wait, running or exited: reaped by the
        // runtime in the background.
        let mut pids = Vec::new();
        for i in 0..50 {
            let mut c = if i % 2 == 0 {
                Command::new("true")
            } else {
                Command::new("sleep")
            };
            if i % 2 == 1 {
                c.arg("0.05");
            }
            let child = c.stdout(Stdio::piped()).spawn().unwrap();
            pids.push(child.id().unwrap());
            drop(child);
        }
        yield_until(|| {
            let z = zombies();
            let alive = pids
                .iter()
                .any(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
            // And their pidfds and pipes closed (the reaping tasks end
            // just after the processes disappear).
            z.is_empty() && !alive && fds() == before
        })
        .await;
    });

    // 3. Dropped outside a runtime: the reaper thread takes it.
    let child = std::thread::spawn(|| {
        aio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async { Command::new("sleep").arg("0.05").spawn().unwrap() })
    })
    .join()
    .unwrap();
    let pid = child.id().unwrap();
    drop(child);
    let deadline = std::time::Instant::now() + common::WATCHDOG;
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(std::time::Instant::now() < deadline, "never reaped");
        std::thread::yield_now();
    }
    assert!(zombies().is_empty());
}
