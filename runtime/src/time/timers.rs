//! One worker's timers: an intrusive `aio_timer::RawWheel` behind a lock,
//! whose entries live inside the `Sleep` futures, and firing.
//!
//! A `Sleep` holds a [`TimerEntry`] (its deadline, list links, waker and
//! state) and registers it, on its first poll, in the wheel of the thread
//! that polls it: a sleeping task allocates nothing for its timer. The wheel
//! is the owner thread's, but a task migrates, so the wheel sits in a
//! [`TimerShared`] behind a mutex: the owner takes it (uncontended) to
//! insert, remove and advance; another thread takes it only to re-register
//! the waker of, or to unlink, a `Sleep` that moved there. An entry is in
//! the wheel iff its state is `REGISTERED`, and the state changes only under
//! that lock, so a `Sleep` may be freed as soon as it sees `IDLE`, `FIRED`
//! or `ORPHANED` (the wheel has let go of it; `ORPHANED`: its wheel retired
//! with it linked, see `TimerShared::retire`). Firing unlinks the entry, takes its waker,
//! then stores `FIRED` (Release) and never touches the entry again; the
//! wakers are woken after the lock is released, since a wake (or dropping
//! a waker) may drop a task and the `Sleep` in it, which takes the lock.
//! Model-checked in `tests/loom_timer.rs`.

use super::clock::Clock;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicBool, AtomicU8, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::stats::ThreadStats;
use crate::task::CompactWaker;
use aio_timer::{LinkId, Links, RawWheel, Store};
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::Waker;
use std::time::Duration;

/// Not in a wheel (never registered, or removed).
const IDLE: u8 = 0;
/// Linked in its owner's wheel.
const REGISTERED: u8 = 1;
/// Fired: unlinked, and its waker taken.
const FIRED: u8 = 2;
/// Its wheel retired with it linked (a `block_on` returned): unlinked, its
/// waker taken and woken; the `Sleep` registers again where it is polled.
const ORPHANED: u8 = 3;

/// One timer, inside the `Sleep` that waits on it (so pinned while
/// registered: the wheel holds its address).
pub(crate) struct TimerEntry {
    /// Deadline and list links; the owner wheel's lock guards them while
    /// the entry is registered.
    links: std::cell::UnsafeCell<Links<EntryPtr>>,
    /// The waker to wake at expiry; the owner wheel's lock guards it while
    /// the entry is registered.
    waker: UnsafeCell<Option<CompactWaker>>,
    /// `IDLE`, `REGISTERED`, `FIRED` or `ORPHANED`; written under the owner
    /// wheel's lock.
    state: AtomicU8,
    /// The `Sleep`'s own state, kept here where it costs no word of its
    /// own: only the `Sleep` that holds the entry touches it (through its
    /// `&mut`), never a wheel.
    sleep: std::cell::Cell<SleepState>,
    _pinned: PhantomPinned,
}

/// Where a `Sleep` is, as the `Sleep` sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SleepState {
    /// `sleep(ZERO)`: yield once, then done.
    YieldOnce,
    /// Not in a wheel yet (or again, after a `reset`).
    Unregistered,
    /// Inserted in `owner`'s wheel; done when seen fired.
    Registered,
    /// Elapsed, and seen so by a poll.
    Done,
}

// SAFETY: the cells are only touched under the owner wheel's lock while the
// entry is registered, and otherwise only by `TimerShared::insert` (through
// `&TimerEntry`), which its contract makes the entry's single user until the
// entry is linked: exclusivity comes from the `Sleep`'s state machine (one
// `Sleep` owns the entry and registers it in at most one wheel at a time),
// not from the reference types.
unsafe impl Send for TimerEntry {}
// SAFETY: as above: every shared access to the cells holds the wheel lock.
// The `sleep` cell is a field no wheel touches: only the owning `Sleep`
// writes it, through its `&mut` (one thread at a time). That `&mut` may
// exist while a wheel on another thread holds a `&TimerEntry` to the same
// entry: allowed because `TimerEntry` is `!Unpin` (`PhantomPinned`), for
// which a `&mut` asserts no uniqueness (no `noalias`; Stacked Borrows
// treats it as shared read-write), and the two touch disjoint fields, the
// wheel's side only inside cells. The pinned `Sleep` already relies on the
// same (`get_unchecked_mut`).
unsafe impl Sync for TimerEntry {}

impl Default for TimerEntry {
    fn default() -> TimerEntry {
        TimerEntry {
            links: std::cell::UnsafeCell::new(Links::new(0)),
            waker: UnsafeCell::new(None),
            state: AtomicU8::new(IDLE),
            sleep: std::cell::Cell::new(SleepState::Unregistered),
            _pinned: PhantomPinned,
        }
    }
}

