#[aio_macros::main(debug = true, debug = false)]
async fn main() {}
