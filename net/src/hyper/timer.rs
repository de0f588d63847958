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
//! deadlines up to its 250 µs ticks: a sleep never completes early.
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
/// [`serve`](super::serve()) sets it on every connection.
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

/// The sleep handed to hyper: an aio `Sleep`, and the deadline it is for.
///
/// A reset to a later deadline (what hyper does for every request head:
/// "now + header-read timeout") only records the new deadline: the wheel
/// entry stays where it is, and when it fires early for the new deadline
/// the sleep re-arms itself there. So a busy keep-alive connection costs
/// no wheel insert and remove per request (a remove may take another
/// worker's wheel lock), only a clock read. tokio's timer
/// does the same. A reset to an earlier deadline re-arms at once.
#[derive(Debug)]
struct TimerSleep {
    inner: aio_runtime::time::Sleep,
    /// When the sleep completes; never earlier than `inner`'s deadline.
    deadline: Instant,
}

impl TimerSleep {
    fn new(inner: aio_runtime::time::Sleep) -> TimerSleep {
        TimerSleep {
            deadline: inner.deadline(),
            inner,
        }
    }

    /// The pinned sleep and the deadline.
    fn project(self: Pin<&mut Self>) -> (Pin<&mut aio_runtime::time::Sleep>, &mut Instant) {
        // SAFETY: `inner` is structurally pinned: it is never moved out of
        // a pinned `TimerSleep` (only reset in place, and dropped with it);
        // `deadline` is plain data, not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        (
            unsafe { Pin::new_unchecked(&mut this.inner) },
            &mut this.deadline,
        )
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let (inner, at) = self.project();
        if deadline < inner.deadline() {
            inner.reset(deadline);
        }
        *at = deadline;
    }
}

impl Future for TimerSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let (mut inner, at) = self.project();
        loop {
            std::task::ready!(inner.as_mut().poll(cx));
            if inner.deadline() >= *at {
                return Poll::Ready(());
            }
            // Fired for a deadline that was moved later since: re-arm.
            inner.as_mut().reset(*at);
        }
    }
}

impl hyper::rt::Sleep for TimerSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TimerSleep::new(sleep(duration)))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TimerSleep::new(sleep_until(Instant::from_std(deadline))))
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<TimerSleep>() {
            Some(s) => s.reset(Instant::from_std(new_deadline)),
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

    #[test]
    fn a_deadline_moved_later_after_registration_is_kept_not_fired_early() {
        paused().block_on(async {
            let timer = Timer::default();
            let start = timer.now();
            let mut s = timer.sleep(Duration::from_secs(5));
            // Registered at +5 s on the wheel.
            assert!(std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx)))
                .await
                .is_pending());
            for later in [10, 20, 30] {
                timer.reset(&mut s, start + Duration::from_secs(later));
            }
            s.as_mut().await;
            assert_eq!(timer.now(), start + Duration::from_secs(30));
            // Moved earlier than where the wheel entry is: fires then.
            timer.reset(&mut s, start + Duration::from_secs(100));
            assert!(std::future::poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx)))
                .await
                .is_pending());
            timer.reset(&mut s, start + Duration::from_secs(40));
            s.await;
            assert_eq!(timer.now(), start + Duration::from_secs(40));
        });
    }
}
