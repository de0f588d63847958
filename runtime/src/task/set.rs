//! `TaskSet<T>`: a set of tasks joined in completion order (tokio's
//! `JoinSet`, asyncio's `as_completed` over tasks you keep adding to).

use super::{Task, TaskError, TaskId, TaskRef};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::{spawn_into, Handle};
use crate::task::Schedule;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::{poll_fn, Future};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Ready {
    ids: VecDeque<TaskId>,
    waker: Option<Waker>,
}

/// Announces a member as (about to be) done when its future is dropped.
struct Announce {
    ready: Arc<Mutex<Ready>>,
    id: TaskId,
}

impl Drop for Announce {
    fn drop(&mut self) {
        let w = {
            let mut r = self.ready.lock();
            r.ids.push_back(self.id);
            r.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// Tasks spawned into a set and joined in the order they finish. Dropping
/// the set cancels every task still in it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// aio::run(async {
///     let mut set = aio::task::TaskSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move { aio::sleep(Duration::from_millis(ms)).await; ms });
///     }
///     let mut order = Vec::new();
///     while let Some(r) = set.join_next().await {
///         order.push(r.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub struct TaskSet<T> {
    tasks: HashMap<TaskId, Task<T>>,
    ready: Arc<Mutex<Ready>>,
    /// Announced members whose output is not stored yet.
    finishing: VecDeque<TaskId>,
}

impl<T> Default for TaskSet<T> {
    fn default() -> Self {
        TaskSet {
            tasks: HashMap::new(),
            ready: Arc::default(),
            finishing: VecDeque::new(),
        }
    }
}

impl<T: Send + 'static> TaskSet<T> {
    /// An empty set.
    pub fn new() -> TaskSet<T> {
        TaskSet::default()
    }

    /// Spawns `f` into the set.
    ///
    /// # Panics
    /// Panics outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, f: F) -> TaskRef
    where
        F: Future<Output = T> + Send + 'static,
    {
        let handle = Handle::current();
        let rt = handle.shared();
        let slot: Arc<Mutex<Option<Announce>>> = Arc::default();
        let s = slot.clone();
        let fut = async move {
            let _announce = s;
            f.await
        };
        let (task, notified) = spawn_into(fut, rt.clone(), &rt.registry, None, None, false);
        *slot.lock() = Some(Announce {
            ready: self.ready.clone(),
            id: task.id(),
        });
        drop(slot);
        let r = task.task_ref();
        self.tasks.insert(task.id(), task);
        if let Some(n) = notified {
            rt.schedule(n, false);
        }
        r
    }

    /// Waits for the next task to finish and returns its outcome; `None`
    /// when the set is empty.
    ///
    /// Like a task join, each outcome spends a unit of the task's
    /// cooperative budget: a loop over many finished tasks returns
    /// `Pending` once in a while, so it lets the other tasks run.
    ///
    /// # Cancel safety
    /// Cancel-safe: an outcome not returned stays in the set.
    pub async fn join_next(&mut self) -> Option<Result<T, TaskError>> {
        poll_fn(|cx| {
            let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
            let out = self.poll_join_next(cx);
            if matches!(out, Poll::Ready(Some(_))) {
                coop.made_progress();
            }
            out
        })
        .await
    }

    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, TaskError>>> {
        loop {
            if let Some(&id) = self.finishing.front() {
                let task = self.tasks.get_mut(&id).expect("member");
                return match task.poll_output(Some(cx.waker())) {
                    Poll::Ready(out) => {
                        self.finishing.pop_front();
                        self.tasks.remove(&id);
                        Poll::Ready(Some(out))
                    }
                    Poll::Pending => Poll::Pending,
                };
            }
            let next = {
                let mut r = self.ready.lock();
                match r.ids.pop_front() {
                    Some(id) => Some(id),
                    None => {
                        if self.tasks.is_empty() {
                            return Poll::Ready(None);
                        }
                        r.waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                }
            };
            if let Some(id) = next {
                if self.tasks.contains_key(&id) {
                    self.finishing.push_back(id);
                }
            }
        }
    }

    /// Cancels every task in the set (they stay until joined).
    pub fn cancel_all(&self) {
        for t in self.tasks.values() {
            t.cancel();
        }
    }

    /// Tasks not yet joined.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether every task has been joined.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<T> Drop for TaskSet<T> {
    fn drop(&mut self) {
        for t in self.tasks.values() {
            t.cancel();
        }
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet")
            .field("len", &self.tasks.len())
            .finish()
    }
}
