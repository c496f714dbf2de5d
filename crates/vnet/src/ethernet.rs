//! `ethernet-input`: the first node after a device. Accepts frames for us (our MAC,
//! broadcast, multicast groups we joined), selects the VLAN sub-interface from the tag
//! stack, strips the L2 header and dispatches on the EtherType.

use crate::interface::{IfKind, Interface, Interfaces, SubTags};
use crate::names;
use crate::Vnet;
use buf::{Buf, BufFlags, Frame};
use graph::{Ctx, Next, Nexts, Node, NodeError, NodeInfo, NodeKind};
use wire::ethernet::{EthernetAddress, EthernetFrame};
use wire::vlan;
use wire::EtherType;

graph::node_errors! {
    /// Errors of `ethernet-input`.
    pub enum EthernetInputError {
        /// Shorter than an Ethernet header, or a VLAN tag is cut off.
        Truncated = "frame too short for its L2 header",
        /// More than [`vlan::MAX_TAGS`] stacked VLAN tags.
        TooManyTags = "too many stacked VLAN tags",
        /// A tag stack that selects no sub-interface (or more than two tags).
        UnknownVlan = "unknown VLAN tags",
        /// Arrived on an interface index we do not know.
        UnknownInterface = "unknown rx interface",
        /// The (sub-)interface is administratively down.
        InterfaceDown = "interface is down",
        /// Unicast to another MAC (VPP's "l3 mac mismatch").
        MacMismatch = "l3 mac mismatch",
        /// Multicast to a group we did not join.
        MulticastNotJoined = "multicast group not joined",
        /// An EtherType no node handles.
        UnknownEthertype = "unknown ethernet type",
    }
}

const NEXT_IP4: Next = Next(0);
const NEXT_IP6: Next = Next(1);
const NEXT_ARP: Next = Next(2);

/// Where a frame goes, worked out from its L2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Classified {
    next: Next,
    rx_if: u32,
    l2_len: usize,
    mcast: bool,
    ethertype: EtherType,
    vlans: u8,
}

/// `ethernet-input`: see the module documentation.
#[derive(Debug)]
pub struct EthernetInput {
    vnet: Vnet,
    nexts: Nexts,
}

impl EthernetInput {
    /// The node, reading interfaces from `vnet`.
    pub fn new(vnet: &Vnet) -> EthernetInput {
        EthernetInput {
            vnet: vnet.clone(),
            nexts: Nexts::default(),
        }
    }
}

/// True if `iface` joined the multicast group that `mac` is the address of: IPv4
/// all-hosts / all-routers, IPv6 all-nodes / all-routers, and the solicited-node groups of
/// its IPv6 addresses (RFC 4291 §2.7.1, RFC 2464 §7).
fn joined(iface: &Interface, mac: &EthernetAddress) -> bool {
    match mac.0 {
        [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 | 0x02] => true,
        [0x33, 0x33, 0x00, 0x00, 0x00, 0x01 | 0x02] => true,
        [0x33, 0x33, 0xff, a, b, c] => iface.ip6.iter().any(|n| {
            let o = n.address().octets();
            o[13..16] == [a, b, c]
        }),
        _ => false,
    }
}

fn classify(ifs: &Interfaces, rx_if: u32, data: &[u8]) -> Result<Classified, EthernetInputError> {
    let eth = EthernetFrame::new_checked(data).map_err(|_| EthernetInputError::Truncated)?;
    let stack = vlan::walk_frame(data).map_err(|e| match e {
        wire::Error::TooLong => EthernetInputError::TooManyTags,
        _ => EthernetInputError::Truncated,
    })?;
    let hw = ifs.get(rx_if).ok_or(EthernetInputError::UnknownInterface)?;
    let rx = match stack.tags() {
        [] => hw,
        tags if tags.len() <= 2 => {
            let sub = SubTags {
                outer: (tags[0].tpid, tags[0].tci.vid()),
                inner: tags.get(1).map(|t| t.tci.vid()),
            };
            let parent = match hw.kind {
                IfKind::Hw { .. } => hw.index,
                IfKind::Sub { parent, .. } => parent,
            };
            ifs.sub(parent, sub)
                .and_then(|i| ifs.get(i))
                .ok_or(EthernetInputError::UnknownVlan)?
        }
        _ => return Err(EthernetInputError::UnknownVlan),
    };
    if !rx.admin_up {
        return Err(EthernetInputError::InterfaceDown);
    }
    let dst = eth.dst_addr();
    let mcast = dst.is_multicast();
    if dst.is_broadcast() {
        // Accepted on every interface.
    } else if mcast {
        if !joined(rx, &dst) {
            return Err(EthernetInputError::MulticastNotJoined);
        }
    } else if dst != rx.mac && !rx.promiscuous {
        return Err(EthernetInputError::MacMismatch);
    }
    let next = match stack.ethertype() {
        EtherType::Ipv4 => NEXT_IP4,
        EtherType::Ipv6 => NEXT_IP6,
        EtherType::Arp => NEXT_ARP,
        _ => return Err(EthernetInputError::UnknownEthertype),
    };
    Ok(Classified {
        next,
        rx_if: rx.index,
        l2_len: stack.payload_offset(),
        mcast,
        ethertype: stack.ethertype(),
        vlans: stack.len() as u8,
    })
}

