//! AF_XDP: a host interface through our XDP program and AF_XDP sockets whose UMEM is the
//! buffer pool itself.
//!
//! Opening the device attaches uplane's XDP program (`xdp::XdpProgram`: native mode where
//! the driver has it, generic otherwise) to the interface and opens one AF_XDP socket per
//! queue, bound zero-copy if the driver supports it and in copy mode otherwise (veth is
//! copy mode), with `XDP_USE_NEED_WAKEUP`. Each socket is registered in the program's
//! XSKMAP under its queue, so the program redirects that queue's traffic to it (block-listed
//! sources are dropped before; see the `xdp` crate for the policy).
//!
//! **No copies, buffers move by ownership.** The UMEM is the pool's region (4 KiB chunks,
//! no extra UMEM headroom: the kernel's own 256-byte `XDP_PACKET_HEADROOM` lands packets at
//! the pool's `HEADROOM`). A `Buf` goes to the kernel by its token (`into_raw`, in the
//! fill ring to receive into, in the tx ring to send) and comes back as a token (`from_raw`)
//! only through a per-queue [`umem`] ledger that checks the address the kernel returned is
//! in the pool and names a chunk that was lent out — a bad address is counted
//! (`bad_descriptors`) and never trusted.
//!
//! * `rx_burst`: returns at once, after a few ring-cursor reads and no syscall, when the
//!   queue is idle (nothing received, completed or waiting to be kicked, the fill ring
//!   topped up since frames were last taken, no wakeup asked). Otherwise it gives completed
//!   tx buffers back to the cache, tops up the fill ring from the cache (`fill_empty` when
//!   the pool is dry), wakes the kernel if it asked (`XDP_USE_NEED_WAKEUP`: only then),
//!   kicks tx descriptors left waiting, then turns rx descriptors into buffers with the
//!   data window set where the kernel wrote.
//! * `tx_burst`: posts buffers to the tx ring (chained ones are dropped), kicks the kernel
//!   if it asked, and reaps completions.
//! * `release`: closes the sockets (the kernel then owns nothing) and gives every lent
//!   buffer back to the cache. The XDP program stays attached until the device drops.

mod umem;

use crate::device::{
    Device, DeviceError, DeviceStats, HwInfo, KernelCounters, LinkState, QueueCounters,
};
use buf::{BufFlags, BufferCache, BufferPool, Frame, CHUNK_SIZE};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use sys::netdev::{self, IfName};
use sys::xsk::{BindMode, UmemArea, XdpDesc, XskConfig, XskSocket, XskStats};
use umem::Ledger;
use xdp::{Policy, XdpProgram};

/// The AF_XDP input node's name.
pub const AF_XDP_INPUT: &str = "af-xdp-input";
/// The AF_XDP output node's name.
pub const AF_XDP_OUTPUT: &str = "af-xdp-output";

/// Descriptors moved per ring operation.
const BATCH: usize = 64;
/// Kernel counters are read once per this many rx bursts of a queue.
const KERNEL_STATS_EVERY: u32 = 1024;

/// A new `af-xdp-input` node (attach queues with [`crate::device::DeviceInput::attach`]).
pub fn input_node() -> crate::device::DeviceInput {
    crate::device::DeviceInput::new(AF_XDP_INPUT)
}

/// A new `af-xdp-output` node (attach with [`crate::device::DeviceOutput::attach`]).
pub fn output_node() -> crate::device::DeviceOutput {
    crate::device::DeviceOutput::new(AF_XDP_OUTPUT)
}

/// How to open an [`AfXdp`] device.
#[derive(Debug, Clone)]
pub struct AfXdpConfig {
    /// The host interface (`eth0`).
    pub host_if: String,
    /// Queues (one AF_XDP socket each, bound to the interface's rx/tx queue of that number).
    pub queues: usize,
    /// Ring sizes. `frame_size` must be the pool's chunk size. The fill ring is kept full
    /// from the pool, and every ring can hold pool buffers at once: [`AfXdp::open`] wants
    /// a pool of at least `queues` x [`XskConfig::frames_held`] buffers (9216 per queue
    /// with the default rings), and the pool should have room beyond that for the graph's
    /// threads and for other devices.
    pub ring: XskConfig,
    /// Try a zero-copy bind first (falls back to copy mode).
    pub zero_copy: bool,
    /// Which frames the XDP program sends to uplane.
    pub policy: Policy,
}

