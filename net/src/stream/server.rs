//! `start_server` / `Server` and `open_connection`: asyncio's stream
//! servers and clients.
//!
//! A server runs one accept loop task per listening socket; each connection
//! gets its own task running the callback with a `StreamReader` and a
//! `StreamWriter`. A panic in a callback is reported through the runtime's
//! exception handler (the task is detached) and ends only that connection.
//! Accept errors never stop a server: its listeners are `Incoming`s with
//! `with_backoff`, so running out of file descriptors (`EMFILE`/`ENFILE`)
//! or memory backs off (100 ms, doubling to 1 s) and goes on once fds are
//! free, and errors of single connections are skipped; any other error is
//! reported and retried after 100 ms.
//!
//! Called by users; calls the TCP and Unix layers, the runtime's spawn,
//! sleep and exception handler.

use super::{StreamReader, StreamWriter};
use crate::conn::Conn;
use crate::incoming::report;
use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use aio_runtime::task::Task;
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Poll, Waker};
use std::time::Duration;

/// The callback type: called once per connection.
pub(crate) type Callback = Arc<
    dyn Fn(StreamReader, StreamWriter) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

/// Turns a connection into the stream pair.
pub(crate) fn streams(conn: Conn) -> (StreamReader, StreamWriter) {
    let reader = StreamReader::with_source(
        Box::new(super::source::SocketSource::new(conn.fd.clone())),
        StreamReader::DEFAULT_LIMIT,
    );
    (reader, StreamWriter::new(conn.fd))
}

/// What a listener yields: an accepted connection or an error.
pub(crate) type Accepted = io::Result<Conn>;

/// A listening socket as the server sees it.
pub(crate) trait Listen: std::marker::Send + Sync + 'static {
    fn accept(&mut self) -> Pin<Box<dyn Future<Output = Accepted> + std::marker::Send + '_>>;
}

struct Inner {
    serving: AtomicBool,
    addrs: Vec<SocketAddr>,
    state: Mutex<ServerState>,
}

#[derive(Default)]
struct ServerState {
    accept_loops: Vec<Task<()>>,
    /// Accept loops whose future is still alive.
    loops: usize,
    /// Open connections, to shut them down on `close_clients`.
    conns: HashMap<u64, Conn>,
    next_id: u64,
    /// Handlers still running.
    active: usize,
    closed: bool,
    waiters: Vec<Waker>,
}

impl ServerState {
    fn wake(&mut self) {
        for w in self.waiters.drain(..) {
            w.wake();
        }
    }
}

/// A running stream server (asyncio's `Server`), from
/// [`start_server`](crate::start_server) or
/// [`start_unix_server`](crate::start_unix_server). It serves from the
/// moment it is created; dropping this handle does not stop it
/// ([`close`](Self::close) does).
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// let server = aio::net::start_server(|mut r, w| async move {
///     while let Ok(line) = r.readline().await {
///         if line.is_empty() { break }
///         w.write(&line);
///         if w.drain().await.is_err() { break }
///     }
/// }, "127.0.0.1", 0).await?;
/// let port = server.local_addrs()[0].port();
/// let (mut r, w) = aio::net::open_connection("127.0.0.1", port).await?;
/// w.write(b"hi\n");
/// assert_eq!(r.readline().await?, b"hi\n");
/// server.close();
/// server.close_clients();
/// server.wait_closed().await;
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct Server {
    inner: Arc<Inner>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.inner.addrs)
            .field("serving", &self.is_serving())
            .finish()
    }
}

impl Server {
    pub(crate) fn start(
        listeners: Vec<Box<dyn Listen>>,
        addrs: Vec<SocketAddr>,
        cb: Callback,
    ) -> Server {
        let inner = Arc::new(Inner {
            serving: AtomicBool::new(true),
            addrs,
            state: Mutex::new(ServerState::default()),
        });
        inner.state.lock().loops = listeners.len();
        let loops = listeners
            .into_iter()
            .map(|l| {
                let guard = LoopGuard {
                    inner: inner.clone(),
                    listener: Some(l),
                };
                aio_runtime::task::spawn(accept_loop(guard, cb.clone()))
            })
            .collect();
        inner.state.lock().accept_loops = loops;
        Server { inner }
    }

    /// Stops accepting: the listening sockets close (once their in-flight
    /// accepts are cancelled). Open connections go on; see
    /// [`close_clients`](Self::close_clients).
    pub fn close(&self) {
        self.inner.serving.store(false, Release);
        let mut st = self.inner.state.lock();
        st.closed = true;
        // Each loop's guard wakes `wait_closed` when its future is dropped.
        for t in &st.accept_loops {
            t.cancel();
        }
        st.wake();
    }

    /// Closes every open connection: both directions are shut down, so
    /// their handlers see end of stream and failing writes, and end.
    pub fn close_clients(&self) {
        let st = self.inner.state.lock();
        for c in st.conns.values() {
            c.shutdown_now(libc::SHUT_RDWR);
        }
    }

