//! TaskGroup (asyncio 3.11 semantics) and TaskSet, on every flavor.

mod common;

use std::time::Duration;

use aio::task::{task_group, ChildError, TaskGroup, TaskSet};
use common::{on_all_flavors, Counter};

#[test]
fn the_group_waits_for_every_child_and_returns_the_body_value() {
    on_all_flavors(|_| async {
        let done = Counter::new();
        let r = task_group(async |tg: &TaskGroup<String>| {
            for i in 0..10u64 {
                let d = done.clone();
                let _ = tg.spawn(async move {
                    aio::sleep(Duration::from_millis(i)).await;
                    d.bump();
                    Ok::<_, String>(())
                });
            }
            Ok("body")
        })
        .await;
        assert_eq!(r.unwrap(), "body");
        assert_eq!(
            done.get(),
            10,
            "every child finished before the group returned"
        );
    });
}

#[test]
fn the_first_failure_cancels_the_body_and_the_siblings_and_is_collected() {
    on_all_flavors(|_| async {
        let sibling_drops = Counter::new();
        let body_drops = Counter::new();
        let (sd, bd) = (sibling_drops.clone(), body_drops.clone());
        let r: Result<(), _> = task_group(async move |tg: &TaskGroup<&'static str>| {
            let _body_guard = bd.drop_guard();
            for _ in 0..3 {
                let g = sd.drop_guard();
                let _ = tg.spawn(async move {
                    let _g = g;
                    std::future::pending::<Result<(), &str>>().await
                });
            }
            let _ = tg.spawn(async { Err::<(), _>("first") });
            std::future::pending::<()>().await;
            Ok(())
        })
        .await;
        let err = r.unwrap_err();
        assert!(
            matches!(err.errors(), [ChildError::Err("first")]),
            "{err:?}"
        );
        assert_eq!(sibling_drops.get(), 3, "siblings cancelled and dropped");
        assert_eq!(body_drops.get(), 1, "the body was cancelled");
    });
}

#[test]
fn a_panicking_child_is_collected_and_its_handle_is_failed() {
    on_all_flavors(|_| async {
        let handle_was_failed = Counter::new();
        let hf = handle_was_failed.clone();
        let r: Result<(), _> = task_group(async move |tg: &TaskGroup<&'static str>| {
            let child = tg.spawn(async {
                aio::task::yield_now().await;
                if true {
                    panic!("child panic");
                }
                Ok::<(), &str>(())
            });
            // The handle is awaited from a sibling, since the body itself is
            // cancelled as soon as the child fails.
            let _ = tg.spawn(async move {
                if child.await.unwrap_err().is_failed() {
                    hf.bump();
                }
                Ok(())
            });
            std::future::pending::<()>().await;
            Ok(())
        })
        .await;
        let errs = r.unwrap_err().into_errors();
        assert_eq!(errs.len(), 1);
        assert!(
            matches!(&errs[0], ChildError::Panic(p) if p.downcast_ref::<&str>() == Some(&"child panic"))
        );
        // The sibling awaiting it was itself cancelled, or saw is_failed.
        assert!(handle_was_failed.get() <= 1);
    });
}

/// A child that fails is failed, not cancelled, though the group's cancel
/// of every child reached it in the poll that failed (asyncio: `cancelled()`
/// is False); the same for a task cancelled in the poll in which it panics.
#[test]
fn a_failed_child_is_not_reported_cancelled() {
    on_all_flavors(|_| async {
        let mut kept = None;
        let r = task_group(async |tg: &TaskGroup<&'static str>| {
            kept = Some(tg.spawn(async { Err::<(), _>("boom") }));
            std::future::pending::<()>().await;
            Ok(())
        })
        .await;
        assert_eq!(r.unwrap_err().into_errors().len(), 1);
        let child = kept.unwrap();
        assert!(child.is_done());
        assert!(!child.is_cancelled(), "{child:?}");
        assert!(child.await.unwrap_err().is_failed());

        let mut t = aio::spawn(async {
            aio::task::current().unwrap().cancel();
            panic!("after the cancel");
        });
        assert!((&mut t).await.unwrap_err().is_panic());
        assert!(!t.is_cancelled());
    });
}

/// When the group returns, every child's handle says done (the group
/// counted a child out when its future was dropped, just before the
/// child's worker stored the output and marked it complete).
#[test]
fn every_child_is_done_when_the_group_returns() {
    on_all_flavors(|_| async {
        for _ in 0..common::scaled(2000) {
            let mut kept = None;
            let r = task_group(async |tg: &TaskGroup<()>| {
                kept = Some(tg.spawn(async { Ok::<_, ()>(1u8) }));
                Ok(())
            })
            .await;
            r.unwrap();
            let mut child = kept.unwrap();
            assert!(child.is_done(), "a child not done after its group");
            assert_eq!(child.result().unwrap(), 1);
        }
    });
}

