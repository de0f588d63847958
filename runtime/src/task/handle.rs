//! `Task<T>` (the join handle) and `TaskRef` (a type-erased reference).
//!
//! Both hold one reference on the task. `Task<T>` additionally owns the
//! join interest (the output); dropping it detaches the task.

use super::error::TaskError;
use super::raw::{Header, TaskPtr, Trailer};
use super::state::ToCancelled;
use super::TaskId;
use crate::loom::sync::Arc;
use std::fmt;
use std::marker::PhantomData;
use std::task::{Poll, Waker};

/// A counted reference to a task, with the operations every handle shares.
struct Raw(TaskPtr);

// SAFETY: the header's state word synchronises every operation done through
// a handle; no operation here touches the future.
unsafe impl Send for Raw {}
// SAFETY: as above.
unsafe impl Sync for Raw {}

impl Raw {
    fn header(&self) -> &Header {
        // SAFETY: we hold a reference.
        unsafe { self.0.header() }
    }

    fn trailer(&self) -> &Trailer {
        // SAFETY: we hold a reference.
        unsafe { self.0.trailer() }
    }

    fn cancel(&self) -> bool {
        let h = self.header();
        match h.state.transition_to_cancelled() {
            ToCancelled::AlreadyDone => false,
            ToCancelled::Marked => true,
            ToCancelled::Submit => {
                // SAFETY: a new reference was taken for the notification.
                unsafe { (h.vtable.schedule)(self.0) };
                true
            }
        }
    }

    fn is_done(&self) -> bool {
        self.header().state.load().is_complete()
    }

    fn is_cancelled(&self) -> bool {
        let s = self.header().state.load();
        s.is_complete() && s.is_cancelled()
    }

    fn name(&self) -> Arc<str> {
        let h = self.header();
        let named = self.trailer().read_extras(|e| e.name.clone());
        named.unwrap_or_else(|| format!("Task-{}", h.id()).into())
    }

    fn set_name(&self, name: Arc<str>) {
        self.trailer().with_extras(|e| e.name = Some(name));
    }

    /// `<Task name='x' id=7 spawned at src/a.rs:10>` (the slow-poll form).
    fn describe_short(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.header();
        write!(f, "<Task name='{}' id={}", &*self.name(), h.id())?;
        if let Some(loc) = self.trailer().read_extras(|e| e.spawned_at) {
            write!(f, " spawned at {}:{}", loc.file(), loc.line())?;
        }
        write!(f, ">")
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>, kind: &str) -> fmt::Result {
        let h = self.header();
        let s = h.state.load();
        let state = if !s.is_complete() {
            "pending"
        } else if s.is_cancelled() {
            "cancelled"
        } else {
            "finished"
        };
        write!(f, "<{kind} name={:?} id={} {state}", &*self.name(), h.id())?;
        if let Some(loc) = self.trailer().read_extras(|e| e.spawned_at) {
            write!(f, " spawned at {}:{}", loc.file(), loc.line())?;
        }
        write!(f, ">")
    }
}

/// A handle to a spawned task, to await its output or cancel it.
///
/// Dropping a `Task` **detaches** it: the task keeps running and its output
/// is dropped when it completes. Awaiting it by value (`task.await`) is
/// *linked*: if that await is itself dropped after being polled (the awaiter
/// was cancelled, lost a `select!`, timed out), the task is cancelled, as in
/// asyncio. Awaiting by reference (`(&mut task).await`) is *unlinked* and
/// cancel-safe.
///
/// # Examples
///
/// ```
/// let out = aio::run(async {
///     let task = aio::create_task(async { 40 + 2 });
///     task.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
#[must_use = "dropping a Task detaches it: the task keeps running and its output is lost"]
pub struct Task<T> {
    raw: Raw,
    _p: PhantomData<T>,
}

// SAFETY: the handle moves the output `T` to whoever holds it, hence `T: Send`.
unsafe impl<T: Send> Send for Task<T> {}
// SAFETY: `&Task` gives no access to `T` (result/await need `&mut`/owned).
unsafe impl<T: Send> Sync for Task<T> {}

impl<T> Unpin for Task<T> {}

impl<T> Task<T> {
    pub(crate) fn from_raw(ptr: TaskPtr) -> Task<T> {
        Task {
            raw: Raw(ptr),
            _p: PhantomData,
        }
    }

