//! `std::task::Waker` for tasks: one reference per waker.
//!
//! The waker data pointer is the task's `TaskPtr` (the allocation's
//! pointer, see `raw.rs`), never one made from a `&Header`: the last waker
//! dropped frees the cell through it. Cloning takes a reference,
//! dropping releases it, waking moves the task to its scheduler through the
//! state transitions of `state.rs`.

use super::raw::{Header, TaskPtr};
use super::state::ToNotified;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// Whether `waker` is a task waker of `ptr` (its own, not one of a
/// combinator that wraps it).
pub(crate) fn is_waker_of(waker: &Waker, ptr: TaskPtr) -> bool {
    std::ptr::eq(waker.vtable(), &VTABLE) && waker.data() == ptr.as_waker_data()
}

/// A waker that borrows a reference held elsewhere (the poller's).
pub(crate) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _p: PhantomData<&'a Header>,
}

impl WakerRef<'_> {
    /// # Safety
    /// `ptr` is a live task whose reference outlives the `WakerRef`.
    pub(crate) unsafe fn new(ptr: TaskPtr) -> Self {
        let raw = RawWaker::new(ptr.as_waker_data(), &VTABLE);
        // SAFETY: VTABLE upholds the RawWaker contract for task pointers.
        let waker = unsafe { Waker::from_raw(raw) };
        WakerRef {
            waker: ManuallyDrop::new(waker),
            _p: PhantomData,
        }
    }
}

impl Deref for WakerRef<'_> {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// The task of a waker, and its header. The header borrow is a local of
/// the caller: it is not used after the waker's reference is released.
///
/// # Safety
/// `p` is a waker's data pointer, whose reference keeps the task live.
unsafe fn task<'a>(p: *const ()) -> (TaskPtr, &'a Header) {
    // SAFETY: wakers are only built from `TaskPtr`s of live tasks, and each
    // holds (or borrows) a reference that keeps the task alive.
    unsafe {
        let ptr = TaskPtr::from_waker_data(p);
        (ptr, ptr.header())
    }
}

unsafe fn clone(p: *const ()) -> RawWaker {
    // SAFETY: `p` is a waker's data pointer.
    unsafe { task(p) }.1.state.ref_inc();
    RawWaker::new(p, &VTABLE)
}

unsafe fn wake(p: *const ()) {
    // SAFETY: `p` is a waker's data pointer; its reference is consumed here.
    let (ptr, h) = unsafe { task(p) };
    let vtable = h.vtable;
    match h.state.transition_to_notified_by_val() {
        ToNotified::Submit => {
            // The waker's reference moved into the notification, which the
            // scheduler may run and complete before `schedule` returns;
            // hold one more so the cell (and its scheduler, `schedule`'s
            // `&self`) outlives the call.
            h.state.ref_inc();
            // SAFETY: the notification owns a reference; we hold another.
            unsafe { (vtable.schedule)(ptr) };
            if h.state.ref_dec() {
                // SAFETY: that was the last reference.
                unsafe { (vtable.dealloc)(ptr) }
            }
        }
        // SAFETY: that was the last reference.
        ToNotified::Dealloc => unsafe { (vtable.dealloc)(ptr) },
        ToNotified::DoNothing => {}
    }
}

unsafe fn wake_by_ref(p: *const ()) {
    // SAFETY: `p` is a waker's data pointer.
    let (ptr, h) = unsafe { task(p) };
    if h.state.transition_to_notified_by_ref() == ToNotified::Submit {
        // SAFETY: a new reference was taken for the notification.
        unsafe { (h.vtable.schedule)(ptr) }
    }
}

unsafe fn drop_waker(p: *const ()) {
    // SAFETY: `p` is a waker's data pointer; its reference is released.
    let (ptr, h) = unsafe { task(p) };
    let vtable = h.vtable;
    if h.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (vtable.dealloc)(ptr) }
    }
}
