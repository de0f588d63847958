//! Loom models of the queue protocol.
mod loom_queue;
