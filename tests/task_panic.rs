//! Panic isolation: a panicking task becomes a `TaskError` carrying its
//! payload, other tasks and the runtime go on; a panic nobody retrieved is
//! reported once to the exception handler; a panicking main is resumed by
//! `run`; nested `aio::run` panics with its message. Each test runs on
//! current_thread, multi_thread with 1 worker and with 4, unless it says
//! why not.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{
    on_all_flavors, on_all_flavors_with, panic_text, tracked, Counter, Latch, Reports, Watchdog,
    WATCHDOG,
};

#[test]
fn a_panicking_task_gives_is_panic_with_its_payload() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let polls = Counter::new();
        let t = aio::spawn(tracked(&polls, &drops, async {
            aio::task::yield_now().await;
            panic!("boom");
        }));
        let r = t.task_ref();
        let err = t.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled() && !err.is_invalid_state());
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
        assert!(r.is_done() && !r.is_cancelled());
        assert_eq!(drops.get(), 1, "the future is dropped after the panic");
    });
}

#[test]
fn a_formatted_panic_payload_is_a_string() {
    on_all_flavors(|_| async {
        let n = 7;
        let mut t = aio::spawn(async move {
            if n == 7 {
                panic!("bad value {n}");
            }
        });
        let done = Latch::new();
        let d = done.clone();
        t.add_done_callback(move |_| d.open());
        done.wait().await;
        let err = t.result().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(
            *err.into_panic().downcast::<String>().unwrap(),
            "bad value 7"
        );
    });
}

#[test]
fn other_tasks_and_the_runtime_keep_going_after_a_panic() {
    on_all_flavors(|_| async {
        let survivors_done = Counter::new();
        let mut survivors = Vec::new();
        for i in 0..8 {
            let c = survivors_done.clone();
            survivors.push(aio::spawn(async move {
                for _ in 0..5 {
                    aio::task::yield_now().await;
                }
                c.bump();
                i
            }));
        }
        let panickers: Vec<_> = (0..8)
            .map(|i| {
                aio::spawn(async move {
                    aio::task::yield_now().await;
                    panic!("panicker {i}");
                })
            })
            .collect();
        for (i, p) in panickers.into_iter().enumerate() {
            let e = p.await.unwrap_err();
            assert_eq!(
                panic_text(&*e.into_panic()).as_deref(),
                Some(&*format!("panicker {i}"))
            );
        }
        for (i, s) in survivors.into_iter().enumerate() {
            assert_eq!(s.await.unwrap(), i);
        }
        assert_eq!(survivors_done.get(), 8);
        // And new work still runs.
        assert_eq!(aio::spawn(async { 1 + 1 }).await.unwrap(), 2);
    });
}

#[test]
fn a_detached_panicking_task_is_reported_once() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let reports = Reports::new();
        let rt = {
            let mut b = flavor.builder();
            b.exception_handler(reports.handler());
            b.build().unwrap()
        };
        let out = rt.block_on(async {
            let finished = Latch::new();
            let f = finished.clone();
            let t = aio::task::Builder::new().name("lost").spawn(async move {
                // Defer the panic until the handle is surely gone.
                f.wait().await;
                panic!("nobody looks");
            });
            let r = t.task_ref();
            drop(t);
            finished.open();
            common::yield_until(|| r.is_done()).await;
            r.is_cancelled()
        });
        assert!(!out);
        rt.shutdown(std::time::Duration::from_secs(10));
        let got = reports.take();
        assert_eq!(got.len(), 1, "{flavor:?}: exactly one report: {got:?}");
        assert_eq!(got[0].message, "Task exception was never retrieved");
        assert_eq!(got[0].task_name.as_deref(), Some("lost"));
        assert_eq!(got[0].panic.as_deref(), Some("nobody looks"));
    }
}

