//! The pcap device: an interface whose wire is a pair of capture files.
//!
//! * **rx** replays a capture (pcap or pcapng, any link type [`super::normalize_to_ethernet`]
//!   knows, turned into Ethernet II; records of other link types get the device's MAC as
//!   destination). The whole file is read and checked **when the device is opened**: a
//!   corrupt file is refused then, with an error naming the record and its byte offset
//!   (or the record that cannot become Ethernet), and never at run time. Records longer
//!   than a buffer ([`buf::DATA_SIZE`]) are left out and counted as rx `oversize` drops.
//!   Replay runs at full speed (a frame per poll) or at capture timing (each record when
//!   its offset from the first record has passed since the device first polled), once or
//!   looping forever. Replay starts when the device is set administratively up.
//! * **tx** appends every packet sent into a classic pcap (Ethernet, microsecond or
//!   nanosecond timestamps, wall-clock time taken once per burst) through a `BufWriter`,
//!   flushed after each burst so the file on disk is whole whenever the graph is idle, and
//!   in [`Device::flush`] (the daemon calls it on shutdown). Chained packets are dropped and
//!   counted (`drops`), as TAP does. Without a tx file, sent packets are freed and counted
//!   as sent (a sink).
//!
//! Nothing is allocated per packet: rx copies from the capture loaded at open into pool
//! buffers, tx writes from the buffers into the `BufWriter`.
//!
//! Nodes: `pcap-input` / `pcap-output` ([`input_node`], [`output_node`]).

use super::{MacPair, PcapWriter, TsResolution, WriteError};
use crate::device::{
    Device, DeviceError, DeviceInput, DeviceOutput, DeviceStats, HwInfo, LinkState,
};
use crate::pg::replay::Replay;
use crate::pg::{ReplayLoadError, Timing};
use buf::{BufFlags, BufferCache, Frame};
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The pcap input node's name.
pub const PCAP_INPUT: &str = "pcap-input";
/// The pcap output node's name.
pub const PCAP_OUTPUT: &str = "pcap-output";

/// A new `pcap-input` node (attach devices with [`DeviceInput::attach`]).
pub fn input_node() -> DeviceInput {
    DeviceInput::new(PCAP_INPUT)
}

/// A new `pcap-output` node (attach devices with [`DeviceOutput::attach`]).
pub fn output_node() -> DeviceOutput {
    DeviceOutput::new(PCAP_OUTPUT)
}

/// How to open a [`PcapDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapDeviceConfig {
    /// The capture to replay as received packets (`None`: nothing is received).
    pub rx_file: Option<PathBuf>,
    /// The pcap to write sent packets into, created or truncated (`None`: a sink).
    pub tx_file: Option<PathBuf>,
    /// Replay pace.
    pub timing: Timing,
    /// Replay the capture again and again instead of once.
    pub rx_loop: bool,
    /// Timestamp resolution of the tx file.
    pub tx_resolution: TsResolution,
    /// The device's Ethernet address.
    pub mac: [u8; 6],
}

impl PcapDeviceConfig {
    /// Full speed, once, microsecond tx file, MAC 02:00:00:00:00:01, no files.
    pub fn new() -> PcapDeviceConfig {
        PcapDeviceConfig {
            rx_file: None,
            tx_file: None,
            timing: Timing::FullSpeed,
            rx_loop: false,
            tx_resolution: TsResolution::Micro,
            mac: [0x02, 0, 0, 0, 0, 0x01],
        }
    }
}

impl Default for PcapDeviceConfig {
    fn default() -> Self {
        PcapDeviceConfig::new()
    }
}

