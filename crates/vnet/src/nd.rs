//! IPv6 Neighbor Discovery (RFC 4861): `ip6-nd` and `ip6-discover-neighbor`.
//!
//! * `ip6-nd` gets the ND messages `ip6-local` received (checksum verified). It checks
//!   hop limit 255 and the message (`wire::ndisc`), then:
//!   - a neighbor solicitation for one of the arrival interface's addresses is answered
//!     with a neighbor advertisement (router, solicited and override flags, our MAC as the
//!     target link-layer address option), and its sender is learned from the source
//!     link-layer address option. A solicitation from the unspecified address (duplicate
//!     address detection) must go to a solicited-node group and carry no source link-layer
//!     option; it is answered to all-nodes without the solicited flag, and nothing is
//!     learned from it;
//!   - a neighbor advertisement with a target link-layer address is learned when it was
//!     solicited or updates a neighbour we know: the adjacency completes, a global
//!     neighbour on a connected prefix gets its `/128`, and the packets held for it go to
//!     `ip6-rewrite`. An advertisement for one of our addresses is counted as a conflict;
//!   - router solicitations and redirects are counted and ignored; router advertisements
//!     are counted and ignored unless [`crate::ip6::Ip6Params::accept_ra`] is set (then the
//!     router is learned as a neighbour).
//! * `ip6-discover-neighbor` holds packets for unresolved neighbours (glean, incomplete
//!   adjacency) in the [`crate::NeighborTable`]'s bounded queue and sends a neighbor
//!   solicitation to the target's solicited-node group (`33:33:ff:..`), at most one per
//!   neighbour per `ns_interval_ns`.
//!
//! Aging is shared with ARP: `ip4-neighbor-process` ages every dynamic neighbour of the
//! table, IPv6 ones included: an aged one gets unicast neighbor solicitations (RFC 4861
//! §7.3.3's PROBE) while its adjacency stays complete, and is removed only when none is
//! answered (its adjacency goes incomplete and the next packet re-solicits). The process
//! also frees packets that waited too long.

use crate::adj::{AdjIndex, MAX_REWRITE};
use crate::arp::l2_header;
use crate::interface::{IfIndex, Interface, Interfaces};
use crate::ip6::{is_link_local, multicast_mac, names, solicited_node};
use crate::resolve::{self, Resolve, ResolveEvent, Resolver};
use crate::Vnet;
use buf::{Buf, BufFlags, BufferPool, Frame, HEADROOM};
use core::net::{IpAddr, Ipv6Addr};
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::ethernet::EthernetAddress;
use wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use wire::ipv6::{Ipv6Packet, Ipv6Repr, HEADER_LEN};
use wire::ndisc::{NdiscOption, NdiscRepr, NeighborFlags};
use wire::{EtherType, IpProtocol};

/// All-nodes multicast, `ff02::1`.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Records `ip` at `mac` on `if_index`: neighbour table, adjacency, the neighbour's `/128`
/// (global address on a connected prefix), and moves the packets waiting for it into
/// `out` with `opaque[ADJ]` set. Returns the adjacency.
#[allow(clippy::too_many_arguments)] // The slow path's whole context, as `arp::learn`.
pub fn learn(
    vnet: &Vnet,
    ifs: &Interfaces,
    pool: &BufferPool,
    if_index: IfIndex,
    ip: Ipv6Addr,
    mac: EthernetAddress,
    now: u64,
    out: &mut Frame,
) -> Option<AdjIndex> {
    let key = IpAddr::V6(ip);
    resolve::learn(vnet, ifs, pool, if_index, key, mac, now, out, |adj| {
        if is_link_local(&ip) {
            return;
        }
        let on_link = ifs.get(if_index).is_some_and(|i| {
            i.ip6.iter().any(|c| {
                c.prefix_len() < 128 && !is_link_local(&c.address()) && c.contains_addr(&ip)
            })
        });
        if on_link {
            // Out of FIB groups: traffic keeps using glean, which still resolves.
            let _ = vnet.ip6_set_neighbor_route(ip, Some(adj));
        }
    })
}

