//! `gather!` / `try_gather!` (fixed arity) and `gather` / `try_gather`
//! (iterators): wait for several futures, polled concurrently inside the
//! caller's task (no spawn), outputs in argument order.

use super::maybe_done::MaybeDone;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Outputs that are `Result`s (for `try_gather!`).
pub trait IsResult {
    /// The `Ok` type.
    type Ok;
    /// The `Err` type.
    type Err;
    /// Into a plain `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
    /// Whether it is an `Err`.
    fn is_err(&self) -> bool;
}

impl<T, E> IsResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
    fn is_err(&self) -> bool {
        Result::is_err(self)
    }
}

macro_rules! define_join {
    ($join:ident, $join_fn:ident, $try:ident, $try_fn:ident; $($F:ident $f:ident),+) => {
        /// The future of `gather!` with this many arguments.
        #[must_use = "futures do nothing unless awaited"]
        pub struct $join<$($F: Future),+> { $($f: MaybeDone<$F>,)+ }

        #[doc(hidden)]
        #[allow(clippy::too_many_arguments)]
        pub fn $join_fn<$($F: IntoFuture),+>($($f: $F),+) -> $join<$($F::IntoFuture),+> {
            $join { $($f: MaybeDone::Future($f.into_future()),)+ }
        }

        impl<$($F: Future),+> Future for $join<$($F),+> {
            type Output = ($($F::Output,)+);
            #[allow(non_snake_case)]
            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                // SAFETY: the fields are structurally pinned and never moved.
                let this = unsafe { self.get_unchecked_mut() };
                let mut done = true;
                $(
                    // SAFETY: as above.
                    done &= unsafe { Pin::new_unchecked(&mut this.$f) }.poll_done(cx);
                )+
                if !done {
                    return Poll::Pending;
                }
                // SAFETY: as above.
                Poll::Ready(($(unsafe { Pin::new_unchecked(&mut this.$f) }.take(),)+))
            }
        }

        impl<$($F: Future),+> fmt::Debug for $join<$($F),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($join)).finish_non_exhaustive()
            }
        }

        /// The future of `try_gather!` with this many arguments.
        #[must_use = "futures do nothing unless awaited"]
        pub struct $try<E, $($F: Future),+> { $($f: MaybeDone<$F>,)+ _e: PhantomData<fn() -> E> }

        #[doc(hidden)]
        #[allow(clippy::too_many_arguments)]
        pub fn $try_fn<E, $($F: IntoFuture),+>($($f: $F),+) -> $try<E, $($F::IntoFuture),+>
        where $($F::Output: IsResult<Err = E>),+
        {
            $try { $($f: MaybeDone::Future($f.into_future()),)+ _e: PhantomData }
        }

        impl<E, $($F: Future),+> Future for $try<E, $($F),+>
        where $($F::Output: IsResult<Err = E>),+
        {
            type Output = Result<($(<$F::Output as IsResult>::Ok,)+), E>;
            #[allow(non_snake_case)]
            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                // SAFETY: the fields are structurally pinned and never moved.
                let this = unsafe { self.get_unchecked_mut() };
                let mut done = true;
                let mut failed = None;
                $(
                    if failed.is_none() {
                        // SAFETY: as above.
                        let mut $f = unsafe { Pin::new_unchecked(&mut this.$f) };
                        done &= $f.as_mut().poll_done(cx);
                        if $f.output().is_some_and(|o| o.is_err()) {
                            failed = $f.as_mut().take().into_result().err();
                        }
                    }
                )+
                if let Some(err) = failed {
                    // The first Err returns at once; the rest are dropped
                    // now (Tasks by value are cancelled).
                    $(
                        // SAFETY: as above.
                        unsafe { Pin::new_unchecked(&mut this.$f) }.cancel();
                    )+
                    return Poll::Ready(Err(err));
                }
                if !done {
                    return Poll::Pending;
                }
                Poll::Ready(Ok(($(
                    // SAFETY: as above.
                    match unsafe { Pin::new_unchecked(&mut this.$f) }.take().into_result() {
                        Ok(v) => v,
                        Err(_) => unreachable!("errors returned above"),
                    },
                )+)))
            }
        }

        impl<E, $($F: Future),+> fmt::Debug for $try<E, $($F),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($try)).finish_non_exhaustive()
            }
        }
    };
}

