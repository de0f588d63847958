//! What the vtable does: poll, complete, cancel, join and free a task.
//!
//! These functions are the only code that touches the stage of a task; each
//! follows the state transitions of `state.rs`. Called through the vtable
//! from `Notified::run`, wakers, and the join handle.

use super::error::TaskError;
use super::raw::{Cell, Header, Stage};
use super::state::{ToIdle, ToRunning};
use super::{Notified, Schedule, TaskRef};
use crate::rt::exception::ExceptionContext;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

/// # Safety
/// `ptr` is the header of a live `Cell<F, S>`.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the caller guarantees `ptr` heads a live `Cell<F, S>`, and the
    // header is its first field (`#[repr(C)]`).
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>` and the caller holds the notification's
/// reference, which this consumes.
pub(crate) unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        ToRunning::Run { cancelled: false } => {}
        ToRunning::Run { cancelled: true } => return cancel_and_complete(cell),
        ToRunning::Skip => return,
        // SAFETY: no reference is left.
        ToRunning::Dealloc => return unsafe { dealloc::<F, S>(ptr) },
    }
    match poll_future(cell) {
        Poll::Ready(out) => complete(cell, out),
        Poll::Pending => match cell.header.state.transition_to_idle() {
            ToIdle::Ok => {}
            ToIdle::OkNotified => {
                // The poller's reference moves into the notification, which
                // may complete the task before `schedule` returns: hold one
                // more reference across the call.
                cell.header.state.ref_inc();
                cell.core.scheduler.schedule(Notified::from_raw(ptr), true);
                if cell.header.state.ref_dec() {
                    // SAFETY: that was the last reference.
                    unsafe { dealloc::<F, S>(ptr) }
                }
            }
            // SAFETY: no reference is left.
            ToIdle::OkDealloc => unsafe { dealloc::<F, S>(ptr) },
            ToIdle::Cancelled => cancel_and_complete(cell),
        },
    }
}

/// Polls the future once under `catch_unwind`; on `Ready` (or a panic) the
/// future has been dropped before this returns.
fn poll_future<F: Future, S: Schedule>(cell: &Cell<F, S>) -> Poll<Result<F::Output, TaskError>> {
    let ptr = NonNull::from(&cell.header);
    // SAFETY: the waker borrows the notification's reference, which lives
    // until this poll returns; `WakerRef` never drops it.
    let waker = unsafe { super::waker::WakerRef::new(ptr) };
    let mut cx = Context::from_waker(&waker);
    let _current = crate::scheduler::context::enter_task(ptr);
    let res = catch_unwind(AssertUnwindSafe(|| {
        cell.core.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING, the lock on the stage.
            match unsafe { &mut *stage } {
                // SAFETY: the future lives in the heap cell and is never
                // moved out while `Running` (only dropped in place).
                Stage::Running(f) => unsafe { Pin::new_unchecked(f) }.poll(&mut cx),
                _ => unreachable!("a running task has its future"),
            }
        })
    }));
    let out = match res {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(v)) => Ok(v),
        Err(payload) => Err(TaskError::panic(cell.header.id, payload)),
    };
    match drop_future(cell) {
        Ok(()) => Poll::Ready(out),
        Err(e) => {
            // The output is discarded; its destructor may panic too.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(out)));
            Poll::Ready(Err(e))
        }
    }
}

/// Drops the future in place; a panicking destructor becomes the outcome.
fn drop_future<F: Future, S>(cell: &Cell<F, S>) -> Result<(), TaskError> {
    catch_unwind(AssertUnwindSafe(|| set_stage(cell, Stage::Consumed)))
        .map_err(|p| TaskError::panic(cell.header.id, p))
}

fn set_stage<F: Future, S>(cell: &Cell<F, S>, stage: Stage<F>) {
    // SAFETY: every caller holds RUNNING, or COMPLETE plus the output's
    // ownership (see state.rs invariants).
    cell.core.stage.with_mut(|s| unsafe { *s = stage });
}

fn cancel_and_complete<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    let id = cell.header.id;
    let out = match drop_future(cell) {
        Ok(()) => Err(TaskError::cancelled(id)),
        Err(panic) => Err(panic),
    };
    complete(cell, out)
}

fn complete<F: Future, S: Schedule>(cell: &Cell<F, S>, out: Result<F::Output, TaskError>) {
    let header = &cell.header;
    // Cancel wins over a Ready output in the same poll; a panic (also one
    // from a destructor while cancelling) stays, so it gets reported.
    let mut replaced = out.is_err();
    set_stage(cell, Stage::Finished(out));
    let snapshot = header.state.transition_to_complete(|s| {
        if s.is_cancelled() && !replaced {
            // Cancel wins over a Ready in the same poll.
            replaced = true;
            let stage = Stage::Finished(Err(TaskError::cancelled(header.id)));
            let _ = catch_unwind(AssertUnwindSafe(|| set_stage(cell, stage)));
        }
    });
    // Done callbacks are queued before the joiner is woken, so they run
    // no later than the code awaiting the task resumes.
    let callbacks = {
        let mut slot = header.trailer().extras.lock();
        slot.done = true;
        slot.extras
            .as_mut()
            .map(|e| std::mem::take(&mut e.callbacks))
    };
    for cb in callbacks.into_iter().flatten() {
        let task = TaskRef::from_header(header);
        cell.core.scheduler.call_soon(Box::new(move || cb(&task)));
    }
    if !snapshot.is_join_interested() {
        drop_output(cell);
    } else if snapshot.is_join_waker_set() {
        // SAFETY: COMPLETE and JOIN_WAKER are set: the runtime reads the slot.
        unsafe { header.trailer().wake_join() };
        let after = header.state.unset_join_waker_after_complete();
        if !after.is_join_interested() {
            // SAFETY: the handle is gone and the task complete: ours to write.
            unsafe { header.trailer().set_waker(None) };
        }
    }
    let released = cell.core.scheduler.release(header);
    if header.state.ref_sub(1 + released as usize) {
        // SAFETY: no reference is left.
        unsafe { dealloc::<F, S>(NonNull::from(header)) }
    }
}

/// Drops a stored output nobody will read; an unobserved panic is reported.
fn drop_output<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    let stage = cell.core.stage.with_mut(|s| {
        // SAFETY: COMPLETE and the output is ours (no join interest, or the
        // handle is dropping it).
        unsafe { std::mem::replace(&mut *s, Stage::Consumed) }
    });
    if let Stage::Finished(Err(e)) = stage {
        if let Some(payload) = e.into_panic_payload() {
            let task = TaskRef::from_header(&cell.header);
            let msg = if cell.core.scheduler.is_shutting_down() {
                "unhandled panic during shutdown"
            } else {
                "Task exception was never retrieved"
            };
            let ctx = ExceptionContext::new(msg)
                .with_task(task)
                .with_panic(payload);
            cell.core.scheduler.report(&ctx);
            // A payload whose destructor panics must not unwind out of the
            // harness; the nested payload is leaked rather than dropped.
            if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(ctx))) {
                std::mem::forget(p);
            }
        }
    } else {
        let _ = catch_unwind(AssertUnwindSafe(move || drop(stage)));
    }
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>`; consumes one reference.
pub(crate) unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.core.scheduler.schedule(Notified::from_raw(ptr), false);
}

