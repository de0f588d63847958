//! The intrusive FIFO waiter list every primitive of `sync` queues on.
//!
//! A [`Waiter`] lives inside a wait future (`Acquire`, `EventWait`, ...),
//! which is pinned once polled, so the list links the futures themselves:
//! waiting allocates nothing. Each primitive keeps one [`WaiterList`] inside
//! its `crate::loom::sync::Mutex`; that mutex is the *owning lock* of the
//! list and of every waiter that is (or may be) linked into it.
//!
//! # Invariants
//!
//! - **[L] lock**: a waiter's node (links, waker, the primitive's per-waiter
//!   data) is read and written only by a thread holding the owning lock.
//!   Every waiter is used with exactly one primitive, hence one lock.
//! - **[V] validity**: a linked waiter is pinned and alive: its future
//!   unlinks it (under the lock) in `Drop` before its memory can go, and a
//!   pinned value is never moved.
//! - **[U] unlinked means decided**: only the owner of the list unlinks a
//!   waiter on its behalf (grant, notify, close) after writing the outcome
//!   into the waiter's data; the waiter's future reads that outcome under
//!   the lock. A waiter that finds itself unlinked with a grant it will not
//!   consume passes the grant on (each primitive's `Drop`).
//!
//! [`WakeList`] batches wakers so they are woken after the lock is
//! released, without allocating.

use crate::loom::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

/// One waiter: links plus the waker and the primitive's data `T`.
pub(crate) struct Waiter<T> {
    node: UnsafeCell<Node<T>>,
    _pin: PhantomPinned,
}

/// The lock-guarded part of a [`Waiter`].
pub(crate) struct Node<T> {
    prev: Option<NonNull<Waiter<T>>>,
    next: Option<NonNull<Waiter<T>>>,
    linked: bool,
    /// The waker to call when the waiter's outcome is decided.
    pub(crate) waker: Option<Waker>,
    /// The primitive's per-waiter state (permits still needed, outcome).
    pub(crate) data: T,
}

// SAFETY: the node's raw links and data are only touched under the owning
// lock [L]; the waiter can move between threads with its future as long as
// the data can.
unsafe impl<T: Send> Send for Waiter<T> {}
// SAFETY: shared access to a waiter only reaches its node through `with`,
// whose contract requires the owning lock [L]; so concurrent `&Waiter`s never
// race on the node.
unsafe impl<T: Send> Sync for Waiter<T> {}

impl<T> Waiter<T> {
    /// A new, unlinked waiter.
    pub(crate) fn new(data: T) -> Waiter<T> {
        Waiter {
            node: UnsafeCell::new(Node {
                prev: None,
                next: None,
                linked: false,
                waker: None,
                data,
            }),
            _pin: PhantomPinned,
        }
    }

    /// Runs `f` on the node.
    ///
    /// # Safety
    ///
    /// 1. The caller holds the owning lock of this waiter ([L]), or has the
    ///    waiter exclusively (`&mut` / not yet shared with any list).
    /// 2. `f` does not call `with` on this same waiter.
    pub(crate) unsafe fn with<R>(&self, f: impl FnOnce(&mut Node<T>) -> R) -> R {
        // SAFETY: by obligation 1 no other thread accesses the node, and by
        // obligation 2 there is no other live reference on this thread.
        self.node.with_mut(|n| f(unsafe { &mut *n }))
    }
}

impl<T> Node<T> {
    /// Whether the waiter is linked into a list (still waiting).
    pub(crate) fn is_linked(&self) -> bool {
        self.linked
    }

    /// Stores `waker` unless the stored one would wake the same task.
    pub(crate) fn set_waker(&mut self, waker: &Waker) {
        match &self.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The node may only be read under the owning lock.
        f.debug_struct("Waiter").finish_non_exhaustive()
    }
}

/// A FIFO of waiters, always kept inside its owning lock.
pub(crate) struct WaiterList<T> {
    head: Option<NonNull<Waiter<T>>>,
    tail: Option<NonNull<Waiter<T>>>,
    len: usize,
}

// SAFETY: the list holds pointers to waiters whose data is `Send`; it is only
// reachable through its owning lock, which serialises every access [L].
unsafe impl<T: Send> Send for WaiterList<T> {}

