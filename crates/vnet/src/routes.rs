//! What the IPv4 and IPv6 control planes share ([`crate::ip4::config`],
//! [`crate::ip6::config`]): the writer's route table — an entry per prefix holding what
//! each [`RouteSource`] says and the static paths — how the best source's DPO becomes the
//! FIB leaf, and the static-route and address-route operations. [`Family`] says what
//! differs: the address, the prefix, the FIB.
//!
//! The route entry is written first and then the FIB leaf, so a concurrent lookup sees the
//! old or the new leaf, never a half-written one; new adjacencies are published before a
//! DPO (and then a leaf) names them.

use crate::adj::{AdjIndex, AdjTable};
use crate::dpo::{Dpo, DpoIndex, DpoTable};
use crate::interface::{IfIndex, Interface, Interfaces};
use crate::ip4::RouteSource;
use crate::state::WriteGuard;
use core::fmt::{Debug, Display};
use core::net::IpAddr;
use std::collections::BTreeMap;

/// An address family as the route table sees it.
pub trait Family: Sized + Debug + Clone + PartialEq + Eq + 'static {
    /// The address (`Ipv4Addr`, `Ipv6Addr`).
    type Addr: Copy + Eq + Debug + Display + Into<IpAddr>;
    /// A prefix (`Ipv4Cidr`, `Ipv6Cidr`).
    type Cidr: Copy + Eq + Debug + Display;
    /// An address as the FIB's integer (`u32`, `u128`).
    type Bits: Copy + Ord + Debug;
    /// The FIB, writer's side.
    type Fib: Debug;
    /// The control plane's error.
    type Error: From<RouteError<Self>>;
    /// The address width, the host route's length.
    const HOST_LEN: u8;
    /// `net/len` with the host bits cleared and `len` at most [`Family::HOST_LEN`].
    fn key(net: Self::Bits, len: u8) -> (Self::Bits, u8);
    /// `p`'s address and length.
    fn split(p: Self::Cidr) -> (Self::Bits, u8);
    /// The prefix of a key.
    fn cidr(key: (Self::Bits, u8)) -> Self::Cidr;
    /// Writes a FIB leaf; the leaf it replaced.
    fn fib_insert(
        fib: &mut Self::Fib,
        net: Self::Bits,
        len: u8,
        leaf: DpoIndex,
    ) -> Result<Option<DpoIndex>, fib::RouteError>;
    /// Removes a FIB prefix; its leaf.
    fn fib_remove(fib: &mut Self::Fib, net: Self::Bits, len: u8) -> Option<DpoIndex>;
    /// The interface's addresses of this family.
    fn addresses(iface: &mut Interface) -> &mut Vec<Self::Cidr>;
}

/// Why a change to the route table was refused (each family's error carries it as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError<F: Family> {
    /// No interface with that index.
    #[error("if_index: no interface #{0}")]
    NoSuchInterface(IfIndex),
    /// Neither a next hop nor an interface.
    #[error("via/if_index: a path needs a next hop, an interface or both")]
    EmptyPath,
    /// The next hop is on no connected subnet (and no interface was given).
    #[error("via: {0} is not on a connected subnet; give the interface")]
    ViaNotConnected(F::Addr),
    /// An ECMP path without a next hop.
    #[error("via: every path of a multipath route needs a next hop")]
    MultipathNeedsVia,
    /// The FIB refused the prefix (out of table groups).
    #[error("prefix: the FIB refused it: {0}")]
    Fib(String),
    /// No static route for that prefix.
    #[error("prefix: no static route for {0}")]
    NoSuchRoute(F::Cidr),
    /// The address is already on that interface.
    #[error("address: {0} is already configured on interface #{1}")]
    AddressExists(F::Cidr, IfIndex),
    /// The address is not on that interface.
    #[error("address: {0} is not configured on interface #{1}")]
    NoSuchAddress(F::Cidr, IfIndex),
}

/// The family's addresses of interface `if_index`.
fn addresses<F: Family>(
    ifs: &mut Interfaces,
    if_index: IfIndex,
) -> Result<&mut Vec<F::Cidr>, RouteError<F>> {
    match ifs.get_mut(if_index) {
        Some(iface) => Ok(F::addresses(iface)),
        None => Err(RouteError::NoSuchInterface(if_index)),
    }
}

