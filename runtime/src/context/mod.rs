//! Context variables (asyncio's `contextvars`): per-task state that spawned
//! tasks, callbacks and `to_thread` closures inherit as a copy.
