//! `CancellationToken` (tokio-util's): a cancel flag shared by clones, with
//! child tokens that are cancelled with their parent (but not the reverse).
//!
//! A token is an `Arc` of a tree node: the flag (an atomic, read lock-free
//! by `is_cancelled`), a handle count, and under a mutex the children and
//! the waiters of `cancelled()`. `cancel` sets the flag under the node's
//! lock, takes the children and the waiters out, then cancels the children
//! with no lock held (an explicit stack, so deep trees cannot overflow).
//! A child created after its parent was cancelled is born cancelled (the
//! flag is checked under the parent's lock). A parent keeps its children
//! alive; children whose every token was dropped, and every node below
//! them, are pruned from the parent's list when it grows, so a long-lived
//! parent handing out short-lived children (and grandchildren) stays
//! small.

use super::waiters::{Waiter, WaiterList, WakeList};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::sync::{Arc, Mutex};
use crate::scheduler::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

struct Node {
    cancelled: AtomicBool,
    /// Live `CancellationToken`s of this node.
    handles: AtomicUsize,
    inner: Mutex<Inner>,
}

struct Inner {
    children: Vec<Arc<Node>>,
    waiters: WaiterList<()>,
}

impl Node {
    fn new(cancelled: bool) -> Arc<Node> {
        Arc::new(Node {
            cancelled: AtomicBool::new(cancelled),
            handles: AtomicUsize::new(1),
            inner: Mutex::new(Inner {
                children: Vec::new(),
                waiters: WaiterList::new(),
            }),
        })
    }

    /// Whether the node still matters to its parent: a token of it, or of
    /// a node below it, is alive. (A node whose tokens were all dropped is
    /// dead with everything below it that has none either: a per-
    /// connection token's per-request children do not keep it listed.)
    /// Locks the nodes below, top-down as `child_token` does (an explicit
    /// stack: deep trees cannot overflow).
    fn is_live(&self) -> bool {
        if self.handles.load(Acquire) > 0 {
            return true;
        }
        let mut stack: Vec<Arc<Node>> = self.inner.lock().children.clone();
        while let Some(node) = stack.pop() {
            if node.handles.load(Acquire) > 0 {
                return true;
            }
            stack.extend(node.inner.lock().children.iter().cloned());
        }
        false
    }
}

/// A token to signal cancellation to many tasks, with child tokens.
///
/// Clones share the token; [`child_token`](Self::child_token) makes a token
/// cancelled whenever this one is (or by itself).
///
/// # Examples
///
/// ```
/// use aio::sync::CancellationToken;
///
/// aio::run(async {
///     let token = CancellationToken::new();
///     let child = token.child_token();
///     let worker = aio::spawn(async move {
///         child.cancelled().await;
///         "stopped"
///     });
///     token.cancel();
///     assert_eq!(worker.await.unwrap(), "stopped");
/// });
/// ```
pub struct CancellationToken {
    node: Arc<Node>,
}