impl<T> WaiterList<T> {
    /// An empty list.
    pub(crate) const fn new() -> WaiterList<T> {
        WaiterList {
            head: None,
            tail: None,
            len: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// The oldest waiter, still linked.
    pub(crate) fn front(&self) -> Option<&Waiter<T>> {
        // SAFETY: linked waiters are alive and pinned [V]; the returned
        // borrow cannot outlive `&self`, i.e. the lock guard.
        self.head.map(|p| unsafe { &*p.as_ptr() })
    }

    /// Links `w` at the back.
    ///
    /// # Safety
    ///
    /// 1. `self` is accessed under its owning lock, which is also `w`'s [L].
    /// 2. `w` is pinned, not linked, and unlinks itself under that lock
    ///    before it is dropped [V].
    pub(crate) unsafe fn push_back(&mut self, w: &Waiter<T>) {
        let ptr = NonNull::from(w);
        let old_tail = self.tail;
        // SAFETY: obligation 1 gives us the lock for `w`'s node.
        unsafe {
            w.with(|n| {
                debug_assert!(!n.linked, "waiter linked twice");
                n.prev = old_tail;
                n.next = None;
                n.linked = true;
            })
        };
        match old_tail {
            // SAFETY: the old tail is linked, hence alive [V]; it is another
            // waiter than `w` (which was unlinked), and we hold the lock.
            Some(t) => unsafe { t.as_ref().with(|n| n.next = Some(ptr)) },
            None => self.head = Some(ptr),
        }
        self.tail = Some(ptr);
        self.len += 1;
    }

    /// Unlinks `w` if it is linked; returns whether it was.
    ///
    /// # Safety
    ///
    /// 1. `self` is accessed under its owning lock, which is `w`'s [L].
    /// 2. `w` is linked into `self` or into no list at all.
    pub(crate) unsafe fn remove(&mut self, w: &Waiter<T>) -> bool {
        // SAFETY: obligation 1.
        let links = unsafe {
            w.with(|n| {
                if !n.linked {
                    return None;
                }
                n.linked = false;
                Some((n.prev.take(), n.next.take()))
            })
        };
        let Some((prev, next)) = links else {
            return false;
        };
        match prev {
            // SAFETY: `prev` is linked in `self` (obligation 2), so alive [V],
            // and distinct from `w`; the lock is held.
            Some(p) => unsafe { p.as_ref().with(|n| n.next = next) },
            None => self.head = next,
        }
        match next {
            // SAFETY: as for `prev`.
            Some(x) => unsafe { x.as_ref().with(|n| n.prev = prev) },
            None => self.tail = prev,
        }
        self.len -= 1;
        true
    }

    /// Unlinks the oldest waiter and hands out its waker. `decide` writes the
    /// outcome into its data first ([U]); it runs under the lock.
    pub(crate) fn pop_front(&mut self, decide: impl FnOnce(&mut T)) -> Option<Waker> {
        let head = self.head?;
        // SAFETY: the head is linked, so alive [V]; `&mut self` means we are
        // under the owning lock [L].
        let w = unsafe { &*head.as_ptr() };
        // SAFETY: `w` is linked into `self`; lock held as above.
        unsafe { self.remove(w) };
        // SAFETY: as above.
        unsafe {
            w.with(|n| {
                decide(&mut n.data);
                n.waker.take()
            })
        }
    }

    /// Runs `f` on the data of the oldest waiter.
    pub(crate) fn with_front<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let w = self.front()?;
        // SAFETY: `&mut self` means we hold the owning lock [L]; `w` is linked,
        // so alive [V].
        Some(unsafe { w.with(|n| f(&mut n.data)) })
    }
}

impl<T> fmt::Debug for WaiterList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaiterList")
            .field("len", &self.len)
            .finish()
    }
}

/// Up to [`WakeList::CAP`] wakers, woken after the lock is dropped.
pub(crate) struct WakeList {
    wakers: [Option<Waker>; WakeList::CAP],
    len: usize,
}

impl WakeList {
    /// Wakers batched before the lock must be released to wake them.
    pub(crate) const CAP: usize = 32;

    pub(crate) fn new() -> WakeList {
        WakeList {
            wakers: [const { None }; WakeList::CAP],
            len: 0,
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == Self::CAP
    }

    /// Adds `w` (if any). The caller checks [`is_full`](Self::is_full) first.
    pub(crate) fn push(&mut self, w: Option<Waker>) {
        if let Some(w) = w {
            debug_assert!(!self.is_full());
            self.wakers[self.len] = Some(w);
            self.len += 1;
        }
    }

    /// Wakes and empties the batch.
    pub(crate) fn wake_all(&mut self) {
        for w in &mut self.wakers[..self.len] {
            if let Some(w) = w.take() {
                w.wake();
            }
        }
        self.len = 0;
    }
}

impl Drop for WakeList {
    fn drop(&mut self) {
        self.wake_all();
    }
}

impl fmt::Debug for WakeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeList").field("len", &self.len).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_remove_from_the_middle() {
        let ws: Vec<_> = (0..4).map(Waiter::new).collect();
        let mut l = WaiterList::new();
        // SAFETY: the test owns the list and the waiters, which outlive it
        // and do not move (the Vec is not touched while they are linked).
        unsafe {
            for w in &ws {
                l.push_back(w);
            }
            assert!(l.remove(&ws[2]));
            assert!(!l.remove(&ws[2]));
        }
        let mut order = Vec::new();
        while let Some(d) = l.with_front(|d| *d) {
            l.pop_front(|_| {});
            order.push(d);
        }
        assert_eq!(order, [0, 1, 3]);
        assert!(l.is_empty());
    }
}
