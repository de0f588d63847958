//! `TaskId`: a process-unique task number.

use crate::loom::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::fmt;

/// A process-unique task id (1, 2, …).
///
/// Ids have 48 bits: they would wrap, and so repeat, after 2^48 spawns in
/// one process (nine years at a million spawns a second).
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

/// Bits of a task id: the 16 above share its header word with the dump's
/// last worker (`info::Activity`).
pub(crate) const ID_BITS: u32 = 48;
/// Mask of a task id's bits.
pub(crate) const ID_MASK: u64 = (1 << ID_BITS) - 1;

impl TaskId {
    pub(crate) fn next() -> TaskId {
        #[cfg(not(loom))]
        static NEXT: AtomicU64 = AtomicU64::new(1);
        #[cfg(loom)]
        loom::lazy_static! { static ref NEXT: AtomicU64 = AtomicU64::new(1); }
        // Ids wrap after 2^48 spawns (nine years at a million a second);
        // 0 is never one.
        let n = NEXT.fetch_add(1, Relaxed) & ID_MASK;
        TaskId(if n == 0 { 1 } else { n })
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
