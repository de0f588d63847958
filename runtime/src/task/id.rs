//! `TaskId`: a process-unique task number.

use crate::loom::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::fmt;

/// A process-unique, never reused task id (1, 2, …).
///
/// It also names tasks that were given no name: `Task-<id>`.
///
/// # Examples
///
/// ```
/// aio::runtime::Runtime::new().unwrap().block_on(async {
///     let a = aio::spawn(async {});
///     let b = aio::spawn(async {});
///     assert_ne!(a.id(), b.id());
///     assert_eq!(&*a.name(), format!("Task-{}", a.id()));
/// });
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        #[cfg(not(loom))]
        static NEXT: AtomicU64 = AtomicU64::new(1);
        #[cfg(loom)]
        loom::lazy_static! { static ref NEXT: AtomicU64 = AtomicU64::new(1); }
        TaskId(NEXT.fetch_add(1, Relaxed))
    }

    /// The number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
