//! What ARP ([`crate::arp`]) and ND ([`crate::nd`]) share: learning a neighbour (which
//! releases the packets held for it) and the node that holds packets for an unresolved
//! neighbour and asks for it, [`Resolve`] (`ip4-arp`, `ip6-discover-neighbor`), generic
//! over the [`Resolver`] that says how one family asks.

use crate::adj::{AdjIndex, AdjState};
use crate::interface::{IfIndex, Interface, Interfaces};
use crate::{opaque, Learned, Vnet};
use buf::{Buf, BufferCache, BufferPool, Frame};
use core::fmt::{Debug, Display};
use core::hash::Hash;
use core::marker::PhantomData;
use core::net::IpAddr;
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind};
use std::collections::HashMap;
use wire::ethernet::EthernetAddress;

/// Records `ip` at `mac` on `if_index`: neighbour table and adjacency; then, unless the
/// neighbour was only refreshed, `route(adj)` (the family adds the neighbour's host route
/// where it belongs); and moves the packets waiting for it into `out` with `opaque[ADJ]`
/// set. Returns the adjacency.
#[allow(clippy::too_many_arguments)] // The slow path's whole context; a struct would only rename it.
pub(crate) fn learn(
    vnet: &Vnet,
    ifs: &Interfaces,
    pool: &BufferPool,
    if_index: IfIndex,
    ip: IpAddr,
    mac: EthernetAddress,
    now: u64,
    out: &mut Frame,
    route: impl FnOnce(AdjIndex),
) -> Option<AdjIndex> {
    let mut nt = vnet.neighbors();
    let what = nt.learn(if_index, ip, mac, now);
    let adj = {
        let mut adjs = vnet.adjacencies_mut();
        let complete = adjs
            .find(if_index, ip)
            .and_then(|a| adjs.get(a))
            .is_some_and(|a| a.state == AdjState::Complete);
        if what == Learned::Refreshed && complete {
            adjs.find(if_index, ip)
        } else {
            adjs.resolve(ifs, if_index, ip, mac)
        }
    }?;
    if what != Learned::Refreshed {
        route(adj);
    }
    let n = nt.take_pending(if_index, ip, out);
    drop(nt);
    if n > 0 {
        let start = out.len() - n;
        for b in &mut out.as_mut_slice()[start..] {
            pool.meta_mut(b).opaque[opaque::ADJ] = adj;
        }
    }
    Some(adj)
}

/// The outcomes of [`Resolve`], each a counter or drop of the family's error enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveEvent {
    /// The neighbour's (or the whole) pending queue is full.
    PendingFull,
    /// `opaque[ADJ]` names no adjacency of the family.
    BadAdjacency,
    /// Unreadable IP header (glean needs the destination).
    Malformed,
    /// The interface is unknown.
    UnknownInterface,
    /// The interface has no address to ask from.
    NoSourceAddress,
    /// Packets held for resolution (a counter).
    Held,
    /// Requests sent (a counter).
    RequestsSent,
    /// Requests not sent because one went out recently (a counter).
    RequestsThrottled,
    /// No buffer for a request (a counter).
    NoBuffers,
}

/// How one address family resolves a neighbour: ARP for IPv4, ND for IPv6.
pub trait Resolver: Send + 'static {
    /// The family's address.
    type Addr: Copy + Eq + Hash + Debug + Display + Into<IpAddr> + Send + 'static;
    /// The node's errors and counters.
    type Error: NodeError;
    /// The node's name.
    const NAME: &'static str;
    /// The rewrite node a packet goes to once its neighbour is resolved.
    const REWRITE: &'static str;
    /// `event` as the node's error.
    fn error(event: ResolveEvent) -> Self::Error;
    /// At most one request per neighbour per this interval (ns).
    fn interval_ns(vnet: &Vnet) -> u64;
    /// The family's address in `ip`.
    fn addr(ip: IpAddr) -> Option<Self::Addr>;
    /// The destination of the IP packet in `data` (a glean packet resolves it).
    fn destination(data: &[u8]) -> Option<Self::Addr>;
    /// The address `iface` asks for `target` from.
    fn source(iface: &Interface, target: Self::Addr) -> Option<Self::Addr>;
    /// Builds the request for `target` from `src` with its L2 header from `iface` in `b`
    /// (window reset); false if it does not fit. `unicast` is the MAC of a known neighbour
    /// being re-checked (a probe sent to it alone), `None` to ask the whole link.
    fn emit_request(
        pool: &BufferPool,
        b: &mut Buf,
        iface: &Interface,
        src: Self::Addr,
        target: Self::Addr,
        unicast: Option<EthernetAddress>,
    ) -> bool;
}

