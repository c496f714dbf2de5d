//! `ip6-local`: packets for one of our addresses (or a multicast group we joined).
//!
//! Fragments are reassembled first ([`super::reassembly`], RFC 5722). Then: ICMPv6 echo
//! request → echo reply, sent back out through `ip6-lookup` (from the address pinged, or
//! for a multicast ping from the interface's address); Neighbor Discovery messages
//! (types 133-137) → `ip6-nd`; UDP, TCP and other ICMPv6 → the L4 hand-off arc when the
//! stack attached one ([`Ip6Local::attach_l4`]); without one, UDP and TCP are answered with
//! ICMPv6 port unreachable and other ICMPv6 messages are consumed (counted). "No next
//! header" is consumed; any other next header is answered with a parameter problem
//! (code 1, unrecognized next header, pointing at the field that named it).

use super::icmp_error::source_for;
use super::names;
use super::reassembly::{Added, Reassembly6, ReassemblyError};
use crate::interface::IF_NONE;
use crate::{opaque, Vnet};
use buf::{BufFlags, Frame};
use graph::{Ctx, Graph, GraphError, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::icmpv6::{Icmpv6Message, Icmpv6Packet};
use wire::ipv6::ext::{is_ext_header, Ipv6ExtHeader};
use wire::ipv6::{Ipv6Packet, HEADER_LEN};
use wire::IpProtocol;

graph::node_errors! {
    /// Errors and counters of `ip6-local`.
    pub enum Ip6LocalError {
        /// Unreadable IPv6 header or extension headers.
        Malformed = "ip6 header unreadable",
        /// Echo replies sent (a counter).
        EchoReplies = "ICMPv6 echo replies sent",
        /// An ICMPv6 message shorter than its header.
        IcmpTruncated = "ICMPv6 message truncated",
        /// ICMPv6 checksum error.
        IcmpBadChecksum = "ICMPv6 checksum error",
        /// ICMPv6 other than echo request and ND with no stack attached.
        IcmpNotHandled = "ICMPv6 message not handled (no stack)",
        /// Neighbor Discovery messages passed to ip6-nd (a counter).
        NeighborDiscovery = "ND messages to ip6-nd",
        /// UDP or TCP with no stack attached: answered with port unreachable (counted).
        PortUnreachable = "no listener: ICMPv6 port unreachable",
        /// A next header nothing handles: answered with parameter problem (counted).
        UnknownNextHeader = "unrecognized next header: ICMPv6 parameter problem",
        /// No next header (59): nothing to deliver (a counter).
        NoNextHeader = "ip6 no next header",
        /// Handed to the stack (a counter).
        HandedOff = "handed to the L4 stack",
        /// Datagrams reassembled (a counter).
        Reassembled = "fragments reassembled",
        /// A fragment overlapping another: the whole datagram is dropped (RFC 5722).
        FragmentOverlap = "overlapping fragments, datagram dropped",
        /// A non-last fragment not a multiple of 8 bytes, or empty.
        FragmentBadLength = "fragment length not a multiple of 8",
        /// A datagram past 64 KiB or past one buffer.
        FragmentTooBig = "reassembled datagram too big",
        /// Fragments disagreeing about the datagram's end.
        FragmentInconsistent = "fragments disagree on the datagram length",
        /// Too many datagrams or fragment buffers in progress.
        ReassemblyFull = "reassembly table full",
        /// Too many fragments for one datagram.
        TooManyFragments = "too many fragments in one datagram",
        /// Held fragments freed with a refused or timed-out datagram (a counter).
        FragmentsDiscarded = "held fragments discarded",
    }
}

const NEXT_LOOKUP: Next = Next(0);
const NEXT_ICMP_ERROR: Next = Next(1);
const NEXT_ND: Next = Next(2);

/// `ip6-local`: see the module documentation.
#[derive(Debug)]
pub struct Ip6Local {
    vnet: Vnet,
    reassembly: Reassembly6,
    l4_next: Option<Next>,
}

impl Ip6Local {
    /// The node, with the reassembly bounds of `vnet`'s [`super::Ip6Params`].
    pub fn new(vnet: &Vnet) -> Ip6Local {
        let p = vnet.ip6().params();
        Ip6Local {
            vnet: vnet.clone(),
            reassembly: Reassembly6::new(
                p.reassembly_max_datagrams,
                p.reassembly_max_fragments,
                p.reassembly_timeout_ns,
            ),
            l4_next: None,
        }
    }

    /// Plugs the L4 stack in: UDP, TCP and ICMPv6 other than echo request and ND go to
    /// node `l4`, with the packet's window at the IPv6 header.
    pub fn attach_l4(graph: &mut Graph, l4: &str) -> Result<(), GraphError> {
        let me = graph
            .node_index(names::IP6_LOCAL)
            .ok_or_else(|| GraphError::NoSuchNode(names::IP6_LOCAL.into()))?;
        let next = graph.add_next(me, l4)?;
        let node = graph
            .node_mut::<Ip6Local>(me)
            .ok_or_else(|| GraphError::NoSuchNode(names::IP6_LOCAL.into()))?;
        node.l4_next = Some(next);
        Ok(())
    }

    /// Datagrams being reassembled.
    pub fn reassembling(&self) -> usize {
        self.reassembly.len()
    }
}

enum Step {
    Lookup,
    Nd,
    L4(Next),
    Icmp(u32, u32),
    Consumed(Ip6LocalError),
    Err(Ip6LocalError),
}

fn reass_error(e: ReassemblyError) -> Ip6LocalError {
    match e {
        ReassemblyError::Overlap => Ip6LocalError::FragmentOverlap,
        ReassemblyError::BadLength => Ip6LocalError::FragmentBadLength,
        ReassemblyError::TooBig => Ip6LocalError::FragmentTooBig,
        ReassemblyError::Inconsistent => Ip6LocalError::FragmentInconsistent,
        ReassemblyError::TableFull => Ip6LocalError::ReassemblyFull,
        ReassemblyError::TooManyFragments => Ip6LocalError::TooManyFragments,
        ReassemblyError::Malformed => Ip6LocalError::Malformed,
    }
}

/// Offset of the next-header field that names the upper layer (6 with no extension
/// headers, else the last extension header's first byte).
fn next_header_field(data: &[u8]) -> Option<usize> {
    let p = Ipv6Packet::new_checked(data).ok()?;
    let mut nh = p.next_header();
    let mut field = 6;
    let mut at = HEADER_LEN;
    for _ in 0..wire::ipv6::MAX_EXT_HEADERS {
        if !is_ext_header(nh) {
            return Some(field);
        }
        let h = Ipv6ExtHeader::new_checked(data.get(at..)?).ok()?;
        field = at;
        at += if nh == IpProtocol::Ipv6Frag {
            8
        } else {
            h.header_len()
        };
        nh = h.next_header();
    }
    (!is_ext_header(nh)).then_some(field)
}

impl Node for Ip6Local {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP6_LOCAL,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP6_LOOKUP, names::IP6_ICMP_ERROR, names::IP6_ND],
            errors: Ip6LocalError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let pool = cx.pool();
        let now = cx.now();
        let expired = self.reassembly.expire(now, cx.cache());
        if expired > 0 {
            cx.count(Ip6LocalError::FragmentsDiscarded, expired as u64);
        }
        let vnet = self.vnet.clone();
        for b in frame.drain() {
            let frag = Ipv6Packet::new_checked(pool.get(&b).data())
                .ok()
                .and_then(|p| p.ext_chain().ok())
                .map(|c| c.fragment.is_some_and(|f| !f.is_atomic()));
            let mut b = match frag {
                None => {
                    cx.drop(b, Ip6LocalError::Malformed);
                    continue;
                }
                Some(false) => b,
                Some(true) => match self.reassembly.add(pool, cx.cache(), b, now) {
                    Added::Held => continue,
                    Added::Complete(whole) => {
                        cx.count(Ip6LocalError::Reassembled, 1);
                        whole
                    }
                    Added::Rejected {
                        err,
                        buf,
                        discarded,
                    } => {
                        if discarded > 0 {
                            cx.count(Ip6LocalError::FragmentsDiscarded, discarded as u64);
                        }
                        cx.drop(buf, reass_error(err));
                        continue;
                    }
                },
            };
            let mut pkt = pool.get_mut(&mut b);
            let step = (|| {
                let p =
                    Ipv6Packet::new_checked(pkt.data()).map_err(|_| Ip6LocalError::Malformed)?;
                let c = p.ext_chain().map_err(|_| Ip6LocalError::Malformed)?;
                let (src, dst) = (p.src_addr(), p.dst_addr());
                let end = HEADER_LEN + usize::from(p.payload_len());
                Ok(match c.upper {
                    IpProtocol::Icmpv6 => {
                        let body = pkt
                            .data()
                            .get(c.upper_offset..end)
                            .ok_or(Ip6LocalError::IcmpTruncated)?;
                        let i = Icmpv6Packet::new_checked(body)
                            .map_err(|_| Ip6LocalError::IcmpTruncated)?;
                        if !i.verify_checksum(src, dst) {
                            return Err(Ip6LocalError::IcmpBadChecksum);
                        }
                        match i.msg_type() {
                            Icmpv6Message::EchoRequest if i.msg_code() == 0 => {
                                let rx_if = pkt.meta().rx_if;
                                let from = if dst.is_multicast() {
                                    vnet.interfaces()
                                        .get(rx_if)
                                        .and_then(|x| source_for(x, &src))
                                        .ok_or(Ip6LocalError::Malformed)?
                                } else {
                                    dst
                                };
                                echo_reply(&mut pkt, c.upper_offset, end, from, src)?;
                                let m = pkt.meta_mut();
                                m.flags.remove(BufFlags::L2_MCAST);
                                m.tx_if = rx_if;
                                m.rx_if = IF_NONE;
                                m.l3_offset = m.offset() as u16;
                                Step::Lookup
                            }
                            Icmpv6Message::RouterSolicit
                            | Icmpv6Message::RouterAdvert
                            | Icmpv6Message::NeighborSolicit
                            | Icmpv6Message::NeighborAdvert
                            | Icmpv6Message::Redirect => Step::Nd,
                            _ => match self.l4_next {
                                Some(n) => Step::L4(n),
                                None => Step::Consumed(Ip6LocalError::IcmpNotHandled),
                            },
                        }
                    }
                    IpProtocol::Udp | IpProtocol::Tcp => match self.l4_next {
                        Some(n) => Step::L4(n),
                        None => Step::Icmp(1 << 8 | 4, 0),
                    },
                    IpProtocol::Ipv6NoNxt => Step::Consumed(Ip6LocalError::NoNextHeader),
                    _ => {
                        let ptr = next_header_field(pkt.data()).unwrap_or(6);
                        Step::Icmp(4 << 8 | 1, ptr as u32)
                    }
                })
            })();
            let step = step.unwrap_or_else(Step::Err);
            match step {
                Step::Lookup => {
                    cx.count(Ip6LocalError::EchoReplies, 1);
                    cx.trace(&b, format_args!("icmp6 echo request: reply"));
                    cx.enqueue(NEXT_LOOKUP, b)
                }
                Step::Nd => {
                    cx.count(Ip6LocalError::NeighborDiscovery, 1);
                    cx.trace(&b, format_args!("neighbor discovery: to ip6-nd"));
                    cx.enqueue(NEXT_ND, b)
                }
                Step::L4(n) => {
                    cx.count(Ip6LocalError::HandedOff, 1);
                    cx.trace(&b, format_args!("to the L4 stack"));
                    cx.enqueue(n, b)
                }
                Step::Icmp(tc, data) => {
                    cx.count(
                        if tc >> 8 == 1 {
                            Ip6LocalError::PortUnreachable
                        } else {
                            Ip6LocalError::UnknownNextHeader
                        },
                        1,
                    );
                    let m = pool.meta_mut(&mut b);
                    m.opaque[opaque::ICMP] = tc;
                    m.opaque[opaque::ICMP_DATA] = data;
                    cx.trace(
                        &b,
                        format_args!("icmp6 error type {} code {}", tc >> 8, tc & 0xff),
                    );
                    cx.enqueue(NEXT_ICMP_ERROR, b)
                }
                Step::Consumed(c) => {
                    cx.count(c, 1);
                    cx.trace(
                        &b,
                        format_args!("{}", Ip6LocalError::ALL[usize::from(c.code())].message),
                    );
                    cx.free(b)
                }
                Step::Err(e) => {
                    cx.trace(
                        &b,
                        format_args!(
                            "error: {}",
                            Ip6LocalError::ALL[usize::from(e.code())].message
                        ),
                    );
                    cx.drop(b, e)
                }
            }
        }
    }

    fn release(&mut self, cache: &mut buf::BufferCache) {
        self.reassembly.release(cache);
    }
}

