//! The typed errors of the pcap module: one per operation (read, normalize, write).

use std::fmt;
use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::LinkType;

/// Where in a capture file a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// Opening the file.
    Open {
        /// The path given to [`PcapReader::open`](super::PcapReader::open).
        path: PathBuf,
    },
    /// The file header: the pcap global header, or the first pcapng section header block.
    FileHeader,
    /// A packet record (pcap record, or pcapng EPB/SPB/PB).
    Record {
        /// Zero-based index of the packet among the packets of the file.
        index: u64,
        /// Byte offset of the record header (pcapng: of the block) in the file.
        offset: u64,
    },
    /// A pcapng block that is not a packet (section header, interface description, ...),
    /// met before packet `before_record`.
    Block {
        /// The block type (`0x0a0d0d0a` SHB, `1` IDB, ...).
        block_type: u32,
        /// Byte offset of the block in the file.
        offset: u64,
        /// Index of the next packet record.
        before_record: u64,
    },
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Open { path } => write!(f, "opening {}", path.display()),
            At::FileHeader => write!(f, "file header"),
            At::Record { index, offset } => write!(f, "record {index} at byte {offset}"),
            At::Block { block_type, offset, before_record } => write!(
                f,
                "pcapng block type {block_type:#010x} at byte {offset} (before record {before_record})"
            ),
        }
    }
}

/// What was wrong with a capture file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The underlying reader failed.
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
    /// The file ends inside a header, a record or a block.
    #[error("file ends inside the {what}: needed {needed} bytes, got {got}")]
    Truncated {
        /// The part that was being read.
        what: &'static str,
        /// Bytes it needed.
        needed: u64,
        /// Bytes that were left.
        got: u64,
    },
    /// The first four bytes are neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng file: magic {0:#010x}")]
    UnknownMagic(u32),
    /// The pcap or pcapng version is not one this reader knows.
    #[error("unsupported format version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// A captured length is larger than [`MAX_CAPTURE_LEN`](super::MAX_CAPTURE_LEN).
    #[error("captured length {len} is larger than the cap of {max} bytes")]
    CaptureTooLarge {
        /// The captured length in the file.
        len: u32,
        /// The cap.
        max: u32,
    },
    /// The caller's buffer cannot hold the packet. The reader is left before the packet:
    /// call again with a buffer of at least `len` bytes.
    #[error("packet of {len} bytes does not fit the {buffer}-byte buffer")]
    BufferTooSmall {
        /// The captured length.
        len: usize,
        /// The buffer's length.
        buffer: usize,
    },
    /// A pcapng block total length that is below 12, not a multiple of 4, or below the
    /// fixed fields of its block type.
    #[error("bad block length {len} (needs a multiple of 4, at least {min})")]
    BadBlockLength {
        /// The block total length.
        len: u32,
        /// The least this block type allows.
        min: u32,
    },
    /// A pcapng block larger than the reader accepts.
    #[error("block length {len} is larger than the cap of {max} bytes")]
    BlockTooLarge {
        /// The block total length.
        len: u32,
        /// The cap.
        max: u32,
    },
    /// The length at the end of a pcapng block differs from the one at its start.
    #[error("block length {header} at the start but {trailer} at the end")]
    TrailerMismatch {
        /// Length at the start of the block.
        header: u32,
        /// Length at the end.
        trailer: u32,
    },
    /// A packet block's captured length runs past the end of the block.
    #[error("captured length {len} runs past the block body ({room} bytes left)")]
    CaptureOverrunsBlock {
        /// The captured length.
        len: u32,
        /// Room left in the block for the data.
        room: u32,
    },
    /// A pcapng packet names an interface that its section has not described.
    #[error("interface {id} is not described (the section has {count} interfaces)")]
    UnknownInterface {
        /// The interface id in the packet.
        id: u32,
        /// Interfaces described so far in the section.
        count: usize,
    },
    /// More interface description blocks in one section than the reader keeps.
    #[error("more than {max} interfaces in one section")]
    TooManyInterfaces {
        /// The cap.
        max: usize,
    },
    /// A section header block's byte-order magic is wrong.
    #[error("section header byte-order magic {0:#010x} is neither 0x1a2b3c4d nor 0x4d3c2b1a")]
    BadByteOrderMagic(u32),
    /// A pcapng option is malformed.
    #[error("option {code} (length {len}): {reason}")]
    BadOption {
        /// Option code.
        code: u16,
        /// Option length.
        len: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A timestamp does not fit 64-bit nanoseconds since the epoch.
    #[error("timestamp {raw} does not fit u64 nanoseconds since 1970")]
    TimestampOverflow {
        /// The raw timestamp in the interface's units.
        raw: u64,
    },
}

