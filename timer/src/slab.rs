//! Index-stable storage for the wheel's entries, and the [`Key`] that names one.
//!
//! The [`Wheel`](crate::Wheel) stores every entry in one [`Slab`]: a `Vec` of
//! entries plus a free list threaded through the vacant ones, so an entry keeps
//! its index for as long as it is live and insert/remove never move other
//! entries. Each entry carries a generation that is bumped when it is vacated;
//! a [`Key`] holds index and generation, so a key kept after its entry fired
//! or was removed never reaches a newer entry that reuses the index.
//!
//! The slab knows nothing about slots or time. The [`Links`] stored in each
//! [`Node`] belong to `list.rs`, which threads the wheel's intrusive lists
//! through this storage (the slab is the [`Store`] of [`Wheel`](crate::Wheel)'s
//! [`RawWheel`](crate::RawWheel)). Callers: `list.rs` and `wheel.rs` only.

use std::mem;

use crate::raw::{LinkId, Links, Store};

/// Sentinel index meaning "no entry" in free lists and slot lists.
pub(crate) const NIL: u32 = u32::MAX;

impl LinkId for u32 {
    const NIL: u32 = NIL;
}

/// Stable handle of an entry inserted into a [`Wheel`](crate::Wheel).
///
/// A key is an index plus a generation. Once its entry has fired or been
/// removed the key is *stale*: [`Wheel::remove`](crate::Wheel::remove) and
/// [`Wheel::deadline`](crate::Wheel::deadline) return `None` for it, even after
/// a newer entry has reused the same storage. (Generations wrap after 2³²
/// reuses of one index; a key kept across that many reuses could alias.)
///
/// # Examples
///
/// ```
/// use aio_timer::Wheel;
///
/// let mut wheel = Wheel::new();
/// let old = wheel.insert(10, "old");
/// assert_eq!(wheel.remove(old), Some("old"));
///
/// // The new entry reuses the storage, under a new generation.
/// let new = wheel.insert(20, "new");
/// assert_ne!(old, new);
/// assert_eq!(wheel.remove(old), None);
/// assert_eq!(wheel.deadline(new), Some(20));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    index: u32,
    generation: u32,
}

impl Key {
    /// Index of the entry in the slab.
    pub(crate) fn index(self) -> u32 {
        self.index
    }
}

/// A live entry: the caller's value, and its deadline and list links.
#[derive(Debug)]
pub(crate) struct Node<T> {
    pub(crate) value: T,
    pub(crate) links: Links<u32>,
}

impl<T> Node<T> {
    /// An unlinked node.
    pub(crate) fn new(deadline: u64, value: T) -> Self {
        Node {
            value,
            links: Links::new(deadline),
        }
    }
}

impl<T> Store for Slab<T> {
    type Id = u32;

    fn links(&self, id: u32) -> &Links<u32> {
        &self.node(id).links
    }

    fn links_mut(&mut self, id: u32) -> &mut Links<u32> {
        &mut self.node_mut(id).links
    }
}

#[derive(Debug)]
enum Slot<T> {
    Occupied(Node<T>),
    Vacant { next_free: u32 },
}

#[derive(Debug)]
struct Entry<T> {
    /// Generation of the current occupant, or of the next one if vacant.
    generation: u32,
    slot: Slot<T>,
}

