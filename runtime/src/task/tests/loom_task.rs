//! Model: task state transitions under every interleaving of poll,
//! wake, cancel, join and handle drop. Checks the invariants of
//! `state.rs`: the future is dropped exactly once, the task is freed
//! exactly once, `cancel() == true` means the task ends cancelled, a
//! pending join is always woken, and no output is lost or read twice.

use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::ExceptionContext;
use crate::task::raw::{Cell, TaskPtr};
use crate::task::{Notified, Schedule, Task, TaskId};
use loom::thread;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

#[derive(Clone, Default)]
struct Sched {
    queue: Arc<Mutex<VecDeque<Notified>>>,
    freed: Arc<AtomicUsize>,
}

/// Counts how often the task's allocation was freed (the scheduler is
/// dropped with the cell).
struct FreeCounter(Arc<AtomicUsize>);
impl Drop for FreeCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

struct MockSched {
    queue: Arc<Mutex<VecDeque<Notified>>>,
    _free: FreeCounter,
}

impl Schedule for MockSched {
    fn schedule(&self, task: Notified, _is_yield: bool) {
        self.queue.lock().push_back(task);
    }
    fn release(&self, _task: TaskPtr) -> bool {
        false
    }
    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>) {
        f()
    }
    fn report(&self, _ctx: &ExceptionContext) {}
    fn is_shutting_down(&self) -> bool {
        false
    }
}

impl Sched {
    fn spawn<F: Future + Send + 'static>(&self, f: F) -> Task<F::Output> {
        let s = MockSched {
            queue: self.queue.clone(),
            _free: FreeCounter(self.freed.clone()),
        };
        let ptr = Cell::allocate(f, s, TaskId::next(), None, None, 2, 0);
        self.queue.lock().push_back(Notified::from_raw(ptr));
        Task::from_raw(ptr)
    }

    /// Runs at most `n` queued notifications.
    fn run(&self, n: usize) {
        for _ in 0..n {
            let t = self.queue.lock().pop_front();
            match t {
                Some(t) => t.run(),
                None => return,
            }
        }
    }

    fn drain(&self) {
        loop {
            let t = self.queue.lock().pop_front();
            match t {
                Some(t) => t.run(),
                None => return,
            }
        }
    }
}

/// Pending on its first poll (waking itself), ready on the second; counts
/// its drops.
struct TwoPolls {
    polls: usize,
    dropped: Arc<AtomicUsize>,
}

impl Future for TwoPolls {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls += 1;
        if self.polls == 1 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(7)
        }
    }
}

impl Drop for TwoPolls {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
    }
}

struct Flag(AtomicBool);
impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn cancel_races_completion_and_cancel_true_means_cancelled() {
    model(|| {
        let sched = Sched::default();
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut task = sched.spawn(TwoPolls {
            polls: 0,
            dropped: dropped.clone(),
        });
        let s2 = sched.clone();
        let runner = thread::spawn(move || s2.run(2));
        let cancelled = task.cancel();
        runner.join().unwrap();
        sched.drain();
        let out = task.result();
        if cancelled {
            assert!(
                out.unwrap_err().is_cancelled(),
                "cancel() == true must end cancelled"
            );
        } else {
            assert_eq!(out.unwrap(), 7);
        }
        assert_eq!(
            dropped.load(SeqCst),
            1,
            "the future is dropped exactly once"
        );
        drop(task);
        assert_eq!(
            sched.freed.load(SeqCst),
            1,
            "the task is freed exactly once"
        );
    });
}

#[test]
fn join_waker_is_never_lost() {
    model(|| {
        let sched = Sched::default();
        let mut task = sched.spawn(async { 5u32 });
        let s2 = sched.clone();
        let runner = thread::spawn(move || s2.drain());
        let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let first = task.poll_output(Some(&waker));
        runner.join().unwrap();
        match first {
            Poll::Ready(v) => assert_eq!(v.unwrap(), 5),
            Poll::Pending => {
                assert!(
                    flag.0.load(SeqCst),
                    "a pending join must be woken at completion"
                );
                assert_eq!(task.result().unwrap(), 5);
            }
        }
        drop(task);
        assert_eq!(sched.freed.load(SeqCst), 1);
    });
}