define_join!(Join1, join1, TryJoin1, try_join1; A a);
define_join!(Join2, join2, TryJoin2, try_join2; A a, B b);
define_join!(Join3, join3, TryJoin3, try_join3; A a, B b, C c);
define_join!(Join4, join4, TryJoin4, try_join4; A a, B b, C c, D d);
define_join!(Join5, join5, TryJoin5, try_join5; A a, B b, C c, D d, E_ e);
define_join!(Join6, join6, TryJoin6, try_join6; A a, B b, C c, D d, E_ e, F f);
define_join!(Join7, join7, TryJoin7, try_join7; A a, B b, C c, D d, E_ e, F f, G g);
define_join!(Join8, join8, TryJoin8, try_join8; A a, B b, C c, D d, E_ e, F f, G g, H h);
define_join!(Join9, join9, TryJoin9, try_join9; A a, B b, C c, D d, E_ e, F f, G g, H h, I i);
define_join!(Join10, join10, TryJoin10, try_join10; A a, B b, C c, D d, E_ e, F f, G g, H h, I i, J j);
define_join!(Join11, join11, TryJoin11, try_join11; A a, B b, C c, D d, E_ e, F f, G g, H h, I i, J j, K k);
define_join!(Join12, join12, TryJoin12, try_join12; A a, B b, C c, D d, E_ e, F f, G g, H h, I i, J j, K k, L l);

/// Awaits every future (any `IntoFuture`, so `Task`s too), polled
/// concurrently inside the calling task, and returns their outputs as a
/// tuple in argument order (asyncio's `gather`). Up to 12 arguments; use
/// [`gather`](crate::future::gather) for a collection.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// async fn go(secs: u64, what: &str) -> String {
///     aio::sleep(Duration::from_millis(secs)).await;
///     format!("{what}({secs})")
/// }
/// aio::run(async {
///     let (a, b) = aio::gather!(go(2, "hello"), go(1, "world")).await;
///     assert_eq!([a, b], ["hello(2)", "world(1)"]);
/// });
/// ```
#[macro_export]
macro_rules! gather {
    ($a:expr $(,)?) => {
        $crate::future::__private::join1($a)
    };
    ($a:expr, $b:expr $(,)?) => {
        $crate::future::__private::join2($a, $b)
    };
    ($a:expr, $b:expr, $c:expr $(,)?) => {
        $crate::future::__private::join3($a, $b, $c)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr $(,)?) => {
        $crate::future::__private::join4($a, $b, $c, $d)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr $(,)?) => {
        $crate::future::__private::join5($a, $b, $c, $d, $e)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr $(,)?) => {
        $crate::future::__private::join6($a, $b, $c, $d, $e, $f)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr $(,)?) => {
        $crate::future::__private::join7($a, $b, $c, $d, $e, $f, $g)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr $(,)?) => {
        $crate::future::__private::join8($a, $b, $c, $d, $e, $f, $g, $h)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr $(,)?) => {
        $crate::future::__private::join9($a, $b, $c, $d, $e, $f, $g, $h, $i)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr, $j:expr $(,)?) => {
        $crate::future::__private::join10($a, $b, $c, $d, $e, $f, $g, $h, $i, $j)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr, $j:expr, $k:expr $(,)?) => {
        $crate::future::__private::join11($a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr, $j:expr, $k:expr, $l:expr $(,)?) => {
        $crate::future::__private::join12($a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k, $l)
    };
}

/// Like [`gather!`](crate::gather!), over futures whose outputs are `Result<T, E>` (one
/// `E` for all): the first `Err` returns at once and the other futures are
/// dropped (a `Task` passed by value is cancelled). Up to 12 arguments.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let ok: Result<(i32, &str), String> = aio::try_gather!(async { Ok(1) }, async { Ok("two") }).await;
///     assert_eq!(ok, Ok((1, "two")));
///     let err: Result<(i32, ()), String> =
///         aio::try_gather!(async { Ok(1) }, async { Err("bad".to_string()) }).await;
///     assert_eq!(err, Err("bad".to_string()));
/// });
/// ```
#[macro_export]
macro_rules! try_gather {
    ($a:expr $(,)?) => {
        $crate::future::__private::try_join1($a)
    };
    ($a:expr, $b:expr $(,)?) => {
        $crate::future::__private::try_join2($a, $b)
    };
    ($a:expr, $b:expr, $c:expr $(,)?) => {
        $crate::future::__private::try_join3($a, $b, $c)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr $(,)?) => {
        $crate::future::__private::try_join4($a, $b, $c, $d)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr $(,)?) => {
        $crate::future::__private::try_join5($a, $b, $c, $d, $e)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr $(,)?) => {
        $crate::future::__private::try_join6($a, $b, $c, $d, $e, $f)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr $(,)?) => {
        $crate::future::__private::try_join7($a, $b, $c, $d, $e, $f, $g)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr $(,)?) => {
        $crate::future::__private::try_join8($a, $b, $c, $d, $e, $f, $g, $h)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr $(,)?) => {
        $crate::future::__private::try_join9($a, $b, $c, $d, $e, $f, $g, $h, $i)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr, $j:expr $(,)?) => {
        $crate::future::__private::try_join10($a, $b, $c, $d, $e, $f, $g, $h, $i, $j)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr, $j:expr, $k:expr $(,)?) => {
        $crate::future::__private::try_join11($a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k)
    };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr, $g:expr, $h:expr, $i:expr, $j:expr, $k:expr, $l:expr $(,)?) => {
        $crate::future::__private::try_join12($a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k, $l)
    };
}

