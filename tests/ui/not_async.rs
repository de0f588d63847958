#[aio_macros::main]
fn main() {}
