//! Task layout and the type-erased vtable: one heap allocation per task.
//!
//! `Cell<F, S>` = `Header` (state word, vtable, id, registry links) + `Core`
//! (scheduler handle and the future/output stage) + `Trailer` (join waker and
//! the rarely used extras: name, done callbacks, spawn location). Everything
//! outside this file and `harness.rs` sees only `NonNull<Header>`; the vtable
//! recovers the concrete types. Callers: `task/mod.rs` builds cells,
//! schedulers run them through `Notified`, wakers through `waker.rs`.

use super::error::TaskError;
use super::harness;
use super::state::State;
use super::{Schedule, TaskId};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::{Arc, Mutex};
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::task::Waker;

/// The part of every task that is the same whatever its future.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    pub(crate) id: TaskId,
    /// Links of the live-task registry; guarded by that registry's shard lock.
    pub(crate) links: UnsafeCell<Links>,
}

/// Intrusive links of the registry list.
#[derive(Debug, Default)]
pub(crate) struct Links {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
    pub(crate) linked: bool,
}

/// Functions that know the concrete `F` and `S` of a task.
pub(crate) struct Vtable {
    /// Poll (or cancel) the task; consumes the notification's reference.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hand a notification (one reference) to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Free the allocation; no reference is left.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Move the output into `*mut Poll<Result<T, TaskError>>` if complete,
    /// otherwise register the waker (if any) as the join waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), Option<&Waker>),
    /// The join handle is dropped; releases its reference.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// A pointer to the stored `Result<F::Output, TaskError>`, or null if
    /// none is stored (pending, or already taken).
    pub(crate) output_ref: unsafe fn(NonNull<Header>) -> *const (),
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
#[derive(Default)]
pub(crate) struct ExtrasSlot {
    pub(crate) done: bool,
    pub(crate) extras: Option<Box<Extras>>,
}

/// The end of every task: join waker and extras.
pub(crate) struct Trailer {
    /// Written by the join handle while `JOIN_WAKER` is clear, read by the
    /// runtime while it is set.
    pub(crate) waker: UnsafeCell<Option<Waker>>,
    pub(crate) extras: Mutex<ExtrasSlot>,
}

/// The future, then its output, then nothing.
pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, TaskError>),
    Consumed,
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

impl<F: Future, S: Schedule> Cell<F, S> {
    const VTABLE: Vtable = Vtable {
        poll: harness::poll::<F, S>,
        schedule: harness::schedule::<F, S>,
        dealloc: harness::dealloc::<F, S>,
        try_read_output: harness::try_read_output::<F, S>,
        drop_join_handle: harness::drop_join_handle::<F, S>,
        output_ref: harness::output_ref::<F, S>,
        trailer_offset: std::mem::offset_of!(Cell<F, S>, trailer),
    };

    /// Allocates a task holding `refs` references, notified once.
    pub(crate) fn allocate(
        future: F,
        scheduler: S,
        id: TaskId,
        extras: Option<Box<Extras>>,
        refs: usize,
    ) -> NonNull<Header> {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(refs),
                vtable: &Self::VTABLE,
                id,
                links: UnsafeCell::new(Links::default()),
            },
            core: Core {
                scheduler,
                stage: UnsafeCell::new(Stage::Running(future)),
            },
            trailer: Trailer {
                waker: UnsafeCell::new(None),
                extras: Mutex::new(ExtrasSlot {
                    done: false,
                    extras,
                }),
            },
        });
        NonNull::from(Box::leak(cell)).cast()
    }
}

impl Header {
    /// The trailer of the task this header starts.
    pub(crate) fn trailer(&self) -> &Trailer {
        // SAFETY: [1] every `Header` is the first field of a `#[repr(C)]`
        // `Cell<F, S>` (only `Cell::allocate` creates headers); [2]
        // `trailer_offset` was computed for that same `Cell<F, S>` by the
        // vtable that `allocate` stored; so the offset pointer is in bounds
        // and points at a live `Trailer` for as long as `self` is alive.
        unsafe {
            let base = (self as *const Header).cast::<u8>();
            &*base.add(self.vtable.trailer_offset).cast::<Trailer>()
        }
    }
}

impl Trailer {
    /// Locks the extras, creating them on first use.
    pub(crate) fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        let mut guard = self.extras.lock();
        f(guard.extras.get_or_insert_with(Default::default))
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
        self.waker.with_mut(|w| unsafe { *w = waker });
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