impl AfXdpConfig {
    /// One queue on `host_if`: rx ring 2048, fill 4096, tx 1024, completion 2048
    /// ([`XskConfig::default`]), zero-copy if the driver has it, everything redirected to
    /// uplane.
    pub fn new(host_if: &str) -> AfXdpConfig {
        AfXdpConfig {
            host_if: host_if.to_string(),
            queues: 1,
            ring: XskConfig::default(),
            zero_copy: true,
            policy: Policy::RedirectAll,
        }
    }
}

#[derive(Debug)]
struct Queue {
    sock: Option<XskSocket>,
    ledger: Ledger,
    bursts: u32,
    /// The fill ring may have room: frames were taken since it was last topped up, or the
    /// pool ran dry then (or it never was). Cleared by a complete refill.
    refill_due: bool,
    /// The kernel's cumulative counters when last added to ours.
    seen: XskStats,
}

/// AF_XDP-specific counters, beside the generic per-queue ones.
#[derive(Debug, Default)]
pub struct AfXdpCounters {
    /// Addresses from the rx or completion ring that did not name a lent buffer (refused).
    pub bad_descriptors: AtomicU64,
}

/// An AF_XDP device: see the module documentation.
///
/// Its bursts take only the UMEM's pool's cache (`rx_burst` with another pool's cache
/// receives nothing and counts `fill_empty`; `tx_burst` drops such buffers as unsendable).
/// A tx descriptor the kernel rejects (it counts `tx_invalid_descs`) is never completed:
/// its buffer stays lent until [`Device::release`].
#[derive(Debug)]
pub struct AfXdp {
    // Drop order: sockets (in `queues`) close before the program detaches.
    queues: Vec<Queue>,
    program: Arc<Mutex<XdpProgram>>,
    pool: Arc<BufferPool>,
    ctl: OwnedFd,
    name: IfName,
    info: HwInfo,
    stats: Arc<DeviceStats>,
    xdp_stats: Arc<AfXdpCounters>,
    mac: [u8; 6],
    /// Tx ring size: what `tx_room` reports when the kernel has taken everything.
    tx_size: usize,
}

/// Makes the kernel take the tx ring's descriptors. In copy mode one kick sends at most a
/// small batch (the kernel's `TX_BATCH_SIZE`, 32), so kick again while it makes progress:
/// descriptors left in the ring would otherwise wait for the next burst, and a TCP sender
/// waiting for the ACKs of exactly those segments never causes one (a stall).
fn drain_tx(sock: &mut XskSocket, tx_size: usize) {
    let mut pending = tx_size.saturating_sub(sock.tx_room());
    for _ in 0..64 {
        if pending == 0 || sock.tx_kick().is_err() {
            return;
        }
        let now = tx_size.saturating_sub(sock.tx_room());
        if now >= pending {
            return;
        }
        pending = now;
    }
}

