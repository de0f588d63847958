//! The asyncio tutorial programs of `SEED-PROGRAMS.md` (1–8, those the
//! runtime supports so far), as behaviour tests.
//!
//! Timing is checked exactly on a paused (virtual) clock, which only the
//! current_thread flavor offers: elapsed virtual time is deterministic
//! there. On the multi_thread flavors the same programs run on the real
//! clock with short units, and only outcomes, orderings that the model
//! guarantees, and "never early" lower bounds are asserted.

mod common;

use std::time::Duration;

use aio::runtime::Builder;
use aio::time::Instant;
use common::{on_all_flavors, Flavor, Log, Watchdog, WATCHDOG};

/// A paused current_thread runtime: time only moves when every task is
/// idle, straight to the next timer.
fn paused() -> aio::runtime::Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

/// The time unit of a seed program: a second on the virtual clock, a few
/// milliseconds on the real one.
///
/// Used with [`on_all_flavors_paused`], whose current_thread runtime is
/// paused.
fn unit(flavor: Flavor) -> Duration {
    match flavor {
        Flavor::CurrentThread => Duration::from_secs(1),
        Flavor::MultiThread(_) => Duration::from_millis(20),
    }
}

/// Runs `body` on every flavor; the current_thread one has a paused clock.
fn on_all_flavors_paused<F, Fut>(body: F)
where
    F: Fn(Flavor) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    common::on_all_flavors_with(
        |flavor, b| {
            if flavor.is_current_thread() {
                b.start_paused(true);
            }
        },
        body,
    );
}

async fn say_after(log: Log, delay: Duration, what: &'static str) -> Instant {
    aio::sleep(delay).await;
    log.push(what);
    Instant::now()
}

/// Seed 1: hello, pause, world — through `run` and through explicit
/// `block_on` calls on one runtime.
#[test]
fn seed1_hello_pause_world() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    let log = Log::new();
    let l = log.clone();
    let elapsed = paused().run(async move {
        let start = Instant::now();
        l.push("Hello ...");
        aio::sleep(Duration::from_secs(1)).await;
        l.push("... World!");
        start.elapsed()
    });
    assert_eq!(elapsed, Duration::from_secs(1));
    assert_eq!(log.get(), ["Hello ...", "... World!"]);

    let rt = paused();
    for _ in 0..2 {
        let d = rt.block_on(async {
            let start = Instant::now();
            aio::sleep(Duration::from_secs(1)).await;
            start.elapsed()
        });
        assert_eq!(d, Duration::from_secs(1));
    }
}

/// Seed 2, sequential: awaiting say_after(1) then say_after(2) takes 3.
#[test]
fn seed2_sequential_awaits_take_the_sum() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    let log = Log::new();
    let l = log.clone();
    let (elapsed, t1, t2, start) = paused().run(async move {
        let start = Instant::now();
        let t1 = say_after(l.clone(), Duration::from_secs(1), "hello").await;
        let t2 = say_after(l.clone(), Duration::from_secs(2), "world").await;
        (start.elapsed(), t1, t2, start)
    });
    assert_eq!(elapsed, Duration::from_secs(3));
    assert_eq!(t1 - start, Duration::from_secs(1));
    assert_eq!(t2 - start, Duration::from_secs(3));
    assert_eq!(log.get(), ["hello", "world"]);
}

/// Seed 2, concurrent: two create_task'ed sleeps of 1 and 2 finish at 2.
#[test]
fn seed2_concurrent_tasks_take_the_longest() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    let log = Log::new();
    let l = log.clone();
    let (elapsed, t1, t2) = paused().run(async move {
        let start = Instant::now();
        let a = aio::create_task(say_after(l.clone(), Duration::from_secs(1), "hello"));
        let b = aio::create_task(say_after(l.clone(), Duration::from_secs(2), "world"));
        let t1 = a.await.unwrap() - start;
        let t2 = b.await.unwrap() - start;
        (start.elapsed(), t1, t2)
    });
    assert_eq!(t1, Duration::from_secs(1));
    assert_eq!(t2, Duration::from_secs(2));
    assert_eq!(elapsed, Duration::from_secs(2));
    assert_eq!(log.get(), ["hello", "world"]);
}

