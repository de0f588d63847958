//! What the vtable does: poll, complete, cancel, join and free a task.
//!
//! These functions are the only code that touches the stage of a task; each
//! follows the state transitions of `state.rs`. Called through the vtable
//! from `Notified::run`, wakers, and the join handle.
//!
//! A function that may free the cell (`poll`, `complete`,
//! `drop_join_handle`, ...) takes the `TaskPtr` (see `raw.rs`, provenance)
//! and borrows the cell only in a scope that ends before the reference it
//! holds is released: a `&Cell` argument would be a protected borrow, live
//! across the deallocation.

use super::error::TaskError;
use super::raw::{Cell, Header, TaskPtr, Trailer};
use super::state::{ToIdle, ToRunning};
use super::{Notified, Schedule, TaskRef};
use crate::rt::exception::ExceptionContext;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::{Context, Poll, Waker};

/// # Safety
/// `ptr` is a live `Cell<F, S>` and stays live for `'a`.
unsafe fn cell<'a, F: Future, S>(ptr: TaskPtr) -> &'a Cell<F, S> {
    // SAFETY: forwarded from the caller.
    unsafe { ptr.cell::<F, S>() }
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>` and the caller holds the notification's
/// reference, which this consumes.
pub(crate) unsafe fn poll<F: Future, S: Schedule>(ptr: TaskPtr) {
    // SAFETY: we hold a reference until a transition below releases it;
    // `state` is not used after that (a local, never a protected argument,
    // so it does not outlive a deallocation by another thread).
    let state = unsafe { &ptr.header().state };
    match state.transition_to_running() {
        // SAFETY: as above (we hold a reference and RUNNING).
        ToRunning::Run { cancelled: false } => unsafe { ptr.header() }.activity.polled(),
        // SAFETY: we hold RUNNING and the notification's reference.
        ToRunning::Run { cancelled: true } => return unsafe { cancel_and_complete::<F, S>(ptr) },
        ToRunning::Skip => return,
        // SAFETY: no reference is left.
        ToRunning::Dealloc => return unsafe { dealloc::<F, S>(ptr) },
    }
    // SAFETY: we hold RUNNING and the notification's reference.
    match unsafe { poll_future::<F, S>(ptr) } {
        Poll::Ready(out) => {
            // A yield in the last poll (a combinator's branch) is moot.
            let _ = yielded(ptr);
            // SAFETY: as above; the future is gone.
            unsafe { complete::<F, S>(ptr, out) }
        }
        Poll::Pending => {
            let yielded = yielded(ptr);
            match state.transition_to_idle(yielded) {
                ToIdle::Ok => {}
                ToIdle::OkNotified => {
                    // SAFETY: we hold the notification's reference.
                    let scheduler = unsafe { &cell::<F, S>(ptr).core.scheduler };
                    let mut notified = Notified::from_raw(ptr);
                    if yielded {
                        // `defer` only queues it on this thread (it cannot
                        // run, so the cell outlives the call) or gives it back.
                        match scheduler.defer(notified) {
                            None => return,
                            Some(n) => notified = n,
                        }
                    }
                    // The poller's reference moves into the notification, which
                    // may complete the task before `schedule` returns: hold one
                    // more reference across the call (`schedule`'s `&self` is
                    // in the cell).
                    state.ref_inc();
                    scheduler.schedule(notified, true);
                    if state.ref_dec() {
                        // SAFETY: that was the last reference.
                        unsafe { dealloc::<F, S>(ptr) }
                    }
                }
                // SAFETY: no reference is left.
                ToIdle::OkDealloc => unsafe { dealloc::<F, S>(ptr) },
                // SAFETY: still RUNNING, with the notification's reference.
                ToIdle::Cancelled => unsafe { cancel_and_complete::<F, S>(ptr) },
            }
        }
    }
}

/// Whether the task asked, during this poll, to be deferred (`yield_now`
/// on a worker with the task's own waker: `scheduler::context`).
#[inline]
fn yielded(ptr: TaskPtr) -> bool {
    crate::scheduler::context::take_self_yield(ptr)
}

/// Polls the future once under `catch_unwind`; on `Ready` (or a panic) the
/// future has been dropped before this returns.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>`; the caller holds RUNNING and a reference.
unsafe fn poll_future<F: Future, S: Schedule>(ptr: TaskPtr) -> Poll<Result<F::Output, TaskError>> {
    // SAFETY: the caller's reference keeps the cell live during this call.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the waker borrows the notification's reference, which lives
    // until this poll returns; `WakerRef` never drops it.
    let waker = unsafe { super::waker::WakerRef::new(ptr) };
    let mut cx = Context::from_waker(&waker);
    let _current = crate::scheduler::context::enter_task(ptr);
    let res = catch_unwind(AssertUnwindSafe(|| {
        let poll = || {
            let poll = cell.core.stage.with_mut(|stage| {
                // SAFETY: we hold RUNNING, the lock on the stage, and the
                // task is not complete: the stage holds the future.
                unsafe { (*stage).future() }.poll(&mut cx)
            });
            // Done: the future is dropped here, in the same context scope
            // as its poll (one swap of the current context, not two).
            poll.map(|v| (v, drop_future_in_scope(cell)))
        };
        // SAFETY: we hold RUNNING.
        unsafe { cell.trailer.in_context(poll) }
    }));
    let out = match res {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready((v, Ok(())))) => return Poll::Ready(Ok(v)),
        Ok(Poll::Ready((v, Err(e)))) => {
            // The output is discarded; its destructor may panic too.
            contain(move || drop(v));
            return Poll::Ready(Err(e));
        }
        Err(payload) => TaskError::panic(cell.header.id(), payload),
    };
    // The poll panicked: the future is still there.
    match drop_future(cell) {
        Ok(()) => Poll::Ready(Err(out)),
        Err(e) => {
            // The first panic's payload is discarded; it may panic too.
            contain(move || drop(out));
            Poll::Ready(Err(e))
        }
    }
}

