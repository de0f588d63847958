//! `wait` / `wait_fallible`: asyncio's `wait(tasks, return_when, timeout)`.
//!
//! Waits on task handles without taking their outputs and without ever
//! cancelling them; returns `(done, pending)`, each in input order.

use crate::task::{Task, TaskError};
use crate::time::{sleep_until, Instant, Sleep};
use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

/// When [`wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any task is done.
    FirstCompleted,
    /// As soon as a task panics ([`wait_fallible`]: or returns `Err`), or
    /// when all are done.
    FirstException,
    /// When every task is done.
    AllCompleted,
}

/// Waits for `tasks` until `when` holds or `timeout` passes; returns
/// `(done, pending)` in input order. Never cancels, never errors on
/// timeout; an empty input returns `([], [])` at once.
///
/// # Cancel safety
/// Cancel-safe: dropping it drops the handles it holds (which detaches,
/// not cancels, the tasks).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aio::future::{wait, ReturnWhen};
/// aio::run(async {
///     let quick = aio::spawn(async { 1 });
///     let slow = aio::spawn(aio::sleep(Duration::from_secs(3600)));
///     let (done, pending) = wait([quick, aio::spawn(async { 2 })], ReturnWhen::AllCompleted, None).await;
///     assert_eq!((done.len(), pending.len()), (2, 0));
///     let (done, pending) = wait([slow], ReturnWhen::FirstCompleted, Duration::from_millis(5)).await;
///     assert_eq!((done.len(), pending.len()), (0, 1));
///     pending[0].cancel();
/// });
/// ```
pub async fn wait<T>(
    tasks: impl IntoIterator<Item = Task<T>>,
    when: ReturnWhen,
    timeout: impl Into<Option<Duration>>,
) -> (Vec<Task<T>>, Vec<Task<T>>) {
    wait_inner(
        tasks,
        when,
        timeout.into(),
        |r: &Result<T, TaskError>| matches!(r, Err(e) if e.is_panic()),
    )
    .await
}

/// [`wait`] over tasks that return `Result`s: `FirstException` also fires
/// when a task returns `Err`.
///
/// # Examples
///
/// ```
/// use aio::future::{wait_fallible, ReturnWhen};
/// aio::run(async {
///     let bad = aio::spawn(async { Err::<(), _>("no") });
///     let never = aio::spawn(async { std::future::pending::<Result<(), &str>>().await });
///     let (done, pending) = wait_fallible([bad, never], ReturnWhen::FirstException, None).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     pending[0].cancel();
/// });
/// ```
pub async fn wait_fallible<T, E>(
    tasks: impl IntoIterator<Item = Task<Result<T, E>>>,
    when: ReturnWhen,
    timeout: impl Into<Option<Duration>>,
) -> (Vec<Task<Result<T, E>>>, Vec<Task<Result<T, E>>>) {
    wait_inner(
        tasks,
        when,
        timeout.into(),
        |r: &Result<Result<T, E>, TaskError>| {
            matches!(r, Err(e) if e.is_panic()) || matches!(r, Ok(Err(_)))
        },
    )
    .await
}

async fn wait_inner<T>(
    tasks: impl IntoIterator<Item = Task<T>>,
    when: ReturnWhen,
    timeout: Option<Duration>,
    is_exception: impl Fn(&Result<T, TaskError>) -> bool,
) -> (Vec<Task<T>>, Vec<Task<T>>) {
    let mut tasks: Vec<Task<T>> = tasks.into_iter().collect();
    if tasks.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut deadline: std::pin::Pin<&mut Option<Sleep>> = std::pin::pin!(timeout.map(|d| {
        sleep_until(
            Instant::now()
                .checked_add(d)
                .unwrap_or_else(Instant::far_future),
        )
    }));
    poll_fn(|cx| {
        let mut done = 0;
        let mut exception = false;
        for t in tasks.iter_mut() {
            if t.poll_done(cx.waker()).is_ready() {
                done += 1;
                exception |= t.peek().is_some_and(&is_exception);
            }
        }
        let finished = match when {
            ReturnWhen::FirstCompleted => done > 0,
            ReturnWhen::FirstException => exception || done == tasks.len(),
            ReturnWhen::AllCompleted => done == tasks.len(),
        };
        if finished {
            return Poll::Ready(());
        }
        let expired = deadline
            .as_mut()
            .as_pin_mut()
            .is_some_and(|s| s.poll_unbudgeted(cx).is_ready());
        if expired {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    tasks.into_iter().partition(|t| t.is_done())
}
