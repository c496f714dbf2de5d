//! `ip6-input`: validates the IPv6 header of every packet (RFC 8200) and sends it to
//! `ip6-lookup`. Each failure is its own counter; Ethernet padding after the payload
//! length is trimmed off.
//!
//! Checks, in order: at least 40 bytes, version 6, 40 + payload length within the
//! buffer, hop limit not 0, a source that is not multicast or loopback, a destination that
//! is not unspecified or loopback, and the extension-header chain (`wire::ipv6::ext::walk`):
//! every header inside the payload, hop-by-hop only first, at most
//! [`wire::ipv6::MAX_EXT_HEADERS`] headers. Hop-by-hop options are processed as RFC 8200
//! §4.2 says for options we do not know: skip, drop, or drop and answer with an ICMPv6
//! parameter problem (code 2, pointing at the option; not for a multicast destination when
//! the action says so).

use super::names;
use super::nexts;
use crate::opaque;
use buf::Frame;
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::ipv6::ext::{option_type, Ipv6ExtHeader, Ipv6Option};
use wire::ipv6::{Ipv6Packet, HEADER_LEN};
use wire::IpProtocol;

graph::node_errors! {
    /// Errors and counters of `ip6-input`.
    pub enum Ip6InputError {
        /// Fewer than 40 bytes.
        TooShort = "ip6 packet shorter than a 40-byte header",
        /// The version field is not 6.
        BadVersion = "ip6 version is not 6",
        /// 40 + payload length larger than the packet received.
        LengthAboveBuffer = "ip6 payload length above the packet length",
        /// Hop limit 0 on arrival.
        HopLimitZero = "ip6 hop limit is 0",
        /// A multicast source address (RFC 4291 §2.7).
        SrcMulticast = "ip6 source address is multicast",
        /// The loopback address as source (RFC 4291 §2.5.3).
        SrcLoopback = "ip6 source address is loopback",
        /// Unspecified or loopback destination.
        BadDestination = "ip6 destination is unspecified or loopback",
        /// An extension header runs past the payload.
        ExtTruncated = "ip6 extension header truncated",
        /// A hop-by-hop options header that is not the first header (RFC 8200 §4.3).
        HopByHopNotFirst = "ip6 hop-by-hop header not first",
        /// More extension headers than we follow (an endless chain).
        ExtChainTooLong = "ip6 extension header chain too long",
        /// A hop-by-hop option whose bytes run past its header.
        BadOption = "ip6 hop-by-hop option malformed",
        /// Jumbo payload option (RFC 2675): not supported.
        Jumbo = "ip6 jumbogram not supported",
        /// An unknown hop-by-hop option whose action is "discard".
        UnknownOptionDrop = "ip6 unknown hop-by-hop option, discarded",
        /// An unknown hop-by-hop option whose action is "discard and answer": sent to
        /// ip6-icmp-error (counted, not dropped).
        UnknownOptionIcmp = "ip6 unknown hop-by-hop option, parameter problem",
    }
}

const NEXT_LOOKUP: Next = Next(0);
const NEXT_ICMP_ERROR: Next = Next(1);

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Valid: keep the first `usize` bytes and look it up.
    Lookup(usize),
    /// Parameter problem code 2 at `pointer`; keep the first `usize` bytes.
    Icmp(usize, u32),
}

/// Checks the header in `data`.
///
/// The usual packet (valid fixed header, TCP, UDP or ICMPv6 right behind it) costs one
/// combined test; anything else is sorted out by [`slow`], which sees the same bytes.
#[inline(always)]
fn validate(data: &[u8]) -> Result<Verdict, Ip6InputError> {
    let Ok(p) = Ipv6Packet::new_checked(data) else {
        return Err(classify_len_error(data));
    };
    let src = u128::from(p.src_addr());
    let dst = u128::from(p.dst_addr());
    let nh = u8::from(p.next_header());
    // Version 6, hop limit above 0, a source neither multicast (ff00::/8) nor loopback
    // (::1), a destination neither unspecified (::) nor loopback (::1); no extension
    // header. Non-short-circuit `&`: one branch for the lot.
    let usual = (p.version() == 6)
        & (p.hop_limit() != 0)
        & (src >> 120 != 0xff)
        & (src != 1)
        & (dst > 1)
        & ((nh == IPPROTO_UDP) | (nh == IPPROTO_TCP) | (nh == IPPROTO_ICMPV6));
    if usual {
        return Ok(Verdict::Lookup(HEADER_LEN + usize::from(p.payload_len())));
    }
    slow(&p)
}

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;

