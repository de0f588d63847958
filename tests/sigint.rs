//! SIGINT during `aio::run` (asyncio.run semantics): the first Ctrl-C
//! cancels the main task, its destructors run, and after shutdown the
//! process exits with status 130.
//!
//! A `harness = false` test: `aio::run` installs its SIGINT handling only on
//! the process's main thread, which the libtest harness never gives a
//! test. The binary runs itself as a child (`AIO_SIGINT_CHILD=1`), waits
//! for it to be inside `run`, sends it SIGINT with `kill -INT`, and checks
//! the exit status and what the child printed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        println!("main's destructor ran");
    }
}

fn child() {
    // A shell may start jobs with SIGINT ignored, and aio leaves an
    // application's own disposition alone: restore the default first.
    // SAFETY: setting SIGINT to its default disposition before any
    // thread of ours exists.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    aio::run(async {
        let _c = Cleanup;
        println!("ready");
        aio::sleep(Duration::from_secs(60)).await;
        println!("not interrupted");
    });
    println!("run returned normally");
}

fn main() {
    if std::env::var_os("AIO_SIGINT_CHILD").is_some() {
        return child();
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut c = Command::new(std::env::current_exe().expect("own path"))
        .env("AIO_SIGINT_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let mut out = BufReader::new(c.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "ready", "the child is inside aio::run");
    let status = Command::new("kill")
        .args(["-INT", &c.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let status = c.wait().expect("wait for the child");
    let mut rest = String::new();
    for l in out.lines() {
        rest.push_str(&l.expect("read"));
        rest.push('\n');
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut c.stderr.take().expect("stderr"), &mut err).expect("stderr");
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        failed += usize::from(!ok);
    };
    check(
        status.code() == Some(130),
        &format!("exit status 130 (got {status})"),
    );
    check(
        rest.contains("main's destructor ran"),
        "main's destructors ran",
    );
    check(
        !rest.contains("not interrupted") && !rest.contains("returned normally"),
        "main was cancelled",
    );
    check(
        err.contains("interrupted (SIGINT)"),
        "the interruption is reported on stderr",
    );
    println!("{} passed, {failed} failed", 4 - failed);
    if failed > 0 {
        eprintln!("child stdout:\n{rest}\nchild stderr:\n{err}");
        std::process::exit(1);
    }
}
