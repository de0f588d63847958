//! I/O: owned buffers and the operations that use them.
//!
//! This is the only door `aio-net` uses into the driver. Every operation
//! is an [`Op`](ops::Op) future that owns the operation's data (buffer,
//! address, a counted reference to the fd). On io_uring the data moves
//! into a heap record when the op is submitted: dropping the future before
//! the kernel's completion keeps the record, and so the buffer and the fd,
//! alive until that completion arrives, and asks the ring to cancel the
//! operation. On epoll the op runs its non-blocking syscall when polled
//! and waits for readiness in between, so the kernel never holds its
//! buffer after a poll returns. Buffers are passed by value and given back
//! with the result ([`BufResult`]), the same on both drivers.
//!
//! Layout: `buf.rs` (the buffer traits), `slice.rs` (views of part of a
//! buffer), `fd.rs` (`SharedFd`), `record.rs`
//! (the record and its lifecycle, model-checked), `op.rs` (the future,
//! submission and cancellation), `multi.rs` (multishot ops: one SQE, a
//! queue of results, model-checked), `ready.rs` and `wait.rs` (ops on the
//! epoll driver: readiness, model-checked, and the try-wait-retry loop),
//! `opcodes/` (one file per opcode), `adapter.rs` (the futures-io and
//! tokio traits for files and pipes).
// Under loom only the record and fd protocols are built (for the models).
#![cfg_attr(loom, allow(dead_code, unused_imports))]

mod buf;
mod fd;
pub(crate) mod multi;
pub(crate) mod ready;
pub(crate) mod record;
mod slice;

#[cfg(not(loom))]
pub(crate) mod adapter;
#[cfg(not(loom))]
mod op;
#[cfg(not(loom))]
mod opcodes;
#[cfg(not(loom))]
pub(crate) mod pool;
#[cfg(not(loom))]
mod wait;

pub use buf::{BufResult, IoBuf, IoBufMut};
#[cfg(not(loom))]
pub(crate) use op::driver_kind;
#[cfg(not(loom))]
pub use pool::{PooledBuf, POOL_BUF_SIZE};
pub use slice::Slice;

/// The most bytes the kernel reads or writes in one call (`MAX_RW_COUNT`,
/// `INT_MAX` rounded down to a page): every operation asks for at most
/// this much, and every caller that promises "all" (`write_all`, a
/// stream writer's flush) loops on the short count.
///
/// # Examples
///
/// ```
/// assert_eq!(aio::io::MAX_RW_COUNT, 0x7fff_f000);
/// ```
pub const MAX_RW_COUNT: usize = 0x7fff_f000;
pub use fd::SharedFd;

/// The operations, for `aio-net` (not a stable interface).
#[cfg(not(loom))]
#[doc(hidden)]
pub mod ops {
    pub use super::multi::{MultiAble, MultiOp};
    pub use super::op::{Op, OpAble};
    pub use super::opcodes::*;
    pub use super::ready::Interest;
    pub use super::record::{Completion, OpData};

    /// A read of a file or pipe into a `Vec` (what the adapters and the
    /// stream views keep in flight).
    pub type VecRead = Op<Read<Vec<u8>>>;
    /// A write of a `Vec` to a file or pipe.
    pub type VecWrite = Op<Write<Vec<u8>>>;
}

#[cfg(all(test, loom))]
mod tests;
