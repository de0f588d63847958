//! Loom models of the multi_thread scheduler's protocols.
mod loom_idle;
