//! Capture files: read pcap and pcapng, write pcap, and turn any supported link type into
//! Ethernet II frames for replay into an Ethernet graph.
//!
//! # Reading
//! [`PcapReader`] reads classic pcap (microsecond and nanosecond magic, both byte orders)
//! and pcapng (SHB, IDB, EPB, SPB and the obsolete PB; several sections and interfaces,
//! each interface with its own link type, `if_tsresol` and `if_tsoffset`; both byte
//! orders). The format is detected from the first four bytes. Every packet comes out as a
//! [`Record`]: timestamp in nanoseconds since the epoch, original length, link type,
//! interface and the captured bytes.
//!
//! [`PcapReader::next_into`] copies each packet into a buffer the caller owns (a replay loop
//! can hand it the packet buffer itself), so reading allocates nothing per packet.
//! [`PcapReader::next_record`] does the same into one buffer the reader owns.
//!
//! # Untrusted files
//! A corrupt file gives a [`ReadError`] that says where (file header, or record index and
//! byte offset, or the non-packet block before a record) and what was wrong
//! ([`ReadErrorKind`]); it never panics. No allocation is sized by a length read from the
//! file beyond a fixed cap: captured lengths above [`MAX_CAPTURE_LEN`] (256 KiB, libpcap's
//! own limit) are rejected, SHB/IDB bodies above [`MAX_HEADER_BLOCK_LEN`] too, and blocks the
//! reader does not use are skipped without being stored.
//!
//! # Why not all of `pcap-file`
//! The classic pcap header is parsed by `pcap-file` and the writer is `pcap-file`'s. Its
//! pcapng reader is not used: it ignores `if_tsresol` (every EPB timestamp is taken as
//! nanoseconds), allocates a `Vec` of options for every packet, rejects non-UTF-8 comments,
//! reports errors without a position, and its `Read`-based readers allocate an 8 MB buffer
//! up front. The pcap record header (16 bytes) and the pcapng block framing are parsed here.
//!
//! # Writing
//! [`PcapWriter`] writes classic pcap (Ethernet by default, microsecond or nanosecond) into
//! any `Write`, one record per call, without allocating.
//!
//! # The pcap device
//! [`PcapDevice`] ([`device`]) is an interface whose rx replays a capture and whose tx
//! writes a pcap, with the nodes `pcap-input` and `pcap-output`.
//!
//! # Link types
//! [`LinkType`] names the link types uplane can replay, and [`normalize_to_ethernet`] turns
//! a record of any of them into an Ethernet II frame ([`Normalized`]).

pub mod device;
mod error;
mod input;
mod linktype;
mod pcapng;
mod reader;
mod writer;

pub use device::{PcapDevice, PcapDeviceConfig, PcapDeviceError, PCAP_INPUT, PCAP_OUTPUT};
pub use error::{At, NormalizeError, ReadError, ReadErrorKind, WriteError};
pub use linktype::{normalize_to_ethernet, LinkType, MacPair, Normalized, ETHERNET_HEADER_LEN};
pub use reader::{Format, PcapReader};
pub use writer::PcapWriter;

/// The largest captured length accepted for one packet (libpcap's `MAXIMUM_SNAPLEN`).
pub const MAX_CAPTURE_LEN: usize = 256 * 1024;

/// The largest pcapng section header or interface description block body that is read
/// into memory (they hold only a few fixed fields and options).
pub const MAX_HEADER_BLOCK_LEN: usize = 64 * 1024;

/// Timestamp resolution of a classic pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsResolution {
    /// Magic `0xa1b2c3d4`: the fraction field counts microseconds.
    Micro,
    /// Magic `0xa1b23c4d`: the fraction field counts nanoseconds.
    Nano,
}

/// One captured packet.
///
/// `data` borrows the buffer the reader copied the packet into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Capture time in nanoseconds since the Unix epoch. A pcapng Simple Packet Block has
    /// no timestamp: it repeats the previous record's (0 if there is none).
    pub timestamp_ns: u64,
    /// Length of the packet on the wire; may exceed `data.len()` when the capture was cut
    /// at the snap length.
    pub original_len: u32,
    /// Link type of the interface the packet was captured on.
    pub link_type: LinkType,
    /// pcapng interface id within its section (always 0 for classic pcap).
    pub interface: u32,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
}

impl<'a> Record<'a> {
    /// This record as an Ethernet II frame; see [`normalize_to_ethernet`].
    ///
    /// # Errors
    /// When the link type is unknown or the link header is malformed.
    pub fn to_ethernet(&self, macs: &MacPair) -> Result<Normalized<'a>, NormalizeError> {
        normalize_to_ethernet(self.link_type, self.data, macs)
    }
}

/// Fuzz entry point: reads `data` as a capture file, normalizes every record, writes every
/// Ethernet record to a pcap in memory and checks that it reads back equal. Must never
/// panic; every error must be a [`ReadError`] or [`NormalizeError`].
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    fuzz_impl::run(data);
}

mod fuzz_impl;
