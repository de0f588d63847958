//! The state behind every handle of one queue, and the protocol its
//! futures follow. Everything is under one mutex.
//!
//! # Grants
//!
//! Waiting getters and putters sit in FIFO lists. When an item arrives and
//! a getter waits, the first waiting getter is *granted*: one item is
//! reserved for it (`available()` no longer counts it), and it is woken.
//! When room appears and a putter waits, the first waiting putter is
//! granted one slot of capacity. A granted future takes its item / slot
//! when next polled. Invariants (hold whenever the lock is released):
//!
//! 1. In each list the granted waiters are a prefix; `granted` counts them.
//! 2. `getters.granted <= items.len()`, and a getter waits ungranted only
//!    while `available() == 0`: a new `get` never overtakes a waiter.
//! 3. `putters.granted + items.len() <= maxsize` (if bounded), and a
//!    putter waits ungranted only while there is no room.
//!
//! A future dropped while granted passes its grant to the next waiter, so
//! a dropped `get` never loses an item (the item never left the queue) and
//! a dropped `put` never enqueues (its item never entered it). `shutdown`
//! empties both lists and wakes everyone; a future that finds itself no
//! longer listed starts over (and then sees the shutdown).

use super::error::{GetError, PutError, QueueShutDown, ShutDown, TaskDoneError};
use super::items::Items;
use crate::loom::sync::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

/// The shared part of a queue.
pub(crate) struct Shared<T> {
    state: Mutex<State<T>>,
    maxsize: usize,
}

struct State<T> {
    items: Items<T>,
    /// Items put and not yet marked done (asyncio's `_unfinished_tasks`).
    unfinished: usize,
    /// Bumped each time `unfinished` drops to zero: a `join` registered
    /// before the bump returns even if new items arrived since.
    finished_gen: u64,
    shutdown: bool,
    getters: Waiters,
    putters: Waiters,
    joiners: VecDeque<(u64, Waker)>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    waker: Waker,
}

/// A FIFO list of waiters whose first `granted` entries hold a grant.
#[derive(Default)]
struct Waiters {
    list: VecDeque<Waiter>,
    granted: usize,
}

impl Waiters {
    fn ungranted(&self) -> usize {
        self.list.len() - self.granted
    }

    fn find(&self, id: u64) -> Option<usize> {
        self.list.iter().position(|w| w.id == id)
    }

    /// Removes the waiter at `pos`; returns whether it held a grant.
    fn remove_at(&mut self, pos: usize) -> bool {
        self.list.remove(pos);
        if pos < self.granted {
            self.granted -= 1;
            true
        } else {
            false
        }
    }

    /// Grants the first ungranted waiter; returns its waker.
    fn grant_next(&mut self) -> Option<Waker> {
        let w = self.list.get(self.granted)?;
        self.granted += 1;
        Some(w.waker.clone())
    }

    fn take_all(&mut self) -> impl Iterator<Item = Waker> {
        self.granted = 0;
        std::mem::take(&mut self.list).into_iter().map(|w| w.waker)
    }

    fn update_waker(&mut self, pos: usize, waker: &Waker) {
        let w = &mut self.list[pos].waker;
        if !w.will_wake(waker) {
            w.clone_from(waker);
        }
    }
}

/// What a registered waiter found when polled again.
enum Listed {
    Granted,
    Waiting,
    Gone,
}

impl<T> State<T> {
    /// Items not reserved for granted getters.
    fn available(&self) -> usize {
        self.items.len() - self.getters.granted
    }

    fn has_room(&self, maxsize: usize) -> bool {
        maxsize == 0 || self.items.len() + self.putters.granted < maxsize
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds an item and grants it to the first waiting getter.
    fn push(&mut self, item: T) -> Option<Waker> {
        self.items.push(item);
        self.unfinished += 1;
        self.grant_getter()
    }

    /// Removes the next item and grants the room to the first waiting putter.
    fn pop(&mut self, maxsize: usize) -> (T, Option<Waker>) {
        let item = self.items.pop().expect("an available item");
        (item, self.grant_putter(maxsize))
    }

    fn grant_getter(&mut self) -> Option<Waker> {
        if self.available() > 0 {
            self.getters.grant_next()
        } else {
            None
        }
    }

    fn grant_putter(&mut self, maxsize: usize) -> Option<Waker> {
        if self.has_room(maxsize) {
            self.putters.grant_next()
        } else {
            None
        }
    }
}

fn check(list: &mut Waiters, id: &mut Option<u64>, waker: &Waker) -> Listed {
    let Some(i) = *id else { return Listed::Gone };
    match list.find(i) {
        Some(pos) if pos < list.granted => {
            list.remove_at(pos);
            *id = None;
            Listed::Granted
        }
        Some(pos) => {
            list.update_waker(pos, waker);
            Listed::Waiting
        }
        None => {
            *id = None;
            Listed::Gone
        }
    }
}

fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

impl<T> Shared<T> {
    pub(crate) fn new(items: Items<T>, maxsize: usize) -> Shared<T> {
        Shared {
            state: Mutex::new(State {
                items,
                unfinished: 0,
                finished_gen: 0,
                shutdown: false,
                getters: Waiters::default(),
                putters: Waiters::default(),
                joiners: VecDeque::new(),
                next_id: 0,
            }),
            maxsize,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.maxsize > 0 && self.lock().items.len() >= self.maxsize
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.lock().shutdown
    }

    pub(crate) fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        let mut s = self.lock();
        if s.shutdown {
            return Err(PutError::ShutDown(item));
        }
        if !s.has_room(self.maxsize) || s.putters.ungranted() > 0 {
            return Err(PutError::Full(item));
        }
        let w = s.push(item);
        drop(s);
        wake(w);
        Ok(())
    }

