//! Zero allocations for uncontended `Lock::lock().await` + drop and
//! `Semaphore::acquire().await` + drop inside a running task, measured with
//! a counting global allocator that counts only the current thread's
//! allocations between two points (other threads of the runtime, such as
//! idle workers, do not disturb the count).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator may run while thread locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call forwards to `System`, which upholds the `GlobalAlloc`
// contract; the counting touches only const-initialised thread locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's pointer and layouts.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations made by this thread while `f` runs (synchronously).
fn counting<R>(f: impl FnOnce() -> R) -> (R, usize) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (r, COUNT.with(|c| c.get()))
}

/// Starts counting on the current thread; the matching `stop` must run on
/// the same thread, with no suspension in between (see the batches below).
fn start() {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
}

fn stop() -> usize {
    COUNTING.with(|on| on.set(false));
    COUNT.with(|c| c.get())
}

#[test]
fn uncontended_lock_and_acquire_allocate_nothing() {
    // Fewer batches under Miri, which interprets every step.
    let batches = if cfg!(miri) { 2 } else { 10 };
    for flavor in common::flavors() {
        let rt = flavor.runtime();
        let lock = Arc::new(aio::sync::Lock::new());
        let sem = Arc::new(aio::sync::Semaphore::new(3));
        let mutex = Arc::new(aio::sync::Mutex::new(0u64));
        let (l, s, m) = (lock.clone(), sem.clone(), mutex.clone());
        let counts = rt.run(async move {
            aio::spawn(async move {
                // Warm up (first-use lazies of the runtime, if any).
                drop(l.lock().await);
                drop(s.acquire().await.unwrap());
                let (mut lock_allocs, mut sem_allocs, mut mutex_allocs) = (0, 0, 0);
                // Batches of 100: a batch stays within one task poll (the
                // coop budget is 128 units), so nothing suspends and the
                // task cannot move to another thread between start and stop.
                // The yield between batches (not counted) refreshes the
                // budget.
                for _ in 0..batches {
                    aio::task::yield_now().await;
                    start();
                    for _ in 0..100 {
                        let g = l.lock().await;
                        drop(g);
                    }
                    lock_allocs += stop();
                    aio::task::yield_now().await;
                    start();
                    for _ in 0..100 {
                        let p = s.acquire().await.unwrap();
                        drop(p);
                    }
                    sem_allocs += stop();
                    aio::task::yield_now().await;
                    start();
                    for _ in 0..100 {
                        *m.lock().await += 1;
                    }
                    mutex_allocs += stop();
                }
                (lock_allocs, sem_allocs, mutex_allocs)
            })
            .await
            .unwrap()
        });
        assert_eq!(
            counts,
            (0, 0, 0),
            "allocations on {flavor:?} (lock, semaphore, mutex)"
        );
        assert_eq!(*mutex.try_lock().unwrap(), batches * 100);
        assert!(!lock.is_locked());
        assert_eq!(sem.available(), 3);
    }
    // The counter itself works.
    let (_, n) = counting(|| Box::new(1u8));
    assert!(n >= 1);
}