impl AfXdp {
    /// Opens the device on `cfg.host_if` (calling thread's network namespace) with `pool`
    /// as the UMEM: attaches the XDP program, opens and registers one socket per queue.
    pub fn open(cfg: &AfXdpConfig, pool: &Arc<BufferPool>) -> Result<AfXdp, DeviceError> {
        let name =
            IfName::new(&cfg.host_if).map_err(|_| DeviceError::BadName(cfg.host_if.clone()))?;
        if cfg.queues == 0 || cfg.queues > 64 {
            return Err(DeviceError::Config("queues must be 1..=64"));
        }
        if cfg.ring.frame_size as usize != CHUNK_SIZE {
            return Err(DeviceError::Config(
                "frame_size must be the pool's chunk size",
            ));
        }
        let needed = cfg.ring.frames_held() * cfg.queues as u64;
        if needed > u64::from(pool.capacity()) {
            // The rings could hold every buffer: the fill ring would starve.
            return Err(DeviceError::PoolTooSmall {
                ifname: cfg.host_if.clone(),
                buffers: pool.capacity(),
                needed,
            });
        }
        let os = |what: &'static str| {
            let ifname = cfg.host_if.clone();
            move |source: io::Error| DeviceError::Os {
                what,
                ifname,
                source,
            }
        };
        let xdp_err = |what: &'static str| {
            let ifname = cfg.host_if.clone();
            move |e: xdp::XdpError| DeviceError::Os {
                what,
                ifname,
                source: io::Error::other(e.to_string()),
            }
        };
        let ctl = netdev::control_socket().map_err(os("control socket"))?;
        let mac = netdev::mac(ctl.as_fd(), &name).map_err(os("SIOCGIFHWADDR"))?;
        let mut program = XdpProgram::attach(&cfg.host_if).map_err(xdp_err("XDP attach"))?;
        program
            .set_policy(cfg.policy)
            .map_err(xdp_err("XDP policy"))?;
        let umem = UmemArea::new(pool.clone(), |p| p.region());
        let mut queues = Vec::with_capacity(cfg.queues);
        for q in 0..cfg.queues as u32 {
            let zc = if cfg.zero_copy {
                XskSocket::open(&name, q, umem.clone(), &cfg.ring, BindMode::ZeroCopy).ok()
            } else {
                None
            };
            let sock = match zc {
                Some(s) => s,
                None => XskSocket::open(&name, q, umem.clone(), &cfg.ring, BindMode::Copy)
                    .map_err(os("AF_XDP socket"))?,
            };
            program
                .register_xsk(q, sock.as_fd())
                .map_err(xdp_err("XSKMAP register"))?;
            queues.push(Queue {
                sock: Some(sock),
                ledger: Ledger::new(pool),
                bursts: 0,
                refill_due: true,
                seen: XskStats::default(),
            });
        }
        let attach = program
            .attached()
            .map(|(_, m)| m.as_str())
            .unwrap_or("detached");
        let bind = if queues[0].sock.as_ref().is_some_and(XskSocket::is_zero_copy) {
            "zero-copy"
        } else {
            "copy"
        };
        let info = HwInfo {
            driver: "af-xdp",
            host_if: cfg.host_if.clone(),
            mode: format!("AF_XDP {bind}, XDP {attach}, need-wakeup, UMEM = buffer pool"),
            rx_queues: cfg.queues,
            tx_queues: cfg.queues,
            rx_ring: format!(
                "rx {} / fill {} descriptors",
                cfg.ring.rx_size, cfg.ring.fill_size
            ),
            tx_ring: format!(
                "tx {} / completion {} descriptors",
                cfg.ring.tx_size, cfg.ring.comp_size
            ),
            offloads: "none: frames are whole as the wire has them (XDP sees no GSO)".into(),
        };
        Ok(AfXdp {
            queues,
            program: Arc::new(Mutex::new(program)),
            pool: pool.clone(),
            ctl,
            name,
            info,
            stats: DeviceStats::new(cfg.queues, cfg.queues),
            xdp_stats: Arc::new(AfXdpCounters::default()),
            mac,
            tx_size: cfg.ring.tx_size as usize,
        })
    }

    /// The XDP program on this interface: block list, counters, policy.
    pub fn program(&self) -> &Arc<Mutex<XdpProgram>> {
        &self.program
    }

    /// AF_XDP-specific counters.
    pub fn xdp_stats(&self) -> &Arc<AfXdpCounters> {
        &self.xdp_stats
    }

    /// Buffers the kernel holds now (fill, rx, tx and completion rings) on all queues.
    pub fn lent(&self) -> u32 {
        self.queues.iter().map(|q| q.ledger.lent()).sum()
    }

    /// Adds what the kernel counted for queue `q` since last time to its counters (done
    /// every few bursts by `rx_burst` too); see [`sync_kernel`].
    pub fn sync_kernel_stats(&mut self, q: usize) {
        if let (Some(queue), Some(rx), Some(tx)) = (
            self.queues.get_mut(q),
            self.stats.rx.get(q),
            self.stats.tx.get(q),
        ) {
            sync_kernel(queue, rx, tx);
        }
    }

    /// The kernel's AF_XDP counters of queue `q`.
    pub fn kernel_stats(&self, q: usize) -> Option<sys::xsk::XskStats> {
        self.queues.get(q)?.sock.as_ref()?.kernel_stats().ok()
    }
}

/// Adds what the kernel counted since last time (`XDP_STATISTICS` are cumulative) to the
/// queue's counters: rx `ring_full` += `rx_ring_full`, rx `fill_empty` +=
/// `rx_fill_ring_empty_descs`, rx `drops` += `rx_dropped` + `rx_invalid_descs`, tx `drops`
/// += `tx_invalid_descs`. Returns the kernel's figures (the last seen if the socket is
/// closed or the read failed).
fn sync_kernel(q: &mut Queue, rx: &QueueCounters, tx: &QueueCounters) -> XskStats {
    let Some(k) = q.sock.as_ref().and_then(|s| s.kernel_stats().ok()) else {
        return q.seen;
    };
    let d = |now: u64, then: u64| now.saturating_sub(then);
    let s = q.seen;
    rx.ring_full.add(d(k.rx_ring_full, s.rx_ring_full));
    rx.fill_empty
        .add(d(k.rx_fill_ring_empty, s.rx_fill_ring_empty));
    rx.drops
        .add(d(k.rx_dropped, s.rx_dropped) + d(k.rx_invalid_descs, s.rx_invalid_descs));
    tx.drops.add(d(k.tx_invalid_descs, s.tx_invalid_descs));
    q.seen = k;
    k
}

