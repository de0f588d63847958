//! Combinators over futures and tasks: `gather!` / `gather`, `try_gather!`
//! / `try_gather`, `wait`, `as_completed`, `select!`, `Promise`.
