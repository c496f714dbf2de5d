//! `ip4-lookup`: looks the whole frame's destinations up in the FIB at once (one read
//! lock, one bulk lookup), then sends each packet where its DPO says: `ip4-rewrite` with
//! `opaque[ADJ]` set (an ECMP group picks its member by flow hash), `ip4-local`, `ip4-arp`
//! (glean), `ip4-icmp-error` (unreachable) or the drop.

use super::{names, ADJ_GLEAN};
use crate::dpo::Dpo;
use crate::{opaque, StateReader, Vnet};
use buf::{Frame, FRAME_SIZE};
use graph::{Ctx, Next, Nexts, Node, NodeError, NodeInfo, NodeKind};
use wire::ipv4::Ipv4Packet;
use wire::IpProtocol;

graph::node_errors! {
    /// Errors and counters of `ip4-lookup`.
    pub enum Ip4LookupError {
        /// A packet too short to hold an IPv4 header (only reachable by a buggy caller).
        Malformed = "ip4 header unreadable",
        /// The route is a blackhole (or a built-in drop: 0/8, multicast, class E, broadcast).
        Blackhole = "ip4 blackhole route",
        /// No route, or an unreachable route: sent to ip4-icmp-error (counted, not dropped).
        Unreachable = "ip4 destination unreachable",
    }
}

const NEXT_REWRITE: Next = Next(0);
const NEXT_LOCAL: Next = Next(1);
const NEXT_ARP: Next = Next(2);
const NEXT_ICMP_ERROR: Next = Next(3);

/// The ECMP flow hash ([`fib::flow_hash4`]): addresses, protocol and, for unfragmented
/// TCP/UDP, ports.
#[inline]
pub fn flow_hash<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> u32 {
    let proto = p.protocol();
    let (mut sport, mut dport) = (0, 0);
    if !p.is_fragment() && matches!(proto, IpProtocol::Tcp | IpProtocol::Udp) {
        if let [a, b, c, d, ..] = *p.payload() {
            sport = u16::from_be_bytes([a, b]);
            dport = u16::from_be_bytes([c, d]);
        }
    }
    fib::flow_hash4(
        FLOW_SEED,
        u32::from(p.src_addr()),
        u32::from(p.dst_addr()),
        u8::from(proto),
        sport,
        dport,
    )
}

/// Seed of [`flow_hash`] (fixed for now; a per-boot value avoids polarisation).
const FLOW_SEED: u64 = 0x5eed_f10d_u64;

/// `ip4-lookup`: see the module documentation.
#[derive(Debug)]
pub struct Ip4Lookup {
    vnet: Vnet,
    /// This graph's registration as a FIB reader (online only while looking up).
    reader: StateReader,
    dst: Box<[u32; FRAME_SIZE]>,
    leaf: Box<[u32; FRAME_SIZE]>,
    nexts: Nexts,
}

impl Ip4Lookup {
    /// The node, reading the FIB from `vnet`.
    pub fn new(vnet: &Vnet) -> Ip4Lookup {
        Ip4Lookup {
            vnet: vnet.clone(),
            reader: vnet.reader(),
            dst: Box::new([0; FRAME_SIZE]),
            leaf: Box::new([0; FRAME_SIZE]),
            nexts: Nexts::default(),
        }
    }
}

/// Marks a destination that could not be read.
const BAD: u32 = 0;