/// Builds an ND message from `src` to `dst` with its L2 header from `iface` to `l2_dst`
/// in `b` (window reset). Hop limit 255 (RFC 4861 §7.1).
fn emit_nd(
    pool: &BufferPool,
    b: &mut Buf,
    iface: &Interface,
    l2_dst: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    nd: NdiscRepr<'_>,
) -> bool {
    let mut l2 = [0u8; MAX_REWRITE];
    let Some(n) = l2_header(iface, l2_dst, EtherType::Ipv6, &mut l2) else {
        return false;
    };
    let icmp = Icmpv6Repr::Ndisc(nd);
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.buffer_len() as u16,
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut p = pool.get_mut(b);
    if !p.set_window(HEADROOM, n + HEADER_LEN + icmp.buffer_len()) {
        return false;
    }
    let d = p.data_mut();
    let (l2b, rest) = d.split_at_mut(n);
    l2b.copy_from_slice(&l2[..n]);
    let (h, body) = rest.split_at_mut(HEADER_LEN);
    ip.emit(&mut Ipv6Packet::new_unchecked(h));
    icmp.emit(&mut Icmpv6Packet::new_unchecked(body), src, dst);
    let m = p.meta_mut();
    m.tx_if = iface.index;
    m.flags = BufFlags::empty();
    true
}

/// The Ethernet address in a link-layer address option (6 bytes on Ethernet).
fn option_mac(o: Option<&[u8]>) -> Option<EthernetAddress> {
    match o {
        Some([a, b, c, d, e, f, ..]) => {
            let m = EthernetAddress([*a, *b, *c, *d, *e, *f]);
            m.is_unicast().then_some(m)
        }
        _ => None,
    }
}

graph::node_errors! {
    /// Errors and counters of `ip6-nd`.
    pub enum Ip6NdError {
        /// Unreadable IPv6 or ICMPv6 header.
        Malformed = "ND packet unreadable",
        /// Hop limit other than 255: not from this link (RFC 4861 §7.1).
        BadHopLimit = "ND hop limit is not 255",
        /// Code not 0, or a malformed option.
        BadMessage = "ND message malformed",
        /// A multicast target address.
        BadTarget = "ND target is multicast",
        /// Arrived on an unknown interface.
        UnknownInterface = "ND on an unknown interface",
        /// Solicitation for an address that is not the interface's.
        NotForUs = "NS target is not our address",
        /// DAD solicitation not to a solicited-node group, or with a source link-layer
        /// option (RFC 4861 §7.1.1).
        BadDadSolicit = "NS from :: malformed",
        /// A unicast solicitation without a source link-layer option for a sender we do
        /// not know: no way to answer.
        NoLinkLayerAddress = "NS without link-layer address from an unknown sender",
        /// A solicited advertisement to a multicast destination (RFC 4861 §7.1.2).
        BadAdvert = "NA solicited flag on a multicast advertisement",
        /// An advertisement without a target link-layer option.
        NoTargetLinkLayer = "NA without target link-layer address",
        /// An advertisement for one of our addresses (duplicate address).
        AddressConflict = "NA claims our address",
        /// Unsolicited advertisement for a neighbour we do not know (ignored).
        UnsolicitedIgnored = "unsolicited NA for an unknown neighbour",
        /// No headroom for the reply.
        NoHeadroom = "no room for the NA",
        /// Advertisements sent (a counter).
        AdvertsSent = "NA sent",
        /// DAD probes for our addresses answered (a counter).
        DadDefended = "DAD probe for our address answered",
        /// Neighbours learned or refreshed (a counter).
        Learned = "ND neighbours learned or refreshed",
        /// Router solicitations (we do not advertise; a counter).
        RouterSolicitIgnored = "router solicitation ignored",
        /// Router advertisements ignored (accept_ra off; a counter).
        RouterAdvertIgnored = "router advertisement ignored",
        /// Router advertisements accepted (a counter).
        RouterAdvertAccepted = "router advertisement accepted",
        /// Redirects (a router ignores them; a counter).
        RedirectIgnored = "redirect ignored",
    }
}

