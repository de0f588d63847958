//! `ExceptionContext` and the default exception handler.
//!
//! The runtime reports what nobody else can observe: a panic in a task
//! whose output nobody retrieved, a panic in a callback, a panic in a
//! destructor during shutdown, and (debug mode) slow polls.

use crate::task::{panic_message, TaskRef};
use std::any::Any;
use std::fmt;

/// What the exception handler is told (asyncio's exception context).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let rt = aio::runtime::Builder::new_current_thread()
///     .exception_handler(move |ctx| s.lock().unwrap().push(ctx.message().to_string()))
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     drop(aio::spawn(async { panic!("lost") })); // detached: nobody will look
///     aio::task::yield_now().await;
/// });
/// assert_eq!(seen.lock().unwrap()[0], "Task exception was never retrieved");
/// ```
pub struct ExceptionContext {
    message: String,
    task: Option<TaskRef>,
    panic: Option<Box<dyn Any + Send + 'static>>,
}

impl ExceptionContext {
    /// A context carrying only a message (for `Handle::call_exception_handler`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = aio::runtime::ExceptionContext::from_message("disk almost full");
    /// assert_eq!(ctx.message(), "disk almost full");
    /// assert!(ctx.task().is_none() && ctx.panic().is_none());
    /// ```
    pub fn from_message(message: impl Into<String>) -> ExceptionContext {
        ExceptionContext::new(message)
    }

    pub(crate) fn new(message: impl Into<String>) -> ExceptionContext {
        ExceptionContext {
            message: message.into(),
            task: None,
            panic: None,
        }
    }

    pub(crate) fn with_task(mut self, task: TaskRef) -> ExceptionContext {
        self.task = Some(task);
        self
    }

    pub(crate) fn with_panic(mut self, payload: Box<dyn Any + Send + 'static>) -> ExceptionContext {
        self.panic = Some(payload);
        self
    }

    /// What happened, e.g. `Task exception was never retrieved`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The task concerned, if any.
    pub fn task(&self) -> Option<&TaskRef> {
        self.task.as_ref()
    }

    /// The panic payload, if a panic is what happened.
    pub fn panic(&self) -> Option<&(dyn Any + Send)> {
        self.panic.as_deref()
    }
}

impl fmt::Debug for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionContext")
            .field("message", &self.message)
            .field("task", &self.task)
            .field(
                "panic",
                &self
                    .panic
                    .as_deref()
                    .map(|p| panic_message(p).unwrap_or("<non-string payload>")),
            )
            .finish()
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(t) = &self.task {
            write!(f, "\ntask: {t:?}")?;
        }
        if let Some(p) = &self.panic {
            write!(
                f,
                "\npanic: {}",
                panic_message(&**p).unwrap_or("<non-string payload>")
            )?;
        }
        Ok(())
    }
}

/// The default handler: one line (plus details) on stderr.
pub(crate) fn default_handler(ctx: &ExceptionContext) {
    eprintln!("aio: {ctx}");
}
