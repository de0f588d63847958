//! Run queues of the multi_thread scheduler, behind one small contract.
//!
//! Each worker has a FIFO `Local` queue that only it pushes to and pops
//! from, and that other workers steal half of through a `Stealer`; the
//! runtime has one `Inject` queue for tasks scheduled from outside a
//! worker. Normally these are `crossbeam-deque`'s `Worker`, `Stealer` and
//! `Injector`. Under loom they are a mutex-protected mock with the same
//! contract (loom cannot see inside crossbeam's atomics), so the models
//! check the scheduler protocols built on top.
//!
//! Under Miri the mock is used too. crossbeam-epoch, which the deque frees
//! its buffers through, breaks Stacked Borrows in its intrusive list of
//! thread handles (`&*local_ptr` widened from a reference to the list
//! entry: crossbeam-rs/crossbeam#545; crossbeam runs its own Miri tests
//! under Tree Borrows for that reason), so a multi_thread runtime stops at
//! the first steal. With the mock, Miri checks the task core and the
//! scheduler under Stacked Borrows on every flavor; crossbeam's own code is
//! its project's to check.
//!
//! The contract (`RunQueue`): a pushed task is popped or stolen exactly
//! once; `is_empty` may be stale but never hides a task pushed before a
//! SeqCst fence that the caller observed.

use crate::task::Notified;

/// The outcome of a steal: three-valued, like crossbeam's.
#[derive(Debug)]
pub(crate) enum Steal {
    /// Nothing to steal.
    Empty,
    /// Stole at least one task; this one is to run now, the rest went to
    /// the thief's queue.
    Success(Notified),
    /// Lost a race; try again.
    Retry,
}

/// What the scheduler needs from a worker's own queue.
pub(crate) trait RunQueue {
    fn push(&self, task: Notified);
    fn pop(&self) -> Option<Notified>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(not(any(loom, miri)))]
mod imp {
    use super::*;
    use crossbeam_deque as cb;

    /// A worker's own queue.
    pub(crate) struct Local(cb::Worker<Notified>);
    /// The stealing side of another worker's queue.
    pub(crate) struct Stealer(cb::Stealer<Notified>);
    /// The global queue.
    pub(crate) struct Inject(cb::Injector<Notified>);

    pub(crate) fn local() -> (Local, Stealer) {
        let w = cb::Worker::new_fifo();
        let s = w.stealer();
        (Local(w), Stealer(s))
    }

    impl RunQueue for Local {
        fn push(&self, task: Notified) {
            self.0.push(task)
        }
        fn pop(&self) -> Option<Notified> {
            self.0.pop()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    fn convert(s: cb::Steal<Notified>) -> Steal {
        match s {
            cb::Steal::Empty => Steal::Empty,
            cb::Steal::Success(t) => Steal::Success(t),
            cb::Steal::Retry => Steal::Retry,
        }
    }

    impl Stealer {
        /// Steals about half of the victim's tasks into `dest`.
        pub(crate) fn steal_into(&self, dest: &Local) -> Steal {
            convert(self.0.steal_batch_and_pop(&dest.0))
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
        /// How many tasks the victim holds (may be stale).
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    impl Inject {
        pub(crate) fn new() -> Inject {
            Inject(cb::Injector::new())
        }
        pub(crate) fn push(&self, task: Notified) {
            self.0.push(task)
        }
        /// Takes a batch into `dest` and returns one task to run.
        pub(crate) fn pop_into(&self, dest: &Local) -> Option<Notified> {
            loop {
                match self.0.steal_batch_and_pop(&dest.0) {
                    cb::Steal::Success(t) => return Some(t),
                    cb::Steal::Empty => return None,
                    cb::Steal::Retry => continue,
                }
            }
        }
        pub(crate) fn pop(&self) -> Option<Notified> {
            loop {
                match self.0.steal() {
                    cb::Steal::Success(t) => return Some(t),
                    cb::Steal::Empty => return None,
                    cb::Steal::Retry => continue,
                }
            }
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
        /// How many tasks wait (may be stale).
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }
}

#[cfg(any(loom, miri))]
mod imp {
    use super::*;
    use crate::loom::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    type Q = Arc<Mutex<VecDeque<Notified>>>;

    pub(crate) struct Local(Q);
    pub(crate) struct Stealer(Q);
    pub(crate) struct Inject(Mutex<VecDeque<Notified>>);

    pub(crate) fn local() -> (Local, Stealer) {
        let q: Q = Arc::new(Mutex::new(VecDeque::new()));
        (Local(q.clone()), Stealer(q))
    }

    impl RunQueue for Local {
        fn push(&self, task: Notified) {
            self.0.lock().push_back(task)
        }
        fn pop(&self) -> Option<Notified> {
            self.0.lock().pop_front()
        }
        fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    impl Stealer {
        pub(crate) fn steal_into(&self, dest: &Local) -> Steal {
            let mut src = self.0.lock();
            let n = src.len().div_ceil(2);
            let Some(first) = src.pop_front() else {
                return Steal::Empty;
            };
            let rest: Vec<_> = src.drain(..n - 1).collect();
            drop(src);
            let mut d = dest.0.lock();
            d.extend(rest);
            Steal::Success(first)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    impl Inject {
        pub(crate) fn new() -> Inject {
            Inject(Mutex::new(VecDeque::new()))
        }
        pub(crate) fn push(&self, task: Notified) {
            self.0.lock().push_back(task)
        }
        pub(crate) fn pop_into(&self, _dest: &Local) -> Option<Notified> {
            self.pop()
        }
        pub(crate) fn pop(&self) -> Option<Notified> {
            self.0.lock().pop_front()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }
}

pub(crate) use imp::{local, Inject, Local, Stealer};