const ND_NEXT_OUTPUT: Next = Next(0);
const ND_NEXT_REWRITE: Next = Next(1);

/// `ip6-nd`: see the module documentation.
#[derive(Debug)]
pub struct Ip6Nd {
    vnet: Vnet,
    released: Box<Frame>,
}

impl Ip6Nd {
    /// The node, reading and updating `vnet`.
    pub fn new(vnet: &Vnet) -> Ip6Nd {
        Ip6Nd {
            vnet: vnet.clone(),
            released: Frame::boxed(),
        }
    }
}

/// What an ND message asks for.
enum NdStep {
    /// Answer with an NA: (target, to, L2 to, flags).
    Advert(Ipv6Addr, Ipv6Addr, EthernetAddress, NeighborFlags),
    /// Consumed, counted under this name.
    Consumed(Ip6NdError),
}

impl Node for Ip6Nd {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP6_ND,
            kind: NodeKind::Internal,
            next_nodes: &[crate::names::INTERFACE_OUTPUT, names::IP6_REWRITE],
            errors: Ip6NdError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let vnet = self.vnet.clone();
        let accept_ra = vnet.ip6().params().accept_ra;
        let ifs = vnet.interfaces();
        let pool = cx.pool();
        let now = cx.now();
        for mut b in frame.drain() {
            let rx_if = pool.meta(&b).rx_if;
            let released = &mut self.released;
            let mut learned = 0u64;
            let res = (|| {
                let data = pool.get(&b).data();
                let p = Ipv6Packet::new_checked(data).map_err(|_| Ip6NdError::Malformed)?;
                let c = p.ext_chain().map_err(|_| Ip6NdError::Malformed)?;
                if p.hop_limit() != 255 {
                    return Err(Ip6NdError::BadHopLimit);
                }
                let end = HEADER_LEN + usize::from(p.payload_len());
                let body = data.get(c.upper_offset..end).ok_or(Ip6NdError::Malformed)?;
                let icmp = Icmpv6Packet::new_checked(body).map_err(|_| Ip6NdError::Malformed)?;
                let nd = NdiscRepr::parse(&icmp).map_err(|_| Ip6NdError::BadMessage)?;
                let iface = ifs.get(rx_if).ok_or(Ip6NdError::UnknownInterface)?;
                let (src, dst) = (p.src_addr(), p.dst_addr());
                let mut learn_one = |ip: Ipv6Addr, mac: EthernetAddress| {
                    learn(&vnet, &ifs, pool, rx_if, ip, mac, now, released);
                    learned += 1;
                };
                Ok(match nd {
                    NdiscRepr::NeighborSolicit { target_addr, .. } => {
                        if target_addr.is_multicast() {
                            return Err(Ip6NdError::BadTarget);
                        }
                        let slla = option_mac(nd.options().source_lladdr());
                        if src.is_unspecified() {
                            let sn = solicited_node(target_addr);
                            if dst != sn || nd.options().source_lladdr().is_some() {
                                return Err(Ip6NdError::BadDadSolicit);
                            }
                            if !iface.has_ip6(target_addr) {
                                return Err(Ip6NdError::NotForUs);
                            }
                            NdStep::Advert(
                                target_addr,
                                ALL_NODES,
                                multicast_mac(ALL_NODES),
                                NeighborFlags::ROUTER | NeighborFlags::OVERRIDE,
                            )
                        } else {
                            if !iface.has_ip6(target_addr) {
                                return Err(Ip6NdError::NotForUs);
                            }
                            let mac = match slla {
                                Some(m) => {
                                    learn_one(src, m);
                                    m
                                }
                                None => vnet
                                    .neighbors()
                                    .lookup(rx_if, IpAddr::V6(src))
                                    .map(|n| n.mac)
                                    .ok_or(Ip6NdError::NoLinkLayerAddress)?,
                            };
                            NdStep::Advert(
                                target_addr,
                                src,
                                mac,
                                NeighborFlags::ROUTER
                                    | NeighborFlags::SOLICITED
                                    | NeighborFlags::OVERRIDE,
                            )
                        }
                    }
                    NdiscRepr::NeighborAdvert {
                        flags, target_addr, ..
                    } => {
                        if target_addr.is_multicast() {
                            return Err(Ip6NdError::BadTarget);
                        }
                        if dst.is_multicast() && flags.contains(NeighborFlags::SOLICITED) {
                            return Err(Ip6NdError::BadAdvert);
                        }
                        if iface.has_ip6(target_addr) {
                            return Err(Ip6NdError::AddressConflict);
                        }
                        let mac = option_mac(nd.options().target_lladdr())
                            .ok_or(Ip6NdError::NoTargetLinkLayer)?;
                        let key = IpAddr::V6(target_addr);
                        let known = flags.contains(NeighborFlags::SOLICITED)
                            || vnet.neighbors().lookup(rx_if, key).is_some()
                            || vnet.adjacencies().find(rx_if, key).is_some();
                        if !known {
                            return Err(Ip6NdError::UnsolicitedIgnored);
                        }
                        learn_one(target_addr, mac);
                        learned -= 1;
                        NdStep::Consumed(Ip6NdError::Learned)
                    }
                    NdiscRepr::RouterSolicit { .. } => {
                        NdStep::Consumed(Ip6NdError::RouterSolicitIgnored)
                    }
                    NdiscRepr::RouterAdvert { .. } => {
                        if !accept_ra {
                            NdStep::Consumed(Ip6NdError::RouterAdvertIgnored)
                        } else {
                            if let Some(m) = option_mac(nd.options().source_lladdr()) {
                                if !src.is_unspecified() {
                                    learn_one(src, m);
                                }
                            }
                            NdStep::Consumed(Ip6NdError::RouterAdvertAccepted)
                        }
                    }
                    NdiscRepr::Redirect { .. } => NdStep::Consumed(Ip6NdError::RedirectIgnored),
                })
            })();
            if !self.released.is_empty() {
                cx.enqueue_frame(ND_NEXT_REWRITE, &mut self.released);
            }
            if learned > 0 {
                cx.count(Ip6NdError::Learned, learned);
            }
            let res = match res {
                Ok(NdStep::Advert(target, to, l2_to, flags)) => match ifs.get(rx_if) {
                    Some(iface) => {
                        let mut opt = [0u8; 8];
                        NdiscOption::TargetLinkLayerAddr(iface.mac.as_bytes()).emit(&mut opt);
                        let na = NdiscRepr::NeighborAdvert {
                            flags,
                            target_addr: target,
                            options: &opt,
                        };
                        if emit_nd(pool, &mut b, iface, l2_to, target, to, na) {
                            Ok(NdStep::Advert(target, to, l2_to, flags))
                        } else {
                            Err(Ip6NdError::NoHeadroom)
                        }
                    }
                    None => Err(Ip6NdError::UnknownInterface),
                },
                other => other,
            };
            if cx.tracing() {
                let text = match &res {
                    Ok(NdStep::Advert(t, to, _, _)) => format!("NS for {t}: NA sent to {to}"),
                    Ok(NdStep::Consumed(c)) => {
                        Ip6NdError::ALL[usize::from(c.code())].message.to_string()
                    }
                    Err(e) => format!("error: {}", Ip6NdError::ALL[usize::from(e.code())].message),
                };
                cx.trace(&b, format_args!("{text}"));
            }
            match res {
                Ok(NdStep::Advert(_, to, _, _)) => {
                    if to == ALL_NODES {
                        cx.count(Ip6NdError::DadDefended, 1);
                    }
                    cx.count(Ip6NdError::AdvertsSent, 1);
                    cx.enqueue(ND_NEXT_OUTPUT, b);
                }
                Ok(NdStep::Consumed(c)) => {
                    cx.count(c, 1);
                    cx.free(b);
                }
                Err(e) => cx.drop(b, e),
            }
        }
    }
}

