//! Owned buffers for io_uring operations: `IoBuf` (the kernel reads from
//! it), `IoBufMut` (the kernel writes into it) and `BufResult`.
//!
//! An operation takes its buffer by value, keeps it in its heap record
//! while the kernel may touch it, and gives it back with the result, so a
//! dropped future can never leave the kernel writing into freed memory.
//! Called by the op files and by `aio-net`.

/// The result of an operation on an owned buffer: the outcome and the
/// buffer, given back in every case (also on error).
///
/// # Examples
///
/// ```
/// use aio::io::BufResult;
/// let r: BufResult<usize, Vec<u8>> = (Ok(3), b"abc".to_vec());
/// let (n, buf) = r;
/// assert_eq!(&buf[..n.unwrap()], b"abc");
/// ```
pub type BufResult<T, B> = (std::io::Result<T>, B);

/// A buffer the kernel may read from while an operation is in flight.
///
/// # Safety
///
/// Implementors promise, for as long as the value is neither moved,
/// dropped, nor accessed through `&mut`:
/// 1. `stable_ptr()` points to `bytes_init()` initialized bytes that stay
///    valid for reads, and every call returns the same pointer;
/// 2. `bytes_init() <= bytes_total()`, and `stable_ptr()` is valid for
///    `bytes_total()` bytes of the allocation;
/// 3. the memory is not freed or reused by anyone else (no interior
///    mutability, no shared ownership that another thread could mutate).
///
/// aio moves the buffer into a heap record before taking the pointer and
/// keeps it there, untouched, until the kernel's completion arrives.
///
/// A write sends the initialized bytes, `stable_ptr()..+bytes_init()`; to
/// send part of a buffer, pass a [`slice`](IoBuf::slice) of it.
///
/// # Examples
///
/// ```
/// use aio::io::IoBuf;
/// let v = b"hello".to_vec();
/// assert_eq!(v.bytes_init(), 5);
/// assert!(v.bytes_total() >= 5);
/// // A view of the last three bytes: a write of it sends "llo".
/// let tail = v.slice(2..);
/// assert_eq!(&tail[..], b"llo");
/// assert_eq!(tail.into_inner(), b"hello");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned buffer (`aio::io::IoBuf`)",
    label = "aio's socket methods take the buffer by value and give it back",
    note = "pass an owned buffer: `stream.write_all(payload).await.0?` (a `Vec<u8>`, `Box<[u8]>`, `&'static [u8]`, ...)",
    note = "for the `write_all(&[u8])` / `write(&[u8])` of futures' or tokio's AsyncWriteExt, which the inherent methods shadow, call them on `stream.compat()` (see `aio::net::Compat`)"
)]
pub unsafe trait IoBuf: Unpin + Send + 'static {
    /// The start of the buffer.
    fn stable_ptr(&self) -> *const u8;
    /// How many bytes are initialized (what a write sends).
    fn bytes_init(&self) -> usize;
    /// The capacity of the allocation.
    fn bytes_total(&self) -> usize;

    /// A view of `range` of this buffer (of its whole capacity, not only
    /// the initialized part), which is itself a buffer: a write sends the
    /// view's initialized bytes, a read fills the view from its start.
    /// `into_inner` gives the whole buffer back.
    ///
    /// The usual use is reading into the spare capacity of a `Vec`, after
    /// the bytes it already holds: `buf.slice(buf.len()..)`.
    ///
    /// # Panics
    /// If the range is decreasing, ends past `bytes_total()`, or starts
    /// past `bytes_init()` (a read into the view would leave a gap of
    /// uninitialized bytes before it).
    ///
    /// # Examples
    ///
    /// ```
    /// # aio::run(async {
    /// use aio::io::IoBuf;
    /// let (a, b) = aio::net::UnixStream::pair()?;
    /// a.write_all(b"world".to_vec()).await.0?;
    /// let mut buf = Vec::with_capacity(64);
    /// buf.extend_from_slice(b"hello ");
    /// // Append what arrives to what the buffer already holds.
    /// let at = buf.len();
    /// let (n, view) = b.read(buf.slice(at..)).await;
    /// let buf = view.into_inner();
    /// assert_eq!(n?, 5);
    /// assert_eq!(buf, b"hello world");
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    fn slice(self, range: impl std::ops::RangeBounds<usize>) -> super::Slice<Self>
    where
        Self: Sized,
    {
        super::Slice::new(self, range)
    }
}

