//! The IPv6 control plane: interface addresses (local `/128` → receive, connected `/N` →
//! glean, and the automatic link-local `fe80::/64` from the MAC), static routes (via a
//! global or link-local next hop, an interface, ECMP), blackhole and unreachable routes,
//! and the route listing.
//!
//! Locks are taken in the order interfaces → adjacencies → ip6 (the nodes take them in the
//! same order); the route entry is written first and then the FIB leaf, so a concurrent
//! `ip6-lookup` sees the old or the new leaf, never a half-written one.

use super::{is_link_local, link_local_from_mac, Ip6Fib};
use crate::adj::AdjIndex;
use crate::dpo::{Dpo, DpoIndex};
use crate::interface::{IfIndex, Interface, Interfaces};
use crate::ip4::RouteSource;
use crate::routes::{self, Family, RouteError};
use crate::Vnet;
use core::net::Ipv6Addr;
use wire::ipv6::Ipv6Cidr;

/// One next hop of a static IPv6 route.
pub type Path6 = routes::Path<Ipv6Addr>;

/// An IPv6 route as `show ip6 fib` lists it.
pub type Route6 = routes::Route<Ipv6Cidr, Ipv6Addr>;

/// Why an IPv6 configuration change was refused; each names the field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Ip6ConfigError {
    /// Refused by the route table (no such interface or route, a bad path, FIB full).
    #[error(transparent)]
    Route(#[from] RouteError<Ip6Family>),
    /// A multicast, unspecified or loopback address as an interface address.
    #[error("address: {0} cannot be an interface address")]
    BadAddress(Ipv6Addr),
    /// A link-local next hop without its interface (it is only unique per link).
    #[error("if_index: link-local next hop {0} needs an interface")]
    ViaLinkLocalNeedsInterface(Ipv6Addr),
    /// The next hop is one of our own addresses.
    #[error("via: {0} is one of our addresses")]
    ViaIsLocal(Ipv6Addr),
    /// A multicast or unspecified next hop.
    #[error("via: {0} cannot be a next hop")]
    BadVia(Ipv6Addr),
    /// A route for a link-local or multicast prefix (those are not forwarded).
    #[error("prefix: {0} is link-local or multicast and cannot be routed")]
    BadPrefix(Ipv6Cidr),
}

pub(crate) fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// IPv6 as the route table sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip6Family;

impl Family for Ip6Family {
    type Addr = Ipv6Addr;
    type Cidr = Ipv6Cidr;
    type Bits = u128;
    type Fib = Ip6Fib;
    type Error = Ip6ConfigError;
    const HOST_LEN: u8 = 128;

    fn key(net: u128, len: u8) -> (u128, u8) {
        (net & mask(len), len.min(128))
    }

    fn split(p: Ipv6Cidr) -> (u128, u8) {
        (u128::from(p.address()), p.prefix_len())
    }

    fn cidr(k: (u128, u8)) -> Ipv6Cidr {
        Ipv6Cidr::new(Ipv6Addr::from(k.0), k.1.min(128))
            .or_else(|_| Ipv6Cidr::new(Ipv6Addr::UNSPECIFIED, 0))
            .unwrap_or_else(|_| unreachable!("::/0 is a valid prefix"))
    }

    fn fib_insert(
        fib: &mut Ip6Fib,
        net: u128,
        len: u8,
        leaf: DpoIndex,
    ) -> Result<Option<DpoIndex>, fib::RouteError> {
        fib.insert(net, len, leaf)
    }

    fn fib_remove(fib: &mut Ip6Fib, net: u128, len: u8) -> Option<DpoIndex> {
        fib.remove(net, len)
    }

    fn addresses(iface: &mut Interface) -> &mut Vec<Ipv6Cidr> {
        &mut iface.ip6
    }
}

/// The interface whose connected (global) subnet contains `a`, if any.
fn connected_if(ifs: &Interfaces, a: Ipv6Addr) -> Option<IfIndex> {
    ifs.iter()
        .find(|i| {
            i.ip6.iter().any(|c| {
                c.prefix_len() < 128 && !is_link_local(&c.address()) && c.contains_addr(&a)
            })
        })
        .map(|i| i.index)
}

fn owner_of_ip6(ifs: &Interfaces, a: Ipv6Addr) -> Option<IfIndex> {
    ifs.iter().find(|i| i.has_ip6(a)).map(|i| i.index)
}

fn bad_unicast(a: Ipv6Addr) -> bool {
    a.is_multicast() || a.is_unspecified() || a.is_loopback()
}

impl Vnet {
    /// Enables IPv6 on `if_index`: gives it its link-local address `fe80::/64` made from
    /// its MAC (modified EUI-64) unless it has one. Joining the solicited-node group
    /// follows (`ethernet-input` accepts the groups of every address in `Interface::ip6`).
    /// Returns the link-local address.
    pub fn ip6_enable(&self, if_index: IfIndex) -> Result<Ipv6Addr, Ip6ConfigError> {
        let mut ifs = self.interfaces_mut();
        let iface = ifs
            .get_mut(if_index)
            .ok_or(RouteError::NoSuchInterface(if_index))?;
        if let Some(c) = iface.ip6.iter().find(|c| is_link_local(&c.address())) {
            return Ok(c.address());
        }
        let ll = link_local_from_mac(iface.mac);
        let c = Ipv6Cidr::new(ll, 64).map_err(|_| Ip6ConfigError::BadAddress(ll))?;
        iface.ip6.insert(0, c);
        Ok(ll)
    }