impl TimerEntry {
    /// Whether the entry fired (and was not registered again since).
    pub(crate) fn is_fired(&self) -> bool {
        self.state.load(Acquire) == FIRED
    }

    /// Whether the entry is in a wheel.
    pub(crate) fn is_registered(&self) -> bool {
        self.state.load(Acquire) == REGISTERED
    }

    /// The owning `Sleep`'s state.
    pub(crate) fn sleep_state(&self) -> SleepState {
        self.sleep.get()
    }

    /// Sets the owning `Sleep`'s state; `&mut` is the `Sleep`'s own access.
    pub(crate) fn set_sleep_state(&mut self, s: SleepState) {
        self.sleep.set(s);
    }

    fn ptr(&self) -> EntryPtr {
        EntryPtr(self)
    }

    /// Writes the entry's waker cell as a reuse of its memory would: loom
    /// reports it if a wheel may still touch the entry.
    #[cfg(all(test, loom))]
    pub(crate) fn reuse_for_test(&self) {
        assert!(!self.is_registered());
        // SAFETY: not registered: no wheel reaches the cell (the claim the
        // model checks).
        self.waker.with_mut(|w| unsafe { *w = None });
    }
}

impl fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerEntry")
            .field("state", &self.state.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// The address of a registered entry: the wheel's id for it.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct EntryPtr(*const TimerEntry);

// SAFETY: an `EntryPtr` is only dereferenced under the wheel lock, while its
// entry is registered (so alive and pinned); `TimerEntry` is `Sync`.
unsafe impl Send for EntryPtr {}

impl LinkId for EntryPtr {
    const NIL: EntryPtr = EntryPtr(std::ptr::null());
}

/// The [`Store`] of a wheel of entries: ids are the entries' addresses.
/// Made only by code holding the wheel's lock.
struct Entries(());

impl Store for Entries {
    type Id = EntryPtr;

    fn links(&self, id: EntryPtr) -> &Links<EntryPtr> {
        // SAFETY: the wheel only passes ids of registered entries: alive and
        // pinned until they are unlinked under the lock, which this store's
        // maker holds; the links are touched by no one else meanwhile. This
        // trusts `aio-timer`'s lists to be right (its own code has no
        // unsafe, but here a wrong link would be a use after free): its
        // invariant checks and randomized tests are what back that.
        unsafe { &*(*id.0).links.get() }
    }

    fn links_mut(&mut self, id: EntryPtr) -> &mut Links<EntryPtr> {
        // SAFETY: as in `links`; `&mut self` (one store per lock hold)
        // keeps this the only reference to these links.
        unsafe { &mut *(*id.0).links.get() }
    }
}

/// What [`TimerShared::update_waker`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Registered, with the new waker.
    Registered,
    /// Fired: the sleep is over.
    Fired,
    /// Its wheel retired: register it where it is polled.
    Orphaned,
}

/// A worker's wheel, shared with the threads its `Sleep`s migrate to.
pub(crate) struct TimerShared {
    wheel: Mutex<RawWheel<EntryPtr>>,
    /// The thread that drove this wheel stopped (a `block_on`'s wheel, when
    /// the call returned): nothing fires its entries any more, and a
    /// `Sleep` polled elsewhere moves to that thread's wheel.
    retired: AtomicBool,
}

impl fmt::Debug for TimerShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerShared").finish_non_exhaustive()
    }
}

impl TimerShared {
    fn new() -> TimerShared {
        TimerShared {
            wheel: Mutex::new(RawWheel::new()),
            retired: AtomicBool::new(false),
        }
    }

