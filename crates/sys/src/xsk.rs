//! AF_XDP sockets: a UMEM (memory we own, registered with the kernel) and the four rings
//! that move frame addresses between us and the kernel.
//!
//! The rings are single-producer / single-consumer queues in memory shared with the
//! kernel, each with a `producer` and a `consumer` cursor (free-running `u32`s):
//!
//! * **fill** (we produce addresses of empty frames) and **tx** (we produce descriptors of
//!   frames to send): we write entries at `producer`, then publish them with a *release*
//!   store of `producer`; the kernel's progress is read from `consumer` with an *acquire*
//!   load, after which the slots it passed are ours to write again.
//! * **rx** (the kernel produces descriptors of received frames) and **completion** (it
//!   produces addresses of sent frames): we read `producer` with an *acquire* load (so the
//!   entries, and the frame bytes the kernel wrote before, are visible), copy the entries
//!   out, then hand the slots back with a *release* store of `consumer`.
//!
//! This module never hands out a reference into ring or UMEM memory: entries are copied in
//! and out by value. What the kernel gives back (an address in an rx descriptor or a
//! completion) is only a number here; the caller validates it before treating it as a frame
//! it owns (`io::af_xdp` checks range, alignment and that the frame was lent out).
//!
//! A cursor pair that claims more entries than the ring holds (a kernel bug or someone
//! else writing the mapping) is clamped to the ring size and counted
//! ([`XskSocket::bad_cursors`]), never trusted to index past the ring.

