//! Context variables: a spawned task gets a copy of its spawner's context
//! (isolated both ways), callbacks and `to_thread` closures run in the
//! context current when scheduled, `task::Builder::context` shares a
//! context, defaults, `Token` reset, `Context::run` / `scope`. Each test
//! runs on current_thread, multi_thread with 1 worker and with 4.

mod common;

use std::time::Duration;

use aio::context::{Context, ContextVar};
use aio::runtime::Handle;
use common::{on_all_flavors, Latch};

static REQUEST: ContextVar<u32> = ContextVar::new("request");
static USER: ContextVar<String> = ContextVar::with_default("user", || "anonymous".into());

#[test]
fn spawned_task_gets_a_copy_isolated_both_ways() {
    on_all_flavors(|_| async {
        REQUEST.set(1);
        let parent_changed = Latch::new();
        let child_set = Latch::new();
        let child = {
            let (parent_changed, child_set) = (parent_changed.clone(), child_set.clone());
            aio::spawn(async move {
                assert_eq!(REQUEST.get(), Some(1), "inherited at spawn");
                parent_changed.wait().await;
                // The parent's later set is not seen here.
                let seen = REQUEST.get();
                REQUEST.set(100);
                child_set.open();
                (seen, REQUEST.get())
            })
        };
        REQUEST.set(2);
        parent_changed.open();
        child_set.wait().await;
        assert_eq!(
            REQUEST.get(),
            Some(2),
            "the child's set is not seen by the parent"
        );
        assert_eq!(child.await.unwrap(), (Some(1), Some(100)));
    });
}

#[test]
fn grandchildren_inherit_from_their_own_parent() {
    on_all_flavors(|_| async {
        USER.set("root".into());
        let got = aio::spawn(async {
            USER.set("child".into());
            aio::spawn(async { USER.get() }).await.unwrap()
        })
        .await
        .unwrap();
        assert_eq!(got.as_deref(), Some("child"));
        assert_eq!(USER.get().as_deref(), Some("root"));
    });
}

#[test]
fn tasks_spawned_with_no_context_see_defaults() {
    on_all_flavors(|_| async {
        let got = aio::spawn(async { (REQUEST.get(), USER.get()) })
            .await
            .unwrap();
        assert_eq!(got, (None, Some("anonymous".to_string())));
        assert_eq!(REQUEST.get_or(7), 7);
    });
}

#[test]
fn set_in_a_task_persists_across_its_awaits() {
    on_all_flavors(|_| async {
        let t = aio::spawn(async {
            REQUEST.set(5);
            for _ in 0..3 {
                aio::task::yield_now().await;
                aio::sleep(Duration::from_millis(1)).await;
            }
            REQUEST.get()
        });
        assert_eq!(t.await.unwrap(), Some(5));
        assert_eq!(REQUEST.get(), None);
    });
}

#[test]
fn callbacks_run_in_the_context_current_when_scheduled() {
    on_all_flavors(|_| async {
        let h = Handle::current();
        let (tx, rx) = std::sync::mpsc::channel();
        REQUEST.set(10);
        let t1 = tx.clone();
        h.call_soon(move || {
            t1.send(("soon", REQUEST.get())).unwrap();
            REQUEST.set(999); // not seen by anyone else
        });
        let t2 = tx.clone();
        h.call_later(Duration::from_millis(2), move || {
            t2.send(("later", REQUEST.get())).unwrap()
        });
        REQUEST.set(11);
        let t3 = tx.clone();
        h.call_soon(move || t3.send(("soon2", REQUEST.get())).unwrap());
        let got = aio::to_thread(move || {
            let mut v: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
            v.sort();
            v
        })
        .await;
        assert_eq!(
            got,
            [("later", Some(10)), ("soon", Some(10)), ("soon2", Some(11))]
        );
        assert_eq!(REQUEST.get(), Some(11));
    });
}

#[test]
fn to_thread_closures_see_the_scheduling_context() {
    on_all_flavors(|_| async {
        REQUEST.set(42);
        let got = aio::to_thread(|| {
            let seen = REQUEST.get();
            REQUEST.set(0);
            seen
        })
        .await;
        assert_eq!(got, Some(42));
        assert_eq!(REQUEST.get(), Some(42));
        // A later closure on a reused pool thread starts clean again.
        let again = aio::to_thread(|| REQUEST.get()).await;
        assert_eq!(again, Some(42));
    });
}