graph::node_errors! {
    /// Errors and counters of `ip6-discover-neighbor`.
    pub enum Ip6DiscoverError {
        /// The neighbour's (or the whole) pending queue is full.
        PendingFull = "ND pending queue full",
        /// `opaque[ADJ]` names no IPv6 adjacency.
        BadAdjacency = "ip6 adjacency index unknown",
        /// Unreadable IPv6 header (glean needs the destination).
        Malformed = "ip6 header unreadable",
        /// The interface is unknown.
        UnknownInterface = "unknown tx interface",
        /// The interface has no IPv6 address to solicit from.
        NoSourceAddress = "no IPv6 address to send the NS from",
        /// Packets held for resolution (a counter).
        Held = "packets held for ND",
        /// Solicitations sent (a counter).
        SolicitsSent = "NS sent",
        /// Solicitations not sent because one went out recently (a counter).
        SolicitsThrottled = "NS rate limited",
        /// No buffer for a solicitation (a counter).
        NoBuffers = "no buffer for an NS",
    }
}

/// `ip6-discover-neighbor`: see the module documentation.
pub type Ip6DiscoverNeighbor = Resolve<Nd>;

/// ND as [`Resolver`]: `ip6-discover-neighbor` sends a neighbor solicitation to the
/// target's solicited-node group.
#[derive(Debug)]
pub struct Nd;

