//! gather!/gather, try_gather!, wait (FIRST_COMPLETED, FIRST_EXCEPTION,
//! ALL_COMPLETED, timeout), as_completed, shield, select!, Promise. Timing
//! assertions use the virtual clock (current_thread, paused); the rest run
//! on every flavor.

mod common;

use std::future::poll_fn;
use std::time::Duration;

use aio::future::{as_completed, wait, wait_fallible, Promise, ReturnWhen};
use aio::stream::Stream;
use aio::time::Instant;
use common::{ms, on_all_flavors, paused, Counter};

async fn go(delay: u64, what: &'static str) -> String {
    aio::sleep(ms(delay)).await;
    format!("{what}({delay})")
}

#[test]
fn gather_returns_argument_order_after_the_longest() {
    paused(async {
        let start = Instant::now();
        let (a, b) = aio::gather!(go(2000, "hello"), go(1000, "world")).await;
        assert_eq!((a.as_str(), b.as_str()), ("hello(2000)", "world(1000)"));
        assert_eq!(start.elapsed(), ms(2000));
        let all = aio::future::gather((1..=5u64).rev().map(|i| go(i * 10, "x"))).await;
        assert_eq!(all[0], "x(50)");
        assert_eq!(start.elapsed(), ms(2050));
    });
}

#[test]
fn gather_polls_in_the_caller_and_takes_tasks() {
    on_all_flavors(|_| async {
        let t = aio::spawn(async { 40 });
        let (a, b, c) = aio::gather!(t, async { 1 }, async { 1 }).await;
        assert_eq!((a.unwrap(), b, c), (40, 1, 1));
    });
}

#[test]
fn try_gather_returns_the_first_error_at_once_and_drops_the_rest() {
    paused(async {
        let drops = Counter::new();
        let g = drops.drop_guard();
        let start = Instant::now();
        let slow = async move {
            let _g = g;
            aio::sleep(Duration::from_secs(3600)).await;
            Ok::<u8, &str>(1)
        };
        let fail = async {
            aio::sleep(ms(10)).await;
            Err::<u8, &str>("bad")
        };
        assert_eq!(aio::try_gather!(slow, fail).await, Err("bad"));
        assert_eq!(start.elapsed(), ms(10), "did not wait for the slow one");
        assert_eq!(drops.get(), 1, "the slow future was dropped");
        // A task passed by value is cancelled.
        let task = aio::spawn(aio::sleep(Duration::from_secs(3600)));
        let r = task.task_ref();
        let t = async move {
            task.await.unwrap();
            Ok::<(), &str>(())
        };
        assert_eq!(
            aio::try_gather!(t, async { Err::<(), _>("x") }).await,
            Err("x")
        );
        aio::task::yield_now().await;
        assert!(r.is_cancelled());
        let v: Result<Vec<u64>, &str> =
            aio::future::try_gather([1u64, 2].map(|i| async move { Ok(i) })).await;
        assert_eq!(v, Ok(vec![1, 2]));
    });
}

#[test]
fn wait_first_completed_all_completed_and_timeout() {
    paused(async {
        let start = Instant::now();
        let tasks = [30u64, 10, 20].map(|d| aio::spawn(aio::sleep(ms(d))));
        let ids: Vec<_> = tasks.iter().map(|t| t.id()).collect();
        let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
        assert_eq!(start.elapsed(), ms(10));
        assert_eq!(done.iter().map(|t| t.id()).collect::<Vec<_>>(), [ids[1]]);
        assert_eq!(
            pending.iter().map(|t| t.id()).collect::<Vec<_>>(),
            [ids[0], ids[2]],
            "input order"
        );
        let (done, pending) = wait(pending, ReturnWhen::FirstCompleted, ms(5)).await;
        assert_eq!(
            (done.len(), pending.len()),
            (0, 2),
            "timeout: nothing done, nothing cancelled"
        );
        assert!(pending.iter().all(|t| !t.is_cancelled()));
        let (done, pending) = wait(pending, ReturnWhen::AllCompleted, None).await;
        assert_eq!((done.len(), pending.len()), (2, 0));
        assert_eq!(start.elapsed(), ms(30));
        let (d, p) = wait(
            Vec::<aio::task::Task<()>>::new(),
            ReturnWhen::AllCompleted,
            None,
        )
        .await;
        assert!(d.is_empty() && p.is_empty());
        assert_eq!(start.elapsed(), ms(30), "empty input returns at once");
    });
}

