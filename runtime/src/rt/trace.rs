//! The `tracing` feature: a span per task, entered on each poll, and an
//! event for every report to the exception handler (slow polls and
//! callbacks, never-retrieved panics, panics at shutdown). The epoll
//! fallback's event is in `builder.rs`. Without the feature none of this
//! is compiled.
//!
//! Called by `spawn_into` and `Shared::call_exception_handler`.

use super::ExceptionContext;
use crate::task::TaskId;
use std::future::Future;
use std::panic::Location;
use tracing::Instrument;

/// Wraps a task's future in its span: `task{task.name task.id
/// spawned.at}`, at INFO level, so that the events of the task's polls
/// carry it (tracing-subscriber's fmt layer prints it before them).
pub(crate) fn instrument<F: Future>(
    f: F,
    id: TaskId,
    name: Option<&str>,
    at: Option<&'static Location<'static>>,
) -> tracing::instrument::Instrumented<F> {
    let span = tracing::info_span!(
        target: "aio::task",
        "task",
        task.name = name.map_or_else(|| tracing::field::display(format!("Task-{}", id.as_u64())), |n| tracing::field::display(n.to_string())),
        task.id = id.as_u64(),
        spawned.at = at.map(|l| tracing::field::display(format!("{}:{}", l.file(), l.line()))),
    );
    f.instrument(span)
}

/// An event for a report to the exception handler, at ERROR for panics,
/// WARN otherwise (slow polls).
pub(crate) fn exception(ctx: &ExceptionContext) {
    let who = ctx.task().map(|t| (t.id().as_u64(), t.name()));
    let (id, name) = match &who {
        Some((id, name)) => (Some(*id), Some(&**name)),
        None => (None, None),
    };
    if ctx.panic().is_some() {
        let panic = ctx.panic().and_then(|p| crate::task::panic_message(p));
        tracing::error!(
            target: "aio::runtime",
            task_id = id,
            task_name = name,
            panic,
            "{}",
            ctx.message()
        );
    } else {
        tracing::warn!(
            target: "aio::runtime",
            task_id = id,
            task_name = name,
            "{}",
            ctx.message()
        );
    }
}
