//! ARP (RFC 826) for IPv4 neighbours: `arp-input`, `ip4-arp` and `ip4-neighbor-process`.
//!
//! * `arp-input` answers requests for our addresses on the (sub-)interface they came in
//!   on (its MAC and VLAN tags), learns the sender of requests and replies addressed to
//!   us and of gratuitous ARPs on a connected subnet — which completes the adjacency, adds
//!   the neighbour's `/32` and releases the packets waiting for it to `ip4-rewrite` — and
//!   drops the rest, each case by name.
//! * `ip4-arp` holds packets for unresolved neighbours (glean, incomplete adjacency) in the
//!   [`crate::NeighborTable`]'s bounded queue and sends a broadcast request, at most one per
//!   neighbour per `arp_request_interval_ns`.
//! * `ip4-neighbor-process` (a process node) sends the gratuitous ARPs queued by
//!   `Vnet::ip4_add_address`, expires neighbours (their adjacency goes incomplete) and
//!   frees packets that waited too long.

use crate::adj::{AdjIndex, MAX_REWRITE};
use crate::interface::{IfIndex, IfKind, Interface, Interfaces, IF_NONE};
use crate::ip4::names;
use crate::resolve::{self, Resolve, ResolveEvent, Resolver};
use crate::{ProbePolicy, Vnet};
use buf::{Buf, BufFlags, BufferPool, Frame, HEADROOM};
use core::net::{IpAddr, Ipv4Addr};
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind, Wake};
use wire::arp::{ArpPacket, ArpRepr, Hardware, Operation};
use wire::ethernet::EthernetAddress;
use wire::ipv4::Ipv4Packet;
use wire::vlan::{Tag, TagStack, Tci};
use wire::EtherType;

/// Writes the L2 header from `iface` to `dst` for payload `ethertype` into `out`: MACs,
/// the sub-interface's VLAN tags, EtherType. Returns its length.
pub fn l2_header(
    iface: &Interface,
    dst: EthernetAddress,
    ethertype: EtherType,
    out: &mut [u8; MAX_REWRITE],
) -> Option<usize> {
    let mut tags = TagStack::untagged(ethertype);
    if let IfKind::Sub { tags: t, .. } = iface.kind {
        tags.push(Tag {
            tpid: t.outer.0,
            tci: Tci::new(0, false, t.outer.1),
        })
        .ok()?;
        if let Some(inner) = t.inner {
            tags.push(Tag::c_tag(Tci::new(0, false, inner))).ok()?;
        }
    }
    out[0..6].copy_from_slice(dst.as_bytes());
    out[6..12].copy_from_slice(iface.mac.as_bytes());
    let n = tags.emit(&mut out[12..]).ok()?;
    Some(12 + n)
}

/// Builds an ARP packet with its L2 header from `iface` in `b` (window reset).
fn emit_arp(
    pool: &BufferPool,
    b: &mut Buf,
    iface: &Interface,
    l2_dst: EthernetAddress,
    arp: &ArpRepr,
) -> bool {
    let mut l2 = [0u8; MAX_REWRITE];
    let Some(n) = l2_header(iface, l2_dst, EtherType::Arp, &mut l2) else {
        return false;
    };
    let mut p = pool.get_mut(b);
    if !p.set_window(HEADROOM, n + arp.buffer_len()) {
        return false;
    }
    let d = p.data_mut();
    d[..n].copy_from_slice(&l2[..n]);
    arp.emit(&mut ArpPacket::new_unchecked(&mut d[n..]));
    let m = p.meta_mut();
    m.tx_if = iface.index;
    m.flags = BufFlags::empty();
    true
}

