//! IPv4: the forwarding state, its control plane and the IPv4 nodes.
//!
//! ```text
//! ethernet-input ─▶ ip4-input ─▶ ip4-lookup ─┬▶ ip4-rewrite ─┬▶ interface-output
//!                                            │               ├▶ ip4-frag ─▶ ip4-rewrite
//!                                            │               ├▶ ip4-arp (incomplete adjacency)
//!                                            │               └▶ ip4-icmp-error (TTL, DF)
//!                                            ├▶ ip4-local ─┬▶ ip4-lookup (echo reply)
//!                                            │             ├▶ <ip4-local-l4> (the stack, when attached)
//!                                            │             └▶ ip4-icmp-error (port/protocol unreachable)
//!                                            ├▶ ip4-arp (glean)
//!                                            └▶ ip4-icmp-error (unreachable) ─▶ ip4-lookup
//! ```
//!
//! [`Ip4`] is the writer's side: the FIB (prefix → [`DpoIndex`]), the [`DpoTable`] and the
//! route entries the control plane manages, behind the writer `Mutex` of
//! [`crate::Vnet::ip4_mut`]. [`Ip4Data`] is the data path's side ([`crate::Vnet::ip4`]):
//! the FIB's lock-free read handle, the published DPO snapshot and the tunables, read
//! without a lock while routes change (see [`crate::state`]). The control plane is a set
//! of methods on [`crate::Vnet`] (`ip4_add_address`, `ip4_add_route`, ...), in [`config`].

pub mod config;
pub mod fib;
pub mod frag;
pub mod icmp_error;
pub mod input;
pub mod local;
pub mod lookup;
pub mod reassembly;
pub mod rewrite;

pub use config::{Ip4ConfigError, Path, Route, RouteSource};
pub use fib::Ip4Fib;

use crate::dpo::{Dpo, DpoIndex, DpoTable, Dpos};
use crate::interface::IfIndex;
use crate::routes::RouteTable;
use crate::state::Snapshot;
use crate::writer::{Tunables, WriterGuard};
use arc_swap::ArcSwap;
use core::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

/// Node names of the IPv4 path.
pub mod names {
    /// IPv4 header validation.
    pub const IP4_INPUT: &str = "ip4-input";
    /// FIB lookup.
    pub const IP4_LOOKUP: &str = "ip4-lookup";
    /// TTL, MTU and L2 rewrite.
    pub const IP4_REWRITE: &str = "ip4-rewrite";
    /// Delivery to our own addresses.
    pub const IP4_LOCAL: &str = "ip4-local";
    /// ICMP error generation.
    pub const IP4_ICMP_ERROR: &str = "ip4-icmp-error";
    /// Fragmentation.
    pub const IP4_FRAG: &str = "ip4-frag";
    /// Neighbour resolution (glean and incomplete adjacencies).
    pub const IP4_ARP: &str = "ip4-arp";
    /// ARP input.
    pub const ARP_INPUT: &str = "arp-input";
    /// Neighbour aging, pending-packet expiry and gratuitous ARP.
    pub const IP4_NEIGHBOR_PROCESS: &str = "ip4-neighbor-process";
}

/// `Meta::opaque[opaque::ADJ]` value that means "glean: resolve the destination itself on
/// `Meta::tx_if`" rather than an adjacency index.
pub const ADJ_GLEAN: u32 = u32::MAX;

/// Tunables of the IPv4 path, read by the nodes when they are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip4Params {
    /// ICMP errors each interface may send per second.
    pub icmp_rate_per_sec: u64,
    /// ICMP errors each interface may send in a burst.
    pub icmp_burst: u64,
    /// A dynamic neighbour (ARP or ND) not confirmed for this long is probed (ns).
    pub neighbor_max_age_ns: u64,
    /// Unanswered unicast probes (ARP request, neighbor solicitation) after which an aged
    /// neighbour is removed.
    pub neighbor_probes: u8,
    /// Time allowed for an answer to each probe (ns).
    pub neighbor_probe_interval_ns: u64,
    /// Packets waiting for ARP longer than this are dropped (ns).
    pub pending_timeout_ns: u64,
    /// At most one ARP request per neighbour per this interval (ns).
    pub arp_request_interval_ns: u64,
    /// How often the neighbour process runs (ns).
    pub process_interval_ns: u64,
    /// A datagram being reassembled is dropped after this long (ns).
    pub reassembly_timeout_ns: u64,
    /// Most datagrams reassembled at once.
    pub reassembly_max_datagrams: usize,
    /// Most fragments per datagram.
    pub reassembly_max_fragments: usize,
}

impl Default for Ip4Params {
    fn default() -> Self {
        Ip4Params {
            icmp_rate_per_sec: 100,
            icmp_burst: 50,
            neighbor_max_age_ns: 300_000_000_000,
            neighbor_probes: 3,
            neighbor_probe_interval_ns: 1_000_000_000,
            pending_timeout_ns: 3_000_000_000,
            arp_request_interval_ns: 1_000_000_000,
            process_interval_ns: 100_000_000,
            reassembly_timeout_ns: 2_000_000_000,
            reassembly_max_datagrams: 64,
            reassembly_max_fragments: 32,
        }
    }
}

