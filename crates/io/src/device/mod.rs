//! The device model: what every driver (AF_PACKET, TAP, later AF_XDP) offers the graph.
//!
//! A [`Device`] has numbered rx and tx queues. The graph's thread moves whole frames through
//! them with [`Device::rx_burst`] and [`Device::tx_burst`]; each queue has
//! [`QueueCounters`] that other threads read without locks. [`HwInfo`] is what
//! `show hardware-interfaces` prints.
//!
//! ## The burst contract
//!
//! * `rx_burst(q, cache, frame)` appends at most `frame.room()` received packets to `frame`,
//!   buffers allocated from `cache`, and returns how many it appended. It never blocks. A
//!   packet that cannot be delivered (larger than a buffer, truncated by the ring, a GSO
//!   super-packet we do not segment) is dropped and counted (`drops`, and `oversize` when it
//!   is about size); a packet waiting while the pool is empty counts `fill_empty` and stays
//!   with the device (kernel ring) until the next burst.
//! * `tx_burst(q, frame, cache)` takes packets from the *front* of `frame`, in order, and
//!   returns how many it took. A taken packet was either handed to the device (counted in
//!   `packets` / `bytes`) or dropped as unsendable (too big, chained: `drops`); either way
//!   its buffer went back to `cache` (copying drivers) or into the device's ring (zero-copy
//!   drivers, which give it back when the completion comes and in [`Device::release`]). What
//!   is left in `frame` could not be taken because the ring is full (`ring_full` counts each
//!   burst that stopped early); the caller retries or drops it.
//!
//! * `tx_build(q, build)` (rings the caller may write into: AF_PACKET) has the caller build
//!   one packet straight into the next free ring slot, instead of into a buffer that
//!   `tx_burst` then copies; what it builds goes with the next `tx_burst` (an empty frame
//!   will do) or the queue's kick handle ([`Device::take_tx_kick`]).
//!
//! Queue indices out of range take and give nothing.
//!
//! ## Sharing between the input and output node
//!
//! A device is shared by its input node (rx queues) and its output node (tx queues) as a
//! [`SharedDevice`] (`Arc<Mutex<dyn Device>>`). Both nodes run on the graph's thread, so the
//! lock is uncontended (one per burst, not per packet); counters live outside the lock.

mod node;

pub use node::{DeviceInput, DeviceInputError, DeviceOutput, DeviceOutputError};

use buf::{BufferCache, Frame};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A device shared between its input and output nodes.
pub type SharedDevice = Arc<Mutex<dyn Device>>;

/// Wraps a driver for use by [`DeviceInput`] and [`DeviceOutput`].
pub fn shared<D: Device + 'static>(dev: D) -> SharedDevice {
    Arc::new(Mutex::new(dev))
}

/// The carrier, as the kernel or the NIC reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Carrier present (`IFF_RUNNING`).
    Up,
    /// No carrier, or the interface is administratively down.
    Down,
    /// The driver could not tell.
    Unknown,
}

/// What went wrong configuring a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The host interface name is not valid.
    #[error("bad interface name {0:?}")]
    BadName(String),
    /// Opening or configuring the OS object failed; `what` says which step.
    #[error("{what} on {ifname}: {source}")]
    Os {
        /// The step (`open`, `set admin up`, `ring setup`, ...).
        what: &'static str,
        /// The host interface.
        ifname: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A configuration value is out of range.
    #[error("bad configuration: {0}")]
    Config(&'static str),
    /// The buffer pool is smaller than what the device's rings can hold at once.
    #[error(
        "{ifname}: the buffer pool has {buffers} buffers, fewer than the {needed} the \
         device's rings can hold (raise buffers.count or make the rings smaller)"
    )]
    PoolTooSmall {
        /// The host interface.
        ifname: String,
        /// The pool's buffers.
        buffers: u32,
        /// What the rings of every queue hold when full.
        needed: u64,
    },
}

/// A counter with one writer (the thread running the queue) and any number of readers.
///
/// The writer adds with a plain load and store (no locked instruction); a reader sees a
/// value at most one update old.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the queue's own thread may call this.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// The current value.
    #[inline(always)]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters of one queue in one direction.
