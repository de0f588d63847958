//! The wheel's algorithm over entries it does not own: [`RawWheel`], the
//! [`Links`] each entry carries, and the [`Store`] that reaches them.
//!
//! Every linked entry is on exactly one list, named by its links' `Place`:
//!
//! * **due**: its deadline was at or before `elapsed` when it was inserted; it
//!   fires first thing in the next `advance`. `due_min` is a lower bound of
//!   these deadlines (exact until one is removed; meaningless while empty).
//! * **slot (L, s)** of a `Level`: `elapsed < deadline`, and `L`/`s` are
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
//! Because every entry is unlinked before it is handed to `fire`, a
//! panicking `fire` leaves the wheel consistent: the unprocessed entries stay
//! linked and the next `advance` resumes.
//!
//! Two stores use it: the slab of [`Wheel`](crate::Wheel) (ids are slab
//! indices) and the runtime's intrusive timers (ids are pointers to entries
//! that live inside the `Sleep` futures, so a sleeping task allocates nothing
//! for its timer). Callers: `wheel.rs` and the runtime.

use std::fmt;

use crate::level::{level_for, slot_for, top_rotation_start, Level, LEVELS};
use crate::list::{List, Place};

/// The name of an entry in a [`Store`]: a slab index, or a pointer.
///
/// # Examples
///
/// ```
/// use aio_timer::LinkId;
///
/// #[derive(Copy, Clone, Debug, PartialEq, Eq)]
/// struct Index(u16);
/// impl LinkId for Index {
///     const NIL: Index = Index(u16::MAX);
/// }
/// assert_ne!(Index(0), Index::NIL);
/// ```
pub trait LinkId: Copy + Eq + fmt::Debug {
    /// The id that names no entry (the end of a list).
    const NIL: Self;
}

/// An entry's deadline and its place in the wheel's lists, kept inside the
/// entry. Only the [`RawWheel`] the entry is inserted in changes them.
///
/// # Examples
///
/// ```
/// let links = aio_timer::Links::<u32>::new(70);
/// assert_eq!(links.deadline(), 70);
/// ```
#[derive(Debug, Clone)]
pub struct Links<Id> {
    /// Tick at which the entry is due.
    pub(crate) deadline: u64,
    /// Previous entry in the list named by `place`, or `NIL` at the head.
    pub(crate) prev: Id,
    /// Next entry in the list named by `place`, or `NIL` at the tail.
    pub(crate) next: Id,
    /// Which list the entry is on. Only meaningful while it is linked.
    pub(crate) place: Place,
}

impl<Id: LinkId> Links<Id> {
    /// The links of an entry due at tick `deadline`, not linked anywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut links = aio_timer::Links::<u32>::new(5);
    /// links.set_deadline(9);
    /// assert_eq!(links.deadline(), 9);
    /// ```
    pub const fn new(deadline: u64) -> Links<Id> {
        Links {
            deadline,
            prev: Id::NIL,
            next: Id::NIL,
            place: Place::Due,
        }
    }

    /// The tick the entry is due at.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio_timer::Links::<u32>::new(3).deadline(), 3);
    /// ```
    pub fn deadline(&self) -> u64 {
        self.deadline
    }

    /// Sets the deadline of an entry that is **not** inserted in a wheel (a
    /// linked entry's deadline decides its list; change it only after
    /// [`RawWheel::remove`] or a fire).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut links = aio_timer::Links::<u32>::new(5);
    /// links.set_deadline(1);
    /// assert_eq!(links.deadline(), 1);
    /// ```
    pub fn set_deadline(&mut self, deadline: u64) {
        self.deadline = deadline;
    }
}

/// Where a [`RawWheel`]'s entries live: gives the [`Links`] of an entry
/// from its id.
///
/// It must give the same links for the same id for as long as the entry is
/// inserted; the wheel's lists go wrong (but nothing unsafe happens in this
/// crate) if it does not.
///
/// # Examples
///
/// A store of entries in a `Vec`, driving a [`RawWheel`]:
///
/// ```
/// use aio_timer::{Links, RawWheel, Store};
///
/// struct Entries(Vec<Links<u32>>);
/// impl Store for Entries {
///     type Id = u32;
///     fn links(&self, id: u32) -> &Links<u32> {
///         &self.0[id as usize]
///     }
///     fn links_mut(&mut self, id: u32) -> &mut Links<u32> {
///         &mut self.0[id as usize]
///     }
/// }
///
/// let mut store = Entries(vec![Links::new(30), Links::new(10)]);
/// let mut wheel = RawWheel::new();
/// wheel.insert(&mut store, 0);
/// wheel.insert(&mut store, 1);
/// let mut fired = Vec::new();
/// wheel.advance(&mut store, 100, |_, id| fired.push(id));
/// assert_eq!(fired, [1, 0]);
/// ```
pub trait Store {
    /// The entries' ids.
    type Id: LinkId;
    /// The links of entry `id`.
    fn links(&self, id: Self::Id) -> &Links<Self::Id>;
    /// The links of entry `id`, to change.
    fn links_mut(&mut self, id: Self::Id) -> &mut Links<Self::Id>;
}

