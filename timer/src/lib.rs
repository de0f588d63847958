//! aio's timer wheel: a hierarchical 6 × 64 wheel of ticks, with no I/O,
//! no threads, no atomics and no dependencies.
//!
//! Two forms share one algorithm. [`Wheel<T>`](Wheel) owns its values in a
//! slab and names them by [`Key`]s: insert, [`Wheel::remove`] by key,
//! [`Wheel::advance`] hands back the values that are due. [`RawWheel`] is the
//! same wheel over entries it does not own: each entry carries its
//! [`Links`], and a [`Store`] gives them from the entry's id. The runtime
//! keeps one `RawWheel` per worker, next to its ring, over entries that live
//! inside its `Sleep` futures (so a sleep allocates nothing). It converts
//! every deadline to a *tick* (1 tick = 250 µs since the runtime's clock origin,
//! **rounded up**, so that a sleep never fires early), parks for at most
//! `next_expiration` minus the current tick, and on waking calls `advance`
//! with the current tick to wake every timer that is due. The wheel itself
//! never reads a clock: the caller feeds it ticks, which is also how the
//! virtual test clock drives it.
//!
//! # The model
//!
//! * [`Wheel::elapsed`] is the tick the wheel has advanced to; it starts at 0
//!   and only moves forward.
//! * An entry fires during the first [`Wheel::advance`] whose `now` is at or
//!   after its deadline: never earlier, never twice, never lost. An entry
//!   inserted with a deadline at or before [`Wheel::elapsed`] fires during the
//!   very next `advance`, whatever its `now`.
//! * Insert and remove are O(1) and do not allocate once the wheel's storage
//!   has grown to the peak number of live entries.
//! * `advance` jumps from occupied slot to occupied slot using per-level
//!   bitmaps, so its cost depends on the entries it touches, not on how far
//!   time moves.
//!
//! Level *L* (0 ≤ *L* < [`LEVELS`]) has [`SLOTS`] slots of 64<sup>*L*</sup>
//! ticks each. An entry sits in the level of the highest 6-bit digit in which
//! its deadline differs from `elapsed`, so near deadlines sit in level 0 (exact
//! to the tick) and far ones in coarse upper slots. When time reaches an upper
//! slot, its entries *cascade*: each moves to a lower level, or fires if its
//! deadline is exactly that tick. Deadlines beyond the top level's current
//! rotation (more than [`MAX_DURATION`] ahead, or across a 2<sup>36</sup>-tick
//! boundary) wait in an overflow list and re-enter the wheel when their
//! rotation begins; they are never clamped and never fire early.
//!
//! # Examples
//!
//! A runtime's park loop, with a clock that jumps straight to each expiration:
//!
//! ```
//! use aio_timer::Wheel;
//!
//! let mut wheel = Wheel::new();
//! let cancelled = wheel.insert(5, "cancelled");
//! wheel.insert(300, "slow");
//! wheel.insert(2, "fast");
//! assert_eq!(wheel.remove(cancelled), Some("cancelled"));
//!
//! let mut fired = Vec::new();
//! let mut wakes = Vec::new();
//! while let Some(tick) = wheel.next_expiration() {
//!     // A real runtime parks for `tick - now` ms here, then reads its clock.
//!     let now = tick;
//!     wakes.push(now);
//!     wheel.advance(now, |_key, name| fired.push((now, name)));
//! }
//! assert_eq!(fired, [(2, "fast"), (300, "slow")]);
//! // 300 sat in level 1, slot 4 (ticks 256..320): the wheel wakes once at 256
//! // to cascade it into level 0, then fires it at exactly 300.
//! assert_eq!(wakes, [2, 256, 300]);
//! assert!(wheel.is_empty());
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod level;
mod list;
mod raw;
mod slab;
mod wheel;

pub use level::{LEVELS, MAX_DURATION, SLOTS};
pub use raw::{LinkId, Links, RawWheel, Store};
pub use slab::Key;
pub use wheel::Wheel;
