#[aio_macros::main(flavor = "multi")]
async fn main() {}
