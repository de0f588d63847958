//! `Op<T>`: the future of one I/O operation, on either driver.
//!
//! On a ring (io_uring driver), the first poll moves the op's data into a
//! heap record (`record.rs`), builds the SQE from it and queues it on the
//! ring of the thread that polls (a worker's, or the `block_on` thread's);
//! later polls read the record's lifecycle. Dropping an unfinished op
//! marks the record dropped and asks its ring to cancel it: directly when
//! this thread owns that ring, else through the ring's mailbox and an
//! unpark (the task migrated). The record, and the buffer in it, lives
//! until the kernel's completion.
//!
//! On epoll, the op keeps its data and runs its non-blocking syscall at
//! each poll until it does not block, waiting for readiness in between
//! (`wait.rs`); dropping it leaves nothing behind.
//!
//! An op whose syscall may block the thread with no readiness to wait for
//! (a regular file's read, an open, an fsync: epoll refuses regular files)
//! runs that syscall on the blocking pool when the thread's driver is
//! epoll, as `tokio::fs` does — after one try that cannot block, where the
//! kernel has one (`OpAble::attempt_nowait`: a read of cached data with
//! `RWF_NOWAIT`, an open resolved from the dentry cache with
//! `RESOLVE_CACHED`), as a ring tries an op inline before it hands it to
//! its workers. So does an op whose opcode this thread's
//! ring lacks (`OpAble::PROBE`, for opcodes newer than the kernels aio
//! supports). Its data moves into a slot shared with the pool's job and
//! comes back when the job is done; a dropped op lets the job finish (or
//! never start) and drops the data with the slot.
//!
//! Called by the op files (`ops/*.rs`) and `aio-net`; calls the driver.

use super::fd::SharedFd;
use super::ready::Interest;
use super::record::{Completion, Header, OpData, Polled, Record};
use super::wait::Wait;
use crate::driver::{Driver, Mailbox};
use crate::loom::sync::{Arc, Mutex};
use crate::scheduler::context;
use crate::task::Task;
use io_uring::squeue;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// One kind of operation: how to build its SQE (io_uring), how to try it
/// without blocking (epoll), and how to read its result.
///
/// # Safety
///
/// `sqe` may only reference memory owned by `self` (a buffer, an address)
/// or memory that outlives the op; it is called once, after `self` was
/// moved into its heap record, where it stays until the completion. The
/// fd it names must be held by `self` (an `OpFd`), so it stays open.
/// `attempt` may only pass the kernel memory owned by `self`, valid for
/// the duration of the call.
pub unsafe trait OpAble: OpData + Sized {
    /// What the op resolves to.
    type Output;
    /// An opcode that not every kernel aio runs on has (newer than Linux
    /// 6.1): a ring that lacks it runs the op's `attempt` on the blocking
    /// pool instead. `None` (the default): every supported kernel has it.
    const PROBE: Option<u8> = None;
    /// Builds the SQE (the `user_data` is set by the caller).
    fn sqe(&mut self) -> squeue::Entry;
    /// The epoll driver: the fd and direction to wait on when the syscall
    /// would block; `None` for an op that never blocks.
    fn ready_on(&self) -> Option<(&SharedFd, Interest)>;
    /// The epoll driver: one non-blocking try of the syscall; `None` if it
    /// would block (`EAGAIN`), else its result as a CQE would carry it.
    fn attempt(&mut self) -> Option<io::Result<u32>>;
    /// Whether `attempt` may block the thread with nothing to wait on (a
    /// regular file, an open, an fsync): on epoll, the op then runs
    /// `attempt` on the blocking pool. `false` (the default) for ops on
    /// sockets and pipes, which wait for readiness.
    fn may_block(&self) -> bool {
        false
    }
    /// The epoll driver, for an op that [`may_block`](Self::may_block):
    /// one try that never blocks (data already cached, a lookup the
    /// dentry cache answers), as a ring tries it inline before it hands it
    /// to its workers; `None` if it would block (or the kernel has no such
    /// try): the op then runs `attempt` on the blocking pool. `None` by
    /// default.
    fn attempt_nowait(&mut self) -> Option<io::Result<u32>> {
        None
    }
    /// The epoll driver: whether a successful `attempt` returning `n`
    /// proves the fd drained in its direction (a stream receive that got
    /// less than it had room for), so that the next op waits for the next
    /// event instead of trying a syscall that would fail with `EAGAIN`.
    fn drained(&self, _n: u32) -> bool {
        false
    }
    /// Turns the result into the output, giving the data back.
    fn complete(self, res: io::Result<u32>) -> Self::Output;
}

