//! The IPv4 control plane: interface addresses, static routes, route listing.
//!
//! Every change takes the write locks in the order interfaces → adjacencies → ip4 (the
//! nodes take them in the same order), writes the route entry and then the FIB leaf, so a
//! concurrent `ip4-lookup` sees either the old or the new leaf, never a half-written one.

use super::Ip4;
use crate::adj::AdjIndex;
use crate::dpo::Dpo;
use crate::interface::{IfIndex, Interfaces};
use crate::Vnet;
use core::net::{IpAddr, Ipv4Addr};
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

/// One next hop of a static route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    /// The next hop's address (`None`: the destination is on-link on `if_index`).
    pub via: Option<Ipv4Addr>,
    /// The interface it is reached through.
    pub if_index: IfIndex,
}

/// A route as `show ip fib` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix.
    pub prefix: Ipv4Cidr,
    /// The source whose DPO is in use.
    pub source: RouteSource,
    /// What packets to it do.
    pub dpo: Dpo,
    /// The static paths, if any.
    pub paths: Vec<Path>,
}

/// Why an IPv4 configuration change was refused; each names the field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Ip4ConfigError {
    /// No interface with that index.
    #[error("if_index: no interface #{0}")]
    NoSuchInterface(IfIndex),
    /// The address is already on that interface.
    #[error("address: {0} is already configured on interface #{1}")]
    AddressExists(Ipv4Cidr, IfIndex),
    /// The address is not on that interface.
    #[error("address: {0} is not configured on interface #{1}")]
    NoSuchAddress(Ipv4Cidr, IfIndex),
    /// A multicast, broadcast, unspecified or loopback address as an interface address.
    #[error("address: {0} cannot be an interface address")]
    BadAddress(Ipv4Addr),
    /// Neither a next hop nor an interface.
    #[error("via/if_index: a path needs a next hop, an interface or both")]
    EmptyPath,
    /// The next hop is on no connected subnet (and no interface was given).
    #[error("via: {0} is not on a connected subnet; give the interface")]
    ViaNotConnected(Ipv4Addr),
    /// The next hop is one of our own addresses.
    #[error("via: {0} is one of our addresses")]
    ViaIsLocal(Ipv4Addr),
    /// An ECMP path without a next hop.
    #[error("via: every path of a multipath route needs a next hop")]
    MultipathNeedsVia,
    /// The FIB refused the prefix (out of table groups).
    #[error("prefix: the FIB refused it: {0}")]
    Fib(String),
    /// No static route for that prefix.
    #[error("prefix: no static route for {0}")]
    NoSuchRoute(Ipv4Cidr),
}

pub(crate) fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn key(p: Ipv4Cidr) -> (u32, u8) {
    (
        u32::from(p.address()) & mask(p.prefix_len()),
        p.prefix_len(),
    )
}

fn cidr(k: (u32, u8)) -> Ipv4Cidr {
    // `k.1` ≤ 32 by construction.
    Ipv4Cidr::new(Ipv4Addr::from(k.0), k.1.min(32)).unwrap_or_else(|_| unreachable_cidr())
}