/// A `Vec` of entries with a free list; see the module docs.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// Head of the free list of vacant entries, or [`NIL`].
    free_head: u32,
    /// Number of occupied entries.
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab {
            entries: Vec::new(),
            free_head: NIL,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `node`, reusing a vacant entry if there is one.
    ///
    /// # Panics
    ///
    /// If `u32::MAX` entries would be live at once.
    pub(crate) fn insert(&mut self, node: Node<T>) -> Key {
        let index = self.free_head;
        let key = if index == NIL {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&index| index != NIL)
                .expect("aio-timer: more than u32::MAX - 1 live timer entries");
            self.entries.push(Entry {
                generation: 0,
                slot: Slot::Occupied(node),
            });
            Key {
                index,
                generation: 0,
            }
        } else {
            let entry = &mut self.entries[index as usize];
            match mem::replace(&mut entry.slot, Slot::Occupied(node)) {
                Slot::Vacant { next_free } => self.free_head = next_free,
                Slot::Occupied(_) => unreachable!("free list reached an occupied entry"),
            }
            Key {
                index,
                generation: entry.generation,
            }
        };
        self.len += 1;
        key
    }

    /// The node named by `key`, or `None` if the key is stale.
    pub(crate) fn get(&self, key: Key) -> Option<&Node<T>> {
        match self.entries.get(key.index as usize) {
            Some(Entry {
                generation,
                slot: Slot::Occupied(node),
            }) if *generation == key.generation => Some(node),
            _ => None,
        }
    }

    /// The live node at `index`.
    ///
    /// # Panics
    ///
    /// If the entry is vacant: list links only ever name live nodes.
    pub(crate) fn node(&self, index: u32) -> &Node<T> {
        match &self.entries[index as usize].slot {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => panic!("aio-timer: link to vacant entry {index}"),
        }
    }

    /// The live node at `index`, mutably. Panics like [`Slab::node`].
    pub(crate) fn node_mut(&mut self, index: u32) -> &mut Node<T> {
        match &mut self.entries[index as usize].slot {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => panic!("aio-timer: link to vacant entry {index}"),
        }
    }

    /// Vacates the live entry at `index`, returning its key and node. The
    /// node must already be unlinked from its list. Panics like [`Slab::node`].
    pub(crate) fn take(&mut self, index: u32) -> (Key, Node<T>) {
        let entry = &mut self.entries[index as usize];
        if let Slot::Vacant { .. } = entry.slot {
            panic!("aio-timer: take of vacant entry {index}");
        }
        let key = Key {
            index,
            generation: entry.generation,
        };
        let vacant = Slot::Vacant {
            next_free: self.free_head,
        };
        let Slot::Occupied(node) = mem::replace(&mut entry.slot, vacant) else {
            unreachable!("checked occupied above");
        };
        entry.generation = entry.generation.wrapping_add(1);
        self.free_head = index;
        self.len -= 1;
        (key, node)
    }

    /// Number of entries ever allocated (live or vacant).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_vacated_entries_with_a_new_generation() {
        let mut slab = Slab::new();
        let a = slab.insert(Node::new(1, 'a'));
        let b = slab.insert(Node::new(2, 'b'));
        assert_eq!(slab.len(), 2);

        let (key, node) = slab.take(a.index());
        assert_eq!((key, node.value, node.links.deadline), (a, 'a', 1));
        assert!(slab.get(a).is_none());
        assert_eq!(slab.len(), 1);

        let c = slab.insert(Node::new(3, 'c'));
        assert_eq!(c.index(), a.index());
        assert_ne!(c, a);
        assert!(slab.get(a).is_none());
        assert_eq!(slab.get(c).map(|n| n.value), Some('c'));
        assert_eq!(slab.get(b).map(|n| n.value), Some('b'));
        assert_eq!(slab.capacity(), 2);
    }

    #[test]
    fn free_list_is_lifo_and_never_grows_while_entries_are_free() {
        let mut slab = Slab::new();
        let keys: Vec<_> = (0..8).map(|i| slab.insert(Node::new(i, i))).collect();
        for key in &keys {
            slab.take(key.index());
        }
        assert_eq!(slab.len(), 0);
        for round in 0..3 {
            let again: Vec<_> = (0..8).map(|i| slab.insert(Node::new(i, i))).collect();
            assert_eq!(slab.capacity(), 8, "round {round}");
            for key in &again {
                assert!(!keys.contains(key));
                slab.take(key.index());
            }
        }
    }

    #[test]
    fn out_of_range_key_is_stale() {
        let mut slab = Slab::new();
        let key = slab.insert(Node::new(0, ()));
        let other = Slab::<()>::new();
        assert!(other.get(key).is_none());
    }
}
