//! Loom models of the op layer: the record lifecycle (`record.rs`) and the
//! close-vs-last-op handshake of `SharedFd` (`fd.rs`).
mod loom_op;