/// Records `ip` at `mac` on `if_index`: neighbour table, adjacency, the neighbour's `/32`
/// (on a connected subnet), and moves the packets waiting for it into `out` with
/// `opaque[ADJ]` set. Returns the adjacency.
#[allow(clippy::too_many_arguments)] // The slow path's whole context; a struct would only rename it.
pub fn learn(
    vnet: &Vnet,
    ifs: &Interfaces,
    pool: &BufferPool,
    if_index: IfIndex,
    ip: Ipv4Addr,
    mac: EthernetAddress,
    now: u64,
    out: &mut Frame,
) -> Option<AdjIndex> {
    let key = IpAddr::V4(ip);
    resolve::learn(vnet, ifs, pool, if_index, key, mac, now, out, |adj| {
        let on_link = ifs.get(if_index).is_some_and(|i| {
            i.ip4
                .iter()
                .any(|c| c.prefix_len() < 32 && c.contains_addr(&ip))
        });
        if on_link {
            // Out of FIB groups: traffic keeps using glean, which still resolves.
            let _ = vnet.ip4_set_neighbor_route(if_index, ip, Some(adj));
        }
    })
}

graph::node_errors! {
    /// Errors and counters of `arp-input`.
    pub enum ArpInputError {
        /// Shorter than its fixed part or its addresses.
        Truncated = "ARP packet truncated",
        /// Hardware type other than Ethernet.
        BadHardwareType = "ARP hardware type is not Ethernet",
        /// Protocol type other than IPv4.
        BadProtocolType = "ARP protocol type is not IPv4",
        /// Address lengths other than 6 and 4.
        BadAddressLength = "ARP address lengths are not 6 and 4",
        /// Neither request nor reply.
        BadOperation = "ARP operation is not request or reply",
        /// Sender MAC is ours, broadcast or multicast.
        BadSenderMac = "ARP sender MAC is ours, broadcast or multicast",
        /// Sender IP is multicast, broadcast or loopback.
        BadSenderIp = "ARP sender IP is not a unicast address",
        /// Arrived on an unknown interface.
        UnknownInterface = "ARP on an unknown interface",
        /// The interface has no IPv4 address.
        NoIp4 = "ARP on an interface without IPv4 address",
        /// The sender claims one of our addresses.
        AddressConflict = "ARP sender claims our address",
        /// The sender is on no connected subnet of the interface.
        SenderNotOnLink = "ARP sender not on a connected subnet",
        /// Target is not one of our addresses.
        NotForUs = "ARP target is not our address",
        /// No headroom for the L2 header of the reply.
        NoHeadroom = "no headroom for the ARP reply header",
        /// Replies sent (a counter).
        RepliesSent = "ARP replies sent",
        /// Neighbours learned or refreshed (a counter; replies are consumed).
        Learned = "ARP neighbours learned or refreshed",
        /// Gratuitous ARPs learned from (a counter).
        Gratuitous = "gratuitous ARP learned",
    }
}

const ARP_NEXT_OUTPUT: Next = Next(0);
const ARP_NEXT_REWRITE: Next = Next(1);

/// `arp-input`: see the module documentation.
#[derive(Debug)]
pub struct ArpInput {
    vnet: Vnet,
    released: Box<Frame>,
}

impl ArpInput {
    /// The node, reading and updating `vnet`.
    pub fn new(vnet: &Vnet) -> ArpInput {
        ArpInput {
            vnet: vnet.clone(),
            released: Frame::boxed(),
        }
    }
}

enum ArpStep {
    Reply,
    Consumed(ArpInputError),
}

fn parse(data: &[u8]) -> Result<ArpRepr, ArpInputError> {
    let p = ArpPacket::new_checked(data).map_err(|_| ArpInputError::Truncated)?;
    ArpRepr::parse(&p).map_err(|e| match e {
        wire::Error::Truncated => ArpInputError::Truncated,
        _ if p.hardware_type() != Hardware::Ethernet => ArpInputError::BadHardwareType,
        _ if p.protocol_type() != EtherType::Ipv4 => ArpInputError::BadProtocolType,
        _ => ArpInputError::BadAddressLength,
    })
}

