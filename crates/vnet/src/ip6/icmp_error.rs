//! `ip6-icmp-error`: turns the packet it is given into the ICMPv6 error `opaque[ICMP]`
//! asks for (`type << 8 | code`, with `opaque[ICMP_DATA]` the MTU of a packet too big or
//! the pointer of a parameter problem) and sends it to `ip6-lookup`.
//!
//! RFC 4443 §2.4(e): never about an ICMPv6 error or a redirect, a packet sent to a
//! multicast address or as an L2 multicast (except packet too big and parameter problem
//! code 2), or from a source that is not a unicast address; and, as for IPv4, never about
//! a fragment other than the first. Errors are rate-limited per receiving interface (token
//! bucket, §2.4(f)) and come from an address of that interface: its first global address
//! when the destination is global, else its link-local. The error quotes as much of the
//! packet as fits in the IPv6 minimum MTU, 1280 bytes (§2.4(c)).

use super::{is_link_local, names};
use crate::interface::{Interface, IF_NONE};
use crate::ratelimit::PerInterfaceLimiter;
use crate::{opaque, Vnet};
use buf::{BufFlags, Frame};
use core::net::Ipv6Addr;
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::icmpv6::{Icmpv6Message, Icmpv6Packet, Icmpv6Repr};
use wire::ipv6::{Ipv6Packet, Ipv6Repr};
use wire::IpProtocol;

graph::node_errors! {
    /// Errors and counters of `ip6-icmp-error`.
    pub enum Ip6IcmpErrorError {
        /// ICMPv6 errors built and sent on (a counter).
        Sent = "ICMPv6 errors sent",
        /// Over the interface's rate.
        RateLimited = "ICMPv6 error rate limited",
        /// The packet is itself an ICMPv6 error (or a redirect).
        ForIcmpError = "no ICMPv6 error about an ICMPv6 error",
        /// Sent to a multicast address (L2 or L3).
        ForMulticast = "no ICMPv6 error about a multicast packet",
        /// A fragment other than the first.
        ForFragment = "no ICMPv6 error about a non-first fragment",
        /// The source is unspecified, multicast or loopback.
        BadSource = "no ICMPv6 error to an invalid source address",
        /// The receiving interface has no IPv6 address to send from.
        NoSourceAddress = "rx interface has no IPv6 address",
        /// Unreadable packet, or an ICMPv6 type this node does not build.
        Malformed = "cannot build the ICMPv6 error",
        /// Not enough room for the new headers.
        NoHeadroom = "no headroom for the ICMPv6 error headers",
    }
}

const NEXT_LOOKUP: Next = Next(0);

/// Most bytes of the invoking packet quoted: 1280 minus the new IPv6 and ICMPv6 headers.
const MAX_QUOTE: usize = 1280 - 40 - 8;

/// `ip6-icmp-error`: see the module documentation.
#[derive(Debug)]
pub struct Ip6IcmpError {
    vnet: Vnet,
    limiter: PerInterfaceLimiter,
    quote: Box<[u8; MAX_QUOTE]>,
}

impl Ip6IcmpError {
    /// The node, with the rate limits of `vnet`'s [`super::Ip6Params`].
    pub fn new(vnet: &Vnet) -> Ip6IcmpError {
        let p = vnet.ip6().params();
        Ip6IcmpError {
            vnet: vnet.clone(),
            limiter: PerInterfaceLimiter::new(p.icmp_rate_per_sec, p.icmp_burst),
            quote: Box::new([0; MAX_QUOTE]),
        }
    }
}

/// The address `iface` sends an error to `dst` from.
pub(crate) fn source_for(iface: &Interface, dst: &Ipv6Addr) -> Option<Ipv6Addr> {
    let mut addrs = iface.ip6.iter().map(|c| c.address());
    if is_link_local(dst) {
        addrs.find(is_link_local)
    } else {
        let global = iface
            .ip6
            .iter()
            .map(|c| c.address())
            .find(|a| !is_link_local(a));
        global.or_else(|| addrs.find(is_link_local))
    }
}

