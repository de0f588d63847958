//! Readiness of one fd under the epoll driver, and the tasks waiting on it.
//!
//! The epoll driver runs operations readiness-based: an op tries its
//! non-blocking syscall; on `EAGAIN` it waits until the fd's epoll
//! registration (edge-triggered, see `driver/epoll.rs`) reports the fd
//! ready in the op's direction, then tries again. This file is the state
//! the two sides share: a readiness word the driver sets and ops clear,
//! and the list of waiting ops' wakers.
//!
//! # The protocol (model-checked in `tests/loom_ready.rs`)
//!
//! The readiness word holds direction bits and two ticks, one per
//! direction: the driver increments the read tick with every event that
//! concerns reads (readable, read side closed, error) and the write tick
//! with every event that concerns writes, so that the `EPOLLOUT` edges a
//! busy connection gets after each send do not spoil its reads' clears.
//!
//! - An op loads the word (a *snapshot*), then tries its syscall.
//! - On `EAGAIN` it clears its direction's bit **only if that direction's
//!   tick is still the snapshot's** (a compare-exchange loop): an event
//!   that arrived after the snapshot (after the syscall began) is not
//!   erased.
//! - It then registers its waker under the waiters' lock, after checking
//!   the word once more under that lock; if ready, it tries again.
//! - The driver sets the bits and the tick first, then takes the lock and
//!   wakes every waiter of the directions that became ready.
//!
//! Either the op's check under the lock sees the driver's bits, or the
//! driver's lock comes after the op's and finds its waker: no readiness
//! is lost. A woken op tries its syscall again; several ops waiting in
//! one direction are all woken and the losers wait again.
//!
//! `SHUTDOWN` is set when the driver that delivers this fd's events is
//! gone: waiters are woken and re-register with their own thread's
//! driver.
//!
//! Called by the op futures (`op.rs`, `multi.rs`) and by the epoll driver.

use crate::loom::sync::atomic::{AtomicU64, Ordering::*};
use crate::loom::sync::Mutex;
use std::task::{Poll, Waker};

/// The fd can be read (or accepted on) without blocking.
pub(crate) const READABLE: usize = 0b0000_0001;
/// The fd can be written (or a connect has finished).
pub(crate) const WRITABLE: usize = 0b0000_0010;
/// The peer shut down its side: reads return 0 from now on.
pub(crate) const READ_CLOSED: usize = 0b0000_0100;
/// Writes fail from now on.
pub(crate) const WRITE_CLOSED: usize = 0b0000_1000;
/// An error is pending on the socket (both directions see it).
pub(crate) const ERROR: usize = 0b0001_0000;
/// The driver delivering this fd's events is gone: re-register.
pub(crate) const SHUTDOWN: usize = 0b0010_0000;
/// The flag bits, below the ticks.
const BITS: u64 = 0xff;
/// The read tick: one per event that concerns reads (28 bits, wrapping).
const READ_TICK_SHIFT: u32 = 8;
/// The write tick: one per event that concerns writes (28 bits, wrapping).
const WRITE_TICK_SHIFT: u32 = 36;
const TICK_MASK: u64 = (1 << 28) - 1;
/// Events that move the read tick, and the write tick.
const READ_EVENTS: usize = READABLE | READ_CLOSED | ERROR | SHUTDOWN;
const WRITE_EVENTS: usize = WRITABLE | WRITE_CLOSED | ERROR | SHUTDOWN;

/// Which way an operation moves data, and so which readiness it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Receive, accept: waits until the fd is readable.
    Read,
    /// Send, connect: waits until the fd is writable.
    Write,
}

impl Interest {
    /// The bits that end a wait in this direction: its own, plus those
    /// under which the syscall no longer blocks.
    fn ready_mask(self) -> usize {
        let own = match self {
            Interest::Read => READABLE | READ_CLOSED,
            Interest::Write => WRITABLE | WRITE_CLOSED,
        };
        own | ERROR | SHUTDOWN
    }

    /// The bits an `EAGAIN` proves wrong: this direction's readiness, and
    /// a reported error (a pending error would have been returned instead:
    /// another call took it). Left set, `ERROR` kept every wait "ready" and
    /// the op retried its `EAGAIN` forever. The closed states stay: they
    /// hold for good.
    fn clear_mask(self) -> usize {
        match self {
            Interest::Read => READABLE | ERROR,
            Interest::Write => WRITABLE | ERROR,
        }
    }
}