#[test]
fn builder_context_is_shared() {
    on_all_flavors(|_| async {
        let ctx = Context::new();
        ctx.run(|| USER.set("shared".into()));
        let a = aio::task::Builder::new().context(ctx.clone()).spawn(async {
            let seen = USER.get();
            REQUEST.set(1);
            seen
        });
        assert_eq!(a.await.unwrap().as_deref(), Some("shared"));
        // The first task's set is seen by a second one sharing `ctx`.
        let b = aio::task::Builder::new()
            .context(ctx.clone())
            .spawn(async { REQUEST.get() });
        assert_eq!(b.await.unwrap(), Some(1));
        assert_eq!(ctx.get(&REQUEST), Some(1));
        assert_eq!(REQUEST.get(), None, "the spawner's context is untouched");
    });
}

#[test]
fn token_reset_restores_the_previous_value() {
    on_all_flavors(|_| async {
        assert_eq!(USER.get().as_deref(), Some("anonymous"));
        let t1 = USER.set("a".into());
        let t2 = USER.set("b".into());
        assert_eq!(t2.old_value().as_deref(), Some("a"));
        USER.reset(t2);
        assert_eq!(USER.get().as_deref(), Some("a"));
        USER.reset(t1);
        assert_eq!(
            USER.get().as_deref(),
            Some("anonymous"),
            "unset again: default"
        );
    });
}

#[test]
fn reset_with_a_token_from_another_context_panics() {
    on_all_flavors(|_| async {
        let token = Context::new().run(|| REQUEST.set(1));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| REQUEST.reset(token)));
        assert!(r.is_err());
    });
}

#[test]
fn context_run_and_scope() {
    on_all_flavors(|_| async {
        REQUEST.set(1);
        let copy = Context::copy_current();
        copy.run(|| {
            assert_eq!(REQUEST.get(), Some(1));
            REQUEST.set(2);
        });
        assert_eq!(REQUEST.get(), Some(1));
        assert_eq!(copy.get(&REQUEST), Some(2));
        let seen = copy
            .scope(async {
                let before = REQUEST.get();
                aio::task::yield_now().await;
                REQUEST.set(3);
                aio::task::yield_now().await;
                (before, REQUEST.get())
            })
            .await;
        assert_eq!(seen, (Some(2), Some(3)));
        assert_eq!(copy.get(&REQUEST), Some(3));
        assert_eq!(REQUEST.get(), Some(1));
    });
}

/// Sends the `REQUEST` it sees when dropped.
struct Probe(std::sync::mpsc::Sender<Option<u32>>);
impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.0.send(REQUEST.get());
    }
}

#[test]
fn destructors_of_a_cancelled_task_see_its_context() {
    on_all_flavors(|_| async {
        let (tx, rx) = std::sync::mpsc::channel();
        let started = Latch::new();
        let s = started.clone();
        let t = aio::spawn(async move {
            REQUEST.set(77);
            let _probe = Probe(tx);
            s.open();
            std::future::pending::<()>().await;
        });
        started.wait().await;
        t.cancel();
        let _ = t.await;
        assert_eq!(rx.recv().unwrap(), Some(77));
    });
}

#[test]
fn the_future_of_a_task_that_completes_is_dropped_in_its_context() {
    // A value dropped with the future itself, after its last poll returned
    // `Ready`, sees the variable that poll set (the task's own context).
    struct SetsThenCompletes(#[allow(dead_code)] Probe); // dropped, not read
    impl std::future::Future for SetsThenCompletes {
        type Output = ();
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            REQUEST.set(5);
            std::task::Poll::Ready(())
        }
    }
    on_all_flavors(|_| async {
        let (tx, rx) = std::sync::mpsc::channel();
        aio::spawn(SetsThenCompletes(Probe(tx))).await.unwrap();
        assert_eq!(rx.recv().unwrap(), Some(5));
        assert_eq!(REQUEST.get(), None, "the spawner's context is its own");
    });
}

/// A scoped future is dropped with its context current, as a task's
/// future is: a guard that reads (or resets) a variable on drop sees the
/// scope's value, also when the task is cancelled (it saw the spawner's).
#[test]
fn a_scoped_future_is_dropped_in_its_context() {
    struct ReadOnDrop(std::sync::Arc<std::sync::Mutex<Option<Option<u32>>>>);
    impl Drop for ReadOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(REQUEST.get());
        }
    }
    on_all_flavors(|_| async {
        let ctx = Context::new();
        ctx.run(|| REQUEST.set(7));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let guard = ReadOnDrop(seen.clone());
        drop(ctx.scope(async move {
            let _guard = guard;
        }));
        assert_eq!(*seen.lock().unwrap(), Some(Some(7)), "dropped unpolled");

        let guard = ReadOnDrop(seen.clone());
        let started = Latch::new();
        let s = started.clone();
        let task = aio::task::Builder::new()
            .context(ctx.clone())
            .spawn(async move {
                let _guard = guard;
                s.open();
                std::future::pending::<()>().await
            });
        started.wait().await;
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(*seen.lock().unwrap(), Some(Some(7)), "dropped on cancel");
    });
}
