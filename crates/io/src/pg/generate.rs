//! Synthetic packets: a template per stream, patched per packet.
//!
//! The template is built once with the `wire` emitters. Per packet the generator copies
//! `size` bytes of it into the buffer, writes the flow's addresses and ports and the
//! lengths, and recomputes the two checksums from parts: the IPv4 header (20 bytes) and the
//! L4 header plus a precomputed sum of the payload prefix, so the cost does not grow with
//! the frame size beyond the copy.

use super::spec::{IpSpec, L4Spec, PacketSpec};
use core::net::{Ipv4Addr, Ipv6Addr};
use wire::checksum;
use wire::ethernet::{EthernetFrame, EthernetRepr};
use wire::ipv4::Ipv4Packet;
use wire::ipv6::Ipv6Packet;
use wire::vlan::{Tag, TagStack, Tci};
use wire::{EtherType, IpProtocol};

#[derive(Debug)]
pub(crate) struct Generator {
    template: Box<[u8]>,
    ip_off: usize,
    l4_off: usize,
    spec: PacketSpec,
    /// `payload_sum[n]`: folded sum of the first `n` payload bytes.
    payload_sum: Box<[u16]>,
    next_size: u16,
    /// The current flow, as an index and as mixed-radix digits (source, destination, source
    /// port, destination port offsets): an odometer, so no division per packet.
    flow: u32,
    digits: [u32; 4],
    radix: [u32; 4],
}