enum State<T> {
    /// Not polled yet.
    Idle(T),
    /// Submitted: the record and the ring that owns it.
    InFlight(Arc<Record<T>>, Arc<Mailbox>),
    /// On epoll: the data, tried again at each poll, and its wait.
    Ready(T, Wait),
    /// On the blocking pool: the job, and the slot its data comes back in.
    Blocking(Task<()>, Arc<Mutex<PoolSlot<T>>>),
    /// The output was returned.
    Done,
}

/// What an op on the blocking pool shares with its job.
struct PoolSlot<T> {
    /// The op's data: here until the job takes it, back when it is done.
    data: Option<T>,
    /// The syscall's result, once the job ran it.
    res: Option<io::Result<u32>>,
    /// The op was dropped: the job releases what the syscall produced.
    dropped: bool,
}

/// The future of one operation.
#[must_use = "an operation does nothing unless awaited"]
pub struct Op<T: OpAble> {
    state: State<T>,
}

impl<T: OpAble> fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.state {
            State::Idle(_) => "idle",
            State::InFlight(..) => "in flight",
            State::Ready(..) => "waiting for readiness",
            State::Blocking(..) => "on the blocking pool",
            State::Done => "done",
        };
        f.debug_tuple("Op").field(&s).finish()
    }
}

impl<T: OpAble> Op<T> {
    /// An op that will be submitted on its first poll.
    pub fn new(data: T) -> Op<T> {
        Op {
            state: State::Idle(data),
        }
    }
}

/// The error of an op polled on a thread without a ring.
pub(crate) fn no_ring() -> io::Error {
    io::Error::other(
        "aio: I/O must run on an aio runtime thread (a task, or the future given to \
         aio::run / block_on); this thread has no I/O driver (io_uring ring or epoll)",
    )
}

pub(crate) fn to_result(c: Completion) -> io::Result<u32> {
    if c.res < 0 {
        Err(io::Error::from_raw_os_error(-c.res))
    } else {
        Ok(c.res as u32)
    }
}

// The data is never pinned: it moves into the heap record on first poll.
impl<T: OpAble> Unpin for Op<T> {}

