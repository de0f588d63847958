//! Unix domain stream sockets: `UnixListener`, `UnixStream` and the
//! addresses they report (`UnixSocketAddr`).
//!
//! Called by users and by the streams (`open_unix_connection`,
//! `start_unix_server`). Calls `conn.rs` for the byte stream (the same
//! core as TCP), `addr.rs` for the kernel's address layout, socket2 to
//! create and bind sockets, and `aio-runtime`'s ops for accept and connect.

mod listener;
mod socket_addr;
mod stream;
#[cfg(test)]
mod tests;

pub use listener::UnixListener;
pub use socket_addr::UnixSocketAddr;
pub use stream::UnixStream;
