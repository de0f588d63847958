//! Debug mode: polls and callbacks slower than the threshold are reported
//! to the exception handler as "Executing <Task ...> took N seconds",
//! nothing is reported with debug off, spawn locations are recorded, tasks
//! cancelled at shutdown are listed. Each test runs on current_thread,
//! multi_thread with 1 worker and with 4.
//!
//! The slow polls block their thread with `std::thread::sleep` on purpose:
//! that is the behaviour under test, not synchronisation. Only lower
//! bounds on the reported durations are asserted.

mod common;

use std::time::Duration;

use aio::runtime::{ExceptionContext, Handle};
use common::{on_all_flavors_with, Reports};

const BLOCK: Duration = Duration::from_millis(200);
const THRESHOLD: Duration = Duration::from_millis(50);

/// The seconds figure of an "Executing ... took N seconds" message.
fn took_seconds(msg: &str) -> f64 {
    let rest = msg
        .rsplit_once(" took ")
        .expect("' took ' in the message")
        .1;
    rest.strip_suffix(" seconds")
        .expect("ends with ' seconds'")
        .parse()
        .expect("a number of seconds")
}

fn debug_runtime(
    reports: &Reports,
    debug: bool,
) -> impl Fn(common::Flavor, &mut aio::runtime::Builder) {
    let r = reports.clone();
    move |_, b| {
        b.debug(debug)
            .slow_poll_threshold(THRESHOLD)
            .exception_handler(r.handler());
    }
}

#[test]
fn a_slow_poll_is_reported_in_debug_mode() {
    let reports = Reports::new();
    on_all_flavors_with(debug_runtime(&reports, true), |flavor| async move {
        assert!(Handle::current().is_debug());
        let t = aio::task::Builder::new().name("slowpoke").spawn(async {
            std::thread::sleep(BLOCK);
            1
        });
        assert_eq!(t.await.unwrap(), 1, "{flavor:?}");
    });
    let got = reports.messages();
    let slow: Vec<_> = got.iter().filter(|m| m.contains("slowpoke")).collect();
    assert_eq!(
        slow.len(),
        common::flavors().len(),
        "one report per flavor: {got:?}"
    );
    for m in slow {
        assert!(m.starts_with("Executing <Task"), "{m}");
        assert!(m.ends_with("seconds"), "{m}");
        assert!(
            m.contains("spawned at tests/debug_mode.rs:"),
            "spawn location: {m}"
        );
        assert!(took_seconds(m) >= 0.2, "blocked 200 ms: {m}");
    }
}

#[test]
fn a_slow_main_and_a_slow_callback_are_reported() {
    let reports = Reports::new();
    on_all_flavors_with(debug_runtime(&reports, true), |_| async {
        std::thread::sleep(BLOCK); // main itself
        let done = common::Latch::new();
        let d = done.clone();
        Handle::current().call_soon(move || {
            std::thread::sleep(BLOCK);
            d.open();
        });
        done.wait().await;
    });
    let got = reports.messages();
    let main: Vec<_> = got
        .iter()
        .filter(|m| m.starts_with("Executing <Task") && m.contains("name='main'"))
        .collect();
    assert_eq!(main.len(), common::flavors().len(), "{got:?}");
    let cb: Vec<_> = got
        .iter()
        .filter(|m| m.starts_with("Executing <callback>"))
        .collect();
    assert_eq!(cb.len(), common::flavors().len(), "{got:?}");
    for m in main.into_iter().chain(cb) {
        assert!(took_seconds(m) >= 0.2, "{m}");
    }
}

#[test]
fn nothing_is_reported_with_debug_off() {
    let reports = Reports::new();
    on_all_flavors_with(debug_runtime(&reports, false), |_| async {
        assert!(!Handle::current().is_debug());
        let t = aio::spawn(async { std::thread::sleep(BLOCK) });
        t.await.unwrap();
        drop(aio::spawn(std::future::pending::<()>()));
    });
    assert_eq!(reports.messages(), Vec::<String>::new());
}

#[test]
fn fast_polls_are_not_reported() {
    let reports = Reports::new();
    let r = reports.clone();
    on_all_flavors_with(
        move |_, b| {
            // A threshold no test poll comes near, even on a loaded machine.
            b.debug(true)
                .slow_poll_threshold(Duration::from_secs(60))
                .exception_handler(r.handler());
        },
        |_| async {
            for _ in 0..100 {
                aio::spawn(async { aio::task::yield_now().await })
                    .await
                    .unwrap();
            }
        },
    );
    assert_eq!(reports.messages(), Vec::<String>::new());
}

#[test]
fn tasks_cancelled_at_shutdown_are_listed_in_debug_mode() {
    let reports = Reports::new();
    on_all_flavors_with(debug_runtime(&reports, true), |_| async {
        drop(
            aio::task::Builder::new()
                .name("left-over")
                .spawn(std::future::pending::<()>()),
        );
        aio::task::yield_now().await;
    });
    let got = reports.messages();
    let listed: Vec<_> = got
        .iter()
        .filter(|m| m.starts_with("Task cancelled at shutdown") && m.contains("left-over"))
        .collect();
    assert_eq!(listed.len(), common::flavors().len(), "{got:?}");
    // Each is its task-dump entry: state, age, polls, spawn location.
    for m in listed {
        assert!(m.contains("<Task pending name='left-over' id="), "{m}");
        assert!(m.contains(" age=") && m.contains(" polls="), "{m}");
        assert!(m.contains("spawned at tests/debug_mode.rs:"), "{m}");
    }
}

#[test]
fn debug_output_names_the_spawn_location() {
    let reports = Reports::new();
    on_all_flavors_with(debug_runtime(&reports, true), |_| async {
        let line = line!() + 1;
        let t = aio::spawn(std::future::pending::<()>());
        let text = format!("{:?}", t.task_ref());
        assert!(
            text.contains(&format!("spawned at tests/debug_mode.rs:{line}")),
            "{text}"
        );
        assert!(text.starts_with("<Task"), "{text}");
        assert!(t.cancel());
    });
}

#[test]
fn call_exception_handler_reaches_the_custom_handler() {
    let reports = Reports::new();
    on_all_flavors_with(debug_runtime(&reports, false), |_| async {
        Handle::current()
            .call_exception_handler(&ExceptionContext::from_message("disk almost full"));
    });
    assert_eq!(reports.messages(), vec!["disk almost full"; 3]);
}
