//! Provided buffers: a ring's pool for multishot receives.
//!
//! A multishot receive (`IORING_RECV_MULTISHOT`) stays armed on its socket
//! and takes a buffer from a pool the ring was given for each message, so
//! a connection costs one SQE for its life instead of one per read (and no
//! poll is armed again after each read). The pool is a *buffer ring*
//! (`IORING_REGISTER_PBUF_RING`, Linux 5.19): an array of entries (address,
//! length, id) with a tail that we advance and a head that the kernel
//! keeps. The kernel takes the entry at its head when a receive needs a
//! buffer, and names the buffer's id in the CQE (`IORING_CQE_F_BUFFER`);
//! the buffer is then ours until we give it back at the tail.
//!
//! # The protocol (model-checked in `tests/loom_bufring.rs`)
//!
//! Giving back is the producer's side: write the entry at `tail & mask`,
//! then store `tail + 1` with `Release`; the kernel loads the tail with
//! `Acquire` before it reads an entry. Buffers are given back from any
//! thread (a [`RecvBuf`] is dropped where its task runs), so producers take
//! a mutex around the two steps. The slot written is never one the kernel
//! may still read: at most `mask + 1` buffers exist and each id is given
//! back once per CQE that handed it out, so the entries between the
//! kernel's head and our tail never exceed the ring.
//!
//! # Lifetime
//!
//! The pool (its entries and buffers, both `mmap`ed) is an `Arc` held by
//! the ring's driver, by each armed receive (its late CQEs give buffers
//! back) and by each [`RecvBuf`]. The kernel writes a buffer only while a
//! receive it took it for runs, so once the driver's drain has seen every
//! op end, no write can come; a driver that gives up waiting leaks its
//! reference (as it leaks the records).
//!
//! Called by `opcodes/recv.rs` (`RecvMulti`) and the io_uring driver (which
//! creates and registers one pool per ring, on first use).

use crate::loom::sync::atomic::{AtomicU16, Ordering};
use crate::loom::sync::Mutex;

/// Where a buffer ring's entries live: how one is written, and the tail
/// the kernel reads.
pub(crate) trait Slots {
    /// Writes entry `idx` (`addr`, `len`, `bid`; never the field that
    /// overlays the tail in entry 0).
    ///
    /// # Safety
    /// The kernel does not read entry `idx` now: it is not between its
    /// head and the published tail.
    unsafe fn write(&self, idx: u16, addr: u64, len: u32, bid: u16);
    /// The tail the kernel reads.
    fn tail(&self) -> &AtomicU16;
}

/// The producer's side of a buffer ring.
pub(crate) struct Producer<S> {
    slots: S,
    /// Our copy of the tail; the lock makes the write and the publish one
    /// step for concurrent producers.
    tail: Mutex<u16>,
    mask: u16,
}

impl<S: Slots> Producer<S> {
    /// A producer for a ring of `entries` (a power of two) slots.
    pub(crate) fn new(slots: S, entries: u16) -> Producer<S> {
        debug_assert!(entries.is_power_of_two());
        Producer {
            slots,
            tail: Mutex::new(0),
            mask: entries - 1,
        }
    }

    /// Puts a buffer in the ring for the kernel to take.
    ///
    /// # Safety
    /// At most `entries` buffers are in the ring or out of it at once: a
    /// buffer id is pushed once at start, then once per time the kernel
    /// handed it out.
    pub(crate) unsafe fn push(&self, addr: u64, len: u32, bid: u16) {
        let mut tail = self.tail.lock();
        // SAFETY: with at most `entries` buffers, the kernel's head is
        // past this slot's last use (the caller's contract).
        unsafe { self.slots.write(*tail & self.mask, addr, len, bid) };
        *tail = tail.wrapping_add(1);
        self.slots.tail().store(*tail, Ordering::Release);
    }

    pub(crate) fn slots(&self) -> &S {
        &self.slots
    }
}

#[cfg(not(loom))]
pub use real::RecvBuf;
#[cfg(not(loom))]
pub(crate) use real::{BufPool, POOL_BUFS, POOL_GROUP};

#[cfg(not(loom))]
mod real {
    use super::{Producer, Slots};
    use crate::loom::sync::atomic::AtomicU16;
    use crate::loom::sync::Arc;
    use std::fmt;
    use std::io;
    use std::ops::Deref;
    use std::ptr::NonNull;

    /// Buffers in a ring's pool (a power of two; see
    /// [`RECV_POOL_BUFS`](crate::io::ops::RECV_POOL_BUFS)).
    pub(crate) const POOL_BUFS: u16 = 64;
    /// Bytes per buffer: a request, a reply, a line; bulk data comes in
    /// as many buffers (a receive takes at most one).
    pub(crate) const POOL_BUF_SIZE: u32 = 4096;
    /// The buffer group every ring registers its pool as (groups are per
    /// ring).
    pub(crate) const POOL_GROUP: u16 = 0;

    /// An anonymous private mapping, unmapped on drop.
    struct Mapping {
        ptr: NonNull<u8>,
        len: usize,
    }

