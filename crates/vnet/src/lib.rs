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
//! Shared state lives in [`Vnet`]: the interface table and the adjacencies behind
//! `RwLock`s that nodes read once per frame (the control plane writes them between
//! dispatches, which briefly holds off forwarding like VPP's worker barrier), and the FIBs,
//! which are read lock-free. Nodes pass per-packet results to each other in
//! `Meta::opaque`, at the positions named in [`opaque`].

pub mod adj;
pub mod arp;
pub mod dpo;
pub mod ethernet;
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

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use adj::{AdjIndex, AdjState, AdjTable, Adjacency};
pub use dpo::{Dpo, DpoIndex, DpoTable};
pub use interface::{IfError, IfIndex, IfKind, Interface, Interfaces, SubTags, IF_NONE};
pub use neighbor::{Learned, Neighbor, NeighborTable};
pub use register::{attach_interfaces, register};

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

/// Shared router state: what the control plane configures and the nodes read.
#[derive(Debug, Default, Clone)]
pub struct Vnet {
    /// Interfaces and sub-interfaces.
    pub interfaces: Arc<RwLock<Interfaces>>,
    /// Adjacencies (neighbours and their L2 headers).
    pub adjacencies: Arc<RwLock<AdjTable>>,
    /// ARP and ND results, and packets waiting for them.
    pub neighbors: Arc<Mutex<NeighborTable>>,
    /// IPv4 FIB, DPOs and routes ([`ip4`]).
    pub ip4: Arc<RwLock<ip4::Ip4>>,
    /// IPv6 FIB, DPOs and routes ([`ip6`]).
    pub ip6: Arc<RwLock<ip6::Ip6>>,
}

impl Vnet {
    /// Empty state.
    pub fn new() -> Vnet {
        Vnet::default()
    }

    /// Reads the interface table.
    pub fn interfaces(&self) -> RwLockReadGuard<'_, Interfaces> {
        self.interfaces.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the interface table.
    pub fn interfaces_mut(&self) -> RwLockWriteGuard<'_, Interfaces> {
        self.interfaces.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the adjacencies.
    pub fn adjacencies(&self) -> RwLockReadGuard<'_, AdjTable> {
        self.adjacencies.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The neighbour table.
    pub fn neighbors(&self) -> MutexGuard<'_, NeighborTable> {
        self.neighbors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the adjacencies.
    pub fn adjacencies_mut(&self) -> RwLockWriteGuard<'_, AdjTable> {
        self.adjacencies.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the IPv4 state (once per frame in `ip4-lookup`).
    pub fn ip4(&self) -> RwLockReadGuard<'_, ip4::Ip4> {
        self.ip4.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the IPv4 state (the `ip4_*` control-plane methods do).
    pub fn ip4_mut(&self) -> RwLockWriteGuard<'_, ip4::Ip4> {
        self.ip4.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the IPv6 state (once per frame in `ip6-lookup`).
    pub fn ip6(&self) -> RwLockReadGuard<'_, ip6::Ip6> {
        self.ip6.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the IPv6 state (the `ip6_*` control-plane methods do).
    pub fn ip6_mut(&self) -> RwLockWriteGuard<'_, ip6::Ip6> {
        self.ip6.write().unwrap_or_else(|e| e.into_inner())
    }
}
