//! The [`Wheel`]: where an entry is linked, how `advance` moves time, and what
//! `next_expiration` promises.
//!
//! Every live entry is on exactly one list, named by its node's `Place`:
//!
//! * **due**: its deadline was at or before `elapsed` when it was inserted; it
//!   fires first thing in the next `advance`. `due_min` is a lower bound of
//!   these deadlines (exact until one is removed; meaningless while empty).
//! * **slot (L, s)** of a [`Level`]: `elapsed < deadline`, and `L`/`s` are
//!   given by `level_for`/`slot_for` relative to the current `elapsed`; see
//!   `level.rs` for the invariant this keeps.
//! * **overflow**: the deadline is in a later top-level rotation than
//!   `elapsed`. `overflow_min` is a lower bound of these deadlines (likewise);
//!   the list is processed when `elapsed` reaches its rotation.
//!
//! `advance` processes *events* in time order, one occupied slot (or the
//! overflow list) at a time: it sets `elapsed` to the event's tick, then
//! re-links each entry of that list relative to the new `elapsed`, which moves
//! it to a lower level, or fires it if its deadline is exactly that tick.
//! Because every entry is unlinked before its value is handed to `fire`, a
//! panicking `fire` leaves the wheel consistent: the unprocessed entries stay
//! linked and the next `advance` resumes. Callers: the runtime, through the
//! crate root.

use std::fmt;

use crate::level::{level_for, slot_for, top_rotation_start, Level, LEVELS};
use crate::list::{List, Place};
use crate::slab::{Key, Node, Slab, NIL};

/// A hierarchical timer wheel of 1 ms ticks; see the [crate docs](crate) for
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
    /// The tick the wheel has advanced to.
    elapsed: u64,
    levels: [Level; LEVELS],
    /// Entries inserted with `deadline <= elapsed`.
    due: List,
    /// Lower bound of the deadlines on `due`; meaningless while it is empty.
    due_min: u64,
    /// Entries beyond the top level's current rotation.
    overflow: List,
    /// Lower bound of the deadlines on `overflow`; meaningless while it is
    /// empty.
    overflow_min: u64,
    slab: Slab<T>,
}

/// What `advance` processes next.
#[derive(Copy, Clone, Debug)]
enum Event {
    /// Cascade (or fire) the entries of one slot.
    Slot { level: usize, slot: usize },
    /// Let the overflow entries of the current top-level rotation in.
    Overflow,
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
            elapsed: 0,
            levels: [Level::EMPTY; LEVELS],
            due: List::EMPTY,
            due_min: u64::MAX,
            overflow: List::EMPTY,
            overflow_min: u64::MAX,
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
        self.elapsed
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
        self.link(key.index());
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
        let place = self.slab.get(key)?.place;
        let index = key.index();
        match place {
            Place::Slot { level, slot } => {
                self.levels[usize::from(level)].unlink(&mut self.slab, usize::from(slot), index);
            }
            Place::Due => self.due.unlink(&mut self.slab, index),
            Place::Overflow => self.overflow.unlink(&mut self.slab, index),
        }
        Some(self.slab.take(index).1.value)
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
        self.slab.get(key).map(|node| node.deadline)
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
    /// O([`LEVELS`]): a few bitmap scans, no walk of entries.
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
        if !self.due.is_empty() {
            return Some(self.due_min);
        }
        self.next_event().map(|(tick, _)| tick)
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
    /// down a level, at most [`LEVELS`] times in its life) plus
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
        while let Some(index) = self.due.pop_front(&mut self.slab) {
            self.fire(index, &mut fire);
        }

