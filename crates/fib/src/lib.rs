//! uplane's forwarding tables: IPv4 and IPv6 longest-prefix match, load balancing.
//!
//! * [`Lpm4`] / [`Lpm4Table`]: IPv4 LPM, DIR-24-8 as DPDK's `rte_lpm` — one memory load
//!   for prefixes up to /24, two for /25–/32, and a batch form that overlaps the loads.
//! * [`Lpm6`] / [`Lpm6Table`]: IPv6 LPM, a 24-bit first stride then 8-bit strides (the
//!   layout of `rte_lpm6`).
//! * [`LoadBalances`] / [`LbTable`]: ECMP groups of up to 64 buckets, chosen by
//!   [`flow_hash4`] / [`flow_hash6`].
//!
//! The LPMs map a prefix to a caller-chosen `u32` leaf (uplane stores a load-balance or
//! DPO index there) from 0 to [`MAX_VALUE`]; [`NO_ROUTE`] is what a raw lookup returns when
//! nothing matches. Route semantics (connected, local, blackhole, …) belong to `vnet`.
//!
//! Host bits past the prefix length are refused ([`RouteError::HostBitsSet`]), as
//! `ip route` does; [`mask4`] / [`mask6`] clear them for callers who want that.
//!
//! # Concurrency contract
//!
//! One **writer** thread (the control plane) owns [`Lpm4`] / [`Lpm6`] / [`LoadBalances`]
//! and changes them with `&mut self`. Any number of **reader** threads (workers) hold a
//! clone of the read side ([`Lpm4Table`], …) and look up with no lock and no locked
//! instruction, while the writer changes routes:
//!
//! * every table entry is an `AtomicU32`; a lookup returns, for its address, either the
//!   answer before a change or the answer after it — never a half-written entry;
//! * a new group of entries is fully written before the entry pointing to it is published
//!   (Release store, Acquire load);
//! * a group (or load-balance index) the writer frees is reused only after every reader
//!   registered in the [`Qsbr`] domain has called [`QsbrReader::quiesce`] since. Workers
//!   register once (`qsbr.register()`) and quiesce between frames, when they hold no value
//!   read from a table; a reader going idle calls [`QsbrReader::offline`] or drops its
//!   handle so that it does not hold reclamation up.
//!
//! Nothing here spawns threads, reads clocks or does I/O. There is no `unsafe`.

mod error;
mod hash;
mod lb;
mod lpm4;
mod lpm6;
mod pool;
mod qsbr;
mod trie;

pub use error::{ConfigError, LbError, RouteError};
pub use hash::{flow_hash4, flow_hash6};
pub use lb::{normalize, LbTable, LoadBalances, INVALID_NEXT_HOP, MAX_BUCKETS};
pub use lpm4::{mask4, Lpm4, Lpm4Table, DEFAULT_GROUPS4};
pub use lpm6::{mask6, Lpm6, Lpm6Slot, Lpm6Table, DEFAULT_GROUPS6};
pub use qsbr::{Qsbr, QsbrReader};
pub use trie::{GroupStats, MemoryUsage};

/// What a raw lookup returns when no prefix matches (never a leaf value).
pub const NO_ROUTE: u32 = 0x7FFF_FFFF;
/// The largest leaf value a route may carry (the top bit marks group pointers).
pub const MAX_VALUE: u32 = NO_ROUTE - 1;
