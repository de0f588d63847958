//! Where a queue keeps its items: the one thing that differs between
//! `Queue` (FIFO), `LifoQueue` and `PriorityQueue` (a binary min-heap).
//!
//! An enum rather than a trait object so that `Shared<T>` stays one type
//! for all three kinds (the futures are shared) and is `Send` exactly when
//! `T` is; the heap's comparison is a plain `fn` pointer captured by
//! `PriorityQueue::new`, where `T: Ord` is known.

use std::cmp::Ordering;
use std::collections::VecDeque;

/// The items of one queue, in the order its kind serves them.
pub(crate) enum Items<T> {
    /// First in, first out.
    Fifo(VecDeque<T>),
    /// Last in, first out.
    Lifo(Vec<T>),
    /// Lowest first, by the comparison given (a min-heap in a `Vec`).
    Heap(Vec<T>, fn(&T, &T) -> Ordering),
}

impl<T> Items<T> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Items::Fifo(q) => q.len(),
            Items::Lifo(v) | Items::Heap(v, _) => v.len(),
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        match self {
            Items::Fifo(q) => q.push_back(item),
            Items::Lifo(v) => v.push(item),
            Items::Heap(v, cmp) => {
                let last = v.len();
                v.push(item);
                sift_up(v, *cmp, last);
            }
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        match self {
            Items::Fifo(q) => q.pop_front(),
            Items::Lifo(v) => v.pop(),
            Items::Heap(v, cmp) => {
                if v.is_empty() {
                    return None;
                }
                let top = v.swap_remove(0);
                sift_down(v, *cmp, 0);
                Some(top)
            }
        }
    }

    /// Takes every item out, leaving an empty store of the same kind.
    pub(crate) fn take(&mut self) -> Items<T> {
        let empty = match self {
            Items::Fifo(_) => Items::Fifo(VecDeque::new()),
            Items::Lifo(_) => Items::Lifo(Vec::new()),
            Items::Heap(_, cmp) => Items::Heap(Vec::new(), *cmp),
        };
        std::mem::replace(self, empty)
    }
}

fn sift_up<T>(v: &mut [T], cmp: fn(&T, &T) -> Ordering, mut i: usize) {
    while i > 0 {
        let parent = (i - 1) / 2;
        if cmp(&v[i], &v[parent]) == Ordering::Less {
            v.swap(i, parent);
            i = parent;
        } else {
            break;
        }
    }
}

fn sift_down<T>(v: &mut [T], cmp: fn(&T, &T) -> Ordering, mut i: usize) {
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut least = i;
        if l < v.len() && cmp(&v[l], &v[least]) == Ordering::Less {
            least = l;
        }
        if r < v.len() && cmp(&v[r], &v[least]) == Ordering::Less {
            least = r;
        }
        if least == i {
            return;
        }
        v.swap(i, least);
        i = least;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn heap_pops_lowest_first() {
        let mut h = Items::Heap(Vec::new(), Ord::cmp);
        for x in [5, 1, 9, 3, 3, 7, 0, 8, 2, 6, 4] {
            h.push(x);
        }
        let out: Vec<i32> = std::iter::from_fn(|| h.pop()).collect();
        assert_eq!(out, [0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn fifo_and_lifo_orders() {
        let mut f = Items::Fifo(VecDeque::new());
        let mut l = Items::Lifo(Vec::new());
        for x in 0..3 {
            f.push(x);
            l.push(x);
        }
        assert_eq!(
            std::iter::from_fn(|| f.pop()).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(
            std::iter::from_fn(|| l.pop()).collect::<Vec<_>>(),
            [2, 1, 0]
        );
    }
}
