//! Wakers: wakes from threads outside the runtime are never lost; a
//! waker outliving its task, or its runtime, is harmless; on
//! current_thread, work that never parks sends no unpark. Each test runs
//! on current_thread, multi_thread with 1 worker and with 4, unless it
//! says why not.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use aio::runtime::Handle;
use common::{on_all_flavors, tracked, Counter, Flavor, Latch, Watchdog, WATCHDOG};

#[test]
fn wakes_from_outside_threads_are_never_lost() {
    on_all_flavors(|_| async {
        for _ in 0..common::scaled(300).max(10) {
            let latch = Latch::new();
            let l = latch.clone();
            let waiter = aio::spawn(async move { l.wait().await });
            let opener = std::thread::spawn(move || latch.open());
            waiter.await.unwrap();
            opener.join().unwrap();
        }
    });
}

#[test]
fn main_is_woken_from_outside_threads() {
    on_all_flavors(|_| async {
        for _ in 0..common::scaled(300).max(10) {
            let latch = Latch::new();
            let l = latch.clone();
            let opener = std::thread::spawn(move || l.open());
            latch.wait().await;
            opener.join().unwrap();
        }
    });
}

#[test]
fn wakes_between_tasks_are_never_lost() {
    // A ring of tasks passing a token: every hop is a wake of a task that
    // may be idle on another worker.
    on_all_flavors(|_| async {
        let n = 16;
        let laps = 20;
        let latches: Vec<Vec<Latch>> = (0..n)
            .map(|_| (0..laps).map(|_| Latch::new()).collect())
            .collect();
        let mut tasks = Vec::new();
        for i in 0..n {
            let mine = latches[i].clone();
            let next = latches[(i + 1) % n].clone();
            tasks.push(aio::spawn(async move {
                for lap in 0..laps {
                    mine[lap].wait().await;
                    if i + 1 < n {
                        next[lap].open();
                    } else if lap + 1 < laps {
                        next[lap + 1].open();
                    }
                }
            }));
        }
        latches[0][0].open();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// Stores its waker in a shared slot and completes on the second poll.
struct StashWaker(Arc<Mutex<Option<Waker>>>, bool);

impl Future for StashWaker {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        if self.1 {
            Poll::Ready(())
        } else {
            self.1 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn a_waker_outliving_its_task_is_harmless() {
    on_all_flavors(|_| async {
        let slot = Arc::new(Mutex::new(None));
        let polls = Counter::new();
        let drops = Counter::new();
        let t = aio::spawn(tracked(&polls, &drops, StashWaker(slot.clone(), false)));
        t.await.unwrap();
        let w = slot.lock().unwrap().take().expect("stashed");
        let w2 = w.clone();
        w.wake_by_ref();
        w.wake();
        drop(w2);
        aio::task::yield_now().await;
        assert_eq!(polls.get(), 2, "a done task is never polled again");
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn a_waker_outliving_its_runtime_is_harmless() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let slot = Arc::new(Mutex::new(None));
        let polls = Counter::new();
        let drops = Counter::new();
        let (s, p, d) = (slot.clone(), polls.clone(), drops.clone());
        flavor.runtime().run(async move {
            // A leftover that is pending with its waker stashed.
            let started = Latch::new();
            let st = started.clone();
            drop(aio::spawn(tracked(&p, &d, async move {
                std::future::poll_fn(|cx| {
                    *s.lock().unwrap() = Some(cx.waker().clone());
                    st.open();
                    Poll::<()>::Pending
                })
                .await
            })));
            started.wait().await;
        });
        assert_eq!(drops.get(), 1, "{flavor:?}");
        let w = slot.lock().unwrap().take().expect("stashed");
        w.wake_by_ref();
        w.wake();
        assert_eq!(polls.get(), 1, "{flavor:?}");
    }
}

#[test]
fn current_thread_work_that_never_parks_sends_no_unpark() {
    // current_thread only: the one thread is never parked while it runs
    // tasks, so spawning and awaiting finished tasks needs no wake signal.
    // (multi_thread wakes idle workers for new work by design.)
    if !common::current_thread_selected() {
        return;
    }
    let _dog = Watchdog::new("current_thread", WATCHDOG);
    let rt = Flavor::CurrentThread.runtime();
    rt.run(async {
        let h = Handle::current();
        let before = h.unpark_count();
        for i in 0..common::scaled(1000).max(20) {
            assert_eq!(aio::spawn(async move { i }).await.unwrap(), i);
            aio::task::yield_now().await;
        }
        assert_eq!(h.unpark_count() - before, 0);
    });
}

/// A task that yields (`yield_now`, or `sleep(Duration::ZERO)`, which
/// goes the same way) runs again within a bounded number of scheduler
/// ticks, even while a task that keeps waking itself is always runnable on
/// its worker (tokio's `ping_pong_saturation`; issue 12, item 11). Before,
/// a multi_thread worker released yielded tasks only once its queues ran
/// dry, which a self-waking task prevents forever. Counted, not timed: the
/// spinner counts its polls and gives up after `SPIN_LIMIT` of them (only
/// a failure detector; the yielders need a few hundred at most).
#[test]
fn a_yielded_task_runs_again_while_a_self_waking_task_spins() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    const SPIN_LIMIT: usize = 200_000;
    on_all_flavors(|flavor| async move {
        let done = Arc::new(AtomicBool::new(false));
        let spins = Counter::new();
        let (d, s) = (done.clone(), spins.clone());
        let spinner = aio::spawn(std::future::poll_fn(move |cx| {
            if d.load(SeqCst) || s.bump() >= SPIN_LIMIT {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }));
        let yielder = aio::spawn(async {
            for _ in 0..3 {
                aio::task::yield_now().await;
                aio::sleep(std::time::Duration::ZERO).await;
            }
        });
        yielder.await.unwrap();
        done.store(true, SeqCst);
        spinner.await.unwrap();
        assert!(
            spins.get() < SPIN_LIMIT,
            "{flavor:?}: the yielded task did not run again while the spinner was polled \
             {SPIN_LIMIT} times"
        );
    });
}
