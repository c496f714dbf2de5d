//! `ip6-lookup`: looks the frame's destinations up in the FIB (no lock), then sends each
//! packet where its DPO says: `ip6-rewrite` with `opaque[ADJ]` set (an ECMP group picks
//! its member by flow hash), `ip6-local`, `ip6-discover-neighbor` (glean), `ip6-icmp-error`
//! (unreachable) or the drop. A packet under the FIB slot that answered an earlier packet
//! of the frame with a plain adjacency is done in the pass that reads its header; the
//! others go through one bulk lookup and the full path.
//!
//! Scoped destinations are decided from the interface table instead (see [`super`]):
//! multicast is local if the arrival interface joined the group (all-nodes, all-routers,
//! the solicited-node group of one of its addresses) and dropped otherwise (no multicast
//! forwarding); a link-local destination is local if it is the arrival interface's, and is
//! never forwarded. Packets we originate (`rx_if == IF_NONE`) to a link-local destination
//! go out of `tx_if`. A packet with a link-local source is not forwarded off its link:
//! ICMPv6 destination unreachable, beyond scope (RFC 4291 §2.5.6, RFC 4443 §3.1).

use super::nexts;
use super::{is_link_local, names, ADJ_GLEAN};
use crate::adj::{AdjState, AdjTable};
use crate::dpo::Dpo;
use crate::interface::{Interfaces, IF_NONE};
use crate::{opaque, StateReader, Vnet};
use buf::{Frame, FRAME_SIZE};
use core::net::{IpAddr, Ipv6Addr};
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::ipv6::{Ipv6Packet, HEADER_LEN};
use wire::IpProtocol;

graph::node_errors! {
    /// Errors and counters of `ip6-lookup`.
    pub enum Ip6LookupError {
        /// A packet too short to hold an IPv6 header (only reachable by a buggy caller).
        Malformed = "ip6 header unreadable",
        /// The route is a blackhole (or a built-in drop: ::, ::1).
        Blackhole = "ip6 blackhole route",
        /// No route, or an unreachable route: sent to ip6-icmp-error (counted, not dropped).
        Unreachable = "ip6 destination unreachable",
        /// Multicast to a group the interface did not join, or that we do not forward.
        MulticastNotForwarded = "ip6 multicast not for us (not forwarded)",
        /// A link-local destination that is not the arrival interface's address.
        LinkLocalNotOurs = "ip6 link-local destination not ours (not forwarded)",
        /// A link-local source to be forwarded: sent to ip6-icmp-error (counted).
        SourceBeyondScope = "ip6 link-local source beyond scope",
    }
}

const NEXT_REWRITE: Next = Next(0);
const NEXT_LOCAL: Next = Next(1);
const NEXT_DISCOVER: Next = Next(2);
const NEXT_ICMP_ERROR: Next = Next(3);

/// Seed of [`flow_hash`].
const FLOW_SEED: u64 = 0x5eed_f10d_u64;

/// The ECMP flow hash ([`fib::flow_hash6`]): addresses, next header and, for TCP/UDP
/// right after the fixed header, ports.
#[inline]
pub fn flow_hash<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> u32 {
    let nh = p.next_header();
    let (mut sport, mut dport) = (0, 0);
    if matches!(nh, IpProtocol::Tcp | IpProtocol::Udp) {
        if let [a, b, c, d, ..] = *p.payload() {
            sport = u16::from_be_bytes([a, b]);
            dport = u16::from_be_bytes([c, d]);
        }
    }
    fib::flow_hash6(
        FLOW_SEED,
        u128::from(p.src_addr()),
        u128::from(p.dst_addr()),
        u8::from(nh),
        sport,
        dport,
    )
}

/// `ip6-lookup`: see the module documentation.
#[derive(Debug)]
pub struct Ip6Lookup {
    vnet: Vnet,
    /// This graph's registration as a FIB reader (online only while looking up).
    reader: StateReader,
    dst: Box<[u128; FRAME_SIZE]>,
    /// What makes a packet special ([`SP_LL_SRC`], [`SP_SCOPED`], [`SP_BAD`]; read with
    /// the destination, in the first pass).
    special: Box<[u8; FRAME_SIZE]>,
    leaf: Box<[u32; FRAME_SIZE]>,
    /// Where in the frame each entry of `dst`/`special`/`leaf` comes from (the packets the
    /// first pass left for the bulk lookup).
    index: Box<[u16; FRAME_SIZE]>,
    codes: nexts::Codes,
}

impl Ip6Lookup {
    /// The node, reading the FIB from `vnet`.
    pub fn new(vnet: &Vnet) -> Ip6Lookup {
        Ip6Lookup {
            vnet: vnet.clone(),
            reader: vnet.reader(),
            dst: Box::new([0; FRAME_SIZE]),
            special: Box::new([0; FRAME_SIZE]),
            leaf: Box::new([0; FRAME_SIZE]),
            index: Box::new([0; FRAME_SIZE]),
            codes: nexts::Codes::new(),
        }
    }
}

/// Lookups one by one in the first pass of a frame before the rest wait for the bulk
/// lookup (which walks scattered destinations side by side).
const REUSE_WALKS: usize = 2;

