//! `ip4-rewrite`: the forwarding step for packets `ip4-lookup` gave an adjacency
//! (`opaque[ADJ]`). TTL ≤ 1 → ICMP time exceeded; larger than the adjacency's MTU →
//! `ip4-frag`, or ICMP fragmentation needed when DF is set; otherwise TTL minus one with
//! the checksum updated incrementally, the adjacency's L2 header prepended, `tx_if` set,
//! and on to `interface-output`. An incomplete adjacency sends the packet to `ip4-arp`.

use super::names;
use crate::adj::{AdjState, AdjTable, Adjacency};
use crate::{opaque, Vnet};
use buf::{Buf, Frame, PacketMut};
use graph::{Ctx, Next, Nexts, Node, NodeError, NodeInfo, NodeKind};
use wire::ipv4::{Ipv4Packet, HEADER_LEN};

/// Offsets of the fixed-header fields the fast path touches.
const LENGTH: usize = 2;
const TTL: usize = 8;
const CHECKSUM: usize = 10;

graph::node_errors! {
    /// Errors and counters of `ip4-rewrite`.
    pub enum Ip4RewriteError {
        /// `opaque[ADJ]` names no adjacency.
        BadAdjacency = "ip4 adjacency index unknown",
        /// A packet too short to hold an IPv4 header (only reachable by a buggy caller).
        Malformed = "ip4 header unreadable",
        /// Not enough headroom for the L2 header.
        NoHeadroom = "no headroom for the L2 header",
        /// TTL ≤ 1: sent to ip4-icmp-error (counted, not dropped).
        TtlExpired = "ip4 ttl expired in transit",
        /// Larger than the MTU with DF set: sent to ip4-icmp-error (counted).
        MtuExceededDf = "ip4 MTU exceeded and DF set",
        /// Larger than the MTU: sent to ip4-frag (counted).
        NeedsFragmentation = "ip4 MTU exceeded, fragmenting",
    }
}

const NEXT_OUTPUT: Next = Next(0);
const NEXT_ARP: Next = Next(1);
const NEXT_ICMP_ERROR: Next = Next(2);
const NEXT_FRAG: Next = Next(3);

/// `ip4-rewrite`: see the module documentation.
#[derive(Debug)]
pub struct Ip4Rewrite {
    vnet: Vnet,
    nexts: Nexts,
}

impl Ip4Rewrite {
    /// The node, reading adjacencies from `vnet`.
    pub fn new(vnet: &Vnet) -> Ip4Rewrite {
        Ip4Rewrite {
            vnet: vnet.clone(),
            nexts: Nexts::default(),
        }
    }
}

enum Step {
    Out,
    Arp,
    Icmp(u32, u32),
    Frag,
    Err(Ip4RewriteError),
}

