//! The io_uring ring of one worker: setup, park, poll, cross-ring wakes.
//!
//! Setup asks for `SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN |
//! TASKRUN_FLAG` (the ring is created disabled and enabled on its owner's
//! thread) and attaches every ring of a runtime to the first one's kernel
//! worker pool (`ATTACH_WQ`); flags the kernel refuses are dropped one by
//! one. When io_uring itself is refused, the error says why and what to do.
//!
//! `user_data` space: small constants are the driver's own tokens;
//! everything else is reserved for op records (their addresses).

use super::batch::{Batch, Batcher};
use super::config::DriverConfig;
use super::spin::{SpinBudget, SpinGate, SpinStep};
use super::unpark::{Prepared, Signal, Unparker};
use crate::io::pool::BufPool;
use crate::io::record::{Completion, Header, CANCEL_TAG};
use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::{Arc, Mutex};
use crate::stats::ThreadStats;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::task::Waker;
use std::time::{Duration, Instant};

/// A wake posted by another ring (MSG_RING).
const TOKEN_WAKE: u64 = 1;
/// The multishot poll on the eventfd.
const TOKEN_EVENTFD: u64 = 2;
/// Our own MSG_RING submissions (only failures produce a CQE).
const TOKEN_MSG_SENT: u64 = 3;
/// A yield that comes back sooner ran no other thread: the CPU is not
/// contended (`Driver::spin`).
const CONTENDED_YIELD: Duration = Duration::from_micros(3);
/// The buffer group id of a ring's receive pool (the only group).
const RECV_POOL_GROUP: u16 = 1;
/// The general timeout of a batched wait that has none (a day).
const NO_TIMEOUT: Duration = Duration::from_secs(86_400);

/// Requests for a ring from threads that do not own it: cancels of ops
/// whose task migrated. The owner drains it before each submission.
pub(crate) struct Mailbox {
    pending: AtomicBool,
    cancels: Mutex<Vec<CancelRef>>,
    unparker: Arc<Unparker>,
    /// The kernel sends the rest of a short `MSG_WAITALL` send itself
    /// (5.18, with MSG_RING, the probe that tells): an op on this ring may
    /// go unwatched (`Op::forget_waker`).
    pub(crate) retries_short_sends: bool,
}

/// A record reference owned by a queued cancel.
struct CancelRef(NonNull<Header>);

// SAFETY: a record reference may be released from any thread (the record is
// an `Arc` of `Send + Sync` parts).
unsafe impl Send for CancelRef {}

impl Mailbox {
    /// Queues a cancel of `target` (a reference the cancel owns) and wakes
    /// the ring's owner.
    pub(crate) fn post_cancel(&self, target: NonNull<Header>) {
        self.cancels.lock().push(CancelRef(target));
        self.pending.store(true, Release);
        self.unparker.unpark();
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        // The ring is gone (its ops completed or were leaked on purpose):
        // nothing will cancel these; release their references.
        for c in self.cancels.get_mut().drain(..) {
            // SAFETY: each CancelRef owns one reference.
            unsafe { Header::release(c.0) }
        }
    }
}

/// One ring and its wake channel.
pub(crate) struct Driver {
    ring: IoUring,
    eventfd: Arc<OwnedFd>,
    pub(crate) unparker: Arc<Unparker>,
    msg_ring: bool,
    /// The opcodes this kernel supports (one bit each, from the probe).
    opcodes: [u64; 4],
    eventfd_armed: bool,
    disabled: bool,
    mailbox: Arc<Mailbox>,
    /// SQEs that hold a record reference and have not completed yet.
    in_flight: usize,
    /// Those of them whose completion usually comes soon (not
    /// `OpData::SLOW`): a park spins only if there is one.
    in_flight_fast: usize,
    /// The owning thread's counters (enters, submissions, completions).
    stats: Arc<ThreadStats>,
    /// Wakers of completed ops, woken by the scheduler after it released
    /// the driver (a waker may submit the next op).
    pub(crate) woken: Vec<Waker>,
    /// The longest a park blocks (`AIO_MAX_PARK_US`), if capped.
    max_park: Option<Duration>,
    /// Polling before blocking.
    spin: Arc<SpinGate>,
    /// This ring's spin length, adapted to what its spins find.
    spin_budget: SpinBudget,
    /// The batch a busy park waits for (`Builder::park_batch`).
    batcher: Batcher,
    /// The receive pool of multishot receives (`io/pool.rs`): made on
    /// first use; `Some(None)` if the kernel cannot.
    recv_pool: Option<Option<Arc<BufPool>>>,
    /// Parks that work ended while the ring was polling.
    #[cfg(test)]
    spins_won: u64,
    /// The timeout of the last blocking wait.
    #[cfg(test)]
    last_wait: Option<Option<Duration>>,
}

/// How a spin before a park ended.
enum Spun {
    /// Work came: no need to block.
    Work,
    /// Nothing came in this long (zero if the ring did not spin).
    Nothing(Duration),
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("ring_fd", &self.ring.as_raw_fd())
            .field("msg_ring", &self.msg_ring)
            .finish()
    }
}

/// How a parked ring is woken.
struct WakeSignal {
    /// A dup of the ring's fd, and the eventfd, owned here until the ring
    /// closes (`close`, under the lock): a late signal (an unparker
    /// preempted across shutdown) finds them still open or finds `None`,
    /// never a closed and reused fd number.
    fds: Mutex<Option<WakeFds>>,
    msg_ring: bool,
}

struct WakeFds {
    ring_fd: OwnedFd,
    eventfd: Arc<OwnedFd>,
}

