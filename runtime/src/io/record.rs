//! The record of one in-flight operation and its lifecycle.
//!
//! A record is an `Arc`: the op future holds one reference, the kernel
//! holds another from submission until the final completion (its address,
//! `Arc::into_raw`, is the SQE's `user_data`), and an async cancel in flight
//! holds a third (tagged address, see `CANCEL_TAG`), so no address is ever
//! reused while a CQE or a cancel could still name it. The record owns the
//! operation's data (buffer, address storage, a reference to the fd), so
//! nothing the kernel may touch is freed before the kernel is done.
//!
//! # Lifecycle (one state word)
//!
//! ```text
//!   Submitted ──poll──▶ Waiting(waker) ──CQE──▶ Completed ──future takes result
//!       │                    │
//!       └──── future dropped ┴──▶ Cancelled ──CQE──▶ orphan cleanup, record freed
//! ```
//!
//! - `COMPLETE`: the completer (the ring's owner, reaping) wrote the result
//!   before setting it; whoever observes it with Acquire may read the result.
//! - `WAKER_SET`: the waker cell holds the poller's waker, and belongs to
//!   the completer. The poller touches the cell (reads or writes it) only
//!   while the bit is clear and `COMPLETE` is not set, so a re-poll first
//!   clears the bit; the completer takes the waker out only if the bit was
//!   set when it set `COMPLETE`. (tokio's oneshot receiver reads the cell
//!   while the bit is set, but its sender only wakes by reference; ours
//!   takes the waker, a write.)
//! - `DROPPED`: the future is gone. A completion that finds it set runs the
//!   op's orphan cleanup (an accepted fd is closed) and leaves the waker
//!   cell alone; a future dropped after `COMPLETE` runs the cleanup itself,
//!   one dropped before empties the waker cell itself.
//!
//! Model-checked in `tests/loom_op.rs`: completion vs poll vs drop, exactly
//! one of {future, completer} sees the result, wakes are never lost.
//!
//! Called by `op.rs` (the future side) and the driver (the completion side).

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicU8, Ordering::*};
use crate::loom::sync::Arc;
use std::ptr::NonNull;
use std::task::Waker;

/// The completer wrote the result.
const COMPLETE: u8 = 0b001;
/// The waker cell holds the poller's waker.
const WAKER_SET: u8 = 0b010;
/// The op future was dropped.
const DROPPED: u8 = 0b100;

/// Set on the `user_data` of an async cancel that targets a record: its CQE
/// releases the cancel's reference, not the kernel's. Records are at least
/// 8-aligned, so the low bit is free.
pub(crate) const CANCEL_TAG: u64 = 1;

/// The raw result of a completion: `res` and `flags` of the CQE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The CQE's `res`: a count, an fd, or a negated errno.
    pub res: i32,
    /// The CQE's `flags`.
    pub flags: u32,
}

/// What the driver does once a record has taken a CQE.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    /// The consumer to wake.
    pub(crate) waker: Option<Waker>,
    /// A multishot op whose queue is full (`MultiAble::MAX_QUEUED`): the
    /// driver cancels it with this reference, taken for the cancel. Its
    /// consumer arms a new op once it has drained the queue.
    pub(crate) pause: Option<NonNull<Header>>,
}

/// Type-erased operations on a record, for the driver.
pub(crate) struct Vtable {
    /// Hands a completion to the record. `more` is the CQE's
    /// `IORING_CQE_F_MORE`: a multishot op (`multi.rs`) goes on and the
    /// kernel keeps its reference; one-shot ops never see it.
    pub(crate) on_cqe: unsafe fn(NonNull<Header>, Completion, bool) -> Taken,
    /// Drops one `Arc` reference (the kernel's or a cancel's).
    pub(crate) release: unsafe fn(NonNull<Header>),
    /// The op's completion usually takes long (`OpData::SLOW`).
    pub(crate) slow: bool,
}