impl Generator {
    pub(crate) fn new(spec: &PacketSpec) -> Generator {
        let max = usize::from(spec.frame_size.1);
        let mut t = vec![0u8; max].into_boxed_slice();
        let l3_type = match spec.ip {
            IpSpec::V4 { .. } => EtherType::Ipv4,
            IpSpec::V6 { .. } => EtherType::Ipv6,
        };
        let tags: Vec<Tag> = spec
            .vlans
            .iter()
            .enumerate()
            .map(|(i, &vid)| {
                let tci = Tci::new(0, false, vid);
                if i == 0 && spec.vlans.len() > 1 {
                    Tag::s_tag(tci)
                } else {
                    Tag::c_tag(tci)
                }
            })
            .collect();
        // Validated: at most MAX_TAGS.
        let stack = TagStack::from_tags(&tags, l3_type).unwrap_or(TagStack::untagged(l3_type));
        let first_type = stack.outer().map_or(l3_type, |t| t.tpid);
        let mut eth = EthernetFrame::new_unchecked(&mut t[..]);
        EthernetRepr {
            src_addr: spec.src_mac,
            dst_addr: spec.dst_mac,
            ethertype: first_type,
        }
        .emit(&mut eth);
        let tags_len = stack.emit(&mut t[12..]).unwrap_or(2) - 2;
        let ip_off = 14 + tags_len;
        let (l4_off, proto) = match spec.ip {
            IpSpec::V4 { .. } => {
                let mut ip = Ipv4Packet::new_unchecked(&mut t[ip_off..]);
                ip.set_version(4);
                ip.set_header_len(20);
                ip.set_ttl(spec.ttl);
                ip.set_dont_frag(true);
                (ip_off + 20, proto_of(spec.l4))
            }
            IpSpec::V6 { .. } => {
                let mut ip = Ipv6Packet::new_unchecked(&mut t[ip_off..]);
                ip.set_version(6);
                ip.set_hop_limit(spec.ttl);
                ip.set_next_header(proto_of(spec.l4));
                (ip_off + 40, proto_of(spec.l4))
            }
        };
        let _ = proto;
        let pay_off = l4_off + l4_header_len(spec.l4);
        if let L4Spec::Tcp { flags } = spec.l4 {
            t[l4_off + 12] = 5 << 4;
            t[l4_off + 13] = flags;
            t[l4_off + 14..l4_off + 16].copy_from_slice(&0xffffu16.to_be_bytes());
        }
        for (i, b) in t[pay_off..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let payload = &t[pay_off..];
        let mut payload_sum = vec![0u16; payload.len() + 1];
        // Prefix sums: even prefixes extend by one word, odd ones pad the last byte.
        let mut acc = 0u16;
        for n in 1..=payload.len() {
            if n % 2 == 0 {
                let w = u16::from_be_bytes([payload[n - 2], payload[n - 1]]);
                acc = checksum::combine(&[acc, w]);
                payload_sum[n] = acc;
            } else {
                payload_sum[n] = checksum::combine(&[acc, u16::from(payload[n - 1]) << 8]);
            }
        }
        Generator {
            template: t,
            ip_off,
            l4_off,
            spec: spec.clone(),
            payload_sum: payload_sum.into_boxed_slice(),
            next_size: spec.frame_size.0,
            flow: 0,
            digits: [0; 4],
            radix: {
                let (s, d) = match spec.ip {
                    IpSpec::V4 { src, dst } => (src.count, dst.count),
                    IpSpec::V6 { src, dst } => (src.count, dst.count),
                };
                [
                    s,
                    d,
                    u32::from(spec.src_port.count),
                    u32::from(spec.dst_port.count),
                ]
            },
        }
    }

    /// Size of the next packet; sizes cycle from smallest to largest.
    #[inline]
    pub(crate) fn next_size(&mut self) -> usize {
        let s = self.next_size;
        self.next_size = if s >= self.spec.frame_size.1 {
            self.spec.frame_size.0
        } else {
            s + 1
        };
        usize::from(s)
    }

    /// Moves to the next flow: flow `k` has digits `k` in mixed radix over the ranges.
    #[inline]
    fn advance_flow(&mut self) {
        self.flow += 1;
        if self.flow == self.spec.flows {
            self.flow = 0;
            self.digits = [0; 4];
            return;
        }
        for (d, r) in self.digits.iter_mut().zip(self.radix) {
            *d += 1;
            if *d < r {
                return;
            }
            *d = 0;
        }
    }

    /// Writes packet number `seq` of `out.len()` bytes into `out`, for the current flow,
    /// then moves to the next flow.
    #[inline]
    pub(crate) fn write(&mut self, seq: u64, out: &mut [u8]) {
        let size = out.len();
        out.copy_from_slice(&self.template[..size]);
        let s = &self.spec;
        let [d_src, d_dst, d_sport, d_dport] = self.digits;
        let l4_len = size - self.l4_off;
        let proto = proto_of(s.l4);
        let pseudo = match s.ip {
            IpSpec::V4 { src, dst } => {
                let sa = Ipv4Addr::from_bits(src.first.to_bits().wrapping_add(d_src));
                let da = Ipv4Addr::from_bits(dst.first.to_bits().wrapping_add(d_dst));
                let mut ip = Ipv4Packet::new_unchecked(&mut out[self.ip_off..]);
                ip.set_src_addr(sa);
                ip.set_dst_addr(da);
                ip.set_total_len((size - self.ip_off) as u16);
                ip.set_ident(seq as u16);
                ip.set_protocol(proto);
                ip.fill_checksum();
                checksum::pseudo_header_v4(sa, da, u8::from(proto), l4_len as u16)
            }
            IpSpec::V6 { src, dst } => {
                let sa = Ipv6Addr::from_bits(src.first.to_bits().wrapping_add(u128::from(d_src)));
                let da = Ipv6Addr::from_bits(dst.first.to_bits().wrapping_add(u128::from(d_dst)));
                let mut ip = Ipv6Packet::new_unchecked(&mut out[self.ip_off..]);
                ip.set_src_addr(sa);
                ip.set_dst_addr(da);
                ip.set_payload_len(l4_len as u16);
                checksum::pseudo_header_v6(sa, da, u8::from(proto), l4_len as u32)
            }
        };
        let sport = s.src_port.first.wrapping_add(d_sport as u16);
        let dport = s.dst_port.first.wrapping_add(d_dport as u16);
        let hl = l4_header_len(s.l4);
        let l4 = &mut out[self.l4_off..];
        l4[0..2].copy_from_slice(&sport.to_be_bytes());
        l4[2..4].copy_from_slice(&dport.to_be_bytes());
        let csum_at = match s.l4 {
            L4Spec::Udp => {
                l4[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
                6
            }
            L4Spec::Tcp { .. } => {
                l4[4..8].copy_from_slice(&(seq as u32).to_be_bytes());
                16
            }
        };
        l4[csum_at..csum_at + 2].copy_from_slice(&[0, 0]);
        let sum = checksum::combine(&[
            pseudo,
            checksum::data(&l4[..hl]),
            self.payload_sum[l4_len - hl],
        ]);
        let mut c = checksum::finish(sum);
        if c == 0 && matches!(s.l4, L4Spec::Udp) {
            c = 0xffff; // RFC 768: a computed zero is sent as all ones.
        }
        l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
        self.advance_flow();
    }
}

fn proto_of(l4: L4Spec) -> IpProtocol {
    match l4 {
        L4Spec::Udp => IpProtocol::Udp,
        L4Spec::Tcp { .. } => IpProtocol::Tcp,
    }
}

fn l4_header_len(l4: L4Spec) -> usize {
    match l4 {
        L4Spec::Udp => 8,
        L4Spec::Tcp { .. } => 20,
    }
}