/// A buffer the kernel may write into while an operation is in flight.
///
/// # The read contract
///
/// A read (`read`, `recv`, `recv_from`, …) writes from the **start** of
/// the buffer, `stable_mut_ptr()`, up to `bytes_total()` bytes (clamped to
/// what the kernel takes in one call, [`MAX_RW_COUNT`](super::MAX_RW_COUNT)),
/// then calls `set_init(n)`: the result `n` says how many bytes arrived,
/// and `&buf[..n]` holds them, whatever the buffer held before. This is
/// tokio-uring's and monoio's contract, so `vec![0; 4096]`,
/// `Vec::with_capacity(4096)`, `[0u8; 4096]` and `Box<[u8]>` all work.
/// To keep what a buffer holds and read after it, pass a slice view:
/// `buf.slice(buf.len()..)` (see [`IoBuf::slice`]).
///
/// `Ok(0)` means end-of-stream (the peer shut down its side), or that the
/// buffer has no room at all (a zero-length buffer or view).
///
/// # Safety
///
/// Everything `IoBuf` promises, and: `stable_mut_ptr()` returns the same
/// address as `stable_ptr()`, valid for writes of `bytes_total()` bytes,
/// and `set_init(n)` with `n <= bytes_total()`, called after the first `n`
/// bytes were written, makes at least the first `n` bytes the initialized
/// part (a `Vec` grows its length to `n` if shorter; it never shrinks).
///
/// # Examples
///
/// ```
/// use aio::io::{IoBuf, IoBufMut};
/// let mut v = Vec::with_capacity(16);
/// // A read writes from `stable_mut_ptr()`, up to `bytes_total()`
/// // bytes, then `set_init` records how many were written.
/// assert_eq!(v.bytes_total(), 16);
/// unsafe { v.stable_mut_ptr().write(b'x'); v.set_init(1) };
/// assert_eq!(v, b"x");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an owned buffer aio can read into (`aio::io::IoBufMut`)",
    label = "aio's socket methods take the buffer by value and give it back",
    note = "pass an owned buffer: `let (n, buf) = stream.read(Vec::with_capacity(4096)).await;`",
    note = "for the `read(&mut [u8])` / `read_to_end` of futures' or tokio's AsyncReadExt, which the inherent methods shadow, call them on `stream.compat()` (see `aio::net::Compat`)"
)]
pub unsafe trait IoBufMut: IoBuf {
    /// The start of the buffer, for writing.
    fn stable_mut_ptr(&mut self) -> *mut u8;
    /// Marks the first `pos` bytes initialized (at least; a longer
    /// initialized part stays).
    ///
    /// # Safety
    /// `pos <= bytes_total()` and the first `pos` bytes are initialized
    /// (written by the kernel, or before).
    unsafe fn set_init(&mut self, pos: usize);
}

// SAFETY: a Vec's heap allocation does not move when the Vec is moved, and
// only the Vec's owner can reach it; `len`/`capacity` are its init/total.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: as for IoBuf; `as_mut_ptr` is the same address as `as_ptr`.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if pos > self.len() {
            // SAFETY: the caller wrote the bytes up to `pos <= capacity`.
            unsafe { self.set_len(pos) }
        }
    }
}

// SAFETY: a boxed slice is a fixed heap allocation owned by the box; it is
// fully initialized.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: as above; every byte is always initialized, so set_init has
// nothing to record.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}

// SAFETY: an array is its own storage: valid while not moved, which the
// trait's contract requires (aio keeps it in place inside the op record).
unsafe impl<const N: usize> IoBuf for [u8; N] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        N
    }
    fn bytes_total(&self) -> usize {
        N
    }
}

// SAFETY: as above; arrays are always fully initialized.
unsafe impl<const N: usize> IoBufMut for [u8; N] {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}

// SAFETY: static data never moves nor is freed, and is immutable.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: as for `&'static [u8]`.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: a String's heap allocation behaves as a Vec<u8>'s.
unsafe impl IoBuf for String {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_set_init_grows_never_shrinks() {
        let mut v = Vec::with_capacity(8);
        v.push(1u8);
        // SAFETY: nothing written beyond len; pos 0 < len leaves it alone.
        unsafe { v.set_init(0) };
        assert_eq!(v.len(), 1);
        // SAFETY: write two bytes then mark them.
        unsafe {
            v.stable_mut_ptr().add(1).write(2);
            v.set_init(2);
        }
        assert_eq!(v, [1, 2]);
    }

    #[test]
    fn arrays_and_boxes_are_fully_initialized() {
        let a = [0u8; 4];
        assert_eq!((a.bytes_init(), a.bytes_total()), (4, 4));
        let b: Box<[u8]> = vec![7; 3].into_boxed_slice();
        assert_eq!((b.bytes_init(), b.bytes_total()), (3, 3));
        let s: &'static str = "hey";
        assert_eq!(s.bytes_init(), 3);
    }
}