impl CancellationToken {
    /// A new, not cancelled, token.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!aio::sync::CancellationToken::new().is_cancelled());
    /// ```
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Node::new(false),
        }
    }

    /// A token cancelled with this one (or on its own via its own `cancel`,
    /// which does not affect this one).
    ///
    /// # Examples
    ///
    /// ```
    /// let parent = aio::sync::CancellationToken::new();
    /// let child = parent.child_token();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// parent.child_token();
    /// parent.cancel();
    /// assert!(parent.child_token().is_cancelled());
    /// ```
    pub fn child_token(&self) -> CancellationToken {
        let mut inner = self.node.inner.lock();
        if self.node.cancelled.load(Acquire) {
            return CancellationToken {
                node: Node::new(true),
            };
        }
        if inner.children.len() == inner.children.capacity() && !inner.children.is_empty() {
            // Amortised pruning of children nobody can observe any more.
            inner.children.retain(|c| c.is_live());
        }
        let child = Node::new(false);
        inner.children.push(child.clone());
        CancellationToken { node: child }
    }

    /// Cancels this token and all its descendants, waking every task in
    /// [`cancelled`](Self::cancelled). Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = aio::sync::CancellationToken::new();
    /// t.cancel();
    /// t.cancel();
    /// assert!(t.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        let mut stack = vec![self.node.clone()];
        while let Some(node) = stack.pop() {
            let mut inner = node.inner.lock();
            if node.cancelled.swap(true, AcqRel) {
                continue;
            }
            stack.append(&mut inner.children);
            let mut wakers = WakeList::new();
            loop {
                while !wakers.is_full() && !inner.waiters.is_empty() {
                    wakers.push(inner.waiters.pop_front(|_| {}));
                }
                if inner.waiters.is_empty() {
                    break;
                }
                drop(inner);
                wakers.wake_all();
                inner = node.inner.lock();
            }
            drop(inner);
            wakers.wake_all();
        }
    }

    /// Whether this token is cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = aio::sync::CancellationToken::new();
    /// assert!(!t.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Acquire)
    }

    /// Waits until the token is cancelled; returns at once if it is.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    ///
    /// # Examples
    ///
    /// ```
    /// aio::run(async {
    ///     let t = aio::sync::CancellationToken::new();
    ///     t.cancel();
    ///     t.cancelled().await;
    /// });
    /// ```
    pub fn cancelled(&self) -> WaitForCancellation<'_> {
        WaitForCancellation {
            node: &self.node,
            queued: false,
            waiter: Waiter::new(()),
        }
    }
}

impl Clone for CancellationToken {
    fn clone(&self) -> CancellationToken {
        self.node.handles.fetch_add(1, AcqRel);
        CancellationToken {
            node: self.node.clone(),
        }
    }
}

impl Drop for CancellationToken {
    fn drop(&mut self) {
        self.node.handles.fetch_sub(1, AcqRel);
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The future of [`CancellationToken::cancelled`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it leaves the queue.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancellation<'a> {
    node: &'a Arc<Node>,
    queued: bool,
    waiter: Waiter<()>,
}

impl Future for WaitForCancellation<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        // SAFETY: the waiter is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        if !this.queued && this.node.cancelled.load(Acquire) {
            coop.made_progress();
            return Poll::Ready(());
        }
        let mut inner = this.node.inner.lock();
        let done = if this.queued {
            // SAFETY: we hold the owning lock [L].
            unsafe {
                this.waiter.with(|n| {
                    n.set_waker(cx.waker());
                    !n.is_linked()
                })
            }
        } else if this.node.cancelled.load(Acquire) {
            true
        } else {
            // SAFETY: not linked yet; we hold the lock.
            unsafe { this.waiter.with(|n| n.waker = Some(cx.waker().clone())) };
            // SAFETY: lock held; the future is pinned and unlinks itself in
            // `Drop`.
            unsafe { inner.waiters.push_back(&this.waiter) };
            this.queued = true;
            false
        };
        if done {
            this.queued = false;
            coop.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for WaitForCancellation<'_> {
    fn drop(&mut self) {
        if self.queued {
            let mut inner = self.node.inner.lock();
            // SAFETY: lock held; the waiter is in this node's list or none.
            unsafe { inner.waiters.remove(&self.waiter) };
        }
    }
}

impl fmt::Debug for WaitForCancellation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellation")
            .field("cancelled", &self.node.cancelled.load(Acquire))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Children whose tokens were all dropped leave the parent's list with
    /// their own dropped children (a child that had a child stayed listed
    /// forever: one node per connection of a server, say).
    #[test]
    fn dropped_children_with_dropped_grandchildren_are_pruned() {
        let root = CancellationToken::new();
        for _ in 0..10_000 {
            let conn = root.child_token();
            drop(conn.child_token());
        }
        let kept = root.child_token();
        let grandchild = kept.child_token();
        drop(kept);
        for _ in 0..100 {
            drop(root.child_token());
        }
        let listed = root.node.inner.lock().children.len();
        assert!(listed < 256, "{listed} children listed");
        // A dropped child with a live grandchild stays: the grandchild is
        // still cancelled with the root.
        root.cancel();
        assert!(grandchild.is_cancelled());
    }
}
