//! One level of the wheel (64 slot lists and their occupied bitmap) and the
//! bit arithmetic that places a deadline in a level and slot.
//!
//! Ticks are read as base-64 numbers: digit *L* (bits `6L..6L+6`) selects the
//! slot in level *L*, whose slots are 64<sup>*L*</sup> ticks wide and whose
//! *rotation* (all 64 slots) spans 64<sup>*L*+1</sup> ticks. An entry with
//! deadline `d > elapsed` lives in level *L* = the highest digit in which `d`
//! and `elapsed` differ, slot = digit *L* of `d`.
//!
//! Invariant kept by `wheel.rs`: every occupied slot of level *L* lies in the
//! rotation that contains `elapsed` and starts after `elapsed` (it starts
//! exactly at `elapsed` only while a cascade that panicked is pending). So
//! the lowest set bit of the bitmap is the next slot to process, with no
//! wrap-around, and an occupied level-*L* slot always starts before any
//! occupied slot of level *L* + 1. Callers: `wheel.rs` only.

use crate::list::{List, Place};
use crate::raw::{LinkId, Store};

/// Number of levels in the wheel.
///
/// # Examples
///
/// ```
/// assert_eq!(aio_timer::LEVELS, 6);
/// ```
pub const LEVELS: usize = 6;

/// Number of slots in each level; level *L*'s slots are 64<sup>*L*</sup> ticks wide.
///
/// # Examples
///
/// ```
/// use aio_timer::{LEVELS, MAX_DURATION, SLOTS};
///
/// assert_eq!(SLOTS, 64);
/// assert_eq!(MAX_DURATION + 1, (SLOTS as u64).pow(LEVELS as u32));
/// ```
pub const SLOTS: usize = 64;

/// log2 of [`SLOTS`]: the width in bits of one level's digit.
const SLOT_BITS: usize = 6;

/// The span of the wheel's levels minus one: 64<sup>6</sup> − 1 ticks, about
/// 199 days of the runtime's 250 µs ticks.
///
/// Deadlines are **not** clamped to it. A deadline that lies beyond the top
/// level's current rotation (always the case when it is more than
/// `MAX_DURATION` ticks after [`Wheel::elapsed`](crate::Wheel::elapsed),
/// sometimes for a nearer one that crosses a 2<sup>36</sup>-tick boundary)
/// waits in an overflow list and re-enters the levels when time reaches its
/// rotation. It fires at its true deadline, never early, and the caller never
/// needs to re-insert it. The cost is at most one extra wake per
/// 2<sup>36</sup>-tick rotation in which such entries exist.
///
/// # Examples
///
/// ```
/// use aio_timer::{Wheel, MAX_DURATION};
///
/// let mut wheel = Wheel::new();
/// let far = 3 * MAX_DURATION;
/// wheel.insert(far, ());
///
/// let mut fired = 0;
/// wheel.advance(far - 1, |_, ()| fired += 1);
/// assert_eq!(fired, 0);
/// wheel.advance(far, |_, ()| fired += 1);
/// assert_eq!(fired, 1);
/// ```
pub const MAX_DURATION: u64 = (1 << (SLOT_BITS * LEVELS)) - 1;

const _: () = assert!(SLOTS == 1 << SLOT_BITS && SLOTS == u64::BITS as usize);

/// Width of one slot of `level`, in ticks (64^level).
pub(crate) const fn slot_span(level: usize) -> u64 {
    1 << (SLOT_BITS * level)
}

/// The level for `deadline`, or `None` if it lies beyond the top level's
/// current rotation. Requires `deadline > elapsed`.
pub(crate) fn level_for(elapsed: u64, deadline: u64) -> Option<usize> {
    debug_assert!(deadline > elapsed);
    let highest_differing_bit = (u64::BITS - 1 - (deadline ^ elapsed).leading_zeros()) as usize;
    let level = highest_differing_bit / SLOT_BITS;
    (level < LEVELS).then_some(level)
}

/// Digit `level` of `deadline`: its slot in that level.
pub(crate) fn slot_for(level: usize, deadline: u64) -> usize {
    ((deadline >> (SLOT_BITS * level)) & (SLOTS as u64 - 1)) as usize
}

/// First tick of the top level's rotation that contains `tick`; an overflow
/// entry re-enters the levels when `elapsed` reaches this for its deadline.
pub(crate) fn top_rotation_start(tick: u64) -> u64 {
    tick & !MAX_DURATION
}

/// One level: a list per slot and a bitmap of the non-empty ones.
#[derive(Debug)]
pub(crate) struct Level<Id> {
    /// Bit `s` is set iff `slots[s]` is non-empty.
    occupied: u64,
    slots: [List<Id>; SLOTS],
}

impl<Id: LinkId> Level<Id> {
    pub(crate) const EMPTY: Level<Id> = Level {
        occupied: 0,
        slots: [List::EMPTY; SLOTS],
    };

