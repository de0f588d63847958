//! Time on the virtual clock: exact sleeps, `wait_for`, `timeout`,
//! `interval`, `call_later`. A paused current_thread runtime jumps to the
//! next timer whenever every task is idle, so these assertions are exact
//! and never depend on the machine's load. (The virtual clock exists only
//! on current_thread; the multi_thread behaviour is in `time_real.rs`.)

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aio::time::{Instant, MissedTickBehavior};
use common::{ms, paused, Counter};

#[test]
fn concurrent_sleeps_take_the_longest_sequential_take_the_sum() {
    paused(async {
        let start = Instant::now();
        let a = aio::create_task(aio::sleep(Duration::from_secs(1)));
        let b = aio::create_task(aio::sleep(Duration::from_secs(2)));
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(2));

        let start = Instant::now();
        aio::sleep(Duration::from_secs(1)).await;
        aio::sleep(Duration::from_secs(2)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    });
}

#[test]
fn sleep_never_ends_early_and_rounds_up_to_the_tick() {
    // A tick is 250 µs: 10.1 ms waits for the end of its tick (10.25 ms),
    // 10.5 ms is one (and tokio's millisecond would make both 11 ms).
    paused(async {
        let start = Instant::now();
        aio::sleep(Duration::from_micros(10_100)).await;
        assert_eq!(start.elapsed(), Duration::from_micros(10_250));
        let start = Instant::now();
        aio::sleep(Duration::from_micros(10_500)).await;
        assert_eq!(start.elapsed(), Duration::from_micros(10_500));
        let start = Instant::now();
        aio::time::sleep_until(start + ms(7)).await;
        assert_eq!(start.elapsed(), ms(7));
    });
}

#[test]
fn sleep_zero_yields_exactly_once() {
    paused(async {
        let log = common::Log::new();
        let l = log.clone();
        let t = aio::spawn(async move {
            l.push("task");
        });
        log.push("before");
        aio::sleep(Duration::ZERO).await;
        log.push("after");
        t.await.unwrap();
        assert_eq!(log.get(), ["before", "task", "after"]);
        assert_eq!(Instant::now().elapsed(), Duration::ZERO);
    });
}

#[test]
fn sleep_reset_moves_the_deadline_both_ways() {
    paused(async {
        let start = Instant::now();
        let mut s = Box::pin(aio::sleep(Duration::from_secs(3600)));
        s.as_mut().reset(start + ms(5));
        s.as_mut().await;
        assert_eq!(start.elapsed(), ms(5));
        let mut s = Box::pin(aio::sleep(ms(1)));
        s.as_mut().reset(start + ms(50));
        s.await;
        assert_eq!(start.elapsed(), ms(50));
    });
}

struct OnDrop(Counter);
impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.bump();
    }
}

#[test]
fn wait_for_an_hour_long_task_times_out_at_100ms_and_cancels_it() {
    paused(async {
        let drops = Counter::new();
        let d = drops.clone();
        let task = aio::spawn(async move {
            let _g = OnDrop(d);
            aio::sleep(Duration::from_secs(3600)).await;
        });
        let r = task.task_ref();
        let start = Instant::now();
        let out = aio::wait_for(task, ms(100)).await;
        assert!(out.is_err(), "Elapsed");
        assert_eq!(start.elapsed(), ms(100));
        aio::task::yield_now().await; // the cancelled task runs its drop
        assert!(r.is_done() && r.is_cancelled());
        assert_eq!(drops.get(), 1, "its destructors ran");
    });
}

#[test]
fn wait_for_none_waits_and_zero_timeout_lets_a_ready_future_win() {
    paused(async {
        let start = Instant::now();
        let v = aio::wait_for(
            async {
                aio::sleep(Duration::from_secs(10)).await;
                1
            },
            None,
        )
        .await;
        assert_eq!(v, Ok(1));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        assert_eq!(aio::wait_for(async { 2 }, Duration::ZERO).await, Ok(2));
        assert!(aio::wait_for(aio::sleep(ms(1)), Duration::ZERO)
            .await
            .is_err());
    });
}

#[test]
fn a_timeout_that_fires_inside_a_task_does_not_cancel_the_task() {
    paused(async {
        let task = aio::spawn(async {
            let r = aio::time::timeout(ms(10), aio::sleep(Duration::from_secs(60))).await;
            assert!(r.is_err());
            aio::sleep(ms(5)).await; // still running, not cancelled
            "finished"
        });
        let r = task.task_ref();
        assert_eq!(task.await.unwrap(), "finished");
        assert!(!r.is_cancelled());
    });
}

#[test]
fn timeout_handle_reschedules_and_reports_expiry() {
    paused(async {
        let start = Instant::now();
        let t = aio::time::timeout(ms(10), aio::sleep(Duration::from_secs(60)));
        let h = t.handle();
        assert_eq!(h.when(), Some(start + ms(10)));
        let h2 = h.clone();
        let mover = aio::spawn(async move {
            aio::sleep(ms(5)).await;
            h2.reschedule(Some(start + ms(30)));
        });
        assert!(t.await.is_err());
        assert_eq!(start.elapsed(), ms(30), "the moved deadline counts");
        assert!(h.expired());
        mover.await.unwrap();
    });
}

