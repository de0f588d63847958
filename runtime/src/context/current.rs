//! [`Context`], the thread's current context, and the helpers that make a
//! context current around a poll or a call.
//!
//! A `Context` is an `Arc` around a mutex-guarded `Arc<Vars>`: clones share
//! the context (a `set` through one is seen by all), while a *copy*
//! (`copy_current`, and what a spawned task receives) is a new `Context`
//! holding the same `Arc<Vars>`; `Arc::make_mut` clones the map only at the
//! first write after the copy.

use crate::loom::sync::{Arc, Mutex};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A variable's value, type-erased.
pub(crate) type Value = Arc<dyn Any + Send + Sync>;

/// The map of one context: variable id (its address) to value.
type Vars = HashMap<usize, Value>;

thread_local! {
    /// The context current on this thread (`None`: nothing was ever set).
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// A set of context-variable values (asyncio's `contextvars.Context`).
///
/// Clones share the context: a variable set while one clone is current is
/// seen through the others. [`Context::copy_current`] takes an independent
/// snapshot in O(1).
///
/// # Examples
///
/// ```
/// use aio::context::{Context, ContextVar};
///
/// static USER: ContextVar<&'static str> = ContextVar::new("user");
///
/// USER.set("alice");
/// let snapshot = Context::copy_current();
/// USER.set("bob");
/// assert_eq!(snapshot.get(&USER), Some("alice"));
/// snapshot.run(|| assert_eq!(USER.get(), Some("alice")));
/// assert_eq!(USER.get(), Some("bob"));
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Mutex<Arc<Vars>>>,
}

impl Context {
    /// An empty context: no variable set.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::context::{Context, ContextVar};
    /// static N: ContextVar<u32> = ContextVar::new("n");
    /// N.set(1);
    /// Context::new().run(|| assert_eq!(N.get(), None));
    /// ```
    pub fn new() -> Context {
        Context::from_vars(Arc::new(Vars::new()))
    }

    fn from_vars(vars: Arc<Vars>) -> Context {
        Context {
            inner: Arc::new(Mutex::new(vars)),
        }
    }

    fn vars(&self) -> Arc<Vars> {
        self.inner.lock().clone()
    }

    /// A copy of the current context (asyncio's `copy_context()`): later
    /// `set`s on either side are not seen by the other. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::context::{Context, ContextVar};
    /// static N: ContextVar<u32> = ContextVar::new("n");
    /// N.set(1);
    /// let copy = Context::copy_current();
    /// copy.run(|| N.set(2));
    /// assert_eq!(N.get(), Some(1));
    /// assert_eq!(copy.get(&N), Some(2));
    /// ```
    pub fn copy_current() -> Context {
        let vars = CURRENT
            .try_with(|c| c.borrow().as_ref().map(Context::vars))
            .ok()
            .flatten();
        match vars {
            Some(vars) => Context::from_vars(vars),
            None => Context::new(),
        }
    }

    /// Runs `f` with this context current, then restores the previous one;
    /// `set`s inside `f` change this context.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::context::{Context, ContextVar};
    /// static N: ContextVar<u32> = ContextVar::new("n");
    /// let ctx = Context::new();
    /// ctx.run(|| N.set(5));
    /// assert_eq!(N.get(), None);
    /// assert_eq!(ctx.run(|| N.get()), Some(5));
    /// ```
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        with_context(&mut Some(self.clone()), f)
    }

    /// Wraps `fut` so that each of its polls runs with this context current
    /// (as if it were a task given this context).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::context::{Context, ContextVar};
    /// static N: ContextVar<u32> = ContextVar::new("n");
    /// aio::run(async {
    ///     let ctx = Context::new();
    ///     ctx.scope(async { N.set(3) }).await;
    ///     assert_eq!(N.get(), None);
    ///     assert_eq!(ctx.get(&N), Some(3));
    /// });
    /// ```
    pub fn scope<F: Future>(&self, fut: F) -> Scope<F> {
        Scope {
            ctx: self.clone(),
            fut: std::mem::ManuallyDrop::new(fut),
        }
    }

    /// The value `var` has in this context, if it was set here. Unlike
    /// [`ContextVar::get`](super::ContextVar::get), the variable's default is not consulted
    /// (asyncio's `Context.get`).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::context::{Context, ContextVar};
    /// static N: ContextVar<u32> = ContextVar::with_default("n", || 0);
    /// let ctx = Context::new();
    /// assert_eq!(ctx.get(&N), None);
    /// ctx.run(|| N.set(4));
    /// assert_eq!(ctx.get(&N), Some(4));
    /// ```
    pub fn get<T: Clone + Send + Sync + 'static>(&self, var: &super::ContextVar<T>) -> Option<T> {
        let value = self.lookup(var.id())?;
        value.downcast_ref::<T>().cloned()
    }

    /// Whether `self` and `other` are the same context (clones of one).
    pub(crate) fn same(&self, other: &Context) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn lookup(&self, id: usize) -> Option<Value> {
        self.inner.lock().get(&id).cloned()
    }

    /// Sets `id`, returning the value it replaces.
    pub(crate) fn insert(&self, id: usize, value: Value) -> Option<Value> {
        Arc::make_mut(&mut *self.inner.lock()).insert(id, value)
    }

    /// Unsets `id`, returning its value.
    pub(crate) fn remove(&self, id: usize) -> Option<Value> {
        let mut vars = self.inner.lock();
        if !vars.contains_key(&id) {
            return None;
        }
        Arc::make_mut(&mut *vars).remove(&id)
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("vars", &self.inner.lock().len())
            .finish()
    }
}

