//! `aio-net`: sockets and asyncio streams on aio's drivers.
//!
//! TCP, UDP and Unix sockets are created with `socket2` (non-blocking,
//! close-on-exec) and driven by `aio-runtime`'s op layer (its `io` door),
//! on io_uring or on epoll: every operation takes an owned buffer and gives it back
//! (`BufResult<T, B>`), so a dropped future never leaves the kernel writing
//! into freed memory. The asyncio streams (`open_connection`,
//! `start_server`, `StreamReader`, `StreamWriter`) sit on top and own their
//! buffers, so their reads are cancel-safe. See `docs/ARCHITECTURE.md` §5
//! (the op layer) and §9 (networking).
//!
//! Under `--cfg loom` (the runtime's model checks) the crate is empty: the
//! op layer it sits on is not built there.
#![cfg(not(loom))]
#![warn(missing_docs)]

mod addr;
mod compat;
mod compat_wrapper;
mod conn;
#[cfg(feature = "hyper")]
#[doc(hidden)] // shown as `aio::hyper`, with its guide
pub mod hyper;
mod incoming;
mod listening;
mod loom;
mod stream;
mod tcp;
mod udp;
mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use compat_wrapper::Compat;
pub use conn::{OwnedReadHalf, OwnedWriteHalf};
pub use incoming::{Accepted, Incoming};
pub use stream::{
    open_connection, open_unix_connection, start_server, start_unix_server, IncompleteReadError,
    Lines, ReadError, Server, StreamReader, StreamWriter,
};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixSocketAddr, UnixStream};