    /// Whether the thread that drove this wheel stopped.
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Acquire)
    }

    /// Registers the idle `entry` to fire at `tick`, waking `waker`.
    /// Returns the number of timers in the wheel.
    ///
    /// # Safety
    /// The entry is in no wheel, and nothing else touches it during this
    /// call. Its memory stays valid and in place until it has been
    /// unlinked: by [`remove`](Self::remove) on this wheel, or seen fired
    /// (`FIRED`); the caller must do one of these before the entry is
    /// dropped (`TimerEntry` has no unlinking `Drop`).
    pub(crate) unsafe fn insert(&self, entry: Pin<&TimerEntry>, tick: u64, waker: &Waker) -> usize {
        let entry = entry.get_ref();
        debug_assert!(!entry.is_registered());
        let waker = CompactWaker::new(waker.clone());
        let mut wheel = self.wheel.lock();
        // SAFETY: the entry is in no wheel and ours alone (the contract);
        // the waker cell is empty (taken by the last remove or fire), so
        // nothing is dropped under the lock.
        unsafe {
            (*entry.links.get()).set_deadline(tick);
            entry.waker.with_mut(|w| {
                debug_assert!((*w).is_none());
                *w = Some(waker)
            });
        }
        wheel.insert(&mut Entries(()), entry.ptr());
        entry.state.store(REGISTERED, Release);
        wheel.len()
    }

    /// Replaces the waker of `entry` (registered in this wheel, or fired,
    /// or orphaned).
    ///
    /// # Safety
    /// `entry` was last registered in this wheel (by `insert`), and is not
    /// being inserted or removed concurrently.
    pub(crate) unsafe fn update_waker(&self, entry: &TimerEntry, waker: &Waker) -> Waiting {
        if entry.is_fired() {
            return Waiting::Fired;
        }
        let old = {
            let _wheel = self.wheel.lock();
            match entry.state.load(Relaxed) {
                FIRED => return Waiting::Fired,
                // Decided under the lock that `retire` takes: a waker
                // stored below is woken by it.
                ORPHANED => return Waiting::Orphaned,
                _ => {}
            }
            // SAFETY: registered, and we hold the lock that guards the waker.
            entry.waker.with_mut(|w| unsafe {
                match &*w {
                    Some(old) if old.will_wake(waker) => None,
                    _ => (*w).replace(CompactWaker::new(waker.clone())),
                }
            })
        };
        // Dropped outside the lock: it may be the last reference to a task.
        drop(old);
        Waiting::Registered
    }

    /// Takes `entry` back from this retired wheel to register it elsewhere:
    /// `false` if it fired before the wheel retired (the sleep is over).
    ///
    /// # Safety
    /// As [`remove`](Self::remove).
    pub(crate) unsafe fn take_back(&self, entry: &TimerEntry) -> bool {
        // SAFETY: forwarded from the caller.
        if unsafe { self.remove(entry) }.is_some() {
            return true;
        }
        // Not linked: fired, or orphaned by `retire` (whose lock `remove`
        // waited for, if it was running).
        !entry.is_fired()
    }

    /// The thread that drove this wheel stopped: nothing fires its entries
    /// any more. Each one still linked is unlinked and marked `ORPHANED`,
    /// and its waker woken, so that its `Sleep`, polled again, registers
    /// on the wheel of the thread that polls it (a task may wait on a
    /// `Sleep` that a `block_on` registered before handing it over).
    fn retire(&self) {
        let mut orphans = Vec::new();
        {
            let mut wheel = self.wheel.lock();
            self.retired.store(true, Release);
            wheel.advance(&mut Entries(()), u64::MAX, |_, id| {
                // SAFETY: as in `advance_locked`: unlinked, and its `Sleep`
                // cannot free it before it sees the state stored last.
                let entry = unsafe { &*id.0 };
                // SAFETY: as above; the lock guards the waker.
                if let Some(w) = entry.waker.with_mut(|w| unsafe { (*w).take() }) {
                    orphans.push(w);
                }
                entry.state.store(ORPHANED, Release);
            });
        }
        for w in orphans {
            w.wake();
        }
    }

    /// Unlinks `entry` if it is still registered in this wheel, and
    /// returns the number of timers left then. After this the entry is not
    /// in any wheel and may be freed.
    ///
    /// # Safety
    /// If `entry` is registered, it is in this wheel; it is not being
    /// inserted concurrently.
    pub(crate) unsafe fn remove(&self, entry: &TimerEntry) -> Option<usize> {
        if !entry.is_registered() {
            return None;
        }
        let (waker, left) = {
            let mut wheel = self.wheel.lock();
            if entry.state.load(Relaxed) != REGISTERED {
                return None; // fired meanwhile
            }
            wheel.remove(&mut Entries(()), entry.ptr());
            entry.state.store(IDLE, Relaxed);
            // SAFETY: unlinked under the lock: ours alone now.
            let waker = entry.waker.with_mut(|w| unsafe { (*w).take() });
            (waker, wheel.len())
        };
        // Dropped outside the lock: it may be the last reference to a task.
        drop(waker);
        Some(left)
    }

    /// Fires what is due into `due` (the wakers, to wake after the lock is
    /// released) in one hold of the lock; returns the number of timers
    /// left. `now` (the clock's tick) is read only with a timer pending: a
    /// server's workers park and wake many times with none.
    fn fire_due(&self, now: impl FnOnce() -> u64, due: &mut Vec<CompactWaker>) -> usize {
        let mut wheel = self.wheel.lock();
        if let Some(next) = wheel.next_expiration() {
            let now = now();
            if next <= now {
                Self::advance_locked(&mut wheel, now, due);
            }
        }
        wheel.len()
    }

    /// Moves the (empty) wheel to `tick`, the clock's when it is made.
    fn start_at(&self, tick: u64) {
        Self::advance_locked(&mut self.wheel.lock(), tick, &mut Vec::new());
    }

    /// Advances the locked `wheel` to `now`, firing what is due into `due`.
    fn advance_locked(wheel: &mut RawWheel<EntryPtr>, now: u64, due: &mut Vec<CompactWaker>) {
        wheel.advance(&mut Entries(()), now, |_, id| {
            // SAFETY: `id` was registered (alive, pinned) and is now
            // unlinked; until `FIRED` is stored its `Sleep` cannot free it
            // (a remove waits for the lock the caller holds).
            let entry = unsafe { &*id.0 };
            // SAFETY: as above; the lock guards the waker.
            if let Some(w) = entry.waker.with_mut(|w| unsafe { (*w).take() }) {
                due.push(w);
            }
            // The last touch: from here the `Sleep` may free it.
            entry.state.store(FIRED, Release);
        });
    }

    fn next_expiration(&self) -> Option<u64> {
        self.wheel.lock().next_expiration()
    }

    /// Timers in the wheel.
    #[cfg(all(test, loom))]
    pub(crate) fn len(&self) -> usize {
        self.wheel.lock().len()
    }
}