/// Runs `f` (a drop), containing a panic in it. The panic's payload is
/// dropped; if its own destructor panics, that payload is leaked: nothing
/// may unwind out of the harness between the future's drop and `COMPLETE`
/// (the cell would be left with neither).
fn contain(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(nested);
        }
    }
}

/// Drops the future in place, in the task's context; a panicking
/// destructor becomes the outcome. The caller holds RUNNING, and the stage
/// holds the future.
fn drop_future<F: Future, S>(cell: &Cell<F, S>) -> Result<(), TaskError> {
    // SAFETY: the caller holds RUNNING.
    unsafe { cell.trailer.in_context(|| drop_future_in_scope(cell)) }
}

/// `drop_future` for a caller already inside the task's context scope.
fn drop_future_in_scope<F: Future, S>(cell: &Cell<F, S>) -> Result<(), TaskError> {
    // SAFETY: the caller holds RUNNING and the future is still there.
    let drop = || cell.core.stage.with_mut(|s| unsafe { (*s).drop_future() });
    catch_unwind(AssertUnwindSafe(drop)).map_err(|p| TaskError::panic(cell.header.id(), p))
}

/// Stores the output (the future is gone); the one it replaces is dropped
/// here. The caller holds RUNNING (see state.rs invariants).
fn set_output<F: Future, S>(cell: &Cell<F, S>, out: Result<F::Output, TaskError>) {
    // SAFETY: RUNNING, and the future was dropped: the output slot is live.
    let old = cell
        .core
        .stage
        .with_mut(|s| unsafe { (*s).replace_output(Some(out)) });
    drop(old);
}

