//! `ip4-input`: validates the IPv4 header of every packet (RFC 1812 §5.2.2) and sends it
//! to `ip4-lookup`. Each failure is its own counter; Ethernet padding after the total
//! length is trimmed off.

use super::names;
use buf::{BufFlags, Frame};
use graph::{Ctx, Next, Nexts, Node, NodeError, NodeInfo, NodeKind};
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

/// Checks the header in `data`; returns its total length.
#[inline(always)]
fn validate(data: &[u8], csum_ok: bool) -> Result<usize, Ip4InputError> {
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
#[derive(Debug, Default)]
pub struct Ip4Input {
    nexts: Nexts,
}

impl Ip4Input {
    /// The node.
    pub fn new() -> Ip4Input {
        Ip4Input::default()
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
        // Bitwise OR and AND of every next: equal iff the whole frame goes one way.
        let (mut any, mut all) = (0u16, u16::MAX);
        for (b, next) in frame.as_mut_slice().iter_mut().zip(self.nexts.iter_mut()) {
            let mut pkt = pool.get_mut(b);
            let (m, data) = pkt.split();
            let csum_ok = m.flags.contains(BufFlags::L3_CSUM_OK);
            let res = validate(data, csum_ok);
            if let Ok(total) = res {
                pkt.truncate(total);
                let m = pkt.meta_mut();
                m.l3_offset = m.offset() as u16;
            }
            if tracing && pool.meta(b).is_traced() {
                trace(cx, b, res);
            }
            *next = match res {
                Ok(_) => NEXT_LOOKUP,
                Err(e) => cx.drop_next(b, e),
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
