//! The task state word: every bit, and every transition as one function.
//!
//! A task's whole lifecycle is one `AtomicUsize`. The low 7 bits are flags,
//! the next 25 count references; on 64-bit targets the high 32 hold the
//! task's spawn tick (for the dump's `age()`), set at spawn and never
//! changed: every transition keeps them. A reference taken when the count
//! is already 2^24 aborts the process, as `Arc` does at `isize::MAX` (the other half
//! of the 25 bits is headroom for threads racing past the check, so the
//! count never carries into the tick). Callers are `raw.rs` (the harness that polls,
//! completes and cancels), `waker.rs` and `handle.rs`; nothing else touches
//! the word.
//!
//! Invariants:
//! - `RUNNING` works as a lock around the future/output stage: only the
//!   thread that set it may touch the stage, until it clears it or sets
//!   `COMPLETE`.
//! - Once `COMPLETE` is set the stage holds the output and `RUNNING` is clear
//!   for good; the output belongs to the join handle (`JOIN_INTEREST`), or to
//!   the runtime if the handle is gone.
//! - `NOTIFIED` set while idle means exactly one `Notified` exists and holds a
//!   reference; set while running it means "poll again".
//! - `CANCELLED` is sticky until completion; whoever next holds `RUNNING`
//!   drops the future. Completion keeps it only if the outcome is a
//!   cancellation (a poll that panicked or failed after a cancel came ends
//!   failed, not cancelled).
//! - `JOIN_WAKER` set means the runtime may read the join waker; the handle
//!   may write it only while it is clear.
//! - `CALLBACKS` is set only before `COMPLETE`: completion takes the extras'
//!   lock (and the callbacks) iff its snapshot has it.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::fmt;

/// The future is being polled (or dropped); a lock on the stage.
pub(crate) const RUNNING: usize = 0b00_0001;
/// The future is gone and the output (or error) is stored.
pub(crate) const COMPLETE: usize = 0b00_0010;
/// The task must be polled again; while idle, a `Notified` exists.
pub(crate) const NOTIFIED: usize = 0b00_0100;
/// The task was cancelled; the next poll drops the future instead.
pub(crate) const CANCELLED: usize = 0b00_1000;
/// A `Task<T>` handle still exists and wants the output.
pub(crate) const JOIN_INTEREST: usize = 0b01_0000;
/// The join waker slot is set and owned by the runtime for reading.
pub(crate) const JOIN_WAKER: usize = 0b10_0000;
/// Done callbacks may be in the extras: completion must take their lock
/// (set before completion only, so a task without callbacks completes
/// without touching the lock).
pub(crate) const CALLBACKS: usize = 0b100_0000;
/// Mask of all flag bits.
const FLAGS: usize = 0b111_1111;
/// One reference, just above the flags.
pub(crate) const REF_ONE: usize = FLAGS + 1;
/// Bits of the reference count.
const REF_BITS: u32 = 25;
/// Mask of the reference count.
const REF_MASK: usize = ((1 << REF_BITS) - 1) * REF_ONE;
/// A count at or above this aborts: half the count's range is headroom.
const REF_LIMIT: usize = 1 << (REF_BITS - 1);
/// Where the spawn tick starts (64-bit targets).
#[cfg(target_pointer_width = "64")]
const TICK_SHIFT: u32 = 32;

/// Too many references to one task: the count would soon carry into the
/// bits above it, so the process stops here (`Arc` aborts the same way).
#[cold]
#[inline(never)]
fn too_many_references() -> ! {
    use std::io::Write;
    // Not `eprintln!`: it panics when stderr fails, and this must not unwind.
    let _ = writeln!(
        std::io::stderr(),
        "aio: a task's reference count reached 2^24 (leaked wakers?); aborting"
    );
    std::process::abort()
}

/// The atomic state word.
pub(crate) struct State(AtomicUsize);

/// A copy of the state word.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

/// What the poller must do after `transition_to_running`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future (or drop it if `cancelled`).
    Run { cancelled: bool },
    /// Someone else runs it or it is done; the notification's ref was released.
    Skip,
    /// As `Skip`, and that was the last reference: deallocate.
    Dealloc,
}

/// What the poller must do after `transition_to_idle`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Idle now; the notification's reference was released.
    Ok,
    /// Idle, but woken during the poll: reschedule (the ref is reused).
    OkNotified,
    /// Idle and that was the last reference: deallocate.
    OkDealloc,
    /// Cancelled during the poll: still running; drop the future now.
    Cancelled,
}

