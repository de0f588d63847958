//! A stream server that runs out of file descriptors keeps serving once
//! descriptors free up: `accept` failing with `EMFILE` is reported to the
//! exception handler ("accept() out of system resource"), the accept loop
//! backs off and retries, and the connection that was waiting in the
//! backlog is served as soon as a client goes away. The same holds for a
//! hand-written loop over `listener.incoming().with_backoff()` that ends
//! on any error it gets (`accept().await?`), as the example servers do.
//!
//! Lowering `RLIMIT_NOFILE` affects the whole process, so the server runs
//! in a child process: the test re-executes its own binary
//! (`std::env::current_exe()`) running only [`emfile_child`], with
//! `AIO_NET_EMFILE_CHILD` naming the runtime flavor. The child starts an
//! echo server, lowers the limit so that only a few descriptors are free,
//! and prints protocol lines on stdout (`EMFILE-TEST PORT <n>`,
//! `EMFILE-TEST ACCEPTED`, `EMFILE-TEST REPORT <message>`); the parent
//! connects with blocking std sockets (its own limit is untouched) and
//! steps through the scenario by reading those lines, so nothing depends on
//! timing. The child serves until its stdin closes. Each flavor
//! (current_thread, 1 and 4 workers) and each server kind gets its own
//! child; `AIO_NET_EMFILE_CHILD` is `<flavor>,<server|incoming>`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aio::net::{start_server, StreamReader, StreamWriter, TcpListener, TcpStream};
use common::Flavor;

/// Names the flavor in the child; absent in the parent.
const CHILD_ENV: &str = "AIO_NET_EMFILE_CHILD";
/// Prefix of the protocol lines (the test harness prints its own lines).
const TAG: &str = "EMFILE-TEST ";
/// Descriptors left free above the highest one in use once the server is
/// up (holes below it add a few more).
const FREE: u64 = 3;
/// More connections than that without `EMFILE` means the limit had no
/// effect: the test fails instead of looping.
const MAX_CONNS: usize = 200;
/// Only a hang guard: how long one step may take.
const STEP: Duration = Duration::from_secs(60);

#[test]
fn accept_backs_off_on_emfile_and_keeps_serving_once_fds_free_up() {
    for flavor in ["current_thread", "multi_thread_1", "multi_thread_4"] {
        Parent::spawn(flavor, "server").run();
    }
}

#[test]
fn an_accept_loop_with_backoff_keeps_serving_once_fds_free_up() {
    for flavor in ["current_thread", "multi_thread_1", "multi_thread_4"] {
        Parent::spawn(flavor, "incoming").run();
    }
}

/// The connection handler of both servers: echoes lines.
async fn echo(mut r: StreamReader, w: StreamWriter) {
    say("ACCEPTED");
    while let Ok(line) = r.readline().await {
        if line.is_empty() {
            break;
        }
        w.write(&line);
        if w.drain().await.is_err() {
            break;
        }
    }
    w.close();
}

/// The connection handler of the hand-written loop: echoes what comes,
/// on the owned-buffer socket API.
async fn echo_raw(stream: TcpStream) {
    say("ACCEPTED");
    loop {
        let (res, buf) = stream.read(Vec::with_capacity(1024)).await;
        let n = match res {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(buf[..n].to_vec()).await.0.is_err() {
            return;
        }
    }
}

/// The server side, run by the parent test in a child process. Does
/// nothing when run by hand.
#[test]
#[ignore = "helper: the EMFILE test runs it in a child process"]
fn emfile_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        eprintln!("emfile_child only runs as the child of the EMFILE test");
        return;
    };
    let (flavor, kind) = spec.split_once(',').expect("<flavor>,<kind>");
    let flavor = match flavor {
        "current_thread" => Flavor::CurrentThread,
        "multi_thread_1" => Flavor::MultiThread(1),
        "multi_thread_4" => Flavor::MultiThread(4),
        other => panic!("unknown flavor {other:?}"),
    };
    let _dog = common::Watchdog::new(flavor, common::WATCHDOG);
    let mut b = flavor.builder();
    b.exception_handler(|ctx| say(&format!("REPORT {}", ctx.message())));
    b.build().unwrap().run(async {
        // Before the server starts: its multishot accept reads the limit
        // when it is armed (the kernel keeps it for the accept's life).
        // The listening socket takes one of the free descriptors.
        leave_free_fds(FREE + 1);
        if kind == "incoming" {
            // The loop of the example servers: any error it gets ends it.
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            say(&format!("PORT {}", listener.local_addr().unwrap().port()));
            let mut incoming = listener.incoming().with_backoff();
            let serve = async {
                loop {
                    let stream = incoming.accept().await?;
                    drop(aio::spawn(echo_raw(stream)));
                }
            };
            aio::select! {
                res = serve => {
                    let res: std::io::Result<()> = res;
                    say(&format!("LOOP ENDED {res:?}"));
                }
                _ = stdin_closed() => {}
            }
            return;
        }
        let server = start_server(echo, "127.0.0.1", 0)
            .await
            .expect("start_server");
        say(&format!("PORT {}", server.local_addrs()[0].port()));
        stdin_closed().await;
        server.close();
        server.close_clients();
        // Not `server.wait_closed().await` alone: it is not woken when the
        // accept loop ends (bug, see net_robustness.rs,
        // `wait_closed_is_woken_when_the_accept_loops_end`).
        let mut wait = Box::pin(server.wait_closed());
        while common::poll_once(&mut wait).await.is_none() {
            aio::task::yield_now().await;
        }
    });
    say("DONE");
}

