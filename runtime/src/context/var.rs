//! [`ContextVar`] and the [`Token`] that undoes a `set`.

use super::current::{lookup_current, with_current, Context, Value};
use crate::loom::sync::Arc;
use std::fmt;
use std::marker::PhantomData;

/// A context variable (asyncio's `contextvars.ContextVar`): a value per
/// [`Context`], inherited by tasks, callbacks and `to_thread` closures as a
/// copy of their scheduler's.
///
/// Declare it as a `static`: the variable's identity is its address, so a
/// `const` (a new value at each use) or a moved `ContextVar` is a
/// different variable.
///
/// # Examples
///
/// ```
/// use aio::context::ContextVar;
///
/// static DEPTH: ContextVar<u32> = ContextVar::with_default("depth", || 0);
///
/// aio::run(async {
///     assert_eq!(DEPTH.get(), Some(0));
///     let token = DEPTH.set(1);
///     aio::spawn(async { assert_eq!(DEPTH.get(), Some(1)) }).await.unwrap();
///     DEPTH.reset(token);
///     assert_eq!(DEPTH.get(), Some(0));
/// });
/// ```
pub struct ContextVar<T> {
    name: &'static str,
    default: Option<fn() -> T>,
    _value: PhantomData<fn() -> T>,
}

impl<T: Clone + Send + Sync + 'static> ContextVar<T> {
    /// A variable without a default: `get` returns `None` until it is set.
    ///
    /// # Examples
    ///
    /// ```
    /// static NAME: aio::context::ContextVar<String> = aio::context::ContextVar::new("name");
    /// assert_eq!(NAME.get(), None);
    /// assert_eq!(NAME.name(), "name");
    /// ```
    pub const fn new(name: &'static str) -> ContextVar<T> {
        ContextVar {
            name,
            default: None,
            _value: PhantomData,
        }
    }

    /// A variable whose `get` returns `default()` while it is unset.
    ///
    /// # Examples
    ///
    /// ```
    /// static LIMIT: aio::context::ContextVar<u32> =
    ///     aio::context::ContextVar::with_default("limit", || 10);
    /// assert_eq!(LIMIT.get(), Some(10));
    /// ```
    pub const fn with_default(name: &'static str, default: fn() -> T) -> ContextVar<T> {
        ContextVar {
            name,
            default: Some(default),
            _value: PhantomData,
        }
    }

    /// The name given to `new`.
    ///
    /// # Examples
    ///
    /// ```
    /// static V: aio::context::ContextVar<u8> = aio::context::ContextVar::new("v");
    /// assert_eq!(V.name(), "v");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn id(&self) -> usize {
        self as *const Self as usize
    }

    /// The value in the current context; if unset, the default (if any).
    ///
    /// # Examples
    ///
    /// ```
    /// static V: aio::context::ContextVar<u8> = aio::context::ContextVar::new("v");
    /// assert_eq!(V.get(), None);
    /// V.set(1);
    /// assert_eq!(V.get(), Some(1));
    /// ```
    pub fn get(&self) -> Option<T> {
        match lookup_current(self.id()) {
            Some(v) => v.downcast_ref::<T>().cloned(),
            None => self.default.map(|d| d()),
        }
    }

    /// The value in the current context, or the default, or `d`.
    ///
    /// # Examples
    ///
    /// ```
    /// static V: aio::context::ContextVar<u8> = aio::context::ContextVar::new("v");
    /// assert_eq!(V.get_or(5), 5);
    /// ```
    pub fn get_or(&self, d: T) -> T {
        self.get().unwrap_or(d)
    }

    /// Sets the value in the current context; the returned [`Token`]
    /// undoes it with [`reset`](Self::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// static V: aio::context::ContextVar<&str> = aio::context::ContextVar::new("v");
    /// let token = V.set("a");
    /// assert_eq!(token.old_value(), None);
    /// assert_eq!(V.get(), Some("a"));
    /// ```
    pub fn set(&self, value: T) -> Token<T> {
        let value: Value = Arc::new(value);
        let (ctx, old) = with_current(|ctx| (ctx.clone(), ctx.insert(self.id(), value)));
        Token {
            ctx,
            var: self.id(),
            name: self.name,
            old,
            _value: PhantomData,
        }
    }

    /// Restores the value the variable had before the `set` that returned
    /// `token` (unset, if it was unset).
    ///
    /// # Panics
    /// If `token` was created by another variable, or in another context
    /// than the current one (asyncio's `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// static V: aio::context::ContextVar<u8> = aio::context::ContextVar::new("v");
    /// let t1 = V.set(1);
    /// let t2 = V.set(2);
    /// V.reset(t2);
    /// assert_eq!(V.get(), Some(1));
    /// V.reset(t1);
    /// assert_eq!(V.get(), None);
    /// ```
    pub fn reset(&self, token: Token<T>) {
        assert!(
            token.var == self.id(),
            "ContextVar::reset: the token of `{}` was passed to `{}`",
            token.name,
            self.name
        );
        let replaced = with_current(|ctx| {
            assert!(
                ctx.same(&token.ctx),
                "ContextVar::reset: the token of `{}` was created in a different Context",
                self.name
            );
            match token.old.clone() {
                Some(old) => ctx.insert(self.id(), old),
                None => ctx.remove(self.id()),
            }
        });
        // The replaced value is dropped here, with no context borrowed.
        drop(replaced);
    }
}

impl<T> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextVar")
            .field("name", &self.name)
            .field("has_default", &self.default.is_some())
            .finish()
    }
}

/// Undoes one [`ContextVar::set`]; pass it to [`ContextVar::reset`].
///
/// # Examples
///
/// ```
/// static V: aio::context::ContextVar<u8> = aio::context::ContextVar::new("v");
/// V.set(1);
/// let token = V.set(2);
/// assert_eq!(token.old_value(), Some(1));
/// V.reset(token);
/// assert_eq!(V.get(), Some(1));
/// ```
pub struct Token<T> {
    ctx: Context,
    var: usize,
    name: &'static str,
    old: Option<Value>,
    _value: PhantomData<fn() -> T>,
}

impl<T: Clone + 'static> Token<T> {
    /// The value the variable had before the `set` (`None` if unset).
    ///
    /// # Examples
    ///
    /// ```
    /// static V: aio::context::ContextVar<u8> = aio::context::ContextVar::new("v");
    /// assert_eq!(V.set(1).old_value(), None);
    /// ```
    pub fn old_value(&self) -> Option<T> {
        self.old.as_ref()?.downcast_ref::<T>().cloned()
    }
}

impl<T> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("var", &self.name)
            .field("had_value", &self.old.is_some())
            .finish()
    }
}