#[test]
fn wait_first_exception_fires_on_a_panic_or_an_err() {
    paused(async {
        let start = Instant::now();
        let boom = aio::spawn(async {
            aio::sleep(ms(5)).await;
            panic!("boom")
        });
        let slow = aio::spawn(aio::sleep(Duration::from_secs(60)));
        let (done, pending) = wait([boom, slow], ReturnWhen::FirstException, None).await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        assert_eq!(start.elapsed(), ms(5));
        let mut done = done;
        assert!(done[0].result().unwrap_err().is_panic());
        pending[0].cancel();
        let err = aio::spawn(async { Err::<(), &str>("e") });
        let slow = aio::spawn(async {
            aio::sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        let (done, pending) = wait_fallible([err, slow], ReturnWhen::FirstException, None).await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        pending[0].cancel();
    });
}

#[test]
fn as_completed_yields_in_completion_order_and_times_out() {
    paused(async {
        let mut s = Box::pin(as_completed([30u64, 10, 20].map(|d| go(d, "t"))));
        let mut order = Vec::new();
        while let Some(v) = poll_fn(|cx| s.as_mut().poll_next(cx)).await {
            order.push(v);
        }
        assert_eq!(order, ["t(10)", "t(20)", "t(30)"]);
        let start = Instant::now();
        let mut s = Box::pin(as_completed([5u64, 100].map(|d| go(d, "u"))).with_timeout(ms(50)));
        assert_eq!(
            poll_fn(|cx| s.as_mut().poll_next(cx)).await,
            Some(Ok("u(5)".into()))
        );
        assert!(poll_fn(|cx| s.as_mut().poll_next(cx))
            .await
            .unwrap()
            .is_err());
        assert_eq!(start.elapsed(), ms(50));
        assert!(poll_fn(|cx| s.as_mut().poll_next(cx)).await.is_none());
    });
}

#[test]
fn shield_keeps_the_work_running_under_wait_for() {
    paused(async {
        let done = Counter::new();
        let d = done.clone();
        let shielded = aio::task::shield(async move {
            aio::sleep(ms(100)).await;
            d.bump();
            7
        });
        assert!(aio::wait_for(shielded, ms(10)).await.is_err());
        aio::sleep(ms(200)).await;
        assert_eq!(
            done.get(),
            1,
            "the shielded work finished although its awaiter timed out"
        );
    });
}

#[test]
fn select_runs_the_first_ready_branch_and_drops_the_others() {
    paused(async {
        let drops = Counter::new();
        let g = drops.drop_guard();
        let loser = async move {
            let _g = g;
            aio::sleep(Duration::from_secs(60)).await;
            String::from("slow")
        };
        let out = aio::select! {
            v = loser => v,
            v = go(10, "fast") => { assert_eq!(drops.get(), 1, "losers dropped before the body"); v }
        };
        assert_eq!(out, "fast(10)");
        // biased: the first ready branch in written order wins.
        let n = aio::select! {
            biased;
            a = async { 1 } => a,
            b = async { 2 } => b,
        };
        assert_eq!(n, 1);
        // A refutable pattern that does not match disables its branch.
        let n = aio::select! {
            Some(x) = async { None::<u8> } => x,
            y = async { aio::sleep(ms(1)).await; 9u8 } => y,
        };
        assert_eq!(n, 9);
        let e = aio::select! {
            Some(x) = async { None::<u8> } => x,
            else => 42,
        };
        assert_eq!(e, 42);
    });
}

/// Patterns as in `match`: `mut` and `ref mut` bindings inside a
/// destructuring pattern (they failed to compile: the match check moved out
/// of a reference), and a block body followed without a comma by a branch
/// whose pattern starts with `(`, `[` or `&` (read as a call, an index).
#[test]
#[deny(unused_mut)]
fn select_takes_mut_and_ref_bindings_and_block_bodies_before_tuple_patterns() {
    paused(async {
        let s = aio::select! {
            Some(mut v) = async { Some(String::from("a")) } => { v.push('b'); v }
            else => String::new(),
        };
        assert_eq!(s, "ab");
        let n = aio::select! {
            (Some(ref mut n), _) = async { (Some(1u32), 0u8) } => { *n += 1; *n }
            else => 0,
        };
        assert_eq!(n, 2);
        let n = aio::select! {
            biased;
            v = async { 1 } => { v }
            (a, b) = async { (2, 3) } => { a + b }
            [x, y] = async { [4, 5] } => { x + y }
        };
        assert_eq!(n, 1);
    });
}

#[test]
fn select_is_fair_without_biased() {
    on_all_flavors(|_| async {
        let mut wins = [0u32; 2];
        for _ in 0..200 {
            let i = aio::select! {
                _ = async {} => 0,
                _ = async {} => 1,
            };
            wins[i] += 1;
        }
        assert!(
            wins[0] > 20 && wins[1] > 20,
            "both branches win sometimes: {wins:?}"
        );
    });
}

#[test]
fn promise_is_set_once_and_awaited_by_many() {
    on_all_flavors(|_| async {
        let p = Promise::new();
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let p = p.clone();
                aio::spawn(async move { p.wait().await.unwrap() })
            })
            .collect();
        assert!(p.try_result().unwrap_err().is_invalid_state());
        p.set_result(3u32).unwrap();
        assert!(p.set_result(4).is_err());
        assert!(!p.cancel(), "already done");
        for w in waiters {
            assert_eq!(w.await.unwrap(), 3);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        p.add_done_callback(move |p| tx.send(p.try_result().unwrap()).unwrap());
        assert_eq!(aio::to_thread(move || rx.recv().unwrap()).await, 3);
        let c = Promise::<u8>::new();
        assert!(c.cancel());
        assert!(c.wait().await.unwrap_err().is_cancelled());
    });
}
