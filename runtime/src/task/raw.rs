//! Task layout and the type-erased vtable: one heap allocation per task.
//!
//! `Cell<F, S>` is a `Header` (state word with the spawn tick, vtable,
//! registry links, activity: id with last worker, polls with last poll),
//! then a `Core` (scheduler handle and the untagged future/output stage),
//! then a `Trailer` (join waker in one word, and a pointer to the rarely
//! used extras, boxed on first use: context, name, done callbacks, spawn
//! location). With a 24-byte future a task is 96 bytes. Everything
//! outside this file and `harness.rs` sees only a `TaskPtr`; the vtable
//! recovers the concrete types. Callers: `task/mod.rs` builds cells,
//! schedulers run them through `Notified`, wakers through `waker.rs`.
//!
//! # Provenance
//!
//! A `TaskPtr` is the pointer `Cell::allocate` got from the allocation, so
//! it may reach every byte of the cell: the trailer, and the whole cell
//! when it is freed. A pointer made from a `&Header` may only reach the
//! header (that is what Stacked Borrows enforces), so none is ever made:
//! `TaskPtr` has no constructor from a reference, and whatever keeps or
//! passes a pointer into a task (handles, wakers, run queues, the registry
//! links, the current-task slot) keeps the `TaskPtr`. References into the
//! cell (`&Header`, `&Cell`) are made from it for a use and end before the
//! cell can be freed: a function that may free the cell takes the
//! `TaskPtr`, never a reference the caller's frame would keep alive
//! across the deallocation.

use super::error::TaskError;
use super::harness;
use super::info::Activity;
use super::state::State;
use super::waker::CompactWaker;
use super::{Schedule, TaskId};
use crate::context::{with_context, Context};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicPtr, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::Waker;

/// The part of every task that is the same whatever its future.
#[repr(C)]
pub(crate) struct Header {
    /// The lifecycle, and the spawn tick in its high half (64-bit).
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// Links of the live-task registry; guarded by that registry's shard lock.
    pub(crate) links: UnsafeCell<Links>,
    /// The id, and the polls, last poll and worker for the task dump
    /// (`info.rs`).
    pub(crate) activity: Activity,
}

impl Header {
    /// The task's id.
    #[inline]
    pub(crate) fn id(&self) -> TaskId {
        self.activity.id()
    }

    /// The tick of its runtime's clock at which the task was spawned.
    pub(crate) fn spawn_tick(&self) -> u32 {
        #[cfg(target_pointer_width = "64")]
        return self.state.spawn_tick();
        #[cfg(not(target_pointer_width = "64"))]
        return self.activity.spawn_tick();
    }
}

/// Intrusive links of the registry list. A task is linked iff it has a
/// `prev` or is its shard's head.
#[derive(Debug, Default)]
pub(crate) struct Links {
    pub(crate) prev: Option<TaskPtr>,
    pub(crate) next: Option<TaskPtr>,
}

/// Functions that know the concrete `F` and `S` of a task.
pub(crate) struct Vtable {
    /// Poll (or cancel) the task; consumes the notification's reference.
    pub(crate) poll: unsafe fn(TaskPtr),
    /// Hand a notification (one reference) to the task's scheduler.
    pub(crate) schedule: unsafe fn(TaskPtr),
    /// Free the allocation; no reference is left.
    pub(crate) dealloc: unsafe fn(TaskPtr),
    /// Move the output into `*mut Poll<Result<T, TaskError>>` if complete,
    /// otherwise register the waker (if any) as the join waker.
    pub(crate) try_read_output: unsafe fn(TaskPtr, *mut (), Option<&Waker>),
    /// The join handle is dropped; releases its reference.
    pub(crate) drop_join_handle: unsafe fn(TaskPtr),
    /// A pointer to the stored `Result<F::Output, TaskError>`, or null if
    /// none is stored (pending, or already taken).
    pub(crate) output_ref: unsafe fn(TaskPtr) -> *const (),
    /// Queue a callback on the call_soon queue of the task's own runtime.
    pub(crate) call_soon: unsafe fn(TaskPtr, Box<dyn FnOnce() + Send + 'static>),
    /// Offset of the `Trailer` from the header.
    pub(crate) trailer_offset: usize,
}

/// Rarely used per-task data, allocated only when first needed.
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) callbacks: Vec<super::DoneCallback>,
    pub(crate) spawned_at: Option<&'static Location<'static>>,
}