#[test]
fn the_body_error_comes_first() {
    // current_thread: the order of the two failures is exact there.
    aio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .run(async {
            let r: Result<(), _> = task_group(async |tg: &TaskGroup<&'static str>| {
                // A child whose cancellation is refused by shielding its work:
                // it fails after the body's error.
                let inner = aio::task::shield(async {
                    aio::task::yield_now().await;
                    Err::<(), &str>("child")
                });
                let _ = tg.spawn(async move { inner.await.unwrap() });
                Err("body")
            })
            .await;
            let errs = r.unwrap_err().into_errors();
            assert!(
                matches!(errs[0], ChildError::Err("body")),
                "the body's own error first"
            );
        });
}

#[test]
fn a_child_cancelling_itself_is_not_a_failure() {
    on_all_flavors(|_| async {
        let r = task_group(async |tg: &TaskGroup<()>| {
            let c = tg.spawn(std::future::pending::<Result<(), ()>>());
            c.cancel();
            assert!(c.await.unwrap_err().is_cancelled());
            Ok(5)
        })
        .await;
        assert_eq!(r.unwrap(), 5);
    });
}

#[test]
fn spawn_after_failure_gives_a_cancelled_never_polled_task() {
    on_all_flavors(|_| async {
        let polls = Counter::new();
        let p = polls.clone();
        let r: Result<(), _> = task_group(async move |tg: &TaskGroup<u8>| {
            let h = tg.handle();
            let failing = tg.spawn(async { Err::<(), u8>(1) });
            let _ = (&mut { failing }).await;
            // The group has failed: a late spawn is cancelled, never polled.
            let late = h.spawn(async move {
                p.bump();
                Ok::<(), u8>(())
            });
            assert!(late.await.unwrap_err().is_cancelled());
            Ok(())
        })
        .await;
        assert!(r.is_err());
        assert_eq!(polls.get(), 0);
    });
}

#[test]
fn cancelling_the_task_running_the_group_cancels_every_child() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let d = drops.clone();
        let started = common::Latch::counting(5);
        let s = started.clone();
        let runner = aio::spawn(async move {
            let _ = task_group(async move |tg: &TaskGroup<()>| {
                for _ in 0..5 {
                    let g = d.drop_guard();
                    let s = s.clone();
                    let _ = tg.spawn(async move {
                        let _g = g;
                        s.count_down();
                        std::future::pending::<Result<(), ()>>().await
                    });
                }
                std::future::pending::<()>().await;
                Ok(())
            })
            .await;
        });
        started.wait().await;
        runner.cancel();
        assert!(runner.await.unwrap_err().is_cancelled());
        let t0 = std::time::Instant::now();
        while drops.get() < 5 {
            aio::task::yield_now().await;
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "children never cancelled"
            );
        }
    });
}

#[test]
fn children_spawn_siblings_through_the_handle() {
    on_all_flavors(|_| async {
        let n = Counter::new();
        let r = task_group(async |tg: &TaskGroup<()>| {
            let h = tg.handle();
            let n2 = n.clone();
            let _ = tg.spawn(async move {
                let n3 = n2.clone();
                let _ = h.spawn(async move {
                    n3.bump();
                    Ok(())
                });
                n2.bump();
                Ok(())
            });
            Ok(())
        })
        .await;
        assert!(r.is_ok());
        assert_eq!(
            n.get(),
            2,
            "the sibling spawned by a child ran before the group ended"
        );
    });
}

#[test]
fn task_set_joins_in_completion_order_and_drop_cancels() {
    aio::runtime::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
        .run(async {
            let mut set = TaskSet::new();
            for d in [30u64, 10, 20] {
                set.spawn(async move {
                    aio::sleep(Duration::from_millis(d)).await;
                    d
                });
            }
            assert_eq!(set.len(), 3);
            let mut order = Vec::new();
            while let Some(r) = set.join_next().await {
                order.push(r.unwrap());
            }
            assert_eq!(order, [10, 20, 30]);
            assert!(set.is_empty());
            let drops = Counter::new();
            let mut set2 = TaskSet::new();
            for _ in 0..4 {
                let g = drops.drop_guard();
                set2.spawn(async move {
                    let _g = g;
                    std::future::pending::<()>().await
                });
            }
            aio::task::yield_now().await;
            drop(set2);
            aio::task::yield_now().await;
            assert_eq!(drops.get(), 4, "dropping the set cancelled its tasks");
        });
}

