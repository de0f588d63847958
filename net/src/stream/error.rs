//! The errors of [`StreamReader`](super::StreamReader)'s framed reads:
//! asyncio's `IncompleteReadError` and `LimitOverrunError`, plus the I/O
//! error of the socket underneath, in one [`ReadError`].
//!
//! Called by `reader.rs`, which builds them, and by users, who inspect them.
//! Depends on `std` only.

use std::error::Error;
use std::fmt;
use std::io;

/// The stream ended before a framed read was complete: asyncio's
/// `IncompleteReadError`.
///
/// [`StreamReader::readexactly`](super::StreamReader::readexactly) returns
/// it with `expected: Some(n)`, and
/// [`StreamReader::readuntil`](super::StreamReader::readuntil) with
/// `expected: None`. In both cases `partial` holds every byte that was
/// buffered when the end of stream was seen; those bytes have been consumed
/// from the reader, so this error is the only place they still exist.
///
/// # Examples
///
/// ```
/// use aio::net::IncompleteReadError;
///
/// let e = IncompleteReadError { partial: vec![0; 18], expected: Some(36) };
/// assert_eq!(e.to_string(), "18 bytes read on a total of 36 expected bytes");
/// let e = IncompleteReadError { partial: vec![0; 18], expected: None };
/// assert_eq!(e.to_string(), "18 bytes read on a total of undefined expected bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of stream (possibly none).
    pub partial: Vec<u8>,
    /// How many bytes were wanted, or `None` when the read was looking for a
    /// separator rather than a length.
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes read on a total of ", self.partial.len())?;
        match self.expected {
            Some(n) => write!(f, "{n} expected bytes"),
            None => f.write_str("undefined expected bytes"),
        }
    }
}

impl Error for IncompleteReadError {}

/// Why a framed read of a [`StreamReader`](super::StreamReader) failed.
///
/// Converts into [`io::Error`] (so `?` works in functions returning
/// `io::Result`): `Incomplete` becomes [`io::ErrorKind::UnexpectedEof`],
/// `LimitOverrun` becomes [`io::ErrorKind::InvalidData`], and `Io` is
/// unwrapped.
///
/// # Examples
///
/// ```
/// # aio::run(async {
/// use aio::net::{ReadError, StreamReader};
///
/// let mut r = StreamReader::new(64 * 1024);
/// r.feed_data(b"abc");
/// r.feed_eof();
/// match r.readexactly(5).await {
///     Err(ReadError::Incomplete(e)) => {
///         assert_eq!(e.partial, b"abc");
///         assert_eq!(e.expected, Some(5));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # });
/// ```
#[derive(Debug)]
pub enum ReadError {
    /// The stream ended first; see [`IncompleteReadError`].
    Incomplete(IncompleteReadError),
    /// The separator was not found within the reader's limit: asyncio's
    /// `LimitOverrunError`. The data stays buffered in the reader, so it can
    /// still be read another way (for example with `read`).
    LimitOverrun {
        /// How many buffered bytes were examined (asyncio's `consumed`):
        /// the separator's offset if it was found past the limit, otherwise
        /// the length searched without finding it.
        consumed: usize,
    },
    /// The underlying socket failed.
    Io(io::Error),
}

impl ReadError {
    /// Whether the stream ended before the read was complete.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::net::{IncompleteReadError, ReadError};
    ///
    /// let e = ReadError::Incomplete(IncompleteReadError { partial: vec![], expected: None });
    /// assert!(e.is_incomplete());
    /// assert!(!e.is_limit_overrun());
    /// ```
    pub fn is_incomplete(&self) -> bool {
        matches!(self, ReadError::Incomplete(_))
    }

    /// Whether the separator was not found within the reader's limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::net::ReadError;
    ///
    /// assert!(ReadError::LimitOverrun { consumed: 10 }.is_limit_overrun());
    /// ```
    pub fn is_limit_overrun(&self) -> bool {
        matches!(self, ReadError::LimitOverrun { .. })
    }

