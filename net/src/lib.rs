//! `aio-net`: sockets and asyncio streams on io_uring.
//!
//! This crate will hold TCP, UDP and Unix sockets created with `socket2`
//! and driven by io_uring operations through `aio-runtime`'s `io` door
//! (owned buffers, `BufResult<T, B>`), and the asyncio streams
//! (`open_connection`, `start_server`, `StreamReader`, `StreamWriter`).
//! See `DESIGN.md` §3 and `API.md` (aio::io and aio::net).
//!
//! It is empty until the networking issue lands: nothing here is exported,
//! so nothing can be used by mistake.