/// The type-independent part of a record; first field of `Record<T>`.
pub(crate) struct Header {
    state: AtomicU8,
    result: UnsafeCell<Completion>,
    waker: UnsafeCell<Option<Waker>>,
    vtable: &'static Vtable,
}

// SAFETY: the cells are only accessed under the state protocol above, which
// hands each one to exactly one thread at a time with Acquire/Release edges.
unsafe impl Send for Header {}
// SAFETY: as for Send.
unsafe impl Sync for Header {}

/// A record: the header, then the op's data.
#[repr(C)]
pub(crate) struct Record<T> {
    pub(crate) header: Header,
    /// The op's data: buffer, fd reference, address storage. Read by the
    /// kernel between submission and completion; taken by the future only
    /// after it observed `COMPLETE` (the kernel is done with it then).
    data: UnsafeCell<Option<T>>,
}

// SAFETY: the data moves between threads with the record (T: Send), and
// is only ever accessed by one party at a time: the submitter before
// submission, the kernel until the completion, then the future (after it
// observed COMPLETE) — never through a shared `&T`.
unsafe impl<T: Send> Send for Record<T> {}
// SAFETY: as for Send; no `&T` is handed out from a shared record.
unsafe impl<T: Send> Sync for Record<T> {}

/// What the poller found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Polled {
    /// The result is there.
    Ready(Completion),
    /// The waker is registered; the completer will wake it.
    Pending,
}

impl Header {
    /// A fresh header of a record whose type `vtable` describes (the
    /// lifecycle fields are used by one-shot records only).
    pub(crate) fn new(vtable: &'static Vtable) -> Header {
        Header {
            state: AtomicU8::new(0),
            result: UnsafeCell::new(Completion { res: 0, flags: 0 }),
            waker: UnsafeCell::new(None),
            vtable,
        }
    }

    /// Hands a CQE to the record behind `this`: the waker to wake, and a
    /// pause to submit. The caller releases the kernel's reference unless
    /// `more` is set.
    ///
    /// # Safety
    /// `this` is the kernel's reference to a live record, whose op
    /// produced this CQE.
    pub(crate) unsafe fn on_cqe(this: NonNull<Header>, c: Completion, more: bool) -> Taken {
        // SAFETY: alive per the caller; the vtable matches the record.
        unsafe { (this.as_ref().vtable.on_cqe)(this, c, more) }
    }

    /// Called by the completer (the ring owner reaping the CQE), once.
    /// Returns the waker to wake, if the future is waiting; runs
    /// `orphaned` on the result if the future is gone.
    fn complete(&self, c: Completion, orphaned: fn(Completion)) -> Option<Waker> {
        // The result cell is written only here, before COMPLETE, and read
        // only after COMPLETE is observed.
        self.result.with_mut(|r| {
            // SAFETY: before COMPLETE nobody else reads or writes the cell.
            unsafe { *r = c }
        });
        let prev = self.state.fetch_or(COMPLETE, AcqRel);
        debug_assert!(prev & COMPLETE == 0, "an op completed twice");
        if prev & DROPPED != 0 {
            orphaned(c);
            return None;
        }
        if prev & WAKER_SET != 0 {
            // SAFETY: WAKER_SET was set when we set COMPLETE, so the poller
            // finished writing the cell (Release in its fetch_or, Acquire in
            // ours) and will never write it again (it checks COMPLETE).
            return self.waker.with_mut(|w| unsafe { (*w).take() });
        }
        None
    }

