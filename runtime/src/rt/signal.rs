//! SIGINT for `run`, as in `asyncio.run`: on the process's main thread,
//! when SIGINT still has its default disposition, the first Ctrl-C cancels
//! the main task; once `run` has shut down the process exits with status
//! 130. The default disposition is restored at the first signal (so a
//! second Ctrl-C kills at once) and when `run` returns.
//!
//! The handler only writes to an eventfd (async-signal-safe); a watcher
//! thread reads it and does the cancelling. The eventfd is created once and
//! never closed: a handler still running on another thread when a `run`
//! ends writes to it, never to a closed and reused fd number.

use crate::loom::sync::atomic::{AtomicBool, AtomicI32, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::task::TaskRef;
use std::fmt;

/// The eventfd the handler writes to (-1: not created yet). Created at the
/// first install, kept open for the life of the process (one fd).
static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);
/// Whether a guard is installed (one `run` at a time handles SIGINT).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The process's signal eventfd (non-blocking), emptied of counts left by
/// an earlier `run`. `None` if it cannot be created.
fn signal_fd() -> Option<libc::c_int> {
    let mut fd = SIGNAL_FD.load(Acquire);
    if fd < 0 {
        // SAFETY: plain syscall; the result is checked.
        fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return None;
        }
        // Only the main thread installs (checked by the caller, with
        // INSTALLED held), so nobody races this store.
        SIGNAL_FD.store(fd, Release);
    }
    let mut buf = 0u64;
    // SAFETY: a non-blocking read of 8 bytes into a valid u64; it resets
    // the counter (or fails with EAGAIN when it is already zero).
    unsafe { libc::read(fd, (&mut buf as *mut u64).cast(), 8) };
    Some(fd)
}

extern "C" fn on_sigint(_: libc::c_int) {
    // SAFETY: reading and restoring this thread's errno is
    // async-signal-safe; the handler must not change it for the
    // interrupted code.
    let errno = unsafe { *libc::__errno_location() };
    let fd = SIGNAL_FD.load(Relaxed);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write(2) is async-signal-safe; `fd` is the eventfd owned
        // by the installed `SigintGuard`, and 8 bytes of a u64 are valid.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Installed for the duration of one `run`.
pub(crate) struct SigintGuard {
    fd: libc::c_int,
    previous: libc::sigaction,
    stop: Arc<AtomicBool>,
    pub(crate) interrupted: Arc<AtomicBool>,
    pub(crate) target: Arc<Mutex<Option<TaskRef>>>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for SigintGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigintGuard")
            .field("interrupted", &self.interrupted.load(Relaxed))
            .finish()
    }
}

fn on_main_thread() -> bool {
    // SAFETY: plain syscalls without arguments.
    unsafe { libc::getpid() == libc::gettid() }
}

impl SigintGuard {
    /// Installs the handler if this is the main thread and SIGINT has its
    /// default disposition; otherwise `None` (the application handles it).
    pub(crate) fn install() -> Option<SigintGuard> {
        if !on_main_thread() || INSTALLED.swap(true, AcqRel) {
            return None;
        }
        let guard = SigintGuard::install_here();
        if guard.is_none() {
            INSTALLED.store(false, Release);
        }
        guard
    }

    fn install_here() -> Option<SigintGuard> {
        // SAFETY: a zeroed sigaction is a valid "query" argument.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying the current disposition into valid memory.
        if unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current) } != 0
            || current.sa_sigaction != libc::SIG_DFL
        {
            return None;
        }
        let fd = signal_fd()?;
        // SAFETY: zeroed then filled: handler address, empty mask, restart.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_sigint as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: installing a handler that only calls write(2).
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to sigaction structs.
        if unsafe { libc::sigaction(libc::SIGINT, &act, &mut previous) } != 0 {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let interrupted = Arc::new(AtomicBool::new(false));
        let target: Arc<Mutex<Option<TaskRef>>> = Arc::default();
        let (s, i, t) = (stop.clone(), interrupted.clone(), target.clone());
        let prev_copy = previous;
        let watcher = std::thread::Builder::new()
            .name("aio-sigint".into())
            .spawn(move || {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                loop {
                    // SAFETY: waiting on the eventfd, which stays open.
                    unsafe { libc::poll(&mut pfd, 1, -1) };
                    let mut buf = 0u64;
                    // SAFETY: a non-blocking read of 8 bytes into a u64.
                    let n = unsafe { libc::read(fd, (&mut buf as *mut u64).cast(), 8) };
                    if n == 8 {
                        break;
                    }
                }
                if s.load(Acquire) {
                    return;
                }
                i.store(true, Release);
                // Restore the default: a second Ctrl-C kills at once.
                // SAFETY: reinstalling the disposition saved at install.
                unsafe { libc::sigaction(libc::SIGINT, &prev_copy, std::ptr::null_mut()) };
                eprintln!("aio: interrupted (SIGINT): cancelling the main task");
                if let Some(main) = t.lock().as_ref() {
                    main.cancel();
                }
            })
            .ok();
        if watcher.is_none() {
            // Without a watcher nobody would ever restore Ctrl-C: undo.
            // SAFETY: reinstalling the disposition saved above.
            unsafe { libc::sigaction(libc::SIGINT, &previous, std::ptr::null_mut()) };
            return None;
        }
        Some(SigintGuard {
            fd,
            previous,
            stop,
            interrupted,
            target,
            watcher,
        })
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        // SAFETY: reinstalling the disposition saved at install.
        unsafe { libc::sigaction(libc::SIGINT, &self.previous, std::ptr::null_mut()) };
        self.stop.store(true, Release);
        let one: u64 = 1;
        // SAFETY: waking our watcher through our eventfd.
        unsafe { libc::write(self.fd, (&one as *const u64).cast(), 8) };
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        // The eventfd stays open (see the module docs).
        INSTALLED.store(false, Release);
    }
}
