//! SIGINT for `run`, as in `asyncio.run`: on the process's main thread,
//! when SIGINT still has its default disposition, the first Ctrl-C cancels
//! the main task; once `run` has shut down the process exits with status
//! 130. The default disposition is restored at the first signal (so a
//! second Ctrl-C kills at once) and when `run` returns.
//!
//! The handler only writes to an eventfd (async-signal-safe); a watcher
//! thread reads it and does the cancelling.

use crate::loom::sync::atomic::{AtomicBool, AtomicI32, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::task::TaskRef;
use std::fmt;

/// The eventfd the handler writes to (-1: none installed).
static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);

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
        if !on_main_thread() || SIGNAL_FD.load(Acquire) >= 0 {
            return None;
        }
        // SAFETY: a zeroed sigaction is a valid "query" argument.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying the current disposition into valid memory.
        if unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current) } != 0
            || current.sa_sigaction != libc::SIG_DFL
        {
            return None;
        }
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        SIGNAL_FD.store(fd, Release);
        // SAFETY: zeroed then filled: handler address, empty mask, restart.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_sigint as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: installing a handler that only calls write(2).
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to sigaction structs.
        if unsafe { libc::sigaction(libc::SIGINT, &act, &mut previous) } != 0 {
            SIGNAL_FD.store(-1, Release);
            // SAFETY: closing the eventfd we just created.
            unsafe { libc::close(fd) };
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
                let mut buf = 0u64;
                // SAFETY: blocking read of 8 bytes from our eventfd.
                unsafe { libc::read(fd, (&mut buf as *mut u64).cast(), 8) };
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
            SIGNAL_FD.store(-1, Release);
            // SAFETY: closing the eventfd we created; the handler is gone.
            unsafe { libc::close(fd) };
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
        SIGNAL_FD.store(-1, Release);
        // SAFETY: nobody uses the fd any more (handler gone, watcher joined).
        unsafe { libc::close(self.fd) };
    }
}
