//! The process-wide signal mechanism: one handler, a self-pipe, a
//! dispatcher thread, and the listeners of each signal.
//!
//! - The handler (async-signal-safe) marks the signal pending and writes
//!   one byte to the pipe (non-blocking: a full pipe already means "look
//!   at the flags").
//! - The dispatcher thread (`aio-signal`, started with the first
//!   listener, then kept) reads the pipe and delivers each pending
//!   signal: `Signal` streams get a new version of their signal's slot
//!   (several deliveries before a `recv` coalesce into one, as in tokio),
//!   each runtime's handler callback is scheduled with `call_soon` on its
//!   runtime, and — only when a signal has neither — `run`'s SIGINT
//!   fallback runs once.
//! - A signal's disposition is ours while it has a listener (streams,
//!   callbacks, the fallback); when the last goes, the disposition saved
//!   when the first came is restored.
//!
//! Called by `unix.rs` (streams), `rt/handle.rs` (callbacks), `rt/signal.rs`
//! (run's SIGINT) and `rt/runtime.rs` (a runtime's callbacks go at
//! shutdown); calls libc and `Handle::call_soon`.

use crate::context::Context;
use crate::loom::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::rt::{Handle, Shared};
use std::io;
use std::task::Waker;

/// Signal numbers 1..=64 (`SIGRTMAX` on Linux).
pub(crate) const NSIG: usize = 65;

/// Set by the handler, cleared by the dispatcher.
static PENDING: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];
/// The self-pipe's write end, -1 until it exists (then never closed, so
/// a handler running late never writes to a reused fd number).
static PIPE_W: AtomicI32 = AtomicI32::new(-1);

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    started: false,
    sigs: Vec::new(),
});

/// Signals a listener may not take: their default action is what a
/// program needs (a crash must crash), or they cannot be caught.
/// (A fault signal aio caught would only set a flag and return to the
/// faulting instruction, which faults again, forever.)
const FORBIDDEN: [i32; 8] = [
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGKILL,
    libc::SIGSEGV,
    libc::SIGSTOP,
    libc::SIGBUS,
    libc::SIGTRAP,
    libc::SIGSYS,
];

struct Registry {
    /// The pipe and the dispatcher exist.
    started: bool,
    /// Indexed by signal number (grown on first use).
    sigs: Vec<SigState>,
}

#[derive(Default)]
struct SigState {
    /// `Signal` streams alive.
    streams: usize,
    /// Their broadcast slot (kept once made).
    slot: Option<Arc<Slot>>,
    /// One handler per runtime (`Handle::add_signal_handler`).
    callbacks: Vec<Callback>,
    /// `run`'s SIGINT behaviour, for when nobody else listens.
    fallback: Option<Box<dyn FnOnce() + Send>>,
    /// The disposition before ours, while ours is installed.
    previous: Option<libc::sigaction>,
}

struct Callback {
    handle: Handle,
    cb: Arc<dyn Fn() + Send + Sync>,
    /// The context current at `add_signal_handler` (as asyncio's Handle).
    ctx: Context,
}

impl SigState {
    fn listeners(&self) -> usize {
        self.streams + self.callbacks.len() + usize::from(self.fallback.is_some())
    }
}

/// The deliveries of one signal to its streams: a version, bumped per
/// delivery, and the wakers of the streams waiting for the next one.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) version: AtomicU64,
    pub(crate) waiters: Mutex<Vec<(u64, Waker)>>,
    next_key: AtomicU64,
}

impl Slot {
    /// A key for a waiter of this slot.
    pub(crate) fn key(&self) -> u64 {
        self.next_key.fetch_add(1, Relaxed)
    }
}

/// The error for a signal number no listener may take.
pub(crate) fn check(signum: i32) -> io::Result<usize> {
    if signum <= 0 || signum as usize >= NSIG {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signum} is not a signal number (1..={})", NSIG - 1),
        ));
    }
    if FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to handle signal {signum}: its default action must stay"),
        ));
    }
    Ok(signum as usize)
}