/// Why a pcap device could not be opened; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum PcapDeviceError {
    /// The rx capture is unreadable, corrupt (the error names the record) or too big.
    #[error("rx-file {path:?}: {source}")]
    Rx {
        /// The capture.
        path: PathBuf,
        /// What is wrong with it.
        source: ReplayLoadError,
    },
    /// The tx file could not be created.
    #[error("tx-file {path:?}: {source}")]
    TxCreate {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The tx file's header could not be written.
    #[error("tx-file {path:?}: {source}")]
    TxHeader {
        /// The file.
        path: PathBuf,
        /// The write error.
        source: WriteError,
    },
}

#[derive(Debug)]
struct Rx {
    replay: Replay,
    loop_forever: bool,
    /// Index of the next record to send (keeps counting across loops).
    next: u64,
    /// When replay started (the first poll while up).
    start: Option<Instant>,
}

#[derive(Debug)]
struct Tx {
    writer: PcapWriter<BufWriter<File>>,
    path: PathBuf,
}

/// A device reading a capture file and writing a pcap; see the module documentation.
#[derive(Debug)]
pub struct PcapDevice {
    info: HwInfo,
    stats: Arc<DeviceStats>,
    mac: [u8; 6],
    admin_up: bool,
    rx: Option<Rx>,
    tx: Option<Tx>,
}

impl PcapDevice {
    /// Loads and checks the rx capture and creates the tx file. The device starts down.
    ///
    /// # Errors
    /// A corrupt or unreadable rx capture (naming the record), a tx file that cannot be
    /// created.
    pub fn open(cfg: &PcapDeviceConfig) -> Result<PcapDevice, PcapDeviceError> {
        let rx = match &cfg.rx_file {
            Some(path) => {
                let macs = MacPair {
                    src: [0x02, 0, 0, 0, 0, 0xfe],
                    dst: cfg.mac,
                };
                let replay = Replay::load_file(path, &macs, cfg.timing).map_err(|source| {
                    PcapDeviceError::Rx {
                        path: path.clone(),
                        source,
                    }
                })?;
                Some(Rx {
                    replay,
                    loop_forever: cfg.rx_loop,
                    next: 0,
                    start: None,
                })
            }
            None => None,
        };
        let tx = match &cfg.tx_file {
            Some(path) => {
                let file = File::create(path).map_err(|source| PcapDeviceError::TxCreate {
                    path: path.clone(),
                    source,
                })?;
                let writer =
                    PcapWriter::new(BufWriter::with_capacity(1 << 16, file), cfg.tx_resolution)
                        .map_err(|source| PcapDeviceError::TxHeader {
                            path: path.clone(),
                            source,
                        })?;
                Some(Tx {
                    writer,
                    path: path.clone(),
                })
            }
            None => None,
        };
        let show = |p: &Option<PathBuf>| {
            p.as_deref()
                .map_or("-".to_string(), |p: &Path| p.display().to_string())
        };
        let mode = format!(
            "rx {} ({}, {}), tx {} ({} pcap)",
            show(&cfg.rx_file),
            match cfg.timing {
                Timing::FullSpeed => "full speed",
                Timing::Capture => "capture timing",
            },
            if cfg.rx_loop { "looping" } else { "once" },
            show(&cfg.tx_file),
            match cfg.tx_resolution {
                TsResolution::Micro => "microsecond",
                TsResolution::Nano => "nanosecond",
            }
        );
        let records = rx.as_ref().map_or(0, |r| r.replay.len());
        let oversize = rx.as_ref().map_or(0, |r| r.replay.oversize);
        let info = HwInfo {
            driver: "pcap",
            host_if: show(&cfg.rx_file),
            mode,
            rx_queues: 1,
            tx_queues: 1,
            rx_ring: format!("{records} records in memory ({oversize} oversize left out)"),
            tx_ring: "64 KiB write buffer".into(),
            offloads: "none".into(),
        };
        let stats = DeviceStats::new(1, 1);
        if let Some(st) = stats.rx.first() {
            st.drops.add(oversize);
            st.oversize.add(oversize);
        }
        Ok(PcapDevice {
            info,
            stats,
            mac: cfg.mac,
            admin_up: false,
            rx,
            tx,
        })
    }

