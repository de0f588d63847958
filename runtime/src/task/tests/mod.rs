//! Loom models of the task state machine.
mod loom_registry;
mod loom_task;
