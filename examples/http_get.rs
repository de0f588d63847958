//! Fetches a URL with hyper-util's pooled client on aio (no tokio):
//! `aio::hyper::Connector` connects (DNS through `aio::net::lookup_host`,
//! `TCP_NODELAY`), `aio::hyper::Executor` runs the connection tasks,
//! `aio::hyper::Timer` expires idle pooled connections.
//!
//! ```text
//! cargo run --example http_get -- [--http2] [--count N] http://127.0.0.1:PORT/json
//! ```
//!
//! The status line and headers go to stderr, the body to stdout (as
//! `curl -i` would show them, split). `--http2` speaks HTTP/2 with prior
//! knowledge (h2c); `--count N` fetches the URL N times over the pool's
//! kept-alive connection and prints the body once. Only `http://` URLs:
//! the connector does no TLS by itself.

use std::io::{self, Write};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;

fn usage() -> ! {
    eprintln!("usage: http_get [--http2] [--count N] URL");
    std::process::exit(2)
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut http2 = false;
    let mut count = 1usize;
    let mut url = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--http2" => http2 = true,
            "--count" => {
                count = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage())
            }
            _ if url.is_none() && !a.starts_with("--") => url = Some(a),
            _ => usage(),
        }
    }
    let url: hyper::Uri = url.unwrap_or_else(|| usage()).parse()?;

    aio::run(async move {
        let client: Client<_, Empty<Bytes>> = Client::builder(aio::hyper::Executor::default())
            .timer(aio::hyper::Timer::default())
            .http2_only(http2)
            .build(aio::hyper::Connector::new().connect_timeout(Duration::from_secs(10)));
        for i in 0..count {
            let res = client.get(url.clone()).await?;
            let (parts, body) = res.into_parts();
            let body = body.collect().await?.to_bytes();
            if i + 1 == count {
                let mut err = io::stderr().lock();
                writeln!(err, "{:?} {}", parts.version, parts.status)?;
                for (name, value) in &parts.headers {
                    writeln!(err, "{name}: {}", value.to_str().unwrap_or("<binary>"))?;
                }
                io::stdout().lock().write_all(&body)?;
            }
        }
        Ok(())
    })
}
