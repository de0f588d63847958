//! Intrusive doubly linked lists threaded through the entries' [`Links`],
//! one per wheel slot plus the wheel's "due" and "overflow" lists.
//!
//! A [`List`] is only a head id; the links live in the entries (`prev`/`next`
//! of their [`Links`], reached through the [`Store`]), and each linked entry
//! records in [`Place`] which list holds it, so the wheel can unlink any entry
//! in O(1) from its id alone. Lists do not allocate. Callers: `level.rs`
//! (slot lists) and `raw.rs`.

use crate::raw::{LinkId, Store};

/// Which list a linked node is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Slot `slot` of level `level`.
    Slot { level: u8, slot: u8 },
    /// Already due when inserted: fires at the next `advance`.
    Due,
    /// Beyond the top level's current rotation.
    Overflow,
}

/// Head of an intrusive list of entries (most recently pushed first).
#[derive(Copy, Clone, Debug)]
pub(crate) struct List<Id> {
    head: Id,
}

impl<Id: LinkId> List<Id> {
    pub(crate) const EMPTY: List<Id> = List { head: Id::NIL };

    pub(crate) fn is_empty(self) -> bool {
        self.head == Id::NIL
    }

    /// First entry, or [`LinkId::NIL`]; walk on with each entry's `next`.
    pub(crate) fn head(self) -> Id {
        self.head
    }

    /// Links the unlinked entry `id` at the front and records `place`.
    pub(crate) fn push_front<S: Store<Id = Id>>(&mut self, store: &mut S, id: Id, place: Place) {
        let old_head = self.head;
        let links = store.links_mut(id);
        links.prev = Id::NIL;
        links.next = old_head;
        links.place = place;
        if old_head != Id::NIL {
            store.links_mut(old_head).prev = id;
        }
        self.head = id;
    }

    /// Unlinks entry `id`, which must be on this list.
    pub(crate) fn unlink<S: Store<Id = Id>>(&mut self, store: &mut S, id: Id) {
        let links = store.links_mut(id);
        let (prev, next) = (links.prev, links.next);
        links.prev = Id::NIL;
        links.next = Id::NIL;
        if prev == Id::NIL {
            debug_assert!(self.head == id, "unlink from the wrong list");
            self.head = next;
        } else {
            store.links_mut(prev).next = next;
        }
        if next != Id::NIL {
            store.links_mut(next).prev = prev;
        }
    }

    /// Unlinks and returns the first entry, if any.
    pub(crate) fn pop_front<S: Store<Id = Id>>(&mut self, store: &mut S) -> Option<Id> {
        let id = self.head;
        if id == Id::NIL {
            return None;
        }
        self.unlink(store, id);
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::Store;
    use crate::slab::{Node, Slab, NIL};

    fn values(list: List<u32>, slab: &Slab<char>) -> Vec<char> {
        let mut out = Vec::new();
        let mut prev = NIL;
        let mut index = list.head();
        while index != NIL {
            let links = slab.links(index);
            assert_eq!(links.prev, prev, "broken back link");
            out.push(slab.node(index).value);
            prev = index;
            index = links.next;
        }
        out
    }

    #[test]
    fn push_unlink_pop_keep_links_consistent() {
        let mut slab = Slab::new();
        let mut list = List::EMPTY;
        let keys: Vec<_> = "abcd"
            .chars()
            .map(|c| slab.insert(Node::new(0, c)))
            .collect();
        for key in &keys {
            list.push_front(&mut slab, key.index(), Place::Overflow);
        }
        assert_eq!(values(list, &slab), ['d', 'c', 'b', 'a']);

        list.unlink(&mut slab, keys[1].index()); // middle
        assert_eq!(values(list, &slab), ['d', 'c', 'a']);
        list.unlink(&mut slab, keys[0].index()); // tail
        assert_eq!(values(list, &slab), ['d', 'c']);
        list.unlink(&mut slab, keys[3].index()); // head
        assert_eq!(values(list, &slab), ['c']);

        assert_eq!(list.pop_front(&mut slab), Some(keys[2].index()));
        assert!(list.is_empty());
        assert_eq!(list.pop_front(&mut slab), None);

        // An unlinked node can be pushed again, onto another list.
        let mut other = List::EMPTY;
        other.push_front(&mut slab, keys[1].index(), Place::Due);
        assert_eq!(values(other, &slab), ['b']);
        assert_eq!(slab.links(keys[1].index()).place, Place::Due);
    }
}
