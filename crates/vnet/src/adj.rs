//! Adjacencies: how to reach a next hop on an interface, as the bytes of its L2 header.
//!
//! `ip4-lookup` / `ip6-lookup` resolve a destination to an adjacency index (written into
//! `Meta::opaque[opaque::ADJ]`); the rewrite nodes prepend the adjacency's header, set
//! `Meta::tx_if` and hand the packet to `interface-output`. An adjacency whose neighbour is
//! not resolved yet is *incomplete*: packets to it go to the neighbour-resolution node.

use crate::interface::{IfIndex, IfKind, Interfaces};
use core::net::IpAddr;
use std::collections::HashMap;
use wire::ethernet::EthernetAddress;
use wire::vlan::{Tag, TagStack, Tci};
use wire::EtherType;

/// Longest L2 header an adjacency writes: MACs, two VLAN tags, EtherType.
pub const MAX_REWRITE: usize = 6 + 6 + 2 * 4 + 2;

/// An adjacency's index.
pub type AdjIndex = u32;

/// Whether the neighbour's MAC is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjState {
    /// Waiting for ARP / ND.
    Incomplete,
    /// The rewrite is ready.
    Complete,
}

/// A neighbour on an interface and the L2 header that reaches it.
#[derive(Debug, Clone)]
pub struct Adjacency {
    /// The interface (possibly a sub-interface) it sends on.
    pub tx_if: IfIndex,
    /// The neighbour's address.
    pub next_hop: IpAddr,
    /// Resolved or not.
    pub state: AdjState,
    /// The L3 MTU of `tx_if` when the adjacency was (re)built.
    pub mtu: u16,
    rewrite: [u8; MAX_REWRITE],
    rewrite_len: u8,
}

impl Adjacency {
    /// The L2 header to prepend (empty while incomplete).
    #[inline(always)]
    pub fn rewrite(&self) -> &[u8] {
        &self.rewrite[..usize::from(self.rewrite_len)]
    }

    /// Builds the L2 header to `dst` on `tx_if` for payload `ethertype`: destination and
    /// source MAC, the sub-interface's VLAN tags, EtherType.
    fn build(&mut self, ifs: &Interfaces, dst: EthernetAddress, ethertype: EtherType) -> bool {
        let Some(iface) = ifs.get(self.tx_if) else {
            return false;
        };
        let tags = match iface.kind {
            IfKind::Hw { .. } => TagStack::untagged(ethertype),
            IfKind::Sub { tags, .. } => {
                let mut t = vec![Tag {
                    tpid: tags.outer.0,
                    tci: Tci::new(0, false, tags.outer.1),
                }];
                if let Some(inner) = tags.inner {
                    t.push(Tag::c_tag(Tci::new(0, false, inner)));
                }
                match TagStack::from_tags(&t, ethertype) {
                    Ok(s) => s,
                    Err(_) => return false,
                }
            }
        };
        self.rewrite[0..6].copy_from_slice(dst.as_bytes());
        self.rewrite[6..12].copy_from_slice(iface.mac.as_bytes());
        let Ok(n) = tags.emit(&mut self.rewrite[12..]) else {
            return false;
        };
        self.rewrite_len = (12 + n) as u8;
        self.mtu = iface.mtu;
        self.state = AdjState::Complete;
        true
    }
}

/// Every adjacency, by index, and by (interface, next hop).
#[derive(Debug, Default, Clone)]
pub struct AdjTable {
    adjs: Vec<Adjacency>,
    by_key: HashMap<(IfIndex, IpAddr), AdjIndex>,
}

impl AdjTable {
    /// An empty table.
    pub fn new() -> AdjTable {
        AdjTable::default()
    }

    /// The adjacency for `next_hop` on `tx_if`, created incomplete if it does not exist.
    pub fn get_or_add(&mut self, ifs: &Interfaces, tx_if: IfIndex, next_hop: IpAddr) -> AdjIndex {
        if let Some(&i) = self.by_key.get(&(tx_if, next_hop)) {
            return i;
        }
        let mtu = ifs.get(tx_if).map_or(1500, |i| i.mtu);
        let i = self.adjs.len() as AdjIndex;
        self.adjs.push(Adjacency {
            tx_if,
            next_hop,
            state: AdjState::Incomplete,
            mtu,
            rewrite: [0; MAX_REWRITE],
            rewrite_len: 0,
        });
        self.by_key.insert((tx_if, next_hop), i);
        i
    }

    /// Completes (or refreshes) the adjacency of `next_hop` on `tx_if` with the neighbour's
    /// MAC, creating it if needed. Returns its index, or `None` if the interface is unknown.
    pub fn resolve(
        &mut self,
        ifs: &Interfaces,
        tx_if: IfIndex,
        next_hop: IpAddr,
        mac: EthernetAddress,
    ) -> Option<AdjIndex> {
        let i = self.get_or_add(ifs, tx_if, next_hop);
        let ethertype = if next_hop.is_ipv4() {
            EtherType::Ipv4
        } else {
            EtherType::Ipv6
        };
        self.adjs[i as usize]
            .build(ifs, mac, ethertype)
            .then_some(i)
    }

    /// Marks the adjacency of `next_hop` on `tx_if` incomplete again (neighbour aged out).
    pub fn unresolve(&mut self, tx_if: IfIndex, next_hop: IpAddr) {
        if let Some(&i) = self.by_key.get(&(tx_if, next_hop)) {
            let a = &mut self.adjs[i as usize];
            a.state = AdjState::Incomplete;
            a.rewrite_len = 0;
        }
    }

    /// The adjacency at `i`.
    #[inline(always)]
    pub fn get(&self, i: AdjIndex) -> Option<&Adjacency> {
        self.adjs.get(i as usize)
    }

    /// The index of the adjacency for `next_hop` on `tx_if`.
    pub fn find(&self, tx_if: IfIndex, next_hop: IpAddr) -> Option<AdjIndex> {
        self.by_key.get(&(tx_if, next_hop)).copied()
    }

    /// Every adjacency with its index.
    pub fn iter(&self) -> impl Iterator<Item = (AdjIndex, &Adjacency)> {
        self.adjs
            .iter()
            .enumerate()
            .map(|(i, a)| (i as AdjIndex, a))
    }

    /// Rebuilds every complete adjacency on `tx_if` (its MAC or MTU changed).
    pub fn refresh_interface(&mut self, ifs: &Interfaces, tx_if: IfIndex) {
        for a in self
            .adjs
            .iter_mut()
            .filter(|a| a.tx_if == tx_if && a.state == AdjState::Complete)
        {
            let dst = EthernetAddress::from_bytes(&a.rewrite[0..6]);
            let et = if a.next_hop.is_ipv4() {
                EtherType::Ipv4
            } else {
                EtherType::Ipv6
            };
            a.build(ifs, dst, et);
        }
    }
}