/// The future of [`Context::scope`]: polls the inner future, and drops
/// it, with the context current (as a task's context is current for its
/// polls and the drop of its future).
///
/// # Cancel safety
/// As cancel-safe as the inner future.
///
/// # Examples
///
/// ```
/// use aio::context::{Context, ContextVar};
/// static N: ContextVar<u32> = ContextVar::new("n");
/// aio::run(async {
///     let ctx = Context::new();
///     ctx.run(|| N.set(9));
///     let scoped: aio::context::Scope<_> = ctx.scope(async { N.get() });
///     assert_eq!(scoped.await, Some(9));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Scope<F> {
    ctx: Context,
    /// Dropped in `Drop`, with `ctx` current.
    fut: std::mem::ManuallyDrop<F>,
}

impl<F: Future> Future for Scope<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: it is never moved out of
        // `Scope` (`Drop` drops it in place), and `Scope` is `Unpin` only
        // if `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.fut` stays where it is.
        let fut = unsafe { Pin::new_unchecked(&mut *this.fut) };
        this.ctx.run(|| fut.poll(cx))
    }
}

impl<F> Drop for Scope<F> {
    fn drop(&mut self) {
        let fut = &mut self.fut;
        // SAFETY: dropped here only, once, in place (a pinned `fut` is
        // not moved), and never used again.
        self.ctx
            .run(|| unsafe { std::mem::ManuallyDrop::drop(fut) });
    }
}

impl<F> fmt::Debug for Scope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").field("ctx", &self.ctx).finish()
    }
}

/// Makes `*slot` the current context while `f` runs, then puts the
/// previous one back and stores the context current at the end into
/// `*slot` (a task that had none may have created one with `set`).
pub(crate) fn with_context<R>(slot: &mut Option<Context>, f: impl FnOnce() -> R) -> R {
    struct Restore<'a> {
        slot: &'a mut Option<Context>,
        prev: Option<Context>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let prev = self.prev.take();
            if let Ok(ours) = CURRENT.try_with(|c| c.replace(prev)) {
                *self.slot = ours;
            }
        }
    }
    // During thread-local teardown the context cannot be installed; `f`
    // still runs (it may be dropping a pinned future, which must happen).
    let prev = match CURRENT.try_with(|c| c.replace(slot.take())) {
        Ok(prev) => prev,
        Err(_) => return f(),
    };
    let _restore = Restore { slot, prev };
    f()
}

/// A copy of the current context for something scheduled now (a task, a
/// callback, a blocking closure); `None` when no variable is set, so that
/// code not using context variables pays nothing.
pub(crate) fn capture() -> Option<Context> {
    CURRENT
        .try_with(|c| {
            let vars = c.borrow().as_ref().map(Context::vars)?;
            (!vars.is_empty()).then(|| Context::from_vars(vars))
        })
        .ok()
        .flatten()
}

/// Reads the current context (`None` if there is none).
pub(crate) fn lookup_current(id: usize) -> Option<Value> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().and_then(|ctx| ctx.lookup(id)))
        .ok()
        .flatten()
}

/// Runs `f` on the current context, creating an empty one if there is none.
/// During thread-local teardown (a destructor run by another thread-local's
/// destructor) there is no current context: `f` gets an empty one, whose
/// `set`s are lost.
pub(crate) fn with_current<R>(f: impl FnOnce(&Context) -> R) -> R {
    let ctx = CURRENT
        .try_with(|c| c.borrow_mut().get_or_insert_with(Context::new).clone())
        .unwrap_or_else(|_| Context::new());
    f(&ctx)
}
