//! `#[aio::test(start_paused = true)]` and the other `#[aio::test]` forms
//! compile. trybuild builds this file as a plain binary, where `#[test]`
//! functions are configured out: this case checks the expansion
//! type-checks (the same attributes run for real in `tests/macros_attr.rs`).

#[aio::test(start_paused = true)]
async fn paused_clock() {
    let start = aio::time::Instant::now();
    aio::sleep(std::time::Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
}

#[aio::test(flavor = "current_thread", start_paused = true, debug = true)]
async fn paused_and_debug() -> Result<(), String> {
    assert!(aio::runtime::Handle::current().is_debug());
    aio::sleep(std::time::Duration::from_millis(1)).await;
    Ok(())
}

#[aio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers() {
    assert_eq!(aio::spawn(async { 1 }).await.unwrap(), 1);
}

fn main() {}
