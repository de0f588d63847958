//! One worker's timers: an `aio_timer::Wheel`, its mailbox, and firing.
//!
//! A `Sleep` registers on its first poll in the wheel of the thread that
//! polls it. Only that thread touches the wheel. A `Sleep` dropped on
//! another thread (its task migrated) posts its key to the owner's mailbox;
//! the owner removes it on its next timer pass, and the key's generation
//! makes a stale key harmless. Firing sets the entry's `fired` flag, then
//! wakes its waker; a poll that sees `fired` is ready (model-checked in
//! `tests/loom_timer.rs`).

use super::clock::Clock;
use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::stats::ThreadStats;
use aio_timer::{Key, Wheel};
use std::cell::RefCell;
use std::fmt;
use std::task::Waker;
use std::time::Duration;

/// The shared part of one timer: fired flag and waker.
#[derive(Debug, Default)]
pub(crate) struct TimerEntry {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl TimerEntry {
    pub(crate) fn is_fired(&self) -> bool {
        self.fired.load(Acquire)
    }

    /// Stores the waker to wake at expiry. Returns true if it already fired.
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let mut slot = self.waker.lock();
        if self.fired.load(Acquire) {
            return true;
        }
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
        false
    }

    pub(crate) fn fire(&self) {
        let waker = {
            let mut slot = self.waker.lock();
            self.fired.store(true, Release);
            slot.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Where a registered timer lives: for cancels from other threads.
#[derive(Debug, Default)]
pub(crate) struct TimerOwner {
    cancels: Mutex<Vec<Key>>,
    has_cancels: AtomicBool,
}

impl TimerOwner {
    /// Posts a cancel for the owner to apply on its next pass.
    pub(crate) fn post_cancel(&self, key: Key) {
        self.cancels.lock().push(key);
        self.has_cancels.store(true, Release);
    }
}

/// One thread's wheel.
pub(crate) struct Timers {
    wheel: RefCell<Wheel<Arc<TimerEntry>>>,
    /// The entries a pass found due, kept between passes with its
    /// capacity: with thousands of timers due per tick, growing a fresh
    /// vector each pass made the allocator consolidate its free lists
    /// (3 % of the CPU of 100k concurrent sleeps).
    due: RefCell<Vec<Arc<TimerEntry>>>,
    pub(crate) owner: Arc<TimerOwner>,
    clock: Arc<Clock>,
    /// The owning thread's counters (`timers_pending`).
    stats: Arc<ThreadStats>,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("wheel", &self.wheel)
            .finish()
    }
}

impl Timers {
    /// `stats`: the counters of the thread that owns the wheel.
    pub(crate) fn new(clock: Arc<Clock>, stats: Arc<ThreadStats>) -> Timers {
        let mut wheel = Wheel::new();
        // Start the wheel at the clock's current tick.
        wheel.advance(clock.now_tick(), |_, _: Arc<TimerEntry>| {});
        Timers {
            wheel: RefCell::new(wheel),
            due: RefCell::new(Vec::new()),
            owner: Arc::new(TimerOwner::default()),
            clock,
            stats,
        }
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Registers `entry` to fire at `deadline_tick`.
    pub(crate) fn insert(&self, deadline_tick: u64, entry: Arc<TimerEntry>) -> Key {
        let mut wheel = self.wheel.borrow_mut();
        let key = wheel.insert(deadline_tick, entry);
        self.stats.timers_pending.set(wheel.len() as u64);
        key
    }

    /// Removes a timer of this wheel (from its owner thread).
    pub(crate) fn remove(&self, key: Key) {
        match self.wheel.try_borrow_mut() {
            Ok(mut w) => {
                drop(w.remove(key));
                self.stats.timers_pending.set(w.len() as u64);
            }
            // Dropped while this wheel is firing: defer to the mailbox.
            Err(_) => self.owner.post_cancel(key),
        }
    }

    /// Applies remote cancels, advances to now and fires what is due.
    /// Returns how many fired.
    pub(crate) fn process(&self) -> usize {
        // Taken out for the pass (a wake below may reach these timers
        // again), put back, empty, with its capacity.
        let mut due = std::mem::take(&mut *self.due.borrow_mut());
        {
            let mut wheel = self.wheel.borrow_mut();
            if self.owner.has_cancels.swap(false, Acquire) {
                let keys = std::mem::take(&mut *self.owner.cancels.lock());
                for k in keys {
                    drop(wheel.remove(k));
                }
            }
            // The clock is read only with a timer pending (a server's
            // workers park and wake many times with none).
            if let Some(next) = wheel.next_expiration() {
                let now = self.clock.now_tick();
                if next <= now {
                    wheel.advance(now, |_, e| due.push(e));
                }
            }
            self.stats.timers_pending.set(wheel.len() as u64);
        }
        let n = due.len();
        // Wake outside the borrow: a wake may drop a task, and its Sleep.
        for e in due.drain(..) {
            e.fire();
        }
        let mut slot = self.due.borrow_mut();
        if slot.capacity() < due.capacity() {
            *slot = due;
        }
        n
    }

    /// How long a park may last before the next timer is due.
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        let next = self.wheel.borrow().next_expiration()?;
        let at = self.clock.tick_instant(next);
        Some(at.saturating_duration_since(self.clock.now()))
    }

    /// The instant of the next timer (for auto-advancing a paused clock).
    pub(crate) fn next_instant(&self) -> Option<std::time::Instant> {
        let next = self.wheel.borrow().next_expiration()?;
        Some(self.clock.tick_instant(next))
    }
}
