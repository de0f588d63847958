//! SIGINT for `run`, as in `asyncio.run`: on the process's main thread,
//! when SIGINT's disposition is the default one, the first Ctrl-C
//! cancels the main task; once `run` has shut down the process exits
//! with status 130. The default disposition is restored at the first
//! signal (so a second Ctrl-C kills at once) and when `run` returns.
//!
//! This is the "fallback" listener of the process-wide signal mechanism
//! (`signal/registry.rs`): it gets SIGINT only while nothing else listens
//! to it. A `Signal` stream, `ctrl_c()` or a handler callback for SIGINT
//! take it instead, so an application that handles Ctrl-C itself keeps
//! its main task.

use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::signal::registry;
use crate::task::TaskRef;
use std::fmt;

/// Whether a guard is installed (one `run` at a time handles SIGINT).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installed for the duration of one `run`.
pub(crate) struct SigintGuard {
    pub(crate) interrupted: Arc<AtomicBool>,
    pub(crate) target: Arc<Mutex<Option<TaskRef>>>,
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
    /// Listens to SIGINT if this is the main thread and SIGINT has its
    /// default disposition; otherwise `None` (the application handles it).
    pub(crate) fn install() -> Option<SigintGuard> {
        if !on_main_thread() || INSTALLED.swap(true, AcqRel) {
            return None;
        }
        let interrupted = Arc::new(AtomicBool::new(false));
        let target: Arc<Mutex<Option<TaskRef>>> = Arc::default();
        let (i, t) = (interrupted.clone(), target.clone());
        // Runs on the signal dispatcher thread, at most once; the
        // registry has restored the default disposition by then (unless
        // a listener came meanwhile), so a second Ctrl-C kills.
        let on_sigint = Box::new(move || {
            i.store(true, Release);
            eprintln!("aio: interrupted (SIGINT): cancelling the main task");
            if let Some(main) = t.lock().as_ref() {
                main.cancel();
            }
        });
        match registry::set_sigint_fallback(on_sigint) {
            Ok(true) => Some(SigintGuard {
                interrupted,
                target,
            }),
            _ => {
                INSTALLED.store(false, Release);
                None
            }
        }
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        registry::clear_sigint_fallback();
        INSTALLED.store(false, Release);
    }
}