/// Awaits every future of a collection, polled concurrently inside the
/// calling task; outputs in input order.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let tasks = (0..5).map(|i| aio::spawn(async move { i * i }));
///     let out: Vec<_> = aio::future::gather(tasks).await;
///     let out: Vec<i32> = out.into_iter().map(Result::unwrap).collect();
///     assert_eq!(out, [0, 1, 4, 9, 16]);
/// });
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let elems: Box<[MaybeDone<_>]> = futures
        .into_iter()
        .map(|f| MaybeDone::Future(f.into_future()))
        .collect();
    Gather {
        elems: elems.into(),
    }
}

/// The future of [`gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F: Future> {
    elems: Pin<Box<[MaybeDone<F>]>>,
}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let mut done = true;
        for e in iter_pin_mut(self.elems.as_mut()) {
            done &= e.poll_done(cx);
        }
        if !done {
            return Poll::Pending;
        }
        Poll::Ready(
            iter_pin_mut(self.elems.as_mut())
                .map(|e| e.take())
                .collect(),
        )
    }
}

/// Like [`gather`], over outputs `Result<T, E>`: the first `Err` returns at
/// once and the rest are dropped.
///
/// # Examples
///
/// ```
/// aio::run(async {
///     let r: Result<Vec<i32>, &str> =
///         aio::future::try_gather((0..3).map(|i| async move { if i == 1 { Err("one") } else { Ok(i) } })).await;
///     assert_eq!(r, Err("one"));
/// });
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    let elems: Box<[MaybeDone<_>]> = futures
        .into_iter()
        .map(|f| MaybeDone::Future(f.into_future()))
        .collect();
    TryGather {
        elems: elems.into(),
    }
}

/// The future of [`try_gather()`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<F: Future> {
    elems: Pin<Box<[MaybeDone<F>]>>,
}

impl<T, E, F: Future<Output = Result<T, E>>> Future for TryGather<F> {
    type Output = Result<Vec<T>, E>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut done = true;
        let mut failed = None;
        for mut e in iter_pin_mut(self.elems.as_mut()) {
            done &= e.as_mut().poll_done(cx);
            if e.output().is_some_and(|o| o.is_err()) {
                failed = e.as_mut().take().err();
                break;
            }
        }
        if let Some(err) = failed {
            for e in iter_pin_mut(self.elems.as_mut()) {
                e.cancel();
            }
            return Poll::Ready(Err(err));
        }
        if !done {
            return Poll::Pending;
        }
        Poll::Ready(Ok(iter_pin_mut(self.elems.as_mut())
            .map(|e| match e.take() {
                Ok(v) => v,
                Err(_) => unreachable!("errors returned above"),
            })
            .collect()))
    }
}

fn iter_pin_mut<T>(slice: Pin<&mut [T]>) -> impl Iterator<Item = Pin<&mut T>> {
    // SAFETY: the elements stay where they are; we only hand out pinned
    // references to them.
    unsafe { slice.get_unchecked_mut() }
        .iter_mut()
        // SAFETY: as above.
        .map(|t| unsafe { Pin::new_unchecked(t) })
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("len", &self.elems.len())
            .finish()
    }
}

impl<F: Future> fmt::Debug for TryGather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("len", &self.elems.len())
            .finish()
    }
}
