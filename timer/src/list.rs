//! Intrusive doubly linked lists threaded through the slab, one per wheel slot
//! plus the wheel's "due" and "overflow" lists.
//!
//! A [`List`] is only a head index; the links live in the slab's nodes
//! (`prev`/`next`), and each linked node records in [`Place`] which list holds
//! it, so the wheel can unlink any entry in O(1) from its key alone. Lists do
//! not allocate. Callers: `level.rs` (slot lists) and `wheel.rs`.

use crate::slab::{Slab, NIL};

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

/// Head of an intrusive list of slab nodes (most recently pushed first).
#[derive(Copy, Clone, Debug)]
pub(crate) struct List {
    head: u32,
}

impl List {
    pub(crate) const EMPTY: List = List { head: NIL };

    pub(crate) fn is_empty(self) -> bool {
        self.head == NIL
    }

    /// First node, or [`NIL`]; walk on with each node's `next`.
    pub(crate) fn head(self) -> u32 {
        self.head
    }

    /// Links the unlinked node `index` at the front and records `place`.
    pub(crate) fn push_front<T>(&mut self, slab: &mut Slab<T>, index: u32, place: Place) {
        let old_head = self.head;
        let node = slab.node_mut(index);
        node.prev = NIL;
        node.next = old_head;
        node.place = place;
        if old_head != NIL {
            slab.node_mut(old_head).prev = index;
        }
        self.head = index;
    }

    /// Unlinks node `index`, which must be on this list.
    pub(crate) fn unlink<T>(&mut self, slab: &mut Slab<T>, index: u32) {
        let node = slab.node_mut(index);
        let (prev, next) = (node.prev, node.next);
        node.prev = NIL;
        node.next = NIL;
        if prev == NIL {
            debug_assert_eq!(self.head, index, "unlink from the wrong list");
            self.head = next;
        } else {
            slab.node_mut(prev).next = next;
        }
        if next != NIL {
            slab.node_mut(next).prev = prev;
        }
    }

    /// Unlinks and returns the first node, if any.
    pub(crate) fn pop_front<T>(&mut self, slab: &mut Slab<T>) -> Option<u32> {
        let index = self.head;
        if index == NIL {
            return None;
        }
        self.unlink(slab, index);
        Some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slab::Node;

    fn values(list: List, slab: &Slab<char>) -> Vec<char> {
        let mut out = Vec::new();
        let mut prev = NIL;
        let mut index = list.head();
        while index != NIL {
            let node = slab.node(index);
            assert_eq!(node.prev, prev, "broken back link");
            out.push(node.value);
            prev = index;
            index = node.next;
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
        assert_eq!(slab.node(keys[1].index()).place, Place::Due);
    }
}