/// The extras slot: `done` is set (under the lock) when completion has taken
/// the done callbacks, so a callback added later runs at once instead.
pub(crate) struct ExtrasSlot {
    pub(crate) done: bool,
    pub(crate) extras: Extras,
}

/// The rarely used part of a task, boxed on first use (most tasks never
/// have any): one pointer in the cell.
pub(crate) struct ExtrasBox {
    /// The task's context (context variables), current during its polls
    /// and the drop of its future: touched only by the thread that holds
    /// `RUNNING`, or that frees the cell (`Trailer::in_context`).
    ctx: UnsafeCell<Option<Context>>,
    pub(crate) slot: Mutex<ExtrasSlot>,
}

impl ExtrasBox {
    fn boxed(extras: Extras, ctx: Option<Context>) -> *mut ExtrasBox {
        Box::into_raw(Box::new(ExtrasBox {
            ctx: UnsafeCell::new(ctx),
            slot: Mutex::new(ExtrasSlot {
                done: false,
                extras,
            }),
        }))
    }
}

/// The pointer to the [`ExtrasBox`]: null until first needed; once set it
/// never changes until the cell is freed.
pub(crate) struct ExtrasPtr(AtomicPtr<ExtrasBox>);

impl ExtrasPtr {
    fn new(extras: Option<Box<Extras>>, ctx: Option<Context>) -> ExtrasPtr {
        let p = match (extras, ctx) {
            (None, None) => std::ptr::null_mut(),
            (e, ctx) => ExtrasBox::boxed(e.map(|e| *e).unwrap_or_default(), ctx),
        };
        ExtrasPtr(AtomicPtr::new(p))
    }

