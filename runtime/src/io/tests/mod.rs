//! Loom models of the op layer: the record lifecycle (`record.rs`), the
//! epoll readiness protocol (`ready.rs`) and the
//! close-vs-last-op handshake of `SharedFd` (`fd.rs`), the multishot
//! queue (`multi.rs`) and the buffer ring's producer side (`bufring.rs`).
mod loom_bufring;
mod loom_multi;
mod loom_op;
mod loom_ready;