impl Node for Ip6IcmpError {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP6_ICMP_ERROR,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP6_LOOKUP],
            errors: Ip6IcmpErrorError::ALL,
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
            let (ty, code) = ((tc >> 8) as u8, (tc & 0xff) as u8);
            let decided = (|| {
                let p = Ipv6Packet::new_checked(pkt.data())
                    .map_err(|_| Ip6IcmpErrorError::Malformed)?;
                let chain = p.ext_chain().ok();
                if chain
                    .and_then(|c| c.fragment)
                    .is_some_and(|f| !f.is_first())
                {
                    return Err(Ip6IcmpErrorError::ForFragment);
                }
                let multicast_ok = ty == 2 || (ty == 4 && code == 2);
                if (l2_mcast || p.dst_addr().is_multicast()) && !multicast_ok {
                    return Err(Ip6IcmpErrorError::ForMulticast);
                }
                let src = p.src_addr();
                if src.is_unspecified() || src.is_multicast() || src.is_loopback() {
                    return Err(Ip6IcmpErrorError::BadSource);
                }
                if let Some(c) = chain.filter(|c| c.upper == IpProtocol::Icmpv6) {
                    let icmp = p.payload().get(c.upper_offset - 40..).unwrap_or(&[]);
                    match Icmpv6Packet::new_checked(icmp) {
                        Ok(i)
                            if !i.msg_type().is_error()
                                && i.msg_type() != Icmpv6Message::Redirect => {}
                        _ => return Err(Ip6IcmpErrorError::ForIcmpError),
                    }
                }
                let from = ifs
                    .get(rx_if)
                    .and_then(|i| source_for(i, &src))
                    .ok_or(Ip6IcmpErrorError::NoSourceAddress)?;
                if !self.limiter.allow(rx_if, now) {
                    return Err(Ip6IcmpErrorError::RateLimited);
                }
                let n = pkt.data().len().min(MAX_QUOTE);
                self.quote[..n].copy_from_slice(&pkt.data()[..n]);
                Ok((from, src, n))
            })();
            let res = decided.and_then(|(src, dst, n)| {
                let invoking = &self.quote[..n];
                let icmp = match ty {
                    1 => Icmpv6Repr::DstUnreachable {
                        reason: code.into(),
                        invoking,
                    },
                    2 => Icmpv6Repr::PktTooBig {
                        mtu: extra,
                        invoking,
                    },
                    3 => Icmpv6Repr::TimeExceeded {
                        reason: code.into(),
                        invoking,
                    },
                    4 => Icmpv6Repr::ParamProblem {
                        reason: code.into(),
                        pointer: extra,
                        invoking,
                    },
                    _ => return Err(Ip6IcmpErrorError::Malformed),
                };
                let ip = Ipv6Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Icmpv6,
                    payload_len: icmp.buffer_len() as u16,
                    hop_limit: 64,
                    traffic_class: 0,
                    flow_label: 0,
                };
                let total = ip.buffer_len() + icmp.buffer_len();
                pkt.truncate(0);
                let start = pkt.headroom();
                if start < 64 || !pkt.set_window(start, total) {
                    return Err(Ip6IcmpErrorError::NoHeadroom);
                }
                let data = pkt.data_mut();
                let (h, rest) = data.split_at_mut(ip.buffer_len());
                ip.emit(&mut Ipv6Packet::new_unchecked(h));
                icmp.emit(&mut Icmpv6Packet::new_unchecked(rest), src, dst);
                Ok(())
            });
            match res {
                Ok(()) => {
                    let m = pkt.meta_mut();
                    m.flags.remove(BufFlags::L2_MCAST);
                    m.flags.remove(BufFlags::L3_CSUM_OK);
                    // Ours now: a link-local destination goes back out where it came from.
                    m.tx_if = rx_if;
                    m.rx_if = IF_NONE;
                    m.l3_offset = m.offset() as u16;
                    cx.count(Ip6IcmpErrorError::Sent, 1);
                    cx.trace(&b, format_args!("icmp6 error type {ty} code {code}"));
                    cx.enqueue(NEXT_LOOKUP, b);
                }
                Err(e) => {
                    cx.trace(
                        &b,
                        format_args!(
                            "no icmp6 error: {}",
                            Ip6IcmpErrorError::ALL[usize::from(e.code())].message
                        ),
                    );
                    cx.drop(b, e)
                }
            }
        }
    }
}
