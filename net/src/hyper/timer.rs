//! `Timer`: hyper's `rt::Timer` on aio's timer wheel (header-read
//! timeouts, HTTP/2 keep-alive pings, the pooled client's idle expiry).
//!
//! hyper speaks `std::time::Instant`; aio's clock can be paused and
//! advanced (`aio::time::pause`, `start_paused`). `Timer::now` returns
//! aio's clock as a `std::time::Instant`, and hyper (1.13 and later) and
//! hyper-util compute every deadline they pass to `sleep_until` and
//! `reset` from it, so a deadline converts back with
//! `aio::time::Instant::from_std` exactly. On a running clock the two
//! clocks are the same clock, so an instant taken from
//! `std::time::Instant::now()` is equally right. The wheel rounds
//! deadlines up to its 1 ms ticks: a sleep never completes early.
//!
//! Called by hyper and hyper-util; calls `aio_runtime::time`.

use aio_runtime::time::{sleep, sleep_until, Instant};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// hyper's timer on aio's timer wheel: `sleep`, `sleep_until` and `reset`
/// are [`aio::time::Sleep`](aio_runtime::time::Sleep)s, and `now` is aio's
/// clock (virtual when the runtime's clock is paused, so hyper's timeouts
/// follow [`aio::time::advance`](aio_runtime::time::advance) in tests).
///
/// Give it to hyper wherever hyper asks for a timer: a server
/// connection's builder (`.timer(Timer::default())`, needed for
/// `header_read_timeout` and HTTP/2 keep-alive), hyper-util's pooled
/// client (`Client::builder(..).timer(..)`, for idle connection expiry).
/// [`serve`](super::serve) sets it on every connection.
///
/// The sleeps it makes register with the timer wheel of the aio worker
/// that first polls them.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer as _;
/// use std::time::Duration;
/// aio::run(async {
///     let timer = aio::hyper::Timer::default();
///     let start = timer.now();
///     timer.sleep(Duration::from_millis(5)).await;
///     assert!(timer.now() >= start + Duration::from_millis(5));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer {
    _priv: (),
}

impl Timer {
    /// A timer on the current runtime's wheel (the same as `default()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let _t = aio::hyper::Timer::new();
    /// ```
    pub fn new() -> Timer {
        Timer::default()
    }
}

/// The sleep handed to hyper: an aio `Sleep`.
#[derive(Debug)]
struct TimerSleep {
    inner: aio_runtime::time::Sleep,
}

impl Future for TimerSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl hyper::rt::Sleep for TimerSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TimerSleep {
            inner: sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TimerSleep {
            inner: sleep_until(Instant::from_std(deadline)),
        })
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<TimerSleep>() {
            Some(mut s) => Pin::new(&mut s.inner).reset(Instant::from_std(new_deadline)),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer as _;

    fn paused() -> aio_runtime::runtime::Runtime {
        aio_runtime::runtime::Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn deadlines_follow_the_virtual_clock_and_never_fire_early() {
        paused().block_on(async {
            let timer = Timer::default();
            let start = timer.now();
            assert_eq!(start, Instant::now().into_std());
            timer.sleep_until(start + Duration::from_secs(30)).await;
            assert_eq!(timer.now(), start + Duration::from_secs(30));
            timer.sleep(Duration::from_millis(1500)).await;
            assert_eq!(timer.now(), start + Duration::from_millis(31_500));
        });
    }

    #[test]
    fn reset_moves_the_deadline_both_ways() {
        paused().block_on(async {
            let timer = Timer::default();
            let start = timer.now();
            let mut s = timer.sleep(Duration::from_secs(3600));
            timer.reset(&mut s, start + Duration::from_secs(2));
            s.as_mut().await;
            assert_eq!(timer.now(), start + Duration::from_secs(2));
            timer.reset(&mut s, start + Duration::from_secs(7));
            s.await;
            assert_eq!(timer.now(), start + Duration::from_secs(7));
        });
    }
}