/// A capture file could not be read: where, and what was wrong.
#[derive(Debug, Error)]
#[error("{at}: {kind}")]
pub struct ReadError {
    /// Where in the file.
    pub at: At,
    /// What was wrong.
    pub kind: ReadErrorKind,
}

impl ReadError {
    pub(super) fn new(at: At, kind: ReadErrorKind) -> Self {
        ReadError { at, kind }
    }

    /// The record index the error names, if it names one.
    pub fn record_index(&self) -> Option<u64> {
        match self.at {
            At::Record { index, .. } => Some(index),
            At::Block { before_record, .. } => Some(before_record),
            _ => None,
        }
    }

    /// The byte offset the error names, if it names one (0 for the file header).
    pub fn offset(&self) -> Option<u64> {
        match self.at {
            At::Record { offset, .. } | At::Block { offset, .. } => Some(offset),
            At::FileHeader => Some(0),
            At::Open { .. } => None,
        }
    }
}

/// A record could not be turned into an Ethernet II frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NormalizeError {
    /// No Ethernet mapping is known for this link type.
    #[error("link type {0} cannot be normalized to Ethernet")]
    UnknownLinkType(LinkType),
    /// The record is shorter than its link header.
    #[error("{link} record of {len} bytes is shorter than its {needed}-byte link header")]
    Truncated {
        /// The link type.
        link: LinkType,
        /// The record length.
        len: usize,
        /// The link header length.
        needed: usize,
    },
    /// A Linux cooked header's protocol field is not an EtherType (802.2 LLC, CAN,
    /// netlink, ...).
    #[error("{link} protocol {protocol:#06x} (ARPHRD {hatype}) is not an EtherType")]
    NotEtherType {
        /// The link type.
        link: LinkType,
        /// The protocol field.
        protocol: u16,
        /// The ARPHRD_ type field.
        hatype: u16,
    },
    /// A raw-IP packet whose version nibble is neither 4 nor 6.
    #[error("{link} packet has IP version {version}")]
    UnknownIpVersion {
        /// The link type.
        link: LinkType,
        /// The version nibble.
        version: u8,
    },
    /// A loopback header whose address family is neither IPv4 nor IPv6.
    #[error("{link} address family {family} is neither IPv4 nor IPv6")]
    UnknownAddressFamily {
        /// The link type.
        link: LinkType,
        /// The family value as read.
        family: u32,
    },
    /// The output buffer is too small for the frame.
    #[error("frame of {needed} bytes does not fit the {available}-byte buffer")]
    BufferTooSmall {
        /// Frame length.
        needed: usize,
        /// Buffer length.
        available: usize,
    },
}

/// A record could not be written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The underlying writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The data is longer than the file's snap length.
    #[error("packet of {len} bytes is longer than the snap length {snaplen}")]
    DataTooLong {
        /// Data length.
        len: usize,
        /// The file's snap length.
        snaplen: u32,
    },
    /// The original length is shorter than the captured data.
    #[error("original length {original} is shorter than the {captured} captured bytes")]
    OriginalShorterThanData {
        /// The original length given.
        original: u32,
        /// The data length.
        captured: usize,
    },
    /// The timestamp's seconds do not fit the 32-bit pcap field (after 2106-02-07).
    #[error("timestamp {timestamp_ns} ns is past the 32-bit seconds of pcap")]
    TimestampOutOfRange {
        /// The timestamp given.
        timestamp_ns: u64,
    },
    /// `pcap-file` refused the record for another reason.
    #[error("pcap encoder: {0}")]
    Encode(&'static str),
}