/// The checks of [`validate`] one at a time, in their documented order, then the
/// extension-header chain.
#[cold]
#[inline(never)]
fn slow(p: &Ipv6Packet<&[u8]>) -> Result<Verdict, Ip6InputError> {
    if p.version() != 6 {
        return Err(Ip6InputError::BadVersion);
    }
    if p.hop_limit() == 0 {
        return Err(Ip6InputError::HopLimitZero);
    }
    let src = p.src_addr();
    if src.is_multicast() {
        return Err(Ip6InputError::SrcMulticast);
    }
    if src.is_loopback() {
        return Err(Ip6InputError::SrcLoopback);
    }
    let dst = p.dst_addr();
    if dst.is_unspecified() || dst.is_loopback() {
        return Err(Ip6InputError::BadDestination);
    }
    let total = HEADER_LEN + usize::from(p.payload_len());
    let nh = p.next_header();
    if nh == IpProtocol::Udp || nh == IpProtocol::Tcp || nh == IpProtocol::Icmpv6 {
        // No extension headers: nothing more to walk.
        return Ok(Verdict::Lookup(total));
    }
    let chain = p.ext_chain().map_err(|e| match e {
        wire::Error::Malformed => Ip6InputError::HopByHopNotFirst,
        wire::Error::TooLong => Ip6InputError::ExtChainTooLong,
        _ => Ip6InputError::ExtTruncated,
    })?;
    if chain.hop_by_hop {
        if let Some(pointer) = hop_by_hop(p.payload(), dst.is_multicast())? {
            return Ok(Verdict::Icmp(total, pointer));
        }
    }
    Ok(Verdict::Lookup(total))
}

/// Processes the hop-by-hop options at the start of `payload`: `Some(pointer)` when an
/// unknown option asks for a parameter problem.
#[cold]
fn hop_by_hop(payload: &[u8], dst_multicast: bool) -> Result<Option<u32>, Ip6InputError> {
    let h = Ipv6ExtHeader::new_checked(payload).map_err(|_| Ip6InputError::ExtTruncated)?;
    let mut at = HEADER_LEN + 2;
    for o in h.options() {
        let o = o.map_err(|_| Ip6InputError::BadOption)?;
        let len = o.len();
        if let Ipv6Option::Other { kind, .. } = o {
            match kind {
                option_type::ROUTER_ALERT => {}
                option_type::JUMBO => return Err(Ip6InputError::Jumbo),
                k => match option_type::action(k) {
                    0 => {}
                    1 => return Err(Ip6InputError::UnknownOptionDrop),
                    3 if dst_multicast => return Err(Ip6InputError::UnknownOptionDrop),
                    _ => return Ok(Some(at as u32)),
                },
            }
        }
        at += len;
    }
    Ok(None)
}

/// Which length check failed.
#[cold]
fn classify_len_error(data: &[u8]) -> Ip6InputError {
    if data.len() < HEADER_LEN {
        return Ip6InputError::TooShort;
    }
    // The fixed header is present: its fields can be read.
    if Ipv6Packet::new_unchecked(data).version() != 6 {
        return Ip6InputError::BadVersion;
    }
    Ip6InputError::LengthAboveBuffer
}

/// `ip6-input`: see the module documentation.
#[derive(Debug)]
pub struct Ip6Input {
    codes: nexts::Codes,
}

