//! Compile-fail tests of `#[aio::main]` and `#[aio::test]`: each
//! `tests/ui/*.rs` misuses an attribute, and its `.stderr` holds the one
//! expected message with its caret under the offending token.
//!
//! The cases name the attributes `aio_macros::main` / `aio_macros::test`
//! (what `aio::main` / `aio::test` re-export) and expand to no runtime code,
//! so they do not depend on the runtime. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test macros_ui`, then read them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