#[test]
fn task_set_cancel_all_and_join_on_every_flavor() {
    on_all_flavors(|_| async {
        let mut set = TaskSet::new();
        for _ in 0..50 {
            set.spawn(std::future::pending::<()>());
        }
        set.cancel_all();
        let mut n = 0;
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap_err().is_cancelled());
            n += 1;
        }
        assert_eq!(n, 50);
    });
}

/// A spawn after the group has failed returns a task that is already
/// cancelled and done when `spawn` returns, whose future was never polled
/// (API.md; issue 12, item 4). The late spawn happens in the destructor of
/// a sibling that the failure cancels: the group has failed, and has not
/// ended (it waits for that sibling). A spawn through a handle kept after
/// the group ended behaves the same.
#[test]
fn spawn_after_failure_is_cancelled_and_done_when_spawn_returns() {
    use std::sync::{Arc, Mutex};

    /// (is_cancelled, is_done) of the late task, right after `spawn`.
    type Seen = Arc<Mutex<Option<(bool, bool)>>>;

    struct SpawnOnDrop {
        group: aio::task::TaskGroupHandle<u8>,
        polls: Counter,
        seen: Seen,
    }
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let p = self.polls.clone();
            let late = self.group.spawn(async move {
                p.bump();
                Ok::<(), u8>(())
            });
            *self.seen.lock().unwrap() = Some((late.is_cancelled(), late.is_done()));
        }
    }

    on_all_flavors(|flavor| async move {
        let polls = Counter::new();
        let seen: Seen = Arc::default();
        let kept: Arc<Mutex<Option<aio::task::TaskGroupHandle<u8>>>> = Arc::default();
        let (p, s, k) = (polls.clone(), seen.clone(), kept.clone());
        let r: Result<(), _> = task_group(async move |tg: &TaskGroup<u8>| {
            *k.lock().unwrap() = Some(tg.handle());
            let guard = SpawnOnDrop {
                group: tg.handle(),
                polls: p,
                seen: s,
            };
            let _sibling = tg.spawn(async move {
                let _guard = guard;
                std::future::pending::<Result<(), u8>>().await
            });
            let _failing = tg.spawn(async { Err::<(), u8>(1) });
            std::future::pending::<()>().await;
            Ok(())
        })
        .await;
        assert!(r.is_err(), "{flavor:?}");
        assert_eq!(
            *seen.lock().unwrap(),
            Some((true, true)),
            "{flavor:?}: (is_cancelled, is_done) when spawn returned after the failure"
        );
        // After the group ended.
        let handle = kept.lock().unwrap().take().unwrap();
        let p = polls.clone();
        let mut after_end = handle.spawn(async move {
            p.bump();
            Ok::<(), u8>(())
        });
        assert!(after_end.is_cancelled(), "{flavor:?}");
        assert!(after_end.is_done(), "{flavor:?}");
        assert!((&mut after_end).await.unwrap_err().is_cancelled());
        assert_eq!(polls.get(), 0, "{flavor:?}: a late child was polled");
    });
}

/// `TaskSet::join_next` spends the cooperative budget like a plain task
/// join (tokio's `join_set_coop`; issue 12, item 11): over 1,000 finished
/// tasks, a loop of `join_next` must return `Pending` at least once, so it
/// yields to the other tasks of its worker.
#[test]
fn task_set_join_next_spends_the_cooperative_budget() {
    // More than the budget (128 units) in any case; fewer under Miri.
    const TASKS: usize = if cfg!(miri) { 200 } else { 1000 };
    on_all_flavors(|flavor| async move {
        let mut set = TaskSet::new();
        let refs: Vec<_> = (0..TASKS).map(|_| set.spawn(async {})).collect();
        common::yield_until(|| refs.iter().all(|r| r.is_done())).await;
        let (mut joined, mut pending) = (0, 0);
        loop {
            let mut next = Box::pin(set.join_next());
            match common::poll_once(&mut next).await {
                Some(Some(r)) => {
                    r.unwrap();
                    joined += 1;
                }
                Some(None) => break,
                None => {
                    pending += 1;
                    drop(next);
                    aio::task::yield_now().await;
                }
            }
        }
        assert_eq!(joined, TASKS, "{flavor:?}");
        assert!(
            pending >= 1,
            "{flavor:?}: join_next never ran out of budget over {TASKS} finished tasks"
        );
    });
}