/// Sends a unicast probe to neighbour `n` at the MAC it has (RFC 1122 §2.3.2.1's unicast
/// ARP poll; RFC 4861 §7.3.3's PROBE neighbor solicitation), enqueued to `next`: the
/// neighbour's entry aged, and an answer refreshes it without its adjacency ever going
/// incomplete. False if nothing was sent (unknown interface, no source address, no buffer).
pub(crate) fn probe<R: Resolver>(
    cx: &mut Ctx<'_>,
    ifs: &Interfaces,
    n: &crate::Neighbor,
    next: Next,
) -> bool {
    let (Some(iface), Some(target)) = (ifs.get(n.if_index), R::addr(n.ip)) else {
        return false;
    };
    let Some(src) = R::source(iface, target) else {
        return false;
    };
    let Some(mut b) = cx.cache().alloc() else {
        return false;
    };
    let pool = cx.pool();
    if R::emit_request(pool, &mut b, iface, src, target, Some(n.mac)) {
        pool.meta_mut(&mut b).rx_if = crate::interface::IF_NONE;
        cx.enqueue(next, b);
        true
    } else {
        cx.free(b);
        false
    }
}

const NEXT_OUTPUT: Next = Next(0);
const NEXT_REWRITE: Next = Next(1);

/// Most neighbours whose last request time is remembered.
const MAX_THROTTLE: usize = 4096;

/// `ip4-arp` / `ip6-discover-neighbor`: holds packets for unresolved neighbours (glean,
/// incomplete adjacency) in the [`crate::NeighborTable`]'s bounded queue and sends a
/// request, at most one per neighbour per [`Resolver::interval_ns`]; a packet whose
/// neighbour was resolved since lookup goes on to rewrite.
#[derive(Debug)]
pub struct Resolve<R: Resolver> {
    vnet: Vnet,
    last_request: HashMap<(IfIndex, R::Addr), u64>,
    interval_ns: u64,
    family: PhantomData<R>,
}

impl<R: Resolver> Resolve<R> {
    /// The node, with the request interval of `vnet`'s parameters.
    pub fn new(vnet: &Vnet) -> Resolve<R> {
        Resolve {
            vnet: vnet.clone(),
            last_request: HashMap::new(),
            interval_ns: R::interval_ns(vnet),
            family: PhantomData,
        }
    }

    fn may_request(&mut self, key: (IfIndex, R::Addr), now: u64) -> bool {
        if let Some(&t) = self.last_request.get(&key) {
            if now.saturating_sub(t) < self.interval_ns {
                return false;
            }
        }
        if self.last_request.len() >= MAX_THROTTLE {
            let iv = self.interval_ns;
            self.last_request.retain(|_, t| now.saturating_sub(*t) < iv);
            if self.last_request.len() >= MAX_THROTTLE {
                return false;
            }
        }
        self.last_request.insert(key, now);
        true
    }
}

impl<R: Resolver> Node for Resolve<R> {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: R::NAME,
            kind: NodeKind::Internal,
            next_nodes: &[crate::names::INTERFACE_OUTPUT, R::REWRITE],
            errors: R::Error::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        use ResolveEvent as E;
        let vnet = self.vnet.clone();
        let ifs = vnet.interfaces();
        let pool = cx.pool();
        let now = cx.now();
        for mut b in frame.drain() {
            let m = pool.meta(&b);
            let (adj_i, tx_if) = (m.opaque[opaque::ADJ], m.tx_if);
            let target = if adj_i == crate::ip4::ADJ_GLEAN {
                R::destination(pool.get(&b).data())
                    .map(|ip| (tx_if, ip))
                    .ok_or(E::Malformed)
            } else {
                vnet.adjacencies()
                    .get(adj_i)
                    .and_then(|a| Some((a.tx_if, R::addr(a.next_hop)?)))
                    .ok_or(E::BadAdjacency)
            };
            let (if_index, ip) = match target {
                Ok(t) => t,
                Err(e) => {
                    cx.drop(b, R::error(e));
                    continue;
                }
            };
            // Resolved since lookup ran (a frame in flight when the answer came in)?
            let ready = {
                let adjs = vnet.adjacencies();
                adjs.find(if_index, ip.into())
                    .filter(|&a| adjs.get(a).is_some_and(|a| a.state == AdjState::Complete))
            };
            if let Some(a) = ready {
                pool.meta_mut(&mut b).opaque[opaque::ADJ] = a;
                cx.enqueue(NEXT_REWRITE, b);
                continue;
            }
            let Some(iface) = ifs.get(if_index) else {
                cx.drop(b, R::error(E::UnknownInterface));
                continue;
            };
            let Some(src) = R::source(iface, ip) else {
                cx.drop(b, R::error(E::NoSourceAddress));
                continue;
            };
            cx.trace(&b, format_args!("resolving {ip} on if {if_index}"));
            let held = vnet.neighbors().hold(if_index, ip.into(), b, now);
            if let Err(b) = held {
                cx.drop(b, R::error(E::PendingFull));
                continue;
            }
            cx.count(R::error(E::Held), 1);
            if !self.may_request((if_index, ip), now) {
                cx.count(R::error(E::RequestsThrottled), 1);
                continue;
            }
            match cx.cache().alloc() {
                Some(mut rb) => {
                    if R::emit_request(pool, &mut rb, iface, src, ip, None) {
                        cx.count(R::error(E::RequestsSent), 1);
                        cx.enqueue(NEXT_OUTPUT, rb);
                    } else {
                        cx.drop(rb, R::error(E::UnknownInterface));
                    }
                }
                None => cx.count(R::error(E::NoBuffers), 1),
            }
        }
    }

    fn release(&mut self, cache: &mut BufferCache) {
        self.vnet.neighbors().release(cache);
    }
}