/// Takes completed tx addresses back into the cache.
fn reap(q: &mut Queue, pool: &BufferPool, cache: &mut BufferCache, bad: &AtomicU64) {
    let Some(sock) = q.sock.as_mut() else {
        return;
    };
    let mut addrs = [0u64; BATCH];
    loop {
        let n = sock.completions(&mut addrs);
        for &a in &addrs[..n] {
            match q.ledger.reclaim(pool, a) {
                Some(b) => cache.free(b),
                None => {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if n < BATCH {
            break;
        }
    }
}

/// Tops up the fill ring from the cache; false if the cache ran dry first.
fn refill(q: &mut Queue, pool: &BufferPool, cache: &mut BufferCache, st: &QueueCounters) -> bool {
    let Some(sock) = q.sock.as_mut() else {
        return true;
    };
    let mut full = true;
    let mut addrs = [0u64; BATCH];
    loop {
        let want = sock.fill_room().min(BATCH);
        if want == 0 {
            break;
        }
        let mut n = 0;
        while n < want {
            match cache.alloc() {
                Some(b) => {
                    addrs[n] = q.ledger.lend(pool, b);
                    n += 1;
                }
                None => {
                    st.fill_empty.add(1);
                    full = false;
                    break;
                }
            }
        }
        // All fit: we are the only producer and asked for at most the room.
        let _ = sock.fill(&addrs[..n]);
        if n < want {
            break;
        }
    }
    if sock.fill_needs_wakeup() {
        sock.rx_wakeup();
    }
    full
}

/// True if queue `q` has nothing to do: no rx descriptor, no completion, no tx
/// descriptor waiting for a kick, the fill ring topped up since frames were last taken
/// and no wakeup asked for. Ring-cursor reads only, no syscall: what an idle queue costs.
fn idle(q: &Queue) -> bool {
    let Some(sock) = q.sock.as_ref() else {
        return true;
    };
    !q.refill_due
        && sock.rx_available() == 0
        && sock.completions_available() == 0
        && sock.tx_queued() == 0
        && !sock.fill_needs_wakeup()
}

impl Device for AfXdp {
    fn hw_info(&self) -> &HwInfo {
        &self.info
    }

    fn rx_burst(&mut self, queue: usize, cache: &mut BufferCache, frame: &mut Frame) -> usize {
        let (Some(q), Some(st)) = (self.queues.get_mut(queue), self.stats.rx.get(queue)) else {
            return 0;
        };
        if !Arc::ptr_eq(cache.pool(), &self.pool) {
            // Only the UMEM's own pool can feed the fill ring.
            st.fill_empty.add(1);
            return 0;
        }
        q.bursts = q.bursts.wrapping_add(1);
        let sync = q.bursts.is_multiple_of(KERNEL_STATS_EVERY);
        if !sync && idle(q) {
            return 0;
        }
        let pool = &*self.pool;
        let bad = &self.xdp_stats.bad_descriptors;
        reap(q, pool, cache, bad);
        q.refill_due = !refill(q, pool, cache, st);
        if sync {
            if let Some(tx) = self.stats.tx.get(queue) {
                sync_kernel(q, st, tx);
            }
        }
        let Some(sock) = q.sock.as_mut() else {
            return 0;
        };
        // Polling is also when tx descriptors left by an earlier burst get their kick.
        drain_tx(sock, self.tx_size);
        let mut descs = [XdpDesc::default(); BATCH];
        let mut got = 0;
        while frame.room() > 0 {
            let want = frame.room().min(BATCH);
            let n = sock.rx(&mut descs[..want]);
            if n > 0 {
                // Their fill-ring slots are free again: top it up next time.
                q.refill_due = true;
            }
            for d in &descs[..n] {
                let Some(mut b) = q.ledger.reclaim(pool, d.addr) else {
                    bad.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                pool.reset(&mut b);
                let off = (d.addr % CHUNK_SIZE as u64) as usize;
                if !pool.get_mut(&mut b).set_window(off, d.len as usize) {
                    st.drops.add(1);
                    st.oversize.add(1);
                    cache.free(b);
                    continue;
                }
                st.packets.add(1);
                st.bytes.add(u64::from(d.len));
                got += 1;
                if let Err(b) = frame.push(b) {
                    cache.free(b);
                }
            }
            if n < want {
                break;
            }
        }
        got
    }

    fn tx_burst(&mut self, queue: usize, frame: &mut Frame, cache: &mut BufferCache) -> usize {
        let (Some(q), Some(st)) = (self.queues.get_mut(queue), self.stats.tx.get(queue)) else {
            return 0;
        };
        if !Arc::ptr_eq(cache.pool(), &self.pool) {
            // Buffers of another pool are not in the UMEM: unsendable, dropped.
            let n = frame.len();
            st.drops.add(n as u64);
            cache.free_frame(frame);
            return n;
        }
        let pool = &*self.pool;
        let bad = &self.xdp_stats.bad_descriptors;
        reap(q, pool, cache, bad);
        let Some(sock) = q.sock.as_mut() else {
            return 0;
        };
        let mut taken = 0;
        let mut descs = [XdpDesc::default(); BATCH];
        let mut stopped = false;
        // `drain` takes buffers out of the frame: what is left is what is not sent yet.
        while !frame.is_empty() && !stopped {
            let room = sock.tx_room().min(BATCH);
            if room == 0 {
                st.ring_full.add(1);
                break;
            }
            let mut n = 0;
            let mut it = frame.drain();
            for b in it.by_ref() {
                taken += 1;
                let meta = pool.meta(&b);
                if meta.flags.contains(BufFlags::NEXT_PRESENT) {
                    st.drops.add(1);
                    let mut b = b;
                    while let Some(t) = pool.unchain(&mut b) {
                        cache.free(t);
                    }
                    cache.free(b);
                } else {
                    let (off, len) = (meta.offset() as u64, meta.len() as u32);
                    st.packets.add(1);
                    st.bytes.add(u64::from(len));
                    let addr = q.ledger.lend(pool, b);
                    descs[n] = XdpDesc {
                        addr: addr + off,
                        len,
                        options: 0,
                    };
                    n += 1;
                }
                if n == room {
                    break;
                }
            }
            drop(it);
            // All fit: at most `room` descriptors and we are the only producer.
            let _ = sock.tx(&descs[..n]);
            if n < room {
                stopped = true; // the frame ran out
            }
        }
        // Descriptors the kernel has not taken stay queued; the next burst (or the next
        // rx poll) kicks again.
        drain_tx(sock, self.tx_size);
        taken
    }

    fn link_state(&self) -> LinkState {
        let up = crate::tap::libc_flags::UP | crate::tap::libc_flags::RUNNING;
        match netdev::flags(self.ctl.as_fd(), &self.name) {
            Ok(f) if f & up == up => LinkState::Up,
            Ok(_) => LinkState::Down,
            Err(_) => LinkState::Unknown,
        }
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> u32 {
        netdev::mtu(self.ctl.as_fd(), &self.name).unwrap_or(1500)
    }

    fn set_admin_up(&mut self, up: bool) -> Result<(), DeviceError> {
        netdev::set_up(self.ctl.as_fd(), &self.name, up).map_err(|source| DeviceError::Os {
            what: "set admin state",
            ifname: self.name.to_string(),
            source,
        })
    }

    fn stats(&self) -> &Arc<DeviceStats> {
        &self.stats
    }

    /// `XDP_STATISTICS` of the queue's socket: rx `rx_dropped`, `rx_invalid_descs`,
    /// `rx_ring_full`, `rx_fill_ring_empty_descs`; tx `tx_invalid_descs`,
    /// `tx_ring_empty_descs` (times the kernel found nothing to send: not a loss).
    fn kernel_counters(&mut self, queue: usize) -> KernelCounters {
        let (Some(q), Some(rx), Some(tx)) = (
            self.queues.get_mut(queue),
            self.stats.rx.get(queue),
            self.stats.tx.get(queue),
        ) else {
            return KernelCounters::default();
        };
        let k = sync_kernel(q, rx, tx);
        KernelCounters {
            rx: vec![
                ("rx_dropped", k.rx_dropped),
                ("rx_invalid_descs", k.rx_invalid_descs),
                ("rx_ring_full", k.rx_ring_full),
                ("rx_fill_ring_empty_descs", k.rx_fill_ring_empty),
            ],
            tx: vec![
                ("tx_invalid_descs", k.tx_invalid_descs),
                ("tx_ring_empty_descs", k.tx_ring_empty),
            ],
        }
    }

    fn release(&mut self, cache: &mut BufferCache) {
        for q in &mut self.queues {
            // Closing the socket ends the kernel's use of the UMEM (it waits for in-flight
            // receives), so every lent buffer is ours again.
            q.sock = None;
            for b in q.ledger.drain(&self.pool) {
                cache.free(b);
            }
        }
    }
}
