//! Replayed packets: a capture loaded once into memory, normalised to Ethernet.

use super::spec::{SpecError, Timing};
use crate::pcap::{MacPair, PcapReader};
use std::path::Path;

/// Most packet bytes a replay keeps in memory.
pub const MAX_REPLAY_BYTES: usize = 1 << 30;

/// A capture ready to replay: every record as an Ethernet frame, back to back in one
/// allocation made at load time.
#[derive(Debug)]
pub(crate) struct Replay {
    bytes: Vec<u8>,
    /// (offset into `bytes`, length, nanoseconds since the first record)
    packets: Vec<(u32, u16, u64)>,
    pub(crate) timing: Timing,
    /// Records longer than a buffer, left out.
    pub(crate) oversize: u64,
}

/// Why a capture could not be loaded for replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayLoadError {
    /// The file could not be read; the error names the record and byte offset.
    #[error(transparent)]
    Read(#[from] crate::pcap::ReadError),
    /// A record cannot be made into an Ethernet frame.
    #[error("record {record}: {source}")]
    Normalize {
        /// Index of the record (from 0).
        record: u64,
        /// What is wrong with it.
        source: crate::pcap::NormalizeError,
    },
    /// More packet bytes than [`MAX_REPLAY_BYTES`].
    #[error("more than {max} bytes of packets; replay a smaller capture")]
    TooBig {
        /// The limit.
        max: usize,
    },
}

impl Replay {
    pub(crate) fn load(stream: &str, path: &Path, timing: Timing) -> Result<Replay, SpecError> {
        let macs = MacPair {
            src: [0x02, 0, 0, 0, 0, 0xfe],
            dst: [0x02, 0, 0, 0, 0, 0xff],
        };
        Replay::load_file(path, &macs, timing).map_err(|e| match e {
            ReplayLoadError::Read(source) => SpecError::Replay {
                stream: stream.into(),
                path: path.into(),
                source,
            },
            ReplayLoadError::Normalize { record, source } => SpecError::Normalize {
                stream: stream.into(),
                path: path.into(),
                record,
                source,
            },
            ReplayLoadError::TooBig { max } => SpecError::ReplayTooBig {
                stream: stream.into(),
                path: path.into(),
                max,
            },
        })
    }

    /// Reads every record of the capture at `path` as an Ethernet frame (records of other
    /// link types get the addresses in `macs`). Records longer than a buffer are left out
    /// and counted in `oversize`.
    pub(crate) fn load_file(
        path: &Path,
        macs: &MacPair,
        timing: Timing,
    ) -> Result<Replay, ReplayLoadError> {
        let mut r = PcapReader::open(path)?;
        let mut bytes = Vec::new();
        let mut packets = Vec::new();
        let mut first_ts = None;
        let mut oversize = 0;
        let mut index = 0u64;
        while let Some(rec) = r.next_record()? {
            let frame = rec
                .to_ethernet(macs)
                .map_err(|source| ReplayLoadError::Normalize {
                    record: index,
                    source,
                })?;
            index += 1;
            if frame.len() > buf::DATA_SIZE {
                oversize += 1;
                continue;
            }
            if bytes.len() + frame.len() > MAX_REPLAY_BYTES {
                return Err(ReplayLoadError::TooBig {
                    max: MAX_REPLAY_BYTES,
                });
            }
            let at = bytes.len();
            bytes.resize(at + frame.len(), 0);
            // Cannot fail: the slice is exactly frame.len() long.
            let _ = frame.copy_to(&mut bytes[at..]);
            let t0 = *first_ts.get_or_insert(rec.timestamp_ns);
            packets.push((
                at as u32,
                frame.len() as u16,
                rec.timestamp_ns.saturating_sub(t0),
            ));
        }
        Ok(Replay {
            bytes,
            packets,
            timing,
            oversize,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    /// Packet `i` (modulo the capture length) and its time offset within the capture.
    #[inline]
    pub(crate) fn packet(&self, i: u64) -> (&[u8], u64) {
        let (at, len, t) = self.packets[(i % self.packets.len() as u64) as usize];
        (&self.bytes[at as usize..at as usize + usize::from(len)], t)
    }

    /// Time from the first to the last record: one loop's length, for capture timing.
    pub(crate) fn span(&self) -> u64 {
        self.packets.last().map_or(0, |p| p.2)
    }
}
