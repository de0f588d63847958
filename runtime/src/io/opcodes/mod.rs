//! One file per opcode. Each defines the op's data (what the record owns
//! while the kernel works), its SQE, and how its completion becomes the
//! output; constructors return the `Op` future.
//!
//! Sockets: accept, connect, recv, recv_multi (multishot, into the
//! ring's receive pool), recvmsg, send, sendmsg, shutdown.
//! Files, pipes and paths: read, write, open, statx, fsync, ftruncate,
//! unlink, rename, mkdir. Processes: waitid (a child's exit, Linux 6.7),
//! poll (a pidfd's exit, elsewhere).
//!
//! Called by `aio-net`, `fs` and `process`; calls `op.rs`.

mod accept;
mod connect;
mod fsync;
mod ftruncate;
mod mkdir;
mod open;
mod poll;
mod read;
mod recv;
mod recv_multi;
mod recvmsg;
mod rename;
mod send;
mod sendmsg;
mod shutdown;
mod statx;
mod unlink;
mod waitid;
mod write;

pub use accept::{accept, accept_multi, Accept, AcceptMulti, ACCEPT_QUEUE_MAX};
pub use connect::{connect, Connect};
pub use fsync::{fsync, Fsync};
pub use ftruncate::{ftruncate, Ftruncate};
pub use mkdir::{mkdir, Mkdir};
pub use open::{open, Open};
pub use poll::{poll_readable, PollReadable};
pub use read::{read_at, read_pipe, Read, CURRENT_POS};
pub use recv::{recv, recv_stream, recv_with, Recv};
pub use recv_multi::{recv_multi, RecvMulti, RECV_QUEUE_MAX};
pub use recvmsg::{recv_from, RecvFrom};
pub use rename::{rename, Rename};
pub use send::{send, send_all, Send};
pub use sendmsg::{send_to, writev, SendMsg};
pub use shutdown::{shutdown, Shutdown};
pub use statx::{statx_fd, statx_path, Statx};
pub use unlink::{unlink, Unlink};
pub use waitid::{wait_exit, waitid_supported, WaitExit};
pub use write::{write_at, write_pipe, Write};

use std::fmt;

/// A socket address in the kernel's layout, stored inside op records.
#[derive(Clone, Copy)]
pub struct RawAddr {
    /// The address bytes (`sockaddr_in`, `sockaddr_in6`, `sockaddr_un`, …).
    pub storage: libc::sockaddr_storage,
    /// How many bytes of `storage` are meaningful.
    pub len: libc::socklen_t,
}

impl RawAddr {
    /// An empty address with room for any family (for the kernel to fill).
    pub fn empty() -> RawAddr {
        RawAddr {
            // SAFETY: all zeroes is a valid sockaddr_storage.
            storage: unsafe { std::mem::zeroed() },
            len: std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }
}

impl fmt::Debug for RawAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawAddr")
            .field("family", &self.storage.ss_family)
            .field("len", &self.len)
            .finish()
    }
}
