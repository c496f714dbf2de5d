//! Packet buffers.
//!
//! A [`BufferPool`] is one mmap'd region cut into [`CHUNK_SIZE`] chunks, plus an out-of-band
//! array of [`Meta`] (VPP's `vlib_buffer_t` fields). Packets are named by a [`Buf`]: a
//! move-only token around a `u32` index. Holding the token *is* owning the buffer, so the
//! safe accessors need no locks and no reference counts:
//!
//! ```text
//!   chunk i of the region (4 KiB, page aligned, so it can be an AF_XDP UMEM frame)
//!   +-------------+------------------------------------+-------------+
//!   | headroom    | packet data (offset .. offset+len) |  tailroom   |
//!   | 256 B + c·64 | starts at home_offset, up to 2 KiB |  ≥ 2 KiB   |
//!   +-------------+------------------------------------+-------------+
//! ```
//!
//! * A fresh buffer's data starts at its chunk's [`home_offset`]: [`HEADROOM`] plus a cache
//!   colour `c < COLOURS` in cache lines, so the headers of a frame's packets spread over
//!   the cache sets instead of all landing in one (chunks are 4 KiB apart). Drivers that
//!   write where the kernel put the packet (AF_XDP) set the window themselves.
//! * Metadata lives outside the chunk: whoever else writes the chunk (the kernel, a peer
//!   process) cannot corrupt it.
//! * Indices are unique across every pool of the process (each pool reserves its own range),
//!   so one range check both bounds an access and proves the token belongs to this pool.
//! * Threads allocate and free through a [`BufferCache`] in bulk; the shared free list is
//!   touched once per [`CACHE_BATCH`] buffers.
//! * Running out of buffers is an `Option::None` and a counter ([`PoolStats::alloc_failures`]),
//!   never a panic or an allocation.
//! * Debug builds catch double frees (a per-buffer state byte) and leaks (dropping a `Buf`
//!   without freeing it panics at the leak site).
//!
//! A [`Frame`] carries up to [`FRAME_SIZE`] buffers between graph nodes.

mod cache;
mod frame;
mod meta;
mod pool;

pub use cache::{BufferCache, CACHE_BATCH};
pub use frame::{Frame, FRAME_SIZE};
pub use meta::{BufFlags, Meta};
pub use pool::{Buf, BufferPool, PacketMut, PacketRef, PoolConfig, PoolError, PoolStats};

/// Bytes per buffer chunk: a power of two, as AF_XDP's aligned UMEM mode requires.
pub const CHUNK_SIZE: usize = 4096;
/// Bytes reserved before the packet for prepending headers (encapsulation, VLAN push).
pub const HEADROOM: usize = 256;
/// Room for packet data after the headroom that every driver may fill on receive.
pub const DATA_SIZE: usize = 2048;
/// Number of cache colours: a fresh buffer's data starts at `HEADROOM + c * 64` for a
/// colour `c < COLOURS` that depends on the chunk (see [`home_offset`]).
///
/// Chunks are 4 KiB apart, so with one fixed data offset every packet header would map to
/// the same L1 set (64 sets × 64 B = 4 KiB) and to 16 of the L2's sets: a 256-packet frame's
/// headers then evict each other between nodes. Spreading the start over `COLOURS` cache
/// lines is DPDK's mempool "cache colouring"; 28 lines keep [`DATA_SIZE`] of tailroom.
pub const COLOURS: usize = (CHUNK_SIZE - HEADROOM - DATA_SIZE) / 64;

/// Where a fresh buffer's data starts in the chunk at address `chunk_addr` (page aligned):
/// [`HEADROOM`] plus the chunk's colour in cache lines. Always leaves [`HEADROOM`] before
/// and [`DATA_SIZE`] after.
#[inline(always)]
pub fn home_offset(chunk_addr: usize) -> usize {
    HEADROOM + (chunk_addr / CHUNK_SIZE % COLOURS) * 64
}

const _: () = assert!(HEADROOM + (COLOURS - 1) * 64 + DATA_SIZE <= CHUNK_SIZE);