/// The hierarchical wheel over entries kept elsewhere (see the module docs
/// and the [`Store`] example): [`Wheel`](crate::Wheel) without the storage.
///
/// Each method that touches entries takes the store; an id passed to
/// [`insert`](RawWheel::insert) must name an entry that is in no wheel, and
/// one passed to [`remove`](RawWheel::remove) an entry inserted in this one.
pub struct RawWheel<Id> {
    /// The tick the wheel has advanced to.
    elapsed: u64,
    levels: [Level<Id>; LEVELS],
    /// Entries inserted with `deadline <= elapsed`.
    due: List<Id>,
    /// Lower bound of the deadlines on `due`; meaningless while it is empty.
    due_min: u64,
    /// Entries beyond the top level's current rotation.
    overflow: List<Id>,
    /// Lower bound of the deadlines on `overflow`; meaningless while it is
    /// empty.
    overflow_min: u64,
    /// Entries inserted and not yet fired or removed.
    len: usize,
}

/// What `advance` processes next.
#[derive(Copy, Clone, Debug)]
enum Event {
    /// Cascade (or fire) the entries of one slot.
    Slot { level: usize, slot: usize },
    /// Let the overflow entries of the current top-level rotation in.
    Overflow,
}

impl<Id: LinkId> RawWheel<Id> {
    /// An empty wheel at tick 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let wheel = aio_timer::RawWheel::<u32>::new();
    /// assert_eq!((wheel.elapsed(), wheel.len()), (0, 0));
    /// ```
    pub const fn new() -> Self {
        RawWheel {
            elapsed: 0,
            levels: [Level::EMPTY; LEVELS],
            due: List::EMPTY,
            due_min: u64::MAX,
            overflow: List::EMPTY,
            overflow_min: u64::MAX,
            len: 0,
        }
    }