#[test]
fn a_panic_whose_handle_is_dropped_unread_after_completion_is_reported_once() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let reports = Reports::new();
        let rt = {
            let mut b = flavor.builder();
            b.exception_handler(reports.handler());
            b.build().unwrap()
        };
        let r2 = reports.clone();
        rt.run(async move {
            let t = aio::spawn(async { panic!("unread") });
            let done = Latch::new();
            let d = done.clone();
            t.add_done_callback(move |_| d.open());
            done.wait().await;
            assert!(t.is_done());
            assert!(
                r2.messages().is_empty(),
                "not reported while a handle could still read it"
            );
            drop(t);
        });
        let got = reports.take();
        assert_eq!(got.len(), 1, "{flavor:?}: {got:?}");
        assert_eq!(got[0].message, "Task exception was never retrieved");
        assert_eq!(got[0].panic.as_deref(), Some("unread"));
    }
}

#[test]
fn retrieved_panics_and_cancellations_are_not_reported() {
    let reports = Reports::new();
    let r = reports.clone();
    on_all_flavors_with(
        move |_, b| {
            b.exception_handler(r.handler());
        },
        |_| async {
            let awaited = aio::spawn(async { panic!("awaited") });
            assert!(awaited.await.unwrap_err().is_panic());

            let mut read = aio::spawn(async { panic!("read with result()") });
            let done = Latch::new();
            let d = done.clone();
            read.add_done_callback(move |_| d.open());
            done.wait().await;
            assert!(read.result().unwrap_err().is_panic());
            drop(read);

            let cancelled = aio::spawn(std::future::pending::<()>());
            cancelled.cancel();
            drop(cancelled);
        },
    );
    assert_eq!(reports.messages(), Vec::<String>::new());
}

#[test]
fn run_resumes_a_panic_of_main_and_still_cancels_leftovers() {
    for flavor in common::flavors() {
        let _dog = Watchdog::new(flavor, WATCHDOG);
        let drops = Counter::new();
        let polls = Counter::new();
        let d = drops.clone();
        let p = polls.clone();
        let rt = flavor.runtime();
        let res = catch_unwind(AssertUnwindSafe(move || {
            rt.run(async move {
                for _ in 0..3 {
                    drop(aio::spawn(tracked(&p, &d, std::future::pending::<()>())));
                }
                aio::task::yield_now().await;
                panic!("main failed");
            })
        }));
        let payload = res.unwrap_err();
        assert_eq!(panic_text(&*payload).as_deref(), Some("main failed"));
        assert_eq!(drops.get(), 3, "{flavor:?}: leftovers dropped");
    }
}

#[test]
fn nested_aio_run_panics_with_its_message() {
    on_all_flavors(|_| async {
        let in_main = catch_unwind(|| aio::run(async { 1 })).unwrap_err();
        assert_eq!(
            panic_text(&*in_main).as_deref(),
            Some("aio::run() cannot be called from a running runtime")
        );
        let in_task = aio::spawn(async { aio::run(async { 1 }) })
            .await
            .unwrap_err();
        assert!(in_task.is_panic());
        assert_eq!(
            panic_text(&*in_task.into_panic()).as_deref(),
            Some("aio::run() cannot be called from a running runtime")
        );
    });
    // And the thread is usable for a new run afterwards: `aio::run` (a
    // multi_thread runtime), or a run on the flavor selected when
    // AIO_TEST_FLAVORS selects no multi_thread one.
    if common::multi_thread_flavors().is_empty() {
        assert_eq!(common::flavors()[0].runtime().run(async { 5 }), 5);
    } else {
        assert_eq!(aio::run(async { 5 }), 5);
    }
}

#[test]
fn nested_block_on_panics() {
    on_all_flavors(|_| async {
        let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
        let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { 1 })));
        assert!(err.is_err(), "block_on inside a runtime must panic");
        // Dropping a runtime inside another one must not take this one down.
        drop(catch_unwind(AssertUnwindSafe(move || drop(rt))));
    });
}