use crate::mmap::Region;
use crate::netdev::IfName;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A descriptor on the rx or tx ring (`struct xdp_desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct XdpDesc {
    /// Offset of the packet's first byte in the UMEM.
    pub addr: u64,
    /// Packet length.
    pub len: u32,
    /// `XDP_PKT_CONTD` and friends (multi-buffer; we do not ask for it).
    pub options: u32,
}

/// How to bind the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    /// The driver DMAs straight into the UMEM (`XDP_ZEROCOPY`); fails where unsupported.
    ZeroCopy,
    /// The kernel copies between its buffers and the UMEM (`XDP_COPY`); works everywhere.
    Copy,
}

impl BindMode {
    /// `zero-copy` or `copy`, for `show hardware-interfaces`.
    pub fn as_str(self) -> &'static str {
        match self {
            BindMode::ZeroCopy => "zero-copy",
            BindMode::Copy => "copy",
        }
    }
}

/// Ring sizes (entries, each a power of two) and UMEM frame geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XskConfig {
    /// Fill ring entries.
    pub fill_size: u32,
    /// Completion ring entries.
    pub comp_size: u32,
    /// Rx ring entries.
    pub rx_size: u32,
    /// Tx ring entries.
    pub tx_size: u32,
    /// UMEM chunk (frame) size: 2048 or 4096, dividing the UMEM evenly.
    pub frame_size: u32,
    /// Bytes the kernel leaves free before each received packet, on top of its own
    /// `XDP_PACKET_HEADROOM` (256).
    pub frame_headroom: u32,
}

impl Default for XskConfig {
    /// [`XskConfig::DEFAULT_RX`] rx and [`XskConfig::DEFAULT_TX`] tx descriptors (see
    /// [`XskConfig::with_rings`]), 4 KiB frames.
    fn default() -> Self {
        XskConfig::with_rings(XskConfig::DEFAULT_RX, XskConfig::DEFAULT_TX)
    }
}

impl XskConfig {
    /// Default rx ring: 2048 descriptors, 2.5 ms of 64-byte frames at 0.8 Mpps. While the
    /// polling thread is off its CPU the kernel keeps receiving into the rx ring; with 1024
    /// the veth_forward bench lost 0.05-0.08 Mpps there (`rx_ring_full`), with 2048
    /// 0.025-0.049, with 4096 (one run, `UPLANE_BENCH_XDP_RX_RING=4096`) 0.001. 4096 is
    /// not the default: a queue then holds 15360 buffers instead of 9216 and an overloaded
    /// queue delays frames by up to 5.8 ms instead of 2.9 ms at 0.7 Mpps; the daemon's
    /// `rx-ring-size` sets it per interface.
    pub const DEFAULT_RX: u32 = 2048;
    /// Default tx ring: 1024 descriptors (copy mode sends at most 32 per kick anyway).
    pub const DEFAULT_TX: u32 = 1024;
    /// Smallest rx or tx ring the daemon's config accepts.
    pub const MIN_RING: u32 = 64;
    /// Largest rx or tx ring the daemon's config accepts.
    pub const MAX_RING: u32 = 16384;

    /// `rx` rx and `tx` tx descriptors, with a fill ring twice the rx ring and a
    /// completion ring twice the tx ring, 4 KiB frames, no extra headroom.
    ///
    /// The fill ring is deeper than the rx ring so that when nobody drains the socket the
    /// kernel's drops are `rx_ring_full` (the rx ring full of frames to read), not
    /// `rx_fill_ring_empty` (which would also mean a pool too small to keep it filled).
    pub fn with_rings(rx: u32, tx: u32) -> XskConfig {
        XskConfig {
            fill_size: rx.saturating_mul(2),
            comp_size: tx.saturating_mul(2),
            rx_size: rx,
            tx_size: tx,
            frame_size: 4096,
            frame_headroom: 0,
        }
    }

    /// Most frames one socket can hold at once: a full fill ring, a full rx ring not yet
    /// read, and a full tx ring whose earlier frames wait, sent, on a full completion ring.
    /// The UMEM's owner needs this many buffers per socket, on top of what its threads use.
    pub fn frames_held(&self) -> u64 {
        [self.fill_size, self.rx_size, self.tx_size, self.comp_size]
            .into_iter()
            .map(u64::from)
            .sum()
    }
}

/// The memory registered as a UMEM, kept mapped for as long as the socket lives.
///
/// Built from an owner that holds the [`Region`] (the buffer pool): the socket keeps the
/// owner alive, so the kernel never writes into memory that was unmapped.
#[derive(Clone)]
pub struct UmemArea {
    /// Held, never read: it keeps the memory mapped.
    _owner: Arc<dyn Send + Sync>,
    ptr: *mut u8,
    len: usize,
}

impl std::fmt::Debug for UmemArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmemArea")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

// SAFETY: the pointer is only passed to the kernel (never dereferenced here); the owner
// that keeps the memory mapped is `Send + Sync`.
unsafe impl Send for UmemArea {}
// SAFETY: as above; `&UmemArea` exposes only the address and length.
unsafe impl Sync for UmemArea {}

impl UmemArea {
    /// The region `region(&owner)` returns, kept mapped by holding `owner`.
    ///
    /// The region is borrowed from `owner`, so it lives at least as long as `owner` does
    /// (a `Region` unmaps only when dropped).
    pub fn new<T: Send + Sync + 'static>(
        owner: Arc<T>,
        region: impl FnOnce(&T) -> &Region,
    ) -> UmemArea {
        let (ptr, len) = {
            let r = region(&owner);
            (r.as_ptr(), r.len())
        };
        UmemArea {
            _owner: owner,
            ptr,
            len,
        }
    }

    /// Bytes of UMEM.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true (regions are never empty).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The kernel's counters for a socket (`XDP_STATISTICS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XskStats {
    /// Received frames dropped for reasons other than a full ring / empty fill ring.
    pub rx_dropped: u64,
    /// Invalid descriptors on the fill ring.
    pub rx_invalid_descs: u64,
    /// Invalid descriptors on the tx ring.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Times the fill ring was empty when a frame arrived.
    pub rx_fill_ring_empty: u64,
    /// Times the tx ring was empty when the kernel looked.
    pub tx_ring_empty: u64,
}

/// One mapped ring: cursors at fixed offsets, `size` entries of `T` at `desc`.
#[derive(Debug)]
struct Ring<T> {
    map: Region,
    producer: usize,
    consumer: usize,
    flags: usize,
    desc: usize,
    size: u32,
    /// Our copy of the cursor we own (producer for fill/tx, consumer for rx/completion).
    mine: u32,
    _t: std::marker::PhantomData<T>,
}

impl<T: Copy> Ring<T> {
    fn map(fd: &OwnedFd, off: &libc::xdp_ring_offset, size: u32, pgoff: u64) -> io::Result<Self> {
        let desc = off.desc as usize;
        let len = desc + size as usize * size_of::<T>();
        let map = Region::shared(fd, len, pgoff as i64)?;
        let ring = Ring {
            map,
            producer: off.producer as usize,
            consumer: off.consumer as usize,
            flags: off.flags as usize,
            desc,
            size,
            mine: 0,
            _t: std::marker::PhantomData,
        };
        for o in [ring.producer, ring.consumer, ring.flags] {
            if !o.is_multiple_of(4) || o + 4 > ring.map.len() {
                return Err(io::Error::other("ring offsets out of the mapping"));
            }
        }
        if !desc.is_multiple_of(std::mem::align_of::<T>()) {
            return Err(io::Error::other("ring descriptors misaligned"));
        }
        Ok(ring)
    }

    fn word(&self, off: usize) -> &AtomicU32 {
        // Offsets were checked in `map` (4-aligned, inside the mapping).
        // SAFETY: `off` is one of the checked cursor/flags offsets: aligned and in bounds of
        // the live mapping borrowed by `&self`; the kernel accesses these words atomically
        // as whole `u32`s, and `AtomicU32` has `u32`'s layout.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().wrapping_add(off).cast()) }
    }

    fn slot(&self, idx: u32) -> *mut T {
        let i = (idx & (self.size - 1)) as usize;
        // In bounds: `desc + size * size_of::<T>()` is the mapping's length (see `map`).
        self.map
            .as_ptr()
            .wrapping_add(self.desc + i * size_of::<T>())
            .cast()
    }

    fn needs_wakeup(&self) -> bool {
        self.word(self.flags).load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    /// Producer side: free slots (we own them until we publish).
    fn free(&self, bad: &mut u64) -> u32 {
        let cons = self.word(self.consumer).load(Ordering::Acquire);
        let used = self.mine.wrapping_sub(cons);
        if used > self.size {
            *bad += 1;
            return 0;
        }
        self.size - used
    }

    /// Producer side: writes `items` (at most `free()` of them) and publishes them.
    fn produce(&mut self, items: &[T], bad: &mut u64) -> usize {
        let n = items.len().min(self.free(bad) as usize);
        for (k, item) in items[..n].iter().enumerate() {
            let p = self.slot(self.mine.wrapping_add(k as u32));
            // SAFETY: `p` is an entry slot inside the mapping (masked index), between the
            // kernel's consumer and our producer + size, so the kernel does not read it until
            // the release store below publishes it; `T` is plain old data.
            unsafe { p.write_volatile(*item) };
        }
        self.mine = self.mine.wrapping_add(n as u32);
        self.word(self.producer).store(self.mine, Ordering::Release);
        n
    }

    /// Consumer side: copies up to `out.len()` available entries out and hands the slots
    /// back.
    fn consume(&mut self, out: &mut [T], bad: &mut u64) -> usize {
        let prod = self.word(self.producer).load(Ordering::Acquire);
        let mut avail = prod.wrapping_sub(self.mine);
        if avail > self.size {
            *bad += 1;
            avail = 0;
        }
        let n = out.len().min(avail as usize);
        if n == 0 {
            // Nothing taken: leave the consumer's cache line alone (the kernel reads it).
            return 0;
        }
        for (k, o) in out[..n].iter_mut().enumerate() {
            let p = self.slot(self.mine.wrapping_add(k as u32));
            // SAFETY: `p` is an entry slot inside the mapping that the kernel published
            // (before `producer`, acquire-loaded above) and does not touch again until the
            // release store of `consumer` below; `T` is plain old data.
            *o = unsafe { p.read_volatile() };
        }
        self.mine = self.mine.wrapping_add(n as u32);
        self.word(self.consumer).store(self.mine, Ordering::Release);
        n
    }

    /// Consumer side: entries the kernel has published and we have not taken.
    fn available(&self) -> u32 {
        let prod = self.word(self.producer).load(Ordering::Acquire);
        prod.wrapping_sub(self.mine).min(self.size)
    }

    /// Producer side: entries we published that the kernel has not taken yet.
    fn queued(&self) -> u32 {
        let cons = self.word(self.consumer).load(Ordering::Acquire);
        self.mine.wrapping_sub(cons).min(self.size)
    }
}

/// An AF_XDP socket bound to one queue of one interface, with its own UMEM and rings.
#[derive(Debug)]
pub struct XskSocket {
    // Field order is drop order: the rings unmap, the socket closes (the kernel releases
    // the UMEM), and only then may the UMEM's owner unmap it.
    fill: Ring<u64>,
    comp: Ring<u64>,
    rx: Ring<XdpDesc>,
    tx: Ring<XdpDesc>,
    fd: OwnedFd,
    umem: UmemArea,
    mode: BindMode,
    ifindex: u32,
    queue: u32,
    bad_cursors: u64,
}

fn setsockopt<T>(fd: BorrowedFd<'_>, name: libc::c_int, val: &T, what: &str) -> io::Result<()> {
    // SAFETY: `val` points to a live `T` of `size_of::<T>()` bytes, which the kernel only
    // reads; every call site passes the type the SOL_XDP option expects.
    crate::syscall!(setsockopt(
        fd.as_raw_fd(),
        libc::SOL_XDP,
        name,
        (val as *const T).cast(),
        size_of::<T>() as libc::socklen_t
    ))
    .map(drop)
    .map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))
}