fn unreachable_cidr() -> Ipv4Cidr {
    // 0.0.0.0/0 is always valid.
    match Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0) {
        Ok(c) => c,
        Err(_) => unreachable!("0.0.0.0/0 is a valid prefix"),
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

impl Ip4 {
    /// The DPO the static paths make.
    fn static_dpo(paths: &[(Path, Option<AdjIndex>)]) -> Result<Dpo, Ip4ConfigError> {
        match paths {
            [] => Err(Ip4ConfigError::EmptyPath),
            [(p, None)] => Ok(Dpo::Glean {
                if_index: p.if_index,
            }),
            [(_, Some(a))] => Ok(Dpo::Adjacency(*a)),
            many => {
                let mut adjs = many
                    .iter()
                    .map(|(_, a)| a.ok_or(Ip4ConfigError::MultipathNeedsVia))
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
    /// Adds IPv4 address `addr` (with its prefix) to interface `if_index`: installs the
    /// local `/32` (receive), the connected subnet (glean) with its network and broadcast
    /// addresses dropped, and queues a gratuitous ARP.
    pub fn ip4_add_address(&self, if_index: IfIndex, addr: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        let a = addr.address();
        if a.is_multicast() || a.is_broadcast() || a.is_unspecified() || a.is_loopback() {
            return Err(Ip4ConfigError::BadAddress(a));
        }
        let mut ifs = self.interfaces_mut();
        let iface = ifs
            .get_mut(if_index)
            .ok_or(Ip4ConfigError::NoSuchInterface(if_index))?;
        if iface.ip4.iter().any(|c| c.address() == a) {
            return Err(Ip4ConfigError::AddressExists(addr, if_index));
        }
        iface.ip4.push(addr);
        // Readers see the address before a route sends packets to it.
        ifs.publish();
        let mut ip4 = self.ip4_mut();
        let len = addr.prefix_len();
        ip4.set_source(
            u32::from(a),
            32,
            RouteSource::Local,
            Some(Dpo::Receive { if_index }),
        )?;
        if len < 32 {
            ip4.set_source(
                u32::from(a),
                len,
                RouteSource::Connected,
                Some(Dpo::Glean { if_index }),
            )?;
        }
        if len < 31 {
            let net = u32::from(a) & mask(len);
            let bcast = net | !mask(len);
            for x in [net, bcast] {
                ip4.set_source(x, 32, RouteSource::Connected, Some(Dpo::Drop))?;
            }
        }
        ip4.queue_garp(if_index, a);
        Ok(())
    }

    /// Removes IPv4 address `addr` from interface `if_index` and the routes it made.
    pub fn ip4_del_address(&self, if_index: IfIndex, addr: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        let mut ifs = self.interfaces_mut();
        let iface = ifs
            .get_mut(if_index)
            .ok_or(Ip4ConfigError::NoSuchInterface(if_index))?;
        let Some(pos) = iface.ip4.iter().position(|c| *c == addr) else {
            return Err(Ip4ConfigError::NoSuchAddress(addr, if_index));
        };
        iface.ip4.remove(pos);
        let a = u32::from(addr.address());
        let len = addr.prefix_len();
        let mut ip4 = self.ip4_mut();
        ip4.set_source(a, 32, RouteSource::Local, None)?;
        if len < 32 {
            ip4.set_source(a, len, RouteSource::Connected, None)?;
        }
        if len < 31 {
            let net = a & mask(len);
            for x in [net, net | !mask(len)] {
                ip4.set_source(x, 32, RouteSource::Connected, None)?;
            }
        }
        Ok(())
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
        let path_if = match (via, if_index) {
            (None, None) => return Err(Ip4ConfigError::EmptyPath),
            (_, Some(i)) => {
                if ifs.get(i).is_none() {
                    return Err(Ip4ConfigError::NoSuchInterface(i));
                }
                i
            }
            (Some(v), None) => connected_if(&ifs, v).ok_or(Ip4ConfigError::ViaNotConnected(v))?,
        };
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
        let k = key(prefix);
        let mut ip4 = self.ip4_mut();
        let mut paths: Vec<Path> = ip4
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
        let resolved: Vec<(Path, Option<AdjIndex>)> = paths
            .iter()
            .map(|p| {
                let adj = p
                    .via
                    .map(|v| adjs.get_or_add(&ifs, p.if_index, IpAddr::V4(v)));
                (*p, adj)
            })
            .collect();
        let dpo = Ip4::static_dpo(&resolved)?;
        // New adjacencies are published before a DPO (and then a leaf) names them.
        adjs.publish();
        let e = ip4.routes.entry(k).or_default();
        e.paths = paths;
        e.sources.insert(RouteSource::Static, dpo);
        ip4.sync(k)
    }

    /// Installs a blackhole route: packets to `prefix` are dropped and counted.
    pub fn ip4_add_blackhole(&self, prefix: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        self.set_static_special(prefix, Dpo::Drop)
    }

    /// Installs an unreachable route: packets to `prefix` are answered with ICMP
    /// destination unreachable.
    pub fn ip4_add_unreachable(&self, prefix: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        self.set_static_special(prefix, Dpo::Unreachable)
    }

    fn set_static_special(&self, prefix: Ipv4Cidr, dpo: Dpo) -> Result<(), Ip4ConfigError> {
        let k = key(prefix);
        let mut ip4 = self.ip4_mut();
        let e = ip4.routes.entry(k).or_default();
        e.paths.clear();
        e.sources.insert(RouteSource::Static, dpo);
        ip4.sync(k)
    }

    /// Removes the static route for `prefix` (every path).
    pub fn ip4_remove_route(&self, prefix: Ipv4Cidr) -> Result<(), Ip4ConfigError> {
        let k = key(prefix);
        let mut ip4 = self.ip4_mut();
        let Some(e) = ip4.routes.get_mut(&k) else {
            return Err(Ip4ConfigError::NoSuchRoute(prefix));
        };
        if e.sources.remove(&RouteSource::Static).is_none() {
            return Err(Ip4ConfigError::NoSuchRoute(prefix));
        }
        e.paths.clear();
        ip4.sync(k)
    }

    /// Every route, by prefix (for `show ip fib`).
    pub fn ip4_routes(&self) -> Vec<Route> {
        let ip4 = self.ip4_mut();
        ip4.routes
            .iter()
            .filter_map(|(k, e)| {
                let (source, dpo) = e.sources.iter().next()?;
                Some(Route {
                    prefix: cidr(*k),
                    source: *source,
                    dpo: dpo.clone(),
                    paths: e.paths.clone(),
                })
            })
            .collect()
    }

    /// The route `dst` matches and its DPO (for `show ip fib <addr>` and tests).
    pub fn ip4_lookup(&self, dst: Ipv4Addr) -> Dpo {
        let ip4 = self.ip4_mut();
        ip4.dpos.get(ip4.lookup(dst)).clone()
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
