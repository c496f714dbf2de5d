//! `ip4-icmp-error`: turns the packet it is given into the ICMP error `opaque[ICMP]` asks
//! for (`type << 8 | code`, with `opaque[ICMP_DATA]` the next-hop MTU or pointer) and sends
//! it to `ip4-lookup`.
//!
//! RFC 1812 §4.3.2.7: never about an ICMP error, a non-first fragment, a packet sent to a
//! broadcast or multicast address (or that came in as an L2 broadcast/multicast), or a
//! packet whose source is not a unicast host. Errors are rate-limited per receiving
//! interface (token bucket) and come from that interface's first IPv4 address. The error
//! quotes as much of the packet as fits in 576 bytes (§4.3.2.3).

use super::names;
use crate::interface::IF_NONE;
use crate::ratelimit::PerInterfaceLimiter;
use crate::{opaque, Vnet};
use buf::{BufFlags, Frame};
use core::net::Ipv4Addr;
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::icmpv4::{Icmpv4Message, Icmpv4Packet, Icmpv4Repr};
use wire::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
use wire::IpProtocol;

graph::node_errors! {
    /// Errors and counters of `ip4-icmp-error`.
    pub enum Ip4IcmpErrorError {
        /// ICMP errors built and sent on (a counter).
        Sent = "ICMP errors sent",
        /// Over the interface's rate.
        RateLimited = "ICMP error rate limited",
        /// The packet is itself an ICMP error.
        ForIcmpError = "no ICMP error about an ICMP error",
        /// Sent to a broadcast or multicast address (L2 or L3).
        ForBroadcast = "no ICMP error about a broadcast or multicast packet",
        /// A fragment other than the first.
        ForFragment = "no ICMP error about a non-first fragment",
        /// The source is not a unicast host address.
        BadSource = "no ICMP error to an invalid source address",
        /// The receiving interface has no IPv4 address to send from.
        NoSourceAddress = "rx interface has no IPv4 address",
        /// Unreadable packet, or an ICMP type/code this node does not build.
        Malformed = "cannot build the ICMP error",
        /// Not enough headroom for the new headers.
        NoHeadroom = "no headroom for the ICMP error headers",
    }
}

const NEXT_LOOKUP: Next = Next(0);

/// Most bytes of the invoking packet quoted: 576 minus the new IP and ICMP headers.
const MAX_QUOTE: usize = 576 - 20 - 8;

/// `ip4-icmp-error`: see the module documentation.
#[derive(Debug)]
pub struct Ip4IcmpError {
    vnet: Vnet,
    limiter: PerInterfaceLimiter,
    quote: Box<[u8; MAX_QUOTE]>,
}

impl Ip4IcmpError {
    /// The node, with the rate limits of `vnet`'s [`super::Ip4Params`].
    pub fn new(vnet: &Vnet) -> Ip4IcmpError {
        let p = vnet.ip4().params();
        Ip4IcmpError {
            vnet: vnet.clone(),
            limiter: PerInterfaceLimiter::new(p.icmp_rate_per_sec, p.icmp_burst),
            quote: Box::new([0; MAX_QUOTE]),
        }
    }
}

fn is_icmp_error(t: Icmpv4Message) -> bool {
    matches!(
        t,
        Icmpv4Message::DstUnreachable
            | Icmpv4Message::SourceQuench
            | Icmpv4Message::Redirect
            | Icmpv4Message::TimeExceeded
            | Icmpv4Message::ParamProblem
    )
}

fn bad_source(a: Ipv4Addr) -> bool {
    a.is_unspecified()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_loopback()
        || a.octets()[0] >= 240
}