impl Node for Ip4Rewrite {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP4_REWRITE,
            kind: NodeKind::Internal,
            next_nodes: &[
                crate::names::INTERFACE_OUTPUT,
                names::IP4_ARP,
                names::IP4_ICMP_ERROR,
                names::IP4_FRAG,
            ],
            errors: Ip4RewriteError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let adjs = self.vnet.adjacencies();
        let pool = cx.pool();
        let tracing = cx.tracing();
        // Consecutive packets mostly share their adjacency: look it up once per run. The
        // fast path takes a packet whose adjacency is complete, whose TTL is above 1,
        // which fits the MTU and the headroom; anything else (and every packet while
        // tracing) goes through `one`, which sees the packet untouched.
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
/// needs anything else (TTL ≤ 1, over the MTU, short of headroom, unreadable).
#[inline(always)]
fn fast_path(pkt: &mut PacketMut<'_>, adj: &Adjacency) -> bool {
    let rw = adj.rewrite();
    if pkt.headroom() < rw.len() {
        return false;
    }
    let (meta, data) = pkt.split();
    // Only fixed-header fields are read and written: `ip4-input` validated the rest, and
    // 20 readable bytes are all this needs to stay in bounds whoever the caller was.
    let Some(h) = data.first_chunk_mut::<HEADER_LEN>() else {
        return false;
    };
    let ttl = h[TTL];
    let total = u16::from_be_bytes([h[LENGTH], h[LENGTH + 1]]);
    if (ttl <= 1) | (total > adj.mtu) {
        return false;
    }
    h[TTL] = ttl - 1;
    let c = u16::from_be_bytes([h[CHECKSUM], h[CHECKSUM + 1]]);
    let c = checksum_after_ttl_decrement(c).to_be_bytes();
    h[CHECKSUM..CHECKSUM + 2].copy_from_slice(&c);
    meta.tx_if = adj.tx_if;
    match pkt.prepend(rw.len()) {
        Some(h) => copy_rewrite(h, rw),
        None => debug_assert!(false, "headroom checked above"),
    }
    true
}

/// The header checksum once the TTL drops by one: RFC 1624 eqn. 3, `~(~C + ~m + m')`,
/// where the TTL/protocol word `m` loses 0x0100, so `~m + m'` is always 0xfeff.
#[inline(always)]
fn checksum_after_ttl_decrement(c: u16) -> u16 {
    let s = u32::from(!c) + 0xfeff;
    !(((s & 0xffff) + (s >> 16)) as u16)
}

/// One packet the fast path did not take (or any packet while tracing): the full
/// checks, the trace, and the next node.
#[inline(never)]
fn one(cx: &mut Ctx<'_>, adjs: &AdjTable, b: &mut Buf, tracing: bool) -> Next {
    let pool = cx.pool();
    let mut pkt = pool.get_mut(b);
    let ai = pkt.meta().opaque[opaque::ADJ];
    let step = match adjs.get(ai) {
        None => Step::Err(Ip4RewriteError::BadAdjacency),
        Some(adj) if adj.state != AdjState::Complete => Step::Arp,
        Some(adj) => {
            let (meta, data) = pkt.split();
            match Ipv4Packet::new_checked(data) {
                Err(_) => Step::Err(Ip4RewriteError::Malformed),
                Ok(p) if p.ttl() <= 1 => Step::Icmp(11 << 8, 0),
                Ok(p) if p.total_len() > adj.mtu => {
                    if p.dont_frag() {
                        Step::Icmp(3 << 8 | 4, u32::from(adj.mtu))
                    } else {
                        Step::Frag
                    }
                }
                Ok(mut p) => {
                    p.decrement_ttl();
                    meta.tx_if = adj.tx_if;
                    let rw = adj.rewrite();
                    match pkt.prepend(rw.len()) {
                        Some(h) => {
                            copy_rewrite(h, rw);
                            Step::Out
                        }
                        None => Step::Err(Ip4RewriteError::NoHeadroom),
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
        Step::Arp => NEXT_ARP,
        Step::Frag => {
            cx.count(Ip4RewriteError::NeedsFragmentation, 1);
            NEXT_FRAG
        }
        Step::Icmp(ty_code, data) => {
            let m = pool.meta_mut(b);
            m.opaque[opaque::ICMP] = ty_code;
            m.opaque[opaque::ICMP_DATA] = data;
            cx.count(
                if ty_code >> 8 == 11 {
                    Ip4RewriteError::TtlExpired
                } else {
                    Ip4RewriteError::MtuExceededDf
                },
                1,
            );
            NEXT_ICMP_ERROR
        }
        Step::Err(e) => cx.drop_next(b, e),
    }
}

/// Copies the L2 header: fixed-size moves for the usual lengths (untagged, one tag)
/// instead of a `memcpy` call per packet.
#[inline(always)]
pub(crate) fn copy_rewrite(h: &mut [u8], rw: &[u8]) {
    if let (Ok(d), Ok(s)) = (
        <&mut [u8; 14]>::try_from(&mut *h),
        <&[u8; 14]>::try_from(rw),
    ) {
        *d = *s;
    } else if let (Ok(d), Ok(s)) = (
        <&mut [u8; 18]>::try_from(&mut *h),
        <&[u8; 18]>::try_from(rw),
    ) {
        *d = *s;
    } else {
        h.copy_from_slice(rw);
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
        Step::Arp => format!("adj {adj} incomplete: to ip4-arp"),
        Step::Frag => format!("adj {adj}: over MTU, to ip4-frag"),
        Step::Icmp(tc, data) => format!(
            "adj {adj}: icmp type {} code {} ({data})",
            tc >> 8,
            tc & 0xff
        ),
        Step::Err(e) => format!(
            "error: {}",
            Ip4RewriteError::ALL[usize::from(e.code())].message
        ),
    };
    cx.trace(b, format_args!("{text}"));
}

#[cfg(test)]
mod tests {
    use super::checksum_after_ttl_decrement;
    use wire::ipv4::Ipv4Packet;

    /// The shortcut agrees with wire's general RFC 1624 update for every checksum value.
    #[test]
    fn ttl_decrement_checksum_matches_rfc1624_update() {
        for c in 0..=u16::MAX {
            let mut h = [
                0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 1, 0, 1,
            ];
            h[10..12].copy_from_slice(&c.to_be_bytes());
            let mut p = Ipv4Packet::new_unchecked(&mut h[..]);
            p.decrement_ttl();
            assert_eq!(
                p.checksum(),
                checksum_after_ttl_decrement(c),
                "checksum {c:#06x}"
            );
        }
    }
}
