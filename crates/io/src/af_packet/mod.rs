//! AF_PACKET: a host interface through TPACKET_V3 memory-mapped rings.
//!
//! Each queue is one AF_PACKET socket bound to the host interface, with a block-based rx
//! ring and a frame-based tx ring in one mapping (`sys::packet` owns that memory and its
//! ownership protocol). Several queues share the interface's rx through a
//! `PACKET_FANOUT_HASH` group (flows stay on one queue). Sends bypass the qdisc layer
//! (`PACKET_QDISC_BYPASS`); our own sends are not looped back to rx
//! (`PACKET_IGNORE_OUTGOING`); the interface is promiscuous while the device lives.
//!
//! **Copies.** The ring is kernel memory, so rx copies each packet into a pool buffer
//! (never a reference into the ring) and tx copies each buffer into a ring frame and frees
//! the buffer at once. No allocation per packet.
//!
//! **Offloads (GSO and partial checksums).** On veth the peer's kernel stack hands over
//! packets with partial checksums (`CHECKSUM_PARTIAL`) and TSO/GSO super-packets. We set
//! `PACKET_VNET_HDR` and read the virtio-net header before each packet:
//! * `NEEDS_CSUM`: the checksum is completed in software (sum from `csum_start` to the
//!   end, written at `csum_start + csum_offset`), so what enters the graph is always a
//!   valid wire packet;
//! * a GSO super-packet longer than the MTU (we do not segment) is dropped and counted as
//!   `oversize`. To avoid those drops, turn TSO/GSO off where the packets come from
//!   (`ethtool -K <peer> tso off gso off`; `testkit::Lab::offloads_off`).
//!
//! On tx we send an all-zero virtio-net header: every packet is complete.

use crate::device::{
    Device, DeviceError, DeviceStats, HwInfo, KernelCounters, LinkState, QueueCounters, TxBuild,
    TxKick,
};
use buf::{Buf, BufFlags, BufferCache, Frame, CHUNK_SIZE, HEADROOM};
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use sys::netdev::{self, IfName};
use sys::packet::{PacketConfig, PacketSocket, TxKicker, TxPush, VnetHeader};

/// The AF_PACKET input node's name.
pub const AF_PACKET_INPUT: &str = "af-packet-input";
/// The AF_PACKET output node's name.
pub const AF_PACKET_OUTPUT: &str = "af-packet-output";

/// Ethernet header plus one VLAN tag: what a frame may add to the MTU.
const L2_OVERHEAD: usize = 18;
/// Kernel drop counters are read once per this many rx bursts of a queue.
const KERNEL_STATS_EVERY: u32 = 1024;

/// A new `af-packet-input` node (attach queues with [`crate::device::DeviceInput::attach`]).
pub fn input_node() -> crate::device::DeviceInput {
    crate::device::DeviceInput::new(AF_PACKET_INPUT)
}

/// A new `af-packet-output` node (attach with [`crate::device::DeviceOutput::attach`]).
pub fn output_node() -> crate::device::DeviceOutput {
    crate::device::DeviceOutput::new(AF_PACKET_OUTPUT)
}

/// How to open an [`AfPacket`] device.
#[derive(Debug, Clone)]
pub struct AfPacketConfig {
    /// The host interface (`veth0`).
    pub host_if: String,
    /// Queues (sockets); more than one joins them in a fanout group.
    pub queues: usize,
    /// Ring geometry and socket options of each queue (`fanout_group` is set for you).
    pub ring: PacketConfig,
}

impl AfPacketConfig {
    /// One queue on `host_if`, default rings (16 × 128 KiB rx blocks with a 1 ms timeout,
    /// 512 × 4 KiB tx frames), virtio-net header on, qdisc bypass, promiscuous.
    pub fn new(host_if: &str) -> AfPacketConfig {
        AfPacketConfig {
            host_if: host_if.to_string(),
            queues: 1,
            ring: PacketConfig::default(),
        }
    }
}

