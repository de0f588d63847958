//! TCP: `TcpListener`, `TcpStream` and `TcpSocket` (the options builder).
//!
//! Called by users and by the streams (`start_server`, `open_connection`).

mod listener;
mod socket;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub(crate) use stream::sock_ip;
pub use stream::TcpStream;
