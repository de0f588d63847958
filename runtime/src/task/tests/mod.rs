//! Loom models of the task state machine.
mod loom_task;