#[derive(Debug)]
struct Queue {
    sock: PacketSocket,
    bursts: u32,
    /// The kernel's `PACKET_STATISTICS` added up (each read resets the kernel's copy).
    kernel: KernelTotals,
    /// The tx kick was handed out ([`Device::take_tx_kick`]): `tx_burst` only fills.
    kick_elsewhere: bool,
}

/// [`TxKick`] of an AF_PACKET queue: `sendto` on a duplicate of its descriptor.
#[derive(Debug)]
struct AfPacketKick(TxKicker);

impl TxKick for AfPacketKick {
    fn kick(&self) -> bool {
        self.0.kick().unwrap_or(false)
    }
}

/// `PACKET_STATISTICS` since the socket opened.
#[derive(Debug, Default, Clone, Copy)]
struct KernelTotals {
    packets: u64,
    drops: u64,
    freezes: u64,
}

/// Reads (and so resets) the kernel's counters of `q`, adds them to its totals, and the
/// ring-full drops to `ring_full`.
fn poll_kernel_stats(q: &mut Queue, st: &QueueCounters) {
    if let Ok(k) = q.sock.kernel_stats() {
        q.kernel.packets += u64::from(k.packets);
        q.kernel.drops += u64::from(k.drops);
        q.kernel.freezes += u64::from(k.freezes);
        st.ring_full.add(u64::from(k.drops));
    }
}

/// An AF_PACKET device: see the module documentation.
#[derive(Debug)]
pub struct AfPacket {
    queues: Vec<Queue>,
    name: IfName,
    info: HwInfo,
    stats: Arc<DeviceStats>,
    mac: [u8; 6],
    /// Longest frame accepted on rx without GSO: MTU plus L2 header and one tag. Read at
    /// open and refreshed with the kernel counters (not an ioctl per burst).
    max_frame: usize,
}

static FANOUT_GROUP: AtomicU16 = AtomicU16::new(1);

impl AfPacket {
    /// Opens the device on `cfg.host_if` in the calling thread's network namespace.
    pub fn open(cfg: &AfPacketConfig) -> Result<AfPacket, DeviceError> {
        let name =
            IfName::new(&cfg.host_if).map_err(|_| DeviceError::BadName(cfg.host_if.clone()))?;
        if cfg.queues == 0 || cfg.queues > 64 {
            return Err(DeviceError::Config("queues must be 1..=64"));
        }
        let os = |what: &'static str| {
            let ifname = cfg.host_if.clone();
            move |source: io::Error| DeviceError::Os {
                what,
                ifname,
                source,
            }
        };
        let mut ring = cfg.ring;
        if cfg.queues > 1 {
            let g = FANOUT_GROUP.fetch_add(1, Ordering::Relaxed);
            ring.fanout_group = Some((std::process::id() as u16).wrapping_mul(61).wrapping_add(g));
        }
        let mut queues = Vec::with_capacity(cfg.queues);
        for _ in 0..cfg.queues {
            let sock = PacketSocket::open(&name, &ring).map_err(os("AF_PACKET socket"))?;
            queues.push(Queue {
                sock,
                bursts: 0,
                kernel: KernelTotals::default(),
                kick_elsewhere: false,
            });
        }
        let ctl = queues[0].sock.as_fd();
        let mac = netdev::mac(ctl, &name).map_err(os("SIOCGIFHWADDR"))?;
        let mtu = netdev::mtu(ctl, &name).map_err(os("SIOCGIFMTU"))?;
        let mut mode = format!(
            "TPACKET_V3 mmap rx, TPACKET_V3 mmap tx{}",
            if ring.qdisc_bypass {
                ", qdisc bypass"
            } else {
                ""
            }
        );
        if cfg.queues > 1 {
            mode.push_str(", fanout hash");
        }
        let offloads = if ring.vnet_hdr {
            "virtio-net header: partial checksums completed in software; GSO frames over the \
             MTU dropped as oversize (turn tso/gso off on the sending side)"
        } else {
            "none: the sending side must not use checksum offload or GSO"
        };
        let info = HwInfo {
            driver: "af-packet",
            host_if: cfg.host_if.clone(),
            mode,
            rx_queues: cfg.queues,
            tx_queues: cfg.queues,
            rx_ring: format!(
                "{} blocks x {} KiB, {} ms timeout",
                ring.rx_block_count,
                ring.rx_block_size / 1024,
                ring.rx_block_timeout_ms
            ),
            tx_ring: format!(
                "{} frames x {} B",
                queues[0].sock.tx_frames(),
                ring.tx_frame_size
            ),
            offloads: offloads.into(),
        };
        Ok(AfPacket {
            queues,
            name,
            info,
            stats: DeviceStats::new(cfg.queues, cfg.queues),
            mac,
            max_frame: mtu as usize + L2_OVERHEAD,
        })
    }

    /// Adds the kernel's drop counters of queue `q` (packets lost because our rx ring was
    /// full) to its `ring_full` counter. Done every few bursts by `rx_burst` too.
    pub fn sync_kernel_stats(&mut self, q: usize) {
        if let (Some(queue), Some(st)) = (self.queues.get_mut(q), self.stats.rx.get(q)) {
            poll_kernel_stats(queue, st);
        }
    }
}

