//! The router's graph nodes (VPP's `vnet`): Ethernet and VLANs, ARP and ND, IPv4 and IPv6
//! forwarding, ICMP, local delivery.
//!
//! ```text
//!  <dev>-input ─▶ ethernet-input ─┬▶ ip4-input ─▶ ip4-lookup ─┬▶ ip4-rewrite ─▶ interface-output ─▶ <dev>-output
//!                                 ├▶ ip6-input ─▶ ip6-lookup  ├▶ ip4-local (ICMP echo, hand-off to the stack)
//!                                 └▶ arp-input                └▶ ip4-arp (resolve the neighbour)
//! ```
//!
//! IPv6 mirrors it ([`ip6`]): `ip6-input ─▶ ip6-lookup ─▶ ip6-rewrite / ip6-local /
//! ip6-discover-neighbor / ip6-icmp-error`, with Neighbor Discovery in [`nd`] (`ip6-nd`,
//! `ip6-discover-neighbor`).
//!
//! Shared state lives in [`Vnet`] and the data path reads all of it without a lock while
//! the control plane changes it ([`state`]): the interface table and the adjacencies are
//! immutable snapshots a node loads once per frame and a writer replaces, the FIBs are
//! read directly (lock-free atomics) and what their leaves name (DPOs) is published
//! before a leaf names it and reused only after a grace period. Writers (CLI, config,
//! ARP/ND learning) take a `Mutex` per table and wait only for each other. Nodes pass
//! per-packet results to each other in `Meta::opaque`, at the positions named in
//! [`opaque`].

pub mod adj;
pub mod arp;
pub mod dpo;
pub mod ethernet;
#[doc(hidden)]
pub mod fuzz;
pub mod interface;
pub mod ip4;
pub mod ip6;
pub mod nd;
pub mod neighbor;
pub mod output;
pub mod punt;
pub mod ratelimit;
pub mod reassembly;
mod register;
pub mod resolve;
pub mod routes;
pub mod state;
pub mod writer;

use state::{Shared, Snapshot, WriteGuard};
use std::sync::{Arc, Mutex, MutexGuard};

pub use adj::{AdjIndex, AdjState, AdjTable, Adjacency};
pub use dpo::{Dpo, DpoIndex, DpoTable, Dpos};
pub use interface::{IfError, IfIndex, IfKind, Interface, Interfaces, SubTags, IF_NONE};
pub use neighbor::{Aged, Learned, Neighbor, NeighborTable, ProbePolicy};
pub use register::{attach_interfaces, register};
pub use state::StateReader;

/// What the words of `Meta::opaque` mean between vnet nodes.
pub mod opaque {
    /// Adjacency index, from lookup to rewrite.
    pub const ADJ: usize = 0;
    /// Flow hash (ECMP), from lookup.
    pub const FLOW_HASH: usize = 1;
    /// ICMP error to send: `type << 8 | code`, from the node that decided it to the ICMP
    /// error node.
    pub const ICMP: usize = 2;
    /// An ICMP error's extra word (next-hop MTU for fragmentation needed / packet too big,
    /// pointer for parameter problem).
    pub const ICMP_DATA: usize = 3;
}

/// Node names, VPP's where they exist.
pub mod names {
    /// L2 input: MAC filter, VLAN sub-interface, EtherType dispatch.
    pub const ETHERNET_INPUT: &str = "ethernet-input";
    /// IPv4 header validation.
    pub const IP4_INPUT: &str = "ip4-input";
    /// IPv6 header validation.
    pub const IP6_INPUT: &str = "ip6-input";
    /// ARP requests and replies.
    pub const ARP_INPUT: &str = "arp-input";
    /// Sends each packet to its `tx_if`'s device output node.
    pub const INTERFACE_OUTPUT: &str = "interface-output";
}

/// Shared router state: what the control plane configures and the nodes read. Clones
/// share it.
#[derive(Debug, Clone)]
pub struct Vnet {
    interfaces: Arc<Shared<Interfaces>>,
    adjacencies: Arc<Shared<AdjTable>>,
    neighbors: Arc<Mutex<NeighborTable>>,
    ip4: Arc<Mutex<ip4::Ip4>>,
    ip4_data: Arc<ip4::Ip4Data>,
    ip6: Arc<Mutex<ip6::Ip6>>,
    ip6_data: Arc<ip6::Ip6Data>,
    qsbr: Arc<fib::Qsbr>,
}

impl Default for Vnet {
    fn default() -> Self {
        Vnet::new()
    }
}

impl Vnet {
    /// Empty state.
    pub fn new() -> Vnet {
        let qsbr = fib::Qsbr::new();
        let ip4 = ip4::Ip4::with_qsbr(qsbr.clone());
        let ip6 = ip6::Ip6::with_qsbr(qsbr.clone());
        Vnet {
            interfaces: Arc::default(),
            adjacencies: Arc::default(),
            neighbors: Arc::default(),
            ip4_data: ip4.data().clone(),
            ip4: Arc::new(Mutex::new(ip4)),
            ip6_data: ip6.data().clone(),
            ip6: Arc::new(Mutex::new(ip6)),
            qsbr,
        }
    }

    /// Registers a reader of the FIBs (one per node that looks up; see
    /// [`StateReader::enter`]).
    pub fn reader(&self) -> StateReader {
        StateReader::new(&self.qsbr)
    }

    /// The interface table's current snapshot (lock-free).
    pub fn interfaces(&self) -> Snapshot<Interfaces> {
        self.interfaces.read()
    }

    /// Changes the interface table (published when the guard drops).
    pub fn interfaces_mut(&self) -> WriteGuard<'_, Interfaces> {
        self.interfaces.write()
    }

    /// The adjacencies' current snapshot (lock-free).
    pub fn adjacencies(&self) -> Snapshot<AdjTable> {
        self.adjacencies.read()
    }

    /// The neighbour table (slow path only: learning, resolution, the CLI).
    pub fn neighbors(&self) -> MutexGuard<'_, NeighborTable> {
        self.neighbors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the adjacencies (published when the guard drops, or at
    /// [`WriteGuard::publish`]).
    pub fn adjacencies_mut(&self) -> WriteGuard<'_, AdjTable> {
        self.adjacencies.write()
    }

    /// The IPv4 state the data path reads (lock-free).
    pub fn ip4(&self) -> &ip4::Ip4Data {
        &self.ip4_data
    }

    /// The IPv4 writer's state (the `ip4_*` control-plane methods take it).
    pub fn ip4_mut(&self) -> ip4::Ip4Guard<'_> {
        ip4::Ip4Guard::new(self.ip4.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The IPv6 state the data path reads (lock-free).
    pub fn ip6(&self) -> &ip6::Ip6Data {
        &self.ip6_data
    }

    /// The IPv6 writer's state (the `ip6_*` control-plane methods take it).
    pub fn ip6_mut(&self) -> ip6::Ip6Guard<'_> {
        ip6::Ip6Guard::new(self.ip6.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