fn getsockopt<T: Copy>(fd: BorrowedFd<'_>, name: libc::c_int, val: &mut T) -> io::Result<usize> {
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `val` and `len` are live and writable; the kernel writes at most `len` bytes
    // of the plain-old-data `T` and updates `len`.
    crate::syscall!(getsockopt(
        fd.as_raw_fd(),
        libc::SOL_XDP,
        name,
        (val as *mut T).cast(),
        &mut len
    ))?;
    Ok(len as usize)
}

impl XskSocket {
    /// Opens an AF_XDP socket on queue `queue` of interface `name` (calling thread's
    /// network namespace), registers `umem` as its UMEM, maps its four rings and binds
    /// it in `mode` with `XDP_USE_NEED_WAKEUP`. Errors name the step.
    pub fn open(
        name: &IfName,
        queue: u32,
        umem: UmemArea,
        cfg: &XskConfig,
        mode: BindMode,
    ) -> io::Result<XskSocket> {
        let pow2 = |n: u32| n.is_power_of_two();
        if ![cfg.fill_size, cfg.comp_size, cfg.rx_size, cfg.tx_size]
            .into_iter()
            .all(pow2)
            || !matches!(cfg.frame_size, 2048 | 4096)
            || !umem.len.is_multiple_of(cfg.frame_size as usize)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "AF_XDP ring sizes must be powers of two and the UMEM whole frames",
            ));
        }
        let raw = crate::syscall!(socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0))
            .map_err(|e| io::Error::new(e.kind(), format!("socket(AF_XDP): {e}")))?;
        // SAFETY: `socket` just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // Interface ioctls are not implemented on AF_XDP sockets: ask through a UDP one.
        let ctl = crate::netdev::control_socket()?;
        let ifindex = crate::netdev::index(ctl.as_fd(), name)
            .map_err(|e| io::Error::new(e.kind(), format!("interface {name}: {e}")))?;
        let reg = libc::xdp_umem_reg {
            addr: umem.ptr as u64,
            len: umem.len as u64,
            chunk_size: cfg.frame_size,
            headroom: cfg.frame_headroom,
            flags: 0,
            tx_metadata_len: 0,
        };
        setsockopt(fd.as_fd(), libc::XDP_UMEM_REG, &reg, "XDP_UMEM_REG")?;
        setsockopt(
            fd.as_fd(),
            libc::XDP_UMEM_FILL_RING,
            &cfg.fill_size,
            "XDP_UMEM_FILL_RING",
        )?;
        setsockopt(
            fd.as_fd(),
            libc::XDP_UMEM_COMPLETION_RING,
            &cfg.comp_size,
            "XDP_UMEM_COMPLETION_RING",
        )?;
        setsockopt(fd.as_fd(), libc::XDP_RX_RING, &cfg.rx_size, "XDP_RX_RING")?;
        setsockopt(fd.as_fd(), libc::XDP_TX_RING, &cfg.tx_size, "XDP_TX_RING")?;
        let zero = libc::xdp_ring_offset {
            producer: 0,
            consumer: 0,
            desc: 0,
            flags: 0,
        };
        let mut off = libc::xdp_mmap_offsets {
            rx: zero,
            tx: zero,
            fr: zero,
            cr: zero,
        };
        let got = getsockopt(fd.as_fd(), libc::XDP_MMAP_OFFSETS, &mut off)
            .map_err(|e| io::Error::new(e.kind(), format!("XDP_MMAP_OFFSETS: {e}")))?;
        if got != size_of::<libc::xdp_mmap_offsets>() {
            return Err(io::Error::other("XDP_MMAP_OFFSETS: kernel older than 5.4"));
        }
        let mapped = |e: io::Error| io::Error::new(e.kind(), format!("mmap AF_XDP ring: {e}"));
        let rx =
            Ring::map(&fd, &off.rx, cfg.rx_size, libc::XDP_PGOFF_RX_RING as u64).map_err(mapped)?;
        let tx =
            Ring::map(&fd, &off.tx, cfg.tx_size, libc::XDP_PGOFF_TX_RING as u64).map_err(mapped)?;
        let fill = Ring::map(&fd, &off.fr, cfg.fill_size, libc::XDP_UMEM_PGOFF_FILL_RING)
            .map_err(mapped)?;
        let comp = Ring::map(
            &fd,
            &off.cr,
            cfg.comp_size,
            libc::XDP_UMEM_PGOFF_COMPLETION_RING,
        )
        .map_err(mapped)?;
        let flags = libc::XDP_USE_NEED_WAKEUP
            | match mode {
                BindMode::ZeroCopy => libc::XDP_ZEROCOPY,
                BindMode::Copy => libc::XDP_COPY,
            };
        let sxdp = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: `sxdp` is a live `sockaddr_xdp` and the length passed is its size.
        crate::syscall!(bind(
            fd.as_raw_fd(),
            (&sxdp as *const libc::sockaddr_xdp).cast(),
            size_of::<libc::sockaddr_xdp>() as libc::socklen_t
        ))
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("bind AF_XDP {name} queue {queue} {}: {e}", mode.as_str()),
            )
        })?;
        Ok(XskSocket {
            fill,
            comp,
            rx,
            tx,
            fd,
            umem,
            mode,
            ifindex,
            queue,
            bad_cursors: 0,
        })
    }

    /// The mode the socket was bound in.
    pub fn mode(&self) -> BindMode {
        self.mode
    }

    /// True if the kernel reports the socket as zero-copy (`XDP_OPTIONS`).
    pub fn is_zero_copy(&self) -> bool {
        let mut o = libc::xdp_options { flags: 0 };
        getsockopt(self.fd.as_fd(), libc::XDP_OPTIONS, &mut o).is_ok()
            && o.flags & libc::XDP_OPTIONS_ZEROCOPY != 0
    }

    /// The interface index and queue the socket is bound to.
    pub fn binding(&self) -> (u32, u32) {
        (self.ifindex, self.queue)
    }

    /// Bytes of UMEM.
    pub fn umem_len(&self) -> usize {
        self.umem.len
    }

    /// Ring cursor pairs found inconsistent (more entries claimed than the ring holds).
    pub fn bad_cursors(&self) -> u64 {
        self.bad_cursors
    }

    /// Fill-ring slots free now.
    pub fn fill_room(&mut self) -> usize {
        self.fill.free(&mut self.bad_cursors) as usize
    }

    /// Gives the kernel the frames at `addrs` to receive into; returns how many were taken
    /// (all of them if at most [`Self::fill_room`]).
    pub fn fill(&mut self, addrs: &[u64]) -> usize {
        self.fill.produce(addrs, &mut self.bad_cursors)
    }

    /// Takes up to `out.len()` received descriptors. The frames they name are the
    /// caller's again (after validation).
    pub fn rx(&mut self, out: &mut [XdpDesc]) -> usize {
        self.rx.consume(out, &mut self.bad_cursors)
    }

    /// Rx descriptors waiting.
    pub fn rx_available(&self) -> usize {
        self.rx.available() as usize
    }

    /// Tx descriptors queued that the kernel has not taken yet (no syscall: a cursor read).
    pub fn tx_queued(&self) -> usize {
        self.tx.queued() as usize
    }

    /// Completed tx addresses waiting to be taken (a cursor read).
    pub fn completions_available(&self) -> usize {
        self.comp.available() as usize
    }

    /// Tx-ring slots free now.
    pub fn tx_room(&mut self) -> usize {
        self.tx.free(&mut self.bad_cursors) as usize
    }

    /// Queues `descs` for sending (all of them if at most [`Self::tx_room`]); returns
    /// how many. Call [`Self::tx_kick`] after a batch.
    pub fn tx(&mut self, descs: &[XdpDesc]) -> usize {
        self.tx.produce(descs, &mut self.bad_cursors)
    }

    /// Takes up to `out.len()` completed tx addresses: frames the kernel has sent and
    /// gives back.
    pub fn completions(&mut self, out: &mut [u64]) -> usize {
        self.comp.consume(out, &mut self.bad_cursors)
    }

    /// True if the kernel asks for a wakeup to refill from the fill ring (`poll`/`recvfrom`).
    pub fn fill_needs_wakeup(&self) -> bool {
        self.fill.needs_wakeup()
    }

    /// Makes the kernel process the tx ring, if it asked for a wakeup (always in copy mode
    /// without the flag set: cheap). `EAGAIN`, `EBUSY` and `ENOBUFS` are not errors: the
    /// frames stay queued and go with the next kick.
    pub fn tx_kick(&self) -> io::Result<()> {
        if !self.tx.needs_wakeup() {
            return Ok(());
        }
        // SAFETY: `sendto` with no data and no address reads no memory of ours.
        let r = crate::syscall!(sendto(
            self.fd.as_raw_fd(),
            std::ptr::null(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null(),
            0
        ));
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || matches!(
                        e.raw_os_error(),
                        Some(libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN)
                    ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Wakes the kernel's rx side (needed when [`Self::fill_needs_wakeup`]): a
    /// non-blocking `recvfrom` with no buffer.
    pub fn rx_wakeup(&self) {
        // SAFETY: `recvfrom` with a null, zero-length buffer and no address writes no memory.
        let _ = crate::syscall!(recvfrom(
            self.fd.as_raw_fd(),
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut()
        ));
    }

    /// The kernel's counters for the socket.
    pub fn kernel_stats(&self) -> io::Result<XskStats> {
        let mut s = libc::xdp_statistics {
            rx_dropped: 0,
            rx_invalid_descs: 0,
            tx_invalid_descs: 0,
            rx_ring_full: 0,
            rx_fill_ring_empty_descs: 0,
            tx_ring_empty_descs: 0,
        };
        getsockopt(self.fd.as_fd(), libc::XDP_STATISTICS, &mut s)?;
        Ok(XskStats {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty: s.rx_fill_ring_empty_descs,
            tx_ring_empty: s.tx_ring_empty_descs,
        })
    }
}

impl AsFd for XskSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
