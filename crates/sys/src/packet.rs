//! AF_PACKET sockets with TPACKET_V3 memory-mapped rings (rx block ring, tx frame ring).
//!
//! The rings are memory shared with the kernel. Ownership of each part moves by a status
//! word, and this module is the only code that touches the mapping:
//!
//! * **rx** (block based): a block belongs to us once its `block_status` has
//!   `TP_STATUS_USER`, read with *acquire* ordering (so the packet bytes the kernel wrote
//!   before retiring the block are visible). We walk its packets, and hand it back by storing
//!   `TP_STATUS_KERNEL` with *release* ordering after the last packet was read. A packet
//!   slice ([`RxPacket::data`]) borrows the socket mutably, so the block cannot be handed back
//!   while a slice into it lives.
//! * **tx** (frame based, TPACKET_V3 frames of fixed size): a frame is ours while its
//!   `tp_status` is `TP_STATUS_AVAILABLE` (acquire load). We copy a packet in, set `tp_len`
//!   and store `TP_STATUS_SEND_REQUEST` with release ordering; [`PacketSocket::tx_kick`]
//!   (`sendto` with no data) makes the kernel send every requested frame. A packet can also
//!   be built in the frame itself ([`PacketSocket::tx_frame`]), and the kick can be made by
//!   another thread ([`PacketSocket::tx_kicker`]) while this one fills more frames: the
//!   kernel walks the ring by the same status words.
//!
//! Every offset the kernel gives (first packet, next packet, MAC offset, snap length) is
//! checked against the block before any byte is read: a bad descriptor skips the rest of
//! the block and is counted, never a panic or an out-of-bounds read.

use crate::mmap::Region;
use crate::netdev::IfName;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// `TPACKET_V3` from `enum tpacket_versions`.
const TPACKET_V3: libc::c_int = 2;
/// `TPACKET_ALIGN(sizeof(struct tpacket3_hdr))`: where a tx frame's data starts without
/// `PACKET_TX_HAS_OFF`, and the minimum rx MAC offset.
const V3_HDR_LEN: usize = 48;
/// Size of `struct virtio_net_hdr`.
pub const VNET_HDR_LEN: usize = 10;

// struct tpacket_block_desc / tpacket_hdr_v1 offsets.
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST_PKT: usize = 16;
// struct tpacket3_hdr offsets.
const PKT_NEXT: usize = 0;
const PKT_SNAPLEN: usize = 12;
const PKT_LEN: usize = 16;
const PKT_STATUS: usize = 20;
const PKT_MAC_NET: usize = 24;

/// Geometry and options of one AF_PACKET socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketConfig {
    /// Bytes per rx block (a multiple of the page size); a block is handed to us whole.
    pub rx_block_size: u32,
    /// Number of rx blocks.
    pub rx_block_count: u32,
    /// Milliseconds after which the kernel hands over a partly filled block.
    pub rx_block_timeout_ms: u32,
    /// Bytes per tx frame (header, optional virtio-net header, packet).
    pub tx_frame_size: u32,
    /// Number of tx frames.
    pub tx_frame_count: u32,
    /// Ask for a `struct virtio_net_hdr` before every packet (`PACKET_VNET_HDR`).
    pub vnet_hdr: bool,
    /// Send straight to the driver, skipping the qdisc layer (`PACKET_QDISC_BYPASS`).
    pub qdisc_bypass: bool,
    /// Put the interface in promiscuous mode for as long as the socket lives.
    pub promiscuous: bool,
    /// Join this `PACKET_FANOUT_HASH` group (several sockets share one interface's rx).
    pub fanout_group: Option<u16>,
}

impl Default for PacketConfig {
    fn default() -> Self {
        PacketConfig {
            rx_block_size: 1 << 17,
            rx_block_count: 16,
            rx_block_timeout_ms: 1,
            tx_frame_size: 4096,
            tx_frame_count: 512,
            vnet_hdr: true,
            qdisc_bypass: true,
            promiscuous: true,
            fanout_group: None,
        }
    }
}

