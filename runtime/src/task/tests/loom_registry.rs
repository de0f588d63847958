//! Model: the registry's shard lock (`registry.rs`). Threads link and
//! unlink tasks in one shard while another walks it; loom's cell tracking
//! reports any two touching the shard or a task's links at once, so the
//! lock's mutual exclusion and its `Acquire`/`Release` hand-over are what
//! is checked, along with the list staying whole.

use crate::loom::model::model;
use crate::loom::sync::Arc;
use crate::task::raw::{Cell, TaskPtr};
use crate::task::registry::{Nop, Registry};
use crate::task::TaskId;
use loom::thread;

/// A task pointer to hand to a model thread.
#[derive(Clone, Copy)]
struct Sent(TaskPtr);
// SAFETY: the model's tasks are only touched through the registry (under
// its lock) and freed after every thread joined.
unsafe impl Send for Sent {}

/// A pending task with one reference (the model's).
fn task() -> Sent {
    Sent(Cell::allocate(
        std::future::pending::<()>(),
        Nop,
        TaskId::next(),
        None,
        None,
        1,
        0,
    ))
}

/// Drops the model's reference, freeing the task.
fn free(t: Sent) {
    // SAFETY: live until this, its last reference, goes.
    let h = unsafe { t.0.header() };
    let dealloc = h.vtable.dealloc;
    if h.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { dealloc(t.0) }
    }
}

#[test]
fn a_shard_linked_and_unlinked_while_it_is_walked() {
    model(|| {
        // One shard: both threads contend for the same lock.
        let reg = Arc::new(Registry::new(1));
        let (a, b) = (task(), task());
        assert!(reg.insert(a.0));
        let r = reg.clone();
        let t = thread::spawn(move || {
            assert!(r.insert(b.0));
            assert!(r.remove(a.0), "a was linked before the thread started");
        });
        // A walk (the dump's) beside it sees a whole list: a, b or both.
        let seen = reg.snapshot().len();
        assert!((1..=2).contains(&seen), "{seen}");
        t.join().unwrap();
        assert_eq!(reg.len(), 1, "b is left");
        assert!(reg.remove(b.0));
        assert!(!reg.remove(b.0), "unlinked once");
        assert_eq!(reg.len(), 0);
        free(a);
        free(b);
    });
}