impl Resolver for Nd {
    type Addr = Ipv6Addr;
    type Error = Ip6DiscoverError;
    const NAME: &'static str = names::IP6_DISCOVER_NEIGHBOR;
    const REWRITE: &'static str = names::IP6_REWRITE;

    fn error(event: ResolveEvent) -> Ip6DiscoverError {
        match event {
            ResolveEvent::PendingFull => Ip6DiscoverError::PendingFull,
            ResolveEvent::BadAdjacency => Ip6DiscoverError::BadAdjacency,
            ResolveEvent::Malformed => Ip6DiscoverError::Malformed,
            ResolveEvent::UnknownInterface => Ip6DiscoverError::UnknownInterface,
            ResolveEvent::NoSourceAddress => Ip6DiscoverError::NoSourceAddress,
            ResolveEvent::Held => Ip6DiscoverError::Held,
            ResolveEvent::RequestsSent => Ip6DiscoverError::SolicitsSent,
            ResolveEvent::RequestsThrottled => Ip6DiscoverError::SolicitsThrottled,
            ResolveEvent::NoBuffers => Ip6DiscoverError::NoBuffers,
        }
    }

    fn interval_ns(vnet: &Vnet) -> u64 {
        vnet.ip6().params().ns_interval_ns
    }

    fn addr(ip: IpAddr) -> Option<Ipv6Addr> {
        match ip {
            IpAddr::V6(ip) => Some(ip),
            IpAddr::V4(_) => None,
        }
    }

    fn destination(data: &[u8]) -> Option<Ipv6Addr> {
        Ipv6Packet::new_checked(data).ok().map(|p| p.dst_addr())
    }

    /// The global address on the target's prefix, else the link-local.
    fn source(iface: &Interface, target: Ipv6Addr) -> Option<Ipv6Addr> {
        iface
            .ip6
            .iter()
            .find(|c| !is_link_local(&c.address()) && c.contains_addr(&target))
            .or_else(|| iface.ip6.iter().find(|c| is_link_local(&c.address())))
            .map(|c| c.address())
    }

    fn emit_request(
        pool: &BufferPool,
        b: &mut Buf,
        iface: &Interface,
        src: Ipv6Addr,
        target: Ipv6Addr,
        unicast: Option<EthernetAddress>,
    ) -> bool {
        let mut opt = [0u8; 8];
        NdiscOption::SourceLinkLayerAddr(iface.mac.as_bytes()).emit(&mut opt);
        let ns = NdiscRepr::NeighborSolicit {
            target_addr: target,
            options: &opt,
        };
        match unicast {
            // A probe goes to the neighbour itself (RFC 4861 §7.2.2).
            Some(mac) => emit_nd(pool, b, iface, mac, src, target, ns),
            None => {
                let sn = solicited_node(target);
                emit_nd(pool, b, iface, multicast_mac(sn), src, sn, ns)
            }
        }
    }
}