impl Signal for WakeSignal {
    fn signal(&self) {
        let fds = self.fds.lock();
        let Some(fds) = fds.as_ref() else {
            return; // the ring is closed: nobody to wake
        };
        // From a thread that owns a ring: MSG_RING into the sleeper's ring.
        if self.msg_ring {
            let sent = crate::scheduler::context::with_driver(|d| {
                d.and_then(|d| d.try_borrow_mut().ok())
                    .map(|mut d| d.msg_ring(fds.ring_fd.as_raw_fd()))
                    .unwrap_or(false)
            });
            if sent {
                return;
            }
        }
        super::write_eventfd(fds.eventfd.as_raw_fd());
    }

    fn close(&self) {
        drop(self.fds.lock().take());
    }
}

impl Driver {
    /// Creates a ring. `single_issuer`: the ring will only ever be used by
    /// one thread (a worker), which must call `enable` on itself.
    pub(crate) fn new(
        cfg: &DriverConfig,
        attach: Option<&Driver>,
        single_issuer: bool,
        stats: Arc<ThreadStats>,
    ) -> io::Result<Driver> {
        let ring = build_ring(
            cfg.entries,
            attach.map(|d| d.ring.as_raw_fd()),
            single_issuer,
        )?;
        let eventfd =
            Arc::new(super::new_eventfd().map_err(|e| super::out_of_fds(e, "a ring's eventfd"))?);
        let mut probe = io_uring::Probe::new();
        let probed = ring.submitter().register_probe(&mut probe).is_ok();
        check_features(&ring, probed.then_some(&probe))?;
        let msg_ring = probed && probe.is_supported(opcode::MsgRingData::CODE);
        let mut opcodes = [0u64; 4];
        if probed {
            for code in 0..=u8::MAX {
                if probe.is_supported(code) {
                    opcodes[usize::from(code / 64)] |= 1 << (code % 64);
                }
            }
        }
        // SAFETY: plain syscall; the result is checked before use.
        let dup = unsafe { libc::fcntl(ring.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(super::out_of_fds(
                io::Error::last_os_error(),
                "a ring's waker fd",
            ));
        }
        let signal = WakeSignal {
            fds: Mutex::new(Some(WakeFds {
                // SAFETY: `dup` is a fresh fd that nothing else owns.
                ring_fd: unsafe { OwnedFd::from_raw_fd(dup) },
                eventfd: eventfd.clone(),
            })),
            msg_ring,
        };
        let unparker = Arc::new(Unparker::new(Box::new(signal)));
        let min_wait = ring.params().is_feature_min_timeout();
        Ok(Driver {
            // Only a ring built single-issuer is built disabled (the
            // fallback flag sets have neither: 5.15-6.0 kernels).
            disabled: ring.params().is_setup_single_issuer(),
            ring,
            eventfd,
            mailbox: Arc::new(Mailbox {
                pending: AtomicBool::new(false),
                cancels: Mutex::new(Vec::new()),
                unparker: unparker.clone(),
                retries_short_sends: msg_ring,
            }),
            unparker,
            msg_ring,
            opcodes,
            eventfd_armed: false,
            in_flight: 0,
            in_flight_fast: 0,
            stats,
            woken: Vec::new(),
            max_park: super::max_park_from_env(),
            spin_budget: SpinBudget::new(cfg.spin.spin),
            batcher: Batcher::new(cfg.batch, min_wait),
            spin: cfg.spin.clone(),
            recv_pool: None,
            #[cfg(test)]
            spins_won: 0,
            #[cfg(test)]
            last_wait: None,
        })
    }

    /// Enables the ring on the calling thread (its only issuer from now
    /// on) and arms the eventfd poll; a no-op on a ring already enabled
    /// (a `block_on` thread's ring, kept between its calls).
    pub(crate) fn enable(&mut self) -> io::Result<()> {
        if self.disabled {
            self.ring.submitter().register_enable_rings()?;
            self.disabled = false;
        }
        if !self.eventfd_armed {
            self.arm_eventfd();
        }
        Ok(())
    }

    /// Ops submitted and not completed yet (cancels included).
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn arm_eventfd(&mut self) {
        let sqe = opcode::PollAdd::new(types::Fd(self.eventfd.as_raw_fd()), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(TOKEN_EVENTFD);
        self.push(&sqe);
        self.eventfd_armed = true;
    }

    fn push(&mut self, sqe: &squeue::Entry) {
        // SAFETY: the entries we push here reference no user memory (poll,
        // msg_ring), so nothing must outlive the submission.
        unsafe { self.push_raw(sqe) }
    }

    /// # Safety
    /// Whatever `sqe` references stays valid until its completion.
    unsafe fn push_raw(&mut self, sqe: &squeue::Entry) {
        loop {
            // SAFETY: forwarded from the caller.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return;
            }
            // The queue is full: hand it to the kernel and retry.
            let _ = self.enter_submit();
        }
    }

    /// Whether this kernel's io_uring has the opcode `code`.
    pub(crate) fn supports(&self, code: u8) -> bool {
        self.opcodes[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }

    /// This ring's receive pool, registered on first use; `None` if the
    /// kernel has no multishot receive (before 6.0: the `SEND_ZC` opcode
    /// came with it) or refused the buffer ring.
    pub(crate) fn recv_pool(&mut self) -> Option<Arc<BufPool>> {
        if self.disabled {
            // Not this thread's ring yet (a `block_on` ring before `enable`).
            return None;
        }
        if self.recv_pool.is_none() {
            let pool = if !self.supports(opcode::SendZc::CODE) {
                None
            } else {
                let submitter = self.ring.submitter();
                BufPool::new(RECV_POOL_GROUP, |addr, entries| {
                    // SAFETY: `addr` is a page-aligned ring of `entries`
                    // slots that lives as long as the pool, which outlives
                    // the registration (`io/pool.rs`).
                    unsafe {
                        submitter.register_buf_ring_with_flags(addr, entries, RECV_POOL_GROUP, 0)
                    }
                })
                .ok()
            };
            self.recv_pool = Some(pool);
        }
        self.recv_pool.clone().flatten()
    }

    /// This ring's mailbox (ops keep it to cancel from other threads).
    pub(crate) fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// Queues an op's SQE; it goes to the kernel with the next poll or
    /// park of this ring.
    ///
    /// # Safety
    /// `sqe.user_data` is a record reference (`Record::into_raw`) that the
    /// driver now owns, and the SQE references only that record's data.
    pub(crate) unsafe fn submit_op(&mut self, sqe: squeue::Entry) {
        self.in_flight += 1;
        let rec = NonNull::new(sqe.get_user_data() as *mut Header).expect("a record");
        // SAFETY: the user_data is a live record reference we now own.
        let slow = unsafe { Header::is_slow(rec) };
        if !slow {
            self.in_flight_fast += 1;
        }
        self.stats.submissions.incr();
        self.stats.in_flight.set(self.in_flight as u64);
        // SAFETY: the record (and so what the SQE references) lives until
        // the completion releases the reference we were given.
        unsafe { self.push_raw(&sqe) }
    }

    /// Queues an async cancel of the op of `target`, a reference owned by
    /// the cancel until its own completion (so the target's address cannot
    /// be reused by another op while the cancel looks for it).
    pub(crate) fn submit_cancel(&mut self, target: NonNull<Header>) {
        let ud = target.as_ptr() as u64;
        let sqe = opcode::AsyncCancel::new(ud)
            .build()
            .user_data(ud | CANCEL_TAG);
        self.in_flight += 1;
        // SAFETY: a cancel references no memory.
        unsafe { self.push_raw(&sqe) }
    }

    fn drain_mailbox(&mut self) {
        if !self.mailbox.pending.load(Relaxed) || !self.mailbox.pending.swap(false, Acquire) {
            return;
        }
        let cancels = std::mem::take(&mut *self.mailbox.cancels.lock());
        for c in cancels {
            self.submit_cancel(c.0);
        }
    }

    fn enter_submit(&mut self) -> io::Result<usize> {
        self.count_enter();
        self.ring.submit()
    }

    fn count_enter(&self) {
        self.stats.enters.incr();
    }

    /// Parks: waits for one completion (a wake, an op) or `timeout`.
    /// `may_spin`: poll for a while before blocking (`SpinGate`), if ops
    /// are in flight.
    pub(crate) fn park(&mut self, timeout: Option<Duration>, may_spin: bool) {
        self.drain_mailbox();
        if self.unparker.park_prepare() == Prepared::Notified {
            return self.poll();
        }
        let timeout = match (timeout, self.max_park) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (t, max) => t.or(max),
        };
        if timeout != Some(Duration::ZERO) {
            let mut wait_for = timeout;
            // Completions keep coming: wake once per batch (spinning
            // first only while the CPU is contended, see `spin`). Not when
            // some are pending already: the wait returns at once for them
            // (a loaded worker that never sleeps must not start sleeping
            // for a batch).
            let batch = self
                .batcher
                .batch(self.in_flight_fast, timeout)
                .filter(|_| !self.completions_pending());
            if may_spin {
                match self.spin(timeout, batch.is_some()) {
                    Spun::Work => {
                        #[cfg(test)]
                        {
                            self.spins_won += 1;
                        }
                        wait_for = Some(Duration::ZERO);
                    }
                    // The spin used part of the timeout (a timer's).
                    Spun::Nothing(spent) => wait_for = timeout.map(|t| t.saturating_sub(spent)),
                }
            }
            if wait_for != Some(Duration::ZERO) {
                let batch = batch.and_then(|b| b.within(wait_for));
                self.wait(wait_for, batch);
            }
        }
        self.unparker.park_finish();
        self.reap();
        if self.batcher.measuring() {
            self.batcher.tick(Instant::now());
        }
    }

    /// Completions the ring holds for us: CQEs, or deferred task work
    /// (`IORING_SQ_TASKRUN`) that the next enter turns into CQEs.
    fn completions_pending(&mut self) -> bool {
        let taskrun = {
            let mut sq = self.ring.submission();
            sq.sync();
            sq.taskrun() || sq.cq_overflow()
        };
        taskrun || !self.ring.completion().is_empty()
    }

    /// Polls for work for up to the spin time (bounded by `timeout`),
    /// yielding the CPU on each turn: a completion, a deferred completion
    /// (run here), or a wake. The unparker stays PARKED meanwhile, so
    /// wakers signal as for a blocked ring; a signal that arrives after
    /// the spin ended shows up as one spare wake-up.
    ///
    /// `batching`: a batched wait is the alternative. Spinning pays off
    /// for it only while other threads want this CPU (each yield runs
    /// them, and their work lands as our completions at no wake-up
    /// cost); when a yield comes straight back, nobody does, and the spin
    /// would only burn the CPU: it ends for the batched wait.
    fn spin(&mut self, timeout: Option<Duration>, batching: bool) -> Spun {
        // Nothing in flight that comes soon: only a wake (or a slow
        // completion) can come, and neither is worth polling for.
        if self.in_flight_fast == 0 {
            return Spun::Nothing(Duration::ZERO);
        }
        let gate = self.spin.clone();
        let Some(spin) = self.spin_budget.start(&gate, timeout) else {
            return Spun::Nothing(Duration::ZERO);
        };
        // The ops queued may be what we wait for: the kernel needs them
        // first.
        if !self.ring.submission().is_empty() {
            let _ = self.enter_submit();
        }
        loop {
            let mut work = self.unparker.state.load(Acquire) != super::unpark::PARKED;
            if !work {
                let run_deferred = {
                    let mut sq = self.ring.submission();
                    sq.sync();
                    sq.taskrun() || sq.cq_overflow()
                };
                if run_deferred {
                    // GETEVENTS (set by `submit` on TASKRUN) runs them.
                    let _ = self.enter_submit();
                    work = true;
                } else {
                    work = !self.ring.completion().is_empty();
                }
            }
            match self.spin_budget.step(&spin, work) {
                SpinStep::Work => return Spun::Work,
                SpinStep::Nothing(spent) => return Spun::Nothing(spent),
                SpinStep::Again => {
                    let turn = batching.then(Instant::now);
                    std::thread::yield_now();
                    if turn.is_some_and(|t| t.elapsed() < CONTENDED_YIELD) {
                        return Spun::Nothing(spin.elapsed());
                    }
                }
            }
        }
    }

    /// Blocks until a completion (or `batch.n` of them, or `batch.wait`
    /// with at least one) or `timeout`.
    ///
    /// # Panics
    /// On an error of `io_uring_enter` other than a timeout, a signal or a
    /// full completion queue (the ring is unusable: aio cannot go on).
    fn wait(&mut self, timeout: Option<Duration>, batch: Option<Batch>) {
        if let Err(e) = self.try_wait(timeout, batch) {
            panic!("aio: io_uring_enter failed while parking: {e}");
        }
    }

    /// [`wait`](Self::wait), returning the error it panics on.
    fn try_wait(&mut self, timeout: Option<Duration>, batch: Option<Batch>) -> io::Result<()> {
        #[cfg(test)]
        {
            self.last_wait = Some(timeout);
        }
        self.count_enter();
        let res = match (timeout, batch) {
            (t, Some(b)) => {
                // Without a general timeout the kernel ends the wait when
                // the window closes even with nothing pending; with one it
                // goes on waiting for the first completion.
                let t = t.unwrap_or(NO_TIMEOUT);
                let ts = types::Timespec::new()
                    .sec(t.as_secs())
                    .nsec(t.subsec_nanos());
                let args = types::SubmitArgs::new()
                    .timespec(&ts)
                    .min_wait_usec(u32::try_from(b.wait.as_micros().max(1)).unwrap_or(u32::MAX));
                self.ring.submitter().submit_with_args(b.n as usize, &args)
            }
            (Some(t), None) => {
                let ts = types::Timespec::new()
                    .sec(t.as_secs())
                    .nsec(t.subsec_nanos());
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
            (None, None) => self.ring.submitter().submit_and_wait(1),
        };
        match res {
            Ok(_) => Ok(()),
            // ETIME: the timeout passed; EINTR: a signal; EBUSY: the CQ is
            // full and will be reaped right after. All mean "go on".
            Err(e) => match e.raw_os_error() {
                Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN) => {
                    Ok(())
                }
                _ => Err(e),
            },
        }
    }

    /// Without blocking: submits what is queued, runs deferred completions
    /// and reaps them. No syscall when there is nothing to do.
    pub(crate) fn poll(&mut self) {
        self.drain_mailbox();
        let pending = {
            let mut sq = self.ring.submission();
            sq.sync();
            !sq.is_empty() || sq.taskrun() || sq.cq_overflow()
        };
        if pending {
            let _ = self.enter_submit();
        }
        self.reap();
    }

    fn reap(&mut self) {
        let mut rearm = false;
        let mut drain = false;
        // Multishot ops to cancel (queue full), each with the cancel's
        // reference: submitted after the CQ is released.
        let mut pauses: Vec<NonNull<Header>> = Vec::new();
        for cqe in self.ring.completion() {
            match cqe.user_data() {
                TOKEN_WAKE | TOKEN_MSG_SENT => {}
                TOKEN_EVENTFD => {
                    drain = true;
                    rearm |= !cqueue::more(cqe.flags());
                }
                ud => {
                    let Some(rec) = NonNull::new((ud & !CANCEL_TAG) as *mut Header) else {
                        continue;
                    };
                    // A multishot op goes on while F_MORE is set: the
                    // kernel keeps its reference until the last CQE.
                    let more = ud & CANCEL_TAG == 0 && cqueue::more(cqe.flags());
                    if ud & CANCEL_TAG == 0 {
                        self.stats.completions.incr();
                        self.batcher.reaped(1);
                        let c = Completion {
                            res: cqe.result(),
                            flags: cqe.flags(),
                        };
                        // SAFETY: `ud` is a record reference we own until
                        // the op's last completion (`submit_op`).
                        let taken = unsafe { Header::on_cqe(rec, c, more) };
                        self.woken.extend(taken.waker);
                        pauses.extend(taken.pause);
                    }
                    if !more {
                        self.in_flight -= 1;
                        // SAFETY: the reference is still ours (released
                        // just below).
                        let slow = unsafe { Header::is_slow(rec) };
                        if ud & CANCEL_TAG == 0 && !slow {
                            self.in_flight_fast -= 1;
                        }
                        // SAFETY: the op's (or the cancel's) reference,
                        // used for the last time.
                        unsafe { Header::release(rec) }
                    }
                }
            }
        }
        if drain {
            let mut buf = 0u64;
            // SAFETY: reading 8 bytes into a valid u64 from our own
            // non-blocking eventfd.
            let _ =
                unsafe { libc::read(self.eventfd.as_raw_fd(), (&mut buf as *mut u64).cast(), 8) };
        }
        if rearm {
            self.arm_eventfd();
        }
        for p in pauses {
            self.submit_cancel(p);
        }
        self.stats.in_flight.set(self.in_flight as u64);
    }

    /// Posts a wake into another ring (`IORING_OP_MSG_RING`) from this one.
    /// Returns false when that is not possible (then use the eventfd).
    pub(crate) fn msg_ring(&mut self, target_fd: RawFd) -> bool {
        if !self.msg_ring || self.disabled {
            return false;
        }
        let sqe = opcode::MsgRingData::new(types::Fd(target_fd), 0, TOKEN_WAKE, None)
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(TOKEN_MSG_SENT);
        self.push(&sqe);
        self.enter_submit().is_ok()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Shutdown step 3: ops still in flight are cancelled, and we wait
        // (bounded) for their completions, so no buffer is freed while the
        // kernel may touch it. Records that still do not complete are leaked
        // on purpose: leaking memory is safe, freeing it is not. With them
        // their fd references (`OpFd`): such an fd stays open for the rest
        // of the process, and a `SharedFd::close` of it waits forever. The
        // wait does not panic here (this may run while unwinding): a ring
        // that fails leaks what is left the same way.
        if self.in_flight > 0 && !self.disabled {
            let sqe = opcode::AsyncCancel2::new(types::CancelBuilder::any())
                .build()
                .user_data(TOKEN_MSG_SENT);
            self.push(&sqe);
            let deadline = Instant::now() + Duration::from_secs(2);
            while self.in_flight > 0 && Instant::now() < deadline {
                if self
                    .try_wait(Some(Duration::from_millis(10)), None)
                    .is_err()
                {
                    break;
                }
                self.reap();
                // Nobody runs the tasks any more: drop, don't wake.
                self.woken.clear();
            }
        }
        // The receive pool: unregistered once no op can take a buffer
        // from it; a leaked record keeps the pool (its memory) alive.
        if let Some(Some(pool)) = &self.recv_pool {
            if self.in_flight == 0 && !self.disabled {
                let _ = self.ring.submitter().unregister_buf_ring(pool.bgid());
            }
        }
        // Later unparks must not signal a closed (maybe reused) ring fd:
        // they find NOTIFIED and send nothing, and a signal already on its
        // way finds the fds gone.
        self.unparker.state.store(
            super::unpark::NOTIFIED,
            crate::loom::sync::atomic::Ordering::SeqCst,
        );
        self.unparker.close_signal();
    }
}

/// Miri interprets epoll and eventfd but not the io_uring syscalls (it
/// would stop at the first): there io_uring is refused, as by a kernel
/// without it, and `Driver::Auto` runs on epoll (it does not even try).
#[cfg(miri)]
fn build_ring(_: u32, _: Option<RawFd>, _: bool) -> io::Result<IoUring> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        Refused {
            errno: libc::ENOSYS,
            msg: "io_uring is not available under Miri, which cannot interpret its syscalls: \
                  run on the epoll driver (Builder::driver(Driver::Epoll), or Driver::Auto, \
                  the default, which picks it under Miri)"
                .into(),
        },
    ))
}