    /// Links the unlinked entry `id` into `slot` of this level, `level`.
    pub(crate) fn push<S: Store<Id = Id>>(
        &mut self,
        store: &mut S,
        level: usize,
        slot: usize,
        id: Id,
    ) {
        let place = Place::Slot {
            level: level as u8,
            slot: slot as u8,
        };
        self.slots[slot].push_front(store, id, place);
        self.occupied |= 1 << slot;
    }

    /// Unlinks entry `id` from `slot`.
    pub(crate) fn unlink<S: Store<Id = Id>>(&mut self, store: &mut S, slot: usize, id: Id) {
        self.slots[slot].unlink(store, id);
        if self.slots[slot].is_empty() {
            self.occupied &= !(1 << slot);
        }
    }

    /// Unlinks and returns some entry of `slot`, if any.
    pub(crate) fn pop<S: Store<Id = Id>>(&mut self, store: &mut S, slot: usize) -> Option<Id> {
        let index = self.slots[slot].pop_front(store)?;
        if self.slots[slot].is_empty() {
            self.occupied &= !(1 << slot);
        }
        Some(index)
    }

    /// The earliest occupied slot of this level, `level`, and its first tick.
    pub(crate) fn next_occupied(&self, level: usize, elapsed: u64) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let slot = self.occupied.trailing_zeros() as usize;
        let rotation = slot_span(level + 1);
        let rotation_start = elapsed & !(rotation - 1);
        Some((slot, rotation_start + slot as u64 * slot_span(level)))
    }

    /// The list of `slot`, for invariant checks.
    #[cfg(test)]
    pub(crate) fn slot(&self, slot: usize) -> List<Id> {
        self.slots[slot]
    }

    /// Whether the bitmap marks `slot` occupied, for invariant checks.
    #[cfg(test)]
    pub(crate) fn is_marked(&self, slot: usize) -> bool {
        self.occupied & (1 << slot) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slab::{Node, Slab};

    #[test]
    fn level_for_every_boundary() {
        assert_eq!(level_for(0, 1), Some(0));
        for k in 1..=LEVELS {
            let boundary = slot_span(k);
            assert_eq!(level_for(0, boundary - 1), Some(k - 1), "64^{k} - 1");
            let expected = (k < LEVELS).then_some(k);
            assert_eq!(level_for(0, boundary), expected, "64^{k}");
            // From one tick before a boundary, crossing it is a high-level move.
            assert_eq!(level_for(boundary - 1, boundary), expected, "cross 64^{k}");
        }
        assert_eq!(level_for(0, u64::MAX), None);
        assert_eq!(level_for(u64::MAX - 1, u64::MAX), Some(0));
        assert_eq!(level_for(MAX_DURATION, MAX_DURATION + 1), None);
        assert_eq!(level_for(MAX_DURATION + 1, 2 * MAX_DURATION + 1), Some(5));
    }

    #[test]
    fn slot_and_rotation_arithmetic() {
        assert_eq!(slot_for(0, 63), 63);
        assert_eq!(slot_for(0, 64), 0);
        assert_eq!(slot_for(1, 64), 1);
        assert_eq!(slot_for(1, 4095), 63);
        assert_eq!(slot_for(5, MAX_DURATION), 63);
        assert_eq!(slot_for(5, MAX_DURATION + 1), 0);
        assert_eq!(top_rotation_start(MAX_DURATION), 0);
        assert_eq!(top_rotation_start(MAX_DURATION + 5), MAX_DURATION + 1);
        assert_eq!(top_rotation_start(u64::MAX), u64::MAX - MAX_DURATION);
    }

    #[test]
    fn bitmap_tracks_slot_lists() {
        let mut slab = Slab::new();
        let mut level = Level::EMPTY;
        let a = slab.insert(Node::new(4096 * 3 + 5, ())).index();
        let b = slab.insert(Node::new(4096 * 3 + 7, ())).index();
        let c = slab.insert(Node::new(4096 * 9, ())).index();
        level.push(&mut slab, 2, 3, a);
        level.push(&mut slab, 2, 3, b);
        level.push(&mut slab, 2, 9, c);
        assert_eq!(level.next_occupied(2, 100), Some((3, 3 * 4096)));

        level.unlink(&mut slab, 3, a);
        assert!(level.is_marked(3));
        assert_eq!(level.pop(&mut slab, 3), Some(b));
        assert!(!level.is_marked(3));
        assert_eq!(level.pop(&mut slab, 3), None);
        // Rotation start comes from `elapsed`: level 2 rotates every 64^3.
        let elapsed = 5 * 262_144 + 4 * 4096;
        assert_eq!(
            level.next_occupied(2, elapsed),
            Some((9, 5 * 262_144 + 9 * 4096))
        );
        level.unlink(&mut slab, 9, c);
        assert_eq!(level.next_occupied(2, elapsed), None);
    }
}