impl<T: OpAble> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        // A unit of the task's budget: an op that is done in its first poll
        // (on epoll, a syscall that did not block) would otherwise let a
        // task that sends in a loop keep its worker.
        let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
        let out = std::task::ready!(self.get_mut().poll_op(cx));
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl<T: OpAble> Op<T> {
    /// Polls the op without spending the current task's cooperative
    /// budget, for a poller that is not the task's own future: a
    /// `StreamWriter`'s pump polls its send with the writer's waker while
    /// holding the writer's lock, and a spent budget would wake that waker
    /// in place (outside a multi_thread worker), which takes the lock again.
    pub fn poll_unbudgeted(&mut self, cx: &mut Context<'_>) -> Poll<T::Output> {
        self.poll_op(cx)
    }

    /// For a poller that comes back on its own (the next write on a
    /// stream, or its close): whether the op finishes without being polled
    /// again, and if so, withdraws the waker the last poll registered, so
    /// that its completion wakes nobody. True for an op in flight on a ring
    /// (the kernel carries it to its completion) or already completed;
    /// false for one that has not started or runs by polls (on epoll, on
    /// the blocking pool): poll it as usual.
    ///
    /// A completion that came before the withdrawal may still wake the
    /// waker, once.
    ///
    /// Also false on a ring whose kernel does not send the rest of a short
    /// `MSG_WAITALL` send itself (before 5.18): there a short send needs
    /// its poller back ([`send_all`](super::opcodes::send_all)).
    pub fn forget_waker(&mut self) -> bool {
        match &self.state {
            State::InFlight(rec, ring) if ring.retries_short_sends => {
                rec.header.forget_waker();
                true
            }
            State::InFlight(..)
            | State::Idle(_)
            | State::Ready(..)
            | State::Blocking(..)
            | State::Done => false,
        }
    }

    /// Starts the op on this thread's ring without registering a waker,
    /// for a poller that comes back on its own (as for
    /// [`forget_waker`](Self::forget_waker)): its completion wakes nobody,
    /// and the next poll reads the result (or registers a waker). Saves a
    /// first poll's waker and the withdrawal of it: a stream's writes on
    /// a ring start their sends this way.
    ///
    /// True if the op is in flight on a ring (started now or before);
    /// false if it is not: this thread runs the epoll driver or has none,
    /// or the ring lacks the opcode, or the op runs by polls or is done.
    /// Such an op starts at its first poll, as usual.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = aio::io::SharedFd::new(a.into());
    /// aio::run(async {
    ///     let mut send = aio::io::ops::send_all(&a, b"ping".to_vec(), 0);
    ///     // On io_uring the send is in flight now, with nobody polling it;
    ///     // on epoll it starts at the first poll.
    ///     let _in_flight = send.submit();
    ///     let (sent, _buf) = send.await;
    ///     assert_eq!(sent.unwrap(), 4);
    /// });
    /// let mut got = [0u8; 4];
    /// b.read_exact(&mut got).unwrap();
    /// assert_eq!(&got, b"ping");
    /// ```
    pub fn submit(&mut self) -> bool {
        match self.state {
            State::InFlight(..) => return true,
            State::Idle(_) => {}
            State::Ready(..) | State::Blocking(..) | State::Done => return false,
        }
        match driver_kind() {
            Some(crate::rt::Driver::Epoll) | None => return false,
            Some(_) if T::PROBE.is_some_and(|code| !ring_supports(code)) => return false,
            Some(_) => {}
        }
        let State::Idle(data) = std::mem::replace(&mut self.state, State::Done) else {
            unreachable!()
        };
        match start_on_ring(data) {
            Ok((rec, ring)) => {
                self.state = State::InFlight(rec, ring);
                true
            }
            // The ring went away since the check: the first poll starts
            // it (and reports why it cannot).
            Err((data, _)) => {
                self.state = State::Idle(data);
                false
            }
        }
    }

    /// Whether the op is over: its result is there for the next poll (or
    /// was taken). False while it has not started, is in flight, or waits
    /// to be polled again (epoll, the blocking pool).
    pub fn is_complete(&self) -> bool {
        match &self.state {
            State::InFlight(rec, _) => rec.header.is_complete(),
            State::Done => true,
            State::Idle(_) | State::Ready(..) | State::Blocking(..) => false,
        }
    }

    /// Asks for the op to be cancelled, and returns whether it may still
    /// run: then polling it on gives its final result, once the kernel (or
    /// the blocking pool) is done with it — `ECANCELED` (or another error)
    /// if it never ran, else what it did. `false`: nothing of it runs
    /// (not started, or on epoll between two tries, or done); drop it.
    ///
    /// For an op with a side effect that must not land after what comes
    /// next (a read or write at the file position, before a seek).
    pub fn cancel(&mut self) -> bool {
        match &self.state {
            State::InFlight(rec, ring) => {
                // The cancel owns a reference until its own completion.
                cancel(Record::into_raw(rec.clone()), ring);
                true
            }
            State::Blocking(task, _) => {
                // Not started: it never will; running: it finishes.
                task.cancel();
                true
            }
            State::Idle(_) | State::Ready(..) | State::Done => false,
        }
    }

    fn poll_op(&mut self, cx: &mut Context<'_>) -> Poll<T::Output> {
        // `Op` is Unpin: on a ring the data lives in a heap record, and on
        // epoll it is only borrowed for the length of one syscall.
        let this = self;
        if let State::Idle(_) = this.state {
            let State::Idle(data) = std::mem::replace(&mut this.state, State::Done) else {
                unreachable!()
            };
            this.state = match start(data) {
                Started::Ring(rec, ring) => State::InFlight(rec, ring),
                Started::Epoll(data) => State::Ready(data, Wait::new(T::SLOW)),
                Started::Blocking(task, slot) => State::Blocking(task, slot),
                Started::Failed(out) => return Poll::Ready(out),
            };
        }
        match &mut this.state {
            State::InFlight(rec, _) => match rec.header.poll(cx.waker()) {
                Polled::Pending => Poll::Pending,
                Polled::Ready(c) => {
                    // SAFETY: `poll` returned Ready, so COMPLETE was observed.
                    let data = unsafe { rec.take_data() }.expect("op data");
                    this.state = State::Done;
                    Poll::Ready(data.complete(to_result(c)))
                }
            },
            State::Ready(data, wait) => {
                let res = match data.ready_on() {
                    Some((_, interest)) => {
                        match wait.poll(
                            data,
                            fd_of::<T>,
                            interest,
                            cx,
                            T::attempt,
                            |d: &T, n: &u32| d.drained(*n),
                        ) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(r) => r,
                        }
                    }
                    // Never blocks: one try (again on EINTR).
                    None => loop {
                        match data.attempt() {
                            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                            Some(r) => break r,
                            None => break Err(io::ErrorKind::WouldBlock.into()),
                        }
                    },
                };
                let State::Ready(data, _) = std::mem::replace(&mut this.state, State::Done) else {
                    unreachable!()
                };
                Poll::Ready(data.complete(res))
            }
            State::Blocking(task, slot) => {
                let mut cancelled = false;
                if let Err(e) = std::task::ready!(task.poll_output(Some(cx.waker()))) {
                    if e.is_cancelled() {
                        cancelled = true;
                    } else if let Ok(p) = e.try_into_panic() {
                        std::panic::resume_unwind(p);
                    }
                }
                let (data, res) = {
                    let mut s = slot.lock();
                    let res = s.res.take().unwrap_or_else(|| {
                        if cancelled {
                            // Never run: `Op::cancel` (or the pool's
                            // shutdown) cancelled the job before it started.
                            return Err(io::Error::from_raw_os_error(libc::ECANCELED));
                        }
                        // Never run: the pool shut down with the runtime.
                        Err(io::Error::other(
                            "aio: the runtime shut down before this I/O operation ran on its \
                             blocking pool",
                        ))
                    });
                    (s.data.take().expect("op data back from the pool"), res)
                };
                this.state = State::Done;
                Poll::Ready(data.complete(res))
            }
            State::Idle(_) | State::Done => {
                panic!("aio: an I/O operation was polled after it completed")
            }
        }
    }
}

