//! The IPv4 control plane: interface addresses, static routes, route listing.
//!
//! Every change takes the write locks in the order interfaces → adjacencies → ip4 (the
//! nodes take them in the same order), writes the route entry and then the FIB leaf, so a
//! concurrent `ip4-lookup` sees either the old or the new leaf, never a half-written one.

use super::{Ip4, Ip4Fib};
use crate::adj::AdjIndex;
use crate::dpo::{Dpo, DpoIndex};
use crate::interface::{IfIndex, Interface, Interfaces};
use crate::routes::{self, Family, RouteError};
use crate::Vnet;
use core::net::Ipv4Addr;
use wire::ipv4::Ipv4Cidr;

/// Who installed a route; when several did, the first in this order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteSource {
    /// One of our addresses (`/32` → receive).
    Local,
    /// Configured: next hops, blackhole or unreachable.
    Static,
    /// A resolved neighbour on a connected subnet (`/32` → its adjacency).
    Neighbor,
    /// A connected subnet (glean), with its network and broadcast addresses dropped.
    Connected,
    /// Built in: 0/8, 224/4, 240/4, 255.255.255.255 dropped.
    Special,
}

/// One next hop of a static IPv4 route.
pub type Path = routes::Path<Ipv4Addr>;

/// An IPv4 route as `show ip fib` lists it.
pub type Route = routes::Route<Ipv4Cidr, Ipv4Addr>;

/// Why an IPv4 configuration change was refused; each names the field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Ip4ConfigError {
    /// Refused by the route table (no such interface or route, a bad path, FIB full).
    #[error(transparent)]
    Route(#[from] RouteError<Ip4Family>),
    /// A multicast, broadcast, unspecified or loopback address as an interface address.
    #[error("address: {0} cannot be an interface address")]
    BadAddress(Ipv4Addr),
    /// The next hop is one of our own addresses.
    #[error("via: {0} is one of our addresses")]
    ViaIsLocal(Ipv4Addr),
}

pub(crate) fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// IPv4 as the route table sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip4Family;

impl Family for Ip4Family {
    type Addr = Ipv4Addr;
    type Cidr = Ipv4Cidr;
    type Bits = u32;
    type Fib = Ip4Fib;
    type Error = Ip4ConfigError;
    const HOST_LEN: u8 = 32;

    fn key(net: u32, len: u8) -> (u32, u8) {
        (net & mask(len), len.min(32))
    }

    fn split(p: Ipv4Cidr) -> (u32, u8) {
        (u32::from(p.address()), p.prefix_len())
    }

    fn cidr(k: (u32, u8)) -> Ipv4Cidr {
        // `k.1` ≤ 32 by construction; 0.0.0.0/0 is always valid.
        Ipv4Cidr::new(Ipv4Addr::from(k.0), k.1.min(32))
            .or_else(|_| Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0))
            .unwrap_or_else(|_| unreachable!("0.0.0.0/0 is a valid prefix"))
    }

    fn fib_insert(
        fib: &mut Ip4Fib,
        net: u32,
        len: u8,
        leaf: DpoIndex,
    ) -> Result<Option<DpoIndex>, fib::RouteError> {
        fib.insert(net, len, leaf)
    }

    fn fib_remove(fib: &mut Ip4Fib, net: u32, len: u8) -> Option<DpoIndex> {
        fib.remove(net, len)
    }

    fn addresses(iface: &mut Interface) -> &mut Vec<Ipv4Cidr> {
        &mut iface.ip4
    }
}

/// The interface whose connected subnet contains `a`, if any.
fn connected_if(ifs: &Interfaces, a: Ipv4Addr) -> Option<IfIndex> {
    ifs.iter()
        .find(|i| {
            i.ip4
                .iter()
                .any(|c| c.prefix_len() < 32 && c.contains_addr(&a))
        })
        .map(|i| i.index)
}

impl Vnet {
    /// Adds IPv4 address `addr` (with its prefix) to interface `if_index`: installs the
    /// local `/32` (receive), the connected subnet (glean) with its network and broadcast
    /// addresses dropped, and queues a gratuitous ARP.
    pub fn ip4_add_address(&self, if_index: IfIndex, addr: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        let a = addr.address();
        if a.is_multicast() || a.is_broadcast() || a.is_unspecified() || a.is_loopback() {
            return Err(Ip4ConfigError::BadAddress(a));
        }
        let mut ifs = self.interfaces_mut();
        routes::add_address(&mut ifs, if_index, addr)?;
        // Readers see the address before a route sends packets to it.
        ifs.publish();
        let mut ip4 = self.ip4_mut();
        ip4.set_address_routes(addr, if_index, true)?;
        ip4.queue_garp(if_index, a);
        Ok(())
    }