/// Marks a destination that could not be read (`::` never gets here from ip6-input).
const BAD: u128 = 0;
/// The source is link-local (fe80::/10): not forwarded off its link.
const SP_LL_SRC: u8 = 1;
/// The destination is multicast or link-local: decided from the interface table.
const SP_SCOPED: u8 = 2;
/// The header could not be read.
const SP_BAD: u8 = 4;

/// True if `iface` joined multicast group `g`.
fn joined(ifs: &Interfaces, rx_if: u32, g: &Ipv6Addr) -> bool {
    let s = g.segments();
    if s[0] != 0xff02 {
        return false;
    }
    if *g == Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
        || *g == Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2)
    {
        return true;
    }
    let o = g.octets();
    if s[1..5] != [0, 0, 0, 0] || s[5] != 1 || o[12] != 0xff {
        return false;
    }
    ifs.get(rx_if).is_some_and(|i| {
        i.ip6
            .iter()
            .any(|c| c.address().octets()[13..16] == o[13..16])
    })
}

/// The next code for a scoped destination (multicast or link-local).
#[cold]
fn scoped(
    ifs: &Interfaces,
    adjs: &AdjTable,
    meta: &mut buf::Meta,
    dst: Ipv6Addr,
) -> Result<Next, Ip6LookupError> {
    let rx_if = meta.rx_if;
    if dst.is_multicast() {
        return if rx_if != IF_NONE && joined(ifs, rx_if, &dst) {
            Ok(NEXT_LOCAL)
        } else {
            Err(Ip6LookupError::MulticastNotForwarded)
        };
    }
    if rx_if != IF_NONE {
        return if ifs.get(rx_if).is_some_and(|i| i.has_ip6(dst)) {
            Ok(NEXT_LOCAL)
        } else {
            Err(Ip6LookupError::LinkLocalNotOurs)
        };
    }
    // Ours, to a neighbour on `tx_if`.
    let tx = meta.tx_if;
    if ifs.get(tx).is_some_and(|i| i.has_ip6(dst)) {
        return Ok(NEXT_LOCAL);
    }
    match adjs.find(tx, IpAddr::V6(dst)) {
        Some(a) if adjs.get(a).is_some_and(|a| a.state == AdjState::Complete) => {
            meta.opaque[opaque::ADJ] = a;
            Ok(NEXT_REWRITE)
        }
        _ if ifs.get(tx).is_some() => {
            meta.opaque[opaque::ADJ] = ADJ_GLEAN;
            Ok(NEXT_DISCOVER)
        }
        _ => Err(Ip6LookupError::LinkLocalNotOurs),
    }
}

