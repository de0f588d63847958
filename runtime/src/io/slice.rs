//! `Slice<B>`: a view of part of an owned buffer, itself an owned buffer.
//!
//! Reads write from the start of the buffer they are given (see
//! `IoBufMut`); a view moves that start, so reading into the spare
//! capacity after the bytes a `Vec` holds is `buf.slice(buf.len()..)`, and
//! writing part of a buffer is `buf.slice(from..to)`. The view owns the
//! buffer and gives it back with `into_inner`.
//!
//! Called by users and by `aio-net` (streams, adapters); calls nothing.

use super::buf::{IoBuf, IoBufMut};
use std::fmt;
use std::ops::{Bound, Deref, RangeBounds};

/// A view of `begin..end` of an owned buffer: made by
/// [`IoBuf::slice`], given back whole by [`into_inner`](Slice::into_inner).
///
/// As a buffer, the view starts at `begin`: its capacity is
/// `end - begin`, its initialized part is the buffer's initialized bytes
/// that fall inside it, a read fills it from `begin`, and a write sends
/// its initialized part.
///
/// # Examples
///
/// ```
/// use aio::io::{IoBuf, Slice};
/// let v = b"hello world".to_vec();
/// let word: Slice<Vec<u8>> = v.slice(6..11);
/// assert_eq!(&word[..], b"world");
/// assert_eq!((word.begin(), word.end()), (6, 11));
/// assert_eq!(word.into_inner(), b"hello world");
/// ```
pub struct Slice<B> {
    buf: B,
    begin: usize,
    end: usize,
}

impl<B: IoBuf> Slice<B> {
    pub(crate) fn new(buf: B, range: impl RangeBounds<usize>) -> Slice<B> {
        let total = buf.bytes_total();
        let begin = match range.start_bound() {
            Bound::Included(&b) => b,
            Bound::Excluded(&b) => b.checked_add(1).expect("slice start overflows"),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e.checked_add(1).expect("slice end overflows"),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => total,
        };
        assert!(
            begin <= end,
            "slice range starts at {begin} but ends at {end}"
        );
        assert!(
            end <= total,
            "slice range ends at {end}, past the buffer's capacity of {total}"
        );
        // A read into the view marks the buffer initialized up to the end
        // of what it wrote: the bytes before `begin` must be initialized.
        assert!(
            begin <= buf.bytes_init(),
            "slice range starts at {begin}, past the buffer's {} initialized bytes (read \
             into `buf.slice(buf.len()..)` to append)",
            buf.bytes_init()
        );
        Slice { buf, begin, end }
    }

    /// Where the view starts in the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::io::IoBuf;
    /// assert_eq!(vec![0u8; 8].slice(3..).begin(), 3);
    /// ```
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Where the view ends in the buffer (exclusive).
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::io::IoBuf;
    /// assert_eq!(vec![0u8; 8].slice(..5).end(), 5);
    /// ```
    pub fn end(&self) -> usize {
        self.end
    }

    /// The whole buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::io::IoBuf;
    /// let s = b"abc".to_vec().slice(1..);
    /// assert_eq!(s.get_ref(), b"abc");
    /// ```
    pub fn get_ref(&self) -> &B {
        &self.buf
    }

    /// Gives the whole buffer back.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::io::IoBuf;
    /// assert_eq!(b"abc".to_vec().slice(1..2).into_inner(), b"abc");
    /// ```
    pub fn into_inner(self) -> B {
        self.buf
    }
}

impl<B: IoBuf> Deref for Slice<B> {
    type Target = [u8];

    /// The view's initialized bytes.
    fn deref(&self) -> &[u8] {
        let len = self.bytes_init();
        // SAFETY: `IoBuf` promises `bytes_init()` initialized bytes at
        // `stable_ptr()`; the view's are a sub-range of them (`begin` is
        // at most the buffer's initialized length, checked in `new`, and
        // the buffer cannot change while the view owns it).
        unsafe { std::slice::from_raw_parts(self.stable_ptr(), len) }
    }
}

impl<B: IoBuf> fmt::Debug for Slice<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slice")
            .field("begin", &self.begin)
            .field("end", &self.end)
            .field("init", &self.bytes_init())
            .finish()
    }
}

// SAFETY: the view points into the buffer it owns, at `begin` (within
// the allocation: `begin <= end <= bytes_total()`, checked in `new`); the
// buffer's own guarantees (stable address, no other owner) carry over,
// and the buffer is never handed out mutably while the view lives.
unsafe impl<B: IoBuf> IoBuf for Slice<B> {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: `begin <= bytes_total()`: inside the allocation (or one
        // past its end for an empty view at the end).
        unsafe { self.buf.stable_ptr().add(self.begin) }
    }
    fn bytes_init(&self) -> usize {
        self.buf
            .bytes_init()
            .min(self.end)
            .saturating_sub(self.begin)
    }
    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: as for IoBuf; `set_init(pos)` marks the buffer initialized up
// to `begin + pos <= end <= bytes_total()`, and the bytes before `begin`
// were already initialized (`new` checked it; nobody can shrink the
// buffer while the view owns it).
unsafe impl<B: IoBufMut> IoBufMut for Slice<B> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: as in `stable_ptr`.
        unsafe { self.buf.stable_mut_ptr().add(self.begin) }
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: the caller wrote the view's first `pos` bytes; the
        // buffer's bytes before `begin` are initialized (see above).
        unsafe { self.buf.set_init(self.begin + pos) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_reports_its_part_of_the_buffer() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abcdef");
        let s = v.slice(2..10);
        assert_eq!((s.bytes_init(), s.bytes_total()), (4, 8));
        assert_eq!(&s[..], b"cdef");
        let tail = s.into_inner().slice(6..);
        assert_eq!((tail.bytes_init(), tail.bytes_total()), (0, 10));
    }

    #[test]
    fn writing_into_a_view_grows_the_buffer_after_its_start() {
        let mut v = Vec::with_capacity(8);
        v.extend_from_slice(b"ab");
        let mut s = v.slice(2..);
        // SAFETY: writing 2 bytes within the view, then marking them.
        unsafe {
            s.stable_mut_ptr().copy_from(b"cd".as_ptr(), 2);
            s.set_init(2);
        }
        assert_eq!(&s[..], b"cd");
        assert_eq!(s.into_inner(), b"abcd");
    }

    #[test]
    #[should_panic(expected = "past the buffer's 2 initialized bytes")]
    fn a_view_cannot_start_after_uninitialized_bytes() {
        let mut v = Vec::with_capacity(8);
        v.extend_from_slice(b"ab");
        let _ = v.slice(4..);
    }

    #[test]
    #[should_panic(expected = "past the buffer's capacity")]
    fn a_view_cannot_end_past_the_capacity() {
        let _ = vec![0u8; 4].slice(..5);
    }
}