#[derive(Debug, Default)]
pub struct QueueCounters {
    /// Packets received from / handed to the device.
    pub packets: Counter,
    /// Their bytes (from the Ethernet header on).
    pub bytes: Counter,
    /// Packets dropped by the driver (oversize, truncated, bad descriptor, GSO, tx errors).
    pub drops: Counter,
    /// Of `drops`: packets larger than a buffer (rx) or a ring slot (tx).
    pub oversize: Counter,
    /// Rx: packets the kernel dropped because our ring was full. Tx: bursts that stopped
    /// because the ring had no free slot.
    pub ring_full: Counter,
    /// Rx: times a packet was waiting but the buffer pool (or, for AF_XDP, the fill queue)
    /// was empty.
    pub fill_empty: Counter,
}

/// A snapshot of [`QueueCounters`], for display and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueSnapshot {
    /// See [`QueueCounters::packets`].
    pub packets: u64,
    /// See [`QueueCounters::bytes`].
    pub bytes: u64,
    /// See [`QueueCounters::drops`].
    pub drops: u64,
    /// See [`QueueCounters::oversize`].
    pub oversize: u64,
    /// See [`QueueCounters::ring_full`].
    pub ring_full: u64,
    /// See [`QueueCounters::fill_empty`].
    pub fill_empty: u64,
}

impl QueueCounters {
    /// Reads every counter.
    pub fn snapshot(&self) -> QueueSnapshot {
        QueueSnapshot {
            packets: self.packets.get(),
            bytes: self.bytes.get(),
            drops: self.drops.get(),
            oversize: self.oversize.get(),
            ring_full: self.ring_full.get(),
            fill_empty: self.fill_empty.get(),
        }
    }
}

/// Per-queue counters of a device; share it (`Arc`) with whoever shows them.
#[derive(Debug)]
pub struct DeviceStats {
    /// By rx queue.
    pub rx: Box<[QueueCounters]>,
    /// By tx queue.
    pub tx: Box<[QueueCounters]>,
}

impl DeviceStats {
    /// Zeroed counters for `rx` and `tx` queues.
    pub fn new(rx: usize, tx: usize) -> Arc<DeviceStats> {
        Arc::new(DeviceStats {
            rx: (0..rx).map(|_| QueueCounters::default()).collect(),
            tx: (0..tx).map(|_| QueueCounters::default()).collect(),
        })
    }

    fn sum(qs: &[QueueCounters]) -> QueueSnapshot {
        qs.iter()
            .map(QueueCounters::snapshot)
            .fold(QueueSnapshot::default(), |a, b| QueueSnapshot {
                packets: a.packets + b.packets,
                bytes: a.bytes + b.bytes,
                drops: a.drops + b.drops,
                oversize: a.oversize + b.oversize,
                ring_full: a.ring_full + b.ring_full,
                fill_empty: a.fill_empty + b.fill_empty,
            })
    }

    /// All rx queues added up.
    pub fn rx_total(&self) -> QueueSnapshot {
        Self::sum(&self.rx)
    }

    /// All tx queues added up.
    pub fn tx_total(&self) -> QueueSnapshot {
        Self::sum(&self.tx)
    }
}

/// Counters the OS keeps for one queue, under the OS's own names (`tp_drops`,
/// `rx_ring_full`, ...), cumulative since the device opened: what the kernel dropped or
/// found empty before uplane saw anything. Split by the direction they are about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Receive-side counters.
    pub rx: Vec<(&'static str, u64)>,
    /// Transmit-side counters.
    pub tx: Vec<(&'static str, u64)>,
}

impl KernelCounters {
    /// The counter named `name` on either side.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.rx
            .iter()
            .chain(&self.tx)
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }
}

/// The static description `show hardware-interfaces` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwInfo {
    /// Driver name (`af-packet`, `tap`, `af-xdp`).
    pub driver: &'static str,
    /// The host interface the device is bound to.
    pub host_if: String,
    /// How packets move (`TPACKET_V3 mmap rx, TPACKET_V3 mmap tx, qdisc bypass`).
    pub mode: String,
    /// Rx queues.
    pub rx_queues: usize,
    /// Tx queues.
    pub tx_queues: usize,
    /// Rx ring size per queue, in the driver's unit (said in `mode`).
    pub rx_ring: String,
    /// Tx ring size per queue.
    pub tx_ring: String,
    /// Offloads and how partial checksums / GSO are handled.
    pub offloads: String,
}

impl fmt::Display for HwInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  driver {}, host interface {}",
            self.driver, self.host_if
        )?;
        writeln!(f, "  mode: {}", self.mode)?;
        writeln!(
            f,
            "  queues: rx {} ({} each), tx {} ({} each)",
            self.rx_queues, self.rx_ring, self.tx_queues, self.tx_ring
        )?;
        write!(f, "  offloads: {}", self.offloads)
    }
}