/// Returns once the parent closes our stdin.
async fn stdin_closed() {
    aio::to_thread(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            line.clear();
        }
    })
    .await;
}

/// Prints one protocol line (whole, flushed).
fn say(msg: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{TAG}{msg}").unwrap();
    out.flush().unwrap();
}

/// Lowers the soft `RLIMIT_NOFILE` so that exactly `free` descriptors can
/// still be opened.
fn leave_free_fds(free: u64) {
    use std::os::fd::IntoRawFd;
    let highest = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .expect("some fd is open");
    // Fill the holes below the highest fd (the parent may have passed
    // descriptors down), so that only the `free` above it are left. The
    // fillers stay open until the process exits.
    loop {
        let fd = std::fs::File::open("/dev/null").unwrap().into_raw_fd();
        if fd as u64 > highest {
            // SAFETY: we just opened it and own it.
            unsafe { libc::close(fd) };
            break;
        }
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = highest + 1 + free;
    // SAFETY: setrlimit reads the struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

/// The parent's view of one child.
struct Parent {
    flavor: String,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Parent {
    fn drop(&mut self) {
        // On failure, do not leave the child serving forever.
        if std::thread::panicking() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Parent {
    fn spawn(flavor: &str, kind: &str) -> Parent {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "emfile_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{flavor},{kind}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("re-execute the test binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The harness's "test emfile_child ... " may precede a
                // tag on the same line.
                if let Some((_, msg)) = line.split_once(TAG) {
                    if tx.send(msg.to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        Parent {
            flavor: format!("{flavor} {kind}"),
            child,
            lines,
        }
    }

    /// The child's next protocol line.
    fn next(&self) -> String {
        match self.lines.recv_timeout(STEP) {
            Ok(l) => l,
            Err(e) => panic!("[{}] no word from the server child: {e:?}", self.flavor),
        }
    }

    /// Waits for the next accepted connection, skipping the reports of the
    /// accept loop's retries.
    fn next_accept(&self) {
        loop {
            let l = self.next();
            if l == "ACCEPTED" {
                return;
            }
            assert!(
                l.contains("accept() out of system resource"),
                "[{}] unexpected line {l:?}",
                self.flavor
            );
        }
    }

    fn connect(&self, port: u16) -> std::net::TcpStream {
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.set_read_timeout(Some(STEP)).unwrap();
        c
    }

    fn echo(&self, c: &mut std::net::TcpStream, msg: &str) {
        c.write_all(msg.as_bytes()).unwrap();
        let mut got = String::new();
        BufReader::new(&*c).read_line(&mut got).unwrap_or_else(|e| {
            panic!("[{}] no echo of {msg:?}: {e}", self.flavor);
        });
        assert_eq!(got, msg, "[{}]", self.flavor);
    }

    fn run(mut self) {
        let flavor = self.flavor.clone();
        let port: u16 = self
            .next()
            .strip_prefix("PORT ")
            .expect("the child announces its port")
            .parse()
            .unwrap();

        // Connect until the server's accept runs out of descriptors. Each
        // connection completes in the backlog; the next line tells whether
        // the server accepted it or reported EMFILE.
        let mut served = Vec::new();
        let (mut waiting, report) = loop {
            assert!(
                served.len() < MAX_CONNS,
                "[{flavor}] {MAX_CONNS} connections and no EMFILE: the limit had no effect"
            );
            let mut c = self.connect(port);
            let l = self.next();
            if l == "ACCEPTED" {
                self.echo(&mut c, &format!("hello {}\n", served.len()));
                served.push(c);
            } else {
                break (c, l);
            }
        };
        assert!(
            report.starts_with("REPORT accept() out of system resource"),
            "[{flavor}] {report}"
        );
        assert!(
            report.contains("os error 24"),
            "[{flavor}] not EMFILE: {report}"
        );
        assert!(
            !served.is_empty(),
            "[{flavor}] EMFILE before any connection was served: nothing to free"
        );
        eprintln!(
            "[{flavor}] EMFILE after {} served connections: {report}",
            served.len()
        );

        // Free descriptors: the waiting connection is then accepted by a
        // retry of the backed-off accept loop, and served.
        served.clear();
        self.next_accept();
        self.echo(&mut waiting, "served after the backoff\n");

        // And the server takes new connections as before.
        let mut fresh = self.connect(port);
        self.next_accept();
        self.echo(&mut fresh, "a new connection\n");

        drop((waiting, fresh));
        drop(self.child.stdin.take());
        let mut rest = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(STEP) {
            rest.push(l);
        }
        assert_eq!(
            rest.last().map(String::as_str),
            Some("DONE"),
            "[{flavor}] {rest:?}"
        );
        let status = self.child.wait().unwrap();
        assert!(status.success(), "[{flavor}] child exited with {status}");
    }
}