/// The common case without the tag walk: an untagged IPv4 or IPv6 frame, unicast to the
/// MAC of an up hardware interface. `None` means "ask [`classify`]", never a different
/// answer: whatever this accepts, `classify` accepts the same way.
#[inline(always)]
fn classify_fast(ifs: &Interfaces, rx_if: u32, data: &[u8]) -> Option<Classified> {
    let eth = EthernetFrame::new_checked(data).ok()?;
    let ethertype = eth.ethertype();
    let next = match ethertype {
        EtherType::Ipv4 => NEXT_IP4,
        EtherType::Ipv6 => NEXT_IP6,
        _ => return None,
    };
    let rx = ifs.get(rx_if)?;
    let dst = eth.dst_addr();
    if !rx.admin_up || dst != rx.mac || dst.is_multicast() {
        return None;
    }
    Some(Classified {
        next,
        rx_if: rx.index,
        l2_len: wire::ethernet::HEADER_LEN,
        mcast: false,
        ethertype,
        vlans: 0,
    })
}

/// `cached_mac` when the rx interface has no fast path: above every 48-bit MAC.
const NO_FAST_PATH: u64 = u64::MAX;

/// A MAC as a 48-bit number (one compare instead of six).
#[inline(always)]
fn mac48(m: &EthernetAddress) -> u64 {
    let [a, b, c, d, e, f] = m.0;
    u64::from_le_bytes([a, b, c, d, e, f, 0, 0])
}

/// The MAC the fast path compares against for frames arriving on `rx_if`: `None` when the
/// interface is unknown, down or has a multicast MAC (every frame then goes through
/// [`classify`]). The same conditions as [`classify_fast`].
#[inline]
fn fast_mac(ifs: &Interfaces, rx_if: u32) -> Option<EthernetAddress> {
    let rx = ifs.get(rx_if)?;
    (rx.admin_up && rx.index == rx_if && !rx.mac.is_multicast()).then_some(rx.mac)
}

/// One frame the fast path did not take (or any frame while tracing): classify, trace,
/// strip the L2 header or drop; returns its next.
#[inline(never)]
fn one(cx: &mut Ctx<'_>, ifs: &Interfaces, b: &mut Buf, tracing: bool) -> Next {
    let pool = cx.pool();
    let mut pkt = pool.get_mut(b);
    let rx_if = pkt.meta().rx_if;
    let res = match classify_fast(ifs, rx_if, pkt.data()) {
        Some(c) => Ok(c),
        None => classify(ifs, rx_if, pkt.data()),
    };
    if tracing && pkt.meta().is_traced() {
        let d = pkt.data();
        let (src, dst) = match EthernetFrame::new_checked(d) {
            Ok(e) => (e.src_addr(), e.dst_addr()),
            Err(_) => (EthernetAddress([0; 6]), EthernetAddress([0; 6])),
        };
        let text = match res {
            Ok(c) => format!(
                "{src} -> {dst} type {:#06x}{} rx-if {}",
                u16::from(c.ethertype),
                if c.vlans > 0 {
                    format!(" vlans {}", c.vlans)
                } else {
                    String::new()
                },
                c.rx_if
            ),
            Err(e) => format!(
                "{src} -> {dst}: {}",
                EthernetInputError::ALL[e.code() as usize].message
            ),
        };
        cx.trace(b, format_args!("{text}"));
        pkt = pool.get_mut(b);
    }
    match res {
        Ok(c) => {
            let ok = pkt.advance(c.l2_len);
            debug_assert!(ok, "classify checked the L2 header fits");
            let m = pkt.meta_mut();
            m.rx_if = c.rx_if;
            m.l3_offset = m.offset() as u16;
            if c.mcast {
                m.flags.insert(BufFlags::L2_MCAST);
            }
            c.next
        }
        Err(e) => cx.drop_next(b, e),
    }
}

impl Node for EthernetInput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::ETHERNET_INPUT,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP4_INPUT, names::IP6_INPUT, names::ARP_INPUT],
            errors: EthernetInputError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let ifs = self.vnet.interfaces();
        let tracing = cx.tracing();
        let pool = cx.pool();
        // The fast path's view of the last rx interface: its MAC as a 48-bit number when it
        // is up and unicast (what `classify_fast` asks), else a value no 48-bit address
        // equals; looked up again only when `rx_if` changes.
        let (mut cached_if, mut cached_mac) = (u32::MAX, NO_FAST_PATH);
        // Bitwise OR and AND of every next: equal iff the whole frame goes one way.
        let (mut any, mut all) = (0u16, u16::MAX);
        for (b, next) in frame.as_mut_slice().iter_mut().zip(self.nexts.iter_mut()) {
            let mut pkt = pool.get_mut(b);
            let (m, data) = pkt.split();
            if m.rx_if != cached_if {
                cached_if = m.rx_if;
                cached_mac = match fast_mac(&ifs, cached_if) {
                    Some(mac) if !tracing => mac48(&mac),
                    _ => NO_FAST_PATH,
                };
            }
            let fast = match EthernetFrame::new_checked(&*data) {
                Ok(eth) if mac48(&eth.dst_addr()) == cached_mac => match eth.ethertype() {
                    EtherType::Ipv4 => Some(NEXT_IP4),
                    EtherType::Ipv6 => Some(NEXT_IP6),
                    _ => None,
                },
                _ => None,
            };
            *next = match fast {
                Some(n) => {
                    let ok = pkt.advance(wire::ethernet::HEADER_LEN);
                    debug_assert!(ok, "new_checked saw the L2 header");
                    let m = pkt.meta_mut();
                    m.l3_offset = m.offset() as u16;
                    n
                }
                None => one(cx, &ifs, b, tracing),
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