impl Default for Ip6Input {
    fn default() -> Self {
        Ip6Input::new()
    }
}

impl Ip6Input {
    /// The node.
    pub fn new() -> Ip6Input {
        Ip6Input {
            codes: nexts::Codes::new(),
        }
    }
}

impl Node for Ip6Input {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP6_INPUT,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP6_LOOKUP, names::IP6_ICMP_ERROR],
            errors: Ip6InputError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let tracing = cx.tracing();
        let pool = cx.pool();
        for (b, code) in frame
            .as_mut_slice()
            .iter_mut()
            .zip(self.codes.code.iter_mut())
        {
            let mut pkt = pool.get_mut(b);
            let res = validate(pkt.data());
            *code = match res {
                Ok(Verdict::Lookup(total)) => {
                    pkt.truncate(total);
                    let m = pkt.meta_mut();
                    m.l3_offset = m.offset() as u16;
                    NEXT_LOOKUP.0
                }
                Ok(Verdict::Icmp(total, pointer)) => {
                    pkt.truncate(total);
                    let m = pkt.meta_mut();
                    m.l3_offset = m.offset() as u16;
                    m.opaque[opaque::ICMP] = 4 << 8 | 2;
                    m.opaque[opaque::ICMP_DATA] = pointer;
                    cx.count(Ip6InputError::UnknownOptionIcmp, 1);
                    NEXT_ICMP_ERROR.0
                }
                Err(e) => nexts::DROP + e.code(),
            };
            if tracing && pool.meta(b).is_traced() {
                trace(cx, b, res);
            }
        }
        self.codes.dispatch(cx, frame, from_code);
    }
}

/// The error with code `c`.
fn from_code(c: u16) -> Ip6InputError {
    Ip6InputError::ALL
        .get(usize::from(c))
        .and_then(|_| ALL_ERRORS.get(usize::from(c)).copied())
        .unwrap_or(Ip6InputError::TooShort)
}

const ALL_ERRORS: [Ip6InputError; 14] = {
    use Ip6InputError::*;
    [
        TooShort,
        BadVersion,
        LengthAboveBuffer,
        HopLimitZero,
        SrcMulticast,
        SrcLoopback,
        BadDestination,
        ExtTruncated,
        HopByHopNotFirst,
        ExtChainTooLong,
        BadOption,
        Jumbo,
        UnknownOptionDrop,
        UnknownOptionIcmp,
    ]
};

#[cold]
fn trace(cx: &mut Ctx<'_>, b: &buf::Buf, res: Result<Verdict, Ip6InputError>) {
    let data = cx.pool().get(b).data();
    let text = match (Ipv6Packet::new_checked(data), res) {
        (Ok(p), Ok(v)) => format!(
            "{} -> {} next-header {} hop-limit {} payload {}{}",
            p.src_addr(),
            p.dst_addr(),
            u8::from(p.next_header()),
            p.hop_limit(),
            p.payload_len(),
            match v {
                Verdict::Lookup(_) => String::new(),
                Verdict::Icmp(_, ptr) => format!(": unknown option at {ptr}, parameter problem"),
            }
        ),
        (_, Err(e)) => format!(
            "error: {}",
            Ip6InputError::ALL[usize::from(e.code())].message
        ),
        (Err(_), Ok(_)) => "?".to_string(),
    };
    cx.trace(b, format_args!("{text}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_numbers_match_wire() {
        assert_eq!(IPPROTO_TCP, u8::from(IpProtocol::Tcp));
        assert_eq!(IPPROTO_UDP, u8::from(IpProtocol::Udp));
        assert_eq!(IPPROTO_ICMPV6, u8::from(IpProtocol::Icmpv6));
    }

    #[test]
    fn codes_round_trip() {
        for (i, e) in ALL_ERRORS.iter().enumerate() {
            assert_eq!(usize::from(e.code()), i);
            assert_eq!(from_code(e.code()), *e);
        }
        assert_eq!(ALL_ERRORS.len(), Ip6InputError::ALL.len());
    }
}