/// The IPv4 forwarding state, the writer's side. Change it through the `ip4_*` methods of
/// [`crate::Vnet`].
#[derive(Debug)]
pub struct Ip4 {
    /// The FIB, the DPO table and the route entries.
    pub(crate) table: RouteTable<config::Ip4Family>,
    /// Tunables (published to [`Ip4Data::params`] when the writer's guard drops).
    pub params: Ip4Params,
    data: Arc<Ip4Data>,
}

/// The IPv4 state as the data path reads it: no lock, while the writer changes routes.
#[derive(Debug)]
pub struct Ip4Data {
    /// The FIB's read handle (lock-free; leaves are [`DpoIndex`]es). Look up only inside a
    /// [`crate::StateReader::enter`] section.
    pub fib: ::fib::Lpm4Table,
    dpos: Arc<ArcSwap<Dpos>>,
    params: ArcSwap<Ip4Params>,
    /// Gratuitous ARPs to send: (interface, address), drained by `ip4-neighbor-process`.
    pub(crate) garp: Mutex<Vec<(IfIndex, Ipv4Addr)>>,
}

impl Ip4Data {
    /// The DPOs the leaves index. Load it after the lookups of a frame: a leaf read before
    /// names a DPO this snapshot holds (DPOs are published before leaves name them).
    #[inline]
    pub fn dpos(&self) -> Snapshot<Dpos> {
        self.dpos.load()
    }

    /// The tunables.
    pub fn params(&self) -> Ip4Params {
        **self.params.load()
    }

    /// Takes the queued gratuitous ARPs.
    pub(crate) fn take_garp(&self) -> Vec<(IfIndex, Ipv4Addr)> {
        std::mem::take(&mut *self.garp.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The writer's hold on [`Ip4`] ([`crate::Vnet::ip4_mut`]); publishes changed tunables
/// when dropped.
pub type Ip4Guard<'a> = WriterGuard<'a, Ip4>;

impl Tunables for Ip4 {
    type Params = Ip4Params;
    fn params(&self) -> Ip4Params {
        self.params
    }
    fn published(&self) -> &ArcSwap<Ip4Params> {
        &self.data.params
    }
}

impl Default for Ip4 {
    fn default() -> Self {
        Ip4::new()
    }
}

impl Ip4 {
    /// State with the special routes every router has: 0.0.0.0/8, 224.0.0.0/4 (no
    /// multicast forwarding yet), 240.0.0.0/4 and 255.255.255.255/32 drop.
    pub fn new() -> Ip4 {
        Ip4::with_qsbr(::fib::Qsbr::new())
    }

    /// [`Ip4::new`] whose freed FIB groups and DPO indices wait for the readers of `qsbr`.
    pub fn with_qsbr(qsbr: Arc<::fib::Qsbr>) -> Ip4 {
        let fib = Ip4Fib::with_qsbr(qsbr.clone());
        let dpos = DpoTable::new(qsbr);
        let data = Arc::new(Ip4Data {
            fib: fib.table(),
            dpos: dpos.published(),
            params: ArcSwap::from_pointee(Ip4Params::default()),
            garp: Mutex::new(Vec::new()),
        });
        let mut ip4 = Ip4 {
            table: RouteTable::new(fib, dpos),
            params: Ip4Params::default(),
            data,
        };
        for (net, len) in [
            (Ipv4Addr::new(0, 0, 0, 0), 8),
            (Ipv4Addr::new(224, 0, 0, 0), 4),
            (Ipv4Addr::new(240, 0, 0, 0), 4),
            (Ipv4Addr::BROADCAST, 32),
        ] {
            // Four prefixes in an empty table cannot exhaust it.
            let _ = ip4.set_source(u32::from(net), len, RouteSource::Special, Some(Dpo::Drop));
        }
        ip4
    }

    /// The data path's side.
    pub fn data(&self) -> &Arc<Ip4Data> {
        &self.data
    }

    /// Queues a gratuitous ARP for `ip4-neighbor-process`.
    pub(crate) fn queue_garp(&self, if_index: IfIndex, a: Ipv4Addr) {
        let mut g = self.data.garp.lock().unwrap_or_else(|e| e.into_inner());
        g.push((if_index, a));
    }

    /// The leaf for `dst` (longest-prefix match).
    #[inline]
    pub fn lookup(&self, dst: Ipv4Addr) -> DpoIndex {
        self.table.fib.lookup(u32::from(dst))
    }

    /// The DPO table the leaves index.
    #[inline]
    pub fn dpos(&self) -> &DpoTable {
        &self.table.dpos
    }

    /// Sets (or with `None` clears) what `source` says about `net/len`, then re-derives
    /// the entry's DPO and writes the FIB.
    pub(crate) fn set_source(
        &mut self,
        net: u32,
        len: u8,
        source: RouteSource,
        dpo: Option<Dpo>,
    ) -> Result<(), Ip4ConfigError> {
        self.table.set_source(net, len, source, dpo)
    }
}