impl Node for ArpInput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::ARP_INPUT,
            kind: NodeKind::Internal,
            next_nodes: &[crate::names::INTERFACE_OUTPUT, names::IP4_REWRITE],
            errors: ArpInputError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let ifs = self.vnet.interfaces();
        let pool = cx.pool();
        let now = cx.now();
        for mut b in frame.drain() {
            let rx_if = pool.meta(&b).rx_if;
            let res = (|| {
                let r = parse(pool.get(&b).data())?;
                let iface = ifs.get(rx_if).ok_or(ArpInputError::UnknownInterface)?;
                if !matches!(r.operation, Operation::Request | Operation::Reply) {
                    return Err(ArpInputError::BadOperation);
                }
                let (sha, spa, tpa) = (
                    r.source_hardware_addr,
                    r.source_protocol_addr,
                    r.target_protocol_addr,
                );
                if !sha.is_unicast() || sha == iface.mac {
                    return Err(ArpInputError::BadSenderMac);
                }
                if spa.is_multicast() || spa.is_broadcast() || spa.is_loopback() {
                    return Err(ArpInputError::BadSenderIp);
                }
                if iface.ip4.is_empty() {
                    return Err(ArpInputError::NoIp4);
                }
                if iface.has_ip4(spa) {
                    return Err(ArpInputError::AddressConflict);
                }
                let probe = spa.is_unspecified();
                let on_link = !probe && iface.ip4.iter().any(|c| c.contains_addr(&spa));
                let ours = iface.has_ip4(tpa);
                let gratuitous = !probe && spa == tpa;
                if !ours && !gratuitous {
                    return Err(ArpInputError::NotForUs);
                }
                if !probe && !on_link {
                    return Err(ArpInputError::SenderNotOnLink);
                }
                if !probe {
                    learn(
                        &self.vnet,
                        &ifs,
                        pool,
                        rx_if,
                        spa,
                        sha,
                        now,
                        &mut self.released,
                    );
                }
                Ok(match (r.operation, ours) {
                    (Operation::Request, true) => ArpStep::Reply,
                    _ if gratuitous => ArpStep::Consumed(ArpInputError::Gratuitous),
                    _ => ArpStep::Consumed(ArpInputError::Learned),
                })
            })();
            if !self.released.is_empty() {
                cx.enqueue_frame(ARP_NEXT_REWRITE, &mut self.released);
            }
            let res = match res {
                Ok(ArpStep::Reply) => reply(pool, &mut b, &ifs, rx_if),
                other => other,
            };
            if cx.tracing() {
                let text = match &res {
                    Ok(ArpStep::Reply) => "request for us: reply sent".to_string(),
                    Ok(ArpStep::Consumed(c)) => ArpInputError::ALL[usize::from(c.code())]
                        .message
                        .to_string(),
                    Err(e) => format!(
                        "error: {}",
                        ArpInputError::ALL[usize::from(e.code())].message
                    ),
                };
                cx.trace(&b, format_args!("{text}"));
            }
            match res {
                Ok(ArpStep::Reply) => {
                    cx.count(ArpInputError::RepliesSent, 1);
                    cx.enqueue(ARP_NEXT_OUTPUT, b);
                }
                Ok(ArpStep::Consumed(c)) => {
                    cx.count(c, 1);
                    cx.free(b);
                }
                Err(e) => cx.drop(b, e),
            }
        }
    }
}

/// Turns the request in `b` into our reply, with the L2 header of `rx_if`.
fn reply(
    pool: &BufferPool,
    b: &mut Buf,
    ifs: &Interfaces,
    rx_if: IfIndex,
) -> Result<ArpStep, ArpInputError> {
    let iface = ifs.get(rx_if).ok_or(ArpInputError::UnknownInterface)?;
    let mut p = pool.get_mut(b);
    let r = parse(p.data())?;
    let out = ArpRepr {
        operation: Operation::Reply,
        source_hardware_addr: iface.mac,
        source_protocol_addr: r.target_protocol_addr,
        target_hardware_addr: r.source_hardware_addr,
        target_protocol_addr: r.source_protocol_addr,
    };
    p.truncate(out.buffer_len());
    let mut view = ArpPacket::new_checked(p.data_mut()).map_err(|_| ArpInputError::Truncated)?;
    out.emit(&mut view);
    let mut l2 = [0u8; MAX_REWRITE];
    let n = l2_header(iface, r.source_hardware_addr, EtherType::Arp, &mut l2)
        .ok_or(ArpInputError::UnknownInterface)?;
    let h = p.prepend(n).ok_or(ArpInputError::NoHeadroom)?;
    h.copy_from_slice(&l2[..n]);
    let m = p.meta_mut();
    m.tx_if = rx_if;
    m.flags.remove(BufFlags::L2_MCAST);
    Ok(ArpStep::Reply)
}

