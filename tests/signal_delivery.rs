//! Signals delivered to the process, on every flavor: a handler
//! (`Handle::add_signal_handler`) and a `signal()` stream both receive one
//! `kill -USR1`; `ctrl_c()` resolves on `kill -INT` (and `Runtime::run`,
//! which would cancel its main task on SIGINT, leaves it alone); several
//! deliveries coalesce; the dispositions come back when the listeners go.
//!
//! A `harness = false` test: a signal goes to the whole process, so the
//! test binary runs itself as a child (`AIO_SIGNAL_CHILD=1`) where no
//! other test runs. The child prints `ready <what>` when it listens; the
//! parent then sends the signal with the `kill` command and reads the
//! child's verdict lines.

mod common;

use common::Flavor;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aio::signal::unix::{signal, SignalKind};

/// Tells the parent we listen for `what`, and waits for its signal.
fn ready(what: &str) {
    println!("ready {what}");
    std::io::stdout().flush().unwrap();
}

fn disposition(sig: i32) -> usize {
    // SAFETY: querying a disposition into valid memory.
    unsafe {
        let mut cur: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(sig, std::ptr::null(), &mut cur), 0);
        cur.sa_sigaction
    }
}

/// One flavor's checks, inside the child.
async fn child_body(flavor: Flavor) {
    // 1. A handler and a stream both get one SIGUSR1.
    let h = aio::runtime::Handle::current();
    let got = Arc::new(Mutex::new(0usize));
    let (tx, rx) = aio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let g = got.clone();
    h.add_signal_handler(libc::SIGUSR1, move || {
        *g.lock().unwrap() += 1;
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
    })
    .expect("add_signal_handler");
    let mut usr1 = signal(SignalKind::user_defined1()).expect("signal()");
    ready(&format!("usr1 {flavor:?}"));
    let (by_stream, by_handler) = aio::gather!(usr1.recv(), rx).await;
    assert_eq!(by_stream, Some(()));
    by_handler.expect("the handler ran");
    assert_eq!(*got.lock().unwrap(), 1, "the handler ran once");
    println!("ok handler and stream got SIGUSR1 ({flavor:?})");

    // 2. Deliveries coalesce: `usr1` misses two deliveries that a second
    // stream sees one by one, then returns once for both.
    let mut second = signal(SignalKind::user_defined1()).expect("signal()");
    for i in 0..2 {
        ready(&format!("usr1-again {i} {flavor:?}"));
        assert_eq!(second.recv().await, Some(()));
    }
    assert_eq!(usr1.recv().await, Some(()), "the missed deliveries, once");
    let pending =
        std::future::poll_fn(|cx| std::task::Poll::Ready(usr1.poll_recv(cx).is_pending())).await;
    assert!(pending, "both deliveries came out as one");
    println!("ok deliveries coalesce ({flavor:?})");

    // 3. The disposition comes back when the last listener goes.
    assert_ne!(disposition(libc::SIGUSR1), libc::SIG_DFL);
    drop(usr1);
    drop(second);
    assert_ne!(
        disposition(libc::SIGUSR1),
        libc::SIG_DFL,
        "the handler listens"
    );
    assert!(h.remove_signal_handler(libc::SIGUSR1));
    assert_eq!(disposition(libc::SIGUSR1), libc::SIG_DFL, "restored");
    println!("ok SIGUSR1's disposition restored ({flavor:?})");

    // 4. ctrl_c() gets SIGINT; run's handling (cancel main) does not.
    let mut ctrl_c = std::pin::pin!(aio::signal::ctrl_c());
    std::future::poll_fn(|cx| {
        assert!(std::future::Future::poll(ctrl_c.as_mut(), cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
    ready(&format!("int {flavor:?}"));
    ctrl_c.await.expect("ctrl_c");
    println!("ok ctrl_c() got SIGINT ({flavor:?})");
}

fn child() {
    // A shell may start jobs with SIGINT ignored: give run its default.
    // SAFETY: before any thread of ours exists.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    for flavor in Flavor::ALL {
        let _dog = common::Watchdog::new(flavor, common::WATCHDOG);
        flavor.runtime().run(child_body(flavor));
        // After run: SIGINT is back to its default (run's handling is
        // gone, ctrl_c's listener too).
        assert_eq!(disposition(libc::SIGINT), libc::SIG_DFL);
        println!("ok run returned normally ({flavor:?})");
    }
    println!("done");
}

fn main() {
    if std::env::var_os("AIO_SIGNAL_CHILD").is_some() {
        return child();
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _dog = common::Watchdog::new("signal_delivery", Duration::from_secs(300));
    let mut c = Command::new(std::env::current_exe().expect("own path"))
        .env("AIO_SIGNAL_CHILD", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let pid = c.id().to_string();
    let out = BufReader::new(c.stdout.take().expect("stdout"));
    let mut oks = Vec::new();
    let mut done = false;
    for line in out.lines() {
        let line = line.expect("read the child");
        println!("child: {line}");
        if let Some(what) = line.strip_prefix("ready ") {
            let sig = if what.starts_with("int") {
                "-INT"
            } else {
                "-USR1"
            };
            let st = Command::new("kill")
                .args([sig, &pid])
                .status()
                .expect("run kill");
            assert!(st.success(), "kill {sig} {pid}");
        } else if line.starts_with("ok ") {
            oks.push(line);
        } else if line == "done" {
            done = true;
        }
    }
    let status = c.wait().expect("wait for the child");
    assert!(status.success(), "the child failed: {status}");
    assert!(done, "the child finished every flavor");
    // Five verdicts per flavor.
    assert_eq!(oks.len(), 5 * Flavor::ALL.len(), "{oks:#?}");
    println!("signal_delivery: {} checks passed", oks.len());
}