    /// Requests cancellation. Returns `false` iff the task is already done.
    ///
    /// `true` guarantees the task ends cancelled, even if the poll running
    /// right now returns `Ready` — unless that poll panics (or, in a
    /// [`TaskGroup`](crate::task::TaskGroup), fails): then it ends with that
    /// panic or failure, not cancelled. Otherwise its future is dropped at
    /// its current await point by whichever worker next runs it.
    /// Cancellation cannot be caught; cleanup runs in `Drop`.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let task = aio::spawn(std::future::pending::<()>());
    ///     assert!(task.cancel());
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.raw.cancel()
    }

    /// Whether the task is done: it has an outcome and its future has been
    /// dropped (its destructors have run).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let mut task = aio::spawn(async {});
    ///     (&mut task).await.unwrap();
    ///     assert!(task.is_done());
    /// });
    /// ```
    pub fn is_done(&self) -> bool {
        self.raw.is_done()
    }

    /// Whether the task is done and ended cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let mut task = aio::spawn(std::future::pending::<()>());
    ///     task.cancel();
    ///     let _ = (&mut task).await;
    ///     assert!(task.is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.raw.is_cancelled()
    }

    /// The output, without waiting (asyncio's `Task.result()`).
    ///
    /// # Errors
    /// `is_invalid_state()` while the task is pending or once the output has
    /// been taken; `is_cancelled()` / `is_panic()` for those outcomes.
    ///
    /// # Examples
    ///
    /// ```
    /// // current_thread: the task runs exactly when main yields.
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let mut task = aio::spawn(async { 7 });
    ///     assert!(task.result().unwrap_err().is_invalid_state()); // not run yet
    ///     aio::task::yield_now().await;
    ///     assert_eq!(task.result().unwrap(), 7);
    ///     assert!(task.result().unwrap_err().is_invalid_state()); // already taken
    /// });
    /// ```
    pub fn result(&mut self) -> Result<T, TaskError> {
        match self.poll_output(None) {
            Poll::Ready(out) => out,
            Poll::Pending => Err(TaskError::invalid_state(self.id())),
        }
    }

    /// Ready once the task is done (without taking its output); otherwise
    /// registers `waker` as the join waker.
    pub(crate) fn poll_done(&mut self, waker: &Waker) -> Poll<()> {
        // SAFETY: we are the join handle; our reference keeps it live.
        if unsafe { super::harness::can_read_output(self.raw.0, Some(waker)) } {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// The outcome of a done task, by reference (`None` while pending or
    /// once the output was taken).
    pub(crate) fn peek(&mut self) -> Option<&Result<T, TaskError>> {
        let h = self.raw.header();
        if !h.state.load().is_complete() {
            return None;
        }
        // SAFETY: we are the join handle of a complete task, so the stage
        // is ours; `output_ref` returns a pointer to a
        // `Result<T, TaskError>` (T is the future's output) or null. The
        // reference lives as long as `&self`, during which only `&mut self`
        // methods could take the output.
        unsafe {
            let p = (h.vtable.output_ref)(self.raw.0).cast::<Result<T, TaskError>>();
            p.as_ref()
        }
    }

    pub(crate) fn poll_output(&mut self, waker: Option<&Waker>) -> Poll<Result<T, TaskError>> {
        let mut out: Poll<Result<T, TaskError>> = Poll::Pending;
        let h = self.raw.header();
        // SAFETY: we are the join handle and `out` has the task's output type.
        unsafe { (h.vtable.try_read_output)(self.raw.0, &mut out as *mut _ as *mut (), waker) };
        out
    }

    /// The task's name: the one given, or `Task-<id>`.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let t = aio::task::Builder::new().name("worker-1").spawn(async {});
    ///     assert_eq!(&*t.name(), "worker-1");
    /// });
    /// ```
    pub fn name(&self) -> Arc<str> {
        self.raw.name()
    }

    /// Renames the task.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let t = aio::spawn(async {});
    ///     t.set_name("renamed");
    ///     assert_eq!(&*t.name(), "renamed");
    /// });
    /// ```
    pub fn set_name(&self, name: impl Into<Arc<str>>) {
        self.raw.set_name(name.into())
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let t = aio::spawn(async {});
    ///     assert_eq!(t.id(), t.task_ref().id());
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.raw.header().id()
    }

    /// Runs `f` once the task is done, scheduled like `call_soon`; if it is
    /// already done, `f` is scheduled at once.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let (tx, rx) = std::sync::mpsc::channel();
    ///     let mut t = aio::spawn(async {});
    ///     t.add_done_callback(move |task| tx.send(task.is_done()).unwrap());
    ///     (&mut t).await.unwrap();
    ///     assert!(aio::to_thread(move || rx.recv().unwrap()).await);
    /// });
    /// ```
    pub fn add_done_callback(&self, f: impl FnOnce(&TaskRef) + Send + 'static) {
        self.task_ref().add_done_callback(f)
    }

    /// A type-erased, cloneable reference to the task.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let t = aio::spawn(async {});
    ///     let r = t.task_ref();
    ///     assert_eq!(r.name(), t.name());
    /// });
    /// ```
    pub fn task_ref(&self) -> TaskRef {
        // SAFETY: live (we hold a reference).
        unsafe { TaskRef::acquire(self.raw.0) }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        let drop_join_handle = self.raw.header().vtable.drop_join_handle;
        // SAFETY: we are the join handle, giving up its reference.
        unsafe { drop_join_handle(self.raw.0) }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.describe(f, "Task")
    }
}

/// A cloneable, type-erased reference to a task: inspect, rename, cancel.
///
/// It does not give the output and does not keep the task from being
/// detached. `aio::task::current()` and `all_tasks()` return these.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let me = aio::task::current().unwrap();
///     assert_eq!(&*me.name(), "main");
///     assert!(!me.is_done());
/// });
/// ```
pub struct TaskRef {
    raw: Raw,
}

impl TaskRef {
    /// The task's dump entry at tick `now` of its runtime's clock.
    pub(crate) fn info(&self, now: u32) -> super::TaskInfo {
        use super::TaskState;
        let h = self.raw.header();
        let s = h.state.load();
        let state = if s.is_cancelled() {
            TaskState::Cancelling
        } else if s.is_running() {
            TaskState::Running
        } else if s.is_notified() {
            TaskState::Scheduled
        } else {
            TaskState::Idle
        };
        let location = self.raw.trailer().read_extras(|e| e.spawned_at);
        super::TaskInfo::new(
            self.raw.name(),
            state,
            &h.activity,
            h.spawn_tick(),
            location,
            now,
        )
    }

    /// Takes a new reference to the task.
    ///
    /// # Safety
    /// The task is live: the caller holds (or borrows) a reference to it.
    pub(crate) unsafe fn acquire(ptr: TaskPtr) -> TaskRef {
        // SAFETY: live (see above).
        unsafe { ptr.header() }.state.ref_inc();
        TaskRef { raw: Raw(ptr) }
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async { assert!(aio::task::current().unwrap().id().as_u64() > 0) });
    /// ```
    pub fn id(&self) -> TaskId {
        self.raw.header().id()
    }

    /// The task's name (see [`Task::name`]).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async { assert_eq!(&*aio::task::current().unwrap().name(), "main") });
    /// ```
    pub fn name(&self) -> Arc<str> {
        self.raw.name()
    }

    /// Renames the task.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let me = aio::task::current().unwrap();
    ///     me.set_name("still main");
    ///     assert_eq!(&*aio::task::current().unwrap().name(), "still main");
    /// });
    /// ```
    pub fn set_name(&self, name: impl Into<Arc<str>>) {
        self.raw.set_name(name.into())
    }

    /// Whether the task is done (see [`Task::is_done`]).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async { assert!(!aio::task::current().unwrap().is_done()) });
    /// ```
    pub fn is_done(&self) -> bool {
        self.raw.is_done()
    }

    /// Whether the task is done and ended cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async { assert!(!aio::task::current().unwrap().is_cancelled()) });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.raw.is_cancelled()
    }

    /// Requests cancellation (see [`Task::cancel`]).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let t = aio::spawn(std::future::pending::<()>());
    ///     assert!(t.task_ref().cancel());
    ///     assert!(t.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.raw.cancel()
    }

    pub(crate) fn add_done_callback(&self, f: impl FnOnce(&TaskRef) + Send + 'static) {
        let mut f = Some(f);
        // The extras exist before the mark (a completion that sees the mark
        // finds them); marked, then added under their lock: a completion
        // that saw the mark takes the lock and either finds the callback or
        // has set `done` before it was added (it then runs at once).
        let extras = self.raw.trailer().extras.get_or_create();
        let run_now = !self.raw.header().state.mark_callbacks() || {
            let mut slot = extras.slot.lock();
            if slot.done {
                true
            } else {
                let f = f.take().expect("callback present");
                slot.extras.callbacks.push(Box::new(f));
                false
            }
        };
        if run_now {
            let f = f.take().expect("callback present");
            let task = self.clone();
            // On the task's own runtime, as a completion queues them: the
            // caller may be outside any runtime, or in another one.
            // SAFETY: we hold a reference (`self`).
            unsafe { (self.raw.header().vtable.call_soon)(self.raw.0, Box::new(move || f(&task))) };
        }
    }
}

/// Formats a task as the slow-poll warning names it.
pub(crate) struct Short<'a>(pub(crate) &'a TaskRef);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.raw.describe_short(f)
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        // SAFETY: live (we hold a reference).
        unsafe { TaskRef::acquire(self.raw.0) }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        let h = self.raw.header();
        let dealloc = h.vtable.dealloc;
        if h.state.ref_dec() {
            // SAFETY: that was the last reference (and `h` is not used
            // again).
            unsafe { dealloc(self.raw.0) }
        }
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &TaskRef) -> bool {
        self.raw.0 == other.raw.0
    }
}
impl Eq for TaskRef {}

impl std::hash::Hash for TaskRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state)
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.describe(f, "Task")
    }
}