impl PacketConfig {
    /// Bytes of packet (Ethernet header included) one tx frame can carry.
    pub fn tx_max_packet(&self) -> usize {
        let hdr = if self.vnet_hdr { VNET_HDR_LEN } else { 0 };
        (self.tx_frame_size as usize).saturating_sub(V3_HDR_LEN + hdr)
    }
}

/// The virtio-net header the kernel puts before each packet with `PACKET_VNET_HDR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VnetHeader {
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM` (1): the L4 checksum is partial (pseudo-header only).
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*`: 0 is none; else the packet is a super-packet to segment.
    pub gso_type: u8,
    /// Length of the headers to copy into every segment.
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Where checksumming starts (from the Ethernet header).
    pub csum_start: u16,
    /// Where the checksum field is, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHeader {
    /// `flags` bit: the checksum at `csum_start + csum_offset` must be completed.
    pub const NEEDS_CSUM: u8 = 1;

    fn parse(b: &[u8]) -> VnetHeader {
        let u16_at = |i: usize| match b.get(i..i + 2) {
            Some(s) => u16::from_ne_bytes([s[0], s[1]]),
            None => 0,
        };
        VnetHeader {
            flags: b.first().copied().unwrap_or(0),
            gso_type: b.get(1).copied().unwrap_or(0),
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        }
    }
}

/// One received packet, borrowed from an rx block we own.
#[derive(Debug)]
pub struct RxPacket<'a> {
    /// The captured bytes from the Ethernet header on (`snaplen` of them).
    pub data: &'a [u8],
    /// Length of the packet on the wire; more than `data.len()` if the ring cut it.
    pub wire_len: u32,
    /// The virtio-net header, when the socket asked for one.
    pub vnet: Option<VnetHeader>,
    /// The kernel's `tp_status` bits for this packet.
    pub status: u32,
}

/// What [`PacketSocket::tx_push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxPush {
    /// Copied into a ring frame and marked for sending.
    Queued,
    /// No free frame: the kernel has not sent the older ones yet.
    RingFull,
    /// Longer than a ring frame can carry; nothing was written.
    TooBig,
}

/// Counters the kernel keeps for a packet socket (`PACKET_STATISTICS`; reading resets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelStats {
    /// Packets the socket saw.
    pub packets: u32,
    /// Packets dropped because the ring was full.
    pub drops: u32,
    /// Times the rx queue froze because no block was free.
    pub freezes: u32,
}

#[derive(Debug)]
struct RxState {
    block_size: usize,
    block_count: usize,
    cur: usize,
    owned: bool,
    left: u32,
    off: usize,
    bad: u64,
}

#[derive(Debug)]
struct TxState {
    base: usize,
    frame_size: usize,
    frame_count: usize,
    /// Bytes per tx block and frames per block: a frame never crosses a block, so when
    /// the frame size does not divide the block the rest of each block is unused.
    block_size: usize,
    per_block: usize,
    cur: usize,
    /// Frames marked since the last kick (shared with the [`TxKicker`]s).
    pending: Arc<AtomicBool>,
}

/// An AF_PACKET socket bound to one interface, with mapped rx and tx rings.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    map: Region,
    rx: RxState,
    tx: TxState,
    ifindex: u32,
    vnet_hdr: bool,
}

fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` points to a live `T` of `size_of::<T>()` bytes, which the kernel only
    // reads; every call site passes the type the option expects.
    crate::syscall!(setsockopt(
        fd.as_raw_fd(),
        level,
        name,
        (val as *const T).cast(),
        size_of::<T>() as libc::socklen_t
    ))?;
    Ok(())
}

fn opt_err(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl PacketSocket {
    /// Opens a raw packet socket on interface `name` (in the calling thread's network
    /// namespace), sets up and maps its rings, and binds it. Errors name the step that failed.
    pub fn open(name: &IfName, cfg: &PacketConfig) -> io::Result<PacketSocket> {
        let page = crate::mmap::page_size();
        let bs = cfg.rx_block_size as usize;
        if bs == 0 || !bs.is_multiple_of(page) || cfg.rx_block_count == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rx block geometry",
            ));
        }
        let fs = cfg.tx_frame_size as usize;
        if fs < V3_HDR_LEN + 64 || !fs.is_multiple_of(16) || cfg.tx_frame_count == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tx frame geometry",
            ));
        }
        let raw = crate::syscall!(socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0
        ))
        .map_err(opt_err("socket(AF_PACKET)"))?;
        // SAFETY: `socket` just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let ifindex = crate::netdev::index(fd.as_fd(), name)
            .map_err(|e| io::Error::new(e.kind(), format!("interface {name}: {e}")))?;
        let one: libc::c_int = 1;
        if cfg.vnet_hdr {
            setsockopt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_VNET_HDR, &one)
                .map_err(opt_err("PACKET_VNET_HDR"))?;
        }
        setsockopt(
            fd.as_fd(),
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &TPACKET_V3,
        )
        .map_err(opt_err("PACKET_VERSION"))?;
        setsockopt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_LOSS, &one)
            .map_err(opt_err("PACKET_LOSS"))?;
        if cfg.qdisc_bypass {
            setsockopt(
                fd.as_fd(),
                libc::SOL_PACKET,
                libc::PACKET_QDISC_BYPASS,
                &one,
            )
            .map_err(opt_err("PACKET_QDISC_BYPASS"))?;
        }
        // Our own transmissions must not come back on rx (kernel >= 4.20).
        setsockopt(
            fd.as_fd(),
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            &one,
        )
        .map_err(opt_err("PACKET_IGNORE_OUTGOING"))?;
        let rx_frame = 2048u32.min(cfg.rx_block_size);
        let rx_req = libc::tpacket_req3 {
            tp_block_size: cfg.rx_block_size,
            tp_block_nr: cfg.rx_block_count,
            tp_frame_size: rx_frame,
            tp_frame_nr: cfg.rx_block_size / rx_frame * cfg.rx_block_count,
            tp_retire_blk_tov: cfg.rx_block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_RX_RING, &rx_req)
            .map_err(opt_err("PACKET_RX_RING"))?;
        let tx_block = fs.max(page).next_multiple_of(page);
        let per_block = tx_block / fs;
        let tx_blocks = (cfg.tx_frame_count as usize).div_ceil(per_block);
        let tx_req = libc::tpacket_req3 {
            tp_block_size: tx_block as u32,
            tp_block_nr: tx_blocks as u32,
            tp_frame_size: cfg.tx_frame_size,
            tp_frame_nr: (tx_blocks * per_block) as u32,
            tp_retire_blk_tov: 0,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_TX_RING, &tx_req)
            .map_err(opt_err("PACKET_TX_RING"))?;
        let rx_len = bs * cfg.rx_block_count as usize;
        let tx_len = tx_block * tx_blocks;
        let map = Region::shared(&fd, rx_len + tx_len, 0).map_err(opt_err("mmap rings"))?;
        // SAFETY: `sockaddr_ll` is plain old data; all-zero is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a live `sockaddr_ll` and the length passed is its size.
        crate::syscall!(bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t
        ))
        .map_err(opt_err("bind"))?;
        if cfg.promiscuous {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as i32,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(
                fd.as_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                &mreq,
            )
            .map_err(opt_err("PACKET_ADD_MEMBERSHIP promisc"))?;
        }
        if let Some(group) = cfg.fanout_group {
            let arg: libc::c_int =
                libc::c_int::from(group) | ((libc::PACKET_FANOUT_HASH as libc::c_int) << 16);
            setsockopt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_FANOUT, &arg)
                .map_err(opt_err("PACKET_FANOUT"))?;
        }
        Ok(PacketSocket {
            fd,
            map,
            rx: RxState {
                block_size: bs,
                block_count: cfg.rx_block_count as usize,
                cur: 0,
                owned: false,
                left: 0,
                off: 0,
                bad: 0,
            },
            tx: TxState {
                base: rx_len,
                frame_size: fs,
                frame_count: tx_blocks * per_block,
                block_size: tx_block,
                per_block,
                cur: 0,
                pending: Arc::new(AtomicBool::new(false)),
            },
            ifindex,
            vnet_hdr: cfg.vnet_hdr,
        })
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Tx ring frames.
    pub fn tx_frames(&self) -> usize {
        self.tx.frame_count
    }

    /// Rx descriptors that were out of bounds (the rest of their block was skipped).
    pub fn rx_bad_descriptors(&self) -> u64 {
        self.rx.bad
    }

    /// The word at byte `off` of the mapping, as an atomic shared with the kernel.
    fn word(&self, off: usize) -> &AtomicU32 {
        assert!(
            off.is_multiple_of(4) && off + 4 <= self.map.len(),
            "ring word {off} out of range"
        );
        // SAFETY: `off` is 4-aligned and in bounds (checked above; the mapping is page
        // aligned); the mapping lives as long as `&self`; `AtomicU32` has the layout of `u32`
        // and the kernel accesses ring header words as whole words.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().wrapping_add(off).cast()) }
    }

    /// `len` bytes at `off`, which lie in an rx block we own (status `TP_STATUS_USER`).
    fn rx_bytes(&self, off: usize, len: usize) -> &[u8] {
        assert!(off + len <= self.tx.base, "rx bytes out of range");
        // SAFETY: in bounds of the rx part of the mapping (checked above); the block holding
        // them is owned by us until `release_block`, which needs `&mut self`, so the kernel
        // does not write them while this borrow of `self` lives.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().wrapping_add(off), len) }
    }

    fn release_block(&mut self) {
        let b = self.rx.cur * self.rx.block_size;
        self.word(b + BLOCK_STATUS)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.rx.cur = (self.rx.cur + 1) % self.rx.block_count;
        self.rx.owned = false;
        self.rx.left = 0;
    }

    fn mac_offset(w: u32) -> usize {
        if cfg!(target_endian = "little") {
            (w & 0xffff) as usize
        } else {
            (w >> 16) as usize
        }
    }

    /// The next received packet, or `None` when the kernel has handed over no more.
    ///
    /// A block goes back to the kernel when its last packet was taken and this is called
    /// again; keep calling until `None` to return blocks promptly.
    pub fn rx_next(&mut self) -> Option<RxPacket<'_>> {
        loop {
            if self.rx.left == 0 {
                if self.rx.owned {
                    self.release_block();
                }
                let b = self.rx.cur * self.rx.block_size;
                let status = self.word(b + BLOCK_STATUS).load(Ordering::Acquire);
                if status & libc::TP_STATUS_USER == 0 {
                    return None;
                }
                let n = self.word(b + BLOCK_NUM_PKTS).load(Ordering::Relaxed);
                let first = self.word(b + BLOCK_FIRST_PKT).load(Ordering::Relaxed) as usize;
                self.rx.owned = true;
                self.rx.left = n;
                self.rx.off = first;
                continue;
            }
            let bs = self.rx.block_size;
            let off = self.rx.off;
            if !off.is_multiple_of(4) || off.saturating_add(V3_HDR_LEN) > bs {
                self.rx.bad += 1;
                self.rx.left = 0;
                continue;
            }
            let p = self.rx.cur * bs + off;
            let next = self.word(p + PKT_NEXT).load(Ordering::Relaxed) as usize;
            let snap = self.word(p + PKT_SNAPLEN).load(Ordering::Relaxed) as usize;
            let wire_len = self.word(p + PKT_LEN).load(Ordering::Relaxed);
            let status = self.word(p + PKT_STATUS).load(Ordering::Relaxed);
            let mac = Self::mac_offset(self.word(p + PKT_MAC_NET).load(Ordering::Relaxed));
            self.rx.left -= 1;
            if self.rx.left > 0 {
                if next == 0 {
                    self.rx.bad += 1;
                    self.rx.left = 0;
                } else {
                    self.rx.off = off.saturating_add(next);
                }
            }
            let vlen = if self.vnet_hdr { VNET_HDR_LEN } else { 0 };
            if mac < V3_HDR_LEN + vlen || off + mac + snap > bs {
                self.rx.bad += 1;
                self.rx.left = 0;
                continue;
            }
            let vnet = self
                .vnet_hdr
                .then(|| VnetHeader::parse(self.rx_bytes(p + mac - VNET_HDR_LEN, VNET_HDR_LEN)));
            return Some(RxPacket {
                data: self.rx_bytes(p + mac, snap),
                wire_len,
                vnet,
                status,
            });
        }
    }

    /// Copies `packet` (from its Ethernet header) into the next free tx frame and marks it
    /// for sending. Call [`Self::tx_kick`] after a batch.
    pub fn tx_push(&mut self, packet: &[u8]) -> TxPush {
        let vlen = if self.vnet_hdr { VNET_HDR_LEN } else { 0 };
        if packet.len() + vlen + V3_HDR_LEN > self.tx.frame_size {
            return TxPush::TooBig;
        }
        let Some(mut f) = self.tx_frame() else {
            return TxPush::RingFull;
        };
        let Some(dst) = f.buf().get_mut(..packet.len()) else {
            return TxPush::TooBig;
        };
        dst.copy_from_slice(packet);
        f.send(packet.len());
        TxPush::Queued
    }

    /// The next free tx frame, to build a packet in ([`TxFrame::buf`], then
    /// [`TxFrame::send`]); `None` while the kernel has not sent it yet (ring full).
    pub fn tx_frame(&mut self) -> Option<TxFrame<'_>> {
        let (block, slot) = (
            self.tx.cur / self.tx.per_block,
            self.tx.cur % self.tx.per_block,
        );
        let f = self.tx.base + block * self.tx.block_size + slot * self.tx.frame_size;
        let status = self.word(f + PKT_STATUS).load(Ordering::Acquire);
        if status != libc::TP_STATUS_AVAILABLE && status & libc::TP_STATUS_WRONG_FORMAT == 0 {
            return None;
        }
        let vlen = if self.vnet_hdr { VNET_HDR_LEN } else { 0 };
        let start = f + V3_HDR_LEN;
        let len = self.tx.frame_size - V3_HDR_LEN;
        assert!(start + len <= self.map.len(), "tx frame out of range");
        Some(TxFrame {
            sock: self,
            frame: f,
            vlen,
        })
    }

    /// Asks the kernel to send every frame marked by [`Self::tx_push`]. `WouldBlock` and
    /// `ENOBUFS` are not errors (the frames stay queued and go with the next kick).
    pub fn tx_kick(&mut self) -> io::Result<()> {
        kick(self.fd.as_fd(), &self.tx.pending).map(|_| ())
    }

    /// A handle that kicks this socket's tx ring from another thread (a duplicate of the
    /// descriptor and the shared "frames marked" flag). The kernel sends frames marked
    /// while it runs too, so one thread can fill frames while another is in the kick.
    pub fn tx_kicker(&self) -> io::Result<TxKicker> {
        Ok(TxKicker {
            fd: self.fd.try_clone()?,
            pending: self.tx.pending.clone(),
        })
    }

    /// Reads (and resets) the kernel's counters for this socket.
    pub fn kernel_stats(&self) -> io::Result<KernelStats> {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` and `len` are live and writable; the kernel writes at most `len` bytes.
        crate::syscall!(getsockopt(
            self.fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats_v3).cast(),
            &mut len
        ))?;
        Ok(KernelStats {
            packets: st.tp_packets,
            drops: st.tp_drops,
            freezes: st.tp_freeze_q_cnt,
        })
    }
}

