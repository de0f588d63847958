//! An in-memory key-value server on aio that speaks enough of the Redis
//! protocol (RESP2) for `redis-cli` and `redis-benchmark`.
//!
//! ```text
//! cargo run --release --example kv_server -- [--port P] [--workers N]   # default port 6379
//! redis-cli -p 6379 set greeting hello && redis-cli -p 6379 get greeting
//! redis-benchmark -p 6379 -t ping,set,get -n 200000 -c 50 -P 16 -q
//! cargo test --example kv_server                                        # parser and command tests
//! ```
//!
//! Requests are RESP arrays of bulk strings or inline commands (one line,
//! split on whitespace; quotes are not interpreted). Commands: `PING [msg]`,
//! `ECHO msg`, `GET k`, `SET k v [EX s | PX ms | KEEPTTL] [NX | XX] [GET]`,
//! `DEL k..`, `EXISTS k..`, `INCR k`, `MSET k v ..`, `DBSIZE`,
//! `FLUSHDB`/`FLUSHALL`, `SELECT 0`, `QUIT`, and the handshake commands
//! clients send (`COMMAND ..` answers an empty array, `CONFIG GET ..` the
//! values of `save` and `appendonly` that `redis-benchmark` asks for,
//! `CONFIG SET ..` and `CLIENT ..` answer `+OK`, `INFO` a short bulk
//! string); anything else is `-ERR unknown command 'x'`. Expired keys are
//! dropped lazily, when next touched. An `EX`/`PX` whose deadline does not
//! fit Redis's range answers `-ERR invalid expire time in 'set' command`.
//!
//! Each connection is one task on the raw owned-buffer socket API: read
//! into an empty 16 KiB buffer, feed the bytes to the connection's
//! incremental RESP parser (`common/resp.rs`), which runs every command
//! they complete (pipelining), answer them all in one `write_all`. The
//! parser keeps only an incomplete request between reads and bounds it: a
//! bulk string is at most 512 MiB (`proto-max-bulk-len`), a request at
//! most 513 MiB, refused at the bulk header that would exceed it, before
//! its data arrives. Malformed input answers `-ERR Protocol error: ..` and
//! closes that connection; no input makes the server panic. The store is
//! a `HashMap` split into shards, each behind a
//! `std::sync::Mutex` held only for the few instructions of one command
//! (never across an `.await`), which is cheaper here than an async lock.
//!
//! The accept loop survives running out of file descriptors
//! (`incoming().with_backoff()`: it waits and serves again once clients
//! leave), and SIGINT or SIGTERM stop the server cleanly, so that it can be
//! restarted on the same port at once.

#[path = "common/server_args.rs"]
mod args;
#[path = "common/resp.rs"]
mod resp;

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aio::net::{TcpListener, TcpStream};
use resp::{parse_int, Flow, ProtocolError};

/// Bytes read at most per read call.
const READ_SIZE: usize = 16 * 1024;
/// Shards of the store.
const SHARDS: usize = 16;

// ------------------------------------------------------------------- store

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|t| t > now)
    }
}

type Shard = HashMap<Vec<u8>, Entry>;