/// Seed 2 on every flavor: both finish, never early, results in order.
#[test]
fn seed2_on_every_flavor() {
    on_all_flavors_paused(|flavor| async move {
        let u = unit(flavor);
        let log = Log::new();
        let start = Instant::now();
        let a = aio::create_task(say_after(log.clone(), u, "hello"));
        let b = aio::create_task(say_after(log.clone(), 2 * u, "world"));
        let ta = a.await.unwrap();
        let tb = b.await.unwrap();
        assert!(ta - start >= u, "{flavor:?}: never early");
        assert!(tb - start >= 2 * u, "{flavor:?}: never early");
        if flavor.is_current_thread() {
            assert_eq!((ta - start, tb - start), (u, 2 * u));
            assert_eq!(log.get(), ["hello", "world"]);
        }
        let mut got = log.get();
        got.sort();
        assert_eq!(got, ["hello", "world"]);

        let start = Instant::now();
        say_after(log.clone(), u, "a").await;
        say_after(log.clone(), 2 * u, "b").await;
        assert!(
            start.elapsed() >= 3 * u,
            "{flavor:?}: sequential is the sum"
        );
        if flavor.is_current_thread() {
            assert_eq!(start.elapsed(), 3 * u);
        }
        assert_eq!(&log.get()[2..], ["a", "b"]);
    });
}

async fn go(delay: u64, what: &'static str, unit: Duration) -> String {
    aio::sleep(unit * delay as u32).await;
    format!("{what}({delay})")
}

/// Seed 3: gathering tasks returns results in argument order, not
/// completion order, after the longest delay.
#[test]
fn seed3_gather_returns_argument_order() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    let s = Duration::from_secs(1);
    let (results, elapsed) = paused().run(async move {
        let start = Instant::now();
        let tasks = vec![
            aio::create_task(go(2, "hello", s)),
            aio::create_task(go(1, "world", s)),
            aio::create_task(go(3, "again", s)),
        ];
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        (out, start.elapsed())
    });
    assert_eq!(results, ["hello(2)", "world(1)", "again(3)"]);
    assert_eq!(elapsed, Duration::from_secs(3));

    on_all_flavors_paused(|flavor| async move {
        let u = unit(flavor);
        let start = Instant::now();
        let tasks: Vec<_> = (0..6u64)
            .map(|i| aio::create_task(go(6 - i, "t", u)))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        let want: Vec<String> = (0..6u64).map(|i| format!("t({})", 6 - i)).collect();
        assert_eq!(out, want);
        assert!(start.elapsed() >= 6 * u);
        if flavor.is_current_thread() {
            assert_eq!(
                start.elapsed(),
                6 * u,
                "concurrent: the longest, not the sum"
            );
        }
    });
}

/// Seeds 4 and 5: a task's result comes back through await; `await
/// create_task(c)` is `await c`.
#[test]
fn seed4_and_5_await_returns_values() {
    async fn long_running_task() -> &'static str {
        aio::task::yield_now().await;
        "Result"
    }
    async fn async_add(a: i32, b: i32) -> i32 {
        a + b
    }
    on_all_flavors(|_| async {
        let t = aio::create_task(long_running_task());
        assert_eq!(
            format!("Task result: {}", t.await.unwrap()),
            "Task result: Result"
        );
        assert_eq!(async_add(100, 200).await, 300);
        assert_eq!(aio::create_task(async_add(100, 200)).await.unwrap(), 300);
    });
}

async fn count(log: Log, n: usize) -> usize {
    for i in 0..n {
        log.push(i.to_string());
    }
    n
}

