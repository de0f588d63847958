//! Placeholder until the scheduler benches land.
fn main() {}
