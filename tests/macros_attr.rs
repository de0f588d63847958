//! `#[aio::test]` in use: the default current_thread flavor, the
//! multi_thread flavor with a worker count, a paused clock, debug mode,
//! a `Result` return, and `Runtime::run` semantics (the body is task
//! "main"; leftovers are cancelled). These are flavor-specific by nature:
//! each attribute picks one runtime.

mod common;

use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use aio::runtime::Handle;
use aio::time::Instant;
use common::Counter;

#[aio::test]
async fn default_flavor_is_current_thread() {
    // On current_thread a spawned task runs only when main yields.
    let ran = Counter::new();
    let r = ran.clone();
    let t = aio::spawn(async move {
        r.bump();
    });
    std::thread::yield_now();
    assert_eq!(ran.get(), 0);
    t.await.unwrap();
    assert_eq!(ran.get(), 1);
    assert_eq!(&*aio::task::current().unwrap().name(), "main");
}

#[aio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_with_two_workers() {
    // Tasks run on worker threads, not on the test's thread.
    let me = std::thread::current().id();
    let names: Vec<_> = (0..8)
        .map(|_| aio::spawn(async { std::thread::current().name().map(String::from) }))
        .collect();
    for t in names {
        assert_eq!(t.await.unwrap().as_deref(), Some("aio-worker"));
    }
    let on = aio::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_ne!(on, me);
    assert_eq!(&*aio::task::current().unwrap().name(), "main");
}

#[aio::test(start_paused = true)]
async fn start_paused_gives_exact_virtual_time() {
    let start = Instant::now();
    let a = aio::spawn(aio::sleep(Duration::from_secs(1)));
    let b = aio::spawn(aio::sleep(Duration::from_secs(2)));
    a.await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    b.await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    aio::sleep(Duration::from_secs(24 * 3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(2 + 24 * 3600));
}

#[aio::test(debug = true)]
async fn debug_flag_turns_on_debug_mode() {
    assert!(Handle::current().is_debug());
}

#[aio::test(debug = false)]
async fn debug_false_turns_it_off() {
    assert!(!Handle::current().is_debug());
}

#[aio::test]
async fn a_test_may_return_a_result() -> Result<(), aio::task::TaskError> {
    let v = aio::spawn(async { 5 }).await?;
    assert_eq!(v, 5);
    Ok(())
}

/// The threads whose `leaves_a_leftover` call saw its leftover dropped.
static LEFTOVERS_DROPPED: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

/// Records, when dropped, the thread that ran the main future.
struct Leftover(ThreadId);

impl Drop for Leftover {
    fn drop(&mut self) {
        LEFTOVERS_DROPPED.lock().unwrap().push(self.0);
    }
}

#[aio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_a_leftover() {
    let l = Leftover(std::thread::current().id());
    drop(aio::spawn(async move {
        let _l = l;
        std::future::pending::<()>().await;
    }));
}

#[test]
fn the_test_attribute_cancels_leftovers() {
    // Call the generated function directly: it is a plain fn. (libtest
    // also runs it as a test, on another thread, hence the thread ids.)
    let me = std::thread::current().id();
    leaves_a_leftover();
    assert!(LEFTOVERS_DROPPED.lock().unwrap().contains(&me));
}
