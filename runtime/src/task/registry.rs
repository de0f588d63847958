//! The registry of live tasks: sharded intrusive lists.
//!
//! Every task spawned on a runtime (not blocking-pool closures) is linked
//! here until it completes; the registry holds one reference to it. It serves
//! `all_tasks()` and shutdown (close, then cancel every live task). Called by
//! the spawn path and by each scheduler's `release`.

use super::raw::{Header, TaskPtr};
use super::TaskRef;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::loom::sync::Mutex;
use std::fmt;

type OnEmpty = Box<dyn Fn() + Send + Sync>;

/// Live tasks of one runtime.
///
/// Spawns and completions only touch their own shard (cache-line padded),
/// so workers do not contend on one line. The total is only counted from
/// shutdown on (`remaining`), when `close` sums the shards.
pub(crate) struct Registry {
    shards: Box<[Padded<ShardLock>]>,
    /// Tasks still linked once closed (meaningless before).
    remaining: AtomicUsize,
    closed: AtomicBool,
    on_empty: Mutex<Option<OnEmpty>>,
}

/// Keeps each shard on its own cache lines (128: adjacent-line prefetch).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

struct Shard {
    head: Option<TaskPtr>,
    len: usize,
    closed: bool,
}

// SAFETY: the raw pointers in a shard are only followed under its lock, and
// each points at a live task (the registry holds a reference to it).
unsafe impl Send for Shard {}

/// A shard behind a spin lock: one compare-and-swap takes it, a plain
/// `Release` store gives it back. The registry takes a shard twice per
/// task (to link it at spawn and unlink it at completion), each time for a
/// few pointer writes, and a mutex's unlock is a second read-modify-write
/// (parking_lot's is a compare-and-swap): two of about eleven a spawned
/// task cost. Only a dump or shutdown holds a shard longer, while it walks
/// it; a waiter spins briefly, then yields its CPU on each look.
/// Model-checked in `tests/loom_registry.rs`.
struct ShardLock {
    held: AtomicBool,
    shard: UnsafeCell<Shard>,
}

// SAFETY: the shard is only reached through a `ShardGuard`, and `lock`
// hands out one guard at a time (the `held` flag, taken with `Acquire` and
// released with `Release`, orders each holder's accesses after the last's).
unsafe impl Sync for ShardLock {}

/// Holds a shard's lock; releases it when dropped.
struct ShardGuard<'a>(&'a ShardLock);

impl ShardLock {
    fn new() -> ShardLock {
        ShardLock {
            held: AtomicBool::new(false),
            shard: UnsafeCell::new(Shard {
                head: None,
                len: 0,
                closed: false,
            }),
        }
    }

    fn lock(&self) -> ShardGuard<'_> {
        let mut looks = 0u32;
        // Strong, not weak: a spurious failure would be a look with no
        // pause (and on x86 both are one `lock cmpxchg`).
        while self
            .held
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_err()
        {
            // Wait until it looks free (reads only, no line ping-pong).
            while self.held.load(Relaxed) {
                backoff(&mut looks);
            }
        }
        ShardGuard(self)
    }
}

/// A waiter's pause between looks at a held shard lock.
fn backoff(looks: &mut u32) {
    #[cfg(loom)]
    {
        let _ = looks;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        if *looks < 64 {
            *looks += 1;
            std::hint::spin_loop();
        } else {
            // A long hold (a walk) or a preempted holder: let it run.
            std::thread::yield_now();
        }
    }
}

impl ShardGuard<'_> {
    /// Runs `f` on the shard.
    fn with<R>(&mut self, f: impl FnOnce(&mut Shard) -> R) -> R {
        // SAFETY: this guard holds the lock, so it is the shard's only
        // user until it is dropped.
        self.0.shard.with_mut(|s| f(unsafe { &mut *s }))
    }
}

impl Drop for ShardGuard<'_> {
    fn drop(&mut self) {
        self.0.held.store(false, Release);
    }
}

impl Registry {
    pub(crate) fn new(shards: usize) -> Registry {
        let n = shards.next_power_of_two().max(1);
        Registry {
            shards: (0..n).map(|_| Padded(ShardLock::new())).collect(),
            remaining: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            on_empty: Mutex::new(None),
        }
    }

    fn shard(&self, header: &Header) -> &ShardLock {
        &self.shards[header.id().0 as usize & (self.shards.len() - 1)]
    }

    /// Links a new task (which already counts the registry's reference).
    /// Returns false when the registry is closed (shutdown has begun).
    pub(crate) fn insert(&self, task: TaskPtr) -> bool {
        // SAFETY: the caller passes a live, newly allocated task.
        let header = unsafe { task.header() };
        self.shard(header).lock().with(|shard| {
            if shard.closed {
                return false;
            }
            let old_head = shard.head;
            header.links.with_mut(|l| {
                // SAFETY: links are only touched under this shard's lock.
                let l = unsafe { &mut *l };
                l.prev = None;
                l.next = old_head;
            });
            if let Some(h) = old_head {
                // SAFETY: `h` is linked, hence live, and we hold the lock.
                unsafe { h.header() }
                    .links
                    .with_mut(|l| unsafe { (*l).prev = Some(task) });
            }
            shard.head = Some(task);
            shard.len += 1;
            true
        })
    }

