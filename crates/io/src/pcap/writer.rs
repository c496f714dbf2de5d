//! [`PcapWriter`]: classic pcap output. The file header is `pcap-file`'s; each record is
//! one 16-byte header built on the stack and the data, two `write_all` calls
//! (`pcap-file`'s own writer makes five and has no `get_mut`).

use std::io::Write;

use pcap_file::pcap::PcapHeader;
use pcap_file::{DataLink, Endianness, PcapError};

use super::error::WriteError;
use super::{LinkType, TsResolution, MAX_CAPTURE_LEN};

/// Writes classic pcap, one record per call, in the host's byte order.
///
/// Nothing is allocated per record; each record is a few small writes, so wrap a `File` in
/// a `BufWriter`. The file header is written by the constructor.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    inner: W,
    resolution: TsResolution,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Starts an Ethernet pcap with snap length [`MAX_CAPTURE_LEN`].
    ///
    /// # Errors
    /// When the file header cannot be written.
    pub fn new(writer: W, resolution: TsResolution) -> Result<Self, WriteError> {
        Self::with_link_type(writer, resolution, LinkType::ETHERNET)
    }

    /// Starts a pcap of any link type with snap length [`MAX_CAPTURE_LEN`].
    ///
    /// # Errors
    /// When the file header cannot be written.
    pub fn with_link_type(
        writer: W,
        resolution: TsResolution,
        link_type: LinkType,
    ) -> Result<Self, WriteError> {
        let snaplen = MAX_CAPTURE_LEN as u32;
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen,
            datalink: DataLink::from(link_type.0),
            ts_resolution: match resolution {
                TsResolution::Micro => pcap_file::TsResolution::MicroSecond,
                TsResolution::Nano => pcap_file::TsResolution::NanoSecond,
            },
            endianness: Endianness::native(),
        };
        let mut inner = writer;
        header.write_to(&mut inner).map_err(map_err)?;
        Ok(PcapWriter {
            inner,
            resolution,
            snaplen,
        })
    }

    /// The timestamp resolution written.
    pub fn resolution(&self) -> TsResolution {
        self.resolution
    }

    /// Writes one packet captured whole (`original_len == data.len()`).
    ///
    /// # Errors
    /// See [`Self::write_record`].
    pub fn write_packet(&mut self, timestamp_ns: u64, data: &[u8]) -> Result<(), WriteError> {
        let original_len = u32::try_from(data.len()).map_err(|_| WriteError::DataTooLong {
            len: data.len(),
            snaplen: self.snaplen,
        })?;
        self.write_record(timestamp_ns, original_len, data)
    }

    /// Writes one record: `data` is what was captured of a packet of `original_len` bytes.
    /// Microsecond files truncate the timestamp to the microsecond.
    ///
    /// # Errors
    /// When `data` is longer than the snap length or than `original_len`, when the
    /// timestamp's seconds do not fit 32 bits, or when the writer fails.
    pub fn write_record(
        &mut self,
        timestamp_ns: u64,
        original_len: u32,
        data: &[u8],
    ) -> Result<(), WriteError> {
        if data.len() > self.snaplen as usize {
            return Err(WriteError::DataTooLong {
                len: data.len(),
                snaplen: self.snaplen,
            });
        }
        if data.len() > original_len as usize {
            return Err(WriteError::OriginalShorterThanData {
                original: original_len,
                captured: data.len(),
            });
        }
        if timestamp_ns / 1_000_000_000 > u64::from(u32::MAX) {
            return Err(WriteError::TimestampOutOfRange { timestamp_ns });
        }
        let secs = (timestamp_ns / 1_000_000_000) as u32;
        let nanos = (timestamp_ns % 1_000_000_000) as u32;
        let frac = match self.resolution {
            TsResolution::Micro => nanos / 1_000,
            TsResolution::Nano => nanos,
        };
        let mut h = [0u8; 16];
        for (chunk, v) in h
            .chunks_exact_mut(4)
            .zip([secs, frac, data.len() as u32, original_len])
        {
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
        self.inner.write_all(&h)?;
        self.inner.write_all(data)?;
        Ok(())
    }

    /// Flushes the underlying writer.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.get_mut().flush()?;
        Ok(())
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Gives back the underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.inner
    }
}

fn map_err(e: PcapError) -> WriteError {
    match e {
        PcapError::IoError(e) => WriteError::Io(e),
        PcapError::InvalidField(what) => WriteError::Encode(what),
        _ => WriteError::Encode("unexpected pcap-file error"),
    }
}