impl Node for Ip6Lookup {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP6_LOOKUP,
            kind: NodeKind::Internal,
            next_nodes: &[
                names::IP6_REWRITE,
                names::IP6_LOCAL,
                names::IP6_DISCOVER_NEIGHBOR,
                names::IP6_ICMP_ERROR,
            ],
            errors: Ip6LookupError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let pool = cx.pool();
        let tracing = cx.tracing();
        // Lock order: interfaces → adjacencies → ip6, as the control plane.
        let ifs = self.vnet.interfaces();
        let adjs = self.vnet.adjacencies();
        // Online in the FIB's grace-period domain until `section` drops: the leaves (DPO
        // indices) read below stay valid that long.
        let section = self.reader.enter();
        let ip6 = self.vnet.ip6();
        let dpos = ip6.dpos();
        // One pass does the usual packet whole: nothing special about it (readable, not
        // scoped, source not link-local), under the slot that answered an earlier packet
        // of the frame, whose leaf is a plain adjacency: it needs only `opaque[ADJ]`. The
        // first packets not under that slot are looked up one by one (clustered frames
        // need one or two); past `REUSE_WALKS` of them, and while tracing, the others wait
        // for the bulk lookup and the full path below.
        let mut slot = fib::Lpm6Slot::NONE;
        // The last leaf seen that is a plain adjacency, and that adjacency.
        let mut fast = (u32::MAX, 0u32);
        let mut walks = 0;
        let mut rest = 0;
        let bufs = frame.as_mut_slice();
        for (i, b) in bufs.iter_mut().enumerate() {
            let mut pkt = pool.get_mut(b);
            let (meta, data) = pkt.split();
            let (d, sp) = if data.len() >= HEADER_LEN {
                let p = Ipv6Packet::new_unchecked(&*data);
                let dst = u128::from(p.dst_addr());
                let ll = is_link_local(&p.src_addr());
                // Multicast (ff00::/8) and link-local (fe80::/10) are scoped.
                let top = (dst >> 118) as u16;
                let scoped = top >= 0x3fc || top == 0x3fa;
                (dst, u8::from(ll) | u8::from(scoped) << 1)
            } else {
                (BAD, SP_BAD)
            };
            if sp == 0 && !tracing {
                if !slot.covers(d) && walks < REUSE_WALKS {
                    walks += 1;
                    slot = ip6.fib.lookup_slot(d);
                    let leaf = slot.value();
                    if leaf != fast.0 {
                        if let Dpo::Adjacency(a) = dpos.get(leaf) {
                            fast = (leaf, *a);
                        }
                    }
                }
                if slot.covers(d) && slot.value() == fast.0 {
                    meta.opaque[opaque::ADJ] = fast.1;
                    self.codes.code[i] = NEXT_REWRITE.0;
                    continue;
                }
            }
            ip6.fib.prefetch(d);
            self.dst[rest] = d;
            self.special[rest] = sp;
            self.index[rest] = i as u16;
            rest += 1;
        }
        // Most of the frame left over: its destinations are scattered, walk them at once.
        let (dst, leaf) = (&self.dst[..rest], &mut self.leaf[..rest]);
        if rest * 2 > bufs.len() {
            ip6.fib.lookup_bulk_scattered(dst, leaf);
        } else {
            ip6.fib.lookup_bulk(dst, leaf);
        }
        for k in 0..rest {
            let i = usize::from(self.index[k]);
            let Some(b) = bufs.get_mut(i) else { continue };
            let leaf = self.leaf[k];
            let sp = self.special[k];
            // Scattered destinations behind one adjacency (a full table via one
            // neighbour) still share their leaf.
            if sp == 0 && leaf == fast.0 && !tracing {
                pool.meta_mut(b).opaque[opaque::ADJ] = fast.1;
                self.codes.code[i] = NEXT_REWRITE.0;
                continue;
            }
            let mut pkt = pool.get_mut(b);
            if sp & SP_BAD != 0 {
                self.codes.code[i] = nexts::DROP + Ip6LookupError::Malformed.code();
                continue;
            }
            if sp & SP_SCOPED != 0 {
                let dst = Ipv6Addr::from(self.dst[k]);
                self.codes.code[i] = match scoped(&ifs, &adjs, pkt.meta_mut(), dst) {
                    Ok(next) => next.0,
                    Err(e) => nexts::DROP + e.code(),
                };
                if tracing {
                    cx.trace(
                        b,
                        format_args!("scoped dst {dst}: next {}", self.codes.code[i]),
                    );
                }
                continue;
            }
            let ll_src = sp & SP_LL_SRC != 0;
            let dpo = dpos.get(leaf);
            let next = match dpo {
                Dpo::Adjacency(a) => {
                    pkt.meta_mut().opaque[opaque::ADJ] = *a;
                    if !ll_src {
                        fast = (leaf, *a);
                    }
                    NEXT_REWRITE.0
                }
                Dpo::LoadBalance(adjs) => {
                    let h = Ipv6Packet::new_checked(pkt.data()).map_or(0, |p| flow_hash(&p));
                    let m = pkt.meta_mut();
                    m.opaque[opaque::FLOW_HASH] = h;
                    m.opaque[opaque::ADJ] = adjs
                        .get(h as usize % adjs.len().max(1))
                        .copied()
                        .unwrap_or(0);
                    NEXT_REWRITE.0
                }
                Dpo::Receive { .. } => NEXT_LOCAL.0,
                Dpo::Glean { if_index } => {
                    let m = pkt.meta_mut();
                    m.tx_if = *if_index;
                    m.opaque[opaque::ADJ] = ADJ_GLEAN;
                    NEXT_DISCOVER.0
                }
                Dpo::Unreachable => {
                    let m = pkt.meta_mut();
                    m.opaque[opaque::ICMP] = 1 << 8; // destination unreachable, no route
                    m.opaque[opaque::ICMP_DATA] = 0;
                    cx.count(Ip6LookupError::Unreachable, 1);
                    NEXT_ICMP_ERROR.0
                }
                Dpo::Drop => nexts::DROP + Ip6LookupError::Blackhole.code(),
            };
            // Forwarding a link-local source off its link: beyond scope.
            let next = if ll_src && (next == NEXT_REWRITE.0 || next == NEXT_DISCOVER.0) {
                if pkt.meta().rx_if != IF_NONE {
                    let m = pkt.meta_mut();
                    m.opaque[opaque::ICMP] = 1 << 8 | 2;
                    m.opaque[opaque::ICMP_DATA] = 0;
                    cx.count(Ip6LookupError::SourceBeyondScope, 1);
                    NEXT_ICMP_ERROR.0
                } else {
                    next
                }
            } else {
                next
            };
            self.codes.code[i] = next;
            if tracing {
                trace(cx, b, leaf, dpo);
            }
        }
        drop(dpos);
        drop(section);
        drop(adjs);
        drop(ifs);
        self.codes.dispatch(cx, frame, |c| {
            [
                Ip6LookupError::Blackhole,
                Ip6LookupError::MulticastNotForwarded,
                Ip6LookupError::LinkLocalNotOurs,
            ]
            .into_iter()
            .find(|e| e.code() == c)
            .unwrap_or(Ip6LookupError::Malformed)
        });
    }
}

#[cold]
fn trace(cx: &mut Ctx<'_>, b: &buf::Buf, leaf: u32, dpo: &Dpo) {
    let data = cx.pool().get(b).data();
    let dst = Ipv6Packet::new_checked(data).map(|p| p.dst_addr()).ok();
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
