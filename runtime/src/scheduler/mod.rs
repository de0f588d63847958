//! Schedulers: who runs tasks, on which thread, in what order.
//!
//! - `current_thread`: one thread, one FIFO queue, asyncio's exact order.
//! - `multi_thread`: per-worker queues with a LIFO slot, a global injector,
//!   work stealing, and the idle/searching protocol; workers park in their
//!   io_uring ring.
//! - `local`: the executor of the thread inside `block_on` of a
//!   multi_thread runtime, which runs the main task and `spawn_local` tasks.
//! - `context`: the per-thread state (current runtime, worker, task,
//!   timers) that wakers and leaf futures consult.
//! - `coop`: the cooperative budget.
//!
//! Schedulers call down into `driver` (park/unpark, ring) and `time`
//! (wheels); tasks reach them only through the `Schedule` trait.

pub(crate) mod context;
pub(crate) mod coop;
pub(crate) mod current_thread;
pub(crate) mod local;
pub(crate) mod multi_thread;

use crate::rt::Shared;
use crate::task::Notified;

/// Polls one task with a fresh cooperative budget; in debug mode, reports
/// a poll slower than the threshold.
pub(crate) fn run_task(rt: &Shared, task: Notified) {
    if !rt.config.debug {
        return coop::budget(|| task.run());
    }
    let t = task.task_ref();
    let start = std::time::Instant::now();
    coop::budget(|| task.run());
    let took = start.elapsed();
    // The call_soon runner reports its slow callbacks itself.
    if took > rt.config.slow_poll_threshold && !rt.call_soon.is_runner(t.id()) {
        rt.report_slow(format_args!("{}", crate::task::Short(&t)), took);
    }
}
