//! Time: `Instant`, the runtime clock (real or virtual), `sleep`, and the
//! per-worker timer wheels.
//!
//! - `clock.rs`: the runtime's clock; paused (virtual) clocks advance only
//!   when told to, or when every task is idle (current_thread).
//! - `instant.rs`: `aio::time::Instant`, read from the current runtime's
//!   clock.
//! - `timers.rs`: the wheel of one worker (an `aio_timer::Wheel`), its
//!   mailbox for cancels from other threads, and firing.
//! - `sleep.rs`: the `Sleep` future.
//!
//! The schedulers own one `Timers` per worker (and one per `block_on`
//! thread); leaf futures reach it through the thread context.

pub(crate) mod clock;
mod instant;
mod sleep;
pub(crate) mod timers;

pub use instant::Instant;
pub use sleep::{sleep, sleep_until, Sleep};
