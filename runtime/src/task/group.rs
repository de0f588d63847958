//! `task_group` / `TaskGroup`: structured concurrency with asyncio 3.11's
//! semantics.
//!
//! The group completes when its body and every child are done. The first
//! child `Err` or panic cancels the body and the other children and is
//! collected into a `GroupError` (the body's own `Err` first, then the
//! children's in the order they failed). A child's own cancellation is not
//! a failure. Cancelling the task that runs the group (dropping the group
//! future) cancels every child. A spawn after the group failed or ended
//! returns a task that is already cancelled and was never polled.

use super::{Task, TaskId, TaskRef};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::{spawn_into, Handle};
use crate::task::Schedule;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The panic payload a failed child unwinds with; the harness turns it
/// into `TaskError::is_failed()` (its error went into the group).
pub(crate) struct ChildFailed;

/// Why one member of a group failed.
pub enum ChildError<E> {
    /// It returned `Err`.
    Err(E),
    /// It panicked; the payload.
    Panic(Box<dyn Any + Send + 'static>),
}

impl<E: fmt::Debug> fmt::Debug for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Err(e) => f.debug_tuple("Err").field(e).finish(),
            ChildError::Panic(p) => f
                .debug_tuple("Panic")
                .field(&crate::task::panic_message(&**p).unwrap_or("<non-string payload>"))
                .finish(),
        }
    }
}

/// The errors of a failed group, in order: the body's own, then the
/// children's as they failed.
pub struct GroupError<E> {
    errors: Vec<ChildError<E>>,
}

impl<E> GroupError<E> {
    /// Every error, in order.
    pub fn errors(&self) -> &[ChildError<E>] {
        &self.errors
    }

    /// Every error, by value.
    pub fn into_errors(self) -> Vec<ChildError<E>> {
        self.errors
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("errors", &self.errors)
            .finish()
    }
}

impl<E: fmt::Debug> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task group failed with {} error(s): {:?}",
            self.errors.len(),
            self.errors
        )
    }
}

impl<E: fmt::Debug> std::error::Error for GroupError<E> {}

struct State<E> {
    errors: Vec<ChildError<E>>,
    failed: bool,
    closed: bool,
    children: HashMap<TaskId, TaskRef>,
    /// Children whose future is gone but that may not be COMPLETE yet
    /// (the guard drops inside the child's last poll, before the harness
    /// stores the output): the group ends only once they are done.
    finishing: Vec<TaskRef>,
    waker: Option<Waker>,
}

struct Inner<E> {
    state: Mutex<State<E>>,
}

impl<E> Inner<E> {
    /// Records a failure; the first one cancels everything.
    fn fail(&self, err: ChildError<E>, first: bool) {
        let to_cancel = {
            let mut st = self.state.lock();
            if first {
                st.errors.insert(0, err);
            } else {
                st.errors.push(err);
            }
            if st.failed {
                return;
            }
            st.failed = true;
            let w = st.waker.take();
            let refs: Vec<TaskRef> = st.children.values().cloned().collect();
            (refs, w)
        };
        for c in &to_cancel.0 {
            c.cancel();
        }
        if let Some(w) = to_cancel.1 {
            w.wake();
        }
    }

    fn cancel_children(&self) {
        let refs: Vec<TaskRef> = self.state.lock().children.values().cloned().collect();
        for c in refs {
            c.cancel();
        }
    }
}

/// Counts a child out when its future is dropped (done or cancelled, even
/// before its first poll).
struct ChildGuard<E> {
    inner: Arc<Inner<E>>,
    id: TaskId,
}