/// # Safety
/// `ptr` heads a `Cell<F, S>` with no reference left.
pub(crate) unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller guarantees no reference is left, so we own the box
    // that `Cell::allocate` leaked.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(cell)));
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>`, the caller is its join handle and `dst`
/// points at a valid `Poll<Result<F::Output, TaskError>>`.
pub(crate) unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: Option<&Waker>,
) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, waker) {
        return;
    }
    let stage = cell.core.stage.with_mut(|s| {
        // SAFETY: COMPLETE is set and we are the join handle: the output is ours.
        unsafe { std::mem::replace(&mut *s, Stage::Consumed) }
    });
    let out = match stage {
        Stage::Finished(out) => out,
        _ => Err(TaskError::invalid_state(cell.header.id)),
    };
    // SAFETY: the caller guarantees `dst` is a valid, initialised
    // `Poll<Result<F::Output, TaskError>>`; assigning drops the old value.
    unsafe { *dst.cast::<Poll<Result<F::Output, TaskError>>>() = Poll::Ready(out) };
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>`; the caller is its join handle and the
/// task is complete (so nobody else touches the stage).
pub(crate) unsafe fn output_ref<F: Future, S: Schedule>(ptr: NonNull<Header>) -> *const () {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.core.stage.with(|s| {
        // SAFETY: complete, and the output belongs to the caller (the
        // join handle): no concurrent writer.
        match unsafe { &*s } {
            Stage::Finished(out) => (out as *const Result<F::Output, TaskError>).cast(),
            _ => std::ptr::null(),
        }
    })
}

/// The join waker protocol (see state.rs): true when the output can be read.
pub(crate) fn can_read_output(header: &Header, waker: Option<&Waker>) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    let Some(waker) = waker else { return false };
    let trailer = header.trailer();
    let res = if !snapshot.is_join_waker_set() {
        set_join_waker(header, waker.clone())
    } else {
        // SAFETY: the caller is the join handle.
        if unsafe { trailer.will_wake(waker) } {
            return false;
        }
        header
            .state
            .unset_join_waker()
            .and_then(|_| set_join_waker(header, waker.clone()))
    };
    match res {
        Ok(_) => false,
        Err(s) => {
            debug_assert!(s.is_complete());
            true
        }
    }
}

fn set_join_waker(
    header: &Header,
    waker: Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
    let trailer = header.trailer();
    // SAFETY: JOIN_WAKER is clear and we are the join handle: ours to write.
    unsafe { trailer.set_waker(Some(waker)) };
    let res = header.state.set_join_waker();
    if res.is_err() {
        // SAFETY: completion won the race; JOIN_WAKER stayed clear, so the
        // slot is still ours.
        unsafe { trailer.set_waker(None) };
    }
    res
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>` and the caller is its join handle, which
/// gives up its reference.
pub(crate) unsafe fn drop_join_handle<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    let t = cell.header.state.transition_to_join_handle_dropped();
    if t.drop_output {
        drop_output(cell);
    }
    if t.drop_waker {
        // SAFETY: JOIN_WAKER is clear (or the task is complete and the
        // runtime gave the slot back): the handle owns the slot.
        unsafe { cell.header.trailer().set_waker(None) };
    }
    if cell.header.state.ref_dec() {
        // SAFETY: no reference is left.
        unsafe { dealloc::<F, S>(ptr) }
    }
}
