//! `#[aio::main]` and `#[aio::test]`: run an `async fn` on an aio runtime.
//!
//! This crate is an implementation detail of `aio`, which re-exports the two
//! attributes as `aio::main` and `aio::test`; use them from there. The
//! expansion names `::aio::runtime::Builder`, so the crate using them must
//! depend on `aio` under that name.
//!
//! This file holds only the two entry points. `args.rs` parses and checks
//! the attribute arguments, `item.rs` the annotated function, and
//! `expand.rs` builds the output; all three work on `proc_macro2` tokens so
//! their unit tests can drive them directly.

#![warn(missing_docs)]

mod args;
mod expand;
mod item;
mod select;
mod stream;

use proc_macro::TokenStream;

/// Runs an `async fn` as the program's entry point on an aio runtime, with
/// [`Runtime::run`] semantics: the body runs as the task "main" on the
/// calling thread (it need not be `Send`), and tasks still running when it
/// returns are cancelled before the runtime shuts down.
///
/// The function must be an `async fn` without parameters or generics. Its
/// name, visibility, other attributes and return type (`Result<(), E>`
/// included) are kept. Any name is accepted, so a helper can be turned into
/// a blocking function too.
///
/// # Arguments
///
/// - `flavor = "multi_thread" | "current_thread"`: which runtime to build;
///   the default is `"multi_thread"`.
/// - `worker_threads = N`: the number of worker threads, an integer literal
///   of at least 1; only with the multi_thread flavor.
/// - `debug = true | false`: asyncio's debug mode (slow-poll warnings,
///   spawn locations); when absent, the runtime's default applies
///   (`AIO_DEBUG=1` in the environment turns it on).
/// - `start_paused = true | false`: start with virtual time paused; only
///   with the current_thread flavor.
///
/// A mistake (unknown or duplicate argument, bad value, a flavor-specific
/// argument with the other flavor, a function that is not an `async fn`, a
/// parameter) is a compile error pointing at the offending token.
///
/// # Examples
///
/// ```text
/// #[aio::main]
/// async fn main() -> std::io::Result<()> {
///     let answer = aio::spawn(async { 42 }).await?;
///     println!("{answer}");
///     Ok(())
/// }
///
/// #[aio::main(flavor = "current_thread", debug = true)]
/// async fn main() {
///     aio::sleep(std::time::Duration::from_millis(10)).await;
/// }
/// ```
///
/// The first one expands to:
///
/// ```text
/// fn main() -> std::io::Result<()> {
///     let body = async move { /* the body */ };
///     ::aio::runtime::Builder::new_multi_thread()
///         .build()
///         .expect("aio: failed to build the runtime")
///         .run(body)
/// }
/// ```
///
/// # Panics
///
/// The generated function panics if the runtime cannot be built (for
/// example, io_uring is unavailable), and propagates a panic of the body.
///
/// [`Runtime::run`]: https://docs.rs/aio/latest/aio/runtime/struct.Runtime.html#method.run
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), args::Kind::Main).into()
}

/// Turns an `async fn` into a `#[test]` that runs it on a fresh aio runtime.
///
/// The same as [`macro@main`] (same arguments, same expansion, and every
/// test gets its own runtime) except that the default flavor is
/// `"current_thread"`, which reproduces asyncio's exact task ordering, and
/// that `#[test]` is added: writing one yourself is an error. Other test
/// attributes such as `#[should_panic]` or `#[ignore]` are kept.
///
/// # Examples
///
/// ```text
/// #[aio::test]
/// async fn sleeps_in_virtual_time() {
///     aio::sleep(std::time::Duration::from_secs(3600)).await;
/// }
///
/// #[aio::test(start_paused = true)]
/// async fn paused_clock() {}
///
/// #[aio::test(flavor = "multi_thread", worker_threads = 4)]
/// async fn on_four_workers() {
///     let t = aio::spawn(async { 1 + 1 });
///     assert_eq!(t.await.unwrap(), 2);
/// }
/// ```
///
/// The first one expands to:
///
/// ```text
/// #[::core::prelude::v1::test]
/// fn sleeps_in_virtual_time() {
///     let body = async move { /* the body */ };
///     ::aio::runtime::Builder::new_current_thread()
///         .build()
///         .expect("aio: failed to build the runtime")
///         .run(body)
/// }
/// ```
///
/// # Panics
///
/// The test panics if the runtime cannot be built, and when the body panics.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), args::Kind::Test).into()
}

/// Waits for the first of several futures to be ready and runs its branch;
/// the other futures are dropped (before the branch runs). Branches are
/// polled in a random order each time, or in written order after
/// `biased;`. A refutable pattern that does not match disables its branch;
/// `else` runs when every branch is disabled.
///
/// Use it as `aio::select!`.
///
/// ```text
/// let out = aio::select! {
///     v = aio::spawn(work()) => v.unwrap(),
///     _ = aio::sleep(Duration::from_secs(1)) => default_value,
/// };
/// ```
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

/// An async generator: `yield` inside the block produces the items of the
/// [`Stream`] the block evaluates to. The body runs as an `async move`
/// block (it may `.await`); dropping the stream drops it at once, running
/// the destructors of its locals. Only the generator's own `yield`s are
/// rewritten, not those of nested closures, async blocks or macro calls.
///
/// Use it as `aio::stream!`.
///
/// ```text
/// use aio::stream::StreamExt;
///
/// let mut s = aio::stream! {
///     for i in 0..3 {
///         aio::sleep(Duration::from_millis(1)).await;
///         yield i;
///     }
/// };
/// assert_eq!(s.next().await, Some(0));
/// assert_eq!(s.map(|i| i * 10).collect::<Vec<_>>().await, [10, 20]);
/// ```
///
/// [`Stream`]: https://docs.rs/futures-core/latest/futures_core/stream/trait.Stream.html
#[proc_macro]
pub fn stream(input: TokenStream) -> TokenStream {
    stream::expand(input.into()).into()
}
