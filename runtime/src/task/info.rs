//! The task dump: what each live task is doing (`aio::task::dump`,
//! `Handle::dump`), asyncio's `all_tasks()` with a repr worth reading.
//!
//! Each task's header carries an [`Activity`]: two words (the id with the
//! last worker, the poll count with the last poll's tick) written only by
//! the thread that holds the task's RUNNING bit (a load and a store, no
//! read-modify-write) and read by the dump with `Relaxed` loads; the spawn
//! tick is in the state word's high half (64-bit targets). The times
//! are milliseconds of the runtime's clock (not the timer wheel's ticks;
//! virtual under a paused clock), taken from a per-thread copy that the
//! scheduler loops refresh when they wake and at each maintenance tick
//! ([`set_thread_tick`]): a poll never reads the clock.
//!
//! Built with `--cfg aio_no_stats` (or under loom) the words are never
//! written: polls read 0 and times read as at spawn.
//!
//! Called by the harness (each poll), `spawn_into` (the spawn tick) and the
//! schedulers (the thread tick); calls nothing.

use super::id::{ID_BITS, ID_MASK};
use super::TaskId;
use crate::loom::sync::atomic::{AtomicU64, Ordering::Relaxed};
use crate::loom::sync::Arc;
use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// No worker (a `block_on` thread, or never polled), in the low 16 bits.
const NO_WORKER: u64 = 0;
const WORKER_MASK: u64 = 0xffff;

thread_local! {
    /// This thread's copy of its runtime's clock tick (high 32 bits) and
    /// its worker index + 1 (low 16 bits; 0: not a worker), and the
    /// address of the runtime whose tick it is.
    static THREAD: Cell<(u64, usize)> = const { Cell::new((0, 0)) };
}

/// Sets this thread's tick (a scheduler loop, on waking and at each
/// maintenance tick) and, with `worker`, its worker index.
pub(crate) fn set_thread_tick(rt: usize, tick: u64, worker: Option<usize>) {
    let w = worker.map_or(NO_WORKER, |i| (i as u64 + 1) & WORKER_MASK);
    let _ = THREAD.try_with(|t| t.set(((tick as u32 as u64) << 32 | w, rt)));
}

/// The tick of runtime `rt` as this thread last saw it, if it runs `rt`.
pub(crate) fn thread_tick(rt: usize) -> Option<u32> {
    let (word, owner) = THREAD.try_with(|t| t.get()).ok()?;
    (owner == rt && owner != 0).then_some((word >> 32) as u32)
}

/// Who a task is and what it has done, in its header: two words.
///
/// The spawn tick is not here: on 64-bit targets it sits in the high half
/// of the task's state word (`Header::spawn_tick`), which is what keeps a
/// task with a three-word future at 96 bytes (issue 17).
#[derive(Debug)]
pub(crate) struct Activity {
    /// The task's id (low `ID_BITS`, fixed at spawn) and the last worker
    /// + 1 (the 16 bits above; 0: none).
    ident: AtomicU64,
    /// Polls (low 32 bits, saturating) and the tick of the last one (high).
    polls: AtomicU64,
    /// The spawn tick, where the state word has no room for it.
    #[cfg(not(target_pointer_width = "64"))]
    born: u32,
}

impl Activity {
    pub(crate) fn new(id: TaskId, spawn_tick: u32) -> Activity {
        debug_assert!(id.0 <= ID_MASK);
        #[cfg(target_pointer_width = "64")]
        let _ = spawn_tick;
        Activity {
            ident: AtomicU64::new(id.0),
            polls: AtomicU64::new(0),
            #[cfg(not(target_pointer_width = "64"))]
            born: spawn_tick,
        }
    }

    /// The task's id.
    #[inline]
    pub(crate) fn id(&self) -> TaskId {
        TaskId(self.ident.load(Relaxed) & ID_MASK)
    }

    /// The spawn tick, where the state word has no room for it.
    #[cfg(not(target_pointer_width = "64"))]
    pub(crate) fn spawn_tick(&self) -> u32 {
        self.born
    }

    /// Records a poll; only the thread holding the task's RUNNING bit
    /// calls this (the state word orders successive pollers' writes; the
    /// id bits never change, so a load and a store keep them).
    #[inline]
    pub(crate) fn polled(&self) {
        #[cfg(not(any(aio_no_stats, loom)))]
        {
            let (word, _) = THREAD.try_with(|t| t.get()).unwrap_or((0, 0));
            let p = self.polls.load(Relaxed) as u32;
            let tick = word >> 32;
            self.polls
                .store(tick << 32 | p.saturating_add(1) as u64, Relaxed);
            let ident = self.ident.load(Relaxed);
            let worker = (word & WORKER_MASK) << ID_BITS;
            if ident & !ID_MASK != worker {
                self.ident.store(ident & ID_MASK | worker, Relaxed);
            }
        }
    }