/// What a waker must do after notifying.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToNotified {
    /// Nothing: already notified, running, or complete.
    DoNothing,
    /// Push a `Notified` (which owns one reference) to the scheduler.
    Submit,
    /// Nothing, and the waker's reference was the last one: deallocate.
    Dealloc,
}

/// What `cancel()` decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToCancelled {
    /// Already complete: `cancel()` returns false.
    AlreadyDone,
    /// Marked; a poll is already scheduled or running.
    Marked,
    /// Marked and a new `Notified` (with a new reference) must be scheduled.
    Submit,
}

/// What the join handle must clean up when it is dropped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct JoinDropped {
    pub(crate) drop_output: bool,
    pub(crate) drop_waker: bool,
}

impl State {
    /// A new task: referenced by `refs` owners, notified once (its first
    /// schedule) and with a join handle, spawned at tick `spawn_tick` of
    /// its runtime's clock (kept on 64-bit targets only; see
    /// `Header::spawn_tick`).
    pub(crate) fn new(refs: usize, spawn_tick: u32) -> State {
        debug_assert!(refs < REF_LIMIT);
        #[cfg(target_pointer_width = "64")]
        let tick = (spawn_tick as usize) << TICK_SHIFT;
        #[cfg(not(target_pointer_width = "64"))]
        let tick = {
            let _ = spawn_tick;
            0
        };
        State(AtomicUsize::new(
            tick | (refs * REF_ONE) | NOTIFIED | JOIN_INTEREST,
        ))
    }

