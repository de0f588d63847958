//! The one synchronisation facade of `aio-runtime`.
//!
//! Every atomic, `Arc`, mutex, condition variable, `UnsafeCell` and thread in
//! this crate comes from here. Normally these are `std` / `parking_lot`
//! types; under `--cfg loom` they are loom's, so that the models in
//! `src/*/tests/loom_*.rs` explore every interleaving of the protocols built
//! on them (task state, run queues, park/unpark, timer cancel). Nothing else
//! in the crate may name `std::sync` types (clippy `disallowed-types`).
#![allow(clippy::disallowed_types)]

#[cfg(not(loom))]
mod std_impl;
#[cfg(not(loom))]
pub(crate) use std_impl::*;

#[cfg(loom)]
mod mocked;
#[cfg(loom)]
pub(crate) use mocked::*;

#[cfg(all(test, loom))]
pub(crate) mod model;