#[test]
fn a_panic_in_a_done_callback_is_reported_and_others_still_run() {
    let reports = Reports::new();
    let r = reports.clone();
    on_all_flavors_with(
        move |_, b| {
            b.exception_handler(r.handler());
        },
        |_| async {
            let t = aio::spawn(async {});
            t.add_done_callback(|_| panic!("callback failed"));
            let after = Latch::new();
            let a = after.clone();
            t.add_done_callback(move |_| a.open());
            after.wait().await;
            assert!(t.await.is_ok());
        },
    );
    let got = reports.take();
    assert_eq!(got.len(), common::flavors().len(), "{got:?}");
    for r in got {
        assert_eq!(r.message, "Exception in callback");
        assert_eq!(r.panic.as_deref(), Some("callback failed"));
    }
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor failed");
    }
}

/// Spawns, and detaches, a leftover whose destructor panics and one that
/// bumps `dropped`; returns once the first one has started.
async fn leave_a_panicking_destructor_behind(dropped: Counter) {
    let started = Latch::new();
    let s = started.clone();
    drop(aio::spawn(async move {
        let _p = PanicOnDrop;
        s.open();
        std::future::pending::<()>().await;
    }));
    let d = dropped.drop_guard();
    drop(aio::spawn(async move {
        let _d = d;
        std::future::pending::<()>().await;
    }));
    started.wait().await;
}

#[test]
fn a_panicking_destructor_of_a_leftover_does_not_stop_shutdown() {
    let dropped = Counter::new();
    let d = dropped.clone();
    on_all_flavors_with(
        |_, b| {
            b.exception_handler(|_| {});
        },
        move |_| leave_a_panicking_destructor_behind(d.clone()),
    );
    assert_eq!(
        dropped.get(),
        common::flavors().len(),
        "the other leftovers were still dropped"
    );
}

#[test]
fn a_panicking_destructor_of_a_leftover_is_reported_at_shutdown() {
    let reports = Reports::new();
    let r = reports.clone();
    on_all_flavors_with(
        move |_, b| {
            b.exception_handler(r.handler());
        },
        |_| leave_a_panicking_destructor_behind(Counter::new()),
    );
    let got = reports.take();
    assert_eq!(
        got.len(),
        common::flavors().len(),
        "one report per flavor: {got:?}"
    );
    for r in got {
        assert_eq!(r.message, "unhandled panic during shutdown");
        assert_eq!(r.panic.as_deref(), Some("destructor failed"));
    }
}

#[test]
fn a_panicking_exception_handler_does_not_take_the_runtime_down() {
    on_all_flavors_with(
        |_, b| {
            b.exception_handler(|_| panic!("the handler itself failed"));
        },
        |_| async {
            let t = aio::spawn(async { panic!("unobserved") });
            let r = t.task_ref();
            drop(t);
            common::yield_until(|| r.is_done()).await;
            aio::runtime::Handle::current()
                .call_exception_handler(&aio::runtime::ExceptionContext::from_message("direct"));
            assert_eq!(aio::spawn(async { 1 }).await.unwrap(), 1);
        },
    );
}

/// A panic whose payload panics again when dropped.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's own destructor");
    }
}

/// An output whose destructor panics with a [`Bomb`].
#[derive(Debug)]
struct Booby;

impl Drop for Booby {
    fn drop(&mut self) {
        std::panic::panic_any(Bomb);
    }
}

/// Ready at once with a [`Booby`]; its own destructor panics.
struct ReadyThenPanicOnDrop;

impl std::future::Future for ReadyThenPanicOnDrop {
    type Output = Booby;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Booby> {
        std::task::Poll::Ready(Booby)
    }
}

impl Drop for ReadyThenPanicOnDrop {
    fn drop(&mut self) {
        panic!("the future's destructor");
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "leaks the nested panic payload by design (Miri reports it)"
)]
fn an_output_discarded_with_a_panic_whose_payload_panics_still_completes_the_task() {
    // The future is ready, its destructor panics (that panic is the
    // outcome), and discarding the ready output panics with a payload whose
    // destructor panics too: nothing unwinds out of the task's poll, the
    // task completes, and the worker goes on.
    on_all_flavors(|_| async {
        let err = aio::spawn(ReadyThenPanicOnDrop).await.unwrap_err();
        assert!(err.is_panic());
        assert!(err.to_string().contains("the future's destructor"), "{err}");
        assert_eq!(aio::spawn(async { 5 }).await.unwrap(), 5);
    });
}
