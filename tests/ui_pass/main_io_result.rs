//! `#[aio::main]` with arguments, returning `std::io::Result<()>`.

#[aio::main(flavor = "multi_thread", worker_threads = 2, debug = false)]
async fn main() -> std::io::Result<()> {
    assert!(!aio::runtime::Handle::current().is_debug());
    let got = aio::to_thread(|| std::env::current_dir()).await?;
    assert!(got.is_absolute());
    Ok(())
}