impl<E> Drop for ChildGuard<E> {
    fn drop(&mut self) {
        let w = {
            let mut st = self.inner.state.lock();
            if let Some(child) = st.children.remove(&self.id) {
                if st.finishing.len() == st.finishing.capacity() {
                    // Amortised: a long-lived group keeps only the few
                    // children still completing.
                    st.finishing.retain(|c| !c.is_done());
                }
                st.finishing.push(child);
            }
            if st.children.is_empty() {
                st.waker.take()
            } else {
                None
            }
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// A group of child tasks (asyncio's `TaskGroup`); see [`task_group`].
pub struct TaskGroup<E> {
    inner: Arc<Inner<E>>,
}

/// A cloneable, `Send` handle that spawns into a group (children use it
/// to spawn siblings).
pub struct TaskGroupHandle<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for TaskGroupHandle<E> {
    fn clone(&self) -> Self {
        TaskGroupHandle {
            inner: self.inner.clone(),
        }
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("TaskGroup")
            .field("children", &st.children.len())
            .field("failed", &st.failed)
            .finish()
    }
}

impl<E> fmt::Debug for TaskGroupHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupHandle").finish_non_exhaustive()
    }
}

impl<E: Send + 'static> TaskGroup<E> {
    /// Spawns a child. Its handle yields `Ok(t)`, or a `TaskError` that
    /// `is_failed()` (its `Err` or panic went into the group's error),
    /// `is_cancelled()`, or `is_panic()`.
    ///
    /// Once the group has failed or ended, `spawn` returns a task that is
    /// already cancelled and done (`is_cancelled()` and `is_done()` are
    /// true when it returns), whose future was never polled.
    ///
    /// # Panics
    /// Panics outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::task::{task_group, TaskGroup};
    /// aio::run(async {
    ///     let mut kept = None;
    ///     let r = task_group(async |tg: &TaskGroup<&str>| {
    ///         kept = Some(tg.handle());
    ///         let child = tg.spawn(async { Ok::<_, &str>(2) });
    ///         Ok(child.await.unwrap() * 10)
    ///     })
    ///     .await;
    ///     assert_eq!(r.unwrap(), 20);
    ///     // The group has ended: a late spawn is refused at once.
    ///     let late = kept.unwrap().spawn(async { Ok::<_, &str>(3) });
    ///     assert!(late.is_cancelled() && late.is_done());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<T, F>(&self, f: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        spawn_child(&self.inner, f)
    }

    /// A handle for spawning into this group from elsewhere.
    pub fn handle(&self) -> TaskGroupHandle<E> {
        TaskGroupHandle {
            inner: self.inner.clone(),
        }
    }
}

impl<E: Send + 'static> TaskGroupHandle<E> {
    /// Spawns a child into the group; see [`TaskGroup::spawn`].
    #[track_caller]
    pub fn spawn<T, F>(&self, f: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        spawn_child(&self.inner, f)
    }
}

#[track_caller]
fn spawn_child<E, T, F>(inner: &Arc<Inner<E>>, f: F) -> Task<T>
where
    E: Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
{
    let handle = Handle::current();
    let rt = handle.shared();
    let id_slot = Arc::new(Mutex::new(None::<ChildGuard<E>>));
    let slot = id_slot.clone();
    let fail_inner = inner.clone();
    // The guard must count the child out only after the child's future is
    // gone, in both orders of events: a child cancelled before its first
    // poll drops this unstarted block's captures in their order, so `f`
    // and `slot` travel as one tuple, `f` first; once started, the pinned
    // `f` is the last local, dropped before `_guard`.
    let captured = (f, slot);
    let fut = async move {
        let (f, slot) = captured;
        let _guard = slot.lock().take();
        let mut f = std::pin::pin!(f);
        let out = poll_fn(
            |cx| match catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(r)) => Poll::Ready(r.map_err(ChildError::Err)),
                Err(p) => Poll::Ready(Err(ChildError::Panic(p))),
            },
        )
        .await;
        match out {
            Ok(v) => v,
            Err(e) => {
                fail_inner.fail(e, false);
                resume_unwind(Box::new(ChildFailed))
            }
        }
    };
    let (task, notified) = spawn_into(fut, rt.clone(), &rt.registry, None, None, false, rt.tick());
    let accept = {
        let mut st = inner.state.lock();
        let accept = !st.failed && !st.closed;
        if accept {
            st.children.insert(task.id(), task.task_ref());
        }
        accept
    };
    if accept {
        // The guard counts the child out whenever its future is dropped.
        *id_slot.lock() = Some(ChildGuard {
            inner: inner.clone(),
            id: task.id(),
        });
        if let Some(n) = notified {
            rt.schedule(n, false);
        }
    } else {
        // Refused: cancelled before its first schedule, and its first
        // notification is run right here, which drops the future unpolled.
        // So the handle is cancelled and done when `spawn` returns (as for
        // a spawn after shutdown began, see `spawn_into`).
        task.cancel();
        if let Some(n) = notified {
            n.run();
        }
    }
    task
}

