//! `#[aio::main]` returning a `Result`: `?` works in the body, on a task's
//! `TaskError` as on any other error.

#[aio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let v = aio::spawn(async { 42 }).await?;
    assert_eq!(v, 42);
    let n: u8 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}