    /// The link-local address of `if_index`, if IPv6 is enabled on it.
    pub fn ip6_link_local(&self, if_index: IfIndex) -> Option<Ipv6Addr> {
        self.interfaces()
            .get(if_index)
            .and_then(|i| i.ip6.iter().map(|c| c.address()).find(is_link_local))
    }

    /// Adds IPv6 address `addr` (with its prefix) to interface `if_index`: enables IPv6
    /// there (link-local), installs the local `/128` (receive) and the connected subnet
    /// (glean). A link-local address is recorded on the interface only (link-local
    /// destinations are decided per interface, not by the FIB).
    pub fn ip6_add_address(&self, if_index: IfIndex, addr: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
        let a = addr.address();
        if bad_unicast(a) {
            return Err(Ip6ConfigError::BadAddress(a));
        }
        if !is_link_local(&a) {
            self.ip6_enable(if_index)?;
        }
        let mut ifs = self.interfaces_mut();
        routes::add_address(&mut ifs, if_index, addr)?;
        if is_link_local(&a) {
            return Ok(());
        }
        // Readers see the address before a route sends packets to it.
        ifs.publish();
        let (a, len) = Ip6Family::split(addr);
        self.ip6_mut().table.set_address(a, len, if_index, true)
    }

    /// Removes IPv6 address `addr` from interface `if_index` and the routes it made.
    pub fn ip6_del_address(&self, if_index: IfIndex, addr: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
        let mut ifs = self.interfaces_mut();
        routes::del_address(&mut ifs, if_index, addr)?;
        if is_link_local(&addr.address()) {
            return Ok(());
        }
        let (a, len) = Ip6Family::split(addr);
        self.ip6_mut().table.set_address(a, len, if_index, false)
    }

    /// Adds a path to the static route for `prefix`: via next hop `via` (a global address
    /// on a connected subnet, or any address with `if_index`; a link-local one always needs
    /// `if_index`), or on-link on `if_index` when `via` is `None`. Several paths with next
    /// hops make an ECMP route. A blackhole or unreachable route for the prefix is replaced.
    pub fn ip6_add_route(
        &self,
        prefix: Ipv6Cidr,
        via: Option<Ipv6Addr>,
        if_index: Option<IfIndex>,
    ) -> Result<(), Ip6ConfigError> {
        check_prefix(prefix)?;
        let ifs = self.interfaces();
        if let Some(v) = via {
            if bad_unicast(v) {
                return Err(Ip6ConfigError::BadVia(v));
            }
            if is_link_local(&v) && if_index.is_none() {
                return Err(Ip6ConfigError::ViaLinkLocalNeedsInterface(v));
            }
            if owner_of_ip6(&ifs, v).is_some() {
                return Err(Ip6ConfigError::ViaIsLocal(v));
            }
        }
        let path_if = routes::path_if(&ifs, via, if_index, |v| connected_if(&ifs, v))?;
        let path = Path6 {
            via,
            if_index: path_if,
        };
        let mut adjs = self.adjacencies_mut();
        let mut ip6 = self.ip6_mut();
        ip6.table.add_path(&ifs, &mut adjs, prefix, path)
    }

    /// Installs a blackhole route: packets to `prefix` are dropped and counted.
    pub fn ip6_add_blackhole(&self, prefix: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
        self.ip6_static_special(prefix, Dpo::Drop)
    }

    /// Installs an unreachable route: packets to `prefix` are answered with ICMPv6
    /// destination unreachable.
    pub fn ip6_add_unreachable(&self, prefix: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
        self.ip6_static_special(prefix, Dpo::Unreachable)
    }

    fn ip6_static_special(&self, prefix: Ipv6Cidr, dpo: Dpo) -> Result<(), Ip6ConfigError> {
        check_prefix(prefix)?;
        self.ip6_mut().table.set_static_special(prefix, dpo)
    }

    /// Removes the static route for `prefix` (every path).
    pub fn ip6_remove_route(&self, prefix: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
        self.ip6_mut().table.remove_static(prefix)
    }

    /// Every route, by prefix (for `show ip6 fib`).
    pub fn ip6_routes(&self) -> Vec<Route6> {
        self.ip6_mut().table.list()
    }

    /// The route `dst` matches and its DPO (for `show ip6 fib <addr>` and tests).
    pub fn ip6_lookup(&self, dst: Ipv6Addr) -> Dpo {
        let ip6 = self.ip6_mut();
        ip6.dpos().get(ip6.lookup(dst)).clone()
    }

    /// Records a neighbour's `/128` on a connected subnet (or removes it with
    /// `adj == None`), so traffic to it skips glean.
    pub(crate) fn ip6_set_neighbor_route(
        &self,
        ip: Ipv6Addr,
        adj: Option<AdjIndex>,
    ) -> Result<(), Ip6ConfigError> {
        let mut ip6 = self.ip6_mut();
        ip6.set_source(
            u128::from(ip),
            128,
            RouteSource::Neighbor,
            adj.map(Dpo::Adjacency),
        )
    }
}

fn check_prefix(p: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
    let a = p.address();
    if p.prefix_len() >= 10 && is_link_local(&a) || p.prefix_len() >= 8 && a.is_multicast() {
        return Err(Ip6ConfigError::BadPrefix(p));
    }
    Ok(())
}
