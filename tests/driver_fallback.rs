//! Where the kernel refuses io_uring (a seccomp profile such as Docker's
//! default, `kernel.io_uring_disabled`), `Driver::Auto` runs on epoll, says
//! so once on stderr in debug mode, and everything works; `Driver::IoUring`
//! fails with the explained error; `AIO_DRIVER` overrides `Auto` only.
//!
//! The refusal is real: each case runs in a child process of this test
//! binary under a seccomp filter installed between fork and exec that makes
//! `io_uring_setup`, `io_uring_enter` and `io_uring_register` fail with
//! `EPERM`, as Docker's profile does. Each case runs on current_thread, 1
//! and 4 workers.

mod common;

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use aio::runtime::{Builder, Driver};
use common::Flavor;

const CHILD: &str = "AIO_FALLBACK_CHILD";

/// Installs a seccomp filter refusing io_uring's three syscalls with EPERM.
///
/// # Safety
/// Called between fork and exec: only async-signal-safe calls (two
/// `prctl`s on data on this stack).
unsafe fn refuse_io_uring() -> io::Result<()> {
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k, jt, jf| libc::sock_filter {
        code: JEQ_K,
        jt,
        jf,
        k,
    };
    let refuse = SECCOMP_RET_ERRNO | libc::EPERM as u32;
    // seccomp_data: nr at offset 0, arch at offset 4.
    let filter = [
        stmt(LD_W_ABS, 4),
        jeq(ARCH, 1, 0),
        stmt(RET_K, SECCOMP_RET_ALLOW),
        stmt(LD_W_ABS, 0),
        jeq(libc::SYS_io_uring_setup as u32, 0, 1),
        stmt(RET_K, refuse),
        jeq(libc::SYS_io_uring_enter as u32, 0, 1),
        stmt(RET_K, refuse),
        jeq(libc::SYS_io_uring_register as u32, 0, 1),
        stmt(RET_K, refuse),
        stmt(RET_K, SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: plain prctl calls; `prog` and `filter` outlive them.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Runs `case` in a child of this binary under the filter.
fn run_child(case: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(std::env::current_exe().expect("own path"));
    // Only the child's entry point, its output not captured.
    c.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"]);
    c.env(CHILD, case)
        .env_remove("AIO_DRIVER")
        .env_remove("AIO_DEBUG");
    for (k, v) in env {
        c.env(k, v);
    }
    // SAFETY: `refuse_io_uring` only makes async-signal-safe calls.
    unsafe { c.pre_exec(|| refuse_io_uring()) };
    let out = c.output().expect("run the child");
    assert!(
        out.status.success(),
        "child `{case}` failed: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn builder(flavor: Flavor) -> Builder {
    flavor.builder()
}

/// An echo over loopback TCP and a timer, on the runtime `b` builds.
fn echo_on(mut b: Builder) -> Driver {
    let rt = b.build().expect("build on the fallback");
    let driver = rt.handle().driver();
    rt.block_on(async {
        let l = aio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = aio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let (n, buf) = s.read(vec![0u8; 64]).await;
            s.write_all(buf[..n.unwrap()].to_vec()).await.0.unwrap();
        });
        let c = aio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"ping".to_vec()).await.0.unwrap();
        let (n, buf) = c.read(vec![0u8; 64]).await;
        assert_eq!(&buf[..n.unwrap()], b"ping");
        server.await.unwrap();
        aio::sleep(std::time::Duration::from_millis(2)).await;
    });
    driver
}

fn child(case: &str) {
    for flavor in common::flavors() {
        match case {
            "auto" => {
                let mut b = builder(flavor);
                b.debug(true);
                assert_eq!(echo_on(b), Driver::Epoll, "{flavor:?}: Auto falls back");
            }
            "io_uring" => {
                let err = builder(flavor)
                    .driver(Driver::IoUring)
                    .build()
                    .expect_err("io_uring is refused");
                let msg = err.to_string();
                assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{msg}");
                assert!(msg.contains("seccomp"), "{msg}");
                assert!(msg.contains("Driver::Epoll"), "{msg}");
            }
            "env" => {
                // AIO_DRIVER=io_uring overrides Auto: the refusal is an error.
                assert!(builder(flavor).build().is_err(), "{flavor:?}");
                // An explicit choice is not overridden.
                let mut b = builder(flavor);
                b.driver(Driver::Epoll);
                assert_eq!(echo_on(b), Driver::Epoll);
            }
            other => panic!("unknown case {other}"),
        }
    }
    // `aio::run` too.
    if case == "auto" {
        aio::run(async {
            assert_eq!(aio::runtime::Handle::current().driver(), Driver::Epoll);
        });
    }
}

#[test]
fn auto_falls_back_to_epoll_and_says_so_once_in_debug_mode() {
    let out = run_child("auto", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    let said = err.matches("running on the epoll driver").count();
    assert_eq!(said, 1, "one notice per process:\n{err}");
    assert!(err.contains("EPERM") || err.contains("os error 1"), "{err}");
}

#[test]
fn an_explicit_io_uring_is_refused_with_the_explained_error() {
    run_child("io_uring", &[]);
}

#[test]
fn aio_driver_overrides_auto_only() {
    run_child("env", &[("AIO_DRIVER", "io_uring")]);
}

#[test]
fn without_the_filter_auto_picks_what_the_override_says() {
    // In the test process itself (no filter): Auto means io_uring here,
    // unless CI's second pass set AIO_DRIVER=epoll.
    let want = match std::env::var("AIO_DRIVER").as_deref() {
        Ok("epoll") => Driver::Epoll,
        _ => Driver::IoUring,
    };
    for flavor in common::flavors() {
        assert_eq!(echo_on(builder(flavor)), want, "{flavor:?}");
    }
}

/// The child entry point: libtest runs this "test" in the child, which
/// finds its case in the environment.
#[test]
fn child_entry() {
    if let Ok(case) = std::env::var(CHILD) {
        child(&case);
    }
}