graph::node_errors! {
    /// Errors and counters of `ip4-arp`.
    pub enum Ip4ArpError {
        /// The neighbour's (or the whole) pending queue is full.
        PendingFull = "ARP pending queue full",
        /// `opaque[ADJ]` names no adjacency.
        BadAdjacency = "ip4 adjacency index unknown",
        /// Unreadable IPv4 header (glean needs the destination).
        Malformed = "ip4 header unreadable",
        /// The interface is unknown.
        UnknownInterface = "unknown tx interface",
        /// The interface has no IPv4 address to ask from.
        NoSourceAddress = "no IPv4 address to send the ARP request from",
        /// Packets held for resolution (a counter).
        Held = "packets held for ARP",
        /// Requests sent (a counter).
        RequestsSent = "ARP requests sent",
        /// Requests not sent because one went out recently (a counter).
        RequestsThrottled = "ARP requests rate limited",
        /// No buffer for a request (a counter).
        NoBuffers = "no buffer for an ARP request",
    }
}

/// `ip4-arp`: see the module documentation.
pub type Ip4Arp = Resolve<Arp>;

/// ARP as [`Resolver`]: `ip4-arp` broadcasts a request.
#[derive(Debug)]
pub struct Arp;

impl Resolver for Arp {
    type Addr = Ipv4Addr;
    type Error = Ip4ArpError;
    const NAME: &'static str = names::IP4_ARP;
    const REWRITE: &'static str = names::IP4_REWRITE;

    fn error(event: ResolveEvent) -> Ip4ArpError {
        match event {
            ResolveEvent::PendingFull => Ip4ArpError::PendingFull,
            ResolveEvent::BadAdjacency => Ip4ArpError::BadAdjacency,
            ResolveEvent::Malformed => Ip4ArpError::Malformed,
            ResolveEvent::UnknownInterface => Ip4ArpError::UnknownInterface,
            ResolveEvent::NoSourceAddress => Ip4ArpError::NoSourceAddress,
            ResolveEvent::Held => Ip4ArpError::Held,
            ResolveEvent::RequestsSent => Ip4ArpError::RequestsSent,
            ResolveEvent::RequestsThrottled => Ip4ArpError::RequestsThrottled,
            ResolveEvent::NoBuffers => Ip4ArpError::NoBuffers,
        }
    }

    fn interval_ns(vnet: &Vnet) -> u64 {
        vnet.ip4().params().arp_request_interval_ns
    }

    fn addr(ip: IpAddr) -> Option<Ipv4Addr> {
        match ip {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(_) => None,
        }
    }

    fn destination(data: &[u8]) -> Option<Ipv4Addr> {
        Ipv4Packet::new_checked(data).ok().map(|p| p.dst_addr())
    }

    /// The address whose subnet holds `target`, else the first.
    fn source(iface: &Interface, target: Ipv4Addr) -> Option<Ipv4Addr> {
        iface
            .ip4
            .iter()
            .find(|c| c.contains_addr(&target))
            .or(iface.ip4.first())
            .map(|c| c.address())
    }

    fn emit_request(
        pool: &BufferPool,
        b: &mut Buf,
        iface: &Interface,
        src: Ipv4Addr,
        target: Ipv4Addr,
        unicast: Option<EthernetAddress>,
    ) -> bool {
        let req = request(iface, src, target);
        emit_arp(
            pool,
            b,
            iface,
            unicast.unwrap_or(EthernetAddress::BROADCAST),
            &req,
        )
    }
}

/// A request from `iface` at `src` for `target` (a gratuitous ARP when they are equal).
fn request(iface: &Interface, src: Ipv4Addr, target: Ipv4Addr) -> ArpRepr {
    ArpRepr {
        operation: Operation::Request,
        source_hardware_addr: iface.mac,
        source_protocol_addr: src,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    }
}