extern "C" fn on_signal(signum: libc::c_int) {
    // SAFETY: reading and restoring this thread's errno is
    // async-signal-safe; the handler must not change it for the
    // interrupted code.
    let errno = unsafe { *libc::__errno_location() };
    if let Some(p) = PENDING.get(signum as usize) {
        p.store(true, Release);
    }
    let fd = PIPE_W.load(Acquire);
    if fd >= 0 {
        let b = signum as u8;
        // SAFETY: write(2) is async-signal-safe; the pipe's write end is
        // never closed; one valid byte.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

impl Registry {
    fn sig(&mut self, s: usize) -> &mut SigState {
        if self.sigs.len() < NSIG {
            self.sigs.resize_with(NSIG, SigState::default);
        }
        &mut self.sigs[s]
    }

    /// Creates the pipe and starts the dispatcher, once.
    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two fds; the result is checked.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let (r, w) = (fds[0], fds[1]);
        // The dispatcher blocks on the read end.
        // SAFETY: plain syscalls on the fds just created.
        unsafe {
            let fl = libc::fcntl(r, libc::F_GETFL);
            libc::fcntl(r, libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
        let spawned = std::thread::Builder::new()
            .name("aio-signal".into())
            .spawn(move || dispatch_loop(r));
        if let Err(e) = spawned {
            // SAFETY: closing the fds we created, which nobody saw.
            unsafe {
                libc::close(r);
                libc::close(w);
            }
            return Err(e);
        }
        PIPE_W.store(w, Release);
        self.started = true;
        Ok(())
    }

    /// A listener of `s` comes: the first installs our handler.
    fn acquire(&mut self, s: usize) -> io::Result<()> {
        self.start()?;
        let st = self.sig(s);
        if st.listeners() > 0 || st.previous.is_some() {
            return Ok(());
        }
        // SAFETY: zeroed, then filled: our handler, an empty mask.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_signal as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: initializing the mask we own.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: all-zero is a valid sigaction for the kernel to fill.
        let mut prev: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers; the handler only does async-signal-safe
        // work.
        if unsafe { libc::sigaction(s as i32, &act, &mut prev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        st.previous = Some(prev);
        Ok(())
    }

    /// A listener of `s` went: the last restores the disposition.
    fn release(&mut self, s: usize) {
        let st = self.sig(s);
        if st.listeners() > 0 {
            return;
        }
        if let Some(prev) = st.previous.take() {
            // SAFETY: reinstalling the disposition saved in `acquire`.
            unsafe { libc::sigaction(s as i32, &prev, std::ptr::null_mut()) };
        }
    }
}

/// Whether `signum` has a listener.
pub(crate) fn is_listening(signum: i32) -> bool {
    if signum <= 0 || signum as usize >= NSIG {
        return false;
    }
    let reg = REGISTRY.lock();
    reg.sigs
        .get(signum as usize)
        .is_some_and(|st| st.listeners() > 0)
}

/// A new `Signal` stream of `signum`: its slot, and the version it has
/// seen (deliveries before it was made are not its).
pub(crate) fn add_stream(signum: i32) -> io::Result<(Arc<Slot>, u64)> {
    let s = check(signum)?;
    let mut reg = REGISTRY.lock();
    reg.acquire(s)?;
    let st = reg.sig(s);
    st.streams += 1;
    let slot = st.slot.get_or_insert_with(Arc::default).clone();
    let seen = slot.version.load(Acquire);
    Ok((slot, seen))
}

/// A `Signal` stream of `signum` was dropped.
pub(crate) fn remove_stream(signum: i32) {
    let mut reg = REGISTRY.lock();
    let st = reg.sig(signum as usize);
    st.streams -= 1;
    reg.release(signum as usize);
}

/// Sets `handle`'s handler of `signum` (replacing its previous one).
pub(crate) fn add_callback(
    signum: i32,
    handle: &Handle,
    cb: Arc<dyn Fn() + Send + Sync>,
) -> io::Result<()> {
    let s = check(signum)?;
    let ctx = Context::copy_current();
    let mut reg = REGISTRY.lock();
    let st = reg.sig(s);
    if let Some(c) = st
        .callbacks
        .iter_mut()
        .find(|c| Arc::ptr_eq(c.handle.shared(), handle.shared()))
    {
        c.cb = cb;
        c.ctx = ctx;
        return Ok(());
    }
    reg.acquire(s)?;
    reg.sig(s).callbacks.push(Callback {
        handle: handle.clone(),
        cb,
        ctx,
    });
    Ok(())
}

/// Removes `shared`'s handler of `signum`; whether there was one.
pub(crate) fn remove_callback(signum: i32, shared: &Arc<Shared>) -> bool {
    let Ok(s) = check(signum) else { return false };
    let mut reg = REGISTRY.lock();
    let st = reg.sig(s);
    let before = st.callbacks.len();
    st.callbacks
        .retain(|c| !Arc::ptr_eq(c.handle.shared(), shared));
    let removed = st.callbacks.len() < before;
    if removed {
        reg.release(s);
    }
    removed
}

/// Removes every handler of the runtime `shared` (it shuts down).
pub(crate) fn remove_runtime(shared: &Arc<Shared>) {
    let mut reg = REGISTRY.lock();
    for s in 1..reg.sigs.len() {
        let st = &mut reg.sigs[s];
        let before = st.callbacks.len();
        st.callbacks
            .retain(|c| !Arc::ptr_eq(c.handle.shared(), shared));
        if st.callbacks.len() < before {
            reg.release(s);
        }
    }
}

/// `run`'s SIGINT behaviour, registered if SIGINT's disposition (before
/// any of ours) is the default; `Ok(false)` otherwise (the application
/// handles SIGINT itself).
pub(crate) fn set_sigint_fallback(f: Box<dyn FnOnce() + Send>) -> io::Result<bool> {
    let s = libc::SIGINT as usize;
    let mut reg = REGISTRY.lock();
    let underlying = match reg.sig(s).previous {
        Some(prev) => prev.sa_sigaction,
        None => {
            // SAFETY: all-zero is a valid sigaction for the kernel to fill.
            let mut cur: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: querying into valid memory.
            if unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut cur) } < 0 {
                return Err(io::Error::last_os_error());
            }
            cur.sa_sigaction
        }
    };
    if underlying != libc::SIG_DFL || reg.sig(s).fallback.is_some() {
        return Ok(false);
    }
    reg.acquire(s)?;
    reg.sig(s).fallback = Some(f);
    Ok(true)
}

/// Removes `run`'s SIGINT fallback if it has not run.
pub(crate) fn clear_sigint_fallback() {
    let s = libc::SIGINT as usize;
    let mut reg = REGISTRY.lock();
    if reg.sig(s).fallback.take().is_some() {
        reg.release(s);
    }
}

fn dispatch_loop(read_fd: i32) {
    let mut buf = [0u8; 128];
    loop {
        // SAFETY: reading into our buffer from the pipe we own.
        let n = unsafe { libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // Never expected; keep the thread from spinning.
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for (s, pending) in PENDING.iter().enumerate().skip(1) {
            if pending.swap(false, AcqRel) {
                deliver(s);
            }
        }
    }
}

/// Delivers one (coalesced) occurrence of signal `s`.
fn deliver(s: usize) {
    let mut wakers = Vec::new();
    let mut calls = Vec::new();
    let mut fallback = None;
    {
        let mut reg = REGISTRY.lock();
        let st = reg.sig(s);
        if st.streams > 0 || !st.callbacks.is_empty() {
            if let Some(slot) = &st.slot {
                slot.version.fetch_add(1, AcqRel);
                wakers.extend(slot.waiters.lock().drain(..).map(|(_, w)| w));
            }
            for c in &st.callbacks {
                calls.push((c.handle.clone(), c.cb.clone(), c.ctx.clone()));
            }
        } else if let Some(f) = st.fallback.take() {
            fallback = Some(f);
            reg.release(s);
        }
    }
    for w in wakers {
        w.wake();
    }
    for (handle, cb, ctx) in calls {
        handle.call_soon(move || ctx.run(|| cb()));
    }
    if let Some(f) = fallback {
        f();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_fault_signals_and_the_uncatchable_ones_are_refused() {
        for sig in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGTRAP,
            libc::SIGSYS,
        ] {
            let err = check(sig).unwrap_err();
            assert_eq!(
                err.kind(),
                io::ErrorKind::InvalidInput,
                "signal {sig}: {err}"
            );
        }
    }
}
