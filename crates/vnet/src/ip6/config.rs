//! The IPv6 control plane: interface addresses (local `/128` → receive, connected `/N` →
//! glean, and the automatic link-local `fe80::/64` from the MAC), static routes (via a
//! global or link-local next hop, an interface, ECMP), blackhole and unreachable routes,
//! and the route listing.
//!
//! Locks are taken in the order interfaces → adjacencies → ip6 (the nodes take them in the
//! same order); the route entry is written first and then the FIB leaf, so a concurrent
//! `ip6-lookup` sees the old or the new leaf, never a half-written one.

use super::{is_link_local, link_local_from_mac, Ip6};
use crate::adj::AdjIndex;
use crate::dpo::Dpo;
use crate::interface::{IfIndex, Interfaces};
use crate::ip4::RouteSource;
use crate::Vnet;
use core::net::{IpAddr, Ipv6Addr};
use wire::ipv6::Ipv6Cidr;

/// One next hop of a static IPv6 route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path6 {
    /// The next hop's address (`None`: the destination is on-link on `if_index`).
    pub via: Option<Ipv6Addr>,
    /// The interface it is reached through.
    pub if_index: IfIndex,
}

/// A route as `show ip6 fib` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route6 {
    /// The prefix.
    pub prefix: Ipv6Cidr,
    /// The source whose DPO is in use.
    pub source: RouteSource,
    /// What packets to it do.
    pub dpo: Dpo,
    /// The static paths, if any.
    pub paths: Vec<Path6>,
}

/// Why an IPv6 configuration change was refused; each names the field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Ip6ConfigError {
    /// No interface with that index.
    #[error("if_index: no interface #{0}")]
    NoSuchInterface(IfIndex),
    /// The address is already on that interface.
    #[error("address: {0} is already configured on interface #{1}")]
    AddressExists(Ipv6Cidr, IfIndex),
    /// The address is not on that interface.
    #[error("address: {0} is not configured on interface #{1}")]
    NoSuchAddress(Ipv6Cidr, IfIndex),
    /// A multicast, unspecified or loopback address as an interface address.
    #[error("address: {0} cannot be an interface address")]
    BadAddress(Ipv6Addr),
    /// Neither a next hop nor an interface.
    #[error("via/if_index: a path needs a next hop, an interface or both")]
    EmptyPath,
    /// The next hop is on no connected subnet (and no interface was given).
    #[error("via: {0} is not on a connected subnet; give the interface")]
    ViaNotConnected(Ipv6Addr),
    /// A link-local next hop without its interface (it is only unique per link).
    #[error("if_index: link-local next hop {0} needs an interface")]
    ViaLinkLocalNeedsInterface(Ipv6Addr),
    /// The next hop is one of our own addresses.
    #[error("via: {0} is one of our addresses")]
    ViaIsLocal(Ipv6Addr),
    /// A multicast or unspecified next hop.
    #[error("via: {0} cannot be a next hop")]
    BadVia(Ipv6Addr),
    /// An ECMP path without a next hop.
    #[error("via: every path of a multipath route needs a next hop")]
    MultipathNeedsVia,
    /// A route for a link-local or multicast prefix (those are not forwarded).
    #[error("prefix: {0} is link-local or multicast and cannot be routed")]
    BadPrefix(Ipv6Cidr),
    /// The FIB refused the prefix (out of table groups).
    #[error("prefix: the FIB refused it: {0}")]
    Fib(String),
    /// No static route for that prefix.
    #[error("prefix: no static route for {0}")]
    NoSuchRoute(Ipv6Cidr),
}

pub(crate) fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

fn key(p: Ipv6Cidr) -> (u128, u8) {
    (
        u128::from(p.address()) & mask(p.prefix_len()),
        p.prefix_len(),
    )
}