/// Adds `addr` to the family's addresses of interface `if_index` (refused if the
/// interface has that address, with any prefix length).
pub(crate) fn add_address<F: Family>(
    ifs: &mut Interfaces,
    if_index: IfIndex,
    addr: F::Cidr,
) -> Result<(), RouteError<F>> {
    let list = addresses::<F>(ifs, if_index)?;
    let a = F::split(addr).0;
    if list.iter().any(|c| F::split(*c).0 == a) {
        return Err(RouteError::AddressExists(addr, if_index));
    }
    list.push(addr);
    Ok(())
}

/// Removes `addr` from the family's addresses of interface `if_index`.
pub(crate) fn del_address<F: Family>(
    ifs: &mut Interfaces,
    if_index: IfIndex,
    addr: F::Cidr,
) -> Result<(), RouteError<F>> {
    let list = addresses::<F>(ifs, if_index)?;
    let Some(pos) = list.iter().position(|c| *c == addr) else {
        return Err(RouteError::NoSuchAddress(addr, if_index));
    };
    list.remove(pos);
    Ok(())
}

/// One next hop of a static route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path<A> {
    /// The next hop's address (`None`: the destination is on-link on `if_index`).
    pub via: Option<A>,
    /// The interface it is reached through.
    pub if_index: IfIndex,
}

/// A route as `show ip fib` / `show ip6 fib` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<C, A> {
    /// The prefix.
    pub prefix: C,
    /// The source whose DPO is in use.
    pub source: RouteSource,
    /// What packets to it do.
    pub dpo: Dpo,
    /// The static paths, if any.
    pub paths: Vec<Path<A>>,
}

/// One prefix's route entry: what each source contributes; the best source wins.
#[derive(Debug, Clone)]
pub(crate) struct Entry<A> {
    pub(crate) sources: BTreeMap<RouteSource, Dpo>,
    pub(crate) paths: Vec<Path<A>>,
}

impl<A> Default for Entry<A> {
    fn default() -> Self {
        Entry {
            sources: BTreeMap::new(),
            paths: Vec::new(),
        }
    }
}

/// The interface a static path goes out of: `if_index` if given (it must exist), else the
/// one whose connected subnet holds `via` (`connected_if`).
pub(crate) fn path_if<F: Family>(
    ifs: &Interfaces,
    via: Option<F::Addr>,
    if_index: Option<IfIndex>,
    connected_if: impl FnOnce(F::Addr) -> Option<IfIndex>,
) -> Result<IfIndex, RouteError<F>> {
    match (via, if_index) {
        (None, None) => Err(RouteError::EmptyPath),
        (_, Some(i)) => match ifs.get(i) {
            Some(_) => Ok(i),
            None => Err(RouteError::NoSuchInterface(i)),
        },
        (Some(v), None) => connected_if(v).ok_or(RouteError::ViaNotConnected(v)),
    }
}

/// The writer's route table of one family: the FIB, the DPOs its leaves index and the
/// route entries.
#[derive(Debug)]
pub(crate) struct RouteTable<F: Family> {
    pub(crate) fib: F::Fib,
    pub(crate) dpos: DpoTable,
    pub(crate) routes: BTreeMap<(F::Bits, u8), Entry<F::Addr>>,
}

impl<F: Family> RouteTable<F> {
    pub(crate) fn new(fib: F::Fib, dpos: DpoTable) -> RouteTable<F> {
        RouteTable {
            fib,
            dpos,
            routes: BTreeMap::new(),
        }
    }

    /// Sets (or with `None` clears) what `source` says about `net/len`, then re-derives
    /// the entry's DPO and writes the FIB.
    pub(crate) fn set_source(
        &mut self,
        net: F::Bits,
        len: u8,
        source: RouteSource,
        dpo: Option<Dpo>,
    ) -> Result<(), F::Error> {
        let key = F::key(net, len);
        let e = self.routes.entry(key).or_default();
        match dpo {
            Some(d) => {
                e.sources.insert(source, d);
            }
            None => {
                e.sources.remove(&source);
            }
        }
        self.sync(key)
    }

