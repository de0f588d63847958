//! hyper 1.x, hyper-util and tower (axum) on aio, without a tokio runtime
//! (feature `hyper`): the pieces hyper asks a runtime for.
//!
//! - `io.rs`: `hyper::rt::Read` / `Write` for `TcpStream`, `UnixStream`
//!   and the owned halves (through the buffered adapters of `compat.rs`);
//! - `executor.rs`: [`Executor`], hyper's `rt::Executor` as aio tasks;
//! - `timer.rs`: [`Timer`], hyper's `rt::Timer` on aio's timer wheel;
//! - `serve.rs` and `connection.rs`: [`serve()`], HTTP/1.1 and h2c for any
//!   tower service, one task per connection, graceful shutdown;
//!   `report.rs`: the service wrapper that reports the server's errors on
//!   HTTP/2;
//! - `connector.rs`: [`Connector`], for hyper-util's pooled client.
//!
//! The facade re-exports this module as `aio::hyper` (its guide is
//! there). Calls the socket types, `Incoming` and `aio-runtime`.

mod connection;
mod connector;
mod executor;
mod io;
mod report;
mod serve;
mod timer;

pub use connector::{Connecting, Connector};
pub use executor::Executor;
pub use serve::{serve, Serve, WithGracefulShutdown};
pub use timer::Timer;
