//! The public spawn functions and `task::Builder`.
//!
//! They find the running runtime through the thread's context and hand the
//! new task to its scheduler.

use super::handle::{Task, TaskRef};
use super::info::TaskInfo;
use crate::loom::sync::Arc;
use crate::rt::Handle;
use std::future::Future;
use std::panic::Location;

/// Schedules `f` as a new task on the running runtime (asyncio's
/// `create_task`). The same function as [`spawn`].
///
/// The task starts when a worker picks it up; on the current_thread flavor
/// that is when the caller next yields.
///
/// # Panics
/// Panics if called outside an aio runtime.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let t = aio::create_task(async { "Result" });
///     println!("Task result: {}", t.await.unwrap());
/// });
/// ```
#[track_caller]
pub fn create_task<F>(f: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(f)
}

/// Schedules `f` as a new task on the running runtime; see [`create_task`].
///
/// # Panics
/// Panics if called outside an aio runtime.
///
/// # Limits
/// A task counts its references (its handle, its queue entry, each clone
/// of its waker) in 25 bits: taking one more when 2^24 (16 million) are
/// alive aborts the process, as `Arc` does at `isize::MAX`. Only leaked
/// wakers (`mem::forget` of clones) get there; each live registration
/// costs memory, so 16 million of them is gigabytes.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let t = aio::spawn(async { 1 + 1 });
///     assert_eq!(t.await.unwrap(), 2);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(f: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = Location::caller();
    crate::scheduler::context::with_shared(|rt| rt.spawn_with(f, None, at))
}

/// Spawns a `!Send` future on the current thread.
///
/// Works on a current_thread runtime and inside the main future of
/// `run` / `block_on` of any runtime: the task then only ever runs on this
/// thread.
///
/// # Panics
/// Panics anywhere else (e.g. inside a task on a multi_thread worker), saying so.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// aio::run(async {
///     let shared = Rc::new(5);
///     let s = shared.clone();
///     let t = aio::spawn_local(async move { *s * 2 });
///     assert_eq!(t.await.unwrap(), 10);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(f: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    crate::scheduler::context::spawn_local(f, None)
}

/// Runs the blocking closure `f` on the blocking thread pool and returns a
/// task for its result. A panic in `f` becomes the task's `TaskError`.
///
/// # Panics
/// Panics if called outside an aio runtime.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let t = aio::task::spawn_blocking(|| std::thread::current().name().map(String::from));
///     assert_eq!(t.await.unwrap().as_deref(), Some("aio-blocking"));
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Handle::current().spawn_blocking(f)
}

/// The task running on this thread right now, if any.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let t = aio::spawn(async { aio::task::current().unwrap().name() });
///     let name = t.name();
///     assert_eq!(t.await.unwrap(), name);
/// });
/// assert!(aio::task::current().is_none());
/// ```
pub fn current() -> Option<TaskRef> {
    crate::scheduler::context::current_task()
}

/// The live (not done) tasks of the running runtime, in id order.
///
/// # Panics
/// Panics if called outside an aio runtime.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let t = aio::spawn(std::future::pending::<()>());
///     let all = aio::task::all_tasks();
///     assert!(all.iter().any(|r| r.id() == t.id()));
///     assert!(all.iter().any(|r| &*r.name() == "main"));
/// });
/// ```
pub fn all_tasks() -> Vec<TaskRef> {
    Handle::current().shared().live_tasks()
}

/// A dump of the running runtime's live tasks, in id order: for each, its
/// id, name, state, age, polls, time since its last poll, spawn location
/// (debug mode) and last worker. `Handle::dump` does the same from
/// outside the runtime.
///
/// # Panics
/// Panics if called outside an aio runtime.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let _t = aio::task::Builder::new()
///         .name("waiter")
///         .spawn(std::future::pending::<()>());
///     for info in aio::task::dump() {
///         println!("{info}"); // <Task pending name='waiter' id=2 polls=0>
///     }
///     assert!(aio::task::dump().iter().any(|i| i.name() == "waiter"));
/// });
/// ```
pub fn dump() -> Vec<TaskInfo> {
    Handle::current().shared().dump()
}

/// Configures a task before spawning it (asyncio's `create_task(name=...)`).
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let t = aio::task::Builder::new().name("fetcher").spawn(async { 3 });
///     assert_eq!(&*t.name(), "fetcher");
///     assert_eq!(t.await.unwrap(), 3);
/// });
/// ```
#[derive(Debug, Default)]
#[must_use = "a Builder does nothing until .spawn() is called"]
pub struct Builder {
    name: Option<Arc<str>>,
    context: Option<crate::context::Context>,
}

impl Builder {
    /// A builder with no name set (the task will be called `Task-<id>`).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Runs the task in `ctx` itself (shared: its `set`s are seen through
    /// `ctx` and by other users of it) instead of a copy of the current
    /// context.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::context::{Context, ContextVar};
    /// static N: ContextVar<u32> = ContextVar::new("n");
    /// aio::run(async {
    ///     let ctx = Context::new();
    ///     let t = aio::task::Builder::new().context(ctx.clone()).spawn(async { N.set(1); });
    ///     t.await.unwrap();
    ///     assert_eq!(ctx.get(&N), Some(1));
    ///     assert_eq!(N.get(), None);
    /// });
    /// ```
    pub fn context(mut self, ctx: crate::context::Context) -> Builder {
        self.context = Some(ctx);
        self
    }

    /// Spawns `f` on the running runtime with this configuration.
    ///
    /// # Panics
    /// Panics if called outside an aio runtime.
    #[track_caller]
    pub fn spawn<F>(self, f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = Handle::current();
        let at = Location::caller();
        match self.context {
            Some(ctx) => handle.shared().spawn_with(ctx.scope(f), self.name, at),
            None => handle.shared().spawn_with(f, self.name, at),
        }
    }

    /// Spawns a `!Send` future on this thread with this configuration; see
    /// [`spawn_local`].
    #[track_caller]
    pub fn spawn_local<F>(self, f: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match self.context {
            Some(ctx) => crate::scheduler::context::spawn_local(ctx.scope(f), self.name),
            None => crate::scheduler::context::spawn_local(f, self.name),
        }
    }
}
