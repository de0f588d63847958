//! An echo client with asyncio's streams: `aio::net::open_connection`,
//! then for each line `writer.write` + `drain` and `reader.readline` for
//! the echo, which it prints; then it closes the connection and exits.
//!
//! ```text
//! cargo run --release --example echo_server -- --port 8888 &
//! cargo run --release --example echo_client -- --port 8888 [LINE ...]
//! ```
//!
//! Without lines it sends a few fixed ones. It exits with an error if the
//! server closes the connection before echoing everything.

use std::io;

/// Lines sent when none are given.
const DEFAULT_LINES: [&str; 3] = ["Hello, World!", "asyncio on io_uring", "bye"];

fn parse_args() -> (u16, Vec<String>) {
    let usage = || -> ! {
        eprintln!("usage: echo_client --port P [LINE ...]");
        std::process::exit(2)
    };
    let mut port = None;
    let mut lines = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--port" {
            port = Some(
                it.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage()),
            );
        } else {
            lines.push(a);
        }
    }
    if lines.is_empty() {
        lines = DEFAULT_LINES.iter().map(|s| s.to_string()).collect();
    }
    (port.unwrap_or_else(|| usage()), lines)
}

fn main() -> io::Result<()> {
    let (port, lines) = parse_args();
    aio::run(async move {
        let (mut reader, writer) = aio::net::open_connection("127.0.0.1", port).await?;
        for line in &lines {
            println!("sent:     {line}");
            writer.write(line.as_bytes());
            writer.write(b"\n");
            writer.drain().await?;
            let echo = reader.readline().await?;
            if echo.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            println!(
                "received: {}",
                String::from_utf8_lossy(echo.trim_ascii_end())
            );
        }
        writer.close();
        writer.wait_closed().await
    })
}
