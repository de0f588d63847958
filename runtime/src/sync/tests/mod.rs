//! Loom models of the sync primitives.