/// The fd an op waits on (it has one: `ready_on` said so).
fn fd_of<T: OpAble>(data: &T) -> &SharedFd {
    data.ready_on().expect("an op that waits for readiness").0
}

/// How the first poll started an op.
enum Started<T: OpAble> {
    /// Its SQE is queued on this thread's ring.
    Ring(Arc<Record<T>>, Arc<Mailbox>),
    /// This thread runs the epoll driver: run it readiness-based.
    Epoll(T),
    /// Its syscall runs on the blocking pool.
    Blocking(Task<()>, Arc<Mutex<PoolSlot<T>>>),
    /// Done at once (the error of a thread without a driver, or the
    /// result of a try that did not block).
    Failed(T::Output),
}

/// Starts `data` on this thread's driver.
fn start<T: OpAble>(data: T) -> Started<T> {
    match driver_kind() {
        Some(crate::rt::Driver::Epoll) if data.may_block() => {
            let mut data = data;
            return match data.attempt_nowait() {
                Some(res) => Started::Failed(data.complete(res)),
                None => on_pool(data),
            };
        }
        Some(crate::rt::Driver::Epoll) => return Started::Epoll(data),
        Some(_) if T::PROBE.is_some_and(|code| !ring_supports(code)) => return on_pool(data),
        Some(_) => {}
        None => return Started::Failed(data.complete(Err(no_ring()))),
    }
    match start_on_ring(data) {
        Ok((rec, ring)) => Started::Ring(rec, ring),
        Err((data, e)) => Started::Failed(data.complete(Err(e))),
    }
}

/// Queues `data`'s SQE on this thread's ring, in a fresh record; gives the
/// data back, with the reason, if this thread has no ring to take it.
#[allow(clippy::type_complexity)]
fn start_on_ring<T: OpAble>(data: T) -> Result<(Arc<Record<T>>, Arc<Mailbox>), (T, io::Error)> {
    let rec = Record::new(data);
    // SAFETY: not submitted yet; nobody else can reach the record.
    let sqe = unsafe { rec.data_mut(|d| d.sqe()) };
    match submit(|| Record::into_raw(rec.clone()), sqe) {
        Ok(ring) => Ok((rec, ring)),
        Err(e) => {
            // SAFETY: never submitted, so the kernel never saw it.
            let data = unsafe { rec.take_data() }.expect("op data");
            Err((data, e))
        }
    }
}

/// Runs `data`'s syscall on the blocking pool of this thread's runtime.
fn on_pool<T: OpAble>(data: T) -> Started<T> {
    let Some(handle) = context::try_handle() else {
        return Started::Failed(data.complete(Err(no_ring())));
    };
    let slot = Arc::new(Mutex::new(PoolSlot {
        data: Some(data),
        res: None,
        dropped: false,
    }));
    let job_slot = slot.clone();
    let task = crate::blocking::spawn_blocking(handle.shared(), move || {
        // The data leaves the slot for the syscall (no lock held across
        // it) and comes back, with the result, before the op can see the
        // job done.
        let Some(mut data) = job_slot.lock().data.take() else {
            return;
        };
        let res = loop {
            match data.attempt() {
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Some(r) => break r,
                // Blocking syscalls do not say EAGAIN; if one does, say so.
                None => break Err(io::ErrorKind::WouldBlock.into()),
            }
        };
        let mut s = job_slot.lock();
        if s.dropped {
            // Nobody will read it: release what it produced (an fd).
            drop(s);
            T::orphaned(completion_of(&res));
        } else {
            s.data = Some(data);
            s.res = Some(res);
        }
    });
    Started::Blocking(task, slot)
}

