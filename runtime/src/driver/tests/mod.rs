//! Loom models of parking.
mod loom_park;