fn cidr(k: (u128, u8)) -> Ipv6Cidr {
    Ipv6Cidr::new(Ipv6Addr::from(k.0), k.1.min(128)).unwrap_or_else(|_| {
        match Ipv6Cidr::new(Ipv6Addr::UNSPECIFIED, 0) {
            Ok(c) => c,
            Err(_) => unreachable!("::/0 is a valid prefix"),
        }
    })
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

impl Ip6 {
    /// The DPO the static paths make.
    fn static_dpo(paths: &[(Path6, Option<AdjIndex>)]) -> Result<Dpo, Ip6ConfigError> {
        match paths {
            [] => Err(Ip6ConfigError::EmptyPath),
            [(p, None)] => Ok(Dpo::Glean {
                if_index: p.if_index,
            }),
            [(_, Some(a))] => Ok(Dpo::Adjacency(*a)),
            many => {
                let mut adjs = many
                    .iter()
                    .map(|(_, a)| a.ok_or(Ip6ConfigError::MultipathNeedsVia))
                    .collect::<Result<Vec<_>, _>>()?;
                adjs.sort_unstable();
                adjs.dedup();
                Ok(if adjs.len() == 1 {
                    Dpo::Adjacency(adjs[0])
                } else {
                    Dpo::LoadBalance(adjs.into_boxed_slice())
                })
            }
        }
    }
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
            .ok_or(Ip6ConfigError::NoSuchInterface(if_index))?;
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
        let iface = ifs
            .get_mut(if_index)
            .ok_or(Ip6ConfigError::NoSuchInterface(if_index))?;
        if iface.ip6.iter().any(|c| c.address() == a) {
            return Err(Ip6ConfigError::AddressExists(addr, if_index));
        }
        iface.ip6.push(addr);
        if is_link_local(&a) {
            return Ok(());
        }
        // Readers see the address before a route sends packets to it.
        ifs.publish();
        let mut ip6 = self.ip6_mut();
        ip6.set_source(
            u128::from(a),
            128,
            RouteSource::Local,
            Some(Dpo::Receive { if_index }),
        )?;
        if addr.prefix_len() < 128 {
            ip6.set_source(
                u128::from(a),
                addr.prefix_len(),
                RouteSource::Connected,
                Some(Dpo::Glean { if_index }),
            )?;
        }
        Ok(())
    }

    /// Removes IPv6 address `addr` from interface `if_index` and the routes it made.
    pub fn ip6_del_address(&self, if_index: IfIndex, addr: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
        let mut ifs = self.interfaces_mut();
        let iface = ifs
            .get_mut(if_index)
            .ok_or(Ip6ConfigError::NoSuchInterface(if_index))?;
        let Some(pos) = iface.ip6.iter().position(|c| *c == addr) else {
            return Err(Ip6ConfigError::NoSuchAddress(addr, if_index));
        };
        iface.ip6.remove(pos);
        let a = addr.address();
        if is_link_local(&a) {
            return Ok(());
        }
        let mut ip6 = self.ip6_mut();
        ip6.set_source(u128::from(a), 128, RouteSource::Local, None)?;
        if addr.prefix_len() < 128 {
            ip6.set_source(
                u128::from(a),
                addr.prefix_len(),
                RouteSource::Connected,
                None,
            )?;
        }
        Ok(())
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
            if v.is_multicast() || v.is_unspecified() || v.is_loopback() {
                return Err(Ip6ConfigError::BadVia(v));
            }
            if is_link_local(&v) && if_index.is_none() {
                return Err(Ip6ConfigError::ViaLinkLocalNeedsInterface(v));
            }
            if owner_of_ip6(&ifs, v).is_some() {
                return Err(Ip6ConfigError::ViaIsLocal(v));
            }
        }
        let path_if = match (via, if_index) {
            (None, None) => return Err(Ip6ConfigError::EmptyPath),
            (_, Some(i)) => {
                if ifs.get(i).is_none() {
                    return Err(Ip6ConfigError::NoSuchInterface(i));
                }
                i
            }
            (Some(v), None) => connected_if(&ifs, v).ok_or(Ip6ConfigError::ViaNotConnected(v))?,
        };
        let path = Path6 {
            via,
            if_index: path_if,
        };
        let mut adjs = self.adjacencies_mut();
        let k = key(prefix);
        let mut ip6 = self.ip6_mut();
        let mut paths: Vec<Path6> = ip6
            .routes
            .get(&k)
            .filter(|e| {
                matches!(
                    e.sources.get(&RouteSource::Static),
                    Some(Dpo::Adjacency(_) | Dpo::LoadBalance(_) | Dpo::Glean { .. })
                )
            })
            .map(|e| e.paths.clone())
            .unwrap_or_default();
        if !paths.contains(&path) {
            paths.push(path);
        }
        let resolved: Vec<(Path6, Option<AdjIndex>)> = paths
            .iter()
            .map(|p| {
                let adj = p
                    .via
                    .map(|v| adjs.get_or_add(&ifs, p.if_index, IpAddr::V6(v)));
                (*p, adj)
            })
            .collect();
        let dpo = Ip6::static_dpo(&resolved)?;
        // New adjacencies are published before a DPO (and then a leaf) names them.
        adjs.publish();
        let e = ip6.routes.entry(k).or_default();
        e.paths = paths;
        e.sources.insert(RouteSource::Static, dpo);
        ip6.sync(k)
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
        let k = key(prefix);
        let mut ip6 = self.ip6_mut();
        let e = ip6.routes.entry(k).or_default();
        e.paths.clear();
        e.sources.insert(RouteSource::Static, dpo);
        ip6.sync(k)
    }

    /// Removes the static route for `prefix` (every path).
    pub fn ip6_remove_route(&self, prefix: Ipv6Cidr) -> Result<(), Ip6ConfigError> {
        let k = key(prefix);
        let mut ip6 = self.ip6_mut();
        let Some(e) = ip6.routes.get_mut(&k) else {
            return Err(Ip6ConfigError::NoSuchRoute(prefix));
        };
        if e.sources.remove(&RouteSource::Static).is_none() {
            return Err(Ip6ConfigError::NoSuchRoute(prefix));
        }
        e.paths.clear();
        ip6.sync(k)
    }

    /// Every route, by prefix (for `show ip6 fib`).
    pub fn ip6_routes(&self) -> Vec<Route6> {
        let ip6 = self.ip6_mut();
        ip6.routes
            .iter()
            .filter_map(|(k, e)| {
                let (source, dpo) = e.sources.iter().next()?;
                Some(Route6 {
                    prefix: cidr(*k),
                    source: *source,
                    dpo: dpo.clone(),
                    paths: e.paths.clone(),
                })
            })
            .collect()
    }

    /// The route `dst` matches and its DPO (for `show ip6 fib <addr>` and tests).
    pub fn ip6_lookup(&self, dst: Ipv6Addr) -> Dpo {
        let ip6 = self.ip6_mut();
        ip6.dpos.get(ip6.lookup(dst)).clone()
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
