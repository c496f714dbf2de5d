//! `ip4-local`: packets for one of our addresses.
//!
//! Fragments are reassembled first ([`super::reassembly`]). Then: ICMP echo request →
//! echo reply, sent back out through `ip4-lookup`; UDP, TCP and other ICMP go to the L4
//! hand-off arc when the stack attached one ([`Ip4Local::attach_l4`]); without one, UDP
//! and TCP are answered with ICMP port unreachable, other protocols with protocol
//! unreachable, and other ICMP messages are consumed (counted).

use super::names;
use super::reassembly::{Added, Reassembly, ReassemblyError};
use crate::{opaque, Vnet};
use buf::{BufFlags, Frame};
use graph::{Ctx, Graph, GraphError, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::checksum;
use wire::icmpv4::{Icmpv4Message, Icmpv4Packet};
use wire::ipv4::Ipv4Packet;
use wire::IpProtocol;

graph::node_errors! {
    /// Errors and counters of `ip4-local`.
    pub enum Ip4LocalError {
        /// Unreadable IPv4 header (only reachable by a buggy caller).
        Malformed = "ip4 header unreadable",
        /// Echo replies sent (a counter).
        EchoReplies = "ICMP echo replies sent",
        /// An ICMP message shorter than its 8-byte header.
        IcmpTruncated = "ICMP message truncated",
        /// ICMP checksum error.
        IcmpBadChecksum = "ICMP checksum error",
        /// ICMP other than echo request with no stack attached.
        IcmpNotHandled = "ICMP message not handled (no stack)",
        /// UDP or TCP with no stack attached: answered with port unreachable (counted).
        PortUnreachable = "no listener: ICMP port unreachable",
        /// A protocol nothing handles: answered with protocol unreachable (counted).
        ProtocolUnreachable = "protocol not handled: ICMP protocol unreachable",
        /// Handed to the stack (a counter).
        HandedOff = "handed to the L4 stack",
        /// Datagrams reassembled (a counter).
        Reassembled = "fragments reassembled",
        /// A fragment overlapping another: the whole datagram is dropped.
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

/// `ip4-local`: see the module documentation.
#[derive(Debug)]
pub struct Ip4Local {
    reassembly: Reassembly,
    l4_next: Option<Next>,
}

impl Ip4Local {
    /// The node, with the reassembly bounds of `vnet`'s [`super::Ip4Params`].
    pub fn new(vnet: &Vnet) -> Ip4Local {
        let p = vnet.ip4().params();
        Ip4Local {
            reassembly: Reassembly::new(
                p.reassembly_max_datagrams,
                p.reassembly_max_fragments,
                p.reassembly_timeout_ns,
            ),
            l4_next: None,
        }
    }

    /// Plugs the L4 stack in: UDP, TCP and ICMP other than echo request go to node `l4`
    /// (VPP's `ip4-local` → `ip4-udp-lookup` / `tcp4-input`), with the packet's window at
    /// the IPv4 header.
    pub fn attach_l4(graph: &mut Graph, l4: &str) -> Result<(), GraphError> {
        let me = graph
            .node_index(names::IP4_LOCAL)
            .ok_or_else(|| GraphError::NoSuchNode(names::IP4_LOCAL.into()))?;
        let next = graph.add_next(me, l4)?;
        let node = graph
            .node_mut::<Ip4Local>(me)
            .ok_or_else(|| GraphError::NoSuchNode(names::IP4_LOCAL.into()))?;
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
    L4(Next),
    Icmp(u32),
    Err(Ip4LocalError),
}

fn reass_error(e: ReassemblyError) -> Ip4LocalError {
    match e {
        ReassemblyError::Overlap => Ip4LocalError::FragmentOverlap,
        ReassemblyError::BadLength => Ip4LocalError::FragmentBadLength,
        ReassemblyError::TooBig => Ip4LocalError::FragmentTooBig,
        ReassemblyError::Inconsistent => Ip4LocalError::FragmentInconsistent,
        ReassemblyError::TableFull => Ip4LocalError::ReassemblyFull,
        ReassemblyError::TooManyFragments => Ip4LocalError::TooManyFragments,
        ReassemblyError::Malformed => Ip4LocalError::Malformed,
    }
}

/// Turns the echo request in `data` into its reply, in place.
fn echo_reply(data: &mut [u8]) -> Result<(), Ip4LocalError> {
    let mut ip = Ipv4Packet::new_checked(data).map_err(|_| Ip4LocalError::Malformed)?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    {
        let mut icmp = Icmpv4Packet::new_checked(ip.payload_mut())
            .map_err(|_| Ip4LocalError::IcmpTruncated)?;
        let old = u16::from(u8::from(icmp.msg_type())) << 8 | u16::from(icmp.msg_code());
        icmp.set_msg_type(Icmpv4Message::EchoReply);
        let new = u16::from(icmp.msg_code());
        let c = checksum::update(icmp.checksum(), old, new);
        icmp.set_checksum(c);
    }
    ip.set_src_addr(dst);
    ip.set_dst_addr(src);
    ip.set_ttl(64);
    ip.fill_checksum();
    Ok(())
}

impl Node for Ip4Local {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP4_LOCAL,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP4_LOOKUP, names::IP4_ICMP_ERROR],
            errors: Ip4LocalError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let pool = cx.pool();
        let now = cx.now();
        let expired = self.reassembly.expire(now, cx.cache());
        if expired > 0 {
            cx.count(Ip4LocalError::FragmentsDiscarded, expired as u64);
        }
        for b in frame.drain() {
            let is_frag = Ipv4Packet::new_checked(pool.get(&b).data()).map(|p| p.is_fragment());
            let mut b = match is_frag {
                Err(_) => {
                    cx.drop(b, Ip4LocalError::Malformed);
                    continue;
                }
                Ok(false) => b,
                Ok(true) => match self.reassembly.add(pool, cx.cache(), b, now) {
                    Added::Held => continue,
                    Added::Complete(whole) => {
                        cx.count(Ip4LocalError::Reassembled, 1);
                        whole
                    }
                    Added::Rejected {
                        err,
                        buf,
                        discarded,
                    } => {
                        if discarded > 0 {
                            cx.count(Ip4LocalError::FragmentsDiscarded, discarded as u64);
                        }
                        cx.drop(buf, reass_error(err));
                        continue;
                    }
                },
            };
            let mut pkt = pool.get_mut(&mut b);
            let step = match Ipv4Packet::new_checked(pkt.data()) {
                Err(_) => Step::Err(Ip4LocalError::Malformed),
                Ok(p) => match p.protocol() {
                    IpProtocol::Icmp => match Icmpv4Packet::new_checked(p.payload()) {
                        Err(_) => Step::Err(Ip4LocalError::IcmpTruncated),
                        Ok(i) if !i.verify_checksum() => Step::Err(Ip4LocalError::IcmpBadChecksum),
                        Ok(i)
                            if i.msg_type() == Icmpv4Message::EchoRequest && i.msg_code() == 0 =>
                        {
                            match echo_reply(pkt.data_mut()) {
                                Ok(()) => {
                                    let m = pkt.meta_mut();
                                    m.flags.remove(BufFlags::L2_MCAST);
                                    m.flags.remove(BufFlags::L3_CSUM_OK);
                                    cx.count(Ip4LocalError::EchoReplies, 1);
                                    Step::Lookup
                                }
                                Err(e) => Step::Err(e),
                            }
                        }
                        Ok(_) => match self.l4_next {
                            Some(n) => Step::L4(n),
                            None => Step::Err(Ip4LocalError::IcmpNotHandled),
                        },
                    },
                    IpProtocol::Udp | IpProtocol::Tcp => match self.l4_next {
                        Some(n) => Step::L4(n),
                        None => Step::Icmp(3 << 8 | 3),
                    },
                    _ => Step::Icmp(3 << 8 | 2),
                },
            };
            match step {
                Step::Lookup => {
                    cx.trace(&b, format_args!("icmp echo request: reply"));
                    cx.enqueue(NEXT_LOOKUP, b)
                }
                Step::L4(n) => {
                    cx.count(Ip4LocalError::HandedOff, 1);
                    cx.trace(&b, format_args!("to the L4 stack"));
                    cx.enqueue(n, b)
                }
                Step::Icmp(tc) => {
                    cx.count(
                        if tc & 0xff == 3 {
                            Ip4LocalError::PortUnreachable
                        } else {
                            Ip4LocalError::ProtocolUnreachable
                        },
                        1,
                    );
                    let m = pool.meta_mut(&mut b);
                    m.opaque[opaque::ICMP] = tc;
                    m.opaque[opaque::ICMP_DATA] = 0;
                    cx.trace(&b, format_args!("unreachable code {}", tc & 0xff));
                    cx.enqueue(NEXT_ICMP_ERROR, b)
                }
                Step::Err(e) => {
                    cx.trace(
                        &b,
                        format_args!(
                            "error: {}",
                            Ip4LocalError::ALL[usize::from(e.code())].message
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
