//! The epoll driver: one epoll instance per worker, where io_uring is
//! refused (container seccomp profiles, gVisor, `kernel.io_uring_disabled`,
//! old kernels).
//!
//! It sits behind the same interface as the ring (`driver/mod.rs`): a
//! worker parks in `epoll_pwait2` (`epoll_wait` where the kernel lacks it)
//! with its next timer deadline as the timeout, and is woken from any
//! thread by a write to an eventfd in its epoll set, sent only when the
//! unparker says it is PARKED (the same EMPTY / PARKED / NOTIFIED word as
//! the ring's, model-checked in `tests/loom_park.rs`).
//!
//! # Operations run readiness-based
//!
//! An op (`io/op.rs`, `io/multi.rs`) first tries its non-blocking syscall.
//! On `EAGAIN` it registers its fd (once per fd) with the epoll of the
//! thread it runs on, and waits on the fd's `ScheduledIo` (`io/ready.rs`)
//! until an event says the fd is ready in its direction; then it tries
//! again. The op's buffer never leaves the op (the kernel touches it only
//! inside the syscall), so a dropped op leaves nothing behind but its
//! waker's entry, which its drop removes.
//!
//! **Edge-triggered, registered once.** Each fd is added with
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET` the first time an op on it
//! would block, and removed just before it is closed. The alternative,
//! `EPOLLONESHOT`, costs an `epoll_ctl(MOD)` for every wait, a syscall per
//! blocked op; level-triggered would report a readable socket at every
//! park until it is drained, even while nobody reads it. With edge
//! triggering the readiness is kept in user space (`ScheduledIo`), so an
//! event is never lost between the syscall's `EAGAIN` and the wait (the
//! tick protocol of `io/ready.rs`), and a registration costs one
//! `epoll_ctl` in the fd's life.
//!
//! **Migration.** A task that moves to another worker keeps its fd
//! registered where it was: that worker's epoll delivers the event, and
//! the waker schedules the task wherever it runs. A registration whose
//! driver is gone (a `block_on` thread's, after the call returned) is
//! marked `SHUTDOWN`: its waiters wake and re-register with their own
//! thread's driver.
//!
//! Events name a registration by a token that is never reused (a
//! counter), looked up in the driver's map under one lock per batch, so a
//! late event of a deregistered fd finds nothing instead of freed memory.
//!
//! Called by `driver/mod.rs` (park, poll, wakes) and by the ops
//! (registration); calls the kernel.

use super::unpark::{Prepared, Signal, Unparker};
use super::{SpinBudget, SpinGate, SpinStep};
use crate::io::ready::{
    ScheduledIo, ERROR, READABLE, READ_CLOSED, SHUTDOWN, WRITABLE, WRITE_CLOSED,
};
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::stats::ThreadStats;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::task::Waker;
use std::time::Duration;

/// The token of the eventfd (registration tokens count up from 1).
const TOKEN_WAKE: u64 = 0;
/// Events taken per `epoll_wait`.
const EVENTS: usize = 256;

/// The shared side of one epoll instance: its fd and its registrations.
/// Registrations hold it (an `Arc`), so the epoll fd stays open while any
/// of them may still call `epoll_ctl` on it.
pub(crate) struct Poller {
    epfd: OwnedFd,
    regs: Mutex<HashMap<u64, Arc<ScheduledIo>>>,
    next_token: AtomicU64,
    /// Registered fds: a poll with none skips its syscall.
    registered: AtomicUsize,
    /// Registered fds whose events come soon (not `slow`): a park spins
    /// only if there is one.
    busy: AtomicUsize,
    /// The driver is gone: nobody delivers events any more.
    dead: AtomicBool,
    /// The owning thread's counters: registrations count as submissions
    /// (`register` runs on the owner: ops register with their own
    /// thread's driver), registered fds as ops in flight.
    stats: Arc<ThreadStats>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("epfd", &self.epfd.as_raw_fd())
            .field("registered", &self.registered.load(Relaxed))
            .finish()
    }
}

/// One fd's registration with a `Poller`.
pub(crate) struct Registration {
    pub(crate) io: Arc<ScheduledIo>,
    poller: Arc<Poller>,
    token: u64,
    slow: bool,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token)
            .finish()
    }
}

impl Poller {
    /// Adds `fd` to the epoll set (edge-triggered, both directions);
    /// `slow`: its events usually take long (a pidfd), so it does not
    /// make a park spin.
    pub(crate) fn register(self: &Arc<Self>, fd: RawFd, slow: bool) -> io::Result<Registration> {
        if self.dead.load(Acquire) {
            return Err(io::Error::other(
                "aio: this thread's epoll driver is shut down",
            ));
        }
        let token = self.next_token.fetch_add(1, Relaxed);
        let io = Arc::new(ScheduledIo::new());
        self.regs.lock().insert(token, io.clone());
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: plain syscall on our epoll fd and the caller's open fd;
        // `ev` is valid for the call.
        if unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            let e = io::Error::last_os_error();
            self.regs.lock().remove(&token);
            return Err(e);
        }
        let n = self.registered.fetch_add(1, Relaxed) + 1;
        if !slow {
            self.busy.fetch_add(1, Relaxed);
        }
        self.stats.submissions.incr();
        self.stats.in_flight.set(n as u64);
        Ok(Registration {
            io,
            poller: self.clone(),
            token,
            slow,
        })
    }
}

impl Registration {
    /// Whether its driver is gone (re-register with the current one).
    pub(crate) fn is_dead(&self) -> bool {
        self.poller.dead.load(Acquire)
    }

    /// Removes `fd` from the epoll set; called before the fd is closed.
    pub(crate) fn deregister(&self, fd: RawFd) {
        // SAFETY: plain syscall; the epoll fd is kept open by the `Arc`,
        // and `fd` is still open (the caller closes it after this).
        unsafe {
            libc::epoll_ctl(
                self.poller.epfd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
        if self.poller.regs.lock().remove(&self.token).is_some() {
            self.poller.registered.fetch_sub(1, Relaxed);
            if !self.slow {
                self.poller.busy.fetch_sub(1, Relaxed);
            }
        }
    }
}

/// Wakes a parked epoll driver: an eventfd write, from any thread.
struct WakeSignal {
    /// Owned here until the driver closes (`close`, under the lock): a
    /// late signal finds it open or `None`, never a reused fd number.
    eventfd: Mutex<Option<Arc<OwnedFd>>>,
}

impl Signal for WakeSignal {
    fn signal(&self) {
        if let Some(fd) = self.eventfd.lock().as_ref() {
            super::write_eventfd(fd.as_raw_fd());
        }
    }

    fn close(&self) {
        drop(self.eventfd.lock().take());
    }
}

/// One worker's epoll instance.
pub(crate) struct Driver {
    poller: Arc<Poller>,
    eventfd: Arc<OwnedFd>,
    pub(crate) unparker: Arc<Unparker>,
    events: Vec<libc::epoll_event>,
    /// Wakers of ops whose fds became ready, woken by the scheduler after
    /// it released the driver.
    pub(crate) woken: Vec<Waker>,
    /// The owning thread's counters.
    stats: Arc<ThreadStats>,
    max_park: Option<Duration>,
    spin: Arc<SpinGate>,
    /// This poller's spin length, adapted to what its spins find.
    spin_budget: SpinBudget,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpollDriver")
            .field("poller", &self.poller)
            .finish()
    }
}

impl Driver {
    pub(crate) fn new(spin: Arc<SpinGate>, stats: Arc<ThreadStats>) -> io::Result<Driver> {
        // SAFETY: plain syscall; the result is checked.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(super::out_of_fds(
                io::Error::last_os_error(),
                "an epoll instance",
            ));
        }
        // SAFETY: a fresh fd that nothing else owns.
        let epfd = unsafe { OwnedFd::from_raw_fd(epfd) };
        let eventfd = Arc::new(
            super::new_eventfd().map_err(|e| super::out_of_fds(e, "an epoll driver's eventfd"))?,
        );
        // Edge-triggered like every registration: each write to the
        // eventfd is a new edge (the kernel reports a write even while the
        // count is already non-zero), and every wait that reports it
        // drains the count (`dispatch`), so no wake is lost. A write that
        // no wait reported (the park ended by its spin, or by a timeout
        // just before the unpark) stays pending and ends the next wait at
        // once: one spare wake-up, nothing lost. (Miri's epoll supports
        // only edge-triggered interest.)
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: TOKEN_WAKE,
        };
        // SAFETY: both fds are open and ours; `ev` is valid for the call.
        let rc = unsafe {
            libc::epoll_ctl(
                epfd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                eventfd.as_raw_fd(),
                &mut ev,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let signal = WakeSignal {
            eventfd: Mutex::new(Some(eventfd.clone())),
        };
        Ok(Driver {
            poller: Arc::new(Poller {
                epfd,
                regs: Mutex::new(HashMap::new()),
                next_token: AtomicU64::new(TOKEN_WAKE + 1),
                registered: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
                dead: AtomicBool::new(false),
                stats: stats.clone(),
            }),
            eventfd,
            unparker: Arc::new(Unparker::new(Box::new(signal))),
            events: Vec::with_capacity(EVENTS),
            woken: Vec::new(),
            stats,
            max_park: super::max_park_from_env(),
            spin_budget: SpinBudget::new(spin.spin),
            spin,
        })
    }

    /// The poller ops register their fds with.
    pub(crate) fn poller(&self) -> &Arc<Poller> {
        &self.poller
    }

    /// Parks: waits for an event (a wake, a ready fd) or `timeout`.
    /// `may_spin`: poll for a while before blocking (`SpinGate`), if fds
    /// are registered.
    pub(crate) fn park(&mut self, timeout: Option<Duration>, may_spin: bool) {
        if self.unparker.park_prepare() == Prepared::Notified {
            return self.poll();
        }
        let timeout = match (timeout, self.max_park) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (t, max) => t.or(max),
        };
        let spun = if may_spin && timeout != Some(Duration::ZERO) {
            self.spin(timeout)
        } else {
            Some(Duration::ZERO)
        };
        // Nothing came while spinning: block for what is left.
        if let Some(spent) = spun {
            self.wait(timeout.map(|t| t.saturating_sub(spent)));
        }
        self.unparker.park_finish();
        self.dispatch();
    }

    /// Polls for events for up to the spin time, yielding the CPU on each
    /// turn; `None` if something came (the events are in `self.events`),
    /// else how long it spun.
    fn spin(&mut self, timeout: Option<Duration>) -> Option<Duration> {
        self.events.clear();
        if self.poller.busy.load(Relaxed) == 0 {
            return Some(Duration::ZERO);
        }
        let gate = self.spin.clone();
        let Some(spin) = self.spin_budget.start(&gate, timeout) else {
            return Some(Duration::ZERO);
        };
        loop {
            let work = self.unparker.state.load(Acquire) != super::unpark::PARKED || {
                self.wait(Some(Duration::ZERO));
                !self.events.is_empty()
            };
            match self.spin_budget.step(&spin, work) {
                SpinStep::Work => return None,
                SpinStep::Nothing(spent) => return Some(spent),
                SpinStep::Again => std::thread::yield_now(),
            }
        }
    }

    /// One `epoll_wait`: fills `self.events`.
    fn wait(&mut self, timeout: Option<Duration>) {
        self.events.clear();
        self.count_enter();
        let n = epoll_wait(
            self.poller.epfd.as_raw_fd(),
            self.events.spare_capacity_mut(),
            timeout,
        );
        match n {
            // SAFETY: the kernel initialized the first `n` entries.
            Ok(n) => unsafe { self.events.set_len(n) },
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => panic!("aio: epoll_wait failed while parking: {e}"),
        }
    }

    fn count_enter(&self) {
        self.stats.enters.incr();
    }

    /// Without blocking: collects the events that are there. No syscall
    /// when no fd is registered (a wake is seen through the unparker).
    pub(crate) fn poll(&mut self) {
        if self.poller.registered.load(Relaxed) == 0 {
            return;
        }
        self.wait(Some(Duration::ZERO));
        self.dispatch();
    }

    /// Turns the events in `self.events` into readiness and wakers.
    fn dispatch(&mut self) {
        // Deregistrations run on any thread: the owner refreshes the gauge.
        self.stats
            .in_flight
            .set(self.poller.registered.load(Relaxed) as u64);
        if self.events.is_empty() {
            return;
        }
        let mut drain = false;
        {
            let regs = self.poller.regs.lock();
            for ev in &self.events {
                let token = ev.u64;
                if token == TOKEN_WAKE {
                    drain = true;
                    continue;
                }
                // A deregistered fd's late event finds nothing.
                if let Some(io) = regs.get(&token) {
                    self.stats.completions.incr();
                    io.set_readiness(bits_of(ev.events), &mut self.woken);
                }
            }
        }
        self.events.clear();
        if drain {
            let mut buf = 0u64;
            // SAFETY: reading 8 bytes into a valid u64 from our own
            // non-blocking eventfd.
            let _ =
                unsafe { libc::read(self.eventfd.as_raw_fd(), (&mut buf as *mut u64).cast(), 8) };
        }
    }
}

/// The readiness bits of an epoll event mask.
fn bits_of(events: u32) -> usize {
    let e = events as i32;
    let mut bits = 0;
    if e & libc::EPOLLIN != 0 {
        bits |= READABLE;
    }
    if e & libc::EPOLLOUT != 0 {
        bits |= WRITABLE;
    }
    if e & libc::EPOLLRDHUP != 0 {
        bits |= READ_CLOSED | READABLE;
    }
    if e & libc::EPOLLHUP != 0 {
        bits |= READ_CLOSED | WRITE_CLOSED | READABLE | WRITABLE;
    }
    if e & libc::EPOLLERR != 0 {
        bits |= ERROR | READABLE | WRITABLE;
    }
    bits
}

/// Whether `epoll_pwait2` (ns timeouts, Linux 5.11) is known missing.
/// (Miri interprets only `epoll_wait`, which it always uses.)
#[cfg(not(miri))]
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

/// Waits for events into `out`; `None` waits forever. Timeouts round up
/// to what the call can express, so a timer never fires early.
fn epoll_wait(
    epfd: RawFd,
    out: &mut [std::mem::MaybeUninit<libc::epoll_event>],
    timeout: Option<Duration>,
) -> io::Result<usize> {
    let max = out.len().min(i32::MAX as usize) as i32;
    let ptr = out.as_mut_ptr().cast::<libc::epoll_event>();
    #[cfg(not(miri))]
    if !NO_PWAIT2.load(Relaxed) {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
        // SAFETY: `ptr` has room for `max` events; `tsp` is null or points
        // at a valid timespec for the call; no signal mask.
        let n = unsafe { libc::epoll_pwait2(epfd, ptr, max, tsp, std::ptr::null()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        // ENOSYS: a kernel before 5.11; EPERM: a seccomp profile that
        // refuses the syscalls it does not know (older Docker, Podman).
        if !matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) {
            return Err(e);
        }
        NO_PWAIT2.store(true, Relaxed);
    }
    let ms = match timeout {
        None => -1,
        Some(t) => {
            // Round up: a 100 µs timeout is 1 ms, never 0.
            let ms = t.as_nanos().div_ceil(1_000_000);
            ms.min(i32::MAX as u128) as i32
        }
    };
    // SAFETY: `ptr` has room for `max` events.
    let n = unsafe { libc::epoll_wait(epfd, ptr, max, ms) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Nobody delivers this epoll's events any more: its registrations'
        // waiters wake and re-register with their own thread's driver.
        self.poller.dead.store(true, Release);
        let regs = std::mem::take(&mut *self.poller.regs.lock());
        let mut woken = Vec::new();
        for io in regs.values() {
            io.set_readiness(SHUTDOWN, &mut woken);
        }
        drop(regs);
        for w in woken {
            w.wake();
        }
        // Later unparks find NOTIFIED and send nothing; a signal already on
        // its way finds the eventfd gone.
        self.unparker.state.store(super::unpark::NOTIFIED, SeqCst);
        self.unparker.close_signal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn driver() -> Driver {
        let cfg = super::super::DriverConfig::new(
            crate::rt::Driver::Epoll,
            8,
            Duration::ZERO,
            0,
            Duration::ZERO,
        );
        Driver::new(cfg.spin.clone(), Default::default()).unwrap()
    }

    /// A connected pair of non-blocking Unix stream sockets, made so at
    /// creation (`SOCK_NONBLOCK`), used with read(2)/write(2) (as `File`s):
    /// Miri, which runs these tests too, has neither `ioctl(FIONBIO)`
    /// (`set_nonblocking`) nor `send` on them.
    fn nonblocking_pair() -> (std::fs::File, std::fs::File) {
        let mut fds = [0; 2];
        let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: `fds` has room for the two fds; the result is checked.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) };
        assert_eq!(rc, 0, "socketpair: {}", io::Error::last_os_error());
        // SAFETY: both fds are fresh and owned by nobody else.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        }
    }

    #[test]
    fn a_timed_park_waits_and_an_unpark_ends_a_park() {
        let mut d = driver();
        let t0 = Instant::now();
        d.park(Some(Duration::from_millis(5)), false);
        assert!(
            t0.elapsed() >= Duration::from_millis(5),
            "a timed park waits"
        );
        let u = d.unparker.clone();
        std::thread::spawn(move || u.unpark()).join().unwrap();
        // Notified (or the eventfd is readable): returns without a timeout.
        d.park(None, false);
    }

    #[test]
    fn a_registered_fd_wakes_its_waiter() {
        let mut d = driver();
        let (a, b) = nonblocking_pair();
        let reg = d.poller().register(a.as_raw_fd(), false).unwrap();
        // The ADD reports the writable socket: a first edge.
        d.park(Some(Duration::from_secs(5)), false);
        let (count, waker) = crate::io::ready::tests_support::counting_waker();
        let mut key = None;
        let snap = reg.io.snapshot();
        reg.io.clear(snap, crate::io::ready::Interest::Read);
        assert!(reg
            .io
            .poll_ready(crate::io::ready::Interest::Read, &mut key, &waker)
            .is_pending());
        use std::io::Write;
        (&b).write_all(b"x").unwrap();
        d.park(Some(Duration::from_secs(5)), false);
        assert_eq!(d.woken.len(), 1, "the reader's waker");
        d.woken.drain(..).for_each(Waker::wake);
        assert_eq!(count.load(SeqCst), 1);
        reg.deregister(a.as_raw_fd());
        assert_eq!(d.poller.registered.load(Relaxed), 0);
    }

    #[test]
    fn a_slow_registration_does_not_make_a_park_spin() {
        let cfg = super::super::DriverConfig::new(
            crate::rt::Driver::Epoll,
            8,
            Duration::from_secs(3600),
            1,
            Duration::ZERO,
        );
        let mut d = Driver::new(cfg.spin.clone(), Default::default()).unwrap();
        let (a, _b) = nonblocking_pair();
        let slow = d.poller().register(a.as_raw_fd(), true).unwrap();
        assert_eq!(d.poller.registered.load(Relaxed), 1, "polled");
        assert_eq!(d.poller.busy.load(Relaxed), 0, "but not spun for");
        assert_eq!(
            d.spin(Some(Duration::from_secs(3600))),
            Some(Duration::ZERO)
        );
        slow.deregister(a.as_raw_fd());
        // A fast one spins (here until the timeout: nothing comes).
        let fast = d.poller().register(a.as_raw_fd(), false).unwrap();
        // The ADD's first edge (writable) ends one spin; the next spins
        // (as a park does: PARKED recorded) until its timeout.
        assert!(matches!(d.unparker.park_prepare(), Prepared::Block));
        assert_eq!(d.spin(Some(Duration::from_secs(5))), None);
        let spent = d
            .spin(Some(Duration::from_millis(2)))
            .expect("nothing came");
        assert!(spent >= Duration::from_millis(2), "{spent:?}");
        d.unparker.park_finish();
        fast.deregister(a.as_raw_fd());
        assert_eq!(d.poller.busy.load(Relaxed), 0);
    }

    #[test]
    fn a_dropped_driver_wakes_its_waiters_to_re_register() {
        let d = driver();
        let (a, _b) = nonblocking_pair();
        let reg = d.poller().register(a.as_raw_fd(), false).unwrap();
        let (count, waker) = crate::io::ready::tests_support::counting_waker();
        let mut key = None;
        let _ = reg
            .io
            .poll_ready(crate::io::ready::Interest::Read, &mut key, &waker);
        drop(d);
        assert!(reg.is_dead());
        assert!(reg.io.is_shut_down());
        assert!(count.load(SeqCst) <= 1);
        // The epoll fd stays open for the deregistration.
        reg.deregister(a.as_raw_fd());
    }

    #[test]
    fn event_masks_map_to_readiness() {
        assert_eq!(bits_of(libc::EPOLLIN as u32), READABLE);
        assert_eq!(bits_of(libc::EPOLLOUT as u32), WRITABLE);
        assert_ne!(bits_of(libc::EPOLLRDHUP as u32) & READ_CLOSED, 0);
        let hup = bits_of(libc::EPOLLHUP as u32);
        assert_ne!(hup & READ_CLOSED, 0);
        assert_ne!(hup & WRITE_CLOSED, 0);
        assert_ne!(bits_of(libc::EPOLLERR as u32) & ERROR, 0);
    }
}
