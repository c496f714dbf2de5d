//! `pcap trace`: packets copied into a pcap file at the graph's edges, as they enter from a
//! device (rx), leave through a device (tx) or reach `error-drop` (drop).
//!
//! A [`Capture`] is a cheap handle (`Arc`) shared by every [`crate::device::DeviceInput`],
//! [`crate::device::DeviceOutput`] and the graph's drop observer ([`Capture::drop_observer`]).
//! The control plane starts and stops it ([`Capture::start`], [`Capture::stop`]).
//!
//! # Cost
//! Off, a node pays one relaxed atomic load and one predictable branch per *frame*
//! ([`Capture::wants`]); no packet is looked at. On, the node takes a mutex once per frame
//! and copies each packet's bytes into a buffered file (`BufWriter`): capture is a
//! debugging tool and copying is accepted. Nothing is allocated per packet.
//!
//! # What is written
//! Ethernet pcap, microsecond timestamps (what every tool opens), wall-clock time taken
//! once per frame. A chained packet (several buffers) is written as its first buffer, with
//! the whole length as the original length (tcpdump shows it as cut at the snap length).
//! After `max` packets the points switch off and the file is flushed, so it is complete
//! on disk; `pcap trace off` closes it and says how many packets were written.

use crate::pcap::{PcapWriter, TsResolution, WriteError};
use buf::{Buf, BufferPool};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// The file `pcap trace` writes when no `file` is given.
pub const DEFAULT_CAPTURE_FILE: &str = "/tmp/uplane-trace.pcap";

/// Where packets are captured; combine with [`Points::with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Points(u8);

impl Points {
    /// None.
    pub const NONE: Points = Points(0);
    /// As packets enter the graph from a device input node.
    pub const RX: Points = Points(1);
    /// As packets leave through a device output node.
    pub const TX: Points = Points(2);
    /// As packets reach `error-drop`.
    pub const DROP: Points = Points(4);

    /// Both sets.
    pub const fn with(self, other: Points) -> Points {
        Points(self.0 | other.0)
    }

    /// True if every point of `other` is in `self`.
    pub const fn contains(self, other: Points) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if no point is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Why a capture could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A capture is running; stop it first.
    #[error("a pcap trace is already running into {0:?}; `pcap trace off` first")]
    Running(PathBuf),
    /// No capture point was asked for.
    #[error("no capture point (expected rx, tx or drop)")]
    NoPoints,
    /// The file could not be created.
    #[error("{path:?}: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing or flushing the file failed.
    #[error("{path:?}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The write error.
        source: WriteError,
    },
}

/// What a capture did, for `pcap trace off` and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureStatus {
    /// The file.
    pub path: PathBuf,
    /// Packets written.
    pub written: u64,
    /// The limit.
    pub max: u64,
    /// The points it captures (empty once `max` was reached).
    pub points: Points,
    /// Packets that could not be written (I/O errors).
    pub errors: u64,
}

#[derive(Debug)]
struct Session {
    writer: PcapWriter<BufWriter<File>>,
    path: PathBuf,
    max: u64,
    written: u64,
    errors: u64,
    asked: Points,
}

#[derive(Debug, Default)]
struct Shared {
    /// The active points: read by the data path once per frame.
    points: AtomicU8,
    session: Mutex<Option<Session>>,
}

/// A shared `pcap trace` handle; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Shared>);

impl Capture {
    /// A capture that is off.
    pub fn new() -> Capture {
        Capture::default()
    }

    fn session(&self) -> MutexGuard<'_, Option<Session>> {
        self.0
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts writing packets seen at `points` into a new pcap at `path` (truncated if it
    /// exists), at most `max` of them.
    ///
    /// # Errors
    /// When a capture is running, `points` is empty, or the file cannot be created.
    pub fn start(&self, path: &Path, points: Points, max: u64) -> Result<(), CaptureError> {
        if points.is_empty() {
            return Err(CaptureError::NoPoints);
        }
        let mut s = self.session();
        if let Some(old) = s.as_ref() {
            return Err(CaptureError::Running(old.path.clone()));
        }
        let file = File::create(path).map_err(|source| CaptureError::Create {
            path: path.into(),
            source,
        })?;
        let writer = PcapWriter::new(BufWriter::with_capacity(1 << 16, file), TsResolution::Micro)
            .map_err(|source| CaptureError::Write {
                path: path.into(),
                source,
            })?;
        *s = Some(Session {
            writer,
            path: path.into(),
            max: max.max(1),
            written: 0,
            errors: 0,
            asked: points,
        });
        self.0.points.store(points.0, Ordering::Release);
        Ok(())
    }

    /// Stops the capture, flushes and closes the file. `Ok(None)` if none was running.
    ///
    /// # Errors
    /// When the final flush fails (the status is lost with the file).
    pub fn stop(&self) -> Result<Option<CaptureStatus>, CaptureError> {
        self.0.points.store(0, Ordering::Release);
        let Some(mut s) = self.session().take() else {
            return Ok(None);
        };
        s.writer.flush().map_err(|source| CaptureError::Write {
            path: s.path.clone(),
            source,
        })?;
        Ok(Some(CaptureStatus {
            path: s.path,
            written: s.written,
            max: s.max,
            points: Points::NONE,
            errors: s.errors,
        }))
    }

    /// The running capture, if any.
    pub fn status(&self) -> Option<CaptureStatus> {
        let points = Points(self.0.points.load(Ordering::Relaxed));
        self.session().as_ref().map(|s| CaptureStatus {
            path: s.path.clone(),
            written: s.written,
            max: s.max,
            points: if points.is_empty() { points } else { s.asked },
            errors: s.errors,
        })
    }

    /// True if packets at `point` are being captured: the data path's once-per-frame test.
    #[inline(always)]
    pub fn wants(&self, point: Points) -> bool {
        self.0.points.load(Ordering::Relaxed) & point.0 != 0
    }

    /// Copies the packets `bufs` into the file (call only when [`Self::wants`] said so;
    /// a capture stopped in between writes nothing).
    pub fn record(&self, pool: &BufferPool, bufs: &[Buf]) {
        if bufs.is_empty() {
            return;
        }
        let ts = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut guard = self.session();
        let Some(s) = guard.as_mut() else {
            return;
        };
        for b in bufs {
            if s.written >= s.max {
                break;
            }
            let data = pool.get(b).data();
            let original = pool.chain_len(b).max(data.len());
            let original = u32::try_from(original).unwrap_or(u32::MAX);
            match s.writer.write_record(ts, original, data) {
                Ok(()) => s.written += 1,
                Err(_) => s.errors += 1,
            }
        }
        if s.written >= s.max {
            // Done: stop looking at packets and make the file whole on disk now.
            self.0.points.store(0, Ordering::Release);
            if s.writer.flush().is_err() {
                s.errors += 1;
            }
        }
    }

    /// An observer for `error-drop` (install with [`graph::Graph::set_drop_observer`]).
    pub fn drop_observer(&self) -> Box<dyn graph::DropObserver> {
        Box::new(DropCapture(self.clone()))
    }
}

/// Captures packets reaching `error-drop` when [`Points::DROP`] is on.
#[derive(Debug)]
struct DropCapture(Capture);

impl graph::DropObserver for DropCapture {
    #[inline]
    fn observe(&mut self, pool: &BufferPool, frame: &[Buf]) {
        if self.0.wants(Points::DROP) {
            self.0.record(pool, frame);
        }
    }
}