/// Turns the echo request (ICMPv6 message at `at..end`) into its reply from `src` to
/// `dst`, in place; extension headers are left out of the reply.
fn echo_reply(
    pkt: &mut buf::PacketMut<'_>,
    at: usize,
    end: usize,
    src: core::net::Ipv6Addr,
    dst: core::net::Ipv6Addr,
) -> Result<(), Ip6LocalError> {
    let len = end.checked_sub(at).ok_or(Ip6LocalError::IcmpTruncated)?;
    let plen = u16::try_from(len).map_err(|_| Ip6LocalError::Malformed)?;
    if at != HEADER_LEN {
        let data = pkt.data_mut();
        if data.get(at..end).is_none() {
            return Err(Ip6LocalError::IcmpTruncated);
        }
        data.copy_within(at..end, HEADER_LEN);
    }
    pkt.truncate(HEADER_LEN + len);
    let data = pkt.data_mut();
    let (h, rest) = data.split_at_mut(HEADER_LEN);
    let mut ip = Ipv6Packet::new_unchecked(h);
    ip.set_payload_len(plen);
    ip.set_next_header(IpProtocol::Icmpv6);
    ip.set_hop_limit(64);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    let mut icmp = Icmpv6Packet::new_checked(rest).map_err(|_| Ip6LocalError::IcmpTruncated)?;
    icmp.set_msg_type(Icmpv6Message::EchoReply);
    icmp.fill_checksum(src, dst);
    Ok(())
}
