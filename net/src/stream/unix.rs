//! The Unix-socket variants of the stream helpers: `open_unix_connection`
//! and `start_unix_server`.

use super::{boxed, streams, Accepted, Listen, Server, StreamReader, StreamWriter};
use crate::unix::{UnixListener, UnixStream};
use crate::Incoming;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;

impl Listen for Incoming<UnixStream> {
    fn accept(&mut self) -> Pin<Box<dyn Future<Output = Accepted> + Send + '_>> {
        Box::pin(async move {
            let s = Incoming::accept(self).await?;
            Ok(s.into_conn())
        })
    }
}

/// Connects to the Unix socket at `path` and returns its stream pair
/// (asyncio's `open_unix_connection`).
///
/// # Errors
/// The connect error (`NotFound`, `ConnectionRefused`, …), naming the path.
///
/// # Cancel safety
/// Dropping the future cancels the connect and closes its socket.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let dir = std::env::temp_dir().join(format!("aio-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// let _ = std::fs::remove_file(&path);
/// let server = aio::net::start_unix_server(|mut r, w| async move {
///     let line = r.readline().await.unwrap_or_default();
///     w.write(&line);
///     let _ = w.drain().await;
/// }, &path).await?;
/// let (mut r, w) = aio::net::open_unix_connection(&path).await?;
/// w.write(b"over a unix socket\n");
/// assert_eq!(r.readline().await?, b"over a unix socket\n");
/// server.close();
/// server.wait_closed().await;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn open_unix_connection(
    path: impl AsRef<Path>,
) -> io::Result<(StreamReader, StreamWriter)> {
    let s = UnixStream::connect(path).await?;
    Ok(streams(s.into_conn()))
}

/// Starts a server on the Unix socket at `path` (asyncio's
/// `start_unix_server`): each connection runs `cb(reader, writer)` in its
/// own task. The socket file is not removed when the server closes (as
/// asyncio); remove a stale one before binding.
///
/// # Errors
/// The bind error (`AddrInUse` if the path exists, `InvalidInput` if it is
/// too long), naming the path.
pub async fn start_unix_server<F, Fut>(cb: F, path: impl AsRef<Path>) -> io::Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = UnixListener::bind(path)?;
    Ok(Server::start(
        vec![Box::new(l.incoming().with_backoff())],
        Vec::new(),
        boxed(cb),
    ))
}
