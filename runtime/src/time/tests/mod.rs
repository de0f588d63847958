//! Loom models of timers.
mod loom_timer;
