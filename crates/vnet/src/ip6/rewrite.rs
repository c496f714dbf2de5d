//! `ip6-rewrite`: the forwarding step for packets `ip6-lookup` gave an adjacency
//! (`opaque[ADJ]`). Hop limit ≤ 1 → ICMPv6 time exceeded; larger than the adjacency's MTU
//! → ICMPv6 packet too big (routers never fragment IPv6, RFC 8200 §5); otherwise hop limit
//! minus one (IPv6 has no header checksum), the adjacency's L2 header prepended, `tx_if`
//! set, and on to `interface-output`. An incomplete adjacency sends the packet to
//! `ip6-discover-neighbor`.

use super::names;
use crate::adj::{AdjState, AdjTable, Adjacency};
use crate::ip4::rewrite::copy_rewrite;
use crate::{opaque, Vnet};
use buf::{Buf, Frame, PacketMut};
use graph::{Ctx, Next, Nexts, Node, NodeError, NodeInfo, NodeKind};
use wire::ipv6::{Ipv6Packet, HEADER_LEN};

graph::node_errors! {
    /// Errors and counters of `ip6-rewrite`.
    pub enum Ip6RewriteError {
        /// `opaque[ADJ]` names no adjacency.
        BadAdjacency = "ip6 adjacency index unknown",
        /// A packet too short to hold an IPv6 header (only reachable by a buggy caller).
        Malformed = "ip6 header unreadable",
        /// Not enough headroom for the L2 header.
        NoHeadroom = "no headroom for the L2 header",
        /// Hop limit ≤ 1: sent to ip6-icmp-error (counted, not dropped).
        HopLimitExpired = "ip6 hop limit expired in transit",
        /// Larger than the MTU: sent to ip6-icmp-error as packet too big (counted).
        PacketTooBig = "ip6 MTU exceeded, packet too big",
    }
}

const NEXT_OUTPUT: Next = Next(0);
const NEXT_DISCOVER: Next = Next(1);
const NEXT_ICMP_ERROR: Next = Next(2);

/// `ip6-rewrite`: see the module documentation.
#[derive(Debug)]
pub struct Ip6Rewrite {
    vnet: Vnet,
    nexts: Nexts,
}

impl Ip6Rewrite {
    /// The node, reading adjacencies from `vnet`.
    pub fn new(vnet: &Vnet) -> Ip6Rewrite {
        Ip6Rewrite {
            vnet: vnet.clone(),
            nexts: Nexts::default(),
        }
    }
}

enum Step {
    Out,
    Discover,
    Icmp(u32, u32),
    Err(Ip6RewriteError),
}

impl Node for Ip6Rewrite {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP6_REWRITE,
            kind: NodeKind::Internal,
            next_nodes: &[
                crate::names::INTERFACE_OUTPUT,
                names::IP6_DISCOVER_NEIGHBOR,
                names::IP6_ICMP_ERROR,
            ],
            errors: Ip6RewriteError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let adjs = self.vnet.adjacencies();
        let pool = cx.pool();
        let tracing = cx.tracing();
        // Consecutive packets mostly share their adjacency: look it up once per run. The
        // fast path takes a packet in transit whose adjacency is complete, whose hop limit
        // is above 1, which fits the MTU and the headroom; anything else (and every packet
        // while tracing) goes through `one`, which sees the packet untouched.
        let mut last: (u32, Option<&Adjacency>) = (u32::MAX, None);
        // Bitwise OR and AND of every next: equal iff the whole frame goes one way.
        let (mut any, mut all) = (0u16, u16::MAX);
        for (b, next) in frame.as_mut_slice().iter_mut().zip(self.nexts.iter_mut()) {
            let mut pkt = pool.get_mut(b);
            let ai = pkt.meta().opaque[opaque::ADJ];
            if ai != last.0 {
                let adj = adjs.get(ai);
                let fast = adj.filter(|a| a.state == AdjState::Complete && !tracing);
                last = (ai, fast);
            }
            *next = match last.1 {
                Some(adj) if fast_path(&mut pkt, adj) => NEXT_OUTPUT,
                _ => one(cx, &adjs, b, tracing),
            };
            any |= next.0;
            all &= next.0;
        }
        if any == all && Next(any) != Next::DROP && !frame.is_empty() {
            cx.enqueue_frame(Next(any), frame);
        } else {
            cx.enqueue_to_next(frame, &self.nexts[..]);
        }
    }
}