/// Seed 6, exactly (current_thread, virtual clock): the created task runs
/// nothing until main's first yield, then all of it before main resumes.
#[test]
fn seed6_a_task_runs_only_when_its_creator_yields() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    let log = Log::new();
    let l = log.clone();
    paused().run(async move {
        let start = Instant::now();
        let mut t = aio::create_task(count(l.clone(), 10));
        // Synchronous work after create_task: the task has not run.
        for _ in 0..1000 {
            std::hint::black_box(0);
        }
        assert_eq!(l.len(), 0, "nothing printed before main yields");
        l.push("Hello Coroutine World");
        aio::sleep(Duration::from_secs(5)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let mut want = vec!["Hello Coroutine World".to_string()];
        want.extend((0..10).map(|i| i.to_string()));
        assert_eq!(l.get(), want);
        // Awaiting afterwards gives the result at once.
        assert!(t.is_done());
        assert_eq!(t.result().unwrap(), 10);
    });
}

/// Seed 6 on every flavor. On multi_thread the task may run on a worker
/// before main yields (no GIL), so only the outcome is checked.
#[test]
fn seed6_on_every_flavor() {
    on_all_flavors(|flavor| async move {
        let log = Log::new();
        let t = aio::create_task(count(log.clone(), 10));
        if flavor.is_current_thread() {
            assert_eq!(log.len(), 0);
        }
        assert_eq!(t.await.unwrap(), 10);
        let want: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        assert_eq!(log.get(), want);
    });
}

/// current_thread runs ready tasks in FIFO order, as asyncio does: each
/// yield puts the task at the back of the queue.
#[test]
fn current_thread_interleaving_is_fifo() {
    let _dog = Watchdog::new("current_thread", WATCHDOG);
    let log = Log::new();
    let l = log.clone();
    Builder::new_current_thread()
        .build()
        .unwrap()
        .run(async move {
            let mut tasks = Vec::new();
            for name in ["A", "B", "C"] {
                let l = l.clone();
                tasks.push(aio::spawn(async move {
                    for i in 0..3 {
                        l.push(format!("{name}{i}"));
                        aio::task::yield_now().await;
                    }
                }));
            }
            l.push("main0");
            aio::task::yield_now().await;
            l.push("main1");
            aio::sleep(Duration::ZERO).await; // yields exactly once
            l.push("main2");
            for t in tasks {
                t.await.unwrap();
            }
        });
    assert_eq!(
        log.get(),
        ["main0", "A0", "B0", "C0", "main1", "A1", "B1", "C1", "main2", "A2", "B2", "C2"]
    );
}

/// `sleep(Duration::ZERO)` yields exactly once: a task spawned before it
/// runs exactly one step in between (current_thread, exact).
#[test]
fn sleep_zero_yields_exactly_once() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    paused().run(async {
        let steps = common::Counter::new();
        let s = steps.clone();
        let t = aio::spawn(async move {
            loop {
                s.bump();
                aio::task::yield_now().await;
            }
        });
        let start = Instant::now();
        for expected in 1..=5 {
            aio::sleep(Duration::ZERO).await;
            assert_eq!(steps.get(), expected);
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        t.cancel();
    });
}

/// Virtual time: many timers fire in deadline order at exact instants,
/// whatever order they were created in.
#[test]
fn virtual_timers_fire_in_deadline_order_at_exact_instants() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    let log = Log::new();
    let l = log.clone();
    paused().run(async move {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for ms in [700u64, 100, 500, 300, 900, 200] {
            let l = l.clone();
            tasks.push(aio::spawn(async move {
                aio::sleep(Duration::from_millis(ms)).await;
                let at = start.elapsed();
                l.push(format!("{ms}@{}", at.as_millis()));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_millis(900));
    });
    assert_eq!(
        log.get(),
        ["100@100", "200@200", "300@300", "500@500", "700@700", "900@900"]
    );
}

/// `time::advance` moves the paused clock by exactly the given amount and
/// fires the timers due meanwhile.
#[test]
fn advance_moves_the_virtual_clock() {
    let _dog = Watchdog::new("paused", WATCHDOG);
    paused().run(async {
        let start = Instant::now();
        let fired = common::Counter::new();
        let f = fired.clone();
        let t = aio::spawn(async move {
            aio::sleep(Duration::from_secs(10)).await;
            f.bump();
        });
        aio::task::yield_now().await; // the sleep is registered
        aio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(4));
        assert_eq!(fired.get(), 0);
        aio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        t.await.unwrap();
        assert_eq!(fired.get(), 1);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    });
}