    /// One poll of a `put`: `slot` holds the item until it is enqueued or
    /// handed back; `id` is the registration in the putter list.
    pub(crate) fn poll_put(
        &self,
        slot: &mut Option<T>,
        id: &mut Option<u64>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), ShutDown<T>>> {
        let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
        let mut s = self.lock();
        let listed = check(&mut s.putters, id, cx.waker());
        if s.shutdown {
            // `shutdown` emptied the list: nothing to pass on.
            coop.made_progress();
            let item = slot.take().expect("Put polled after completion");
            return Poll::Ready(Err(ShutDown(item)));
        }
        match listed {
            Listed::Waiting => return Poll::Pending,
            Listed::Granted => {}
            Listed::Gone if s.has_room(self.maxsize) && s.putters.ungranted() == 0 => {}
            Listed::Gone => {
                let new = s.id();
                s.putters.list.push_back(Waiter {
                    id: new,
                    waker: cx.waker().clone(),
                });
                *id = Some(new);
                return Poll::Pending;
            }
        }
        let w = s.push(slot.take().expect("Put polled after completion"));
        drop(s);
        wake(w);
        coop.made_progress();
        Poll::Ready(Ok(()))
    }

    /// A `put` future is dropped: leave the list, passing a grant on.
    pub(crate) fn cancel_put(&self, id: u64) {
        let mut s = self.lock();
        let Some(pos) = s.putters.find(id) else {
            return;
        };
        let w = if s.putters.remove_at(pos) {
            s.grant_putter(self.maxsize)
        } else {
            None
        };
        drop(s);
        wake(w);
    }

    pub(crate) fn get_nowait(&self) -> Result<T, GetError> {
        let mut s = self.lock();
        if s.available() == 0 {
            return Err(if s.shutdown {
                GetError::ShutDown
            } else {
                GetError::Empty
            });
        }
        let (item, w) = s.pop(self.maxsize);
        drop(s);
        wake(w);
        Ok(item)
    }

    /// One poll of a `get`; `id` is the registration in the getter list.
    pub(crate) fn poll_get(
        &self,
        id: &mut Option<u64>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, QueueShutDown>> {
        let coop = std::task::ready!(crate::scheduler::coop::poll_proceed(cx));
        let mut s = self.lock();
        match check(&mut s.getters, id, cx.waker()) {
            Listed::Waiting => return Poll::Pending,
            // The reserved item is still in the queue (invariant 2).
            Listed::Granted => {}
            Listed::Gone if s.available() > 0 => {}
            Listed::Gone if s.shutdown => {
                coop.made_progress();
                return Poll::Ready(Err(QueueShutDown));
            }
            Listed::Gone => {
                let new = s.id();
                s.getters.list.push_back(Waiter {
                    id: new,
                    waker: cx.waker().clone(),
                });
                *id = Some(new);
                return Poll::Pending;
            }
        }
        let (item, w) = s.pop(self.maxsize);
        drop(s);
        wake(w);
        coop.made_progress();
        Poll::Ready(Ok(item))
    }

    /// A `get` future is dropped: leave the list, passing a grant on.
    pub(crate) fn cancel_get(&self, id: u64) {
        let mut s = self.lock();
        let Some(pos) = s.getters.find(id) else {
            return;
        };
        let w = if s.getters.remove_at(pos) {
            s.grant_getter()
        } else {
            None
        };
        drop(s);
        wake(w);
    }

    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut s = self.lock();
        if s.unfinished == 0 {
            return Err(TaskDoneError);
        }
        s.unfinished -= 1;
        let joiners = if s.unfinished == 0 {
            s.finished_gen += 1;
            std::mem::take(&mut s.joiners)
        } else {
            VecDeque::new()
        };
        drop(s);
        joiners.into_iter().for_each(|(_, w)| w.wake());
        Ok(())
    }

    /// One poll of a `join`; `reg` is (registration id, generation seen).
    pub(crate) fn poll_join(&self, reg: &mut Option<(u64, u64)>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.lock();
        let finished = match *reg {
            _ if s.unfinished == 0 => true,
            Some((_, gen)) => gen != s.finished_gen,
            None => false,
        };
        if finished {
            if let Some((id, _)) = reg.take() {
                s.joiners.retain(|(j, _)| *j != id);
            }
            return Poll::Ready(());
        }
        match *reg {
            Some((id, _)) => match s.joiners.iter_mut().find(|(j, _)| *j == id) {
                Some((_, w)) if !w.will_wake(cx.waker()) => w.clone_from(cx.waker()),
                Some(_) => {}
                None => s.joiners.push_back((id, cx.waker().clone())),
            },
            None => {
                let id = s.id();
                s.joiners.push_back((id, cx.waker().clone()));
                *reg = Some((id, s.finished_gen));
            }
        }
        Poll::Pending
    }

    pub(crate) fn cancel_join(&self, id: u64) {
        self.lock().joiners.retain(|(j, _)| *j != id);
    }

    pub(crate) fn shutdown(&self, immediate: bool) {
        let mut s = self.lock();
        s.shutdown = true;
        let mut dropped = None;
        let mut joiners = VecDeque::new();
        if immediate {
            let items = s.items.take();
            s.unfinished = s.unfinished.saturating_sub(items.len());
            if items.len() > 0 && s.unfinished == 0 {
                s.finished_gen += 1;
                joiners = std::mem::take(&mut s.joiners);
            }
            dropped = Some(items);
        }
        let wakers: Vec<Waker> = s.getters.take_all().chain(s.putters.take_all()).collect();
        drop(s);
        // The discarded items' destructors run outside the lock.
        drop(dropped);
        joiners.into_iter().for_each(|(_, w)| w.wake());
        wakers.into_iter().for_each(Waker::wake);
    }
}