    /// Records the rx capture holds (after oversize ones were left out).
    pub fn rx_records(&self) -> usize {
        self.rx.as_ref().map_or(0, |r| r.replay.len())
    }

    /// True when a non-looping replay has sent every record (or there is nothing to send).
    pub fn rx_done(&self) -> bool {
        self.rx
            .as_ref()
            .is_none_or(|r| !r.loop_forever && r.next >= r.replay.len() as u64)
    }
}

impl Device for PcapDevice {
    fn hw_info(&self) -> &HwInfo {
        &self.info
    }

    fn rx_burst(&mut self, queue: usize, cache: &mut BufferCache, frame: &mut Frame) -> usize {
        let (Some(st), Some(rx), true) =
            (self.stats.rx.get(queue), self.rx.as_mut(), self.admin_up)
        else {
            return 0;
        };
        let n = rx.replay.len() as u64;
        if n == 0 || (!rx.loop_forever && rx.next >= n) {
            return 0;
        }
        let start = *rx.start.get_or_insert_with(Instant::now);
        let elapsed = start.elapsed().as_nanos() as u64;
        let span = rx.replay.span().max(1);
        let mut got = 0;
        while frame.room() > 0 {
            if !rx.loop_forever && rx.next >= n {
                break;
            }
            let (bytes, t) = rx.replay.packet(rx.next);
            if rx.replay.timing == Timing::Capture {
                let due = (rx.next / n).saturating_mul(span).saturating_add(t);
                if due > elapsed {
                    break;
                }
            }
            let Some(mut b) = cache.alloc() else {
                st.fill_empty.add(1);
                break;
            };
            rx.next += 1;
            if !cache.pool().get_mut(&mut b).copy_from(bytes) {
                st.drops.add(1);
                st.oversize.add(1);
                cache.free(b);
                continue;
            }
            st.packets.add(1);
            st.bytes.add(bytes.len() as u64);
            got += 1;
            if let Err(b) = frame.push(b) {
                cache.free(b);
            }
        }
        got
    }

    fn tx_burst(&mut self, queue: usize, frame: &mut Frame, cache: &mut BufferCache) -> usize {
        let Some(st) = self.stats.tx.get(queue) else {
            return 0;
        };
        let ts = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let pool = cache.pool().clone();
        let taken = frame.len();
        for b in frame.drain() {
            let pkt = pool.get(&b);
            let data = pkt.data();
            if pkt.meta().flags.contains(BufFlags::NEXT_PRESENT) {
                st.drops.add(1);
            } else {
                let written = match self.tx.as_mut() {
                    Some(tx) => tx.writer.write_packet(ts, data).is_ok(),
                    None => true,
                };
                if written {
                    st.packets.add(1);
                    st.bytes.add(data.len() as u64);
                } else {
                    st.drops.add(1);
                }
            }
            cache.free(b);
        }
        if let Some(tx) = self.tx.as_mut() {
            if taken > 0 {
                // A failed flush keeps the bytes buffered; the next burst or
                // `Device::flush` tries again, and the shutdown flush reports it.
                let _ = tx.writer.flush();
            }
        }
        taken
    }

    fn link_state(&self) -> LinkState {
        if self.admin_up {
            LinkState::Up
        } else {
            LinkState::Down
        }
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> u32 {
        1500
    }

    fn set_admin_up(&mut self, up: bool) -> Result<(), DeviceError> {
        self.admin_up = up;
        Ok(())
    }

    fn stats(&self) -> &Arc<DeviceStats> {
        &self.stats
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        let Some(tx) = self.tx.as_mut() else {
            return Ok(());
        };
        tx.writer.flush().map_err(|e| DeviceError::Os {
            what: "flush tx-file",
            ifname: tx.path.display().to_string(),
            source: match e {
                WriteError::Io(e) => e,
                other => io::Error::other(other.to_string()),
            },
        })
    }
}