/// A waiting op: its key (to update or remove it), direction and waker.
struct Waiter {
    key: u64,
    interest: Interest,
    waker: Waker,
}

struct Waiters {
    list: Vec<Waiter>,
    next_key: u64,
}

/// The readiness of one registered fd and its waiting ops.
pub(crate) struct ScheduledIo {
    readiness: AtomicU64,
    waiters: Mutex<Waiters>,
}

/// `interest`'s tick in a readiness word.
fn tick(word: u64, interest: Interest) -> u64 {
    let shift = match interest {
        Interest::Read => READ_TICK_SHIFT,
        Interest::Write => WRITE_TICK_SHIFT,
    };
    (word >> shift) & TICK_MASK
}

/// `word` with the tick at `shift` set to `t` (wrapping).
fn with_tick(word: u64, shift: u32, t: u64) -> u64 {
    (word & !(TICK_MASK << shift)) | ((t & TICK_MASK) << shift)
}

impl std::fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledIo")
            .field("readiness", &(self.readiness.load(Relaxed) & BITS))
            .finish()
    }
}

/// What an op saw of the readiness before its syscall.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot(u64);

impl Default for ScheduledIo {
    fn default() -> Self {
        ScheduledIo::new()
    }
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicU64::new(0),
            waiters: Mutex::new(Waiters {
                list: Vec::new(),
                next_key: 0,
            }),
        }
    }

    /// The readiness now, to compare against after a syscall.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot(self.readiness.load(Acquire))
    }

    /// The driver that delivers this fd's events is gone.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.readiness.load(Acquire) & SHUTDOWN as u64 != 0
    }

    /// After `EAGAIN`: the fd is not ready in `interest`'s direction, as
    /// of `snap`. Left alone if an event of that direction came since (its
    /// tick moved); an event of the other direction does not matter.
    pub(crate) fn clear(&self, snap: Snapshot, interest: Interest) {
        let mask = interest.clear_mask() as u64;
        let mut cur = self.readiness.load(Acquire);
        loop {
            if tick(cur, interest) != tick(snap.0, interest) || cur & mask == 0 {
                return;
            }
            match self
                .readiness
                .compare_exchange_weak(cur, cur & !mask, AcqRel, Acquire)
            {
                Ok(_) => return,
                // The other direction's event, or a spurious failure.
                Err(now) => cur = now,
            }
        }
    }

    /// Ready (try the syscall again), or `waker` registered under `key`
    /// (allocated on first use) for the next event in that direction.
    pub(crate) fn poll_ready(
        &self,
        interest: Interest,
        key: &mut Option<u64>,
        waker: &Waker,
    ) -> Poll<()> {
        let mask = interest.ready_mask() as u64;
        if self.readiness.load(Acquire) & mask != 0 {
            return Poll::Ready(());
        }
        let mut w = self.waiters.lock();
        // Under the lock: the driver sets the bits before it takes the
        // lock, so either we see them here or it sees our waker.
        if self.readiness.load(Acquire) & mask != 0 {
            return Poll::Ready(());
        }
        match key {
            Some(k) => match w.list.iter_mut().find(|x| x.key == *k) {
                Some(x) => {
                    x.interest = interest;
                    if !x.waker.will_wake(waker) {
                        x.waker = waker.clone();
                    }
                }
                None => w.list.push(Waiter {
                    key: *k,
                    interest,
                    waker: waker.clone(),
                }),
            },
            None => {
                let k = w.next_key;
                w.next_key += 1;
                *key = Some(k);
                w.list.push(Waiter {
                    key: k,
                    interest,
                    waker: waker.clone(),
                });
            }
        }
        Poll::Pending
    }

    /// The op of `key` stopped waiting (it completed or was dropped).
    pub(crate) fn remove(&self, key: u64) {
        let gone = {
            let mut w = self.waiters.lock();
            w.list
                .iter()
                .position(|x| x.key == key)
                .map(|i| w.list.swap_remove(i))
        };
        // Outside the lock: dropping a waker may run arbitrary code.
        drop(gone);
    }

    /// The driver's side: an event brought `bits`. Adds them (and moves
    /// the tick of each direction they concern), then moves the wakers of
    /// the directions now ready into `woken`.
    pub(crate) fn set_readiness(&self, bits: usize, woken: &mut Vec<Waker>) {
        let mut cur = self.readiness.load(Relaxed);
        loop {
            let mut next = cur | bits as u64;
            if bits & READ_EVENTS != 0 {
                next = with_tick(next, READ_TICK_SHIFT, tick(cur, Interest::Read) + 1);
            }
            if bits & WRITE_EVENTS != 0 {
                next = with_tick(next, WRITE_TICK_SHIFT, tick(cur, Interest::Write) + 1);
            }
            match self
                .readiness
                .compare_exchange_weak(cur, next, AcqRel, Relaxed)
            {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        let now = cur as usize | bits;
        let mut w = self.waiters.lock();
        let mut i = 0;
        while i < w.list.len() {
            if now & w.list[i].interest.ready_mask() != 0 {
                woken.push(w.list.swap_remove(i).waker);
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
pub(crate) mod tests_support {
    use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::sync::Arc;
    use std::task::{Wake, Waker};

    struct CountWake(Arc<AtomicUsize>);
    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// A waker that counts its wakes.
    pub(crate) fn counting_waker() -> (Arc<AtomicUsize>, Waker) {
        let c = Arc::new(AtomicUsize::new(0));
        (c.clone(), Waker::from(Arc::new(CountWake(c))))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::tests_support::counting_waker as waker;
    use super::*;

    #[test]
    fn an_event_wakes_the_waiters_of_its_direction_only() {
        let io = ScheduledIo::new();
        let (rc, rw) = waker();
        let (wc, ww) = waker();
        let (mut rk, mut wk) = (None, None);
        assert!(io.poll_ready(Interest::Read, &mut rk, &rw).is_pending());
        assert!(io.poll_ready(Interest::Write, &mut wk, &ww).is_pending());
        let mut woken = Vec::new();
        io.set_readiness(READABLE, &mut woken);
        assert_eq!(woken.len(), 1);
        woken.drain(..).for_each(Waker::wake);
        assert_eq!(rc.load(SeqCst), 1);
        assert_eq!(wc.load(SeqCst), 0);
        assert!(io.poll_ready(Interest::Read, &mut rk, &rw).is_ready());
        // A hang-up ends both directions' waits.
        io.set_readiness(READ_CLOSED | WRITE_CLOSED, &mut woken);
        assert_eq!(woken.len(), 1, "the writer");
    }

    #[test]
    fn an_event_of_the_other_direction_does_not_spoil_a_clear() {
        let io = ScheduledIo::new();
        let mut woken = Vec::new();
        io.set_readiness(READABLE, &mut woken);
        let snap = io.snapshot();
        // The send's completion edge while the receive ran: writable.
        io.set_readiness(WRITABLE, &mut woken);
        io.clear(snap, Interest::Read);
        let (_, w) = waker();
        assert!(
            io.poll_ready(Interest::Read, &mut None, &w).is_pending(),
            "the receive's EAGAIN still clears READABLE"
        );
        assert!(io.poll_ready(Interest::Write, &mut None, &w).is_ready());
        // Ticks wrap without touching the flags.
        assert_eq!(
            with_tick(u64::MAX, READ_TICK_SHIFT, TICK_MASK + 1) & BITS,
            BITS
        );
    }

    #[test]
    fn a_clear_does_not_erase_an_event_that_came_after_the_snapshot() {
        let io = ScheduledIo::new();
        let mut woken = Vec::new();
        io.set_readiness(READABLE, &mut woken);
        let snap = io.snapshot();
        // The syscall runs, says EAGAIN; meanwhile a new event arrives.
        io.set_readiness(READABLE, &mut woken);
        io.clear(snap, Interest::Read);
        let (_, w) = waker();
        assert!(
            io.poll_ready(Interest::Read, &mut None, &w).is_ready(),
            "the later event is kept"
        );
        // Without a later event, the clear sticks.
        io.clear(io.snapshot(), Interest::Read);
        assert!(io.poll_ready(Interest::Read, &mut None, &w).is_pending());
    }

    #[test]
    fn a_removed_waiter_is_not_woken() {
        let io = ScheduledIo::new();
        let (c, w) = waker();
        let mut k = None;
        assert!(io.poll_ready(Interest::Read, &mut k, &w).is_pending());
        io.remove(k.unwrap());
        let mut woken = Vec::new();
        io.set_readiness(READABLE | SHUTDOWN, &mut woken);
        assert!(woken.is_empty());
        assert_eq!(c.load(SeqCst), 0);
        assert!(io.is_shut_down());
    }
}