        let target = now.max(self.elapsed);
        while let Some((tick, event)) = self.next_event() {
            if tick > target {
                break;
            }
            debug_assert!(tick >= self.elapsed, "event {tick} in the past");
            self.elapsed = tick;
            match event {
                Event::Slot { level, slot } => self.cascade(level, slot, &mut fire),
                Event::Overflow => self.admit_overflow(&mut fire),
            }
        }
        self.elapsed = target;
    }

    /// Links the unlinked node `index` on the list its deadline calls for,
    /// relative to the current `elapsed`.
    fn link(&mut self, index: u32) {
        let deadline = self.slab.node(index).deadline;
        if deadline <= self.elapsed {
            // A bound left by an emptied list may be stale: restart it.
            self.due_min = if self.due.is_empty() {
                deadline
            } else {
                self.due_min.min(deadline)
            };
            self.due.push_front(&mut self.slab, index, Place::Due);
            return;
        }
        match level_for(self.elapsed, deadline) {
            Some(level) => {
                let slot = slot_for(level, deadline);
                self.levels[level].push(&mut self.slab, level, slot, index);
            }
            None => {
                self.overflow_min = if self.overflow.is_empty() {
                    deadline
                } else {
                    self.overflow_min.min(deadline)
                };
                self.overflow
                    .push_front(&mut self.slab, index, Place::Overflow);
            }
        }
    }

    /// Vacates the unlinked node `index` and hands its value to `fire`.
    fn fire(&mut self, index: u32, fire: &mut impl FnMut(Key, T)) {
        let (key, node) = self.slab.take(index);
        fire(key, node.value);
    }

    /// The earliest pending event and its tick (ignoring the due list).
    fn next_event(&self) -> Option<(u64, Event)> {
        // Normally the lowest occupied level holds the earliest slot, but
        // after a panicking `fire` the interrupted slot (at `elapsed`) may sit
        // above freshly cascaded ones, so take the minimum over all levels.
        let mut next: Option<(u64, Event)> = None;
        for (level, wheel_level) in self.levels.iter().enumerate() {
            if let Some((slot, tick)) = wheel_level.next_occupied(level, self.elapsed) {
                if next.is_none_or(|(best, _)| tick < best) {
                    next = Some((tick, Event::Slot { level, slot }));
                }
            }
        }
        if !self.overflow.is_empty() {
            let tick = top_rotation_start(self.overflow_min);
            if next.is_none_or(|(best, _)| tick < best) {
                next = Some((tick, Event::Overflow));
            }
        }
        next
    }

    /// At `elapsed` == the slot's first tick: fires the slot's entries due
    /// now and moves the others to lower levels.
    fn cascade(&mut self, level: usize, slot: usize, fire: &mut impl FnMut(Key, T)) {
        while let Some(index) = self.levels[level].pop(&mut self.slab, slot) {
            if self.slab.node(index).deadline <= self.elapsed {
                self.fire(index, fire);
            } else {
                self.link(index);
                debug_assert!(
                    matches!(self.slab.node(index).place, Place::Slot { level: l, .. } if usize::from(l) < level),
                    "cascade must move entries down"
                );
            }
        }
    }

    /// At `elapsed` == the first tick of a top-level rotation: moves the
    /// overflow entries whose deadlines fall in it into the levels (or fires
    /// those due now) and recomputes `overflow_min` from the others.
    fn admit_overflow(&mut self, fire: &mut impl FnMut(Key, T)) {
        let rotation = top_rotation_start(self.elapsed);
        let mut remaining_min = u64::MAX;
        let mut index = self.overflow.head();
        while index != NIL {
            let node = self.slab.node(index);
            let (next, deadline) = (node.next, node.deadline);
            if top_rotation_start(deadline) == rotation {
                self.overflow.unlink(&mut self.slab, index);
                if deadline <= self.elapsed {
                    self.fire(index, fire);
                } else {
                    self.link(index);
                }
            } else {
                remaining_min = remaining_min.min(deadline);
            }
            index = next;
        }
        // Only now: if `fire` panicked above, the old minimum keeps this
        // event at `elapsed`, so the next `advance` resumes the walk.
        self.overflow_min = remaining_min;
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
            .field("elapsed", &self.elapsed)
            .field("next_expiration", &self.next_expiration())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl<T> Wheel<T> {
    /// Walks every list and checks the invariants of the module docs.
    pub(crate) fn check_invariants(&self) {
        use crate::level::SLOTS;

        let mut count = 0;
        let mut walk = |list: List, place: Place, check: &mut dyn FnMut(u64)| {
            let mut prev = NIL;
            let mut index = list.head();
            while index != NIL {
                let node = self.slab.node(index);
                assert_eq!(node.prev, prev, "broken back link");
                assert_eq!(node.place, place, "node on the wrong list");
                check(node.deadline);
                count += 1;
                prev = index;
                index = node.next;
            }
        };
        let elapsed = self.elapsed;
        for (level, wheel_level) in self.levels.iter().enumerate() {
            for slot in 0..SLOTS {
                let list = wheel_level.slot(slot);
                assert_eq!(wheel_level.is_marked(slot), !list.is_empty(), "bitmap");
                let place = Place::Slot {
                    level: level as u8,
                    slot: slot as u8,
                };
                walk(list, place, &mut |deadline| {
                    assert!(
                        deadline > elapsed,
                        "slot entry {deadline} not after {elapsed}"
                    );
                    assert_eq!(level_for(elapsed, deadline), Some(level));
                    assert_eq!(slot_for(level, deadline), slot);
                });
            }
        }
        let due_min = self.due_min;
        walk(self.due, Place::Due, &mut |deadline| {
            assert!(deadline <= elapsed && due_min <= deadline, "due entry");
        });
        let overflow_min = self.overflow_min;
        walk(self.overflow, Place::Overflow, &mut |deadline| {
            assert!(top_rotation_start(deadline) > top_rotation_start(elapsed));
            assert!(overflow_min <= deadline, "overflow_min above an entry");
        });
        if !self.overflow.is_empty() {
            assert!(top_rotation_start(self.overflow_min) > elapsed);
        }
        assert_eq!(count, self.len(), "entries missing from every list");
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_random;