/// The forwarding step for the usual packet: false, with the packet untouched, when it
/// needs anything else (ours, hop limit ≤ 1, over the MTU, short of headroom, unreadable).
#[inline(always)]
fn fast_path(pkt: &mut PacketMut<'_>, adj: &Adjacency) -> bool {
    let rw = adj.rewrite();
    if pkt.headroom() < rw.len() {
        return false;
    }
    let (meta, data) = pkt.split();
    // The fixed header is all this reads (ip6-input checked the payload length; the MTU
    // test below uses what the header claims).
    if data.len() < HEADER_LEN {
        return false;
    }
    let mut p = Ipv6Packet::new_unchecked(data);
    let hops = p.hop_limit();
    if hops <= 1
        || meta.rx_if == crate::IF_NONE
        || HEADER_LEN + usize::from(p.payload_len()) > usize::from(adj.mtu)
    {
        return false;
    }
    p.set_hop_limit(hops - 1);
    meta.tx_if = adj.tx_if;
    match pkt.prepend(rw.len()) {
        Some(h) => copy_rewrite(h, rw),
        None => debug_assert!(false, "headroom checked above"),
    }
    true
}

/// One packet the fast path did not take (or any packet while tracing): the full
/// checks, the trace, and the next node.
#[inline(never)]
fn one(cx: &mut Ctx<'_>, adjs: &AdjTable, b: &mut Buf, tracing: bool) -> Next {
    let pool = cx.pool();
    let mut pkt = pool.get_mut(b);
    let ai = pkt.meta().opaque[opaque::ADJ];
    let step = match adjs.get(ai) {
        None => Step::Err(Ip6RewriteError::BadAdjacency),
        Some(adj) if adj.state != AdjState::Complete => Step::Discover,
        Some(adj) => {
            let (meta, data) = pkt.split();
            match Ipv6Packet::new_checked(data) {
                Err(_) => Step::Err(Ip6RewriteError::Malformed),
                // A packet we originate (rx_if unset) is not in transit.
                Ok(p) if p.hop_limit() <= 1 && meta.rx_if != crate::IF_NONE => {
                    Step::Icmp(3 << 8, 0)
                }
                Ok(p) if HEADER_LEN + usize::from(p.payload_len()) > usize::from(adj.mtu) => {
                    Step::Icmp(2 << 8, u32::from(adj.mtu))
                }
                Ok(mut p) => {
                    if meta.rx_if != crate::IF_NONE {
                        p.decrement_hop_limit();
                    }
                    meta.tx_if = adj.tx_if;
                    let rw = adj.rewrite();
                    match pkt.prepend(rw.len()) {
                        Some(h) => {
                            h.copy_from_slice(rw);
                            Step::Out
                        }
                        None => Step::Err(Ip6RewriteError::NoHeadroom),
                    }
                }
            }
        }
    };
    if tracing && pool.meta(b).is_traced() {
        trace(cx, b, ai, &step);
    }
    match step {
        Step::Out => NEXT_OUTPUT,
        Step::Discover => NEXT_DISCOVER,
        Step::Icmp(ty_code, data) => {
            let m = pool.meta_mut(b);
            m.opaque[opaque::ICMP] = ty_code;
            m.opaque[opaque::ICMP_DATA] = data;
            cx.count(
                if ty_code >> 8 == 3 {
                    Ip6RewriteError::HopLimitExpired
                } else {
                    Ip6RewriteError::PacketTooBig
                },
                1,
            );
            NEXT_ICMP_ERROR
        }
        Step::Err(e) => cx.drop_next(b, e),
    }
}

#[cold]
fn trace(cx: &mut Ctx<'_>, b: &buf::Buf, adj: u32, step: &Step) {
    let p = cx.pool().get(b);
    let text = match step {
        Step::Out => {
            let d = p.data();
            let l2: String = d.iter().take(14).map(|x| format!("{x:02x}")).collect();
            format!(
                "tx-if {} adj {adj}: l2 {l2}, {} bytes",
                p.meta().tx_if,
                d.len()
            )
        }
        Step::Discover => format!("adj {adj} incomplete: to ip6-discover-neighbor"),
        Step::Icmp(tc, data) => format!(
            "adj {adj}: icmp6 type {} code {} ({data})",
            tc >> 8,
            tc & 0xff
        ),
        Step::Err(e) => format!(
            "error: {}",
            Ip6RewriteError::ALL[usize::from(e.code())].message
        ),
    };
    cx.trace(b, format_args!("{text}"));
}
