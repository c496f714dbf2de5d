//! Packet buffers.
//!
//! A [`BufferPool`] is one mmap'd region cut into [`CHUNK_SIZE`] chunks, plus an out-of-band
//! array of [`Meta`] (VPP's `vlib_buffer_t` fields). Packets are named by a [`Buf`]: a
//! move-only token around a `u32` index. Holding the token *is* owning the buffer, so the
//! safe accessors need no locks and no reference counts:
//!
//! ```text
//!   chunk i of the region (4 KiB, page aligned, so it can be an AF_XDP UMEM frame)
//!   +-----------+----------------------------------+---------------+
//!   | headroom  | packet data (offset .. offset+len) |   tailroom    |
//!   | 256 bytes | starts at HEADROOM, up to 2 KiB  |               |
//!   +-----------+----------------------------------+---------------+
//! ```
//!
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