    /// The extras, if any were ever made.
    pub(crate) fn get(&self) -> Option<&ExtrasBox> {
        let p = self.0.load(Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` (above or in
        // `get_or_create`), was published with Release, and is freed only
        // by `Drop`, which `&self` rules out.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The extras, made now if there were none.
    pub(crate) fn get_or_create(&self) -> &ExtrasBox {
        if let Some(m) = self.get() {
            return m;
        }
        let new = ExtrasBox::boxed(Extras::default(), None);
        match self
            .0
            .compare_exchange(std::ptr::null_mut(), new, AcqRel, Acquire)
        {
            // SAFETY: ours, just published; freed only by `Drop`.
            Ok(_) => unsafe { &*new },
            Err(theirs) => {
                // SAFETY: `new` was never published: still ours to free.
                drop(unsafe { Box::from_raw(new) });
                // SAFETY: as in `get`.
                unsafe { &*theirs }
            }
        }
    }
}

impl Drop for ExtrasPtr {
    fn drop(&mut self) {
        let p = self.0.load(Acquire);
        if !p.is_null() {
            // SAFETY: the cell is being freed: no reference to the box is
            // left, and it came from `Box::into_raw`.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// The end of every task: join waker and extras.
pub(crate) struct Trailer {
    /// Written by the join handle while `JOIN_WAKER` is clear, read by the
    /// runtime while it is set.
    pub(crate) waker: UnsafeCell<Option<CompactWaker>>,
    pub(crate) extras: ExtrasPtr,
}

/// The future, then its output: one slot with no tag of its own (8 bytes
/// a task, issue 17). The state word tells which it holds: the future
/// until the poller holding `RUNNING` drops it ([`drop_future`], just
/// before completing the task), the output slot from then on (`None` once
/// taken, or when nobody will read it), so certainly once `COMPLETE` is
/// set. A cell freed before it completed (a notification dropped unrun at
/// shutdown) still holds its future.
///
/// [`drop_future`]: Stage::drop_future
pub(crate) union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Option<Result<F::Output, TaskError>>>,
}

impl<F: Future> Stage<F> {
    fn new(future: F) -> Stage<F> {
        Stage {
            future: ManuallyDrop::new(future),
        }
    }

    /// The future, pinned.
    ///
    /// # Safety
    /// The stage holds the future (see the type), and the caller may touch
    /// it (holds `RUNNING`). The cell is never moved while it lives.
    pub(crate) unsafe fn future(&mut self) -> Pin<&mut F> {
        // SAFETY: the future is the live field (the contract); it lives in
        // the heap cell, which never moves, and is only dropped in place.
        unsafe { Pin::new_unchecked(&mut *self.future) }
    }

    /// Drops the future in place; the stage then holds an empty output slot,
    /// also when the future's destructor panics (the panic goes on).
    ///
    /// # Safety
    /// As [`future`](Self::future).
    pub(crate) unsafe fn drop_future(&mut self) {
        struct Emptied<'a, F: Future>(&'a mut Stage<F>);
        impl<F: Future> Drop for Emptied<'_, F> {
            fn drop(&mut self) {
                self.0.output = ManuallyDrop::new(None);
            }
        }
        let emptied = Emptied(self);
        // SAFETY: the future is live (the contract) and dropped once: the
        // guard makes the output the live field whatever happens.
        unsafe { ManuallyDrop::drop(&mut emptied.0.future) };
    }

    /// Puts `out` in the output slot, returning what it held.
    ///
    /// # Safety
    /// The stage holds the output slot, and the caller may write it (holds
    /// `RUNNING`, or `COMPLETE` plus the output's ownership).
    pub(crate) unsafe fn replace_output(
        &mut self,
        out: Option<Result<F::Output, TaskError>>,
    ) -> Option<Result<F::Output, TaskError>> {
        // SAFETY: the output slot is the live field (the contract).
        std::mem::replace(unsafe { &mut *self.output }, out)
    }

    /// The stored output, if any.
    ///
    /// # Safety
    /// The stage holds the output slot and nobody writes it meanwhile.
    pub(crate) unsafe fn output(&self) -> Option<&Result<F::Output, TaskError>> {
        // SAFETY: the output slot is the live field (the contract).
        unsafe { &*self.output }.as_ref()
    }

    /// Drops whichever the stage holds: the output slot if the task is
    /// `complete`, the future otherwise.
    ///
    /// # Safety
    /// The cell is being freed: nothing else touches the stage, and
    /// `complete` is the state word's `COMPLETE`.
    unsafe fn drop_in_place(&mut self, complete: bool) {
        if complete {
            // SAFETY: complete: the output slot is live; dropped once.
            unsafe { ManuallyDrop::drop(&mut self.output) }
        } else {
            // SAFETY: not complete, so nobody dropped the future (its
            // poller would have completed the task, holding a reference
            // until then); dropped once.
            unsafe { ManuallyDrop::drop(&mut self.future) }
        }
    }
}

/// The scheduler and the stage.
pub(crate) struct Core<F: Future, S> {
    pub(crate) scheduler: S,
    pub(crate) stage: UnsafeCell<Stage<F>>,
}

/// The single allocation.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) core: Core<F, S>,
    pub(crate) trailer: Trailer,
}

impl<F: Future, S> Drop for Cell<F, S> {
    fn drop(&mut self) {
        let complete = self.header.state.load().is_complete();
        let stage = &self.core.stage;
        // SAFETY: the cell is being freed (`&mut self`): no reference to it
        // is left, and the state word says which stage field is live.
        let drop = || stage.with_mut(|s| unsafe { (*s).drop_in_place(complete) });
        // SAFETY: as above: ours alone.
        unsafe { self.trailer.in_context(drop) };
    }
}

impl<F: Future, S: Schedule> Cell<F, S> {
    const VTABLE: Vtable = Vtable {
        poll: harness::poll::<F, S>,
        schedule: harness::schedule::<F, S>,
        dealloc: harness::dealloc::<F, S>,
        try_read_output: harness::try_read_output::<F, S>,
        drop_join_handle: harness::drop_join_handle::<F, S>,
        output_ref: harness::output_ref::<F, S>,
        call_soon: harness::call_soon::<F, S>,
        trailer_offset: std::mem::offset_of!(Cell<F, S>, trailer),
    };

    /// Allocates a task holding `refs` references, notified once.
    pub(crate) fn allocate(
        future: F,
        scheduler: S,
        id: TaskId,
        extras: Option<Box<Extras>>,
        ctx: Option<Context>,
        refs: usize,
        spawn_tick: u32,
    ) -> TaskPtr {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(refs, spawn_tick),
                vtable: &Self::VTABLE,
                links: UnsafeCell::new(Links::default()),
                activity: Activity::new(id, spawn_tick),
            },
            core: Core {
                scheduler,
                stage: UnsafeCell::new(Stage::new(future)),
            },
            trailer: Trailer {
                waker: UnsafeCell::new(None),
                extras: ExtrasPtr::new(extras, ctx),
            },
        });
        // `into_raw`, not `leak`: the pointer is the allocation's own, with
        // provenance over the whole cell and no reference in between.
        let cell = Box::into_raw(cell);
        // SAFETY: `Box::into_raw` never returns null.
        TaskPtr(unsafe { NonNull::new_unchecked(cell) }.cast())
    }
}

/// A pointer to a task's cell, with provenance over all of it (see the
/// module docs). It is a plain pointer: it does not count as a reference;
/// whoever holds one holds (or borrows) a reference of the task's count,
/// which keeps the cell alive.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct TaskPtr(NonNull<Header>);

impl TaskPtr {
    /// The header.
    ///
    /// # Safety
    /// The task is live for `'a`: the caller holds (or borrows) one of its
    /// references for that long.
    #[inline]
    pub(crate) unsafe fn header<'a>(self) -> &'a Header {
        // SAFETY: the cell is live (see above) and starts with the header.
        unsafe { self.0.as_ref() }
    }

    /// The trailer, reached from the allocation's pointer (never from a
    /// `&Header`, whose provenance ends with the header).
    ///
    /// # Safety
    /// As [`header`](Self::header).
    #[inline]
    pub(crate) unsafe fn trailer<'a>(self) -> &'a Trailer {
        // SAFETY: the caller keeps the task live for 'a.
        let offset = unsafe { self.header() }.vtable.trailer_offset;
        // SAFETY: [1] every header is the first field of a `#[repr(C)]`
        // `Cell<F, S>` allocated by `Cell::allocate`; [2] `trailer_offset`
        // was computed for that `Cell<F, S>` by the vtable `allocate`
        // stored; [3] `self` has the allocation's provenance. So the
        // offset pointer is in bounds, may be used, and points at a live
        // `Trailer` for 'a.
        unsafe { self.0.cast::<u8>().add(offset).cast::<Trailer>().as_ref() }
    }

    /// The cell, as its concrete type.
    ///
    /// # Safety
    /// As [`header`](Self::header), and the task is a `Cell<F, S>`.
    #[inline]
    pub(crate) unsafe fn cell<'a, F: Future, S>(self) -> &'a Cell<F, S> {
        // SAFETY: the caller guarantees the type and the liveness; the
        // pointer covers the whole cell.
        unsafe { self.0.cast::<Cell<F, S>>().as_ref() }
    }

    /// The allocation, to free it.
    pub(crate) fn as_cell_ptr<F: Future, S>(self) -> *mut Cell<F, S> {
        self.0.cast::<Cell<F, S>>().as_ptr()
    }

    /// The data pointer of a `RawWaker`.
    pub(crate) fn as_waker_data(self) -> *const () {
        self.0.as_ptr() as *const ()
    }

    /// The pointer a `RawWaker` was made with ([`as_waker_data`]).
    ///
    /// # Safety
    /// `data` is the data pointer of a task waker.
    ///
    /// [`as_waker_data`]: Self::as_waker_data
    pub(crate) unsafe fn from_waker_data(data: *const ()) -> TaskPtr {
        // SAFETY: a waker's data pointer is a `TaskPtr`'s, so non-null.
        TaskPtr(unsafe { NonNull::new_unchecked(data as *mut Header) })
    }
}

impl std::fmt::Debug for TaskPtr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskPtr({:p})", self.0)
    }
}