/// One thread's wheel.
pub(crate) struct Timers {
    /// The wheel, shared with the threads its `Sleep`s migrate to.
    pub(crate) shared: Arc<TimerShared>,
    /// The wakers a pass found due, kept between passes with its capacity:
    /// with thousands of timers due per tick, growing a fresh vector each
    /// pass made the allocator consolidate its free lists.
    due: RefCell<Vec<CompactWaker>>,
    clock: Arc<Clock>,
    /// The owning thread's counters (`timers_pending`).
    stats: Arc<ThreadStats>,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("next_expiration", &self.shared.next_expiration())
            .finish()
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        // Entries still linked (a `Sleep` moved out of a `block_on`) are
        // never fired here again: they are woken to register elsewhere.
        self.shared.retire();
    }
}

impl Timers {
    /// `stats`: the counters of the thread that owns the wheel.
    pub(crate) fn new(clock: Arc<Clock>, stats: Arc<ThreadStats>) -> Timers {
        let shared = TimerShared::new();
        // Start the wheel at the clock's current tick.
        shared.start_at(clock.now_tick());
        Timers {
            shared: Arc::new(shared),
            due: RefCell::new(Vec::new()),
            clock,
            stats,
        }
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Registers `entry` in this thread's wheel to fire at `tick`.
    ///
    /// # Safety
    /// As for [`TimerShared::insert`].
    pub(crate) unsafe fn insert(&self, entry: Pin<&TimerEntry>, tick: u64, waker: &Waker) {
        // SAFETY: the caller's contract is `TimerShared::insert`'s.
        let n = unsafe { self.shared.insert(entry, tick, waker) };
        self.stats.timers_pending.set(n as u64);
    }

    /// Records that a timer of this wheel was removed, `left` remaining
    /// (from the owner thread: the counter is its own).
    pub(crate) fn removed(&self, left: usize) {
        self.stats.timers_pending.set(left as u64);
    }

    /// Advances to now and fires what is due. Returns how many fired.
    pub(crate) fn process(&self) -> usize {
        // Taken out for the pass (a wake below may reach these timers
        // again), put back, empty, with its capacity.
        let mut due = std::mem::take(&mut *self.due.borrow_mut());
        let left = self.shared.fire_due(|| self.clock.now_tick(), &mut due);
        self.stats.timers_pending.set(left as u64);
        let n = due.len();
        for w in due.drain(..) {
            w.wake();
        }
        let mut slot = self.due.borrow_mut();
        if slot.capacity() < due.capacity() {
            *slot = due;
        }
        n
    }

    /// How long a park may last before the next timer is due.
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        let next = self.shared.next_expiration()?;
        let at = self.clock.tick_instant(next);
        Some(at.saturating_duration_since(self.clock.now()))
    }

    /// The instant of the next timer (for auto-advancing a paused clock).
    pub(crate) fn next_instant(&self) -> Option<std::time::Instant> {
        let next = self.shared.next_expiration()?;
        Some(self.clock.tick_instant(next))
    }
}