graph::node_errors! {
    /// Counters of `ip4-neighbor-process`.
    pub enum Ip4NeighborProcessError {
        /// Gratuitous ARPs sent after an address was added.
        GratuitousSent = "gratuitous ARPs sent",
        /// Unicast probes sent to aged neighbours (ARP requests and neighbor solicitations).
        NeighborsProbed = "aged neighbours probed",
        /// Probes not sent for want of a buffer or a source address.
        ProbesNotSent = "aged neighbour probes not sent",
        /// Neighbours expired: no probe answered (their adjacency went incomplete).
        NeighborsExpired = "neighbours expired",
        /// Packets that waited too long for ARP, freed.
        PendingExpired = "packets expired waiting for ARP",
        /// No buffer for a gratuitous ARP.
        NoBuffers = "no buffer for a gratuitous ARP",
    }
}

/// `ip4-neighbor-process`: see the module documentation.
#[derive(Debug)]
pub struct Ip4NeighborProcess {
    vnet: Vnet,
}

impl Ip4NeighborProcess {
    /// The node, working on `vnet`.
    pub fn new(vnet: &Vnet) -> Ip4NeighborProcess {
        Ip4NeighborProcess { vnet: vnet.clone() }
    }
}

impl Node for Ip4NeighborProcess {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP4_NEIGHBOR_PROCESS,
            kind: NodeKind::Process,
            next_nodes: &[crate::names::INTERFACE_OUTPUT],
            errors: Ip4NeighborProcessError::ALL,
        }
    }

    fn run(&mut self, cx: &mut Ctx<'_>) -> Wake {
        let now = cx.now();
        let (garp, params) = (self.vnet.ip4().take_garp(), self.vnet.ip4().params());
        let ifs = self.vnet.interfaces();
        let pool = cx.pool();
        for (if_index, a) in garp {
            let Some(iface) = ifs.get(if_index) else {
                continue;
            };
            let req = request(iface, a, a);
            match cx.cache().alloc() {
                Some(mut b) => {
                    if emit_arp(pool, &mut b, iface, EthernetAddress::BROADCAST, &req) {
                        pool.meta_mut(&mut b).rx_if = IF_NONE;
                        cx.count(Ip4NeighborProcessError::GratuitousSent, 1);
                        cx.enqueue(Next(0), b);
                    } else {
                        cx.free(b);
                    }
                }
                None => cx.count(Ip4NeighborProcessError::NoBuffers, 1),
            }
        }
        let policy = ProbePolicy {
            probes: params.neighbor_probes,
            interval_ns: params.neighbor_probe_interval_ns,
        };
        let (aged, expired) = {
            let mut nt = self.vnet.neighbors();
            let aged = nt.age(now, params.neighbor_max_age_ns, policy);
            let expired = nt.expire_pending(now, params.pending_timeout_ns, cx.cache());
            (aged, expired)
        };
        for n in &aged.probe {
            let sent = match n.ip {
                IpAddr::V4(_) => resolve::probe::<Arp>(cx, &ifs, n, Next(0)),
                IpAddr::V6(_) => resolve::probe::<crate::nd::Nd>(cx, &ifs, n, Next(0)),
            };
            if sent {
                cx.count(Ip4NeighborProcessError::NeighborsProbed, 1);
            } else {
                cx.count(Ip4NeighborProcessError::ProbesNotSent, 1);
            }
        }
        let old = aged.removed;
        if !old.is_empty() {
            let mut adjs = self.vnet.adjacencies_mut();
            for n in &old {
                adjs.unresolve(n.if_index, n.ip);
            }
            drop(adjs);
            for n in &old {
                // The host route learning added goes with the neighbour.
                match n.ip {
                    IpAddr::V4(ip) => {
                        let _ = self.vnet.ip4_set_neighbor_route(n.if_index, ip, None);
                    }
                    IpAddr::V6(ip) => {
                        let _ = self.vnet.ip6_set_neighbor_route(ip, None);
                    }
                }
            }
            cx.count(Ip4NeighborProcessError::NeighborsExpired, old.len() as u64);
        }
        if expired > 0 {
            cx.count(Ip4NeighborProcessError::PendingExpired, expired as u64);
        }
        Wake::At(now.saturating_add(params.process_interval_ns.max(1)))
    }
}