    /// Writes the FIB leaf of `key` from its best source (or removes the prefix).
    pub(crate) fn sync(&mut self, key: (F::Bits, u8)) -> Result<(), F::Error> {
        let best = self
            .routes
            .get(&key)
            .and_then(|e| e.sources.values().next().cloned());
        match best {
            Some(d) => {
                let i = self.dpos.intern(d);
                self.dpos.hold(i);
                match F::fib_insert(&mut self.fib, key.0, key.1, i) {
                    Ok(old) => {
                        if let Some(o) = old {
                            self.dpos.release(o);
                        }
                    }
                    Err(e) => {
                        self.dpos.release(i);
                        // Keep routes and FIB in step: forget what could not be installed.
                        self.routes.remove(&key);
                        if let Some(o) = F::fib_remove(&mut self.fib, key.0, key.1) {
                            self.dpos.release(o);
                        }
                        return Err(RouteError::Fib(e.to_string()).into());
                    }
                }
            }
            None => {
                self.routes.remove(&key);
                if let Some(o) = F::fib_remove(&mut self.fib, key.0, key.1) {
                    self.dpos.release(o);
                }
            }
        }
        Ok(())
    }

    /// Sets or clears the routes an interface address makes: the local host route
    /// (receive) and, for a shorter prefix, the connected subnet (glean).
    pub(crate) fn set_address(
        &mut self,
        a: F::Bits,
        len: u8,
        if_index: IfIndex,
        add: bool,
    ) -> Result<(), F::Error> {
        let dpo = |d| add.then_some(d);
        let receive = dpo(Dpo::Receive { if_index });
        self.set_source(a, F::HOST_LEN, RouteSource::Local, receive)?;
        if len < F::HOST_LEN {
            let glean = dpo(Dpo::Glean { if_index });
            self.set_source(a, len, RouteSource::Connected, glean)?;
        }
        Ok(())
    }

    /// The DPO the static paths make.
    fn static_dpo(paths: &[(Path<F::Addr>, Option<AdjIndex>)]) -> Result<Dpo, RouteError<F>> {
        match paths {
            [] => Err(RouteError::EmptyPath),
            [(p, None)] => Ok(Dpo::Glean {
                if_index: p.if_index,
            }),
            [(_, Some(a))] => Ok(Dpo::Adjacency(*a)),
            many => {
                let mut adjs = many
                    .iter()
                    .map(|(_, a)| a.ok_or(RouteError::MultipathNeedsVia))
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

    /// Adds `path` to the static route for `prefix` (several paths with next hops make an
    /// ECMP route; a blackhole or unreachable static route is replaced).
    pub(crate) fn add_path(
        &mut self,
        ifs: &Interfaces,
        adjs: &mut WriteGuard<'_, AdjTable>,
        prefix: F::Cidr,
        path: Path<F::Addr>,
    ) -> Result<(), F::Error> {
        let (net, len) = F::split(prefix);
        let k = F::key(net, len);
        let mut paths: Vec<Path<F::Addr>> = self
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
        let resolved: Vec<(Path<F::Addr>, Option<AdjIndex>)> = paths
            .iter()
            .map(|p| {
                let adj = p.via.map(|v| adjs.get_or_add(ifs, p.if_index, v.into()));
                (*p, adj)
            })
            .collect();
        let dpo = Self::static_dpo(&resolved)?;
        // New adjacencies are published before a DPO (and then a leaf) names them.
        adjs.publish();
        let e = self.routes.entry(k).or_default();
        e.paths = paths;
        e.sources.insert(RouteSource::Static, dpo);
        self.sync(k)
    }

    /// Makes the static route for `prefix` a blackhole or unreachable route.
    pub(crate) fn set_static_special(&mut self, prefix: F::Cidr, dpo: Dpo) -> Result<(), F::Error> {
        let (net, len) = F::split(prefix);
        let k = F::key(net, len);
        let e = self.routes.entry(k).or_default();
        e.paths.clear();
        e.sources.insert(RouteSource::Static, dpo);
        self.sync(k)
    }

    /// Removes the static route for `prefix` (every path).
    pub(crate) fn remove_static(&mut self, prefix: F::Cidr) -> Result<(), F::Error> {
        let (net, len) = F::split(prefix);
        let k = F::key(net, len);
        let Some(e) = self.routes.get_mut(&k) else {
            return Err(RouteError::NoSuchRoute(prefix).into());
        };
        if e.sources.remove(&RouteSource::Static).is_none() {
            return Err(RouteError::NoSuchRoute(prefix).into());
        }
        e.paths.clear();
        self.sync(k)
    }

    /// Every route, by prefix.
    pub(crate) fn list(&self) -> Vec<Route<F::Cidr, F::Addr>> {
        self.routes
            .iter()
            .filter_map(|(k, e)| {
                let (source, dpo) = e.sources.iter().next()?;
                Some(Route {
                    prefix: F::cidr(*k),
                    source: *source,
                    dpo: dpo.clone(),
                    paths: e.paths.clone(),
                })
            })
            .collect()
    }
}
