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
//! Nothing here allocates, and our code here uses no `unsafe`: the checksum's choice of
//! AVX-512, AVX2 or baseline code at run time comes from the `multiversion` crate, whose
//! generated dispatcher (a cached function pointer) is the only `unsafe` in the crate.

#![forbid(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod ethernet;
#[doc(hidden)]
pub mod fuzz_input;
pub mod gre;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod ndisc;
pub mod pseudo;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

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

macro_rules! enum_with_unknown {
    (
        $(#[$meta:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate has no name for.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            #[inline]
            fn from(v: $ty) -> Self {
                match v {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            #[inline]
            fn from(v: $name) -> Self {
                match v {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}
pub(crate) use enum_with_unknown;

enum_with_unknown! {
    /// The EtherType of an Ethernet II frame, VLAN tag or GRE header.
    pub enum EtherType(u16) {
        Ipv4 = 0x0800,
        Arp = 0x0806,
        /// 802.1Q customer VLAN tag (C-tag).
        Vlan = 0x8100,
        /// 802.1ad service VLAN tag (S-tag, QinQ outer).
        QinQ = 0x88a8,
        Ipv6 = 0x86dd,
        /// Transparent Ethernet bridging (Ethernet inside GRE).
        TransparentEthernet = 0x6558,
    }
}

enum_with_unknown! {
    /// The IPv4 protocol / IPv6 next-header number.
    pub enum IpProtocol(u8) {
        /// IPv6 hop-by-hop options.
        HopByHop = 0,
        Icmp = 1,
        Tcp = 6,
        Udp = 17,
        /// IPv6 routing header.
        Ipv6Route = 43,
        /// IPv6 fragment header.
        Ipv6Frag = 44,
        Gre = 47,
        Icmpv6 = 58,
        /// IPv6 "no next header".
        Ipv6NoNxt = 59,
        /// IPv6 destination options.
        Ipv6Opts = 60,
    }
}