impl Trailer {
    /// Locks the extras, creating them on first use.
    pub(crate) fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        f(&mut self.extras.get_or_create().slot.lock().extras)
    }

    /// Reads the extras, if the task has any.
    pub(crate) fn read_extras<R>(&self, f: impl FnOnce(&Extras) -> Option<R>) -> Option<R> {
        self.extras.get().and_then(|m| f(&m.slot.lock().extras))
    }

    /// Runs `f` (a poll of the task's future, or its drop) with the task's
    /// context current (asyncio: a task runs in its own copy of the
    /// spawner's context). A context the task makes (its first
    /// `ContextVar::set`) is kept in the extras, made then.
    ///
    /// # Safety
    /// The caller holds `RUNNING`, or is freeing the cell: nobody else
    /// touches the context.
    pub(crate) unsafe fn in_context<R>(&self, f: impl FnOnce() -> R) -> R {
        if let Some(b) = self.extras.get() {
            // SAFETY: only the `RUNNING` holder (the caller) touches it.
            return b.ctx.with_mut(|c| with_context(unsafe { &mut *c }, f));
        }
        /// Moves a context made during `f` into the extras, also when `f`
        /// unwinds (the future's destructors then still see it).
        struct Keep<'a> {
            extras: &'a ExtrasPtr,
            ctx: Option<Context>,
        }
        impl Drop for Keep<'_> {
            fn drop(&mut self) {
                if let Some(ctx) = self.ctx.take() {
                    let b = self.extras.get_or_create();
                    // SAFETY: as for `in_context` (still the caller's).
                    b.ctx.with_mut(|c| unsafe { *c = Some(ctx) });
                }
            }
        }
        let mut keep = Keep {
            extras: &self.extras,
            ctx: None,
        };
        with_context(&mut keep.ctx, f)
    }

    /// Wakes the join handle's waker.
    ///
    /// # Safety
    /// The caller holds the right to read the waker slot (`JOIN_WAKER` set
    /// and the task complete).
    pub(crate) unsafe fn wake_join(&self) {
        self.waker.with(|w| {
            // SAFETY: the caller holds read access to the slot (see above).
            if let Some(w) = unsafe { &*w } {
                w.wake_by_ref();
            }
        });
    }

    /// Replaces the join waker.
    ///
    /// # Safety
    /// The caller holds write access to the slot: `JOIN_WAKER` is clear and
    /// it is the join handle, or the handle is gone and the task complete.
    pub(crate) unsafe fn set_waker(&self, waker: Option<Waker>) {
        // SAFETY: the caller holds write access to the slot (see above).
        self.waker
            .with_mut(|w| unsafe { *w = waker.map(CompactWaker::new) });
    }

    /// Takes the join waker out of the slot, leaving it empty.
    ///
    /// # Safety
    /// As for `set_waker`: the caller holds write access to the slot.
    pub(crate) unsafe fn take_waker(&self) -> Option<CompactWaker> {
        // SAFETY: the caller holds write access to the slot (see above).
        self.waker.with_mut(|w| unsafe { (*w).take() })
    }

    /// Whether the stored join waker would wake the same task as `waker`.
    ///
    /// # Safety
    /// The caller is the join handle, so nobody writes the slot meanwhile.
    pub(crate) unsafe fn will_wake(&self, waker: &Waker) -> bool {
        // SAFETY: only the join handle writes the slot; the caller is it.
        self.waker.with(|w| match unsafe { &*w } {
            Some(w) => w.will_wake(waker),
            None => false,
        })
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod tests {
    use super::*;
    use std::task::{Context as TaskCx, Poll};

    /// A future of three words, like `task_memory`'s idle task.
    struct ThreeWords(#[allow(dead_code)] [u64; 3]); // only its size matters

    impl Future for ThreeWords {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut TaskCx<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }

    #[test]
    fn a_task_with_a_three_word_future_is_twelve_words() {
        // Header 6 (state with the spawn tick, vtable, links 2, activity 2:
        // id with worker, polls with last tick), scheduler 1, stage 3 (no
        // tag: the state word tells future from output), join waker 1,
        // extras 1: issue 17's bytes per idle task rest on this.
        assert_eq!(std::mem::size_of::<ThreeWords>(), 24);
        assert_eq!(std::mem::size_of::<Header>(), 48);
        assert_eq!(
            std::mem::size_of::<Cell<ThreeWords, Arc<crate::rt::Shared>>>(),
            96
        );
    }
}
