//! The one synchronisation facade of `aio-net`: every mutex and atomic in
//! this crate comes from here (parking_lot's non-poisoning mutex, std's
//! `Arc` and atomics). The lock-free protocols live in `aio-runtime`, where
//! loom models check them; this crate only holds short critical sections.
#![allow(clippy::disallowed_types)]

pub(crate) mod sync {
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        #[cfg(feature = "hyper")]
        pub(crate) use std::sync::atomic::AtomicUsize;
        pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
    }

    /// A mutex that never poisons (parking_lot's).
    pub(crate) type Mutex<T> = parking_lot::Mutex<T>;
}
