//! `TaskError`: how a task failed to produce its output.
//!
//! Built by the harness (cancelled, panicked), by `Task::result` (invalid
//! state) and by task groups (failed). Opaque, with predicates.

use super::TaskId;
use std::any::Any;
use std::fmt;

/// Why a task has no output to give.
///
/// A task ends with its output, or with one of these: it was cancelled, it
/// panicked (the payload is kept), it failed inside a task group, or the
/// output is not available (still pending, or already taken).
///
/// # Examples
///
/// ```
/// let err = aio::runtime::Runtime::new().unwrap().block_on(async {
///     let task = aio::spawn(async { panic!("boom") });
///     task.await.unwrap_err()
/// });
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), format!("task {} panicked with message \"boom\"", err.id()));
/// // Send + Sync, like any error: it converts into io::Error.
/// let io: std::io::Error = std::io::Error::other(err);
/// let err = io.into_inner().unwrap().downcast::<aio::task::TaskError>().unwrap();
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct TaskError {
    id: TaskId,
    repr: Repr,
}

/// Three words with the id, so that a task's output slot
/// (`Option<Result<T, TaskError>>`) needs no tag word of its own for a
/// word-sized `T` (the payload is boxed once more, on the rare panic).
enum Repr {
    Cancelled,
    Panic(Box<SyncPayload>),
    Failed,
    InvalidState,
}

/// A panic payload that makes `TaskError` `Sync` (so it converts into
/// `io::Error` and `Box<dyn Error + Send + Sync>`, as tokio's `JoinError`
/// does): the payload is only ever reached by value, or by shared
/// reference once it is known to be a `Sync` type.
struct SyncPayload(Box<dyn Any + Send + 'static>);

// SAFETY: a `&SyncPayload` gives no access to the payload except through
// `downcast_ref_sync`, which hands out `&T` only for `T: Sync`; asking the
// type id reads the vtable, not the value. Everything else takes it by
// value.
unsafe impl Sync for SyncPayload {}

impl SyncPayload {
    fn downcast_ref_sync<T: Any + Sync>(&self) -> Option<&T> {
        // `type_id` goes through the vtable only.
        if (*self.0).type_id() == std::any::TypeId::of::<T>() {
            // SAFETY: the value is a `T` (checked above), and `T: Sync`, so
            // a shared reference to it may be used from any thread.
            Some(unsafe { &*(&*self.0 as *const (dyn Any + Send) as *const T) })
        } else {
            None
        }
    }
}

impl TaskError {
    pub(crate) fn cancelled(id: TaskId) -> TaskError {
        TaskError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: TaskId, payload: Box<dyn Any + Send + 'static>) -> TaskError {
        if payload.is::<super::group::ChildFailed>() {
            // A task-group child whose Err or panic went into the group.
            return TaskError {
                id,
                repr: Repr::Failed,
            };
        }
        TaskError {
            id,
            repr: Repr::Panic(Box::new(SyncPayload(payload))),
        }
    }

    /// The error of a task-group child whose `Err` went into a group error.
    pub fn failed(id: TaskId) -> TaskError {
        TaskError {
            id,
            repr: Repr::Failed,
        }
    }

    pub(crate) fn invalid_state(id: TaskId) -> TaskError {
        TaskError {
            id,
            repr: Repr::InvalidState,
        }
    }

    /// The task was cancelled before it produced its output.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked; [`into_panic`](Self::into_panic) gives the payload.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The task failed with an `Err` that a task group collected.
    pub fn is_failed(&self) -> bool {
        matches!(self.repr, Repr::Failed)
    }

    /// The output is not available: still pending, or already taken.
    pub fn is_invalid_state(&self) -> bool {
        matches!(self.repr, Repr::InvalidState)
    }

    /// The id of the task this error is about.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic payload.
    ///
    /// # Panics
    /// Panics if the error is not a panic (check [`is_panic`](Self::is_panic)).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|e| panic!("`TaskError::into_panic` on a non-panic error: {e}"))
    }

    /// The panic payload, or the error back if it is not a panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.repr {
            Repr::Panic(p) => Ok((*p).0),
            repr => Err(TaskError { id: self.id, repr }),
        }
    }

    pub(crate) fn into_panic_payload(self) -> Option<Box<dyn Any + Send + 'static>> {
        self.try_into_panic().ok()
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
const _: () = assert!(std::mem::size_of::<Option<Result<(), TaskError>>>() == 24);

/// The message of a panic payload, when it is a string.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(p) => match p
                .downcast_ref_sync::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref_sync::<String>().map(String::as_str))
            {
                Some(m) => write!(f, "task {} panicked with message {m:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
            Repr::Failed => write!(f, "task {} failed inside its task group", self.id),
            Repr::InvalidState => write!(
                f,
                "task {} has no output to give (pending or already taken)",
                self.id
            ),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.repr {
            Repr::Cancelled => "Cancelled",
            Repr::Panic(_) => "Panic",
            Repr::Failed => "Failed",
            Repr::InvalidState => "InvalidState",
        };
        f.debug_struct("TaskError")
            .field("id", &self.id)
            .field("kind", &kind)
            .finish()
    }
}

impl std::error::Error for TaskError {}

/// For `?` in functions returning `io::Result` (as tokio's `JoinError`):
/// the error becomes the I/O error's source.
impl From<TaskError> for std::io::Error {
    fn from(e: TaskError) -> std::io::Error {
        std::io::Error::other(e)
    }
}