    /// The spawn tick given to `new`.
    #[cfg(target_pointer_width = "64")]
    pub(crate) fn spawn_tick(&self) -> u32 {
        (self.0.load(Relaxed) >> TICK_SHIFT) as u32
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    fn fetch_update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (out, next) = f(curr);
            let Some(next) = next else { return out };
            match self.0.compare_exchange(curr.0, next.0, AcqRel, Acquire) {
                Ok(_) => return out,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// A done callback is about to be added: marks the task so that its
    /// completion looks for callbacks. False if it is already complete
    /// (the callback then runs at once).
    pub(crate) fn mark_callbacks(&self) -> bool {
        self.fetch_update(|mut s| {
            if s.is_complete() {
                (false, None)
            } else if s.0 & CALLBACKS != 0 {
                (true, None)
            } else {
                s.0 |= CALLBACKS;
                (true, Some(s))
            }
        })
    }

    /// A scheduler took a `Notified` out of a queue and wants to poll.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_notified());
            if s.is_running() || s.is_complete() {
                // The notification's reference is released.
                s.ref_dec();
                let action = if s.ref_count() == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Skip
                };
                return (action, Some(s));
            }
            let cancelled = s.is_cancelled();
            s.0 = (s.0 | RUNNING) & !NOTIFIED;
            (ToRunning::Run { cancelled }, Some(s))
        })
    }

    /// A poll returned `Pending`. `notify`: the task yielded, so it is
    /// notified again in the same step (its reference kept for the new
    /// `Notified`, as for a wake during the poll).
    pub(crate) fn transition_to_idle(&self, notify: bool) -> ToIdle {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                return (ToIdle::Cancelled, None);
            }
            s.0 &= !RUNNING;
            if notify {
                s.0 |= NOTIFIED;
            }
            let action = if s.is_notified() {
                // Keep the reference for the new `Notified`.
                ToIdle::OkNotified
            } else {
                s.ref_dec();
                if s.ref_count() == 0 {
                    ToIdle::OkDealloc
                } else {
                    ToIdle::Ok
                }
            };
            (action, Some(s))
        })
    }

    /// The output is stored: clear RUNNING, set COMPLETE. `before_commit` is
    /// called with every snapshot tried, so the caller can replace the
    /// output with "cancelled" when a cancel raced in (cancel wins); it
    /// returns whether the outcome committed is a cancellation. If not, a
    /// CANCELLED mark goes (a cancel that came during the poll in which the
    /// task failed or panicked: it ends failed, not cancelled).
    pub(crate) fn transition_to_complete(
        &self,
        mut before_commit: impl FnMut(Snapshot) -> bool,
    ) -> Snapshot {
        self.fetch_update(|s| {
            debug_assert!(s.is_running() && !s.is_complete());
            let mut next = (s.0 & !RUNNING) | COMPLETE;
            if !before_commit(s) {
                next &= !CANCELLED;
            }
            let next = Snapshot(next);
            (next, Some(next))
        })
    }

    /// Wake by value: the waker's reference is consumed.
    pub(crate) fn transition_to_notified_by_val(&self) -> ToNotified {
        self.fetch_update(|mut s| {
            if s.is_running() {
                s.0 |= NOTIFIED;
                s.ref_dec();
                debug_assert!(s.ref_count() > 0, "the poller holds a reference");
                (ToNotified::DoNothing, Some(s))
            } else if s.is_complete() || s.is_notified() {
                s.ref_dec();
                if s.ref_count() == 0 {
                    (ToNotified::Dealloc, Some(s))
                } else {
                    (ToNotified::DoNothing, Some(s))
                }
            } else {
                // The waker's reference moves into the `Notified`.
                s.0 |= NOTIFIED;
                (ToNotified::Submit, Some(s))
            }
        })
    }

    /// Wake by reference: a new reference is taken for the `Notified`.
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotified {
        self.fetch_update(|mut s| {
            if s.is_complete() || s.is_notified() {
                (ToNotified::DoNothing, None)
            } else if s.is_running() {
                s.0 |= NOTIFIED;
                (ToNotified::DoNothing, Some(s))
            } else {
                s.0 |= NOTIFIED;
                s.ref_inc();
                (ToNotified::Submit, Some(s))
            }
        })
    }

    /// `Task::cancel()`.
    pub(crate) fn transition_to_cancelled(&self) -> ToCancelled {
        self.fetch_update(|mut s| {
            if s.is_complete() {
                (ToCancelled::AlreadyDone, None)
            } else if s.is_running() || s.is_notified() {
                s.0 |= CANCELLED;
                (ToCancelled::Marked, Some(s))
            } else {
                s.0 |= CANCELLED | NOTIFIED;
                s.ref_inc();
                (ToCancelled::Submit, Some(s))
            }
        })
    }

    /// The join handle stores a waker: set JOIN_WAKER unless complete.
    /// `Err` carries the snapshot that showed completion.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            let next = Snapshot(s.0 | JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// The join handle wants to replace its waker: clear JOIN_WAKER unless
    /// complete (then the runtime may be reading it).
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            let next = Snapshot(s.0 & !JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// The runtime has woken the joiner after completion and gives the
    /// waker slot back.
    pub(crate) fn unset_join_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    /// The join handle is dropped before its task completes, holding no
    /// join waker, and others hold references: clears `JOIN_INTEREST` and
    /// releases the handle's reference in one step (a detached spawn's
    /// usual case). False, changing nothing: take the slow path
    /// (`transition_to_join_handle_dropped`, then `ref_dec`).
    pub(crate) fn drop_join_handle_fast(&self) -> bool {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_join_interested());
            if s.is_complete() || s.is_join_waker_set() || s.ref_count() < 2 {
                return (false, None);
            }
            s.0 &= !JOIN_INTEREST;
            s.ref_dec();
            (true, Some(s))
        })
    }

    /// The join handle is dropped.
    pub(crate) fn transition_to_join_handle_dropped(&self) -> JoinDropped {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested());
            let mut next = s.0 & !JOIN_INTEREST;
            if !s.is_complete() {
                // The runtime will not read the waker any more.
                next &= !JOIN_WAKER;
            }
            let next = Snapshot(next);
            let out = JoinDropped {
                drop_output: s.is_complete(),
                drop_waker: !next.is_join_waker_set(),
            };
            (out, Some(next))
        })
    }

    pub(crate) fn ref_inc(&self) {
        // Relaxed is enough: a new reference is made from an existing one.
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        if Snapshot(prev).ref_count() >= REF_LIMIT {
            too_many_references();
        }
    }

    /// Returns true if that was the last reference.
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_sub(1)
    }

    /// Drops `n` references; true if none are left.
    pub(crate) fn ref_sub(&self, n: usize) -> bool {
        let prev = Snapshot(self.0.fetch_sub(n * REF_ONE, AcqRel));
        assert!(prev.ref_count() >= n, "task reference count underflow");
        prev.ref_count() == n
    }
}

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn has_callbacks(self) -> bool {
        self.0 & CALLBACKS != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        (self.0 & REF_MASK) / REF_ONE
    }
    fn ref_inc(&mut self) {
        if self.ref_count() >= REF_LIMIT {
            too_many_references();
        }
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn new_task_runs_then_idles_and_releases_the_notification() {
        let s = State::new(2, 0);
        assert_eq!(
            s.transition_to_running(),
            ToRunning::Run { cancelled: false }
        );
        assert_eq!(s.transition_to_idle(false), ToIdle::Ok);
        assert_eq!(s.load().ref_count(), 1);
    }

    #[test]
    fn wake_while_running_reschedules_at_idle() {
        let s = State::new(2, 0);
        s.transition_to_running();
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_idle(false), ToIdle::OkNotified);
        assert_eq!(s.load().ref_count(), 2);
    }

    #[test]
    fn a_yield_notifies_in_the_idle_step_and_keeps_the_reference() {
        let s = State::new(2, 0);
        s.transition_to_running();
        assert_eq!(s.transition_to_idle(true), ToIdle::OkNotified);
        let now = s.load();
        assert!(now.is_notified() && !now.is_running());
        assert_eq!(now.ref_count(), 2);
        // A wake of the deferred task adds nothing.
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        // A cancel of a yielding task still wins.
        s.transition_to_running();
        s.transition_to_cancelled();
        assert_eq!(s.transition_to_idle(true), ToIdle::Cancelled);
    }

    #[test]
    fn cancel_while_running_is_seen_at_idle() {
        let s = State::new(2, 0);
        s.transition_to_running();
        assert_eq!(s.transition_to_cancelled(), ToCancelled::Marked);
        assert_eq!(s.transition_to_idle(false), ToIdle::Cancelled);
    }

    #[test]
    fn cancel_when_idle_submits_and_after_complete_refuses() {
        let s = State::new(2, 0);
        s.transition_to_running();
        s.transition_to_idle(false);
        assert_eq!(s.transition_to_cancelled(), ToCancelled::Submit);
        assert_eq!(
            s.transition_to_running(),
            ToRunning::Run { cancelled: true }
        );
        let done = s.transition_to_complete(|s| s.is_cancelled());
        assert!(done.is_complete() && !done.is_running());
        assert_eq!(s.transition_to_cancelled(), ToCancelled::AlreadyDone);
    }

    #[test]
    fn wake_by_val_on_complete_task_releases_the_waker_ref() {
        let s = State::new(1, 0);
        s.transition_to_running();
        s.ref_inc(); // a waker
        s.transition_to_complete(|s| s.is_cancelled());
        assert_eq!(s.transition_to_notified_by_val(), ToNotified::DoNothing);
        assert!(s.ref_dec());
    }

    #[test]
    fn join_waker_cannot_be_set_after_complete() {
        let s = State::new(1, 0);
        s.transition_to_running();
        s.transition_to_complete(|s| s.is_cancelled());
        assert!(s.set_join_waker().is_err());
        let d = s.transition_to_join_handle_dropped();
        assert_eq!(
            d,
            JoinDropped {
                drop_output: true,
                drop_waker: true
            }
        );
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_spawn_tick_survives_every_transition_and_many_references() {
        let tick = u32::MAX - 5; // all high bits set: a borrow or carry would show
        let s = State::new(2, tick);
        assert_eq!(s.load().ref_count(), 2);
        s.transition_to_running();
        for _ in 0..1000 {
            s.ref_inc();
        }
        assert_eq!(s.load().ref_count(), 1002);
        assert!(!s.ref_sub(1000));
        s.mark_callbacks();
        assert_eq!(s.transition_to_cancelled(), ToCancelled::Marked);
        assert_eq!(s.transition_to_idle(false), ToIdle::Cancelled);
        assert!(s.set_join_waker().is_ok());
        s.transition_to_complete(|s| s.is_cancelled());
        s.unset_join_waker_after_complete();
        s.transition_to_join_handle_dropped();
        assert_eq!(s.load().ref_count(), 2);
        assert_eq!(s.spawn_tick(), tick);
        assert!(!s.ref_dec());
        assert!(s.ref_dec(), "the count reaches zero in its own bits");
        assert_eq!(s.spawn_tick(), tick);
    }

    #[test]
    fn a_handle_dropped_early_takes_one_step_unless_it_must_clean_up() {
        let s = State::new(3, 0);
        assert!(s.drop_join_handle_fast());
        let now = s.load();
        assert!(!now.is_join_interested() && now.is_notified());
        assert_eq!(now.ref_count(), 2);
        // A stored join waker, completion, or the last reference: slow path.
        let s = State::new(2, 0);
        assert!(s.set_join_waker().is_ok());
        assert!(!s.drop_join_handle_fast());
        let s = State::new(2, 0);
        s.transition_to_running();
        s.transition_to_complete(|s| s.is_cancelled());
        assert!(!s.drop_join_handle_fast());
        assert!(s.load().is_join_interested(), "unchanged");
        let s = State::new(1, 0);
        assert!(!s.drop_join_handle_fast());
        assert_eq!(s.load().ref_count(), 1);
    }
}
