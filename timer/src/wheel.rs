//! The [`Wheel`]: the slab-backed wheel, a [`RawWheel`] over a [`Slab`] that
//! owns the values and names them by generation-checked [`Key`]s. The
//! algorithm (lists, cascades, `next_expiration`) is in `raw.rs`. Callers:
//! users of the crate.

use std::fmt;

use crate::raw::RawWheel;
use crate::slab::{Key, Node, Slab};

/// A hierarchical timer wheel of ticks (a unit the caller picks); see the [crate docs](crate) for
/// the model.
///
/// `Wheel` does no I/O and reads no clock: the caller supplies ticks. It is
/// `Send` if `T` is, and is meant to be owned by one worker.
///
/// # Examples
///
/// ```
/// use aio_timer::Wheel;
///
/// let mut wheel = Wheel::new();
/// wheel.insert(70, "a");
/// wheel.insert(10, "b");
///
/// let mut fired = Vec::new();
/// wheel.advance(100, |_key, value| fired.push(value));
/// assert_eq!(fired, ["b", "a"]);
/// assert_eq!(wheel.elapsed(), 100);
/// ```
pub struct Wheel<T> {
    raw: RawWheel<u32>,
    slab: Slab<T>,
}

impl<T> Wheel<T> {
    /// Creates an empty wheel at tick 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let wheel = aio_timer::Wheel::<()>::new();
    /// assert_eq!(wheel.elapsed(), 0);
    /// assert!(wheel.is_empty());
    /// ```
    pub const fn new() -> Self {
        Wheel {
            raw: RawWheel::new(),
            slab: Slab::new(),
        }
    }

    /// The tick the wheel has advanced to: the largest `now` passed to
    /// [`advance`](Wheel::advance) so far, or 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::<()>::new();
    /// wheel.advance(42, |_, _| {});
    /// wheel.advance(7, |_, _| {}); // time never moves back
    /// assert_eq!(wheel.elapsed(), 42);
    /// ```
    pub fn elapsed(&self) -> u64 {
        self.raw.elapsed()
    }

    /// Number of entries in the wheel (inserted, not yet fired or removed).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::new();
    /// wheel.insert(5, ());
    /// assert_eq!(wheel.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether the wheel holds no entries.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::new();
    /// assert!(wheel.is_empty());
    /// let key = wheel.insert(5, ());
    /// assert!(!wheel.is_empty());
    /// wheel.remove(key);
    /// assert!(wheel.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts `value` to fire at tick `deadline`, and returns the key that
    /// [`remove`](Wheel::remove) takes to cancel it.
    ///
    /// The entry fires during the first [`advance`](Wheel::advance) whose
    /// `now` is at or after `deadline`, never earlier. A `deadline` at or
    /// before [`elapsed`](Wheel::elapsed) fires during the next `advance`,
    /// whatever its `now`. Any `u64` deadline is accepted; none is clamped
    /// (see [`MAX_DURATION`](crate::MAX_DURATION)).
    ///
    /// O(1); allocates only when the number of live entries exceeds its
    /// previous peak.
    ///
    /// # Panics
    ///
    /// If `u32::MAX` entries would be live at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::new();
    /// wheel.advance(100, |_, _| {});
    /// wheel.insert(50, "late"); // already due
    ///
    /// let mut fired = Vec::new();
    /// wheel.advance(100, |_, value| fired.push(value));
    /// assert_eq!(fired, ["late"]);
    /// ```
    pub fn insert(&mut self, deadline: u64, value: T) -> Key {
        let key = self.slab.insert(Node::new(deadline, value));
        self.raw.insert(&mut self.slab, key.index());
        key
    }

    /// Removes the entry named by `key` and returns its value, or returns
    /// `None` if the key is stale (its entry already fired or was removed).
    ///
    /// O(1). A stale key never affects a newer entry that reuses its storage.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::new();
    /// let key = wheel.insert(5, "sleep");
    /// assert_eq!(wheel.remove(key), Some("sleep"));
    /// assert_eq!(wheel.remove(key), None);
    ///
    /// let key = wheel.insert(5, "fires");
    /// wheel.advance(5, |_, _| {});
    /// assert_eq!(wheel.remove(key), None);
    /// ```
    pub fn remove(&mut self, key: Key) -> Option<T> {
        self.slab.get(key)?;
        self.raw.remove(&mut self.slab, key.index());
        Some(self.slab.take(key.index()).1.value)
    }