impl Node for Ip4IcmpError {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP4_ICMP_ERROR,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP4_LOOKUP],
            errors: Ip4IcmpErrorError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let ifs = self.vnet.interfaces();
        let pool = cx.pool();
        let now = cx.now();
        for mut b in frame.drain() {
            let mut pkt = pool.get_mut(&mut b);
            let m = pkt.meta();
            let (rx_if, l2_mcast) = (m.rx_if, m.flags.contains(BufFlags::L2_MCAST));
            let (tc, extra) = (m.opaque[opaque::ICMP], m.opaque[opaque::ICMP_DATA]);
            // Decide, and copy the quote out, while the original is readable.
            let decided = (|| {
                let p = Ipv4Packet::new_checked(pkt.data())
                    .map_err(|_| Ip4IcmpErrorError::Malformed)?;
                if p.frag_offset() != 0 {
                    return Err(Ip4IcmpErrorError::ForFragment);
                }
                let dst = p.dst_addr();
                if l2_mcast || dst.is_broadcast() || dst.is_multicast() {
                    return Err(Ip4IcmpErrorError::ForBroadcast);
                }
                if bad_source(p.src_addr()) {
                    return Err(Ip4IcmpErrorError::BadSource);
                }
                if p.protocol() == IpProtocol::Icmp {
                    match Icmpv4Packet::new_checked(p.payload()) {
                        Ok(i) if !is_icmp_error(i.msg_type()) => {}
                        _ => return Err(Ip4IcmpErrorError::ForIcmpError),
                    }
                }
                let src = ifs
                    .get(rx_if)
                    .and_then(|i| i.ip4.first())
                    .map(|c| c.address())
                    .ok_or(Ip4IcmpErrorError::NoSourceAddress)?;
                if !self.limiter.allow(rx_if, now) {
                    return Err(Ip4IcmpErrorError::RateLimited);
                }
                let n = pkt.data().len().min(MAX_QUOTE);
                self.quote[..n].copy_from_slice(&pkt.data()[..n]);
                Ok((src, p.src_addr(), n))
            })();
            let res = decided.and_then(|(src, dst, n)| {
                let invoking = &self.quote[..n];
                let icmp = match (tc >> 8, (tc & 0xff) as u8) {
                    (3, code) => Icmpv4Repr::DstUnreachable {
                        reason: code.into(),
                        next_hop_mtu: if code == 4 { extra as u16 } else { 0 },
                        invoking,
                    },
                    (11, code) => Icmpv4Repr::TimeExceeded {
                        reason: code.into(),
                        invoking,
                    },
                    (12, code) => Icmpv4Repr::ParamProblem {
                        reason: code.into(),
                        pointer: extra as u8,
                        invoking,
                    },
                    _ => return Err(Ip4IcmpErrorError::Malformed),
                };
                let ip = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    protocol: IpProtocol::Icmp,
                    payload_len: icmp.buffer_len() as u16,
                    ttl: 64,
                    dscp: 0x30, // CS6, internetwork control (as Linux sends errors).
                    ecn: 0,
                    ident: 0,
                    dont_frag: false,
                    more_frags: false,
                    frag_offset: 0,
                    options: Ipv4Options::EMPTY,
                };
                let total = ip.buffer_len() + icmp.buffer_len();
                pkt.truncate(0);
                if pkt.headroom() < 64 {
                    return Err(Ip4IcmpErrorError::NoHeadroom);
                }
                // Start again near the front of the buffer, far from the end of its room.
                let start = pkt.headroom();
                let ok = pkt.set_window(start, total);
                if !ok {
                    return Err(Ip4IcmpErrorError::NoHeadroom);
                }
                let data = pkt.data_mut();
                let (h, rest) = data.split_at_mut(ip.buffer_len());
                ip.emit(&mut Ipv4Packet::new_unchecked(h));
                icmp.emit(&mut Icmpv4Packet::new_unchecked(rest));
                Ok(())
            });
            match res {
                Ok(()) => {
                    let m = pkt.meta_mut();
                    m.flags.remove(BufFlags::L2_MCAST);
                    m.flags.remove(BufFlags::L3_CSUM_OK);
                    m.tx_if = IF_NONE;
                    m.l3_offset = m.offset() as u16;
                    cx.count(Ip4IcmpErrorError::Sent, 1);
                    cx.trace(
                        &b,
                        format_args!("icmp error type {} code {}", tc >> 8, tc & 0xff),
                    );
                    cx.enqueue(NEXT_LOOKUP, b);
                }
                Err(e) => {
                    cx.trace(
                        &b,
                        format_args!(
                            "no icmp error: {}",
                            Ip4IcmpErrorError::ALL[usize::from(e.code())].message
                        ),
                    );
                    cx.drop(b, e)
                }
            }
        }
    }
}
