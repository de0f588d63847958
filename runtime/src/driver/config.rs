//! What the builder fixes for every driver of a runtime: which kind runs,
//! the ring size, the park spin and batch.
//!
//! Called by the builder (made once per runtime) and by `Driver::new`.

use super::spin::SpinGate;
use crate::loom::sync::Arc;
use crate::rt::Driver as Kind;
use std::time::Duration;

/// Driver parameters chosen by the builder, shared by the drivers of one
/// runtime (workers, the current_thread loop, `block_on` threads).
#[derive(Debug, Clone)]
pub(crate) struct DriverConfig {
    /// `Kind::IoUring` or `Kind::Epoll` (resolved: never `Auto`).
    pub(crate) kind: Kind,
    /// Submission queue entries per ring.
    pub(crate) entries: u32,
    /// Spinning before a park, shared by the drivers of one runtime.
    pub(crate) spin: Arc<SpinGate>,
    /// The longest a busy ring lets a completion wait for a batch
    /// (`Builder::park_batch`; zero: never).
    pub(crate) batch: Duration,
}

impl DriverConfig {
    /// `spin`: how long a park polls before it blocks; at most `spinners`
    /// drivers of the runtime poll at once; `batch`: the batching window.
    pub(crate) fn new(
        kind: Kind,
        entries: u32,
        spin: Duration,
        spinners: usize,
        batch: Duration,
    ) -> DriverConfig {
        DriverConfig {
            kind,
            entries,
            spin: Arc::new(SpinGate::new(spin, spinners)),
            batch,
        }
    }
}
