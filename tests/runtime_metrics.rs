//! `Handle::metrics()`: on deterministic workloads the counters move as
//! expected — N spawns give at least N polls, a steal happens when one
//! worker is held busy, driver syscalls and parks are counted, the gauges
//! (timers pending, queue depths, the blocking pool) follow what runs.
//! Each body runs on current_thread and on 2 workers (and the shared
//! checks on 1 and 4), on whichever driver the run selects.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use aio::runtime::{Handle, RuntimeMetrics};
use common::{on_all_flavors, Flavor, HeldWorkers, Latch, Watchdog, WATCHDOG};

fn total(m: &RuntimeMetrics, f: impl Fn(&aio::runtime::WorkerMetrics) -> u64) -> u64 {
    (0..m.num_workers()).map(|i| f(&m.worker(i))).sum()
}

#[test]
fn n_spawns_give_at_least_n_polls() {
    on_all_flavors(|flavor| async move {
        const N: u64 = 200;
        let m = Handle::current().metrics();
        assert_eq!(m.num_workers(), flavor.workers());
        let before = total(&m, |w| w.polls());
        let tasks: Vec<_> = (0..N).map(|i| aio::spawn(async move { i })).collect();
        for t in tasks {
            t.await.unwrap();
        }
        let polls = total(&m, |w| w.polls()) - before;
        assert!(polls >= N, "{polls} polls for {N} spawned tasks");
    });
}

#[test]
fn a_worker_held_busy_has_its_queue_stolen() {
    // Two workers: a task spawns children onto its own worker's queue and
    // then keeps that worker busy until some of them ran — which only the
    // other worker can do, by stealing.
    let _dog = Watchdog::new("steal", WATCHDOG);
    let rt = Flavor::MultiThread(2).runtime();
    let m = rt.handle().metrics();
    rt.block_on(async {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        aio::spawn(async move {
            let children: Vec<_> = (0..16)
                .map(|_| {
                    let r = r.clone();
                    aio::spawn(async move {
                        r.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            // Busy (no await) until another worker ran some of them.
            while r.load(SeqCst) < 8 {
                std::hint::spin_loop();
            }
            drop(children);
        })
        .await
        .unwrap();
    });
    let steals = total(&m, |w| w.steals());
    let stolen = total(&m, |w| w.stolen_tasks());
    assert!(steals >= 1, "no steal: {m:?}");
    assert!(stolen >= steals, "{stolen} tasks in {steals} steals");
}

#[test]
fn driver_syscalls_and_parks_are_counted() {
    on_all_flavors(|_| async move {
        let m = Handle::current().metrics();
        let (enters, parks) = (m.enters(), total(&m, |w| w.parks()));
        // Spawned tasks sleep on the workers (main runs on the caller's
        // thread on multi_thread): their workers park in their drivers.
        let sleepers: Vec<_> = (0..4)
            .map(|_| aio::spawn(aio::sleep(Duration::from_millis(2))))
            .collect();
        for s in sleepers {
            s.await.unwrap();
        }
        assert!(m.enters() > enters, "no driver syscall counted: {m:?}");
        assert!(total(&m, |w| w.parks()) > parks, "no park counted: {m:?}");
        assert!(total(&m, |w| w.unparks()) >= 1);
        assert!(total(&m, |w| w.busy_duration().as_nanos() as u64) > 0);
    });
}

#[test]
fn timers_pending_follows_the_sleeps() {
    // current_thread: the main task's sleeps are in worker 0's wheel.
    let rt = Flavor::CurrentThread.runtime();
    let m = rt.handle().metrics();
    rt.block_on(async {
        let long = aio::spawn(aio::sleep(Duration::from_secs(3600)));
        let long2 = aio::spawn(aio::sleep(Duration::from_secs(3600)));
        aio::task::yield_now().await; // both register their timers
        assert_eq!(m.worker(0).timers_pending(), 2, "{m:?}");
        long.cancel();
        long2.cancel();
        aio::task::yield_now().await;
        aio::task::yield_now().await;
        assert_eq!(m.worker(0).timers_pending(), 0, "{m:?}");
    });
}

#[test]
fn queue_depths_show_tasks_waiting_behind_busy_workers() {
    on_all_flavors(|flavor| async move {
        let m = Handle::current().metrics();
        let held = HeldWorkers::hold(flavor);
        // Spawned from the main future (not a worker): they wait in the
        // injector (multi_thread) or the one queue (current_thread).
        let tasks: Vec<_> = (0..5).map(|_| aio::spawn(async {})).collect();
        let queued = m.injector_depth()
            + (0..m.num_workers())
                .map(|i| m.worker(i).local_queue_depth())
                .sum::<usize>();
        assert!(queued >= 5, "5 tasks wait, the metrics see {queued}: {m:?}");
        assert!(m.alive_tasks() >= 5);
        held.release().await;
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn the_blocking_pool_is_counted() {
    on_all_flavors(|_| async move {
        let m = Handle::current().metrics();
        let inside = Latch::new();
        let go = Latch::new();
        let (i, g) = (inside.clone(), go.clone());
        let job = aio::to_thread(move || {
            i.open();
            g.wait_blocking();
        });
        let job = aio::spawn(job);
        inside.wait().await;
        assert!(m.blocking_threads() >= 1, "{m:?}");
        assert!(m.blocking_idle_threads() < m.blocking_threads(), "{m:?}");
        go.open();
        job.await.unwrap();
        assert_eq!(m.blocking_queue_depth(), 0);
    });
}
