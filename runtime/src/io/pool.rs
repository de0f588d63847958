//! A ring's pool of receive buffers (io_uring "provided buffers", a
//! buffer ring registered with `IORING_REGISTER_PBUF_RING`, Linux 5.19).
//!
//! A multishot receive (`opcodes/recv_multi.rs`) names no buffer: the
//! kernel takes one from its ring's pool when data arrives, receives into
//! it and reports its id in the CQE. The buffer is then ours
//! ([`PooledBuf`]) until we give it back, which puts its id at the pool
//! ring's tail again. So a connection waiting for its next request holds
//! no buffer, and its receive stays armed with no SQE per message.
//!
//! # Memory and ownership
//!
//! One allocation for the ring (`ENTRIES` 16-byte `io_uring_buf` slots,
//! page-aligned, as the kernel requires) and one for the buffers
//! (`ENTRIES` × [`POOL_BUF_SIZE`]). Each buffer id is in exactly one place
//! at a time: in the pool ring (the kernel may write into it), in a CQE or
//! an op's queue, or in a `PooledBuf`. Ids only go back to the ring when a
//! `PooledBuf` (or an orphaned result) is dropped, so the ring never holds
//! more than `ENTRIES` ids and a slot is never overwritten before the
//! kernel took its id.
//!
//! The pool is an `Arc`: the driver holds one reference, every armed op's
//! data and every `PooledBuf` another, so the memory outlives the
//! registration, the ring, and every buffer handed out. The driver
//! unregisters it when it closes with no op in flight; a record the
//! driver leaks at shutdown (an op that never completed) keeps the pool
//! alive with it.
//!
//! # Giving buffers back (the tail)
//!
//! The tail is a `u16` in the ring's first slot, read by the kernel with
//! acquire. Any thread may give back a buffer (the consumer moves between
//! workers), so a mutex orders the writers: under it a writer fills the
//! slot at `tail & mask`, then publishes `tail + 1` with a release store.
//! The kernel only reads slots below the tail it loaded.
//!
//! Called by the uring driver (creation, unregistration) and
//! `opcodes/recv_multi.rs`.

use crate::loom::sync::atomic::{AtomicU16, Ordering::Release};
use crate::loom::sync::{Arc, Mutex};
use std::alloc::{self, Layout};
use std::fmt;
use std::ptr::NonNull;

/// The size of each buffer of a ring's receive pool: one multishot
/// receive result is at most this many bytes.
///
/// # Examples
///
/// ```
/// assert_eq!(aio::io::POOL_BUF_SIZE, 16 * 1024);
/// ```
pub const POOL_BUF_SIZE: usize = 16 * 1024;

/// Buffers per ring (a power of two, at most 32768). 128 × 16 KiB = 2 MiB
/// of address space per ring, touched only as buffers are used. A
/// multishot receive whose reader lags can hold more than its queue limit
/// before its pause takes effect (see `RECV_QUEUE_MAX`).
const ENTRIES: u16 = 128;

/// One `struct io_uring_buf` (`include/uapi/linux/io_uring.h`); the
/// first slot's `resv` is the ring's tail (`struct io_uring_buf_ring`).
#[repr(C)]
struct RingSlot {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

const _: () = assert!(std::mem::size_of::<RingSlot>() == 16);

/// A registered pool of receive buffers (see the module docs).
pub(crate) struct BufPool {
    /// `ENTRIES` slots, page-aligned.
    ring: NonNull<RingSlot>,
    /// `ENTRIES` buffers of `POOL_BUF_SIZE` bytes.
    bufs: NonNull<u8>,
    /// The buffer group id the SQEs name.
    bgid: u16,
    /// Our copy of the tail (the writers' order).
    tail: Mutex<u16>,
}

// SAFETY: the pool's memory is shared with the kernel by design; slots
// are written under `tail`'s mutex only, and a buffer's bytes are read
// only by the one `PooledBuf` that owns its id (see the module docs).
unsafe impl Send for BufPool {}
// SAFETY: as for Send.
unsafe impl Sync for BufPool {}

impl fmt::Debug for BufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufPool").field("bgid", &self.bgid).finish()
    }
}

/// The kernel's page size (the ring must be page-aligned: 4 KiB on x86,
/// up to 64 KiB on arm64 and ppc64).
fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

fn ring_layout() -> Layout {
    let page = page_size();
    Layout::from_size_align((usize::from(ENTRIES) * 16).max(page), page).expect("a valid layout")
}

fn bufs_layout() -> Layout {
    Layout::from_size_align(usize::from(ENTRIES) * POOL_BUF_SIZE, page_size())
        .expect("a valid layout")
}