    impl Mapping {
        fn new(len: usize) -> io::Result<Mapping> {
            // SAFETY: a fresh anonymous mapping; no existing memory is named.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            Ok(Mapping {
                ptr: NonNull::new(p.cast()).expect("mmap returned null"),
                len,
            })
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: our own mapping, unmapped once; nothing refers to it
            // any more (its owner, the pool, is being dropped).
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        }
    }

    /// The ring's entries in a page-aligned mapping (`struct
    /// io_uring_buf`, 16 bytes each; the tail overlays entry 0's last two
    /// bytes).
    struct Entries(Mapping);

    impl Slots for Entries {
        unsafe fn write(&self, idx: u16, addr: u64, len: u32, bid: u16) {
            // SAFETY: `idx` is below the entry count the mapping was sized
            // for; the fields are written one by one so that entry 0's
            // tail is left alone; the kernel does not read this entry now
            // (the caller's contract).
            unsafe {
                let e = self.0.ptr.as_ptr().add(usize::from(idx) * 16);
                e.cast::<u64>().write(addr);
                e.add(8).cast::<u32>().write(len);
                e.add(12).cast::<u16>().write(bid);
            }
        }

        fn tail(&self) -> &AtomicU16 {
            // SAFETY: offset 14 of the page-aligned mapping is 2-aligned
            // and lives as long as `self`; only atomics touch it (ours and
            // the kernel's `smp_load_acquire`).
            unsafe { AtomicU16::from_ptr(self.0.ptr.as_ptr().add(14).cast()) }
        }
    }

    /// A ring's pool of provided buffers (see the module docs).
    pub(crate) struct BufPool {
        ring: Producer<Entries>,
        bufs: Mapping,
    }

    // SAFETY: the mappings are reached through the producer's mutex
    // (entries) or by the one owner of a buffer id (buffers).
    unsafe impl Send for BufPool {}
    // SAFETY: as for Send.
    unsafe impl Sync for BufPool {}

    impl fmt::Debug for BufPool {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("BufPool")
                .field("bufs", &POOL_BUFS)
                .field("size", &POOL_BUF_SIZE)
                .finish()
        }
    }

    impl BufPool {
        /// A pool with every buffer in its ring, not registered yet.
        pub(crate) fn new() -> io::Result<Arc<BufPool>> {
            let entries = Mapping::new(usize::from(POOL_BUFS) * 16)?;
            let bufs = Mapping::new(usize::from(POOL_BUFS) * POOL_BUF_SIZE as usize)?;
            let pool = BufPool {
                ring: Producer::new(Entries(entries), POOL_BUFS),
                bufs,
            };
            for bid in 0..POOL_BUFS {
                // SAFETY: each id once, nothing handed out yet.
                unsafe { pool.ring.push(pool.addr(bid), POOL_BUF_SIZE, bid) };
            }
            Ok(Arc::new(pool))
        }

        /// The address to register (`io_uring_buf_reg.ring_addr`).
        pub(crate) fn ring_addr(&self) -> u64 {
            self.ring.slots().0.ptr.as_ptr() as u64
        }

        fn addr(&self, bid: u16) -> u64 {
            self.bufs.ptr.as_ptr() as u64 + u64::from(bid) * u64::from(POOL_BUF_SIZE)
        }

        /// Gives buffer `bid` back to the kernel.
        ///
        /// # Safety
        /// The kernel handed `bid` out (a CQE named it) and nobody else
        /// gives it back for that CQE.
        pub(crate) unsafe fn give_back(&self, bid: u16) {
            // SAFETY: forwarded: one push per hand-out keeps the count.
            unsafe { self.ring.push(self.addr(bid), POOL_BUF_SIZE, bid) };
        }
    }

    /// The bytes the kernel received into one of a pool's buffers; the
    /// buffer goes back to the pool when this is dropped.
    pub struct RecvBuf {
        pool: Arc<BufPool>,
        bid: u16,
        len: u32,
    }

    impl RecvBuf {
        /// # Safety
        /// A CQE handed `bid` out with `len` bytes (≤ the buffer size), and
        /// this is the only `RecvBuf` (or release) made for it.
        pub(crate) unsafe fn new(pool: Arc<BufPool>, bid: u16, len: u32) -> RecvBuf {
            debug_assert!(bid < POOL_BUFS && len <= POOL_BUF_SIZE);
            RecvBuf { pool, bid, len }
        }
    }

    impl Deref for RecvBuf {
        type Target = [u8];

        fn deref(&self) -> &[u8] {
            // SAFETY: the kernel wrote `len` bytes there and will not touch
            // the buffer until it is given back (our drop); the mapping
            // lives as long as the pool we hold.
            unsafe {
                std::slice::from_raw_parts(self.pool.addr(self.bid) as *const u8, self.len as usize)
            }
        }
    }

    impl Drop for RecvBuf {
        fn drop(&mut self) {
            // SAFETY: ours, given back once.
            unsafe { self.pool.give_back(self.bid) };
        }
    }

    impl fmt::Debug for RecvBuf {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RecvBuf")
                .field("bid", &self.bid)
                .field("len", &self.len)
                .finish()
        }
    }
}
