//! `ip4-input`: validates the IPv4 header of every packet (RFC 1812 §5.2.2) and sends it
//! to `ip4-lookup`. Each failure is its own counter; Ethernet padding after the total
//! length is trimmed off.
//!
//! It also prefetches (into L2) the FIB root entry each destination will need, so that
//! with a large table the cache misses of `ip4-lookup` are in flight during this node's
//! own work on the rest of the frame.

use super::names;
use crate::Vnet;
use buf::{BufFlags, Frame};
use graph::{Ctx, Next, Nexts, Node, NodeError, NodeInfo, NodeKind};
use wire::checksum;
use wire::ipv4::{Ipv4Packet, HEADER_LEN};

graph::node_errors! {
    /// Errors of `ip4-input`.
    pub enum Ip4InputError {
        /// Fewer than 20 bytes.
        TooShort = "ip4 packet shorter than a 20-byte header",
        /// The version field is not 4.
        BadVersion = "ip4 version is not 4",
        /// IHL below 5 (a header shorter than 20 bytes).
        BadHeaderLength = "ip4 header length (IHL) below 5",
        /// IHL * 4 runs past the packet.
        HeaderTruncated = "ip4 header longer than the packet",
        /// Total length smaller than the header.
        BadLength = "ip4 total length below the header length",
        /// Total length larger than the packet received.
        LengthAboveBuffer = "ip4 total length above the packet length",
        /// The header checksum does not verify.
        BadChecksum = "ip4 header checksum error",
        /// TTL 0 on arrival.
        TtlZero = "ip4 ttl is 0",
    }
}

const NEXT_LOOKUP: Next = Next(0);

/// The usual packet checked in one go, with no branch per field: version 4 without
/// options (first byte 0x45), total length from 20 up to the bytes received, a header
/// checksum that verifies (unless the driver did), TTL above 0. Returns the total length
/// and the destination; `None` for anything else, which [`full_check`] then names.
#[inline(always)]
fn fast_check(data: &[u8], csum_ok: bool) -> Option<(usize, u32)> {
    let h: &[u8; HEADER_LEN] = data.first_chunk()?;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let ok = (h[0] == 0x45)
        & (h[8] != 0)
        & (total >= HEADER_LEN)
        & (total <= data.len())
        & (csum_ok || checksum::data(h) == 0xffff);
    ok.then_some((total, u32::from_be_bytes([h[16], h[17], h[18], h[19]])))
}

/// Every check, each failure named; returns the total length.
fn full_check(data: &[u8], csum_ok: bool) -> Result<usize, Ip4InputError> {
    let p = match Ipv4Packet::new_checked(data) {
        Ok(p) => p,
        Err(_) => return Err(classify_len_error(data)),
    };
    if p.version() != 4 {
        return Err(Ip4InputError::BadVersion);
    }
    if !csum_ok && !p.verify_checksum() {
        return Err(Ip4InputError::BadChecksum);
    }
    if p.ttl() == 0 {
        return Err(Ip4InputError::TtlZero);
    }
    Ok(usize::from(p.total_len()))
}

/// Which length check failed (the checked view folds several into `Truncated`).
#[cold]
fn classify_len_error(data: &[u8]) -> Ip4InputError {
    if data.len() < HEADER_LEN {
        return Ip4InputError::TooShort;
    }
    // At least the fixed header is present: its fields can be read.
    let p = Ipv4Packet::new_unchecked(data);
    if p.version() != 4 {
        return Ip4InputError::BadVersion;
    }
    let hlen = p.header_len();
    if hlen < HEADER_LEN {
        return Ip4InputError::BadHeaderLength;
    }
    if hlen > data.len() {
        return Ip4InputError::HeaderTruncated;
    }
    let total = usize::from(p.total_len());
    if total < hlen {
        return Ip4InputError::BadLength;
    }
    Ip4InputError::LengthAboveBuffer
}

/// `ip4-input`: see the module documentation.
#[derive(Debug)]
pub struct Ip4Input {
    vnet: Vnet,
    nexts: Nexts,
}

impl Ip4Input {
    /// The node; it prefetches from `vnet`'s FIB.
    pub fn new(vnet: &Vnet) -> Ip4Input {
        Ip4Input {
            vnet: vnet.clone(),
            nexts: Nexts::default(),
        }
    }
}

impl Node for Ip4Input {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP4_INPUT,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP4_LOOKUP],
            errors: Ip4InputError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let tracing = cx.tracing();
        let pool = cx.pool();
        // The FIB's root array lives as long as the table (only groups are reclaimed), so
        // prefetching from it needs no reader section.
        let fib = &self.vnet.ip4().fib;
        // Bitwise OR and AND of every next: equal iff the whole frame goes one way.
        let (mut any, mut all) = (0u16, u16::MAX);
        for (b, next) in frame.as_mut_slice().iter_mut().zip(self.nexts.iter_mut()) {
            let mut pkt = pool.get_mut(b);
            let (m, data) = pkt.split();
            let csum_ok = m.flags.contains(BufFlags::L3_CSUM_OK);
            *next = match fast_check(data, csum_ok) {
                Some((total, dst)) if !tracing => {
                    // Unconditional: a prefetch of a cached line costs less than a
                    // branch on the destination would mispredict on mixed traffic.
                    fib.prefetch(dst);
                    pkt.truncate(total);
                    let m = pkt.meta_mut();
                    m.l3_offset = m.offset() as u16;
                    NEXT_LOOKUP
                }
                _ => one(cx, b, csum_ok),
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

/// A packet the fast path did not take (or any packet while tracing): every check by
/// name, the trace, the next node.
#[inline(never)]
fn one(cx: &mut Ctx<'_>, b: &mut buf::Buf, csum_ok: bool) -> Next {
    let pool = cx.pool();
    let mut pkt = pool.get_mut(b);
    let res = full_check(pkt.data(), csum_ok);
    if let Ok(total) = res {
        pkt.truncate(total);
        let m = pkt.meta_mut();
        m.l3_offset = m.offset() as u16;
    }
    if cx.tracing() && pool.meta(b).is_traced() {
        trace(cx, b, res);
    }
    match res {
        Ok(_) => NEXT_LOOKUP,
        Err(e) => cx.drop_next(b, e),
    }
}

#[cold]
fn trace(cx: &mut Ctx<'_>, b: &buf::Buf, res: Result<usize, Ip4InputError>) {
    let data = cx.pool().get(b).data();
    let text = match (Ipv4Packet::new_checked(data), res) {
        (Ok(p), Ok(_)) => format!(
            "{} -> {} proto {} ttl {} len {} checksum {:#06x}{}",
            p.src_addr(),
            p.dst_addr(),
            u8::from(p.protocol()),
            p.ttl(),
            p.total_len(),
            p.checksum(),
            if p.is_fragment() {
                format!(" fragment offset {} mf {}", p.frag_offset(), p.more_frags())
            } else {
                String::new()
            }
        ),
        (_, Err(e)) => format!(
            "error: {}",
            Ip4InputError::ALL[usize::from(e.code())].message
        ),
        (Err(_), Ok(_)) => "?".to_string(),
    };
    cx.trace(b, format_args!("{text}"));
}
