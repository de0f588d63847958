//! Many tasks: a million spawned tasks complete and leak nothing (every
//! future's destructor ran, the registry is back to just main); tasks
//! spawned from tasks; spawning from many tasks at once.
//!
//! The million runs in debug builds too: about 2.7 s per test unoptimised
//! on a 2-vCPU machine (0.3 s optimised), ~150 MB peak. Under Miri, which
//! interprets every step (some 50 ms per spawned task), the counts are
//! hundreds instead: what the tests check (every task ran, every future
//! was dropped, nothing leaked, and Miri's own leak check at exit) holds
//! at any count.

mod common;

use aio::task::{self, Task};
use common::{on_all_flavors, Counter, Flavor, Watchdog, WATCHDOG};

const MANY: usize = if cfg!(miri) { 200 } else { 1_000_000 };
/// The count of the tests that run on every flavor.
const SOME: usize = if cfg!(miri) { 100 } else { 10_000 };

/// Spawns `n` tasks each holding a drop guard, awaits all, and checks that
/// every destructor ran and only main is left.
async fn spawn_and_await(n: usize) {
    let drops = Counter::new();
    let sum = Counter::new();
    let mut tasks: Vec<Task<usize>> = Vec::with_capacity(n);
    for i in 0..n {
        let guard = drops.drop_guard();
        let s = sum.clone();
        tasks.push(aio::spawn(async move {
            let _guard = guard;
            s.bump();
            i
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), i);
    }
    assert_eq!(sum.get(), n, "every task ran");
    assert_eq!(drops.get(), n, "every future was dropped");
    let main = task::current().unwrap();
    let all = task::all_tasks();
    assert_eq!(
        all.len(),
        1,
        "only main is left, {} tasks leaked",
        all.len() - 1
    );
    assert_eq!(all[0], main);
}

#[test]
fn a_million_tasks_on_four_workers() {
    // Four workers, or the multi_thread flavor AIO_TEST_FLAVORS selects.
    let flavor = match common::multi_thread_flavors().as_slice() {
        [] => return,
        [only] => *only,
        _ => Flavor::MultiThread(4),
    };
    let _dog = Watchdog::new(flavor, WATCHDOG);
    flavor.runtime().run(spawn_and_await(MANY));
}

#[test]
fn a_million_tasks_on_current_thread() {
    if !common::current_thread_selected() {
        return;
    }
    let _dog = Watchdog::new("current_thread", WATCHDOG);
    Flavor::CurrentThread.runtime().run(spawn_and_await(MANY));
}

#[test]
fn many_tasks_on_every_flavor() {
    on_all_flavors(|_| spawn_and_await(SOME));
}

#[test]
fn many_pending_tasks_are_all_cancelled_at_run_end() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let d = drops.clone();
        flavor.runtime().run(async move {
            for _ in 0..SOME {
                let g = d.drop_guard();
                drop(aio::spawn(async move {
                    let _g = g;
                    std::future::pending::<()>().await;
                }));
            }
            task::yield_now().await;
        });
        assert_eq!(drops.get(), SOME, "{flavor:?}");
    }
}

#[test]
fn tasks_spawned_from_tasks() {
    // A binary tree of depth 12 (4095 tasks; 127 under Miri), every node
    // spawning its children from inside a task, so spawns come from
    // workers too.
    const DEPTH: u32 = if cfg!(miri) { 6 } else { 11 };
    const NODES: usize = (1 << (DEPTH + 1)) - 1;
    fn node(depth: u32, drops: Counter) -> Task<usize> {
        let g = drops.drop_guard();
        aio::spawn(async move {
            let _g = g;
            if depth == 0 {
                return 1;
            }
            let l = node(depth - 1, drops.clone());
            let r = node(depth - 1, drops.clone());
            1 + l.await.unwrap() + r.await.unwrap()
        })
    }
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let n = node(DEPTH, drops.clone()).await.unwrap();
        assert_eq!(n, NODES);
        assert_eq!(drops.get(), NODES);
        assert_eq!(task::all_tasks().len(), 1);
    });
}

#[test]
fn chained_spawn() {
    // Each task spawns the next and detaches; the last one reports back.
    fn link(left: usize, done: common::Latch, hops: Counter) {
        drop(aio::spawn(async move {
            hops.bump();
            if left == 0 {
                done.open();
            } else {
                link(left - 1, done, hops);
            }
        }));
    }
    on_all_flavors(|_| async {
        let done = common::Latch::new();
        let hops = Counter::new();
        let hops_left = if cfg!(miri) { 100 } else { 1000 };
        link(hops_left, done.clone(), hops.clone());
        done.wait().await;
        assert_eq!(hops.get(), hops_left + 1);
    });
}

#[test]
fn yield_many_polls_each_task_exactly_once_per_yield() {
    on_all_flavors(|_| async {
        let polls = Counter::new();
        let drops = Counter::new();
        let (n, yields) = if cfg!(miri) { (20, 10) } else { (200, 50) };
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                aio::spawn(common::tracked(&polls, &drops, async move {
                    for _ in 0..yields {
                        task::yield_now().await;
                    }
                }))
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(polls.get(), n * (yields + 1));
        assert_eq!(drops.get(), n);
    });
}

#[test]
fn ping_pong_between_tasks() {
    // Two tasks hand a token back and forth through latches; each hop is a
    // cross-task wake (across workers on multi_thread).
    on_all_flavors(|_| async {
        let rounds = if cfg!(miri) { 20 } else { 200 };
        let pings: Vec<common::Latch> = (0..rounds).map(|_| common::Latch::new()).collect();
        let pongs: Vec<common::Latch> = (0..rounds).map(|_| common::Latch::new()).collect();
        let (pi, po) = (pings.clone(), pongs.clone());
        let ponger = aio::spawn(async move {
            for i in 0..rounds {
                pi[i].wait().await;
                po[i].open();
            }
        });
        for i in 0..rounds {
            pings[i].open();
            pongs[i].wait().await;
        }
        ponger.await.unwrap();
    });
}