/// Whether this thread's ring has `code` (see `OpAble::PROBE`).
pub(crate) fn ring_supports(code: u8) -> bool {
    context::with_driver(|d| match d.and_then(|d| d.try_borrow().ok()).as_deref() {
        Some(Driver::Uring(u)) => u.supports(code),
        _ => false,
    })
}

/// The receive pool of this thread's ring (made on first use), if it has
/// an io_uring driver whose kernel has multishot receives.
pub(crate) fn ring_pool() -> Option<Arc<crate::io::pool::BufPool>> {
    context::with_driver(|d| match d?.try_borrow_mut().ok().as_deref_mut() {
        Some(Driver::Uring(u)) => u.recv_pool(),
        _ => None,
    })
}

/// Whether `ring` is this thread's ring.
pub(crate) fn is_this_ring(ring: &Arc<Mailbox>) -> bool {
    context::with_driver(|d| match d.and_then(|d| d.try_borrow().ok()).as_deref() {
        Some(Driver::Uring(u)) => Arc::ptr_eq(u.mailbox(), ring),
        _ => false,
    })
}

/// The kind of this thread's driver, if it has one it can use now.
pub(crate) fn driver_kind() -> Option<crate::rt::Driver> {
    context::with_driver(|d| Some(d?.try_borrow().ok()?.kind()))
}

/// A result as a CQE would carry it (for `OpData::orphaned`).
fn completion_of(res: &io::Result<u32>) -> Completion {
    let res = match res {
        Ok(n) => i32::try_from(*n).unwrap_or(i32::MAX),
        Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
    };
    Completion { res, flags: 0 }
}

impl<T: OpAble> Drop for Op<T> {
    fn drop(&mut self) {
        let (rec, ring) = match std::mem::replace(&mut self.state, State::Done) {
            State::InFlight(rec, ring) => (rec, ring),
            State::Blocking(task, slot) => {
                let done = {
                    let mut s = slot.lock();
                    s.dropped = true;
                    s.res.take()
                };
                match done {
                    // The job finished: release what it produced.
                    Some(res) => T::orphaned(completion_of(&res)),
                    // Not started: it never will. Running: it sees
                    // `dropped` when it is done.
                    None => {
                        task.cancel();
                    }
                }
                return;
            }
            _ => return,
        };
        match rec.header.drop_future() {
            // Completed but never read: release what it produced.
            Some(c) => T::orphaned(c),
            None => cancel(Record::into_raw(rec), &ring),
        }
    }
}

/// Queues `sqe` on this thread's ring, with a record reference for the
/// kernel made by `kernel_ref` (only once a ring was found); returns that
/// ring's mailbox.
pub(crate) fn submit(
    kernel_ref: impl FnOnce() -> NonNull<Header>,
    sqe: squeue::Entry,
) -> io::Result<Arc<Mailbox>> {
    context::with_driver(|d| {
        let Some(d) = d else { return Err(no_ring()) };
        let Ok(mut d) = d.try_borrow_mut() else {
            return Err(no_ring());
        };
        let Driver::Uring(d) = &mut *d else {
            return Err(no_ring());
        };
        let raw = kernel_ref();
        // SAFETY: the SQE references only the record's data (OpAble's and
        // MultiAble's contract), and the record holds one reference for the
        // kernel, released at the (last) completion.
        unsafe { d.submit_op(sqe.user_data(raw.as_ptr() as u64)) };
        Ok(d.mailbox().clone())
    })
}

/// Asks `ring` to cancel the op of `target` (a reference the cancel owns
/// until its own completion).
pub(crate) fn cancel(target: NonNull<Header>, ring: &Arc<Mailbox>) {
    let direct = context::with_driver(|d| {
        let Some(Ok(mut d)) = d.map(|d| d.try_borrow_mut()) else {
            return false;
        };
        match &mut *d {
            Driver::Uring(d) if Arc::ptr_eq(d.mailbox(), ring) => {
                d.submit_cancel(target);
                true
            }
            _ => false,
        }
    });
    if !direct {
        ring.post_cancel(target);
    }
}