    /// Polls, the last poll's tick and the last worker.
    fn read(&self) -> (u32, u32, Option<usize>) {
        let p = self.polls.load(Relaxed);
        let worker = match self.ident.load(Relaxed) >> ID_BITS & WORKER_MASK {
            NO_WORKER => None,
            w => Some(w as usize - 1),
        };
        (p as u32, (p >> 32) as u32, worker)
    }
}

/// What a live task is doing: its state word's reading.
///
/// # Examples
///
/// ```
/// use aio::task::TaskState;
/// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
/// let t = rt.handle().spawn(std::future::pending::<()>());
/// assert_eq!(rt.handle().dump()[0].state(), TaskState::Scheduled);
/// rt.block_on(aio::task::yield_now()); // `t` runs once, and waits
/// assert_eq!(rt.handle().dump()[0].state(), TaskState::Idle);
/// t.cancel();
/// assert_eq!(rt.handle().dump()[0].state(), TaskState::Cancelling);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting for a wake.
    Idle,
    /// Woken, in a run queue.
    Scheduled,
    /// Being polled now.
    Running,
    /// Cancelled, and not yet done unwinding (its next poll raises the
    /// cancellation, or it is shielding itself).
    Cancelling,
}

impl TaskState {
    /// The name used in the dump: `idle`, `scheduled`, `running`,
    /// `cancelling`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aio::task::TaskState::Scheduled.as_str(), "scheduled");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Cancelling => "cancelling",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One live task in a dump: who it is, what it is doing, since when.
///
/// `Display` gives asyncio's repr, `<Task pending name='x' id=7 polls=3
/// spawned at src/main.rs:10>` (the location only in debug mode); the
/// alternate form (`{:#}`) adds the state, the age, the time since the
/// last poll and the worker.
///
/// Times are in the runtime clock's milliseconds (virtual under a paused
/// clock); `polls` counts the polls that ran the task's future.
///
/// # Examples
///
/// ```
/// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let t = aio::task::Builder::new()
///         .name("ticker")
///         .spawn(std::future::pending::<()>());
///     aio::task::yield_now().await; // `t` runs once
///     let dump = aio::task::dump();
///     let info = dump.iter().find(|i| i.name() == "ticker").unwrap();
///     assert_eq!(info.id(), t.id());
///     assert_eq!(info.polls(), 1);
///     assert_eq!(info.to_string(), format!("<Task pending name='ticker' id={} polls=1>", t.id()));
/// });
/// ```
#[derive(Debug, Clone)]
pub struct TaskInfo {
    pub(crate) id: TaskId,
    pub(crate) name: Arc<str>,
    pub(crate) state: TaskState,
    pub(crate) age: Duration,
    pub(crate) polls: u64,
    pub(crate) since_last_poll: Option<Duration>,
    pub(crate) location: Option<&'static Location<'static>>,
    pub(crate) worker: Option<usize>,
}

impl TaskInfo {
    /// Builds the info of a task from its state word's reading, activity
    /// and spawn tick `born`, at tick `now` of its runtime's clock.
    pub(crate) fn new(
        name: Arc<str>,
        state: TaskState,
        activity: &Activity,
        born: u32,
        location: Option<&'static Location<'static>>,
        now: u32,
    ) -> TaskInfo {
        let id = activity.id();
        let (polls, last, worker) = activity.read();
        // A tick up to a minute ahead of `now` (a thread's copy of another
        // runtime's clock, after nesting) reads as zero, not as 49 days;
        // any other difference is an age (up to 2^32 ms, 49.7 days: the
        // ticks are 32-bit milliseconds).
        const AHEAD_MS: u32 = 60_000;
        let ms = |t: u32| match now.wrapping_sub(t) {
            d if d > u32::MAX - AHEAD_MS => Duration::ZERO,
            d => Duration::from_millis(d as u64),
        };
        TaskInfo {
            id,
            name,
            state,
            age: ms(born),
            polls: polls as u64,
            since_last_poll: (polls > 0).then(|| ms(last)),
            location,
            worker,
        }
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let me = aio::task::current().unwrap();
    ///     assert!(aio::task::dump().iter().any(|i| i.id() == me.id()));
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (`Task-<id>` unless it was given one).
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     assert_eq!(aio::task::dump()[0].name(), "main");
    /// });
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the task was doing when the dump was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     assert_eq!(aio::task::dump()[0].state(), aio::task::TaskState::Running);
    /// });
    /// ```
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// How long ago the task was spawned (the dump keeps milliseconds in
    /// 32 bits: an age wraps after 49.7 days).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = aio::runtime::Builder::new_current_thread().start_paused(true).build().unwrap();
    /// rt.block_on(async {
    ///     aio::sleep(Duration::from_secs(5)).await; // virtual time
    ///     assert_eq!(aio::task::dump()[0].age(), Duration::from_secs(5));
    /// });
    /// ```
    pub fn age(&self) -> Duration {
        self.age
    }

    /// How many times the task's future was polled.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     aio::task::yield_now().await;
    ///     assert!(aio::task::dump()[0].polls() >= 2);
    /// });
    /// ```
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// The time since the task's last poll began; `None` if it was never
    /// polled.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().build().unwrap();
    /// let t = rt.handle().spawn(async {});
    /// assert_eq!(rt.handle().dump()[0].since_last_poll(), None);
    /// rt.block_on(t).unwrap();
    /// ```
    pub fn since_last_poll(&self) -> Option<std::time::Duration> {
        self.since_last_poll
    }

    /// Where the task was spawned (debug mode only: `Builder::debug` or
    /// `AIO_DEBUG=1`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_current_thread().debug(true).build().unwrap();
    /// rt.block_on(async {
    ///     let _t = aio::spawn(std::future::pending::<()>());
    ///     let dump = aio::task::dump();
    ///     assert!(dump.last().unwrap().location().unwrap().file().ends_with(".rs"));
    /// });
    /// ```
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }

    /// The index of the worker that last polled the task (as in
    /// `RuntimeMetrics::worker`); `None` if it was never polled, or ran on
    /// a `block_on` thread of a multi_thread runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = aio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let t = rt.handle().spawn(async { aio::task::dump() });
    /// let dump = rt.block_on(t).unwrap();
    /// assert!(dump.iter().any(|i| i.worker().is_some_and(|w| w < 2)));
    /// ```
    pub fn worker(&self) -> Option<usize> {
        self.worker
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Task pending name='{}' id={}", self.name, self.id)?;
        if f.alternate() {
            write!(f, " {} age={:?}", self.state, self.age)?;
            match self.since_last_poll {
                Some(d) => write!(f, " last_poll={d:?} ago")?,
                None => write!(f, " never polled")?,
            }
            if let Some(w) = self.worker {
                write!(f, " worker={w}")?;
            }
        }
        write!(f, " polls={}", self.polls)?;
        if let Some(loc) = self.location {
            write!(f, " spawned at {}:{}", loc.file(), loc.line())?;
        }
        write!(f, ">")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn info(polls: u64, location: Option<&'static Location<'static>>) -> TaskInfo {
        TaskInfo {
            id: TaskId(7),
            name: "x".into(),
            state: TaskState::Idle,
            age: Duration::from_millis(1500),
            polls,
            since_last_poll: (polls > 0).then(|| Duration::from_millis(20)),
            location,
            worker: Some(1),
        }
    }

    #[test]
    fn displays_like_asyncio() {
        let here = Location::caller();
        let s = info(3, Some(here)).to_string();
        assert_eq!(
            s,
            format!(
                "<Task pending name='x' id=7 polls=3 spawned at {}:{}>",
                here.file(),
                here.line()
            )
        );
        assert_eq!(
            info(0, None).to_string(),
            "<Task pending name='x' id=7 polls=0>"
        );
        assert_eq!(
            format!("{:#}", info(3, None)),
            "<Task pending name='x' id=7 idle age=1.5s last_poll=20ms ago worker=1 polls=3>"
        );
    }

    #[test]
    fn activity_counts_polls_and_keeps_the_spawn_tick() {
        let a = Activity::new(TaskId(ID_MASK), 100);
        set_thread_tick(1, 130, Some(2));
        a.polled();
        set_thread_tick(1, 150, Some(0));
        a.polled();
        let i = TaskInfo::new("t".into(), TaskState::Idle, &a, 100, None, 160);
        assert_eq!(
            i.id(),
            TaskId(ID_MASK),
            "the worker bits leave the id alone"
        );
        assert_eq!(i.polls(), 2);
        assert_eq!(i.age(), Duration::from_millis(60));
        assert_eq!(i.since_last_poll(), Some(Duration::from_millis(10)));
        assert_eq!(i.worker(), Some(0));
        assert_eq!(thread_tick(1), Some(150));
        assert_eq!(thread_tick(2), None);
        set_thread_tick(0, 0, None);
    }

    #[test]
    fn a_tick_behind_the_spawn_reads_as_zero_age_not_49_days() {
        let a = Activity::new(TaskId(1), 100);
        let i = TaskInfo::new("t".into(), TaskState::Idle, &a, 100, None, 99);
        assert_eq!(i.age(), Duration::ZERO);
    }
}
