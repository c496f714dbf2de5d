//! [`PcapReader`]: format detection, the classic pcap record loop, and the copy of each
//! packet into the caller's buffer.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use pcap_file::pcap::PcapHeader;

use super::error::{At, ReadError, ReadErrorKind};
use super::input::{Endian, Input};
use super::pcapng::{NgState, SHB_TYPE};
use super::{LinkType, Record, TsResolution, MAX_CAPTURE_LEN};

/// Which kind of file a [`PcapReader`] is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap.
    Pcap {
        /// Microsecond or nanosecond timestamps.
        resolution: TsResolution,
        /// True for a big-endian file.
        big_endian: bool,
        /// The file's single link type (FCS bits of the header field masked off).
        link_type: LinkType,
        /// The snap length in the file header (advisory; not trusted for allocation).
        snaplen: u32,
    },
    /// pcapng: the link type is per interface, see [`Record::link_type`].
    PcapNg,
}

/// The header of the next packet, parsed but its data not yet read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    pub(super) offset: u64,
    pub(super) timestamp_ns: u64,
    pub(super) original_len: u32,
    pub(super) caplen: u32,
    pub(super) link_type: LinkType,
    pub(super) interface: u32,
    /// Bytes after the data up to the block trailer (padding and options).
    pub(super) skip_after: u64,
    /// For pcapng: the block length the trailer must repeat.
    pub(super) trailer: Option<u32>,
}

#[derive(Debug)]
enum State {
    Pcap {
        endian: Endian,
        resolution: TsResolution,
        link_type: LinkType,
    },
    PcapNg(NgState),
}

/// Reads a pcap or pcapng file record by record.
///
/// Call [`next_into`](Self::next_into) (caller's buffer) or
/// [`next_record`](Self::next_record) (reader's buffer) until it returns `Ok(None)`. After
/// an error other than [`ReadErrorKind::BufferTooSmall`], the reader is finished and
/// returns `Ok(None)`.
#[derive(Debug)]
pub struct PcapReader<R> {
    input: Input<R>,
    format: Format,
    state: State,
    /// Packets returned so far: the index of the next one.
    index: u64,
    pending: Option<Pending>,
    failed: bool,
    /// Buffer for [`Self::next_record`], allocated on first use.
    own_buf: Vec<u8>,
}

impl PcapReader<BufReader<File>> {
    /// Opens a capture file and reads its header.
    ///
    /// # Errors
    /// When the file cannot be opened, or its header is not pcap or pcapng.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| {
            ReadError::new(
                At::Open {
                    path: path.to_path_buf(),
                },
                ReadErrorKind::Io(e),
            )
        })?;
        Self::new(BufReader::with_capacity(64 * 1024, file))
    }
}

impl<'a> PcapReader<&'a [u8]> {
    /// Reads a capture file held in memory.
    ///
    /// # Errors
    /// When the header is not pcap or pcapng.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, ReadError> {
        Self::new(bytes)
    }
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header from `reader` (wrap a `File` in a `BufReader`).
    ///
    /// # Errors
    /// When the header is not pcap or pcapng, or is corrupt.
    pub fn new(reader: R) -> Result<Self, ReadError> {
        let mut input = Input::new(reader);
        let header_err = |kind| ReadError::new(At::FileHeader, kind);
        let mut magic = [0u8; 4];
        input
            .read_exact_or(&mut magic, "file magic")
            .map_err(header_err)?;
        let (format, state) = if u32::from_be_bytes(magic) == SHB_TYPE {
            let ng = NgState::open(&mut input).map_err(header_err)?;
            (Format::PcapNg, State::PcapNg(ng))
        } else {
            read_pcap_header(&mut input, magic).map_err(header_err)?
        };
        Ok(PcapReader {
            input,
            format,
            state,
            index: 0,
            pending: None,
            failed: false,
            own_buf: Vec::new(),
        })
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Number of packets returned so far.
    pub fn records_read(&self) -> u64 {
        self.index
    }

    /// Bytes consumed from the input so far.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        self.input.get_ref()
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.input.into_inner()
    }

    /// Reads the next packet into a buffer the reader owns ([`MAX_CAPTURE_LEN`] bytes,
    /// allocated on the first call).
    ///
    /// # Errors
    /// See [`Self::next_into`].
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        if self.own_buf.len() < MAX_CAPTURE_LEN {
            self.own_buf = vec![0u8; MAX_CAPTURE_LEN];
        }
        let mut buf = std::mem::take(&mut self.own_buf);
        let res = self.next_into(&mut buf).map(|r| r.map(|r| Meta::of(&r)));
        self.own_buf = buf;
        Ok(res?.map(|m| m.with_data(&self.own_buf)))
    }

    /// Reads the next packet, copying its captured bytes to the start of `buf`. Returns
    /// `Ok(None)` at the end of the file. A buffer of [`MAX_CAPTURE_LEN`] bytes fits every
    /// packet; a smaller one gives [`ReadErrorKind::BufferTooSmall`] for larger packets and
    /// leaves the reader before the packet, so the call can be repeated with a larger one.
    ///
    /// # Errors
    /// A [`ReadError`] naming the record (index and byte offset) and what was wrong.
    pub fn next_into<'b>(&mut self, buf: &'b mut [u8]) -> Result<Option<Record<'b>>, ReadError> {
        if self.failed {
            return Ok(None);
        }
        let p = match self.pending.take() {
            Some(p) => p,
            None => match self.next_header() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.fail(e)),
            },
        };
        let at = At::Record {
            index: self.index,
            offset: p.offset,
        };
        let len = p.caplen as usize;
        let Some(dst) = buf.get_mut(..len) else {
            self.pending = Some(p);
            let kind = ReadErrorKind::BufferTooSmall {
                len,
                buffer: buf.len(),
            };
            return Err(ReadError::new(at, kind));
        };
        if let Err(kind) = self.read_body(&p, dst) {
            return Err(self.fail(ReadError::new(at, kind)));
        }
        self.index += 1;
        Ok(Some(Record {
            timestamp_ns: p.timestamp_ns,
            original_len: p.original_len,
            link_type: p.link_type,
            interface: p.interface,
            data: buf.get(..len).unwrap_or_default(),
        }))
    }

    fn fail(&mut self, e: ReadError) -> ReadError {
        self.failed = true;
        e
    }

    /// Reads the data, the bytes after it and (pcapng) the trailer.
    fn read_body(&mut self, p: &Pending, dst: &mut [u8]) -> Result<(), ReadErrorKind> {
        self.input.read_exact_or(dst, "packet data")?;
        self.input.skip(p.skip_after, "packet block options")?;
        if let (Some(len), State::PcapNg(ng)) = (p.trailer, &self.state) {
            ng.check_trailer(&mut self.input, len)?;
        }
        Ok(())
    }

    fn next_header(&mut self) -> Result<Option<Pending>, ReadError> {
        match &mut self.state {
            State::Pcap {
                endian,
                resolution,
                link_type,
            } => {
                let offset = self.input.offset();
                let at = At::Record {
                    index: self.index,
                    offset,
                };
                read_pcap_record(&mut self.input, *endian, *resolution, *link_type)
                    .map_err(|kind| ReadError::new(at, kind))
            }
            State::PcapNg(ng) => ng.next_packet(&mut self.input, self.index),
        }
    }
}

