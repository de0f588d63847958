//! Loom models of the op layer: the record lifecycle (`record.rs`), the
//! epoll readiness protocol (`ready.rs`) and the
//! close-vs-last-op handshake of `SharedFd` (`fd.rs`), and the multishot
//! queue (`multi.rs`).
mod loom_multi;
mod loom_op;
mod loom_ready;
