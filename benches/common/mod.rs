//! The two runtimes under test, behind one small trait, shared by the
//! bench binaries (`scheduler`, `task_memory`) through `mod common;`.
//!
//! Every workload is written once, generic over [`BenchRt`], so that the
//! `aio` and `tokio` entries of a group differ only in the runtime. Both are
//! multi_thread runtimes with [`NUM_WORKERS`] workers; the methods are thin
//! forwards that monomorphisation removes.

use std::fmt::Debug;
use std::future::{Future, IntoFuture};

/// Worker threads of both runtimes (the machine has 2 vCPUs).
pub(crate) const NUM_WORKERS: usize = 2;

/// What a workload needs from a runtime. Implemented for aio and tokio;
/// every method is a thin forward, monomorphised away.
#[allow(dead_code)] // each bench binary uses a subset
pub(crate) trait BenchRt: Sized + 'static {
    /// The error of a join handle.
    type Error: Debug;
    /// A join handle.
    type Join<T: Send + 'static>: IntoFuture<Output = Result<T, Self::Error>> + Send;

    /// A multi_thread runtime with [`NUM_WORKERS`] workers.
    fn build() -> Self;
    /// Runs `f` on the calling thread until it completes.
    fn block_on<F: Future>(&self, f: F) -> F::Output;
    /// Spawns from outside the runtime, through its handle.
    fn spawn_remote<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns onto the current runtime (inside `block_on` or a task).
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Yields once to the scheduler.
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// Wake syscalls sent to parked workers so far, when the runtime
    /// counts them.
    fn unparks(&self) -> Option<u64>;
}

/// aio's multi_thread runtime.
pub(crate) struct Aio(aio::runtime::Runtime);

impl BenchRt for Aio {
    type Error = aio::task::TaskError;
    type Join<T: Send + 'static> = aio::task::Task<T>;

    fn build() -> Self {
        Aio(aio::runtime::Builder::new_multi_thread()
            .worker_threads(NUM_WORKERS)
            .build()
            .expect("aio runtime"))
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }
    fn spawn_remote<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.handle().spawn(f)
    }
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        aio::spawn(f)
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        aio::task::yield_now()
    }
    fn unparks(&self) -> Option<u64> {
        Some(self.0.handle().unpark_count())
    }
}

/// tokio's multi_thread runtime.
pub(crate) struct Tokio(tokio::runtime::Runtime);

impl BenchRt for Tokio {
    type Error = tokio::task::JoinError;
    type Join<T: Send + 'static> = tokio::task::JoinHandle<T>;

    fn build() -> Self {
        Tokio(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(NUM_WORKERS)
                .enable_all()
                .build()
                .expect("tokio runtime"),
        )
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }
    fn spawn_remote<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.handle().spawn(f)
    }
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(f)
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
    fn unparks(&self) -> Option<u64> {
        None
    }
}