/// The sharded store.
struct Db {
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

impl Db {
    fn new() -> Db {
        Db {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// The locked shard of `key`. A poisoned lock is taken anyway: no
    /// command leaves a shard half-updated.
    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        let i = self.hasher.hash_one(key) as usize % SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn each_shard(&self, mut f: impl FnMut(&mut Shard)) {
        for s in self.shards.iter() {
            f(&mut s.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }
}

/// The live entry of `key`, dropping it if it expired.
fn live<'a>(shard: &'a mut Shard, key: &[u8], now: Instant) -> Option<&'a mut Entry> {
    if shard.get(key).is_some_and(|e| !e.live(now)) {
        shard.remove(key);
    }
    shard.get_mut(key)
}

// ----------------------------------------------------------------- replies

fn simple(out: &mut Vec<u8>, s: &str) {
    out.push(b'+');
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn error(out: &mut Vec<u8>, msg: &str) {
    out.extend_from_slice(b"-ERR ");
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn int(out: &mut Vec<u8>, v: i64) {
    out.push(b':');
    out.extend_from_slice(v.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, v: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(v.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// A command name fit for an error message: printable, at most 128 bytes.
fn printable(name: &[u8]) -> String {
    name.iter()
        .take(128)
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect()
}

// ---------------------------------------------------------------- commands

/// Runs one command (`args[0]` is its name) and appends its reply.
fn execute(db: &Db, args: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    let Some((&name, rest)) = args.split_first() else {
        return Flow::Continue;
    };
    let n = rest.len();
    let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
    let now = Instant::now();
    let arity_ok = |min: usize, max: usize| (min..=max).contains(&n);
    let wrong_args = |out: &mut Vec<u8>| {
        let msg = format!(
            "wrong number of arguments for '{}' command",
            printable(name).to_ascii_lowercase()
        );
        error(out, &msg);
    };
    if is("GET") {
        if !arity_ok(1, 1) {
            wrong_args(out);
        } else {
            match live(&mut db.shard(rest[0]), rest[0], now) {
                Some(e) => bulk(out, &e.value),
                None => null(out),
            }
        }
    } else if is("SET") {
        if n < 2 {
            wrong_args(out);
        } else {
            set(db, rest, now, out);
        }
    } else if is("PING") {
        match n {
            0 => simple(out, "PONG"),
            1 => bulk(out, rest[0]),
            _ => wrong_args(out),
        }
    } else if is("ECHO") {
        if arity_ok(1, 1) {
            bulk(out, rest[0]);
        } else {
            wrong_args(out);
        }
    } else if is("DEL") || is("EXISTS") {
        if n == 0 {
            wrong_args(out);
        } else {
            let del = is("DEL");
            let mut count = 0;
            for &k in rest {
                let mut shard = db.shard(k);
                if live(&mut shard, k, now).is_some() {
                    count += 1;
                    if del {
                        shard.remove(k);
                    }
                }
            }
            int(out, count);
        }
    } else if is("INCR") {
        if arity_ok(1, 1) {
            incr(db, rest[0], now, out);
        } else {
            wrong_args(out);
        }
    } else if is("MSET") {
        if n == 0 || n % 2 != 0 {
            wrong_args(out);
        } else {
            for kv in rest.chunks_exact(2) {
                let entry = Entry {
                    value: kv[1].to_vec(),
                    expires: None,
                };
                db.shard(kv[0]).insert(kv[0].to_vec(), entry);
            }
            simple(out, "OK");
        }
    } else if is("DBSIZE") {
        let mut total = 0;
        db.each_shard(|s| total += s.values().filter(|e| e.live(now)).count());
        int(out, total as i64);
    } else if is("FLUSHDB") || is("FLUSHALL") {
        db.each_shard(|s| s.clear());
        simple(out, "OK");
    } else if is("SELECT") {
        match rest {
            [b"0"] => simple(out, "OK"),
            [_] => error(out, "DB index is out of range"),
            _ => wrong_args(out),
        }
    } else if is("QUIT") {
        simple(out, "OK");
        return Flow::Close;
    } else if is("COMMAND") {
        out.extend_from_slice(b"*0\r\n");
    } else if is("CONFIG") {
        match rest.first() {
            Some(sub) if sub.eq_ignore_ascii_case(b"GET") => config_get(&rest[1..], out),
            Some(_) => simple(out, "OK"),
            None => wrong_args(out),
        }
    } else if is("CLIENT") {
        simple(out, "OK");
    } else if is("INFO") {
        bulk(
            out,
            b"# Server\r\nredis_version:7.0.0\r\nserver_name:aio-kv\r\n",
        );
    } else {
        error(out, &format!("unknown command '{}'", printable(name)));
    }
    Flow::Continue
}

/// `CONFIG GET param..`: the two parameters `redis-benchmark` asks for
/// (`save`: no snapshots, `appendonly`: no), as name-value pairs; nothing
/// for any other.
fn config_get(params: &[&[u8]], out: &mut Vec<u8>) {
    let known: [(&[u8], &[u8]); 2] = [(b"save", b""), (b"appendonly", b"no")];
    let found: Vec<_> = known
        .iter()
        .filter(|(name, _)| params.iter().any(|p| p.eq_ignore_ascii_case(name)))
        .collect();
    out.push(b'*');
    out.extend_from_slice((found.len() * 2).to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in found {
        bulk(out, name);
        bulk(out, value);
    }
}

/// `SET k v [EX s | PX ms | KEEPTTL] [NX | XX] [GET]`.
fn set(db: &Db, args: &[&[u8]], now: Instant, out: &mut Vec<u8>) {
    let (key, value) = (args[0], args[1]);
    let (mut ttl, mut keep_ttl, mut nx, mut xx, mut get) = (None, false, false, false, false);
    let mut opts = args[2..].iter();
    while let Some(opt) = opts.next() {
        let is = |s: &str| opt.eq_ignore_ascii_case(s.as_bytes());
        if (is("EX") || is("PX")) && ttl.is_none() && !keep_ttl {
            let Some(v) = opts.next().and_then(|v| parse_int(v)) else {
                return error(out, "value is not an integer or out of range");
            };
            let Some(deadline) = deadline(now, v, is("EX")) else {
                return error(out, "invalid expire time in 'set' command");
            };
            ttl = Some(deadline);
        } else if is("KEEPTTL") && ttl.is_none() {
            keep_ttl = true;
        } else if is("NX") && !xx {
            nx = true;
        } else if is("XX") && !nx {
            xx = true;
        } else if is("GET") {
            get = true;
        } else {
            return error(out, "syntax error");
        }
    }
    let mut shard = db.shard(key);
    let old = live(&mut shard, key, now);
    let exists = old.is_some();
    if get {
        match &old {
            Some(e) => bulk(out, &e.value),
            None => null(out),
        }
    }
    if (nx && exists) || (xx && !exists) {
        if !get {
            null(out);
        }
        return;
    }
    let expires = match (ttl, keep_ttl, old) {
        (Some(deadline), _, _) => Some(deadline),
        (None, true, Some(e)) => e.expires,
        _ => None,
    };
    shard.insert(
        key.to_vec(),
        Entry {
            value: value.to_vec(),
            expires,
        },
    );
    if !get {
        simple(out, "OK");
    }
}

/// The deadline of `EX v` (`seconds`) or `PX v`, checked as Redis does:
/// positive, and the deadline in ms since the epoch fits an `i64`; `None`
/// is `invalid expire time` (it used to be a key that never expired).
fn deadline(now: Instant, v: i64, seconds: bool) -> Option<Instant> {
    let ms = if seconds { v.checked_mul(1000)? } else { v };
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    if ms <= 0 || ms.checked_add(epoch_ms).is_none() {
        return None;
    }
    now.checked_add(Duration::from_millis(ms as u64))
}

fn incr(db: &Db, key: &[u8], now: Instant, out: &mut Vec<u8>) {
    let mut shard = db.shard(key);
    let (current, expires) = match live(&mut shard, key, now) {
        Some(e) => match parse_int(&e.value) {
            Some(v) => (v, e.expires),
            None => return error(out, "value is not an integer or out of range"),
        },
        None => (0, None),
    };
    let Some(v) = current.checked_add(1) else {
        return error(out, "increment or decrement would overflow");
    };
    let value = v.to_string().into_bytes();
    shard.insert(key.to_vec(), Entry { value, expires });
    int(out, v);
}

/// Serves one connection until EOF, an error, `QUIT` or a protocol error.
async fn serve(stream: TcpStream, db: Arc<Db>) -> io::Result<()> {
    let mut parser = resp::Parser::new();
    let mut input = Vec::with_capacity(READ_SIZE);
    let mut out = Vec::with_capacity(READ_SIZE);
    loop {
        input.clear();
        let (res, buf) = stream.read(input).await;
        input = buf;
        let n = res?;
        if n == 0 {
            return Ok(());
        }
        let flow = handle_input(&db, &mut parser, &input[..n], &mut out);
        if !out.is_empty() {
            let (res, buf) = stream.write_all(out).await;
            out = buf;
            res?;
            out.clear();
        }
        if flow == Flow::Close {
            return Ok(());
        }
    }
}

/// Runs the commands that the bytes of one read complete, appending the
/// replies to `out`.
fn handle_input(db: &Db, parser: &mut resp::Parser, data: &[u8], out: &mut Vec<u8>) -> Flow {
    match parser.feed(data, &mut |args| execute(db, args, out)) {
        Ok(flow) => flow,
        Err(ProtocolError(msg)) => {
            error(out, &format!("Protocol error: {msg}"));
            Flow::Close
        }
    }
}

/// Accepts until the listener fails; running out of file descriptors only
/// pauses it (`with_backoff`).
async fn accept_loop(listener: TcpListener, db: Arc<Db>) -> io::Result<()> {
    let mut incoming = listener.incoming().with_backoff();
    loop {
        let stream = incoming.accept().await?;
        let _ = stream.set_nodelay(true);
        let db = db.clone();
        drop(aio::spawn(async move {
            if let Err(e) = serve(stream, db).await {
                args::report(&e);
            }
        }));
    }
}

fn main() -> io::Result<()> {
    let args = args::parse("kv_server", 6379, false);
    let stop = args::stop_signal();
    let rt = aio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
        println!("listening on {}", listener.local_addr()?);
        let db = Arc::new(Db::new());
        aio::select! {
            res = accept_loop(listener, db) => res,
            _ = stop => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` to a fresh connection state; returns the replies, the
    /// flow and the bytes left unparsed.
    fn feed(db: &Db, input: &[u8]) -> (String, Flow, usize) {
        let mut parser = resp::Parser::new();
        let mut out = Vec::new();
        let flow = handle_input(db, &mut parser, input, &mut out);
        (
            String::from_utf8_lossy(&out).into_owned(),
            flow,
            parser.buffered(),
        )
    }

    #[test]
    fn resp_and_inline() {
        let db = Db::new();
        let (out, flow, left) = feed(
            &db,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nget k\r\n*1\r\n$4\r\nPING\r\nPING hi\n",
        );
        assert_eq!(out, "+OK\r\n$5\r\nhello\r\n+PONG\r\n$2\r\nhi\r\n");
        assert_eq!((flow, left), (Flow::Continue, 0));
    }

    #[test]
    fn partial_commands_wait() {
        let db = Db::new();
        let full = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
        for cut in 0..full.len() {
            let (out, flow, left) = feed(&db, &full[..cut]);
            assert_eq!((out.as_str(), flow, left), ("", Flow::Continue, cut));
        }
        assert_eq!(feed(&db, full).0, "$5\r\nhello\r\n");
        assert_eq!(feed(&db, b"PING").2, 4);
    }

    #[test]
    fn protocol_errors_close() {
        let db = Db::new();
        for bad in [
            &b"*x\r\n"[..],
            b"*1\r\n+PING\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$4\r\nPINGxx",
            b"*1\r\n$99999999999999999999\r\n",
            b"*9999999999\r\n",
        ] {
            let (out, flow, _) = feed(&db, bad);
            assert!(out.starts_with("-ERR Protocol error"), "{bad:?}: {out}");
            assert_eq!(flow, Flow::Close);
        }
        let long = vec![b'a'; resp::MAX_INLINE + 1];
        assert_eq!(feed(&db, &long).1, Flow::Close);
    }

    #[test]
    fn commands() {
        let db = Db::new();
        let (out, _, _) = feed(
            &db,
            b"set a 1\nincr a\nexists a b\ndel a b\nget a\nfoo bar\nget\nset a 1 nx\nset a 2 nx\nset a 3 xx get\nmset x 1 y 2\ndbsize\ncommand docs\nconfig get save\nconfig get x\nclient setname x\n",
        );
        assert_eq!(
            out,
            "+OK\r\n:2\r\n:1\r\n:1\r\n$-1\r\n-ERR unknown command 'foo'\r\n\
             -ERR wrong number of arguments for 'get' command\r\n+OK\r\n$-1\r\n$1\r\n1\r\n\
             +OK\r\n:3\r\n*0\r\n*2\r\n$4\r\nsave\r\n$0\r\n\r\n*0\r\n+OK\r\n"
        );
        let (out, flow, _) = feed(&db, b"set a 1 ex 0\nset a 1 bogus\nquit\nping\n");
        assert_eq!(
            out,
            "-ERR invalid expire time in 'set' command\r\n-ERR syntax error\r\n+OK\r\n"
        );
        assert_eq!(flow, Flow::Close);
    }

    #[test]
    fn expiry_is_lazy() {
        let db = Db::new();
        db.shard(b"k").insert(
            b"k".to_vec(),
            Entry {
                value: b"v".to_vec(),
                expires: Some(Instant::now()),
            },
        );
        assert_eq!(feed(&db, b"get k\nexists k\n").0, "$-1\r\n:0\r\n");
        feed(&db, b"set k v px 100000\n");
        assert_eq!(feed(&db, b"get k\n").0, "$1\r\nv\r\n");
    }

    /// Issue 12, item 7: `SET k v EX 99999999999999999` answered `+OK` and
    /// the key never expired (the deadline overflowed to "none").
    #[test]
    fn out_of_range_expire_times_are_refused() {
        let db = Db::new();
        for cmd in [
            "set k v ex 99999999999999999",
            "set k v ex 9223372036854775",
            "set k v px 9223372036854775807",
            "set k v px 9223372036854000000",
            "set k v ex 0",
            "set k v px -5",
        ] {
            assert_eq!(
                feed(&db, format!("{cmd}\n").as_bytes()).0,
                "-ERR invalid expire time in 'set' command\r\n",
                "{cmd}"
            );
        }
        assert_eq!(feed(&db, b"exists k\n").0, ":0\r\n", "nothing was set");
        assert_eq!(
            feed(&db, b"set k v ex 99999999999999999999\n").0,
            "-ERR value is not an integer or out of range\r\n"
        );
        // A far deadline that fits is kept, as a deadline.
        assert_eq!(feed(&db, b"set k v ex 100000000000\n").0, "+OK\r\n");
        assert!(db.shard(b"k").get(&b"k"[..]).unwrap().expires.is_some());
        assert_eq!(feed(&db, b"set k v px 100000000000000\n").0, "+OK\r\n");
        assert!(db.shard(b"k").get(&b"k"[..]).unwrap().expires.is_some());
    }
}