    /// The bytes read before the end of stream, if this is `Incomplete`.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::net::{IncompleteReadError, ReadError};
    ///
    /// let e = ReadError::Incomplete(IncompleteReadError { partial: b"ab".to_vec(), expected: Some(4) });
    /// assert_eq!(e.partial(), Some(&b"ab"[..]));
    /// assert_eq!(ReadError::LimitOverrun { consumed: 1 }.partial(), None);
    /// ```
    pub fn partial(&self) -> Option<&[u8]> {
        match self {
            ReadError::Incomplete(e) => Some(&e.partial),
            _ => None,
        }
    }

    /// Takes the bytes read before the end of stream, if this is
    /// `Incomplete`.
    ///
    /// # Examples
    ///
    /// ```
    /// use aio::net::{IncompleteReadError, ReadError};
    ///
    /// let e = ReadError::Incomplete(IncompleteReadError { partial: b"ab".to_vec(), expected: None });
    /// assert_eq!(e.into_partial(), Some(b"ab".to_vec()));
    /// ```
    pub fn into_partial(self) -> Option<Vec<u8>> {
        match self {
            ReadError::Incomplete(e) => Some(e.partial),
            _ => None,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Incomplete(e) => fmt::Display::fmt(e, f),
            ReadError::LimitOverrun { consumed } => write!(
                f,
                "separator not found within the limit (consumed {consumed} bytes)"
            ),
            ReadError::Io(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl Error for ReadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadError::Incomplete(_) | ReadError::LimitOverrun { .. } => None,
            ReadError::Io(e) => Some(e),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

impl From<IncompleteReadError> for ReadError {
    fn from(e: IncompleteReadError) -> ReadError {
        ReadError::Incomplete(e)
    }
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> io::Error {
        match e {
            ReadError::Incomplete(e) => io::Error::new(io::ErrorKind::UnexpectedEof, e),
            ReadError::LimitOverrun { .. } => io::Error::new(io::ErrorKind::InvalidData, e),
            ReadError::Io(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_display_matches_asyncio() {
        let e = IncompleteReadError {
            partial: vec![7; 18],
            expected: Some(36),
        };
        assert_eq!(
            e.to_string(),
            "18 bytes read on a total of 36 expected bytes"
        );
        let e = IncompleteReadError {
            partial: vec![7; 18],
            expected: None,
        };
        assert_eq!(
            e.to_string(),
            "18 bytes read on a total of undefined expected bytes"
        );
        assert_eq!(ReadError::Incomplete(e.clone()).to_string(), e.to_string());
    }

    #[test]
    fn predicates_and_partial() {
        let inc = ReadError::Incomplete(IncompleteReadError {
            partial: b"xy".to_vec(),
            expected: Some(3),
        });
        assert!(inc.is_incomplete() && !inc.is_limit_overrun());
        assert_eq!(inc.partial(), Some(&b"xy"[..]));
        assert_eq!(inc.into_partial(), Some(b"xy".to_vec()));

        let over = ReadError::LimitOverrun { consumed: 9 };
        assert!(over.is_limit_overrun() && !over.is_incomplete());
        assert_eq!(over.partial(), None);
        assert!(over.to_string().contains("consumed 9 bytes"));
        assert!(over.source().is_none());

        let io = ReadError::from(io::Error::other("boom"));
        assert!(!io.is_incomplete() && !io.is_limit_overrun());
        assert_eq!(io.to_string(), "boom");
        assert!(io.source().is_some());
        assert_eq!(io.into_partial(), None);
    }

    #[test]
    fn into_io_error_kinds() {
        let inc: io::Error = ReadError::Incomplete(IncompleteReadError {
            partial: vec![],
            expected: Some(1),
        })
        .into();
        assert_eq!(inc.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            inc.to_string(),
            "0 bytes read on a total of 1 expected bytes"
        );

        let over: io::Error = ReadError::LimitOverrun { consumed: 4 }.into();
        assert_eq!(over.kind(), io::ErrorKind::InvalidData);

        let orig = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let back: io::Error = ReadError::Io(orig).into();
        assert_eq!(back.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(back.to_string(), "reset");
    }
}
