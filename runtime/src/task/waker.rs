//! `std::task::Waker` for tasks: one reference per waker.
//!
//! The waker data pointer is the task's `TaskPtr` (the allocation's
//! pointer, see `raw.rs`), never one made from a `&Header`: the last waker
//! dropped frees the cell through it. Cloning takes a reference,
//! dropping releases it, waking moves the task to its scheduler through the
//! state transitions of `state.rs`.
//!
//! [`CompactWaker`] keeps a waker in one word where the runtime stores one
//! per task or per timer (a task's join waker, a `Sleep`'s timer entry).

use super::raw::{Header, TaskPtr};
use super::state::ToNotified;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
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

/// A stored waker in one word. A task's own waker (the common case: a
/// task awaits a `Task`, or sleeps) is kept as its task pointer and holds
/// the reference that waker held; any other waker (a `block_on` thread's,
/// a combinator's) is boxed, the box's address tagged with [`BOXED`].
/// `Option<CompactWaker>` is one word too: half an `Option<Waker>`.
pub(crate) struct CompactWaker(NonNull<u8>);

/// The low bit of a boxed waker's address (task cells and boxes are
/// aligned to 8, so both have it clear).
const BOXED: usize = 1;

// SAFETY: it owns a `Waker` (boxed, or as a task reference that the task
// waker vtable would own), and `Waker` is `Send + Sync`.
unsafe impl Send for CompactWaker {}
// SAFETY: as above; `&CompactWaker` only wakes by reference or compares.
unsafe impl Sync for CompactWaker {}

impl CompactWaker {
    /// Stores `waker` (its task reference moves in; another waker is
    /// boxed).
    pub(crate) fn new(waker: Waker) -> CompactWaker {
        if std::ptr::eq(waker.vtable(), &VTABLE) {
            let data = waker.data() as *mut u8;
            // The waker's reference now belongs to `self`.
            std::mem::forget(waker);
            debug_assert_eq!(data.addr() & BOXED, 0);
            // SAFETY: a task waker's data pointer is a non-null `TaskPtr`.
            return CompactWaker(unsafe { NonNull::new_unchecked(data) });
        }
        let boxed = Box::into_raw(Box::new(waker)).cast::<u8>();
        // SAFETY: `Box::into_raw` is non-null, and setting the low bit of
        // an aligned address keeps it non-null.
        CompactWaker(unsafe { NonNull::new_unchecked(boxed.map_addr(|a| a | BOXED)) })
    }

    /// The box, if the waker is not a task's own.
    fn boxed(&self) -> Option<*mut Waker> {
        let p = self.0.as_ptr();
        (p.addr() & BOXED != 0).then(|| p.map_addr(|a| a & !BOXED).cast::<Waker>())
    }

    /// The task waker's data pointer.
    fn data(&self) -> *const () {
        self.0.as_ptr() as *const ()
    }

    /// Wakes the waker, keeping it.
    pub(crate) fn wake_by_ref(&self) {
        match self.boxed() {
            // SAFETY: the box is ours and live until `self` is dropped.
            Some(b) => unsafe { (*b).wake_by_ref() },
            // SAFETY: a task waker's data pointer, whose reference `self`
            // holds.
            None => unsafe { wake_by_ref(self.data()) },
        }
    }

    /// Wakes the waker, consuming it.
    pub(crate) fn wake(self) {
        let this = ManuallyDrop::new(self);
        match this.boxed() {
            // SAFETY: the box came from `Box::into_raw` and is freed once,
            // here (`this` is not dropped).
            Some(b) => unsafe { Box::from_raw(b) }.wake(),
            // SAFETY: as in `wake_by_ref`; the reference is consumed here.
            None => unsafe { wake(this.data()) },
        }
    }

    /// Whether `waker` would wake the same task (`Waker::will_wake`).
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        match self.boxed() {
            // SAFETY: the box is ours and live.
            Some(b) => unsafe { &*b }.will_wake(waker),
            None => std::ptr::eq(waker.vtable(), &VTABLE) && waker.data() == self.data(),
        }
    }
}

impl Drop for CompactWaker {
    fn drop(&mut self) {
        match self.boxed() {
            // SAFETY: the box came from `Box::into_raw`; freed once, here.
            Some(b) => drop(unsafe { Box::from_raw(b) }),
            // SAFETY: as in `wake_by_ref`; the reference is released here.
            None => unsafe { drop_waker(self.data()) },
        }
    }
}

impl std::fmt::Debug for CompactWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.boxed().is_some() {
            "boxed"
        } else {
            "task"
        };
        f.debug_tuple("CompactWaker").field(&kind).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::sync::{Arc, Mutex};
    use std::task::{Poll, Wake};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn a_compact_waker_boxes_a_foreign_waker_wakes_it_and_frees_it() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let foreign = Waker::from(count.clone());
        let c = CompactWaker::new(foreign.clone());
        assert!(c.boxed().is_some());
        // `Waker::will_wake` is best effort: Miri gives each use of std's
        // `Arc` waker vtable its own address.
        assert!(cfg!(miri) || c.will_wake(&foreign));
        assert!(!c.will_wake(Waker::noop()));
        c.wake_by_ref();
        assert_eq!(count.0.load(SeqCst), 1);
        c.wake();
        assert_eq!(count.0.load(SeqCst), 2);
        drop(CompactWaker::new(foreign));
        assert_eq!(Arc::strong_count(&count), 1, "every clone was released");
    }

    #[test]
    fn a_compact_waker_keeps_a_task_waker_as_the_task_and_wakes_that_task() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let polls = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (p, s) = (polls.clone(), slot.clone());
        let task = rt.handle().spawn(std::future::poll_fn(move |cx| {
            *s.lock() = Some(cx.waker().clone());
            match p.fetch_add(1, SeqCst) {
                0 | 1 => Poll::Pending,
                _ => Poll::Ready(()),
            }
        }));
        rt.block_on(async {
            crate::task::yield_now().await;
            assert_eq!(polls.load(SeqCst), 1);
            let waker = slot.lock().take().unwrap();
            let c = CompactWaker::new(waker.clone());
            assert!(c.boxed().is_none(), "a task's own waker is not boxed");
            assert!(c.will_wake(&waker));
            assert!(!c.will_wake(Waker::noop()));
            c.wake_by_ref();
            crate::task::yield_now().await;
            assert_eq!(polls.load(SeqCst), 2, "wake_by_ref scheduled the task");
            drop(waker);
            let c2 = CompactWaker::new(slot.lock().take().unwrap());
            drop(c);
            c2.wake();
            task.await.unwrap();
            assert_eq!(polls.load(SeqCst), 3, "wake scheduled it again");
        });
    }
}