/// A task output that counts its drops.
struct Out(Arc<AtomicUsize>);
impl Drop for Out {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn handle_drop_races_completion_without_leak_or_double_free() {
    model(|| {
        let sched = Sched::default();
        let out_drops = Arc::new(AtomicUsize::new(0));
        let od = out_drops.clone();
        let mut task = sched.spawn(async move { Out(od) });
        // Register a join waker first, so completion must also hand the
        // waker slot back while the handle is being dropped.
        let flag = std::sync::Arc::new(Flag(AtomicBool::new(false)));
        let _ = task.poll_output(Some(&Waker::from(flag)));
        let s2 = sched.clone();
        let runner = thread::spawn(move || s2.drain());
        drop(task);
        runner.join().unwrap();
        assert_eq!(
            out_drops.load(SeqCst),
            1,
            "the output is dropped exactly once"
        );
        assert_eq!(sched.freed.load(SeqCst), 1, "freed exactly once");
    });
}

#[test]
fn a_handle_with_no_waker_dropped_while_the_task_completes_frees_once() {
    // The handle's one-step drop (`drop_join_handle_fast`) races the poll
    // that completes the task: the output (stored or discarded) is dropped
    // once and the cell freed once, whichever comes first.
    model(|| {
        let sched = Sched::default();
        let out_drops = Arc::new(AtomicUsize::new(0));
        let od = out_drops.clone();
        let task = sched.spawn(async move { Out(od) });
        let s2 = sched.clone();
        let runner = thread::spawn(move || s2.drain());
        drop(task);
        runner.join().unwrap();
        assert_eq!(out_drops.load(SeqCst), 1, "the output is dropped once");
        assert_eq!(sched.freed.load(SeqCst), 1, "freed exactly once");
    });
}

#[test]
fn wake_from_another_thread_races_the_poll() {
    model(|| {
        let sched = Sched::default();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let ready = Arc::new(AtomicBool::new(false));
        let (s, r) = (slot.clone(), ready.clone());
        let task = sched.spawn(std::future::poll_fn(move |cx| {
            // Register first, then check: the waker side sets `ready`
            // before taking the waker.
            *s.lock() = Some(cx.waker().clone());
            if r.load(SeqCst) {
                return Poll::Ready(());
            }
            Poll::Pending
        }));
        let s2 = sched.clone();
        let runner = thread::spawn(move || s2.run(1));
        let waker = thread::spawn(move || {
            ready.store(true, SeqCst);
            if let Some(w) = slot.lock().take() {
                w.wake();
            }
        });
        runner.join().unwrap();
        waker.join().unwrap();
        sched.drain();
        assert!(
            task.is_done(),
            "the wake after `ready` must lead to a final poll"
        );
        drop(task);
        assert_eq!(sched.freed.load(SeqCst), 1);
    });
}

/// A task that yields (`transition_to_idle(true)`: RUNNING off and NOTIFIED
/// on in one step, the poller's reference kept for the deferred
/// notification) races a cancel and a wake from other threads: there is
/// never more than one notification, a cancel during the poll is seen by
/// the poller, and the reference count matches the notifications.
#[test]
fn a_yield_races_cancel_and_wake_with_one_notification() {
    use crate::task::state::{State, ToCancelled, ToIdle, ToNotified, ToRunning};
    model(|| {
        // The poller's notification and the handle.
        let s = Arc::new(State::new(2, 0));
        assert_eq!(
            s.transition_to_running(),
            ToRunning::Run { cancelled: false }
        );
        let (s1, s2) = (s.clone(), s.clone());
        let canceller = thread::spawn(move || s1.transition_to_cancelled());
        let waker = thread::spawn(move || {
            // A waker's own reference, consumed by the wake.
            s2.ref_inc();
            s2.transition_to_notified_by_val()
        });
        let idle = s.transition_to_idle(true);
        let cancel = canceller.join().unwrap();
        let wake = waker.join().unwrap();
        let submitted =
            usize::from(cancel == ToCancelled::Submit) + usize::from(wake == ToNotified::Submit);
        match idle {
            ToIdle::OkNotified => assert_eq!(submitted, 0, "{cancel:?} {wake:?}"),
            ToIdle::Cancelled => assert_eq!(submitted, 0, "{cancel:?} {wake:?}"),
            other => panic!("a yield never idles plainly: {other:?}"),
        }
        let now = s.load();
        // The poller's (or its notification's) reference and the handle's.
        assert_eq!(now.ref_count(), 2, "{idle:?} {cancel:?} {wake:?}");
        if cancel != ToCancelled::AlreadyDone {
            assert!(now.is_cancelled());
        }
    });
}

/// The done-callback handshake (`TaskRef::add_done_callback` against
/// `harness::complete`): the adder marks CALLBACKS (unless complete) and
/// then adds under the extras' lock unless completion has set `done`;
/// completion takes the lock only if its snapshot has the mark. The
/// callback runs exactly once, whichever way they interleave.
#[test]
fn a_done_callback_added_while_the_task_completes_runs_once() {
    use crate::task::state::State;
    model(|| {
        let s = Arc::new(State::new(2, 0));
        s.transition_to_running();
        // (done, callbacks queued)
        let slot = Arc::new(Mutex::new((false, 0usize)));
        let ran = Arc::new(AtomicUsize::new(0));
        let (s1, slot1, ran1) = (s.clone(), slot.clone(), ran.clone());
        let adder = thread::spawn(move || {
            let run_now = !s1.mark_callbacks() || {
                let mut g = slot1.lock();
                if g.0 {
                    true
                } else {
                    g.1 += 1;
                    false
                }
            };
            if run_now {
                ran1.fetch_add(1, SeqCst);
            }
        });
        let snapshot = s.transition_to_complete(|s| s.is_cancelled());
        if snapshot.has_callbacks() {
            let mut g = slot.lock();
            g.0 = true;
            let n = std::mem::take(&mut g.1);
            drop(g);
            ran.fetch_add(n, SeqCst);
        }
        adder.join().unwrap();
        assert_eq!(ran.load(SeqCst), 1);
    });
}
