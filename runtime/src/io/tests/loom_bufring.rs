//! Loom model of the buffer ring's producer side (`bufring.rs`): buffers
//! given back from two threads at once while "the kernel" (the model's
//! main thread) takes entries as the tail shows them.
//!
//! Checked in every interleaving: the kernel never reads an entry while
//! it is written (loom's cell tracking), it sees each given-back buffer
//! exactly once with the address and length written for it, and no entry
//! is overwritten before the kernel took it.

use crate::io::bufring::{Producer, Slots};
use crate::loom::cell::UnsafeCell;
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicU16, Ordering};
use crate::loom::sync::Arc;
use loom::thread;

/// Two entries in loom cells, and the tail.
struct Model {
    entries: [UnsafeCell<(u64, u32, u16)>; 2],
    tail: AtomicU16,
}

impl Slots for Model {
    unsafe fn write(&self, idx: u16, addr: u64, len: u32, bid: u16) {
        // SAFETY: the caller's contract; loom checks it.
        self.entries[usize::from(idx)].with_mut(|e| unsafe { *e = (addr, len, bid) });
    }

    fn tail(&self) -> &AtomicU16 {
        &self.tail
    }
}

/// The kernel's side: the entry at `head`, once the tail covers it.
fn take(ring: &Producer<Model>, head: u16) -> (u64, u32, u16) {
    while ring
        .slots()
        .tail()
        .load(Ordering::Acquire)
        .wrapping_sub(head)
        == 0
    {
        thread::yield_now();
    }
    // SAFETY: published by the tail (Acquire above).
    ring.slots().entries[usize::from(head & 1)].with(|e| unsafe { *e })
}

#[test]
fn buffers_given_back_from_two_threads_reach_the_kernel_once_each() {
    model(|| {
        let ring = Arc::new(Producer::new(
            Model {
                entries: [UnsafeCell::new((0, 0, 0)), UnsafeCell::new((0, 0, 0))],
                tail: AtomicU16::new(0),
            },
            2,
        ));
        // The pool's start: both buffers in the ring; the kernel takes them.
        for bid in 0..2u16 {
            // SAFETY: each id once, two slots.
            unsafe { ring.push(0x1000 * u64::from(bid + 1), 64, bid) };
        }
        let first: Vec<u16> = (0..2).map(|h| take(&ring, h).2).collect();
        assert_eq!(first, [0, 1]);
        // Two consumers give their buffers back at once.
        let givers: Vec<_> = first
            .into_iter()
            .map(|bid| {
                let ring = ring.clone();
                thread::spawn(move || {
                    // SAFETY: the kernel handed `bid` out; given back once.
                    unsafe { ring.push(0x1000 * u64::from(bid + 1), 64, bid) }
                })
            })
            .collect();
        let mut again: Vec<(u64, u32, u16)> = (2..4).map(|h| take(&ring, h)).collect();
        for g in givers {
            g.join().unwrap();
        }
        again.sort();
        assert_eq!(again, [(0x1000, 64, 0), (0x2000, 64, 1)]);
    });
}
