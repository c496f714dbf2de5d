//! Header views and representations for every protocol uplane parses.
//!
//! Every protocol module follows one shape, taken from smoltcp's `wire` module:
//!
//! * `XxxPacket<T: AsRef<[u8]>>` (or `XxxHeader`) is a zero-copy *view* over a byte buffer.
//!   A private `mod field` names the byte ranges of each field.
//!   - `new_unchecked(buf)` wraps without looking;
//!   - `check_len(&self) -> Result<()>` verifies that every fixed field and every length
//!     field the accessors follow lies inside the buffer;
//!   - `new_checked(buf)` is `new_unchecked` + `check_len`.
//!
//!   **Contract:** after `new_checked` succeeds, no accessor, setter or payload method panics,
//!   whatever the bytes are. Accessors on a view made with `new_unchecked` may panic.
//!   Setters exist when `T: AsMut<[u8]>`.
//! * `XxxRepr` is the parsed, owned meaning of a header: `parse(&view) -> Result<Repr>`
//!   rejects what is malformed beyond length (bad version, bad checksum when asked, ...),
//!   `buffer_len()` says how many bytes `emit` writes, and `emit(&mut view)` writes them.
//!   `parse(emit(repr)) == repr` for every valid repr: property tests check it.
//! * Each module has a `#[doc(hidden)] pub fn fuzz(data: &[u8])` that drives the checked
//!   constructor, every accessor, `Repr::parse` and the emit round trip. The cargo-fuzz
//!   targets in `fuzz/` and the corpus replay test in `tests/fuzz_corpus.rs` both call it.
//!
//! Nothing here allocates, and nothing here uses `unsafe`.

#![forbid(unsafe_code)]

pub mod checksum;

use core::fmt;

/// Why bytes could not be read as a header.
///
/// The variants are coarse on purpose: data-path nodes map them onto their own named error
/// counters (`Ip4InputError::BadChecksum`, ...), which carry the user-facing detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before the header (or a length field inside it) says it should.
    Truncated,
    /// A length, offset or count field holds a value the protocol does not allow
    /// (IPv4 IHL < 5, TCP data offset < 5, an option that overruns its header...).
    Malformed,
    /// A version field says this is not the protocol we were asked to parse.
    BadVersion,
    /// A checksum did not verify.
    BadChecksum,
    /// Well-formed, but uses a feature we do not handle (unknown ARP hardware type...).
    Unsupported,
    /// A chain (VLAN tags, IPv6 extension headers, options) is longer than we walk.
    TooLong,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated",
            Error::Malformed => "malformed",
            Error::BadVersion => "bad version",
            Error::BadChecksum => "bad checksum",
            Error::Unsupported => "unsupported",
            Error::TooLong => "chain too long",
        })
    }
}

impl std::error::Error for Error {}

/// Result of every parse in this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Half-open byte range of a field inside a header.
pub(crate) type Field = core::ops::Range<usize>;
/// A field that runs to the end of the buffer.
pub(crate) type Rest = core::ops::RangeFrom<usize>;

/// Big-endian field readers and writers shared by all views.
///
/// They take fixed-size arrays so the bounds checks happen once, in the caller's
/// `check_len`, and the reads compile to single loads.
#[inline]
pub(crate) fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
pub(crate) fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
pub(crate) fn write_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn write_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