/// Completes a partial checksum: the ones'-complement sum from `start` to the end of the
/// packet (the field holds the pseudo-header sum) is written at `start + offset`. False,
/// and nothing written, if the offsets do not fit the packet.
fn complete_checksum(data: &mut [u8], start: usize, offset: usize) -> bool {
    let Some(at) = start.checked_add(offset) else {
        return false;
    };
    if at.checked_add(2).is_none_or(|end| end > data.len()) {
        return false;
    }
    let Some(covered) = data.get(start..) else {
        return false;
    };
    let c = match wire::checksum::finish(wire::checksum::data(covered)) {
        0 => 0xffff,
        c => c,
    };
    if let Some(field) = data.get_mut(at..at + 2) {
        field.copy_from_slice(&c.to_be_bytes());
    }
    true
}

/// What to do with a received packet.
fn rx_one(
    pkt: &sys::packet::RxPacket<'_>,
    max_len: usize,
    b: &mut Buf,
    cache: &BufferCache,
    st: &QueueCounters,
) -> bool {
    let len = pkt.data.len();
    if (pkt.wire_len as usize) > len || len > CHUNK_SIZE - HEADROOM {
        st.drops.add(1);
        st.oversize.add(1);
        return false;
    }
    let vnet = pkt.vnet.unwrap_or_default();
    if vnet.gso_type != 0 && len > max_len {
        st.drops.add(1);
        st.oversize.add(1);
        return false;
    }
    let mut p = cache.pool().get_mut(b);
    if !p.copy_from(pkt.data) {
        st.drops.add(1);
        st.oversize.add(1);
        return false;
    }
    if vnet.flags & VnetHeader::NEEDS_CSUM != 0
        && !complete_checksum(
            p.data_mut(),
            vnet.csum_start.into(),
            vnet.csum_offset.into(),
        )
    {
        st.drops.add(1);
        return false;
    }
    st.packets.add(1);
    st.bytes.add(len as u64);
    true
}

impl Device for AfPacket {
    fn hw_info(&self) -> &HwInfo {
        &self.info
    }

