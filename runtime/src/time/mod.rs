//! Time: `Instant`, the runtime clock (real or virtual), `sleep`, and the
//! per-worker timer wheels.
//!
//! - `clock.rs`: the runtime's clock; paused (virtual) clocks advance only
//!   when told to, or when every task is idle (current_thread).
//! - `instant.rs`: `aio::time::Instant`, read from the current runtime's
//!   clock.
//! - `timers.rs`: the wheel of one worker (an intrusive
//!   `aio_timer::RawWheel` behind a lock, for the threads its sleeps
//!   migrate to), the timer entry, and firing.
//! - `sleep.rs`: the `Sleep` future, which holds its timer entry.
//! - `timeout.rs`: `timeout`, `timeout_at`, `wait_for`, `TimeoutHandle`.
//! - `interval.rs`: `interval` and its missed-tick behaviours.
//!
//! The schedulers own one `Timers` per worker (and one per `block_on`
//! thread); leaf futures reach it through the thread context.

pub(crate) mod clock;
mod instant;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod timers;

pub(crate) use instant::CompactInstant;
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub(crate) use timeout::elapsed;
pub use timeout::{timeout, timeout_at, wait_for, Elapsed, Timeout, TimeoutHandle};

/// Pauses the current runtime's clock: from now on time moves only through
/// [`advance`], or (current_thread) jumps to the next timer when every task
/// is idle. For tests; see `Builder::start_paused`.
///
/// # Panics
/// Panics outside a current_thread runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     aio::time::pause();
///     let t0 = aio::time::Instant::now();
///     aio::sleep(Duration::from_secs(3600)).await; // returns at once, virtually an hour later
///     assert_eq!(t0.elapsed(), Duration::from_secs(3600));
/// });
/// ```
#[track_caller]
pub fn pause() {
    let h = crate::rt::Handle::current();
    assert!(
        matches!(h.shared().flavor, crate::rt::Flavor::CurrentThread(_)),
        "aio::time::pause() needs a current_thread runtime (the virtual clock advances only when \
         its one thread is idle)"
    );
    h.shared().clock.pause();
}

/// Resumes a paused clock; time flows again from where it stood.
///
/// # Panics
/// Panics outside a runtime.
///
/// # Examples
///
/// ```
/// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async { aio::time::resume() });
/// ```
#[track_caller]
pub fn resume() {
    crate::rt::Handle::current().shared().clock.resume();
}

/// Moves a paused clock forward by `d`, fires the timers now due, and
/// yields so that the tasks they woke run.
///
/// # Panics
/// Panics outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let t0 = aio::time::Instant::now();
///     aio::time::advance(Duration::from_millis(250)).await;
///     assert_eq!(t0.elapsed(), Duration::from_millis(250));
/// });
/// ```
pub async fn advance(d: std::time::Duration) {
    crate::rt::Handle::current().shared().clock.advance(d);
    crate::scheduler::context::with_timers(|t| t.map(|t| t.process()));
    crate::task::yield_now().await;
}

#[cfg(all(test, loom))]
mod tests;
