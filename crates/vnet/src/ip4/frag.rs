//! `ip4-frag`: splits a packet larger than its adjacency's MTU (DF clear) into fragments
//! (RFC 791 §3.2) and sends them back to `ip4-rewrite`, which then decrements their TTL
//! and prepends the L2 header. Non-first fragments carry only the options whose copied
//! flag is set. A fragment of a fragment keeps the original offset and MF.

use super::names;
use crate::{opaque, Vnet};
use buf::{Buf, Frame, HEADROOM};
use graph::{Ctx, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::ipv4::{option_kind, Ipv4Option, Ipv4Packet, HEADER_LEN, MAX_HEADER_LEN};

graph::node_errors! {
    /// Errors and counters of `ip4-frag`.
    pub enum Ip4FragError {
        /// Fragments made (a counter).
        Fragments = "ip4 fragments made",
        /// Unreadable header (only reachable by a buggy caller).
        Malformed = "ip4 header unreadable",
        /// `opaque[ADJ]` names no adjacency.
        BadAdjacency = "ip4 adjacency index unknown",
        /// The MTU cannot hold the header and 8 bytes of payload.
        MtuTooSmall = "MTU too small to fragment",
        /// No buffer for a fragment: the packet is dropped.
        NoBuffers = "no buffers for fragments",
    }
}

const NEXT_REWRITE: Next = Next(0);

/// `ip4-frag`: see the module documentation.
#[derive(Debug)]
pub struct Ip4Frag {
    vnet: Vnet,
    out: Box<Frame>,
}

impl Ip4Frag {
    /// The node, reading adjacency MTUs from `vnet`.
    pub fn new(vnet: &Vnet) -> Ip4Frag {
        Ip4Frag {
            vnet: vnet.clone(),
            out: Frame::boxed(),
        }
    }
}

/// The header of non-first fragments: the fixed header plus the copied options, padded.
fn later_header(p: &Ipv4Packet<&[u8]>, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
    let hl = p.header_len();
    let raw = (*p).into_inner();
    out[..HEADER_LEN].copy_from_slice(&raw[..HEADER_LEN]);
    let mut n = HEADER_LEN;
    for o in p.options_iter() {
        match o {
            Ok(Ipv4Option::Other { kind, data }) if option_kind::is_copied(kind) => {
                let len = data.len() + 2;
                if n + len <= hl {
                    out[n] = kind;
                    out[n + 1] = len as u8;
                    out[n + 2..n + len].copy_from_slice(data);
                    n += len;
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    while !n.is_multiple_of(4) {
        out[n] = option_kind::END_OF_LIST;
        n += 1;
    }
    n
}

impl Node for Ip4Frag {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP4_FRAG,
            kind: NodeKind::Internal,
            next_nodes: &[names::IP4_REWRITE],
            errors: Ip4FragError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let vnet = self.vnet.clone();
        let adjs = vnet.adjacencies();
        let pool = cx.pool();
        for b in frame.drain() {
            let adj = pool.meta(&b).opaque[opaque::ADJ];
            let Some(mtu) = adjs.get(adj).map(|a| usize::from(a.mtu)) else {
                cx.drop(b, Ip4FragError::BadAdjacency);
                continue;
            };
            match self.fragment(cx, &b, mtu) {
                Ok(n) => {
                    cx.count(Ip4FragError::Fragments, n as u64);
                    cx.trace(&b, format_args!("fragmented into {n} for mtu {mtu}"));
                    cx.free(b);
                    cx.enqueue_frame(NEXT_REWRITE, &mut self.out);
                }
                Err(e) => {
                    cx.cache().free_frame(&mut self.out);
                    cx.drop(b, e);
                }
            }
        }
    }
}

impl Ip4Frag {
    /// Writes the fragments of `b` into `self.out`; returns how many.
    fn fragment(&mut self, cx: &mut Ctx<'_>, b: &Buf, mtu: usize) -> Result<usize, Ip4FragError> {
        let pool = cx.pool();
        let src = pool.get(b);
        let meta = src.meta().clone();
        let p = Ipv4Packet::new_checked(src.data()).map_err(|_| Ip4FragError::Malformed)?;
        let hl = p.header_len();
        let mut later = [0u8; MAX_HEADER_LEN];
        let later_len = later_header(&p, &mut later);
        let first_piece = mtu.saturating_sub(hl) & !7;
        let later_piece = mtu.saturating_sub(later_len) & !7;
        if first_piece == 0 || later_piece == 0 {
            return Err(Ip4FragError::MtuTooSmall);
        }
        let payload = p.payload();
        let (base_off, base_mf) = (usize::from(p.frag_offset()), p.more_frags());
        let raw = src.data();
        let mut off = 0;
        let mut n = 0;
        while off < payload.len() {
            let (hdr, piece): (&[u8], usize) = if off == 0 {
                (&raw[..hl], first_piece)
            } else {
                (&later[..later_len], later_piece)
            };
            let len = piece.min(payload.len() - off);
            let last = off + len == payload.len();
            let mut nb = cx.cache().alloc().ok_or(Ip4FragError::NoBuffers)?;
            let mut np = pool.get_mut(&mut nb);
            let ok = np.set_window(HEADROOM, hdr.len() + len);
            if ok {
                let d = np.data_mut();
                d[..hdr.len()].copy_from_slice(hdr);
                d[hdr.len()..].copy_from_slice(&payload[off..off + len]);
            }
            let fixed = ok && {
                let d = np.data_mut();
                // `d` holds the whole copied header, so the fixed fields are in bounds.
                let mut v = Ipv4Packet::new_unchecked(&mut d[..]);
                v.set_header_len(hdr.len());
                v.set_total_len((hdr.len() + len) as u16);
                v.set_frag_offset((base_off + off) as u16);
                v.set_more_frags(base_mf || !last);
                v.fill_checksum();
                Ipv4Packet::new_checked(&d[..]).is_ok()
            };
            {
                let m = np.meta_mut();
                m.rx_if = meta.rx_if;
                m.tx_if = meta.tx_if;
                m.opaque = meta.opaque;
                m.l3_offset = m.offset() as u16;
            }
            if !fixed {
                cx.free(nb);
                return Err(Ip4FragError::Malformed);
            }
            if let Err(nb) = self.out.push(nb) {
                cx.free(nb);
                return Err(Ip4FragError::NoBuffers);
            }
            n += 1;
            off += len;
        }
        Ok(n)
    }
}