/// What [`Device::tx_build`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxBuild {
    /// A packet of this many bytes was built and queued.
    Sent(usize),
    /// The builder had nothing to send; the slot stays free.
    Nothing,
    /// No free slot (the OS has not sent the older ones yet); the builder was not called.
    RingFull,
    /// The device has no ring to build in (or no such queue): use `tx_burst`.
    Unsupported,
}

/// Hands what a transmit queue's ring holds to the OS, from any thread
/// ([`Device::take_tx_kick`]).
pub trait TxKick: Send + Sync + fmt::Debug {
    /// Asks the OS to send what was queued since the last kick; true if there was some and
    /// the OS took the request (false too when it refused, e.g. the link is down: the
    /// packets stay queued for the next kick).
    fn kick(&self) -> bool;
}

/// A packet device. See the module documentation for the burst contract.
pub trait Device: Send + fmt::Debug {
    /// The static description for `show hardware-interfaces`.
    fn hw_info(&self) -> &HwInfo;

    /// Receives into `frame`; see the module documentation.
    fn rx_burst(&mut self, queue: usize, cache: &mut BufferCache, frame: &mut Frame) -> usize;

    /// Sends from the front of `frame`; see the module documentation.
    fn tx_burst(&mut self, queue: usize, frame: &mut Frame, cache: &mut BufferCache) -> usize;

    /// Number of rx queues.
    fn rx_queues(&self) -> usize {
        self.hw_info().rx_queues
    }

    /// Number of tx queues.
    fn tx_queues(&self) -> usize {
        self.hw_info().tx_queues
    }

    /// The carrier now (asks the OS).
    fn link_state(&self) -> LinkState;

    /// The device's Ethernet address.
    fn mac(&self) -> [u8; 6];

    /// The MTU (L3 bytes).
    fn mtu(&self) -> u32;

    /// Sets the administrative state (for host-backed devices, the host interface's
    /// `IFF_UP`).
    fn set_admin_up(&mut self, up: bool) -> Result<(), DeviceError>;

    /// The per-queue counters.
    fn stats(&self) -> &Arc<DeviceStats>;

    /// Reads the OS's own counters of queue `queue` now (see [`KernelCounters`]) and adds
    /// what is new since the last read to the queue's generic counters (`ring_full`,
    /// `fill_empty`, `drops`); drivers do this every few bursts by themselves too. Called
    /// with the device locked, like the bursts, so the counters keep one writer at a time.
    /// Drivers whose OS keeps no such counters (and queues out of range) give none.
    fn kernel_counters(&mut self, queue: usize) -> KernelCounters {
        let _ = queue;
        KernelCounters::default()
    }

    /// Writes out whatever the device buffers (the pcap device's tx file). The daemon calls
    /// it on shutdown; most drivers buffer nothing.
    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }

    /// Builds one packet in place in `queue`'s transmit ring: `build` gets the free slot's
    /// room (from the Ethernet header on) and returns the packet's length, or `None` to
    /// send nothing. Counted like `tx_burst`'s packets. See the module documentation.
    fn tx_build(
        &mut self,
        queue: usize,
        build: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> TxBuild {
        let _ = (queue, build);
        TxBuild::Unsupported
    }

    /// Moves the transmit kick of `queue` out of `tx_burst` into the returned handle: from
    /// then on `tx_burst` and `tx_build` only fill the ring, and whoever holds the handle
    /// makes the OS send, from any thread (so the OS's transmit work, on veth the peer's
    /// whole receive path, runs outside the lock the filling thread holds). `None`: the
    /// device sends in `tx_burst` itself.
    fn take_tx_kick(&mut self, queue: usize) -> Option<Arc<dyn TxKick>> {
        let _ = queue;
        None
    }

    /// Gives back every buffer the device holds (zero-copy rings). Copying drivers hold
    /// none. Called by the nodes' [`graph::Node::release`] — by the input and the output
    /// node, so it must be idempotent (the second call finds nothing to give back).
    fn release(&mut self, cache: &mut BufferCache) {
        let _ = cache;
    }
}

/// Locks a shared device; a poisoned lock (a panic while it was held) is taken over, since
/// the device's state is still consistent between bursts.
pub(crate) fn lock(dev: &SharedDevice) -> std::sync::MutexGuard<'_, dyn Device + 'static> {
    dev.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