/// Runs `body` with a new [`TaskGroup`] and waits for the body and every
/// child (asyncio 3.11's `async with TaskGroup() as tg`).
///
/// # Errors
/// [`GroupError`] with every failure if the body or any child failed.
///
/// # Examples
///
/// ```
/// use aio::task::{task_group, TaskGroup};
/// aio::run(async {
///     let r = task_group(async |tg: &TaskGroup<String>| {
///         let a = tg.spawn(async { Ok::<_, String>(1) });
///         let b = tg.spawn(async { Ok::<_, String>(2) });
///         Ok((a.await.unwrap(), b.await.unwrap()))
///     })
///     .await;
///     assert_eq!(r.unwrap(), (1, 2));
///
///     let r: Result<(), _> = task_group(async |tg: &TaskGroup<&str>| {
///         tg.spawn(async { Err::<(), _>("boom") });
///         let sibling = tg.spawn(async { std::future::pending::<Result<(), &str>>().await });
///         assert!(sibling.await.unwrap_err().is_cancelled());
///         Ok(())
///     })
///     .await;
///     assert!(matches!(r.unwrap_err().errors(), [aio::task::ChildError::Err("boom")]));
/// });
/// ```
pub async fn task_group<E, R, F>(body: F) -> Result<R, GroupError<E>>
where
    E: Send + 'static,
    F: AsyncFnOnce(&TaskGroup<E>) -> Result<R, E>,
{
    let tg = TaskGroup {
        inner: Arc::new(Inner {
            state: Mutex::new(State {
                errors: Vec::new(),
                failed: false,
                closed: false,
                children: HashMap::new(),
                finishing: Vec::new(),
                waker: None,
            }),
        }),
    };
    // Dropping the group future (its task was cancelled) cancels every child.
    struct CancelOnDrop<'a, E>(&'a Inner<E>, bool);
    impl<E> Drop for CancelOnDrop<'_, E> {
        fn drop(&mut self) {
            if !self.1 {
                self.0.state.lock().closed = true;
                self.0.cancel_children();
            }
        }
    }
    let mut on_drop = CancelOnDrop(&tg.inner, false);
    let mut body_fut = Some(Box::pin(body(&tg)));
    let mut body_out = None;
    poll_fn(|cx: &mut Context<'_>| {
        tg.inner.state.lock().waker = Some(cx.waker().clone());
        if let Some(b) = body_fut.as_mut() {
            if tg.inner.state.lock().failed {
                // A child failed: the body is cancelled.
                body_fut = None;
            } else if let Poll::Ready(r) = Pin::new(b).poll(cx) {
                body_fut = None;
                match r {
                    Ok(v) => body_out = Some(v),
                    Err(e) => tg.inner.fail(ChildError::Err(e), true),
                }
            }
        }
        if body_fut.is_some() {
            return Poll::Pending;
        }
        let mut st = tg.inner.state.lock();
        if !st.children.is_empty() {
            return Poll::Pending;
        }
        // Every child's future is gone; one may be between that and its
        // completion on another worker (a few instructions): look again
        // at once rather than return before its handle says done.
        st.finishing.retain(|c| !c.is_done());
        if !st.finishing.is_empty() {
            drop(st);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        // Decided under the lock that a spawn checks: a later spawn is
        // refused, never accepted unsupervised.
        st.closed = true;
        Poll::Ready(())
    })
    .await;
    on_drop.1 = true;
    let errors = {
        let mut st = tg.inner.state.lock();
        st.closed = true;
        std::mem::take(&mut st.errors)
    };
    match body_out {
        Some(v) if errors.is_empty() => Ok(v),
        _ => Err(GroupError { errors }),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};

    /// Records, when dropped, whether the group still counted a child in.
    struct CountedIn(Arc<Inner<()>>, Arc<AtomicBool>);

    impl Drop for CountedIn {
        fn drop(&mut self) {
            let counted = !self.0.state.lock().children.is_empty();
            self.1.store(counted, SeqCst);
        }
    }

    /// A child cancelled before its first poll drops its future before the
    /// group counts it out: otherwise, on a multi-thread runtime, the group
    /// could return while the child's destructors still run elsewhere.
    #[test]
    fn an_unpolled_child_is_counted_out_after_its_future_is_dropped() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let counted = rt.block_on(async {
            task_group(async |tg: &TaskGroup<()>| {
                let counted = Arc::new(AtomicBool::new(false));
                let probe = CountedIn(tg.inner.clone(), counted.clone());
                let child = tg.spawn(async move {
                    let _probe = probe;
                    std::future::pending::<Result<(), ()>>().await
                });
                child.cancel(); // before its first poll
                assert!(child.await.unwrap_err().is_cancelled());
                Ok(counted)
            })
            .await
            .unwrap()
        });
        assert!(
            counted.load(SeqCst),
            "the group counted the child out before its future was dropped"
        );
    }
}
