//! `#[aio::main]` on an `async fn main()` returning `()`: the default
//! multi_thread runtime, the body as task "main".

#[aio::main]
async fn main() {
    assert_eq!(&*aio::task::current().unwrap().name(), "main");
    let t = aio::spawn(async { 40 + 2 });
    assert_eq!(t.await.unwrap(), 42);
}