    fn rx_burst(&mut self, queue: usize, cache: &mut BufferCache, frame: &mut Frame) -> usize {
        let (Some(q), Some(st)) = (self.queues.get_mut(queue), self.stats.rx.get(queue)) else {
            return 0;
        };
        q.bursts = q.bursts.wrapping_add(1);
        if q.bursts.is_multiple_of(KERNEL_STATS_EVERY) {
            poll_kernel_stats(q, st);
            if let Ok(mtu) = netdev::mtu(q.sock.as_fd(), &self.name) {
                self.max_frame = mtu as usize + L2_OVERHEAD;
            }
        }
        let max_len = self.max_frame;
        let mut got = 0;
        let mut spare: Option<Buf> = None;
        while frame.room() > 0 {
            let mut b = match spare.take() {
                Some(b) => b,
                None => match cache.alloc() {
                    Some(b) => b,
                    None => {
                        st.fill_empty.add(1);
                        break;
                    }
                },
            };
            let Some(pkt) = q.sock.rx_next() else {
                cache.free(b);
                break;
            };
            if rx_one(&pkt, max_len, &mut b, cache, st) {
                got += 1;
                if let Err(b) = frame.push(b) {
                    cache.free(b);
                }
            } else {
                cache.pool().reset(&mut b);
                spare = Some(b);
            }
        }
        if let Some(b) = spare {
            cache.free(b);
        }
        got
    }

    fn tx_burst(&mut self, queue: usize, frame: &mut Frame, cache: &mut BufferCache) -> usize {
        let (Some(q), Some(st)) = (self.queues.get_mut(queue), self.stats.tx.get(queue)) else {
            return 0;
        };
        let pool = cache.pool().clone();
        let mut taken = 0;
        for b in frame.as_slice() {
            let pkt = pool.get(b);
            if pkt.meta().flags.contains(BufFlags::NEXT_PRESENT) {
                st.drops.add(1);
                taken += 1;
                continue;
            }
            match q.sock.tx_push(pkt.data()) {
                TxPush::Queued => {
                    st.packets.add(1);
                    st.bytes.add(pkt.data().len() as u64);
                }
                TxPush::TooBig => {
                    st.drops.add(1);
                    st.oversize.add(1);
                }
                TxPush::RingFull => {
                    st.ring_full.add(1);
                    break;
                }
            }
            taken += 1;
        }
        if !q.kick_elsewhere && q.sock.tx_kick().is_err() {
            // The frames stay marked and go with the next kick (e.g. once the link is up).
        }
        for b in frame.drain().take(taken) {
            cache.free(b);
        }
        taken
    }