#[cfg(not(miri))]
fn build_ring(entries: u32, attach: Option<RawFd>, single_issuer: bool) -> io::Result<IoUring> {
    // Flag sets from best to most basic; a kernel that refuses one (EINVAL)
    // gets the next.
    let mut last = None;
    #[cfg(test)]
    let first = tests::FIRST_LEVEL.with(|l| l.get());
    #[cfg(not(test))]
    let first = 0;
    for level in first..3 {
        let mut b = IoUring::builder();
        if level <= 1 {
            // SUBMIT_ALL (5.18): an SQE whose preparation fails (an empty
            // path) posts its error and the SQEs behind it are still
            // submitted, a wake's MSG_RING among them.
            b.setup_coop_taskrun()
                .setup_taskrun_flag()
                .setup_submit_all();
        }
        if level == 0 && single_issuer {
            b.setup_single_issuer()
                .setup_defer_taskrun()
                .setup_r_disabled();
        }
        if let Some(fd) = attach {
            b.setup_attach_wq(fd);
        }
        match b.build(entries) {
            Ok(r) => return Ok(r),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(explain(e)),
        }
    }
    Err(explain(last.expect("tried at least once")))
}

/// Turns a refusal of `io_uring_setup` into an error that says why and what
/// to do.
#[cfg_attr(
    miri,
    allow(dead_code, reason = "under Miri no ring is set up (`build_ring`)")
)]
pub(crate) fn explain(e: io::Error) -> io::Error {
    let msg = match e.raw_os_error() {
        Some(libc::ENOSYS) => "io_uring is not available (ENOSYS): either this kernel has no \
             io_uring support (aio needs Linux 6.1 or later built with CONFIG_IO_URING=y), or a \
             seccomp filter answers io_uring_setup with ENOSYS (container runtimes' default \
             profiles and sandboxes do): allow io_uring_setup, io_uring_enter and \
             io_uring_register"
            .to_string(),
        Some(libc::EPERM) => {
            // Unknown where it cannot be read, as under Miri, which
            // isolates the file system.
            let sysctl = if cfg!(miri) {
                Err(io::ErrorKind::PermissionDenied.into())
            } else {
                std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            };
            let sysctl = sysctl
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_: io::Error| "unknown".into());
            format!(
                "io_uring was refused (EPERM): kernel.io_uring_disabled is {sysctl}. If it is 2, \
                 set it to 0 (`sysctl kernel.io_uring_disabled=0`); if 1, add this user to the \
                 group in kernel.io_uring_group. If it is 0, a seccomp profile blocks io_uring \
                 (container runtimes' default profiles do): allow io_uring_setup, io_uring_enter \
                 and io_uring_register"
            )
        }
        Some(libc::ENOMEM) => "io_uring ring memory could not be allocated (ENOMEM): the \
             locked-memory limit is too low (see `ulimit -l`). Raise RLIMIT_MEMLOCK, or ask \
             for smaller rings with Builder::ring_entries"
            .to_string(),
        Some(libc::EMFILE) | Some(libc::ENFILE) => return super::out_of_fds(e, "an io_uring ring"),
        Some(libc::EINVAL) => "io_uring setup was rejected (EINVAL): the kernel is too old \
             for the features aio needs (Linux 6.1 or later)"
            .to_string(),
        _ => format!("io_uring setup failed: {e}"),
    };
    let errno = e.raw_os_error().unwrap_or(0);
    let hint = if matches!(
        errno,
        libc::ENOSYS | libc::EPERM | libc::EACCES | libc::ENOMEM | libc::EINVAL
    ) {
        ". Or run on the epoll driver: Builder::driver(Driver::Epoll), or Driver::Auto \
         (the default), which falls back to it"
    } else {
        ""
    };
    io::Error::new(
        e.kind(),
        Refused {
            errno,
            msg: format!("{msg}{hint} [{e}]"),
        },
    )
}