/// Takes the output out of a complete task.
///
/// # Safety
/// The task is complete and its output is the caller's.
unsafe fn take_output<F: Future, S>(cell: &Cell<F, S>) -> Option<Result<F::Output, TaskError>> {
    // SAFETY: COMPLETE, so the output slot is live, and it is ours.
    cell.core
        .stage
        .with_mut(|s| unsafe { (*s).replace_output(None) })
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`; the caller holds RUNNING and a reference,
/// which this consumes.
unsafe fn cancel_and_complete<F: Future, S: Schedule>(ptr: TaskPtr) {
    let out = {
        // SAFETY: the caller's reference keeps the cell live; the borrow
        // ends before `complete` may free it.
        let cell = unsafe { cell::<F, S>(ptr) };
        match drop_future(cell) {
            Ok(()) => Err(TaskError::cancelled(cell.header.id())),
            Err(panic) => Err(panic),
        }
    };
    // SAFETY: forwarded from the caller.
    unsafe { complete::<F, S>(ptr, out) }
}

/// Stores the outcome, runs the completion protocol, and releases the
/// poller's reference (and the registry's), freeing the cell if those were
/// the last.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>`; the caller holds RUNNING and a reference,
/// which this consumes.
unsafe fn complete<F: Future, S: Schedule>(ptr: TaskPtr, out: Result<F::Output, TaskError>) {
    // Every borrow of the cell lives in this block, and ends before the
    // last reference may be released below.
    let release = {
        // SAFETY: the caller's reference keeps the cell live here.
        let cell = unsafe { cell::<F, S>(ptr) };
        let header = &cell.header;
        let trailer = &cell.trailer;
        // Cancel wins over a Ready output in the same poll; a panic (also
        // one from a destructor while cancelling) stays, so it gets
        // reported.
        let mut replaced = out.is_err();
        let mut cancelled = matches!(&out, Err(e) if e.is_cancelled());
        // A detached task (its handle is gone, and join interest never
        // comes back) does not store the output only to take it back.
        let detached = !header.state.load().is_join_interested();
        let mut kept = None;
        if detached {
            kept = Some(out);
        } else {
            set_output(cell, out);
        }
        let snapshot = header.state.transition_to_complete(|s| {
            if s.is_cancelled() && !replaced {
                // Cancel wins over a Ready in the same poll.
                replaced = true;
                cancelled = true;
                if !detached {
                    let out = Err(TaskError::cancelled(header.id()));
                    contain(|| set_output(cell, out));
                }
            }
            cancelled
        });
        // Done callbacks are queued before the joiner is woken, so they
        // run no later than the code awaiting the task resumes.
        let callbacks = snapshot
            .has_callbacks()
            .then(|| trailer.extras.get())
            .flatten()
            .map(|m| {
                let mut slot = m.slot.lock();
                slot.done = true;
                std::mem::take(&mut slot.extras.callbacks)
            });
        for cb in callbacks.into_iter().flatten() {
            // SAFETY: live (we hold a reference); the new one is the
            // callback's.
            let task = unsafe { TaskRef::acquire(ptr) };
            cell.core.scheduler.call_soon(Box::new(move || cb(&task)));
        }
        if let Some(out) = kept {
            // Replaced by the cancel (an `Ok`): dropped; a panic reported.
            let out = if replaced && out.is_ok() {
                contain(move || drop(out));
                None
            } else {
                Some(out)
            };
            if let Some(out) = out {
                // SAFETY: live (we hold a reference).
                unsafe { discard_output::<F, S>(ptr, out) };
            }
        } else if !snapshot.is_join_interested() {
            // SAFETY: COMPLETE, and the handle is gone: the output is ours.
            unsafe { drop_output::<F, S>(ptr) };
        } else if snapshot.is_join_waker_set() {
            // SAFETY: COMPLETE and JOIN_WAKER are set: the runtime reads
            // the slot.
            unsafe { trailer.wake_join() };
            let after = header.state.unset_join_waker_after_complete();
            if !after.is_join_interested() {
                // SAFETY: the handle is gone and the task complete: ours to
                // write.
                unsafe { trailer.set_waker(None) };
            }
        }
        1 + cell.core.scheduler.release(ptr) as usize
    };
    // SAFETY: we still hold the poller's reference; the `&State` is a
    // temporary that ends with the decrement.
    if unsafe { ptr.header() }.state.ref_sub(release) {
        // SAFETY: no reference is left.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

/// Drops a stored output nobody will read; an unobserved panic is reported.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>` for the call (the caller holds a
/// reference), complete, and its output is the caller's (no join
/// interest, or the handle is dropping it).
unsafe fn drop_output<F: Future, S: Schedule>(ptr: TaskPtr) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: COMPLETE and the output is ours (no join interest, or the
    // handle is dropping it).
    if let Some(out) = unsafe { take_output(cell) } {
        // SAFETY: forwarded from the caller.
        unsafe { discard_output::<F, S>(ptr, out) }
    }
}

/// Drops an output nobody will read; an unobserved panic is reported.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>` for the call (the caller holds a
/// reference).
unsafe fn discard_output<F: Future, S: Schedule>(ptr: TaskPtr, out: Result<F::Output, TaskError>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    if let Err(e) = out {
        if let Some(payload) = e.into_panic_payload() {
            // SAFETY: live (the caller holds a reference).
            let task = unsafe { TaskRef::acquire(ptr) };
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
        contain(move || drop(out));
    }
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>`; consumes one reference.
pub(crate) unsafe fn schedule<F: Future, S: Schedule>(ptr: TaskPtr) {
    // SAFETY: forwarded from the caller; the notification's reference
    // keeps the cell live until the scheduler runs or drops it, which
    // `schedule`'s callers keep from happening during the call by holding
    // a reference of their own.
    let scheduler = unsafe { &cell::<F, S>(ptr).core.scheduler };
    scheduler.schedule(Notified::from_raw(ptr), false);
}

/// # Safety
/// `ptr` heads a `Cell<F, S>` with no reference left, and no reference
/// into the cell is live.
pub(crate) unsafe fn dealloc<F: Future, S: Schedule>(ptr: TaskPtr) {
    // SAFETY: the caller guarantees no reference is left, so we own the box
    // that `Cell::allocate` made; `ptr` is that allocation's pointer.
    let cell = unsafe { Box::from_raw(ptr.as_cell_ptr::<F, S>()) };
    contain(move || drop(cell));
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>`, the caller is its join handle and `dst`
/// points at a valid `Poll<Result<F::Output, TaskError>>`.
pub(crate) unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: TaskPtr,
    dst: *mut (),
    waker: Option<&Waker>,
) {
    // SAFETY: the handle's reference keeps the cell live.
    if !unsafe { can_read_output(ptr, waker) } {
        return;
    }
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: COMPLETE is set and we are the join handle: the output is ours.
    let out = unsafe { take_output(cell) }
        .unwrap_or_else(|| Err(TaskError::invalid_state(cell.header.id())));
    // SAFETY: the caller guarantees `dst` is a valid, initialised
    // `Poll<Result<F::Output, TaskError>>`; assigning drops the old value.
    unsafe { *dst.cast::<Poll<Result<F::Output, TaskError>>>() = Poll::Ready(out) };
}

/// # Safety
/// `ptr` heads a live `Cell<F, S>`; the caller is its join handle and the
/// task is complete (so nobody else touches the stage).
pub(crate) unsafe fn output_ref<F: Future, S: Schedule>(ptr: TaskPtr) -> *const () {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.core.stage.with(|s| {
        // SAFETY: complete, and the output belongs to the caller (the
        // join handle): no concurrent writer.
        match unsafe { (*s).output() } {
            Some(out) => (out as *const Result<F::Output, TaskError>).cast(),
            None => std::ptr::null(),
        }
    })
}

/// Queues `f` on the call_soon queue of the task's runtime (its
/// scheduler's), wherever the caller is.
///
/// # Safety
/// `ptr` heads a live `Cell<F, S>` (the caller holds a reference).
pub(crate) unsafe fn call_soon<F: Future, S: Schedule>(
    ptr: TaskPtr,
    f: Box<dyn FnOnce() + Send + 'static>,
) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.core.scheduler.call_soon(f);
}

/// The join waker protocol (see state.rs): true when the output can be read.
///
/// # Safety
/// The caller is the join handle of the live task `ptr` (its reference
/// keeps the task live).
pub(crate) unsafe fn can_read_output(ptr: TaskPtr, waker: Option<&Waker>) -> bool {
    // SAFETY: the handle's reference keeps the task live for this call.
    let (header, trailer) = unsafe { (ptr.header(), ptr.trailer()) };
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    let Some(waker) = waker else { return false };
    let res = if !snapshot.is_join_waker_set() {
        set_join_waker(header, trailer, waker.clone())
    } else {
        // SAFETY: the caller is the join handle.
        if unsafe { trailer.will_wake(waker) } {
            return false;
        }
        header
            .state
            .unset_join_waker()
            .and_then(|_| set_join_waker(header, trailer, waker.clone()))
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
    trailer: &Trailer,
    waker: Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
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
pub(crate) unsafe fn drop_join_handle<F: Future, S: Schedule>(ptr: TaskPtr) {
    // A waker the handle stored and took back; dropped last (its drop may
    // run any code, even panic), when the handle is done with the cell.
    let mut old_waker = None;
    {
        // SAFETY: the handle's reference keeps the cell live in this
        // block; nothing touches the cell after a step below releases it.
        let cell = unsafe { cell::<F, S>(ptr) };
        let state = &cell.header.state;
        if !state.load().is_join_waker_set() {
            // JOIN_WAKER is clear, and only this handle sets it: the slot
            // is the handle's (and usually empty already). Emptied, the
            // common case (not complete, others hold references) is one
            // step: interest cleared and reference released together.
            // SAFETY: the handle owns the slot while JOIN_WAKER is clear.
            old_waker = unsafe { cell.trailer.take_waker() };
            if state.drop_join_handle_fast() {
                drop(old_waker);
                return;
            }
        }
        let t = state.transition_to_join_handle_dropped();
        if t.drop_output {
            // SAFETY: complete, and the handle gives the output up.
            unsafe { drop_output::<F, S>(ptr) };
        }
        if t.drop_waker {
            // SAFETY: JOIN_WAKER is clear (or the task is complete and the
            // runtime gave the slot back): the handle owns the slot.
            unsafe { cell.trailer.set_waker(None) };
        }
    }
    // SAFETY: we still hold the handle's reference; the `&State` is a
    // temporary that ends with the decrement.
    if unsafe { ptr.header() }.state.ref_dec() {
        // SAFETY: no reference is left.
        unsafe { dealloc::<F, S>(ptr) }
    }
    drop(old_waker);
}