impl BufPool {
    /// Allocates a pool with every buffer in its ring; `register` then
    /// registers it under `bgid` with the ring's address and entry count.
    pub(crate) fn new(
        bgid: u16,
        register: impl FnOnce(u64, u16) -> std::io::Result<()>,
    ) -> std::io::Result<Arc<BufPool>> {
        // SAFETY: both layouts have a non-zero size.
        let ring = unsafe { alloc::alloc_zeroed(ring_layout()) };
        // SAFETY: as above.
        let bufs = unsafe { alloc::alloc(bufs_layout()) };
        let (Some(ring), Some(bufs)) = (NonNull::new(ring), NonNull::new(bufs)) else {
            alloc::handle_alloc_error(ring_layout());
        };
        let pool = BufPool {
            ring: ring.cast(),
            bufs,
            bgid,
            tail: Mutex::new(0),
        };
        for bid in 0..ENTRIES {
            pool.give_back(bid);
        }
        register(ring.as_ptr() as u64, ENTRIES)?;
        Ok(Arc::new(pool))
    }

    /// The buffer group id.
    pub(crate) fn bgid(&self) -> u16 {
        self.bgid
    }

    /// Puts buffer `bid` back in the ring for the kernel to fill again.
    fn give_back(&self, bid: u16) {
        debug_assert!(bid < ENTRIES);
        let mut tail = self.tail.lock();
        let slot = usize::from(*tail & (ENTRIES - 1));
        // SAFETY: `slot < ENTRIES`, inside the ring allocation; the kernel
        // reads slots only below the published tail, and this one is at
        // it (its previous id was taken: ids are never in the ring twice,
        // see the module docs); other writers wait on the mutex. The
        // buffer's address is inside `bufs`.
        unsafe {
            let s = self.ring.as_ptr().add(slot);
            (*s).addr = self.bufs.as_ptr().add(usize::from(bid) * POOL_BUF_SIZE) as u64;
            (*s).len = POOL_BUF_SIZE as u32;
            (*s).bid = bid;
        }
        *tail = tail.wrapping_add(1);
        // SAFETY: the tail is the first slot's `resv` (offset 14, 2-aligned),
        // inside the allocation, shared with the kernel only through atomic
        // accesses; the release orders the slot's writes before it.
        unsafe {
            let t = (self.ring.as_ptr() as *mut u8).add(14) as *const AtomicU16;
            (*t).store(*tail, Release);
        }
    }

    /// Takes buffer `bid` holding `len` received bytes from a CQE.
    ///
    /// # Safety
    /// The CQE named `bid` (so the kernel is done with it and nobody else
    /// holds it), and it is taken once.
    pub(crate) unsafe fn take(self: &Arc<BufPool>, bid: u16, len: usize) -> PooledBuf {
        debug_assert!(bid < ENTRIES && len <= POOL_BUF_SIZE);
        PooledBuf {
            pool: self.clone(),
            bid: bid.min(ENTRIES - 1),
            len: len.min(POOL_BUF_SIZE),
        }
    }

    /// Gives back buffer `bid` of a result nobody will read.
    ///
    /// # Safety
    /// As for [`take`](Self::take).
    pub(crate) unsafe fn release(&self, bid: u16) {
        if bid < ENTRIES {
            self.give_back(bid);
        }
    }
}

impl Drop for BufPool {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts; the last reference
        // is gone, so no buffer is handed out and no op is armed on it.
        unsafe {
            alloc::dealloc(self.ring.as_ptr().cast(), ring_layout());
            alloc::dealloc(self.bufs.as_ptr(), bufs_layout());
        }
    }
}

/// Received bytes in a buffer of a ring's receive pool (an item of
/// [`recv_multi`](crate::io::ops::recv_multi)). Derefs to the bytes;
/// dropping it gives the buffer back to the pool.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::io::{ops, SharedFd};
/// use std::io::Write;
/// let l = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut b = std::net::TcpStream::connect(l.local_addr()?)?;
/// let (a, _) = l.accept()?;
/// a.set_nonblocking(true)?;
/// let a = SharedFd::new(a.into());
/// if let Ok(mut rx) = ops::recv_multi(&a) {
///     b.write_all(b"ping")?;
///     let buf: aio::io::PooledBuf =
///         std::future::poll_fn(|cx| rx.poll_next(cx)).await.unwrap()?;
///     assert_eq!(&buf[..], b"ping");
///     drop(buf); // back to the pool
/// }
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct PooledBuf {
    pool: Arc<BufPool>,
    /// `NO_BUF` for an empty result that took no buffer.
    bid: u16,
    len: usize,
}

/// The id of no buffer (ids are below `ENTRIES`).
const NO_BUF: u16 = u16::MAX;

impl PooledBuf {
    /// An empty result that holds no buffer (end of stream).
    pub(crate) fn empty(pool: &Arc<BufPool>) -> PooledBuf {
        PooledBuf {
            pool: pool.clone(),
            bid: NO_BUF,
            len: 0,
        }
    }
}

impl std::ops::Deref for PooledBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        if self.bid == NO_BUF {
            return &[];
        }
        // SAFETY: we own buffer `bid` (taken from its CQE, see `take`):
        // the kernel wrote its first `len` bytes and does not touch it
        // until we give it back.
        unsafe {
            std::slice::from_raw_parts(
                self.pool
                    .bufs
                    .as_ptr()
                    .add(usize::from(self.bid) * POOL_BUF_SIZE),
                self.len,
            )
        }
    }
}

impl fmt::Debug for PooledBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuf")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        if self.bid == NO_BUF {
            return;
        }
        self.pool.give_back(self.bid);
    }
}