#[test]
fn interval_ticks_at_0_10_20_and_is_a_stream() {
    paused(async {
        let start = Instant::now();
        let mut iv = aio::time::interval(ms(10));
        let mut at = Vec::new();
        for _ in 0..3 {
            at.push(iv.tick().await - start);
        }
        assert_eq!(at, [ms(0), ms(10), ms(20)]);
        let next = std::future::poll_fn(|cx| {
            aio::stream::Stream::poll_next(std::pin::Pin::new(&mut iv), cx)
        })
        .await;
        assert_eq!(next.map(|t| t - start), Some(ms(30)));
    });
}

fn missed(b: MissedTickBehavior) -> Vec<Duration> {
    paused(async move {
        let start = Instant::now();
        let mut iv = aio::time::interval(ms(10));
        iv.set_missed_tick_behavior(b);
        iv.tick().await; // 0
        aio::time::advance(ms(35)).await; // busy: ticks at 10, 20, 30 missed
        let mut out = Vec::new();
        for _ in 0..3 {
            iv.tick().await;
            out.push(start.elapsed());
        }
        out
    })
}

#[test]
fn missed_ticks_burst_delay_or_skip() {
    assert_eq!(missed(MissedTickBehavior::Burst), [ms(35), ms(35), ms(35)]);
    assert_eq!(missed(MissedTickBehavior::Delay), [ms(35), ms(45), ms(55)]);
    assert_eq!(missed(MissedTickBehavior::Skip), [ms(35), ms(40), ms(50)]);
}

/// Skip after more than 2^32 missed periods: the next tick is still the
/// next one on the schedule (it was set 30 years ahead: silence).
#[test]
fn skip_survives_a_backlog_of_more_than_2_pow_32_periods() {
    paused(async {
        let start = Instant::now();
        let mut iv = aio::time::interval(ms(1));
        iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
        iv.tick().await;
        aio::time::advance(Duration::from_secs(50 * 86_400) + Duration::from_micros(300)).await;
        iv.tick().await; // the missed tick, at once
        let behind = start.elapsed();
        iv.tick().await;
        let next = start.elapsed();
        assert!(
            next > behind && next <= behind + ms(1),
            "{behind:?} then {next:?}"
        );
    });
}

/// The task dump's ages hold past 2^31 ms (they read as zero).
#[test]
fn a_task_older_than_25_days_has_its_age_in_the_dump() {
    paused(async {
        let t = aio::spawn(std::future::pending::<()>());
        aio::time::advance(Duration::from_secs(25 * 86_400)).await;
        let info = aio::task::dump()
            .into_iter()
            .find(|i| i.id() == t.id())
            .unwrap();
        assert!(
            info.age() >= Duration::from_secs(25 * 86_400),
            "{:?}",
            info.age()
        );
    });
}

#[test]
fn call_later_runs_in_deadline_order_and_a_cancelled_one_never_runs() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    paused(async move {
        let h = aio::runtime::Handle::current();
        let start = Instant::now();
        let (a, b, c) = (o.clone(), o.clone(), o.clone());
        h.call_later(ms(200), move || {
            a.lock().unwrap().push(("0.2", start.elapsed()))
        });
        h.call_later(ms(100), move || {
            b.lock().unwrap().push(("0.1", start.elapsed()))
        });
        let cancelled = h.call_later(ms(150), move || {
            c.lock().unwrap().push(("cancelled", start.elapsed()))
        });
        assert!(cancelled.cancel());
        assert!(cancelled.is_cancelled());
        aio::sleep(ms(300)).await;
    });
    assert_eq!(*order.lock().unwrap(), [("0.1", ms(100)), ("0.2", ms(200))]);
}

/// `call_later` from a thread outside the runtime counts from the
/// runtime's (virtual) clock, not the caller's.
#[test]
fn call_later_from_another_thread_counts_from_the_runtimes_clock() {
    paused(async move {
        aio::sleep(Duration::from_secs(3600)).await;
        let h = aio::runtime::Handle::current();
        let th = std::thread::spawn(move || h.call_later(ms(10), || {}))
            .join()
            .unwrap();
        assert_eq!(th.when(), Instant::now() + ms(10));
    });
}

#[test]
fn call_at_uses_the_virtual_clock() {
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    paused(async move {
        let start = Instant::now();
        let h = aio::runtime::Handle::current().call_at(start + ms(42), move || {
            *s.lock().unwrap() = Some(start.elapsed());
        });
        assert_eq!(h.when(), start + ms(42));
        aio::sleep(ms(50)).await;
        assert!(!h.cancel(), "already ran");
    });
    assert_eq!(*seen.lock().unwrap(), Some(ms(42)));
}

#[aio::test(start_paused = true)]
async fn the_test_attribute_starts_paused() {
    let start = Instant::now();
    aio::sleep(Duration::from_secs(86_400)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(86_400));
}
