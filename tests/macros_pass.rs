//! Compile-and-run tests of `#[aio::main]` and `#[aio::test]`: each
//! `tests/ui_pass/*.rs` is a program using an attribute correctly, which
//! trybuild builds and runs; it must exit successfully.
//! (The compile-fail cases are `tests/macros_ui.rs`.)

#[test]
fn ui_pass() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui_pass/*.rs");
}