    /// Unlinks a completed task. Returns true if it was linked, in which case
    /// the caller releases the registry's reference.
    pub(crate) fn remove(&self, task: TaskPtr) -> bool {
        // SAFETY: the caller (the task's completion) holds a reference.
        let header = unsafe { task.header() };
        // `None`: not linked; else whether the shard was closed.
        let unlinked = self.shard(header).lock().with(|shard| {
            // SAFETY: links are only touched under this shard's lock.
            let (prev, next) = header.links.with(|l| unsafe { ((*l).prev, (*l).next) });
            if prev.is_none() && shard.head != Some(task) {
                return None;
            }
            match prev {
                // SAFETY: `p` is linked (live) and we hold the lock.
                Some(p) => unsafe { p.header() }
                    .links
                    .with_mut(|l| unsafe { (*l).next = next }),
                None => shard.head = next,
            }
            if let Some(n) = next {
                // SAFETY: `n` is linked (live) and we hold the lock.
                unsafe { n.header() }
                    .links
                    .with_mut(|l| unsafe { (*l).prev = prev });
            }
            // SAFETY: under the lock.
            header
                .links
                .with_mut(|l| unsafe { *l = Default::default() });
            shard.len -= 1;
            Some(shard.closed)
        });
        let Some(closed) = unlinked else {
            return false;
        };
        if closed && self.remaining.fetch_sub(1, AcqRel) == 1 {
            if let Some(f) = &*self.on_empty.lock() {
                f();
            }
        }
        true
    }

    /// References to every linked task that is not complete.
    pub(crate) fn snapshot(&self) -> Vec<TaskRef> {
        self.collect(false)
    }

    /// Refuses new tasks from now on and returns the live ones.
    pub(crate) fn close(&self) -> Vec<TaskRef> {
        self.closed.store(true, Release);
        self.collect(true)
    }

    /// Whether `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    fn collect(&self, close: bool) -> Vec<TaskRef> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().with(|shard| {
                if close && !shard.closed {
                    // From now on this shard's removals count down `remaining`.
                    shard.closed = true;
                    self.remaining.fetch_add(shard.len, AcqRel);
                }
                let mut cur = shard.head;
                while let Some(p) = cur {
                    // SAFETY: linked tasks are live; we hold the shard lock.
                    let h = unsafe { p.header() };
                    if !h.state.load().is_complete() {
                        // SAFETY: as above.
                        out.push(unsafe { TaskRef::acquire(p) });
                    }
                    // SAFETY: as above.
                    cur = h.links.with(|l| unsafe { (*l).next });
                }
            });
        }
        out.sort_by_key(|t| t.id());
        out
    }

    /// Linked tasks: exact once closed (a sum of the shards before).
    pub(crate) fn len(&self) -> usize {
        if self.is_closed() {
            self.remaining.load(Acquire)
        } else {
            self.shards.iter().map(|s| s.lock().with(|s| s.len)).sum()
        }
    }

    /// Sets the function called when the last task of a closed registry is
    /// removed (shutdown waits with it).
    pub(crate) fn set_on_empty(&self, f: Option<OnEmpty>) {
        *self.on_empty.lock() = f;
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("len", &self.len())
            .finish()
    }
}

/// A scheduler that schedules nothing: the registry's tasks in its unit
/// tests and its loom model (`tests/loom_registry.rs`) are never run.
#[cfg(test)]
pub(crate) struct Nop;

#[cfg(test)]
impl super::Schedule for Nop {
    fn schedule(&self, _t: super::Notified, _y: bool) {}
    fn release(&self, _t: TaskPtr) -> bool {
        false
    }
    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>) {
        f()
    }
    fn report(&self, _c: &crate::rt::ExceptionContext) {}
    fn is_shutting_down(&self) -> bool {
        false
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::raw::Cell;
    use crate::task::TaskId;

    #[test]
    fn insert_snapshot_remove_close() {
        let reg = Registry::new(4);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                Cell::allocate(
                    std::future::pending::<()>(),
                    Nop,
                    TaskId::next(),
                    None,
                    None,
                    3,
                    0,
                )
            })
            .collect();
        for &t in &tasks {
            assert!(reg.insert(t));
        }
        assert_eq!(reg.len(), 10);
        assert_eq!(reg.snapshot().len(), 10);
        assert!(reg.remove(tasks[3]));
        assert!(!reg.remove(tasks[3]), "a task is unlinked once");
        assert_eq!(reg.len(), 9);
        let live = reg.close();
        assert_eq!(live.len(), 9);
        assert!(reg.is_closed());
        let late = Cell::allocate(
            std::future::pending::<()>(),
            Nop,
            TaskId::next(),
            None,
            None,
            3,
            0,
        );
        assert!(!reg.insert(late), "a closed registry refuses new tasks");
        drop(live);
        for (i, &t) in tasks.iter().enumerate() {
            if i != 3 {
                reg.remove(t);
            }
            // Release the three references taken at allocation.
            for _ in 0..3 {
                // SAFETY: live until the last reference goes.
                let hd = unsafe { t.header() };
                let dealloc = hd.vtable.dealloc;
                if hd.state.ref_dec() {
                    // SAFETY: that was the last reference.
                    unsafe { dealloc(t) }
                }
            }
        }
        // SAFETY: never linked; release its references.
        let hd = unsafe { late.header() };
        let dealloc = hd.vtable.dealloc;
        hd.state.ref_sub(2);
        if hd.state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { dealloc(late) }
        }
        assert_eq!(reg.len(), 0);
    }
}