    /// The deadline of the entry named by `key`, or `None` if the key is stale.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::new();
    /// let key = wheel.insert(5, ());
    /// assert_eq!(wheel.deadline(key), Some(5));
    /// wheel.advance(5, |_, _| {});
    /// assert_eq!(wheel.deadline(key), None);
    /// ```
    pub fn deadline(&self, key: Key) -> Option<u64> {
        self.slab.get(key).map(|node| node.links.deadline())
    }

    /// The tick up to which the caller may sleep before it must call
    /// [`advance`](Wheel::advance), or `None` if the wheel is empty.
    ///
    /// The result is never later than the earliest deadline in the wheel, so
    /// a park timeout computed from it never oversleeps. Precisely:
    ///
    /// * If an entry was inserted already due, a lower bound of such
    ///   deadlines: a tick **at or before** [`elapsed`](Wheel::elapsed),
    ///   meaning "advance now".
    /// * Otherwise, if the earliest occupied slot is in level 0, the earliest
    ///   deadline, exactly.
    /// * Otherwise, the first tick of the earliest occupied slot of a higher
    ///   level (a multiple of 64<sup>*L*</sup> for level *L*): at that tick
    ///   `advance` cascades the slot, firing entries due exactly then and
    ///   moving the rest down. So a far deadline costs at most one extra wake
    ///   per level it passes through, and asking again after that `advance`
    ///   gives a tighter answer.
    /// * For entries beyond the top level's rotation (see
    ///   [`MAX_DURATION`](crate::MAX_DURATION)), the first tick of the
    ///   rotation of the earliest of them.
    ///
    /// O([`LEVELS`](crate::LEVELS)): a few bitmap scans, no walk of entries.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::new();
    /// assert_eq!(wheel.next_expiration(), None);
    ///
    /// wheel.insert(40, ());
    /// assert_eq!(wheel.next_expiration(), Some(40)); // level 0: exact
    ///
    /// wheel.insert(10_000, ());
    /// wheel.advance(40, |_, _| {});
    /// // 10_000 is in level 2, slot 2 (ticks 8192..12288): cascade at 8192.
    /// assert_eq!(wheel.next_expiration(), Some(8192));
    /// wheel.advance(8192, |_, _| {});
    /// // Now in level 1, slot 28 (ticks 9984..10048).
    /// assert_eq!(wheel.next_expiration(), Some(9984));
    /// wheel.advance(9984, |_, _| {});
    /// assert_eq!(wheel.next_expiration(), Some(10_000));
    /// ```
    pub fn next_expiration(&self) -> Option<u64> {
        self.raw.next_expiration()
    }

    /// Advances the wheel to tick `now`, calling `fire(key, value)` once for
    /// every entry whose deadline is at or before `now`, and removing it.
    ///
    /// Entries inserted already due fire first. The rest fire as time reaches
    /// their slots, so they come in nondecreasing deadline order, though
    /// callers should not rely on any order. If `now <= elapsed()` time does
    /// not move, but entries inserted already due still fire.
    ///
    /// The cost is proportional to the entries touched (each fires, or moves
    /// down a level, at most [`LEVELS`](crate::LEVELS) times in its life) plus
    /// O(`LEVELS`) per occupied slot reached; empty slots are skipped through
    /// the bitmaps, so `advance(u64::MAX)` is cheap.
    ///
    /// # Panics
    ///
    /// Only if `fire` panics. The entry being fired is then consumed; every
    /// other entry stays in the wheel, consistent, and the next `advance`
    /// (even with an earlier `now`) finishes the interrupted work.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut wheel = aio_timer::Wheel::new();
    /// let keys = [wheel.insert(3, 'a'), wheel.insert(1_000_000, 'b')];
    ///
    /// let mut fired = Vec::new();
    /// wheel.advance(u64::MAX, |key, value| fired.push((key, value)));
    /// assert_eq!(fired, [(keys[0], 'a'), (keys[1], 'b')]);
    /// assert_eq!(wheel.elapsed(), u64::MAX);
    /// ```
    pub fn advance(&mut self, now: u64, mut fire: impl FnMut(Key, T)) {
        self.raw.advance(&mut self.slab, now, |slab, index| {
            let (key, node) = slab.take(index);
            fire(key, node.value);
        });
    }
}

impl<T> Default for Wheel<T> {
    /// Same as [`Wheel::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let wheel: aio_timer::Wheel<u32> = Default::default();
    /// assert!(wheel.is_empty());
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("len", &self.len())
            .field("elapsed", &self.elapsed())
            .field("next_expiration", &self.next_expiration())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl<T> Wheel<T> {
    pub(crate) fn check_invariants(&self) {
        self.raw.check_invariants(&self.slab);
        assert_eq!(self.raw.len(), self.slab.len(), "slab and lists disagree");
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_random;
