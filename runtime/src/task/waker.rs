//! `std::task::Waker` for tasks: one reference per waker.
//!
//! The waker data pointer is the task header. Cloning takes a reference,
//! dropping releases it, waking moves the task to its scheduler through the
//! state transitions of `state.rs`.

use super::raw::Header;
use super::state::ToNotified;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker that borrows a reference held elsewhere (the poller's).
pub(crate) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _p: PhantomData<&'a Header>,
}

impl WakerRef<'_> {
    /// # Safety
    /// `ptr` is a live task header whose reference outlives the `WakerRef`.
    pub(crate) unsafe fn new(ptr: NonNull<Header>) -> Self {
        let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
        // SAFETY: VTABLE upholds the RawWaker contract for task headers.
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

/// # Safety
/// `p` is a live task header (a waker's data pointer).
unsafe fn header<'a>(p: *const ()) -> &'a Header {
    // SAFETY: wakers are only built from live headers, and each holds (or
    // borrows) a reference that keeps the header alive.
    unsafe { &*(p as *const Header) }
}

unsafe fn clone(p: *const ()) -> RawWaker {
    // SAFETY: `p` is a waker's data pointer.
    unsafe { header(p) }.state.ref_inc();
    RawWaker::new(p, &VTABLE)
}

unsafe fn wake(p: *const ()) {
    // SAFETY: `p` is a waker's data pointer; its reference is consumed here.
    let h = unsafe { header(p) };
    let ptr = NonNull::from(h);
    match h.state.transition_to_notified_by_val() {
        ToNotified::Submit => {
            // The waker's reference moved into the notification, which the
            // scheduler may run and complete before `schedule` returns;
            // hold one more so the cell (and its scheduler, `schedule`'s
            // `&self`) outlives the call.
            h.state.ref_inc();
            // SAFETY: the notification owns a reference; we hold another.
            unsafe { (h.vtable.schedule)(ptr) };
            if h.state.ref_dec() {
                // SAFETY: that was the last reference.
                unsafe { (h.vtable.dealloc)(ptr) }
            }
        }
        // SAFETY: that was the last reference.
        ToNotified::Dealloc => unsafe { (h.vtable.dealloc)(ptr) },
        ToNotified::DoNothing => {}
    }
}

unsafe fn wake_by_ref(p: *const ()) {
    // SAFETY: `p` is a waker's data pointer.
    let h = unsafe { header(p) };
    if h.state.transition_to_notified_by_ref() == ToNotified::Submit {
        // SAFETY: a new reference was taken for the notification.
        unsafe { (h.vtable.schedule)(NonNull::from(h)) }
    }
}

unsafe fn drop_waker(p: *const ()) {
    // SAFETY: `p` is a waker's data pointer; its reference is released.
    let h = unsafe { header(p) };
    if h.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (h.vtable.dealloc)(NonNull::from(h)) }
    }
}
