//! The task dump (`aio::task::dump`, `Handle::dump`): it lists the live
//! tasks with their names and states (idle, scheduled, running,
//! cancelling), counts their polls, knows the worker that last ran them,
//! ages them on the runtime's (virtual) clock, and leaves out what is done.
//! Every body runs on current_thread, 1 and 4 workers.

mod common;

use std::time::Duration;

use aio::sync::Event;
use aio::task::{TaskInfo, TaskState};
use common::{on_all_flavors, on_all_flavors_with, yield_until, Flavor, HeldWorkers};

fn find(name: &str) -> Option<TaskInfo> {
    aio::task::dump().into_iter().find(|i| i.name() == name)
}

#[test]
fn the_dump_names_known_tasks_and_their_states() {
    on_all_flavors(|flavor| async move {
        let gate = std::sync::Arc::new(Event::new());
        let g = gate.clone();
        let waiter = aio::task::Builder::new().name("waiter").spawn(async move {
            for _ in 0..5 {
                aio::task::yield_now().await;
            }
            g.wait().await;
        });
        // It yields 5 times, then waits on the event: 6 polls, then idle.
        yield_until(|| {
            find("waiter").is_some_and(|i| i.polls() == 6 && i.state() == TaskState::Idle)
        })
        .await;
        let me = aio::task::current().unwrap();
        let dump = aio::task::dump();
        let main = dump
            .iter()
            .find(|i| i.id() == me.id())
            .expect("main is listed");
        assert_eq!(main.name(), "main");
        assert_eq!(main.state(), TaskState::Running);
        assert!(main.polls() >= 1, "{main:#}");
        let w = dump.iter().find(|i| i.name() == "waiter").unwrap();
        assert_eq!(w.id(), waiter.id());
        assert!(w.since_last_poll().is_some());
        match flavor {
            Flavor::CurrentThread => assert_eq!(w.worker(), Some(0)),
            Flavor::MultiThread(n) => assert!(w.worker().is_some_and(|i| i < n), "{w:#}"),
        }
        let shown = w.to_string();
        assert_eq!(
            shown,
            format!("<Task pending name='waiter' id={} polls=6>", waiter.id())
        );
        assert!(format!("{w:#}").contains(" idle "), "{w:#}");

        // Scheduled: woken while every worker is held (on current_thread,
        // nothing runs until main yields).
        let held = HeldWorkers::hold(flavor);
        gate.set();
        assert_eq!(find("waiter").unwrap().state(), TaskState::Scheduled);
        held.release().await;
        waiter.await.unwrap();
        // Done tasks leave the dump.
        assert!(find("waiter").is_none());
    });
}

#[test]
fn a_cancelled_task_reads_as_cancelling_until_it_is_done() {
    on_all_flavors(|flavor| async move {
        let t = aio::task::Builder::new()
            .name("doomed")
            .spawn(std::future::pending::<()>());
        yield_until(|| find("doomed").is_some_and(|i| i.state() == TaskState::Idle)).await;
        let held = HeldWorkers::hold(flavor);
        assert!(t.cancel());
        assert_eq!(find("doomed").unwrap().state(), TaskState::Cancelling);
        held.release().await;
        assert!(t.await.unwrap_err().is_cancelled());
        assert!(find("doomed").is_none());
    });
}

#[test]
fn handle_dump_works_from_another_thread() {
    on_all_flavors(|_| async move {
        let handle = aio::runtime::Handle::current();
        let t = aio::task::Builder::new()
            .name("sleeper")
            .spawn(aio::sleep(Duration::from_secs(3600)));
        yield_until(|| find("sleeper").is_some_and(|i| i.state() == TaskState::Idle)).await;
        let dump = std::thread::spawn(move || handle.dump()).join().unwrap();
        let s = dump.iter().find(|i| i.name() == "sleeper").unwrap();
        assert_eq!(s.id(), t.id());
        assert_eq!(s.polls(), 1);
        assert!(dump
            .iter()
            .any(|i| i.name() == "main" && i.state() == TaskState::Running));
        t.cancel();
    });
}

/// Ages and the time since the last poll are in the runtime clock's time:
/// virtual under a paused clock (current_thread only, as the virtual
/// clock is).
#[test]
fn the_dump_ages_tasks_on_the_virtual_clock() {
    aio::runtime::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
        .run(async {
            let t = aio::task::Builder::new()
                .name("sleeper")
                .spawn(aio::sleep(Duration::from_secs(3600)));
            aio::task::yield_now().await;
            aio::sleep(Duration::from_secs(10)).await;
            let s = find("sleeper").unwrap();
            assert_eq!(s.age(), Duration::from_secs(10), "{s:#}");
            assert_eq!(s.since_last_poll(), Some(Duration::from_secs(10)), "{s:#}");
            assert_eq!(s.polls(), 1);
            assert_eq!(s.worker(), Some(0));
            t.cancel();
        });
}

#[test]
fn spawn_locations_appear_in_debug_mode_only() {
    on_all_flavors_with(
        |_, b| {
            b.debug(true);
        },
        |_| async move {
            let line = line!() + 1;
            let t = aio::spawn(std::future::pending::<()>());
            let info = aio::task::dump()
                .into_iter()
                .find(|i| i.id() == t.id())
                .unwrap();
            let loc = info.location().expect("debug mode records it");
            assert_eq!((loc.file(), loc.line()), ("tests/task_dump.rs", line));
            assert!(info
                .to_string()
                .ends_with(&format!("spawned at tests/task_dump.rs:{line}>")));
            t.cancel();
        },
    );
    on_all_flavors_with(
        |_, b| {
            b.debug(false);
        },
        |_| async move {
            let t = aio::spawn(std::future::pending::<()>());
            let info = aio::task::dump()
                .into_iter()
                .find(|i| i.id() == t.id())
                .unwrap();
            assert!(info.location().is_none());
            t.cancel();
        },
    );
}