    fn tx_build(
        &mut self,
        queue: usize,
        build: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> TxBuild {
        let (Some(q), Some(st)) = (self.queues.get_mut(queue), self.stats.tx.get(queue)) else {
            return TxBuild::Unsupported;
        };
        let Some(mut f) = q.sock.tx_frame() else {
            st.ring_full.add(1);
            return TxBuild::RingFull;
        };
        let buf = f.buf();
        let room = buf.len();
        match build(buf) {
            Some(n) if n <= room => {
                f.send(n);
                st.packets.add(1);
                st.bytes.add(n as u64);
                TxBuild::Sent(n)
            }
            Some(_) => {
                st.drops.add(1);
                st.oversize.add(1);
                TxBuild::Nothing
            }
            None => TxBuild::Nothing,
        }
    }

    fn take_tx_kick(&mut self, queue: usize) -> Option<Arc<dyn TxKick>> {
        let q = self.queues.get_mut(queue)?;
        let k = q.sock.tx_kicker().ok()?;
        q.kick_elsewhere = true;
        Some(Arc::new(AfPacketKick(k)))
    }

    fn link_state(&self) -> LinkState {
        let up = crate::tap::libc_flags::UP | crate::tap::libc_flags::RUNNING;
        match netdev::flags(self.queues[0].sock.as_fd(), &self.name) {
            Ok(f) if f & up == up => LinkState::Up,
            Ok(_) => LinkState::Down,
            Err(_) => LinkState::Unknown,
        }
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> u32 {
        netdev::mtu(self.queues[0].sock.as_fd(), &self.name).unwrap_or(1500)
    }

    fn set_admin_up(&mut self, up: bool) -> Result<(), DeviceError> {
        netdev::set_up(self.queues[0].sock.as_fd(), &self.name, up).map_err(|source| {
            DeviceError::Os {
                what: "set admin state",
                ifname: self.name.to_string(),
                source,
            }
        })
    }

    fn stats(&self) -> &Arc<DeviceStats> {
        &self.stats
    }

    /// `tp_packets` (what the socket saw, drops included), `tp_drops` (lost to a full rx
    /// ring) and `tp_freeze_q_cnt` (times the ring froze with no free block). AF_PACKET
    /// keeps no tx counters.
    fn kernel_counters(&mut self, queue: usize) -> KernelCounters {
        let (Some(q), Some(st)) = (self.queues.get_mut(queue), self.stats.rx.get(queue)) else {
            return KernelCounters::default();
        };
        poll_kernel_stats(q, st);
        KernelCounters {
            rx: vec![
                ("tp_packets", q.kernel.packets),
                ("tp_drops", q.kernel.drops),
                ("tp_freeze_q_cnt", q.kernel.freezes),
            ],
            tx: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::complete_checksum;

    #[test]
    fn partial_checksum_is_completed() {
        // A UDP datagram 10.0.0.1 -> 10.0.0.2, ports 1 -> 2, payload "hi", whose checksum
        // field holds the pseudo-header sum, as the kernel leaves it with CHECKSUM_PARTIAL.
        let src = std::net::Ipv4Addr::new(10, 0, 0, 1);
        let dst = std::net::Ipv4Addr::new(10, 0, 0, 2);
        let mut udp = [0u8, 1, 0, 2, 0, 10, 0, 0, b'h', b'i'];
        let pseudo = wire::checksum::pseudo_header_v4(src, dst, 17, 10);
        udp[6..8].copy_from_slice(&pseudo.to_be_bytes());
        assert!(complete_checksum(&mut udp, 0, 6));
        let sum = wire::checksum::combine(&[pseudo_sum(src, dst), wire::checksum::data(&udp)]);
        assert_eq!(sum, 0xffff, "a complete checksum sums to all ones");
        assert!(!complete_checksum(&mut udp, 4, 6));
        assert!(!complete_checksum(&mut udp, usize::MAX, 2));
    }

    #[test]
    fn gso_truncated_and_oversize_packets_are_dropped_and_counted() {
        use super::rx_one;
        use crate::device::QueueCounters;
        use sys::packet::{RxPacket, VnetHeader};
        let pool = buf::BufferPool::new(&buf::PoolConfig::new(16)).unwrap();
        let mut cache = buf::BufferCache::new(pool.clone());
        let st = QueueCounters::default();
        let mut b = cache.alloc().unwrap();
        let big = vec![0u8; 3000];
        let gso = VnetHeader {
            gso_type: 1,
            gso_size: 1448,
            ..VnetHeader::default()
        };
        let pkt = |data, wire_len, vnet| RxPacket {
            data,
            wire_len,
            vnet,
            status: 0,
        };
        // A TCP super-packet over the MTU: we do not segment, so it is dropped.
        assert!(!rx_one(
            &pkt(&big, 3000, Some(gso)),
            1518,
            &mut b,
            &cache,
            &st
        ));
        // Cut short by the ring (snaplen < wire length).
        assert!(!rx_one(
            &pkt(&big[..100], 3000, None),
            1518,
            &mut b,
            &cache,
            &st
        ));
        // Larger than a buffer's room.
        let huge = vec![0u8; buf::CHUNK_SIZE];
        assert!(!rx_one(
            &pkt(&huge, huge.len() as u32, None),
            9018,
            &mut b,
            &cache,
            &st
        ));
        // A GSO-marked packet that fits the MTU is one segment already: delivered.
        assert!(rx_one(
            &pkt(&big[..1000], 1000, Some(gso)),
            1518,
            &mut b,
            &cache,
            &st
        ));
        let s = st.snapshot();
        assert_eq!((s.drops, s.oversize, s.packets, s.bytes), (3, 3, 1, 1000));
        assert_eq!(pool.get(&b).data().len(), 1000);
        cache.free(b);
    }

    fn pseudo_sum(src: std::net::Ipv4Addr, dst: std::net::Ipv4Addr) -> u16 {
        wire::checksum::pseudo_header_v4(src, dst, 17, 10)
    }
}