/// A record without its data, so the borrow of the buffer can be re-taken.
#[derive(Debug, Clone, Copy)]
struct Meta {
    timestamp_ns: u64,
    original_len: u32,
    link_type: LinkType,
    interface: u32,
    len: usize,
}

impl Meta {
    fn of(r: &Record<'_>) -> Meta {
        Meta {
            timestamp_ns: r.timestamp_ns,
            original_len: r.original_len,
            link_type: r.link_type,
            interface: r.interface,
            len: r.data.len(),
        }
    }

    fn with_data(self, buf: &[u8]) -> Record<'_> {
        Record {
            timestamp_ns: self.timestamp_ns,
            original_len: self.original_len,
            link_type: self.link_type,
            interface: self.interface,
            data: buf.get(..self.len).unwrap_or_default(),
        }
    }
}

/// Mask of the link type in the pcap header field; the upper bits carry FCS information.
const LINKTYPE_MASK: u32 = 0x03ff_ffff;

fn read_pcap_header<R: Read>(
    input: &mut Input<R>,
    magic: [u8; 4],
) -> Result<(Format, State), ReadErrorKind> {
    let mut raw = [0u8; 24];
    raw[..4].copy_from_slice(&magic);
    let known = matches!(
        u32::from_be_bytes(magic),
        0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1
    );
    if !known {
        return Err(ReadErrorKind::UnknownMagic(u32::from_be_bytes(magic)));
    }
    input.read_exact_or(&mut raw[4..], "pcap file header")?;
    let (_, h) = PcapHeader::from_slice(&raw)
        .map_err(|_| ReadErrorKind::UnknownMagic(u32::from_be_bytes(magic)))?;
    if h.version_major != 2 {
        return Err(ReadErrorKind::UnsupportedVersion {
            major: h.version_major,
            minor: h.version_minor,
        });
    }
    let endian = match h.endianness {
        pcap_file::Endianness::Big => Endian::Big,
        pcap_file::Endianness::Little => Endian::Little,
    };
    let resolution = match h.ts_resolution {
        pcap_file::TsResolution::MicroSecond => TsResolution::Micro,
        pcap_file::TsResolution::NanoSecond => TsResolution::Nano,
    };
    let link_type = LinkType(u32::from(h.datalink) & LINKTYPE_MASK);
    let format = Format::Pcap {
        resolution,
        big_endian: endian == Endian::Big,
        link_type,
        snaplen: h.snaplen,
    };
    Ok((
        format,
        State::Pcap {
            endian,
            resolution,
            link_type,
        },
    ))
}

fn read_pcap_record<R: Read>(
    input: &mut Input<R>,
    endian: Endian,
    resolution: TsResolution,
    link_type: LinkType,
) -> Result<Option<Pending>, ReadErrorKind> {
    let offset = input.offset();
    let mut h = [0u8; 16];
    let got = input.read_full(&mut h).map_err(ReadErrorKind::Io)?;
    if got == 0 {
        return Ok(None);
    }
    if got < h.len() {
        return Err(ReadErrorKind::Truncated {
            what: "record header",
            needed: 16,
            got: got as u64,
        });
    }
    let (secs, frac) = (endian.word(&h, 0), endian.word(&h, 1));
    let (caplen, original_len) = (endian.word(&h, 2), endian.word(&h, 3));
    if caplen as usize > MAX_CAPTURE_LEN {
        return Err(ReadErrorKind::CaptureTooLarge {
            len: caplen,
            max: MAX_CAPTURE_LEN as u32,
        });
    }
    let frac_ns = match resolution {
        TsResolution::Micro => u64::from(frac) * 1_000,
        TsResolution::Nano => u64::from(frac),
    };
    // At most 4.3e18 + 4.3e12: fits u64.
    let timestamp_ns = u64::from(secs) * 1_000_000_000 + frac_ns;
    Ok(Some(Pending {
        offset,
        timestamp_ns,
        original_len,
        caplen,
        link_type,
        interface: 0,
        skip_after: 0,
        trailer: None,
    }))
}
