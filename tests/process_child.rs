//! Child processes on every flavor: `communicate` round-trips 10 MiB
//! through `cat` (and a child that writes a lot to stdout and stderr
//! before reading cannot deadlock it), exit codes and signals come back,
//! a `wait()` cancelled by a timeout can be awaited again, the pipes work
//! with owned buffers, as asyncio streams and through futures-io, and
//! `kill_on_drop` kills, and a child reaped by someone else gives ECHILD.

mod common;

use aio::process::{Command, Stdio};
use common::on_all_flavors;
use futures::{AsyncReadExt, AsyncWriteExt};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

/// 10 MiB that a misordered or lost chunk would not reproduce.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

#[test]
fn communicate_round_trips_10_mib_through_cat() {
    let input = pattern(10 << 20);
    on_all_flavors(|_| {
        let input = input.clone();
        async move {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let out = child.communicate(Some(input.clone())).await.unwrap();
            assert!(out.status.success());
            assert_eq!(out.stdout.len(), input.len());
            assert!(out.stdout == input, "the bytes came back in order");
            assert!(out.stderr.is_empty());
        }
    });
}

#[test]
fn communicate_does_not_deadlock_on_a_child_that_writes_before_it_reads() {
    on_all_flavors(|_| async {
        // 4 MiB to stdout and to stderr before reading a byte of stdin,
        // far more than the pipes hold.
        let mut child =
            Command::shell("head -c 4194304 /dev/zero; head -c 4194304 /dev/zero >&2; wc -c")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
        let out = child.communicate(Some(vec![b'x'; 1 << 20])).await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), (4 << 20) + "1048576\n".len());
        assert!(out.stdout.ends_with(b"1048576\n"));
        assert_eq!(out.stderr.len(), 4 << 20);
    });
}

#[test]
fn a_shell_exit_code_comes_back() {
    on_all_flavors(|_| async {
        let status = Command::shell("exit 7")
            .spawn()
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(status.code(), Some(7));
        let mut p = aio::process::create_subprocess_shell("exit 7")
            .await
            .unwrap();
        assert_eq!(p.wait().await.unwrap().code(), Some(7));
        let mut p = aio::process::create_subprocess_exec("sh", ["-c", "exit 3"])
            .await
            .unwrap();
        assert_eq!(p.wait().await.unwrap().code(), Some(3));
    });
}

#[test]
fn kill_gives_signal_9() {
    on_all_flavors(|_| async {
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        child.kill().await.unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(9));
        assert_eq!(status.code(), None);
        assert_eq!(child.id(), None, "reaped");
        // Signals after the exit do nothing.
        child.send_signal(libc::SIGTERM).unwrap();
        child.start_kill().unwrap();
        // send_signal delivers any signal.
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        child.send_signal(libc::SIGTERM).unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGTERM));
    });
}

#[test]
fn a_wait_cancelled_by_a_timeout_can_be_awaited_again() {
    on_all_flavors(|_| async {
        // The child exits once its stdin closes: it outlives the timeout
        // for sure, with no sleep on either side.
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let waited = aio::wait_for(child.wait(), Duration::from_millis(20)).await;
        assert!(waited.is_err(), "cat waits for its stdin");
        assert_eq!(child.try_wait().unwrap(), None, "still running");
        drop(stdin);
        let status = child.wait().await.unwrap();
        assert!(status.success());
        // And again: the same status.
        assert_eq!(child.wait().await.unwrap(), status);
    });
}

#[test]
fn a_child_reaped_behind_our_back_gives_echild_and_is_never_signalled() {
    on_all_flavors(|_| async {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id().unwrap() as libc::pid_t;
        // Someone else in the process reaps it (a `waitpid` of its own).
        let mut status = 0;
        // SAFETY: a valid out pointer; blocks until `true` exits.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        let err = child.wait().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ECHILD), "{err}");
        // Its pid is no longer its own: never signalled, no id.
        assert_eq!(child.id(), None);
        child.send_signal(libc::SIGKILL).unwrap();
        assert_eq!(
            child.wait().await.unwrap_err().raw_os_error(),
            Some(libc::ECHILD)
        );
    });
}