/// The error of a ring the kernel refused, keeping the errno (which an
/// explained `io::Error` no longer reports) so `Driver::Auto` can tell a
/// refusal from, say, a lack of fds.
#[derive(Debug)]
struct Refused {
    errno: i32,
    msg: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Refused {}

/// The errno of a ring setup the kernel refused (see [`explain`]).
pub(crate) fn refusal_errno(e: &io::Error) -> Option<i32> {
    e.get_ref()?.downcast_ref::<Refused>().map(|r| r.errno)
}

/// The opcodes aio's ops use, and the features its park needs.
fn check_features(ring: &IoUring, probe: Option<&io_uring::Probe>) -> io::Result<()> {
    let missing = |what: &str| {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            Refused {
                errno: libc::EINVAL,
                msg: format!(
                    "io_uring on this kernel lacks {what}, which aio needs (Linux 6.1 or \
                     later). Run on the epoll driver: Builder::driver(Driver::Epoll), or \
                     Driver::Auto (the default), which falls back to it"
                ),
            },
        ))
    };
    if !ring.params().is_feature_ext_arg() {
        return missing("IORING_FEAT_EXT_ARG (timed waits)");
    }
    let Some(probe) = probe else {
        return missing("IORING_REGISTER_PROBE");
    };
    let needed = [
        (opcode::Accept::CODE, "IORING_OP_ACCEPT"),
        (opcode::Connect::CODE, "IORING_OP_CONNECT"),
        (opcode::Recv::CODE, "IORING_OP_RECV"),
        (opcode::Send::CODE, "IORING_OP_SEND"),
        (opcode::RecvMsg::CODE, "IORING_OP_RECVMSG"),
        (opcode::SendMsg::CODE, "IORING_OP_SENDMSG"),
        (opcode::Shutdown::CODE, "IORING_OP_SHUTDOWN"),
        (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
        (opcode::PollAdd::CODE, "IORING_OP_POLL_ADD"),
        (opcode::Read::CODE, "IORING_OP_READ"),
        (opcode::Write::CODE, "IORING_OP_WRITE"),
        (opcode::OpenAt::CODE, "IORING_OP_OPENAT"),
        (opcode::Statx::CODE, "IORING_OP_STATX"),
        (opcode::Fsync::CODE, "IORING_OP_FSYNC"),
        (opcode::UnlinkAt::CODE, "IORING_OP_UNLINKAT"),
        (opcode::RenameAt::CODE, "IORING_OP_RENAMEAT"),
        (opcode::MkDirAt::CODE, "IORING_OP_MKDIRAT"),
    ];
    for (code, name) in needed {
        if !probe.is_supported(code) {
            return missing(name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(errno: i32) -> String {
        explain(io::Error::from_raw_os_error(errno)).to_string()
    }

    #[test]
    fn refusals_say_why_and_what_to_do() {
        assert!(msg(libc::ENOSYS).contains("no io_uring support"));
        assert!(msg(libc::ENOSYS).contains("Linux 6.1"));
        // A seccomp filter may answer ENOSYS too (issue 12, item 9).
        assert!(
            msg(libc::ENOSYS).contains("seccomp"),
            "{}",
            msg(libc::ENOSYS)
        );
        let eperm = msg(libc::EPERM);
        assert!(eperm.contains("kernel.io_uring_disabled"), "{eperm}");
        assert!(eperm.contains("seccomp"), "{eperm}");
        assert!(msg(libc::ENOMEM).contains("ulimit -l"));
        assert!(msg(libc::EINVAL).contains("Linux 6.1"));
        let emfile = msg(libc::EMFILE);
        assert!(emfile.contains("RLIMIT_NOFILE"), "{emfile}");
        assert!(emfile.contains("ulimit -n"), "{emfile}");
        // The OS error stays visible, and so does the fallback.
        assert!(msg(libc::ENOMEM).contains("os error"));
        assert!(msg(libc::EPERM).contains("Driver::Epoll"));
        assert!(!msg(libc::EMFILE).contains("Driver::Epoll"));
        // `Driver::Auto` can tell a refusal from a lack of fds.
        let refused = explain(io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(refusal_errno(&refused), Some(libc::EPERM));
        assert!(crate::driver::is_refusal(&refused));
        assert!(!crate::driver::is_refusal(&explain(
            io::Error::from_raw_os_error(libc::EMFILE)
        )));
        assert!(!crate::driver::is_refusal(&io::Error::from_raw_os_error(
            libc::EPERM
        )));
    }

    fn cfg(spin: Duration, spinners: usize) -> DriverConfig {
        DriverConfig::new(
            crate::rt::Driver::IoUring,
            8,
            spin,
            spinners,
            Duration::ZERO,
        )
    }

    /// A driver whose parks poll for up to `spin`.
    fn spinning_driver(spin: Duration) -> Driver {
        let mut d = Driver::new(&cfg(spin, 1), None, true, Default::default()).unwrap();
        d.enable().unwrap();
        d
    }

    /// Arms a one-shot poll for input on `fd` that counts as an op in
    /// flight (its CQE is one the driver ignores).
    fn poll_in_flight(d: &mut Driver, fd: RawFd) {
        let sqe = opcode::PollAdd::new(types::Fd(fd), libc::POLLIN as u32)
            .build()
            .user_data(TOKEN_MSG_SENT);
        d.push(&sqe);
        d.in_flight += 1;
        d.in_flight_fast += 1;
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two fds; the result is checked.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both fds are fresh and owned by nobody else.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_ring_with_an_op_in_flight_must_close_on_its_own_thread() {
        let mut d = super::super::Driver::Uring(spinning_driver(Duration::ZERO));
        // Enabling again (a kept block_on ring) arms nothing more.
        d.enable().unwrap();
        assert!(d.can_close_anywhere());
        let (r, w) = pipe();
        let super::super::Driver::Uring(u) = &mut d else {
            unreachable!()
        };
        poll_in_flight(u, r.as_raw_fd());
        assert!(!d.can_close_anywhere());
        write_byte(&w);
        let super::super::Driver::Uring(u) = &mut d else {
            unreachable!()
        };
        u.park(None, false);
        u.in_flight = 0; // the poll completed (its CQE is ignored)
        u.in_flight_fast = 0;
        assert!(d.can_close_anywhere());
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_completion_during_the_spin_ends_the_park_without_blocking() {
        let mut d = spinning_driver(Duration::from_secs(3600));
        let (r, w) = pipe();
        poll_in_flight(&mut d, r.as_raw_fd());
        let writer = std::thread::spawn(move || write_byte(&w));
        // Without the spin this blocks until the completion too, but it
        // is never counted as won by the spin.
        d.park(None, true);
        writer.join().unwrap();
        assert_eq!(d.spins_won, 1, "the poll's completion ended the spin");
        d.in_flight = 0; // the poll completed (its CQE is ignored)
        d.in_flight_fast = 0;
    }

    fn write_byte(fd: &OwnedFd) {
        // SAFETY: writing 1 byte from a valid buffer to our own pipe.
        let n = unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert_eq!(n, 1);
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_park_spins_only_with_ops_in_flight_and_within_its_timeout() {
        let mut d = spinning_driver(Duration::from_secs(3600));
        // Nothing in flight: blocks (and times out) without spinning.
        d.park(Some(Duration::from_millis(2)), true);
        assert_eq!(d.spins_won, 0);
        // In flight but nothing comes: the spin ends with the timeout,
        // not the hour, and does not block again for the whole timeout.
        let (r, _w) = pipe();
        poll_in_flight(&mut d, r.as_raw_fd());
        d.last_wait = None;
        d.park(Some(Duration::from_millis(2)), true);
        assert_eq!(d.spins_won, 0);
        assert_eq!(d.last_wait, None, "the spin used the whole timeout");
        // A short spin leaves the rest of the timeout to the wait.
        let mut d2 = spinning_driver(Duration::from_micros(200));
        poll_in_flight(&mut d2, r.as_raw_fd());
        d2.park(Some(Duration::from_millis(5)), true);
        let left = d2.last_wait.flatten().expect("a timed wait after the spin");
        assert!(left <= Duration::from_micros(4800), "{left:?}");
        d2.in_flight = 0;
        d2.in_flight_fast = 0;
        // Not asked to spin.
        d.park(Some(Duration::from_millis(2)), false);
        assert_eq!(d.spins_won, 0);
        d.in_flight = 0; // closing the ring ends the poll
        d.in_flight_fast = 0;
    }

    #[test]
    fn a_park_does_not_spin_for_a_slow_op() {
        // An op waiting for something that takes long (a child's exit).
        struct Slow;
        impl crate::io::record::OpData for Slow {
            const SLOW: bool = true;
        }
        let mut d = spinning_driver(Duration::from_secs(3600));
        let (r, w) = pipe();
        let rec = crate::io::record::Record::new(Slow);
        let ud = crate::io::record::Record::into_raw(rec.clone()).as_ptr() as u64;
        let sqe = opcode::PollAdd::new(types::Fd(r.as_raw_fd()), libc::POLLIN as u32)
            .build()
            .user_data(ud);
        // SAFETY: the SQE references no memory; the record reference in
        // its user_data is the driver's from now on.
        unsafe { d.submit_op(sqe) };
        assert_eq!((d.in_flight, d.in_flight_fast), (1, 0));
        // In flight but slow: the park blocks at once (a fast op would
        // have spun for the whole timeout, see above).
        d.last_wait = None;
        d.park(Some(Duration::from_millis(2)), true);
        assert_eq!(d.last_wait, Some(Some(Duration::from_millis(2))));
        assert_eq!(d.spins_won, 0);
        write_byte(&w);
        while d.in_flight > 0 {
            d.park(Some(Duration::from_millis(100)), false);
        }
        assert_eq!(d.in_flight_fast, 0);
    }

    /// A timerfd that becomes readable after `after`.
    fn timerfd_in(after: Duration) -> OwnedFd {
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: `fd` is fresh and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: after.subsec_nanos().into(),
            },
        };
        // SAFETY: `spec` is a valid itimerspec; no old value is asked for.
        let r = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        assert_eq!(r, 0);
        fd
    }

    /// A driver that lets completions wait up to `window` for a batch,
    /// its rate already measured at `expected` per window; `None` on a
    /// kernel without `min_wait_usec` (before 6.12).
    /// Eight fast polls are in flight, on pipes returned with it.
    fn batching_driver(
        window: Duration,
        expected: u64,
    ) -> Option<(Driver, Vec<(OwnedFd, OwnedFd)>)> {
        let cfg = DriverConfig::new(crate::rt::Driver::IoUring, 8, Duration::ZERO, 0, window);
        let mut d = Driver::new(&cfg, None, true, Default::default()).unwrap();
        if !d.ring.params().is_feature_min_timeout() {
            eprintln!("skipped: this kernel has no IORING_FEAT_MIN_TIMEOUT");
            return None;
        }
        d.enable().unwrap();
        d.batcher.assume_expected(expected);
        let pipes: Vec<_> = (0..8).map(|_| pipe()).collect();
        for (r, _) in &pipes {
            poll_in_flight(&mut d, r.as_raw_fd());
        }
        Some((d, pipes))
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_busy_park_holds_a_lone_completion_for_the_window() {
        let window = Duration::from_millis(30);
        let Some((mut d, _pipes)) = batching_driver(window, 4) else {
            return;
        };
        // Eight in flight: batches of up to four.
        assert_eq!(
            d.batcher.batch(d.in_flight_fast, None),
            Some(Batch { n: 4, wait: window })
        );
        // A completion that comes 1 ms into the park (a poll on a timerfd):
        // held until the window closes. Without the batch the park ends at
        // 1 ms.
        let timer = timerfd_in(Duration::from_millis(1));
        poll_in_flight(&mut d, timer.as_raw_fd());
        let start = Instant::now();
        d.park(None, true);
        assert!(start.elapsed() >= window, "{:?}", start.elapsed());
        d.in_flight = 0; // closing the ring ends the polls
        d.in_flight_fast = 0;
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_full_batch_a_pending_completion_or_a_timer_ends_a_busy_park_early() {
        let window = Duration::from_secs(20);
        let Some((mut d, pipes)) = batching_driver(window, 4) else {
            return;
        };
        // Four completions 1 ms into the park (polls on timerfds): the
        // batch is complete, the park ends.
        let timers: Vec<_> = (0..4)
            .map(|_| timerfd_in(Duration::from_millis(1)))
            .collect();
        for t in &timers {
            poll_in_flight(&mut d, t.as_raw_fd());
        }
        assert!(d.batcher.batch(d.in_flight_fast, None).is_some());
        let start = Instant::now();
        d.park(None, true);
        assert!(start.elapsed() < window / 2, "{:?}", start.elapsed());
        // A completion already there when the park starts: not held (a
        // loaded worker must not start sleeping for batches).
        // (Each park measures the rate again: keep it as assumed.)
        d.batcher.assume_expected(4);
        write_byte(&pipes[0].1);
        assert!(d.batcher.batch(d.in_flight_fast, None).is_some());
        let start = Instant::now();
        d.park(None, true);
        assert!(start.elapsed() < window / 2, "{:?}", start.elapsed());
        // A timer due before the window ends the park on time, with
        // nothing pending.
        d.batcher.assume_expected(4);
        let start = Instant::now();
        d.park(Some(Duration::from_millis(20)), true);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(20) && took < window / 2,
            "{took:?}"
        );
        d.in_flight = 0; // closing the ring ends the polls
        d.in_flight_fast = 0;
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_capped_park_comes_back_without_a_wake() {
        let mut d = Driver::new(&cfg(Duration::ZERO, 0), None, false, Default::default()).unwrap();
        d.enable().unwrap();
        d.max_park = Some(Duration::from_millis(1));
        // Nothing will wake it: without the cap this park never returns.
        d.park(None, false);
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_ring_parks_with_a_timeout_and_wakes_on_eventfd() {
        let mut d = Driver::new(&cfg(Duration::ZERO, 0), None, false, Default::default()).unwrap();
        d.enable().unwrap();
        let t0 = std::time::Instant::now();
        d.park(Some(Duration::from_millis(5)), false);
        assert!(
            t0.elapsed() >= Duration::from_millis(5),
            "a timed park waits"
        );
        // A wake from a thread without a ring goes through the eventfd.
        let u = d.unparker.clone();
        let waker = std::thread::spawn(move || u.unpark());
        waker.join().unwrap();
        // Already notified (or the eventfd CQE is pending): returns promptly.
        d.park(None, false);
    }

    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn msg_ring_wakes_another_ring() {
        let mut a = Driver::new(&cfg(Duration::ZERO, 0), None, true, Default::default()).unwrap();
        let mut b =
            Driver::new(&cfg(Duration::ZERO, 0), Some(&a), true, Default::default()).unwrap();
        a.enable().unwrap();
        b.enable().unwrap();
        assert!(
            a.msg_ring(b.ring.as_raw_fd()),
            "MSG_RING is available on this kernel"
        );
        // The posted CQE ends b's wait at once.
        b.park(None, false);
        assert_eq!(b.unparker.signals_sent.load(Relaxed), 0);
    }

    thread_local! {
        /// The first flag set `build_ring` tries (1: as on a 5.15-6.0
        /// kernel, which refuses the single-issuer set).
        pub(super) static FIRST_LEVEL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// A single-issuer ring that the kernel could only build with a
    /// fallback flag set (no R_DISABLED) is not "enabled" again: that is
    /// EBADFD, and the runtime failed to start on 5.15-6.0 kernels.
    #[test]
    #[cfg_attr(miri, ignore = "io_uring: Miri cannot interpret its syscalls")]
    fn a_ring_built_with_the_fallback_flags_starts() {
        FIRST_LEVEL.with(|l| l.set(1));
        let d = Driver::new(&cfg(Duration::ZERO, 0), None, true, Default::default());
        FIRST_LEVEL.with(|l| l.set(0));
        let mut d = d.unwrap();
        d.enable().expect("enable a ring built without R_DISABLED");
        let t0 = Instant::now();
        d.park(Some(Duration::from_millis(1)), false);
        assert!(
            t0.elapsed() >= Duration::from_millis(1),
            "a timed park waits"
        );
    }
}