    /// As [`Wheel::elapsed`](crate::Wheel::elapsed).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio_timer::RawWheel::<u32>::new().elapsed(), 0);
    /// ```
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Entries inserted and not yet fired or removed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio_timer::RawWheel::<u32>::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is inserted.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(aio_timer::RawWheel::<u32>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Links entry `id` (in no wheel) by the deadline in its links; as
    /// [`Wheel::insert`](crate::Wheel::insert). O(1), never allocates.
    ///
    /// # Examples
    ///
    /// See [`Store`].
    pub fn insert<S: Store<Id = Id>>(&mut self, store: &mut S, id: Id) {
        self.link(store, id);
        self.len += 1;
    }

    /// Unlinks entry `id`, which is inserted in this wheel. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio_timer::{Links, RawWheel, Store};
    /// struct One(Links<u32>);
    /// impl Store for One {
    ///     type Id = u32;
    ///     fn links(&self, _: u32) -> &Links<u32> { &self.0 }
    ///     fn links_mut(&mut self, _: u32) -> &mut Links<u32> { &mut self.0 }
    /// }
    /// let mut store = One(Links::new(5));
    /// let mut wheel = RawWheel::new();
    /// wheel.insert(&mut store, 0);
    /// wheel.remove(&mut store, 0);
    /// assert!(wheel.is_empty());
    /// wheel.advance(&mut store, 10, |_, _| unreachable!());
    /// ```
    pub fn remove<S: Store<Id = Id>>(&mut self, store: &mut S, id: Id) {
        match store.links(id).place {
            Place::Slot { level, slot } => {
                self.levels[usize::from(level)].unlink(store, usize::from(slot), id);
            }
            Place::Due => self.due.unlink(store, id),
            Place::Overflow => self.overflow.unlink(store, id),
        }
        self.len -= 1;
    }

    /// As [`Wheel::next_expiration`](crate::Wheel::next_expiration).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio_timer::RawWheel::<u32>::new().next_expiration(), None);
    /// ```
    pub fn next_expiration(&self) -> Option<u64> {
        if !self.due.is_empty() {
            return Some(self.due_min);
        }
        self.next_event().map(|(tick, _)| tick)
    }

    /// As [`Wheel::advance`](crate::Wheel::advance): calls `fire(store, id)`
    /// for every entry due at or before `now`, after unlinking it (so `fire`
    /// may reuse or free it).
    ///
    /// # Examples
    ///
    /// See [`Store`].
    pub fn advance<S: Store<Id = Id>>(
        &mut self,
        store: &mut S,
        now: u64,
        mut fire: impl FnMut(&mut S, Id),
    ) {
        while let Some(id) = self.due.pop_front(store) {
            self.fire(store, id, &mut fire);
        }

        let target = now.max(self.elapsed);
        while let Some((tick, event)) = self.next_event() {
            if tick > target {
                break;
            }
            debug_assert!(tick >= self.elapsed, "event {tick} in the past");
            self.elapsed = tick;
            match event {
                Event::Slot { level, slot } => self.cascade(store, level, slot, &mut fire),
                Event::Overflow => self.admit_overflow(store, &mut fire),
            }
        }
        self.elapsed = target;
    }

    /// Links `id` by its deadline relative to `elapsed`.
    fn link<S: Store<Id = Id>>(&mut self, store: &mut S, id: Id) {
        let deadline = store.links(id).deadline;
        if deadline <= self.elapsed {
            // A bound left by an emptied list may be stale: restart it.
            self.due_min = if self.due.is_empty() {
                deadline
            } else {
                self.due_min.min(deadline)
            };
            self.due.push_front(store, id, Place::Due);
            return;
        }
        match level_for(self.elapsed, deadline) {
            Some(level) => {
                let slot = slot_for(level, deadline);
                self.levels[level].push(store, level, slot, id);
            }
            None => {
                self.overflow_min = if self.overflow.is_empty() {
                    deadline
                } else {
                    self.overflow_min.min(deadline)
                };
                self.overflow.push_front(store, id, Place::Overflow);
            }
        }
    }

    /// Hands the unlinked `id` to `fire`.
    fn fire<S: Store<Id = Id>>(
        &mut self,
        store: &mut S,
        id: Id,
        fire: &mut impl FnMut(&mut S, Id),
    ) {
        self.len -= 1;
        fire(store, id);
    }

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

    fn cascade<S: Store<Id = Id>>(
        &mut self,
        store: &mut S,
        level: usize,
        slot: usize,
        fire: &mut impl FnMut(&mut S, Id),
    ) {
        while let Some(id) = self.levels[level].pop(store, slot) {
            if store.links(id).deadline <= self.elapsed {
                self.fire(store, id, fire);
            } else {
                self.link(store, id);
                debug_assert!(
                    matches!(store.links(id).place, Place::Slot { level: l, .. } if usize::from(l) < level),
                    "cascade must move entries down"
                );
            }
        }
    }

    fn admit_overflow<S: Store<Id = Id>>(
        &mut self,
        store: &mut S,
        fire: &mut impl FnMut(&mut S, Id),
    ) {
        let rotation = top_rotation_start(self.elapsed);
        let mut remaining_min = u64::MAX;
        let mut id = self.overflow.head();
        while id != Id::NIL {
            let links = store.links(id);
            let (next, deadline) = (links.next, links.deadline);
            if top_rotation_start(deadline) == rotation {
                self.overflow.unlink(store, id);
                if deadline <= self.elapsed {
                    self.fire(store, id, fire);
                } else {
                    self.link(store, id);
                }
            } else {
                remaining_min = remaining_min.min(deadline);
            }
            id = next;
        }
        // Only now: if `fire` panicked above, the old minimum keeps this
        // event at `elapsed`, so the next `advance` resumes the walk.
        self.overflow_min = remaining_min;
    }
}

impl<Id: LinkId> Default for RawWheel<Id> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Id: LinkId> fmt::Debug for RawWheel<Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawWheel")
            .field("len", &self.len)
            .field("elapsed", &self.elapsed)
            .field("next_expiration", &self.next_expiration())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl<Id: LinkId> RawWheel<Id> {
    /// Checks every list against the invariants in the module docs.
    pub(crate) fn check_invariants<S: Store<Id = Id>>(&self, store: &S) {
        use crate::level::SLOTS;

        let mut count = 0;
        let mut walk = |list: List<Id>, place: Place, check: &mut dyn FnMut(u64)| {
            let mut prev = Id::NIL;
            let mut id = list.head();
            while id != Id::NIL {
                let links = store.links(id);
                assert_eq!(links.prev, prev, "broken back link");
                assert_eq!(links.place, place, "entry on the wrong list");
                check(links.deadline);
                count += 1;
                prev = id;
                id = links.next;
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
        assert_eq!(count, self.len, "entries missing from every list");
    }
}