impl Node for Ip4Lookup {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP4_LOOKUP,
            kind: NodeKind::Internal,
            next_nodes: &[
                names::IP4_REWRITE,
                names::IP4_LOCAL,
                names::IP4_ARP,
                names::IP4_ICMP_ERROR,
            ],
            errors: Ip4LookupError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let pool = cx.pool();
        let n = frame.len();
        let mut bad = 0usize;
        // `ip4-input` has already prefetched each destination's root entry.
        for (b, d) in frame.as_slice().iter().zip(self.dst.iter_mut()) {
            // The destination is all this loop needs; `ip4-input` checked the rest.
            *d = match pool.get(b).data().get(16..20) {
                Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
                _ => {
                    bad += 1;
                    BAD
                }
            };
        }
        // Online in the FIB's grace-period domain until `process` returns: the leaves (DPO
        // indices) read below stay valid that long.
        let _section = self.reader.enter();
        let ip4 = self.vnet.ip4();
        ip4.fib.lookup_bulk(&self.dst[..n], &mut self.leaf[..n]);
        let dpos = ip4.dpos();
        let tracing = cx.tracing();
        // The last leaf seen that is a plain adjacency, and that adjacency: a packet with
        // the same leaf needs only `opaque[ADJ]` (never set while tracing, so traced
        // packets all take the full path).
        let mut fast = (u32::MAX, 0u32);
        // Bitwise OR and AND of every next: equal iff the whole frame goes one way.
        let (mut any, mut all) = (0u16, u16::MAX);
        let bufs = frame.as_mut_slice().iter_mut();
        for (i, (b, next)) in bufs.zip(self.nexts.iter_mut()).enumerate() {
            let leaf = self.leaf[i];
            if leaf == fast.0 && (bad == 0 || self.dst[i] != BAD) {
                pool.meta_mut(b).opaque[opaque::ADJ] = fast.1;
                *next = NEXT_REWRITE;
                any |= next.0;
                all &= next.0;
                continue;
            }
            let mut pkt = pool.get_mut(b);
            if bad > 0 && self.dst[i] == BAD && Ipv4Packet::new_checked(pkt.data()).is_err() {
                *next = cx.drop_next(b, Ip4LookupError::Malformed);
                any |= next.0;
                all &= next.0;
                continue;
            }
            let dpo = dpos.get(leaf);
            *next = match dpo {
                Dpo::Adjacency(a) => {
                    pkt.meta_mut().opaque[opaque::ADJ] = *a;
                    if !tracing {
                        fast = (leaf, *a);
                    }
                    NEXT_REWRITE
                }
                Dpo::LoadBalance(adjs) => {
                    let h = Ipv4Packet::new_checked(pkt.data()).map_or(0, |p| flow_hash(&p));
                    let m = pkt.meta_mut();
                    m.opaque[opaque::FLOW_HASH] = h;
                    m.opaque[opaque::ADJ] = adjs
                        .get(h as usize % adjs.len().max(1))
                        .copied()
                        .unwrap_or(0);
                    NEXT_REWRITE
                }
                Dpo::Receive { .. } => NEXT_LOCAL,
                Dpo::Glean { if_index } => {
                    let m = pkt.meta_mut();
                    m.tx_if = *if_index;
                    m.opaque[opaque::ADJ] = ADJ_GLEAN;
                    NEXT_ARP
                }
                Dpo::Unreachable => {
                    let m = pkt.meta_mut();
                    m.opaque[opaque::ICMP] = 3 << 8; // destination unreachable, net
                    m.opaque[opaque::ICMP_DATA] = 0;
                    cx.count(Ip4LookupError::Unreachable, 1);
                    NEXT_ICMP_ERROR
                }
                Dpo::Drop => {
                    if tracing {
                        trace(cx, b, leaf, dpo);
                    }
                    *next = cx.drop_next(b, Ip4LookupError::Blackhole);
                    any |= next.0;
                    all &= next.0;
                    continue;
                }
            };
            any |= next.0;
            all &= next.0;
            if tracing {
                trace(cx, b, leaf, dpo);
            }
        }
        if any == all && Next(any) != Next::DROP && !frame.is_empty() {
            cx.enqueue_frame(Next(any), frame);
        } else {
            cx.enqueue_to_next(frame, &self.nexts[..]);
        }
    }
}

#[cold]
fn trace(cx: &mut Ctx<'_>, b: &buf::Buf, leaf: u32, dpo: &Dpo) {
    let data = cx.pool().get(b).data();
    let dst = Ipv4Packet::new_checked(data).map(|p| p.dst_addr()).ok();
    let adj = cx.pool().meta(b).opaque[opaque::ADJ];
    let what = match dpo {
        Dpo::Adjacency(_) | Dpo::LoadBalance(_) => format!("adjacency {adj}"),
        Dpo::Receive { if_index } => format!("receive if {if_index}"),
        Dpo::Glean { if_index } => format!("glean if {if_index}"),
        Dpo::Drop => "drop".into(),
        Dpo::Unreachable => "unreachable".into(),
    };
    let dst = dst.map_or_else(|| "?".to_string(), |d| d.to_string());
    cx.trace(b, format_args!("fib dst {dst} dpo {leaf}: {what}"));
}