    /// Removes IPv4 address `addr` from interface `if_index` and the routes it made.
    pub fn ip4_del_address(&self, if_index: IfIndex, addr: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        let mut ifs = self.interfaces_mut();
        routes::del_address(&mut ifs, if_index, addr)?;
        self.ip4_mut().set_address_routes(addr, if_index, false)
    }

    /// Adds a path to the static route for `prefix`: via next hop `via` (resolved to an
    /// adjacency on `if_index`, or on the interface whose connected subnet holds it), or
    /// on-link on `if_index` when `via` is `None`. Adding several paths with next hops
    /// makes an ECMP route (`Dpo::LoadBalance`). A blackhole or unreachable static route
    /// for the prefix is replaced.
    pub fn ip4_add_route(
        &self,
        prefix: Ipv4Cidr,
        via: Option<Ipv4Addr>,
        if_index: Option<IfIndex>,
    ) -> Result<(), Ip4ConfigError> {
        let ifs = self.interfaces();
        let path_if = routes::path_if(&ifs, via, if_index, |v| connected_if(&ifs, v))?;
        if let Some(v) = via {
            if ifs.owner_of_ip4(v).is_some() {
                return Err(Ip4ConfigError::ViaIsLocal(v));
            }
        }
        let path = Path {
            via,
            if_index: path_if,
        };
        let mut adjs = self.adjacencies_mut();
        let mut ip4 = self.ip4_mut();
        ip4.table.add_path(&ifs, &mut adjs, prefix, path)
    }

    /// Installs a blackhole route: packets to `prefix` are dropped and counted.
    pub fn ip4_add_blackhole(&self, prefix: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        self.ip4_mut().table.set_static_special(prefix, Dpo::Drop)
    }

    /// Installs an unreachable route: packets to `prefix` are answered with ICMP
    /// destination unreachable.
    pub fn ip4_add_unreachable(&self, prefix: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        self.ip4_mut()
            .table
            .set_static_special(prefix, Dpo::Unreachable)
    }

    /// Removes the static route for `prefix` (every path).
    pub fn ip4_remove_route(&self, prefix: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        self.ip4_mut().table.remove_static(prefix)
    }

    /// Every route, by prefix (for `show ip fib`).
    pub fn ip4_routes(&self) -> Vec<Route> {
        self.ip4_mut().table.list()
    }

    /// The route `dst` matches and its DPO (for `show ip fib <addr>` and tests).
    pub fn ip4_lookup(&self, dst: Ipv4Addr) -> Dpo {
        let ip4 = self.ip4_mut();
        ip4.dpos().get(ip4.lookup(dst)).clone()
    }

    /// Records a neighbour's `/32` on a connected subnet of `if_index` (or removes it with
    /// `adj == None`), so traffic to it skips glean.
    pub(crate) fn ip4_set_neighbor_route(
        &self,
        if_index: IfIndex,
        ip: Ipv4Addr,
        adj: Option<AdjIndex>,
    ) -> Result<(), Ip4ConfigError> {
        let _ = if_index;
        let mut ip4 = self.ip4_mut();
        ip4.set_source(
            u32::from(ip),
            32,
            RouteSource::Neighbor,
            adj.map(Dpo::Adjacency),
        )
    }
}

impl Ip4 {
    /// Sets (`add`) or clears the routes address `addr` of `if_index` makes: the local
    /// `/32`, the connected subnet and its network and broadcast addresses (dropped).
    fn set_address_routes(
        &mut self,
        addr: Ipv4Cidr,
        if_index: IfIndex,
        add: bool,
    ) -> Result<(), Ip4ConfigError> {
        let (a, len) = (u32::from(addr.address()), addr.prefix_len());
        self.table.set_address(a, len, if_index, add)?;
        if len < 31 {
            let net = a & mask(len);
            for x in [net, net | !mask(len)] {
                self.set_source(x, 32, RouteSource::Connected, add.then_some(Dpo::Drop))?;
            }
        }
        Ok(())
    }
}