    /// Called by the future: the result if complete, else registers `waker`.
    pub(crate) fn poll(&self, waker: &Waker) -> Polled {
        let mut cur = self.state.load(Acquire);
        if cur & COMPLETE != 0 {
            return Polled::Ready(self.read_result());
        }
        if cur & WAKER_SET != 0 {
            // A re-poll. While WAKER_SET is set the completer may take the
            // waker out (a write) at any moment: take the cell back before
            // even reading it (`will_wake` below).
            loop {
                match self
                    .state
                    .compare_exchange(cur, cur & !WAKER_SET, AcqRel, Acquire)
                {
                    Ok(_) => break,
                    Err(now) if now & COMPLETE != 0 => {
                        return Polled::Ready(self.read_result());
                    }
                    Err(now) => cur = now,
                }
            }
        }
        // SAFETY: WAKER_SET is clear and COMPLETE was not set when we last
        // looked; the completer touches the cell only if it sees WAKER_SET.
        self.waker.with_mut(|w| unsafe {
            match &mut *w {
                Some(old) if old.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        });
        let prev = self.state.fetch_or(WAKER_SET, AcqRel);
        if prev & COMPLETE != 0 {
            // Completed while we wrote: the completer did not see our waker.
            return Polled::Ready(self.read_result());
        }
        Polled::Pending
    }

    /// Whether the completer wrote the result (Acquire: the result may be
    /// read after this returned true).
    pub(crate) fn is_complete(&self) -> bool {
        self.state.load(Acquire) & COMPLETE != 0
    }

    /// Called by the future: withdraws the waker its last poll registered,
    /// so that the completion wakes nobody (the future polls again later,
    /// on its own). If the op completed already, its completer took the
    /// waker (and wakes it) and nothing changes.
    pub(crate) fn forget_waker(&self) {
        let mut cur = self.state.load(Acquire);
        loop {
            if cur & COMPLETE != 0 {
                return;
            }
            if cur & WAKER_SET == 0 {
                break;
            }
            match self
                .state
                .compare_exchange(cur, cur & !WAKER_SET, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        // SAFETY: WAKER_SET is clear and COMPLETE was not set when we last
        // looked: the completer touches the cell only if it sees WAKER_SET,
        // and the poller (our caller) is not writing it now.
        let waker = self.waker.with_mut(|w| unsafe { (*w).take() });
        drop(waker);
    }

    /// Called by the future when it is dropped. Returns the result if the
    /// op had completed (the caller then runs the orphan cleanup for it),
    /// or `None` if it is still in flight (the caller cancels it).
    ///
    /// An op still in flight lets go of the waker at once: the record lives
    /// on until the CQE, and the waker must not keep the task, and through
    /// it the runtime and the very ring that owes that CQE, alive meanwhile
    /// (a current_thread runtime's ring closes only when the runtime is
    /// freed: that cycle leaked the ring and every in-flight op).
    pub(crate) fn drop_future(&self) -> Option<Completion> {
        let prev = self.state.fetch_or(DROPPED, AcqRel);
        if prev & COMPLETE != 0 {
            return Some(self.read_result());
        }
        // SAFETY: DROPPED is set and COMPLETE was not: the completer will
        // see DROPPED when it sets COMPLETE and then never touches the cell,
        // and the poller (our caller's future) is gone.
        let waker = self.waker.with_mut(|w| unsafe { (*w).take() });
        drop(waker);
        None
    }

    fn read_result(&self) -> Completion {
        // SAFETY: COMPLETE was observed with Acquire: the completer's write
        // happened before and it never writes again.
        self.result.with(|r| unsafe { *r })
    }

    /// Whether the op behind `this` waits for something that usually
    /// takes long (`OpData::SLOW`): the driver does not spin for it.
    ///
    /// # Safety
    /// `this` is a live record (a reference the caller holds).
    pub(crate) unsafe fn is_slow(this: NonNull<Header>) -> bool {
        // SAFETY: alive per the caller.
        unsafe { this.as_ref() }.vtable.slow
    }

    /// Drops one reference given out with `Record::into_raw`.
    ///
    /// # Safety
    /// `this` must come from `Record::into_raw` (or `user_data` made from
    /// it) and that reference must not be used again.
    pub(crate) unsafe fn release(this: NonNull<Header>) {
        // SAFETY: the header is alive while that reference is (caller).
        let vtable = unsafe { this.as_ref() }.vtable;
        // SAFETY: forwarded from the caller.
        unsafe { (vtable.release)(this) }
    }
}

/// The data of an operation, as the record sees it.
pub trait OpData: Send + 'static {
    /// Its completion usually takes long (a child's exit, not the next
    /// bytes of a socket): a parked worker does not spin waiting for it
    /// (`Builder::park_spin` is for completions that come within
    /// microseconds; spinning for a slow one only takes CPU from the
    /// process it waits for).
    const SLOW: bool = false;

    /// Releases what the kernel produced for a completion nobody will
    /// read (an accepted fd is closed). Runs on the completing thread.
    fn orphaned(_c: Completion) {}
}

impl<T: OpData> Record<T> {
    /// A fresh record owning `data`.
    pub(crate) fn new(data: T) -> Arc<Record<T>> {
        Arc::new(Record {
            header: Header::new(&VtableOf::<T>::VTABLE),
            data: UnsafeCell::new(Some(data)),
        })
    }

    /// Gives out one reference as a raw header pointer (for `user_data`).
    pub(crate) fn into_raw(this: Arc<Record<T>>) -> NonNull<Header> {
        // SAFETY: `Record` is repr(C) with the header first.
        unsafe { header_ref(this) }
    }

    /// Runs `f` on the data while the op is in flight (to build the SQE).
    ///
    /// # Safety
    /// Only before the SQE is submitted: nobody else touches the data then.
    pub(crate) unsafe fn data_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.data.with_mut(|d| {
            // SAFETY: per the caller's contract we are the only accessor.
            f(unsafe { (*d).as_mut() }.expect("op data present before submission"))
        })
    }

    /// Takes the data back once the op completed.
    ///
    /// # Safety
    /// The caller observed `COMPLETE` (through `Header::poll` returning
    /// `Ready`): the kernel no longer uses the data.
    pub(crate) unsafe fn take_data(&self) -> Option<T> {
        // SAFETY: after COMPLETE only the future accesses the data (the
        // completer runs orphan cleanup only when DROPPED is set, and it
        // touches no data).
        self.data.with_mut(|d| unsafe { (*d).take() })
    }
}

/// The static vtable of `Record<T>`.
struct VtableOf<T>(std::marker::PhantomData<T>);

impl<T: OpData> VtableOf<T> {
    const VTABLE: Vtable = Vtable {
        on_cqe: one_shot_cqe::<T>,
        release: release_ref::<Record<T>>,
        slow: T::SLOW,
    };
}

/// # Safety
/// `p` is a live `Record<T>` (see [`Header::on_cqe`]).
unsafe fn one_shot_cqe<T: OpData>(p: NonNull<Header>, c: Completion, more: bool) -> Taken {
    debug_assert!(!more, "a one-shot op produced IORING_CQE_F_MORE");
    // SAFETY: alive per the caller.
    let header = unsafe { p.as_ref() };
    Taken {
        waker: header.complete(c, T::orphaned),
        pause: None,
    }
}

/// Gives out one reference to a record (one-shot or multishot) as a raw
/// header pointer, the record's own address.
///
/// # Safety
/// `R` is `repr(C)` with a [`Header`] as its first field.
pub(crate) unsafe fn header_ref<R>(this: Arc<R>) -> NonNull<Header> {
    let p = Arc::into_raw(this) as *mut Header;
    // SAFETY: `Arc::into_raw` never returns null.
    unsafe { NonNull::new_unchecked(p) }
}

/// Drops one reference given out by [`header_ref`] (a vtable's `release`).
///
/// # Safety
/// `p` came from `header_ref::<R>` and that reference is not used again.
pub(crate) unsafe fn release_ref<R>(p: NonNull<Header>) {
    // SAFETY: per the contract, `p` is an `Arc<R>` pointer.
    drop(unsafe { Arc::from_raw(p.as_ptr() as *const R) });
}