/// `sendto` with no data if a frame was marked since the last kick; true if it asked.
fn kick(fd: BorrowedFd<'_>, pending: &AtomicBool) -> io::Result<bool> {
    // Acquire: the status stores of the frames marked before the flag are visible to the
    // kernel's walk that this call starts.
    if !pending.swap(false, Ordering::Acquire) {
        return Ok(false);
    }
    // SAFETY: `sendto` with no data and no address reads no memory of ours.
    let r = crate::syscall!(sendto(
        fd.as_raw_fd(),
        std::ptr::null(),
        0,
        libc::MSG_DONTWAIT,
        std::ptr::null(),
        0
    ));
    match r {
        Ok(_) => Ok(true),
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) =>
        {
            Ok(true)
        }
        Err(e) => {
            // The frames stay marked: the next kick tries them again.
            pending.store(true, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// A free tx frame of a [`PacketSocket`], borrowed until [`send`](Self::send) hands it to
/// the kernel (dropped unsent, it stays free).
#[derive(Debug)]
pub struct TxFrame<'a> {
    sock: &'a mut PacketSocket,
    /// Byte offset of the frame in the mapping.
    frame: usize,
    /// Virtio-net header bytes before the packet.
    vlen: usize,
}

impl TxFrame<'_> {
    /// The room for the packet, from its Ethernet header on.
    pub fn buf(&mut self) -> &mut [u8] {
        let start = self.frame + V3_HDR_LEN + self.vlen;
        let len = self.sock.tx.frame_size - V3_HDR_LEN - self.vlen;
        // SAFETY: in bounds of the mapping (checked by `tx_frame`); the frame's status
        // said the kernel is done with it (acquire load in `tx_frame`), and it stays ours
        // until `send` stores `TP_STATUS_SEND_REQUEST`, which needs `self` by value, so
        // this borrow ends first; `&mut self` makes it the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.sock.map.as_ptr().wrapping_add(start), len) }
    }

    /// Marks the first `len` bytes of [`buf`](Self::buf) for sending (at most the room).
    pub fn send(self, len: usize) {
        let room = self.sock.tx.frame_size - V3_HDR_LEN - self.vlen;
        let len = len.min(room);
        let start = self.frame + V3_HDR_LEN;
        // SAFETY: as in `buf`: the frame's header bytes before the packet are ours.
        let hdr = unsafe {
            std::slice::from_raw_parts_mut(self.sock.map.as_ptr().wrapping_add(start), self.vlen)
        };
        hdr.fill(0);
        if let Some(h) = hdr.get_mut(2..4) {
            // `hdr_len`: the bytes the kernel copies into the skb's linear part (at least
            // the link header). The whole packet: otherwise the rest is attached as
            // references to the ring's pages, which a veth peer (or any receiving socket)
            // must copy out page by page (`skb_copy_ubufs`: a page allocated per packet).
            // tcp-veth (3 x 400 MiB, busy machine): veth_xmit 30% -> 12% of the sendto
            // time, system CPU 2.0-2.6 -> 1.8-2.1 s, uplane 3.9-4.7 -> 4.7-4.9 Gbit/s.
            // A NIC could have sent the ring pages as they are (no copy) but still maps
            // and references each page: for MTU-sized frames about the copy's cost, and
            // NICs are AF_XDP's job here (AF_PACKET mostly meets veths and local sockets).
            h.copy_from_slice(&(len.min(usize::from(u16::MAX)) as u16).to_ne_bytes());
        }
        let f = self.frame;
        let sock = self.sock;
        sock.word(f + PKT_NEXT).store(0, Ordering::Relaxed);
        sock.word(f + PKT_LEN)
            .store((self.vlen + len) as u32, Ordering::Relaxed);
        sock.word(f + PKT_STATUS)
            .store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        sock.tx.cur = (sock.tx.cur + 1) % sock.tx.frame_count;
        sock.tx.pending.store(true, Ordering::Release);
    }
}

/// Kicks a [`PacketSocket`]'s tx ring from any thread ([`PacketSocket::tx_kicker`]).
#[derive(Debug)]
pub struct TxKicker {
    fd: OwnedFd,
    pending: Arc<AtomicBool>,
}

impl TxKicker {
    /// Asks the kernel to send the marked frames, if any were marked since the last kick
    /// (by anyone); true if it asked. `WouldBlock` and `ENOBUFS` count as asked.
    pub fn kick(&self) -> io::Result<bool> {
        kick(self.fd.as_fd(), &self.pending)
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
