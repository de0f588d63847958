//! Combinators over futures and tasks: `gather!` / `gather`, `try_gather!`
//! / `try_gather`, `wait`, `as_completed`, `select!`, `Promise`.
//!
//! Everything here runs inside the caller's task (nothing is spawned):
//! the futures are polled concurrently by the task that awaits the
//! combinator.

mod as_completed;
mod join;
mod maybe_done;
mod promise;
mod wait;

pub use as_completed::{as_completed, AsCompleted, AsCompletedTimeout};
pub use join::{gather, try_gather, Gather, IsResult, TryGather};
pub use join::{
    Join1, Join10, Join11, Join12, Join2, Join3, Join4, Join5, Join6, Join7, Join8, Join9,
};
pub use join::{
    TryJoin1, TryJoin10, TryJoin11, TryJoin12, TryJoin2, TryJoin3, TryJoin4, TryJoin5, TryJoin6,
    TryJoin7, TryJoin8, TryJoin9,
};
pub use promise::{InvalidState, Promise, Wait};
pub use wait::{wait, wait_fallible, ReturnWhen};

/// Used by the macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::join::{
        join1, join10, join11, join12, join2, join3, join4, join5, join6, join7, join8, join9,
        try_join1, try_join10, try_join11, try_join12, try_join2, try_join3, try_join4, try_join5,
        try_join6, try_join7, try_join8, try_join9,
    };

    /// A random index below `n` (for `select!`'s fair branch order).
    pub fn rand_below(n: usize) -> usize {
        use std::cell::Cell;
        use std::hash::{BuildHasher, Hasher};
        thread_local! {
            // Seeded from std's random hash keys (the OS's entropy, once
            // per thread; under Miri, its seeded generator), not the wall
            // clock, which Miri's isolation does not give.
            static STATE: Cell<u64> = Cell::new(
                std::collections::hash_map::RandomState::new().build_hasher().finish() | 1,
            );
        }
        STATE.with(|s| {
            let mut x = s.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            (x % n.max(1) as u64) as usize
        })
    }
}
