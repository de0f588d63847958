//! The idle protocol: who sleeps, who searches, whom to wake.
//!
//! One word counts unparked workers (high bits) and searching workers (low
//! bits); a mutex-protected list holds the parked ones. Rules:
//! - at most half the workers search at once (`transition_worker_to_searching`);
//! - a wake goes to a parked worker only when nobody is searching
//!   (`worker_to_notify`); the woken worker starts as a searcher;
//! - the last searcher to find work re-checks every queue and wakes another
//!   if one has work (`transition_worker_from_searching`, then the caller);
//! - the last searcher to park re-checks every queue (the caller, on
//!   `transition_worker_to_parked` returning true).
//!
//! Together these make sure no wake is lost: whenever a task is queued,
//! some worker is running, searching, or being woken. Model-checked in
//! `tests/loom_idle.rs`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;
use std::fmt;

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

impl fmt::Debug for Idle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(SeqCst);
        f.debug_struct("Idle")
            .field("unparked", &(s >> UNPARK_SHIFT))
            .field("searching", &(s & SEARCH_MASK))
            .finish()
    }
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn notify_should_wakeup(&self) -> bool {
        let s = self.state.load(SeqCst);
        s & SEARCH_MASK == 0 && (s >> UNPARK_SHIFT) < self.num_workers
    }

    /// A worker to wake for new work, or `None` if someone is already
    /// searching or nobody sleeps. The returned worker counts as unparked
    /// and searching.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.notify_should_wakeup() {
            return None;
        }
        let w = sleepers.pop()?;
        self.state.fetch_add((1 << UNPARK_SHIFT) | 1, SeqCst);
        Some(w)
    }

    /// Records `worker` as parked. Returns true if it was the last searcher
    /// (it must then re-check every queue).
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && prev & SEARCH_MASK == 1
    }

    /// Tries to become a searcher (at most half the workers search).
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * (s & SEARCH_MASK) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work. True if it was the last searcher (it must
    /// then re-check every queue and wake another worker if one has work).
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(prev & SEARCH_MASK > 0);
        prev & SEARCH_MASK == 1
    }

    /// A parked worker woke up on its own (timer, I/O). Returns false if a
    /// notifier already took it off the list (it is then a searcher).
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
                true
            }
            None => false,
        }
    }

    /// How many workers are not parked (running, searching, or woken).
    pub(crate) fn num_unparked(&self) -> usize {
        self.state.load(SeqCst) >> UNPARK_SHIFT
    }

    /// Whether `worker` is on the parked list.
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(&worker)
    }

    #[cfg(any(test, loom))]
    pub(crate) fn num_searching(&self) -> usize {
        self.state.load(SeqCst) & SEARCH_MASK
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn only_half_the_workers_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
        assert_eq!(idle.num_searching(), 2);
    }

    #[test]
    fn no_wake_while_someone_searches_and_the_woken_one_searches() {
        let idle = Idle::new(2);
        assert!(!idle.transition_worker_to_parked(1, false));
        assert!(idle.transition_worker_to_searching());
        assert_eq!(idle.worker_to_notify(), None, "a searcher exists");
        assert!(idle.transition_worker_from_searching());
        assert_eq!(idle.worker_to_notify(), Some(1));
        assert_eq!(idle.num_searching(), 1);
        assert!(!idle.is_parked(1));
    }

    #[test]
    fn last_searcher_to_park_is_told_to_recheck() {
        let idle = Idle::new(2);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_parked(0, true));
        assert!(!idle.transition_worker_to_parked(1, false));
        assert!(idle.unpark_worker_by_id(0));
        assert!(!idle.unpark_worker_by_id(0));
    }
}