    /// Waits until the server is closed and every connection handler has
    /// finished.
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            let mut st = self.inner.state.lock();
            if st.closed && st.loops == 0 && st.active == 0 {
                return Poll::Ready(());
            }
            st.waiters.push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Serves until the server is closed. If this future is cancelled, the
    /// server is closed (asyncio's `serve_forever`).
    ///
    /// # Cancel safety
    /// Cancelling closes the server.
    pub async fn serve_forever(&self) {
        struct CloseOnDrop<'a>(&'a Server, bool);
        impl Drop for CloseOnDrop<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.close();
                }
            }
        }
        let mut guard = CloseOnDrop(self, false);
        poll_fn(|cx| {
            let mut st = self.inner.state.lock();
            if st.closed {
                return Poll::Ready(());
            }
            st.waiters.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
        guard.1 = true;
    }

    /// Serves until `shutdown` completes (or the server is closed), then
    /// stops accepting: the listening sockets close, and the connections
    /// being served go on. The graceful shutdown of a server that gets
    /// SIGTERM (Kubernetes sends it, then SIGKILL 30 s later): stop
    /// accepting, give the handlers a deadline to finish
    /// ([`wait_closed`](Self::wait_closed) under a timeout), then close
    /// the connections still open ([`close_clients`](Self::close_clients)).
    ///
    /// # Cancel safety
    /// Cancelling closes the server, as [`serve_forever`](Self::serve_forever).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # aio::run(async {
    /// let server = aio::net::start_server(|mut r, w| async move {
    ///     while let Ok(line) = r.readline().await {
    ///         if line.is_empty() { break }
    ///         w.write(&line);
    ///     }
    /// }, "127.0.0.1", 0).await?;
    /// let port = server.local_addrs()[0].port();
    /// let (stop_tx, stop_rx) = aio::sync::oneshot::channel::<()>();
    /// let (mut r, w) = aio::net::open_connection("127.0.0.1", port).await?;
    /// // In a server: `aio::signal::unix::signal(SignalKind::terminate())?`
    /// // and `serve_until(async move { term.recv().await; })`.
    /// let serving = aio::spawn(async move {
    ///     server.serve_until(async { let _ = stop_rx.await; }).await;
    ///     // Stopped accepting: let the handlers finish for up to 10 s.
    ///     if aio::wait_for(server.wait_closed(), Duration::from_secs(10)).await.is_err() {
    ///         server.close_clients();
    ///         server.wait_closed().await;
    ///     }
    /// });
    /// w.write(b"hello\n");
    /// assert_eq!(r.readline().await?, b"hello\n");
    /// stop_tx.send(()).unwrap();
    /// // New connections are refused; ours is still served, until it ends.
    /// while aio::net::open_connection("127.0.0.1", port).await.is_ok() {
    ///     aio::task::yield_now().await;
    /// }
    /// w.write(b"still here\n");
    /// assert_eq!(r.readline().await?, b"still here\n");
    /// w.close();
    /// serving.await.unwrap();
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn serve_until(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut serving = std::pin::pin!(self.serve_forever());
        poll_fn(|cx| {
            if shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            serving.as_mut().poll(cx)
        })
        .await;
        self.close();
    }

    /// The addresses the server listens on (empty for Unix servers).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.inner.addrs.clone()
    }

    /// Whether the server is accepting connections.
    pub fn is_serving(&self) -> bool {
        self.inner.serving.load(Acquire)
    }
}

/// Removes a connection from the server when its handler ends (returns,
/// panics or is cancelled).
struct HandlerGuard {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        let mut st = self.inner.state.lock();
        st.conns.remove(&self.id);
        st.active -= 1;
        if st.active == 0 {
            st.wake();
        }
    }
}

/// Owns an accept loop's listener; when the loop's future is dropped
/// (the server closed), closes the listener and wakes `wait_closed`.
struct LoopGuard {
    inner: Arc<Inner>,
    listener: Option<Box<dyn Listen>>,
}

impl Drop for LoopGuard {
    fn drop(&mut self) {
        drop(self.listener.take());
        let mut st = self.inner.state.lock();
        st.loops -= 1;
        st.wake();
    }
}

async fn accept_loop(guard: LoopGuard, cb: Callback) {
    let inner = guard.inner.clone();
    let mut guard = guard;
    let listener = guard.listener.as_deref_mut().expect("the listener");
    loop {
        match listener.accept().await {
            Ok(conn) => {
                let id = {
                    let mut st = inner.state.lock();
                    let id = st.next_id;
                    st.next_id += 1;
                    st.conns.insert(id, conn.clone());
                    st.active += 1;
                    id
                };
                let guard = HandlerGuard {
                    inner: inner.clone(),
                    id,
                };
                // The callback runs in the handler's task too, not here: a
                // callback that panics before returning its future must not
                // end the accept loop. Detached: a panic is reported by the
                // runtime ("Task exception was never retrieved") and ends
                // this task only; the guard and the streams drop during the
                // unwind, which closes the connection.
                let cb = cb.clone();
                drop(aio_runtime::task::spawn(async move {
                    let _guard = guard;
                    let (r, w) = streams(conn);
                    cb(r, w).await
                }));
            }
            Err(e) => {
                report(&format!("accept() failed ({e}); retrying in 100 ms"));
                aio_runtime::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