#[test]
fn wait_closes_stdin_first() {
    on_all_flavors(|_| async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Without closing stdin, cat would wait forever.
        assert!(child.wait().await.unwrap().success());
        assert!(child.stdin.is_none());
    });
}

#[test]
fn pipes_take_and_give_owned_buffers() {
    on_all_flavors(|_| async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (res, buf) = stdin.write_all(b"hello".to_vec()).await;
        res.unwrap();
        assert_eq!(buf, b"hello", "the buffer comes back");
        let (n, buf) = stdout.read(Vec::with_capacity(64)).await;
        assert_eq!(&buf[..n.unwrap()], b"hello");
        drop(stdin);
        let (n, _) = stdout.read(vec![0; 64]).await;
        assert_eq!(n.unwrap(), 0, "end of file once stdin closed");
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn pipes_as_asyncio_streams() {
    on_all_flavors(|_| async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let w = aio::net::StreamWriter::from(child.stdin.take().unwrap());
        let mut r = aio::net::StreamReader::from(child.stdout.take().unwrap());
        for i in 0..100 {
            w.write(format!("line {i}\n").as_bytes());
        }
        w.drain().await.unwrap();
        for i in 0..100 {
            assert_eq!(
                r.readline().await.unwrap(),
                format!("line {i}\n").as_bytes()
            );
        }
        // A large write goes through drain's flow control.
        let big = pattern(1 << 20);
        let reader = aio::spawn(async move { r.readexactly(1 << 20).await.unwrap() });
        w.write(&big);
        w.drain().await.unwrap();
        assert!(reader.await.unwrap() == big);
        w.close();
        w.wait_closed().await.unwrap();
        assert!(child.wait().await.unwrap().success(), "cat saw end of file");
    });
}

#[test]
fn pipes_through_futures_io() {
    on_all_flavors(|_| async {
        let mut child = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        AsyncWriteExt::write_all(&mut stdin, b"shout")
            .await
            .unwrap();
        stdin.close().await.unwrap();
        drop(stdin);
        let mut s = String::new();
        stdout.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "SHOUT");
        child.wait().await.unwrap();
    });
}

#[test]
fn one_childs_output_pipes_into_another() {
    on_all_flavors(|_| async {
        let mut first = Command::new("echo")
            .arg("b\na")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out: Stdio = first.stdout.take().unwrap().try_into().unwrap();
        let sorted = Command::new("sort").stdin(out).output().await.unwrap();
        assert_eq!(sorted.stdout, b"a\nb\n");
        first.wait().await.unwrap();
    });
}

#[test]
fn kill_on_drop_kills() {
    on_all_flavors(|_| async {
        let child = Command::new("sleep")
            .arg("60")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap() as i32;
        let pidfd = pidfd_of(pid);
        drop(child);
        // The process ends (its pidfd turns readable) without our wait.
        wait_readable(pidfd).await;
    });
}

fn pidfd_of(pid: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: plain syscall; checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }
}

/// Waits on the blocking pool until `fd` is readable (a pidfd: exited).
async fn wait_readable(fd: std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    aio::to_thread(move || {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, 60_000) };
        assert_eq!(n, 1, "the child died");
    })
    .await;
}

#[test]
fn spawn_errors_and_communicate_misuse() {
    on_all_flavors(|_| async {
        let err = Command::new("/no/such/program").spawn().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains("\"/no/such/program\""), "{err}");
        let mut child = Command::new("true").spawn().unwrap();
        let err = child.communicate(Some(b"x".to_vec())).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn output_and_status() {
    on_all_flavors(|_| async {
        let out = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 2"])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        let status = Command::new("true")
            .env_clear()
            .env("A", "1")
            .env_remove("A")
            .current_dir("/")
            .status()
            .await
            .unwrap();
        assert!(status.success());
    });
}
